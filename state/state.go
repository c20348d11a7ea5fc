// Package state keeps everything herald must not lose: the send journal and
// its exact index, the suppression list, the reply log, the unsubscribe
// signing key and the per-campaign send locks.
//
// Store is the one interface the rest of herald uses. Files (a state
// directory of plain files other tools can read: journal.jsonl,
// suppressions.csv, replies.csv) is the embedded default; a shared database
// is a second implementation of the same interface.
//
// The rules every implementation keeps (SPEC 1.5 and 3):
//   - an append is durable when it returns, and many writers' appends share
//     one sync (group commit);
//   - readers never see a torn line, and a torn last line left by a crash is
//     set aside by the next append;
//   - an attempt is granted (and durable) before its message leaves; the
//     frequency limit is judged against every process's sends at the moment
//     the attempt is granted.
package state

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Store is herald's durable state.
type Store interface {
	// Journal opens campaign's journal for sending: it loads the index once
	// and then keeps it current with every batch it commits, including what
	// other processes appended meanwhile.
	Journal(ctx context.Context, campaign string, opts JournalOptions) (Journal, error)
	// Index loads what the journal says about campaign, read-only (plan,
	// check). recentSince bounds the send times kept for the frequency limit.
	Index(ctx context.Context, campaign string, recentSince time.Time) (*Index, error)
	// ReadJournal calls fn for every journal entry in order.
	ReadJournal(ctx context.Context, fn func(Entry) error) error
	// AppendJournal appends entries that belong to no send run (delivery
	// statuses from webhooks, imports) and returns when they are durable.
	AppendJournal(ctx context.Context, entries ...Entry) error

	// Suppressions loads the suppression list for look-ups.
	Suppressions(ctx context.Context) (*Suppressions, error)
	// AddSuppression adds s unless the address is already suppressed on
	// that channel by the same source; added says whether a row was
	// written.
	AddSuppression(ctx context.Context, s Suppression) (added bool, err error)
	// RemoveSuppressions removes the rows of address on channel ("all":
	// every channel) whose source is one of sources (none: any source) and
	// reports how many went.
	RemoveSuppressions(ctx context.Context, address, channel string, sources ...string) (int, error)

	// AppendReplies appends rows to the reply log, durable on return.
	AppendReplies(ctx context.Context, rows ...Reply) error
	// ReadReplies calls fn for every row of the reply log in order.
	ReadReplies(ctx context.Context, fn func(Reply) error) error

	// UnsubscribeKey returns the key that signs one-click unsubscribe
	// links, creating it on first use; every process sharing the store
	// shares the key.
	UnsubscribeKey(ctx context.Context) ([]byte, error)

	// LockCampaign takes the campaign's send lock for the whole run, or
	// fails at once with a *LockedError naming the holder.
	LockCampaign(ctx context.Context, campaign string) (unlock func() error, err error)

	// Describe names the store for messages ("state directory .herald").
	Describe() string
	Close() error
}

// Journal is one campaign's journal during a send run.
type Journal interface {
	// Attempt makes e (status attempt) durable before its message leaves;
	// with a shared store it is the claim that makes this process the one
	// sender of the message. It refuses, writing nothing, with
	// ErrFrequency when, judged against every sender's sends at this
	// moment, the recipient has reached the frequency limit; with
	// ErrClaimed when another sender claimed or sent the message; with
	// ErrSuppressed when the address was suppressed on the channel since
	// the run loaded the list. The message must then not be sent.
	Attempt(ctx context.Context, e Entry) error
	// Record appends outcomes and skips. They are written when it returns
	// (a killed process loses none) and durable by the next Attempt or by
	// Close: an outcome lost to a power failure leaves its recipient in
	// doubt, never sent twice, so it need not wait for its own sync.
	Record(ctx context.Context, entries ...Entry) error
	// Lookup returns what the journal says about a recipient of the
	// campaign, as of the last committed batch.
	Lookup(id string) Outcome
	// SentSince counts sends of any campaign to id after t.
	SentSince(id string, t time.Time) int
	// Close makes everything recorded durable.
	Close() error
}

// JournalOptions tune a Journal.
type JournalOptions struct {
	// Frequency is the campaign's limit (zero Count: none).
	Frequency Frequency
	// RecentSince bounds the send times the index keeps for the frequency
	// limit (zero: keep none).
	RecentSince time.Time
	// Now is the clock for the frequency limit (nil: time.Now).
	Now func() time.Time
}

// Frequency is "at most Count sends per Per, across campaigns".
type Frequency struct {
	Count int
	Per   time.Duration
}

// Refusals of Journal.Attempt.
var (
	ErrFrequency  = errors.New("frequency limit reached")
	ErrClaimed    = errors.New("claimed by another sender")
	ErrSuppressed = errors.New("suppressed since the run started")
)

// LockedError says another send of the campaign holds its lock.
type LockedError struct {
	Campaign string
	PID      int
	Host     string
	Started  time.Time
	Where    string // the lock's file or store
}

func (e *LockedError) Error() string {
	holder := "another herald send"
	if e.PID > 0 {
		holder = fmt.Sprintf("herald send (pid %d on %s, started %s)", e.PID, e.Host, e.Started.UTC().Format(time.RFC3339))
	}
	return fmt.Sprintf("campaign %q is being sent by %s; %s holds its lock: wait for it to finish, or stop it", e.Campaign, holder, e.Where)
}

// WriteError is a failed write to state (disk full, permissions). A send
// run stops at the first one: without a durable attempt nothing may leave.
type WriteError struct {
	What string // "journal", "replies", "suppressions"
	Err  error
}

func (e *WriteError) Error() string { return fmt.Sprintf("writing the %s: %v", e.What, e.Err) }
func (e *WriteError) Unwrap() error { return e.Err }
