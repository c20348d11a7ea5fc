package state

import (
	"encoding/json"
	"time"
)

// Journal statuses (SPEC 1.5).
const (
	StatusAttempt     = "attempt"
	StatusSent        = "sent"
	StatusFailed      = "failed"
	StatusInDoubt     = "in-doubt" // the request left and its answer was lost
	StatusSkipped     = "skipped"
	StatusDelivered   = "delivered"
	StatusUndelivered = "undelivered"
)

// Why a recipient is in doubt.
const (
	InDoubtLostResponse = "lost-response" // the provider call's answer was lost
	InDoubtKilled       = "killed"        // an attempt with no outcome: the process died mid-call
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
	// Temporary marks a failure that retries could still fix (an outage,
	// a channel stopped by a configuration error): a rerun retries it; a
	// permanent failure needs --retry-failed.
	Temporary bool `json:"temporary,omitempty"`
}

// marshal is the entry's journal line.
func (e Entry) marshal() ([]byte, error) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	e.Time = e.Time.UTC().Truncate(time.Millisecond)
	return json.Marshal(e)
}

// parseEntry reads a journal line; ok is false for a line that is not a
// whole entry (torn by a crash, or garbage), which readers skip.
func parseEntry(line []byte) (e Entry, ok bool) {
	if len(line) == 0 || line[0] != '{' {
		return e, false
	}
	if DecodeEntry(line, &e) != nil || e.Status == "" {
		return Entry{}, false
	}
	return e, true
}

// Outcome is what the journal says about a recipient of one campaign.
type Outcome struct {
	Sent, InDoubt, Failed, Temporary bool
	// InDoubtReason is InDoubtLostResponse or InDoubtKilled.
	InDoubtReason string
	Skipped       bool // a skip is already journalled
	Attempts      int
}

// recState is what the index keeps per recipient, packed small.
type recState struct {
	flags    uint8
	attempts uint8
}

const (
	flagSent      = 1 << iota // some attempt was sent
	flagOpen                  // the last attempt has no outcome: killed mid-call
	flagLost                  // the last outcome was in-doubt (lost response)
	flagFailed                // the last outcome was a failure
	flagTemporary             // ... and it was temporary
	flagSkipped               // a skip was journalled (once is enough)
	flagKilled                // the open attempt was judged killed (a shared store's sweep)
)

// Index is the journal's memory of one campaign, keyed by the exact
// recipient id (a hash could silently skip a recipient on a collision),
// plus the recent sends of every campaign for the frequency limit.
type Index struct {
	campaign string
	recs     *idTable
	recent   map[string][]time.Time // sends of any campaign after since
	since    time.Time
	// Torn counts lines that were not whole entries (crashes, garbage).
	Torn int
}

// NewIndex returns an empty index of campaign that keeps send times after
// recentSince (zero: none) for the frequency limit.
func NewIndex(campaign string, recentSince time.Time) *Index {
	return &Index{campaign: campaign, recs: newIDTable(), recent: map[string][]time.Time{}, since: recentSince}
}

// Add records an entry, as loading does for each journal line.
func (ix *Index) Add(e Entry) {
	if e.Status == StatusSent && !ix.since.IsZero() && e.Time.After(ix.since) {
		ix.recent[e.Recipient] = append(ix.recent[e.Recipient], e.Time)
	}
	if e.Campaign != ix.campaign {
		return
	}
	s := ix.recs.get(e.Recipient)
	const outcome = flagOpen | flagLost | flagFailed | flagTemporary | flagKilled
	switch e.Status {
	case StatusAttempt:
		s.flags = s.flags&^outcome | flagOpen
		if s.attempts < 255 {
			s.attempts++
		}
	case StatusSent:
		s.flags = s.flags&^outcome | flagSent
	case StatusInDoubt:
		if e.Error == InDoubtKilled {
			// a shared store's sweep: the sender died mid-call
			s.flags = s.flags&^outcome | flagOpen | flagKilled
			break
		}
		s.flags = s.flags&^outcome | flagLost
	case StatusFailed:
		s.flags = s.flags&^outcome | flagFailed
		if e.Temporary {
			s.flags |= flagTemporary
		}
	case StatusSkipped:
		// A skip after an attempt closes it: the call never happened (the
		// channel was stopped, or the run interrupted, before it).
		s.flags = s.flags&^(flagOpen|flagLost|flagKilled) | flagSkipped
	default:
		return // delivery statuses change nothing about sending
	}
	ix.recs.set(e.Recipient, s)
}

// Lookup returns the journal's outcome for a recipient id.
func (ix *Index) Lookup(id string) Outcome {
	s := ix.recs.get(id)
	o := Outcome{
		Sent:      s.flags&flagSent != 0,
		Failed:    s.flags&flagFailed != 0 && s.flags&flagSent == 0,
		Temporary: s.flags&flagTemporary != 0,
		Skipped:   s.flags&flagSkipped != 0,
		Attempts:  int(s.attempts),
	}
	if s.flags&flagSent == 0 {
		switch {
		case s.flags&flagLost != 0:
			o.InDoubt, o.InDoubtReason = true, InDoubtLostResponse
		case s.flags&flagOpen != 0:
			o.InDoubt, o.InDoubtReason = true, InDoubtKilled
		}
	}
	return o
}

// openAttempt reports whether id's last attempt has no outcome yet and
// was not judged killed: on a shared store, another sender's call in
// flight.
func (ix *Index) openAttempt(id string) bool {
	s := ix.recs.get(id)
	return s.flags&flagSent == 0 && s.flags&flagOpen != 0 && s.flags&flagKilled == 0
}

// SentSince counts sends to id, of any campaign, after t.
func (ix *Index) SentSince(id string, t time.Time) int {
	n := 0
	for _, at := range ix.recent[id] {
		if at.After(t) {
			n++
		}
	}
	return n
}

// Len is the number of recipients of the campaign the journal knows.
func (ix *Index) Len() int { return ix.recs.n }
