package main

import (
	"io"
	"sync"
)

// logBatcher hands log lines to w from a goroutine of its own: lines logged
// while it writes go out together in its next write. `replies serve` logs a
// line per request; at thousands of requests a second a write system call
// per line was a tenth of its CPU. A line is written as soon as the writer
// is free, so nothing waits for a timer, and Close writes what is left.
// Each Write is one whole line from slog, so lines never interleave.
type logBatcher struct {
	w io.Writer

	mu     sync.Mutex
	room   *sync.Cond // signalled when buf was taken
	buf    []byte
	closed bool
	wake   chan struct{} // holds a signal while buf has lines nobody was woken for
	done   chan struct{}

	out sync.Mutex // one write to w at a time
}

// maxLogBacklog bounds the lines held while w is slow: a Write beyond it
// waits, as it would for w itself.
const maxLogBacklog = 1 << 20

func newLogBatcher(w io.Writer) *logBatcher {
	b := &logBatcher{w: w, wake: make(chan struct{}, 1), done: make(chan struct{})}
	b.room = sync.NewCond(&b.mu)
	go b.run()
	return b
}

func (b *logBatcher) Write(p []byte) (int, error) {
	b.mu.Lock()
	for len(b.buf) >= maxLogBacklog && !b.closed {
		b.room.Wait()
	}
	if b.closed {
		b.mu.Unlock()
		b.out.Lock()
		defer b.out.Unlock()
		return b.w.Write(p)
	}
	if len(b.buf) == 0 {
		// Under mu, so Close cannot have closed wake.
		select {
		case b.wake <- struct{}{}:
		default:
		}
	}
	b.buf = append(b.buf, p...)
	b.mu.Unlock()
	return len(p), nil
}

func (b *logBatcher) run() {
	defer close(b.done)
	var spare []byte
	for range b.wake {
		b.mu.Lock()
		lines := b.buf
		b.buf = spare[:0]
		b.room.Broadcast()
		b.mu.Unlock()
		if len(lines) > 0 {
			b.out.Lock()
			b.w.Write(lines)
			b.out.Unlock()
		}
		spare = lines
	}
}

// Close writes the lines still held; later writes go straight to w.
func (b *logBatcher) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.room.Broadcast()
	close(b.wake)
	b.mu.Unlock()
	<-b.done
	b.mu.Lock()
	lines := b.buf
	b.buf = nil
	b.mu.Unlock()
	if len(lines) == 0 {
		return nil
	}
	b.out.Lock()
	defer b.out.Unlock()
	_, err := b.w.Write(lines)
	return err
}
