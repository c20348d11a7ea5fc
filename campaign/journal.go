package campaign

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"path/filepath"
	"time"
)

// Journal statuses (SPEC 1.5).
const (
	StatusAttempt     = "attempt"
	StatusSent        = "sent"
	StatusFailed      = "failed"
	StatusSkipped     = "skipped"
	StatusDelivered   = "delivered"
	StatusUndelivered = "undelivered"
)

// Entry is one line of journal.jsonl.
type Entry struct {
	Time       time.Time `json:"time"`
	Campaign   string    `json:"campaign"`
	Recipient  string    `json:"recipient"`
	Channel    string    `json:"channel"`
	Address    string    `json:"address"`
	Locale     string    `json:"locale"`
	Status     string    `json:"status"`
	ProviderID string    `json:"provider_id"`
	MessageID  string    `json:"message_id"`
	Error      string    `json:"error"`
	Attempt    int       `json:"attempt"`
	// Temporary marks a failure that retries could still fix (an outage):
	// a rerun retries it; a permanent failure needs --retry-failed.
	Temporary bool `json:"temporary,omitempty"`
}

// JournalPath is the journal's file in a state directory.
func JournalPath(stateDir string) string { return filepath.Join(stateDir, "journal.jsonl") }

// Journal appends to journal.jsonl with group commit: many send workers
// cost one fsync per batch, not one per message, and Append still returns
// only once its lines are on disk.
type Journal struct {
	commit groupCommit[[]byte]
}

// OpenJournal returns the journal of a state directory.
func OpenJournal(stateDir string) *Journal {
	path := JournalPath(stateDir)
	return &Journal{commit: groupCommit[[]byte]{write: func(lines [][]byte) error {
		return AppendLines(path, nil, lines)
	}}}
}

// Append writes entries and returns when they are durable.
func (j *Journal) Append(entries ...Entry) error {
	lines := make([][]byte, 0, len(entries))
	for _, e := range entries {
		if e.Time.IsZero() {
			e.Time = time.Now()
		}
		e.Time = e.Time.UTC().Truncate(time.Millisecond)
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		lines = append(lines, b)
	}
	return j.commit.add(lines...)
}

// ReadJournal calls fn for every entry of the journal in order. Lines that
// do not parse (a write torn by a crash) are skipped and counted.
func ReadJournal(stateDir string, fn func(Entry) error) (skipped int, err error) {
	err = ReadLines(JournalPath(stateDir), func(n int, line []byte) error {
		if len(line) == 0 {
			return nil
		}
		var e Entry
		if json.Unmarshal(line, &e) != nil {
			skipped++
			return nil
		}
		return fn(e)
	})
	return skipped, err
}

// recState is what the journal says about one recipient of one campaign,
// packed small: a million recipients must fit in tens of MB.
type recState struct {
	flags    uint8
	attempts uint8
}

const (
	flagSent      = 1 << iota // some attempt was sent
	flagOpen                  // the last attempt has no outcome: in doubt
	flagFailed                // the last outcome was a failure
	flagTemporary             // ... and it was temporary
	flagSkipped               // a skip was journalled (once is enough)
)

// Index is the journal's memory of one campaign, plus the recent sends of
// every campaign for the frequency limit. Recipients are keyed by a 64-bit
// hash of their id: collisions in an audience of a million are about one in
// thirty million.
type Index struct {
	campaign string
	recs     map[uint64]recState
	recent   map[uint64][]time.Time // sends of any campaign since `since`
	since    time.Time
	Skipped  int // unparseable (torn) lines
}

// LoadIndex reads the journal once. recentSince bounds the send times kept
// for the frequency limit (zero: keep none).
func LoadIndex(stateDir, campaign string, recentSince time.Time) (*Index, error) {
	ix := &Index{campaign: campaign, recs: map[uint64]recState{}, recent: map[uint64][]time.Time{}, since: recentSince}
	skipped, err := ReadJournal(stateDir, func(e Entry) error {
		ix.Add(e)
		return nil
	})
	ix.Skipped = skipped
	if err != nil {
		return nil, fmt.Errorf("reading the journal: %w", err)
	}
	return ix, nil
}

// Add records an entry, as LoadIndex does for each journal line.
func (ix *Index) Add(e Entry) {
	key := idHash(e.Recipient)
	if e.Status == StatusSent && !ix.since.IsZero() && e.Time.After(ix.since) {
		ix.recent[key] = append(ix.recent[key], e.Time)
	}
	if e.Campaign != ix.campaign {
		return
	}
	s := ix.recs[key]
	switch e.Status {
	case StatusAttempt:
		s.flags |= flagOpen
		if s.attempts < 255 {
			s.attempts++
		}
	case StatusSent:
		s.flags = (s.flags | flagSent) &^ (flagOpen | flagFailed | flagTemporary)
	case StatusFailed:
		s.flags = (s.flags | flagFailed) &^ (flagOpen | flagTemporary)
		if e.Temporary {
			s.flags |= flagTemporary
		}
	case StatusSkipped:
		s.flags |= flagSkipped
	default:
		return
	}
	ix.recs[key] = s
}

// Outcome is what the journal says about a recipient of the campaign.
type Outcome struct {
	Sent, InDoubt, Failed, Temporary bool
	Skipped                          bool // a skip is already journalled
	Attempts                         int
}

// Lookup returns the journal's outcome for a recipient id.
func (ix *Index) Lookup(id string) Outcome {
	s := ix.recs[idHash(id)]
	return Outcome{
		Sent:      s.flags&flagSent != 0,
		InDoubt:   s.flags&flagOpen != 0 && s.flags&flagSent == 0,
		Failed:    s.flags&flagFailed != 0 && s.flags&flagSent == 0,
		Temporary: s.flags&flagTemporary != 0,
		Skipped:   s.flags&flagSkipped != 0,
		Attempts:  int(s.attempts),
	}
}

// SentSince counts sends to a recipient, of any campaign, after t.
func (ix *Index) SentSince(id string, t time.Time) int {
	n := 0
	for _, at := range ix.recent[idHash(id)] {
		if at.After(t) {
			n++
		}
	}
	return n
}

func idHash(id string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	return h.Sum64()
}
