package replies

import (
	"context"
	"strings"
	"sync"
	"time"

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
	// One map operation instead of a look-up and an insert: the set grew
	// exactly when k was new.
	n := len(s.keys)
	s.keys[k] = true
	return len(s.keys) > n
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

// appendReplies logs rows and reports which were new.
func appendReplies(store state.Store, rows []state.Reply) ([]bool, error) {
	if o, ok := store.(onceAppender); ok {
		return o.AppendRepliesOnce(writeCtx, rows...)
	}
	if err := store.AppendReplies(writeCtx, rows...); err != nil {
		return nil, err
	}
	added := make([]bool, len(rows))
	for i := range added {
		added[i] = true
	}
	return added, nil
}

// replyBatcher attributes and logs the replies of concurrent webhooks in
// batches: those that arrive while a batch is being written wait together
// for the next one. A batch reads what the journal gained once (a stat,
// when nothing was sent meanwhile), attributes each reply to the send it
// answers, and appends all its rows in one write and one fsync (or one
// transaction). Every webhook of a batch arrived before its journal read
// began, so each sees every send journaled before it arrived, as one read
// per webhook did. add returns once the row is durable, so a provider gets
// its 200 only for a logged reply.
type replyBatcher struct {
	index   *journalIndex
	refresh *sharedRefresh
	store   state.Store

	mu       sync.Mutex
	next     *replyBatch // filling while the previous batch is written
	flushing bool
	spare    []state.Reply // a written batch's rows, emptied, for the next batch
}

type replyBatch struct {
	rows  []state.Reply
	added []bool
	err   error // set, like added, before done is closed
	done  chan struct{}
}

// journalReadError is a batch that could not be attributed because the
// journal could not be read.
type journalReadError struct{ err error }

func (e *journalReadError) Error() string { return e.err.Error() }
func (e *journalReadError) Unwrap() error { return e.err }

// add attributes row (RecipientID, Campaign) and logs it, and reports
// whether it was new: false when another replica logged the same message.
func (b *replyBatcher) add(row state.Reply) (bool, error) {
	b.mu.Lock()
	batch := b.next
	if batch == nil {
		batch = &replyBatch{rows: b.spare, done: make(chan struct{})}
		b.spare = nil
		b.next = batch
	}
	i := len(batch.rows)
	batch.rows = append(batch.rows, row)
	if !b.flushing {
		b.flushing = true
		go b.flush()
	}
	b.mu.Unlock()
	<-batch.done
	if batch.err != nil {
		return false, batch.err
	}
	return batch.added[i], nil
}

func (b *replyBatcher) flush() {
	for {
		b.mu.Lock()
		batch := b.next
		b.next = nil
		if batch == nil {
			b.flushing = false
			b.mu.Unlock()
			return
		}
		taken := time.Now() // after every row of the batch was added
		b.mu.Unlock()
		batch.added, batch.err = b.write(batch.rows, taken)
		close(batch.done)
		// Waiters read added and err only, and the store copied the rows.
		clear(batch.rows)
		b.mu.Lock()
		b.spare = batch.rows[:0]
		b.mu.Unlock()
	}
}

func (b *replyBatcher) write(rows []state.Reply, taken time.Time) ([]bool, error) {
	if err := b.refresh.since(taken); err != nil {
		return nil, &journalReadError{err}
	}
	b.index.attribute(rows)
	return appendReplies(b.store, rows)
}
