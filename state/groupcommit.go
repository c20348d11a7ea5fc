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
	pending  []T
	waiters  []chan error
	flushing bool
}

func (g *groupCommit[T]) add(items ...T) error {
	if len(items) == 0 {
		return nil
	}
	done := make(chan error, 1)
	g.mu.Lock()
	g.pending = append(g.pending, items...)
	g.waiters = append(g.waiters, done)
	if !g.flushing {
		g.flushing = true
		go g.flush()
	}
	g.mu.Unlock()
	return <-done
}

func (g *groupCommit[T]) flush() {
	for {
		g.mu.Lock()
		if len(g.pending) == 0 {
			g.flushing = false
			g.mu.Unlock()
			return
		}
		items, waiters := g.pending, g.waiters
		g.pending, g.waiters = nil, nil
		g.mu.Unlock()
		err := g.write(items)
		for _, w := range waiters {
			w <- err
		}
	}
}
