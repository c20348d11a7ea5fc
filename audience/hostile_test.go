package audience

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// endless generates a stream without ever writing a line end: a prefix,
// then pattern repeated until size bytes. It counts what was read.
type endless struct {
	prefix  string
	pattern []byte
	size    int64
	read    int64
}

func (e *endless) Read(p []byte) (int, error) {
	if e.read >= e.size {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && e.read < e.size {
		var c byte
		if e.read < int64(len(e.prefix)) {
			c = e.prefix[e.read]
		} else {
			c = e.pattern[(e.read-int64(len(e.prefix)))%int64(len(e.pattern))]
		}
		p[n] = c
		n++
		e.read++
	}
	return n, nil
}

// A 1 GB stream with no newline is refused after about a megabyte, with
// memory bounded by the limits and not by the stream.
func TestGigabyteWithoutNewline(t *testing.T) {
	field := append(bytes.Repeat([]byte("b"), 60<<10), ',')
	tests := []struct {
		name string
		src  *endless
		file string
		kind LimitKind
	}{
		{"one endless field", &endless{prefix: "id,name\nc1,", pattern: []byte("a"), size: 1 << 30}, "in.csv", LimitField},
		{"endless row of 60 KiB fields", &endless{prefix: "id,name\nc1,", pattern: field, size: 1 << 30}, "in.csv", LimitRow},
		{"endless quoted field", &endless{prefix: "id,name\nc1,\"", pattern: []byte("ab,\"\""), size: 1 << 30}, "in.csv", LimitField},
		{"endless header", &endless{pattern: []byte("id"), size: 1 << 30}, "in.csv", LimitField},
		{"endless JSON line", &endless{prefix: `{"id":"`, pattern: []byte("x"), size: 1 << 30}, "in.jsonl", LimitRow},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			r, err := NewReader(tc.src, tc.file, Options{})
			if err == nil {
				for {
					if _, err = r.Next(); err != nil {
						var re RowErrors
						if !errors.As(err, &re) {
							break
						}
					}
				}
				r.Close()
			}
			runtime.ReadMemStats(&after)
			var le *LimitError
			if !errors.As(err, &le) || le.Kind != tc.kind {
				t.Fatalf("error %.200v, want a LimitError of kind %v", err, tc.kind)
			}
			if tc.src.read > 3<<20 {
				t.Errorf("read %d bytes before refusing, want about 1 MiB at most", tc.src.read)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 32<<20 {
				t.Errorf("allocated %d MB for a refused stream", alloc>>20)
			}
			if len(err.Error()) > 400 {
				t.Errorf("message of %d bytes", len(err.Error()))
			}
		})
	}
}

// blocking gives its data, then blocks until release is closed, as a
// stalled pipe or a terminal does.
type blocking struct {
	data    *strings.Reader
	release chan struct{}
}

func (b *blocking) Read(p []byte) (int, error) {
	if b.data.Len() > 0 {
		return b.data.Read(p)
	}
	<-b.release
	return 0, io.EOF
}

// Cancelling the context ends reading at once, even while the underlying
// Read is blocked and will not return on its own.
func TestCancelBlockedReader(t *testing.T) {
	for _, head := range []string{"", "id,name\nc1,Ana\n"} {
		src := &blocking{data: strings.NewReader(head), release: make(chan struct{})}
		defer close(src.release)
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			time.Sleep(50 * time.Millisecond)
			cancel()
		}()
		done := make(chan error, 1)
		start := time.Now()
		go func() {
			r, err := NewReaderContext(ctx, src, "stdin", Options{})
			if err != nil {
				done <- err
				return
			}
			defer r.Close()
			for {
				if _, err := r.Next(); err != nil {
					done <- err
					return
				}
			}
		}()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("head %q: reading ended with %v, want context.Canceled", head, err)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("head %q: reading took %v to stop", head, d)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("head %q: reading did not stop after cancel", head)
		}
	}
}

func TestSpool(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	defer func() {
		if left, _ := os.ReadDir(tmp); len(left) > 0 {
			t.Errorf("spool files left behind: %v", left)
		}
	}()
	t.Run("copies with mode 0600", func(t *testing.T) {
		path, cleanup, err := Spool(context.Background(), strings.NewReader("id\nc1\n"), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(path)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("spool file %v %v, want mode 0600", fi, err)
		}
		r, err := Open(path, Options{Name: "stdin"})
		if err != nil {
			t.Fatal(err)
		}
		rcp, err := r.Next()
		if err != nil || rcp.ID != "c1" {
			t.Errorf("read %v %v", rcp, err)
		}
		r.Close()
		cleanup()
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Errorf("cleanup left %s", path)
		}
	})
	t.Run("bounded", func(t *testing.T) {
		src := &endless{pattern: []byte("x"), size: 1 << 30}
		path, _, err := Spool(context.Background(), src, 1<<20)
		var le *LimitError
		if !errors.As(err, &le) || le.Kind != LimitSpool || path != "" {
			t.Fatalf("got %q, %v; want a LimitSpool error", path, err)
		}
		if src.read > 2<<20 {
			t.Errorf("read %d bytes", src.read)
		}
	})
	t.Run("cancelled while blocked", func(t *testing.T) {
		src := &blocking{data: strings.NewReader("id\nc1\n"), release: make(chan struct{})}
		defer close(src.release)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		path, _, err := Spool(ctx, src, 1<<20)
		if !errors.Is(err, context.DeadlineExceeded) || path != "" {
			t.Errorf("got %q, %v; want the context's error", path, err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("took %v", d)
		}
	})
}

// A header that arrives on a pipe is read as soon as its line ends: the
// reader does not wait for more bytes to guess the delimiter.
func TestHeaderFromSlowPipe(t *testing.T) {
	src := &blocking{data: strings.NewReader("id;name\n"), release: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		r, err := NewReader(src, "stdin", Options{})
		if err == nil {
			if cols := r.Columns(); len(cols) != 2 || cols[1] != "name" {
				err = errors.New("columns " + strings.Join(cols, "|"))
			}
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(5 * time.Second):
		t.Error("NewReader waited for more than the header line")
	}
	close(src.release)
}

// With a context that is never cancelled, reading to the end or closing
// early leaves no goroutine behind.
func TestContextReaderLeavesNoGoroutine(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	before := runtime.NumGoroutine()
	for _, early := range []bool{false, true} {
		src := &blocking{data: strings.NewReader("id,name\nc1,Ana\nc2,Budi\n"), release: make(chan struct{})}
		close(src.release) // io.EOF after the data
		r, err := NewReaderContext(ctx, src, "c.csv", Options{})
		if err != nil {
			t.Fatal(err)
		}
		if !early {
			for {
				if _, err := r.Next(); err == io.EOF {
					break
				} else if err != nil {
					t.Fatal(err)
				}
			}
		}
		r.Close()
	}
	waitGoroutines(t, before, "after reading with a context")
}
