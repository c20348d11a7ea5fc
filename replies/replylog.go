package replies

import (
	"strings"
	"sync"

	"herald/campaign"
)

// replyLog appends rows to replies.csv with group commit: rows handed in
// while a write is running go out together in the next one, so a burst of
// webhooks costs one lock and one fsync per batch instead of one per
// request, and append still returns only once its rows are on disk (the
// provider gets its 200 only for a durable row).
type replyLog struct {
	stateDir string

	mu       sync.Mutex
	pending  []campaign.Reply
	waiters  []chan error
	flushing bool
}

func (l *replyLog) append(rows ...campaign.Reply) error {
	if len(rows) == 0 {
		return nil
	}
	done := make(chan error, 1)
	l.mu.Lock()
	l.pending = append(l.pending, rows...)
	l.waiters = append(l.waiters, done)
	if !l.flushing {
		l.flushing = true
		go l.flush()
	}
	l.mu.Unlock()
	return <-done
}

func (l *replyLog) flush() {
	for {
		l.mu.Lock()
		if len(l.pending) == 0 {
			l.flushing = false
			l.mu.Unlock()
			return
		}
		rows, waiters := l.pending, l.waiters
		l.pending, l.waiters = nil, nil
		l.mu.Unlock()
		err := campaign.AppendReplies(l.stateDir, rows...)
		for _, w := range waiters {
			w <- err
		}
	}
}

// seenSet remembers which inbound messages are already logged, so a
// provider's redelivery of the same event adds no second row. claim marks a
// key before its row is written, which keeps two concurrent redeliveries
// from both writing; release undoes the mark when the write failed, so the
// provider's next retry is not mistaken for a duplicate.
type seenSet struct {
	mu   sync.Mutex
	keys map[string]bool
}

func newSeenSet() *seenSet { return &seenSet{keys: map[string]bool{}} }

func (s *seenSet) claim(k string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keys[k] {
		return false
	}
	s.keys[k] = true
	return true
}

func (s *seenSet) release(k string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.keys, k)
}

func key(parts ...string) string { return strings.Join(parts, "\x00") }

// loadSeen returns the (channel, message id) pairs replies.csv already has.
func loadSeen(stateDir string) (*seenSet, error) {
	s := newSeenSet()
	err := campaign.ReadReplies(stateDir, func(r campaign.Reply) error {
		if r.MessageID != "" {
			s.keys[key(r.Channel, r.MessageID)] = true
		}
		return nil
	})
	return s, err
}
