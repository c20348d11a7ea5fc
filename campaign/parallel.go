package campaign

import (
	"context"
	"errors"
	"io"
	"runtime"
	"sync"

	"herald/audience"
)

// rowBatch is a run of consecutive audience rows and what work made of them.
type rowBatch[T any] struct {
	recs []*audience.Recipient
	errs []error // a row's read error (RowErrors); its rec is nil
	outs []T
	done chan struct{}
}

const rowBatchSize = 256

// eachRow reads the audience and runs work on every valid row on several
// goroutines, then calls emit for every row, valid or not, in file order.
// Planning and rendering a row are independent of the others; only the
// output (plan rows, findings) must keep the file's order. A read error that
// is not a row's (a broken file) ends the walk; so does an emit error or ctx.
func eachRow[T any](ctx context.Context, r *audience.Reader, work func(*audience.Recipient) T, emit func(rec *audience.Recipient, out T, rowErr error) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := runtime.GOMAXPROCS(0)
	ordered := make(chan *rowBatch[T], workers*2)
	todo := make(chan *rowBatch[T], workers*2)
	var readErr error

	go func() {
		defer close(ordered)
		defer close(todo)
		for ctx.Err() == nil {
			b := &rowBatch[T]{done: make(chan struct{})}
			for len(b.recs) < rowBatchSize {
				rec, err := r.Next()
				if err == io.EOF {
					break
				}
				if err != nil && !isRowError(err) {
					readErr = err
					break
				}
				b.recs = append(b.recs, rec)
				b.errs = append(b.errs, err)
			}
			if len(b.recs) == 0 {
				return
			}
			b.outs = make([]T, len(b.recs))
			select {
			case ordered <- b:
			case <-ctx.Done():
				return
			}
			select {
			case todo <- b:
			case <-ctx.Done():
				return
			}
			if len(b.recs) < rowBatchSize || readErr != nil {
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range todo {
				for i, rec := range b.recs {
					if b.errs[i] == nil {
						b.outs[i] = work(rec)
					}
				}
				close(b.done)
			}
		}()
	}
	defer wg.Wait()
	for b := range ordered {
		if ctx.Err() != nil {
			drain(ordered)
			return ctx.Err()
		}
		select {
		case <-b.done:
		case <-ctx.Done():
			cancel()
			drain(ordered)
			return ctx.Err()
		}
		for i, rec := range b.recs {
			if err := emit(rec, b.outs[i], b.errs[i]); err != nil {
				cancel()
				drain(ordered)
				return err
			}
		}
	}
	// The reader has finished (ordered is closed), so readErr is settled;
	// it may also have stopped because the caller cancelled.
	if err := ctx.Err(); err != nil {
		return err
	}
	return readErr
}

func drain[T any](ch chan *rowBatch[T]) {
	for range ch {
	}
}

func isRowError(err error) bool {
	var re audience.RowErrors
	return errors.As(err, &re)
}
