package replies

import (
	"context"
	"strings"
	"sync"

	"herald/state"
)

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

// loadSeen returns the (channel, message id) pairs the reply log already
// has.
func loadSeen(store state.Store) (*seenSet, error) {
	s := newSeenSet()
	err := store.ReadReplies(context.Background(), func(r state.Reply) error {
		if r.MessageID != "" {
			s.keys[key(r.Channel, r.MessageID)] = true
		}
		return nil
	})
	return s, err
}

// onceAppender is a store whose reply log is shared by several replicas of
// replies serve and refuses a second row for the same (channel,
// message id) itself: the in-memory set cannot see the other replicas.
type onceAppender interface {
	AppendRepliesOnce(ctx context.Context, rows ...state.Reply) ([]bool, error)
}

// appendReply logs row and reports whether it was new.
func appendReply(store state.Store, row state.Reply) (bool, error) {
	if o, ok := store.(onceAppender); ok && row.MessageID != "" {
		added, err := o.AppendRepliesOnce(writeCtx, row)
		if err != nil {
			return false, err
		}
		return added[0], nil
	}
	return true, store.AppendReplies(writeCtx, row)
}
