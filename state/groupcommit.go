package state

import "sync"

// groupCommit writes items in batches: items handed in while a write is
// running go out together in the next one, so many writers cost one lock and
// one fsync per batch instead of one each, and add still returns only once
// its items are durable. The journal (many send workers) and the reply log
// (a burst of webhooks) both need exactly this.
type groupCommit[T any] struct {
	write func([]T) error

	mu       sync.Mutex
	next     *commitBatch[T] // filling while the previous batch is written
	flushing bool
	spare    []T // a written batch's items, emptied, for the next batch
}

// commitBatch is one write's items; its writers wait on done together, so
// a writer costs no channel of its own.
type commitBatch[T any] struct {
	items []T
	done  chan struct{}
	err   error // set before done is closed
}

func (g *groupCommit[T]) add(items ...T) error {
	if len(items) == 0 {
		return nil
	}
	g.mu.Lock()
	b := g.next
	if b == nil {
		b = &commitBatch[T]{items: g.spare, done: make(chan struct{})}
		g.spare = nil
		g.next = b
	}
	b.items = append(b.items, items...)
	if !g.flushing {
		g.flushing = true
		go g.flush()
	}
	g.mu.Unlock()
	<-b.done
	return b.err
}

func (g *groupCommit[T]) flush() {
	for {
		g.mu.Lock()
		b := g.next
		g.next = nil
		if b == nil {
			g.flushing = false
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		b.err = g.write(b.items)
		close(b.done)
		// Writers wait for the error only, so the items can be reused.
		clear(b.items)
		g.mu.Lock()
		g.spare = b.items[:0]
		g.mu.Unlock()
	}
}
