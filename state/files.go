package state

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Files is the embedded default store: a state directory of plain files
// that people and other tools read (journal.jsonl, replies.csv,
// suppressions.csv), shared by every herald process on the machine through
// file locks.
type Files struct {
	Dir string

	mu       sync.Mutex
	journal  *appendFile // shared by AppendJournal and every Journal
	replies  *replyLog
	suppress *appendFile
}

var _ Store = (*Files)(nil)

// OpenFiles returns the files store of a state directory. Nothing is
// created until something is written.
func OpenFiles(dir string) *Files {
	f := &Files{Dir: dir}
	f.journal = newAppendFile(f.JournalPath(), "journal", nil)
	f.suppress = newAppendFile(f.SuppressionsPath(), "suppressions", suppressionHeader)
	f.suppress.replaceable = true // suppress remove rewrites it
	f.replies = newReplyLog(newAppendFile(f.RepliesPath(), "reply log", replyHeader()))
	return f
}

// Paths of the state files.
func (f *Files) JournalPath() string      { return filepath.Join(f.Dir, "journal.jsonl") }
func (f *Files) RepliesPath() string      { return filepath.Join(f.Dir, "replies.csv") }
func (f *Files) SuppressionsPath() string { return filepath.Join(f.Dir, "suppressions.csv") }
func (f *Files) keyPath() string          { return filepath.Join(f.Dir, "unsubscribe.key") }
func (f *Files) lockPath(campaign string) string {
	return filepath.Join(f.Dir, "locks", campaign+".lock")
}

// Describe names the store for messages.
func (f *Files) Describe() string { return "state directory " + f.Dir }

// Close releases open files.
func (f *Files) Close() error {
	f.journal.close()
	f.suppress.close()
	return f.replies.file.close()
}

// ReadJournal calls fn for every whole journal entry in order; torn and
// garbage lines are skipped.
func (f *Files) ReadJournal(ctx context.Context, fn func(Entry) error) error {
	_, err := f.readJournal(ctx, fn)
	return err
}

func (f *Files) readJournal(ctx context.Context, fn func(Entry) error) (torn int, err error) {
	n := 0
	err = readLines(f.JournalPath(), func(_ int, line []byte) error {
		if n++; n%4096 == 1 && ctx.Err() != nil {
			return ctx.Err()
		}
		e, ok := parseEntry(line)
		if !ok {
			if len(line) > 0 {
				torn++
			}
			return nil
		}
		return fn(e)
	})
	if err != nil {
		return torn, fmt.Errorf("reading %s: %w", f.JournalPath(), err)
	}
	return torn, nil
}

// Index loads the journal's index of campaign.
func (f *Files) Index(ctx context.Context, campaign string, recentSince time.Time) (*Index, error) {
	ix := NewIndex(campaign, recentSince)
	torn, err := f.readJournal(ctx, func(e Entry) error { ix.Add(e); return nil })
	ix.Torn = torn
	return ix, err
}

// AppendJournal appends entries outside a send run, durable on return.
func (f *Files) AppendJournal(ctx context.Context, entries ...Entry) error {
	lines := make([][]byte, 0, len(entries))
	for _, e := range entries {
		b, err := e.marshal()
		if err != nil {
			return err
		}
		lines = append(lines, b)
	}
	return f.journal.batch(func([][]byte) ([][]byte, error) { return lines, nil })
}

// Journal opens campaign's journal for a send run.
func (f *Files) Journal(ctx context.Context, campaign string, opts JournalOptions) (Journal, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	j := &fileJournal{file: f.journal}
	j.opts = opts
	// Load under the journal's lock so the first batch reads exactly what
	// others appended after this point.
	err := f.journal.batch(func([][]byte) ([][]byte, error) {
		ix, err := f.Index(ctx, campaign, opts.RecentSince)
		j.ix = ix
		return nil, err
	})
	if err != nil {
		return nil, err
	}
	j.commit.write = j.write
	return j, nil
}

// fileJournal is a send run's journal: attempts and outcomes of all send
// workers are written in batches (group commit), one lock and one fsync per
// batch, and every batch first reads what other processes appended since
// the last one, so the index (and so the frequency limit) is current at the
// moment an attempt is granted.
type fileJournal struct {
	journalBatch
	file *appendFile
}

// journalBatch is what every store's journal shares: entries go out
// through group commit (the store's write func), and those committed go
// into the index the run's look-ups read.
type journalBatch struct {
	opts   JournalOptions
	commit groupCommit[*pending]

	mu sync.RWMutex // guards ix (and a store's own read cursor)
	ix *Index
}

// add commits entries and records the ones committed in the index. A
// refused one (p.err set by the write) is not recorded.
func (j *journalBatch) add(entries ...Entry) ([]*pending, error) {
	ps := make([]*pending, len(entries))
	for i, e := range entries {
		if e.Time.IsZero() {
			e.Time = j.opts.Now()
		}
		e.Time = e.Time.UTC().Truncate(time.Millisecond)
		ps[i] = &pending{e: e}
	}
	if err := j.commit.add(ps...); err != nil {
		return ps, err
	}
	j.mu.Lock()
	for _, p := range ps {
		if p.err == nil {
			j.ix.Add(p.e)
		}
	}
	j.mu.Unlock()
	return ps, nil
}

type pending struct {
	e   Entry
	err error  // ErrFrequency for a refused attempt
	seq uint64 // the write that carried it
}

// write commits a batch: it writes the lines (under the file's lock, after
// reading what other processes appended) without syncing them. Attempt then
// waits for a sync covering its line, shared with the other attempts of
// its time (see appendFile.syncThrough); an outcome or a skip does not
// wait: the next attempt's sync, or Close, makes it durable. A killed
// process loses no written line, and an outcome lost to a power failure
// only leaves its recipient in doubt, never sent twice.
func (j *fileJournal) write(batch []*pending) error {
	return j.file.batchSync(func(others [][]byte) ([][]byte, bool, error) {
		j.mu.Lock()
		defer j.mu.Unlock()
		for _, line := range others {
			if e, ok := parseEntry(line); ok {
				j.ix.Add(e)
			}
		}
		lines := make([][]byte, 0, len(batch))
		freq := j.opts.Frequency
		for _, p := range batch {
			if p.e.Status == StatusAttempt && freq.Count > 0 &&
				j.ix.SentSince(p.e.Recipient, j.opts.Now().Add(-freq.Per)) >= freq.Count {
				p.err = ErrFrequency
				continue
			}
			b, err := p.e.marshal()
			if err != nil {
				return nil, false, err
			}
			lines = append(lines, b)
			p.seq = j.file.written + 1 // this batch's write number
		}
		return lines, false, nil
	})
}

func (j *fileJournal) Attempt(ctx context.Context, e Entry) error {
	e.Status = StatusAttempt
	ps, err := j.add(e)
	if err != nil {
		return err
	}
	if ps[0].err != nil {
		return ps[0].err
	}
	// Durable before the message leaves.
	return j.file.syncThrough(ps[0].seq)
}

func (j *fileJournal) Record(ctx context.Context, entries ...Entry) error {
	_, err := j.add(entries...)
	return err
}

func (j *fileJournal) Lookup(id string) Outcome {
	j.mu.RLock()
	defer j.mu.RUnlock()
	return j.ix.Lookup(id)
}

func (j *fileJournal) SentSince(id string, t time.Time) int {
	j.mu.RLock()
	defer j.mu.RUnlock()
	return j.ix.SentSince(id, t)
}

// Close makes every outcome written so far durable.
func (j *fileJournal) Close() error { return j.file.sync() }

// ensureDir creates the state directory, private.
func (f *Files) ensureDir() error {
	if err := os.MkdirAll(f.Dir, dirMode); err != nil {
		return fmt.Errorf("creating state directory: %w", err)
	}
	return nil
}

// ReadJournalTorn is ReadJournal that also counts the lines it skipped as
// not whole entries (a report mentions them).
func (f *Files) ReadJournalTorn(ctx context.Context, fn func(Entry) error) (torn int, err error) {
	return f.readJournal(ctx, fn)
}
