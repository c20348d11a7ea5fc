package main

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// lockedBuffer records each Write it gets.
type lockedBuffer struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writes++
	return l.b.Write(p)
}

// The log of `replies serve` goes through a logBatcher: every line written
// by concurrent loggers arrives whole, in each logger's order, by Close,
// and lines logged at once share writes.
func TestServeLogBatcherKeepsEveryLine(t *testing.T) {
	var out lockedBuffer
	b := newLogBatcher(&out)
	const writers, lines = 8, 2000
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range lines {
				fmt.Fprintf(b, "level=INFO msg=request writer=%d line=%d\n", w, i)
			}
		}()
	}
	wg.Wait()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(b, "after close")

	next := make([]int, writers)
	got := strings.Split(strings.TrimSuffix(out.b.String(), "\n"), "\n")
	if len(got) != writers*lines+1 {
		t.Fatalf("%d lines written, want %d", len(got), writers*lines+1)
	}
	for _, line := range got[:len(got)-1] {
		var w, i int
		if _, err := fmt.Sscanf(line, "level=INFO msg=request writer=%d line=%d", &w, &i); err != nil {
			t.Fatalf("torn or merged line %q: %v", line, err)
		}
		if i != next[w] {
			t.Fatalf("writer %d: line %d after line %d", w, i, next[w]-1)
		}
		next[w]++
	}
	if got[len(got)-1] != "after close" {
		t.Errorf("last line %q, want the one written after Close", got[len(got)-1])
	}
}

// gatedWriter holds its first Write until released.
type gatedWriter struct {
	lockedBuffer
	started, release chan struct{}
	once             sync.Once
}

func (g *gatedWriter) Write(p []byte) (int, error) {
	g.once.Do(func() {
		close(g.started)
		<-g.release
	})
	return g.lockedBuffer.Write(p)
}

// Lines logged while a write is under way go out together in the next one.
func TestServeLogBatcherBatches(t *testing.T) {
	out := &gatedWriter{started: make(chan struct{}), release: make(chan struct{})}
	b := newLogBatcher(out)
	fmt.Fprintln(b, "line 0")
	<-out.started
	for i := 1; i < 100; i++ {
		fmt.Fprintf(b, "line %d\n", i)
	}
	close(out.release)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.b.String(), "\n"); n != 100 {
		t.Fatalf("%d lines written, want 100", n)
	}
	if out.writes != 2 {
		t.Errorf("%d writes for 100 lines, want 2: the first, then the 99 logged meanwhile", out.writes)
	}
}
