package campaign

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"sync"
	"time"

	"herald/audience"
	"herald/channels"
)

// SendOptions are the flags of `herald send`.
type SendOptions struct {
	Now          func() time.Time // the clock; --now pins it
	DryRun       bool
	Wait         bool
	Limit        int // 0 = no limit
	Shard        Shard
	SkipInvalid  bool
	RetryInDoubt bool
	RetryFailed  bool
	// Grace is how long calls in flight may take to finish after the
	// context is cancelled (SIGINT/SIGTERM) before they are abandoned.
	Grace time.Duration
	// Report receives every outcome as it happens (progress bar, log lines).
	// It is called from several goroutines.
	Report func(Event)
	// Invalid receives every invalid audience row that is skipped.
	Invalid func(error)
}

// Event is one outcome of the send loop.
type Event struct {
	Recipient string
	Channel   string
	Address   string
	Status    string // sent, failed, fallback (a failure followed by a try on the next channel), dry-run
	Attempt   int
	Err       error
}

// Counts are the numbers of one channel (or all) in a summary.
type Counts struct {
	Sent, Fallback, Failed, InDoubt, Skipped, Scheduled, AlreadySent, DryRun int
}

// Summary is what a send did.
type Summary struct {
	ByChannel map[string]*Counts // "" holds the rows with no channel
	Totals    Counts
	Invalid   int
	NextDue   time.Time // earliest scheduled send left, zero if none
	Cancelled bool
}

func (s *Summary) add(channel string, f func(*Counts)) {
	c := s.ByChannel[channel]
	if c == nil {
		c = &Counts{}
		s.ByChannel[channel] = c
	}
	f(c)
	f(&s.Totals)
}

// Channels lists the summary's channels, sorted, "" last.
func (s *Summary) Channels() []string {
	var names []string
	for n := range s.ByChannel {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		if names[i] == "" || names[j] == "" {
			return names[j] == ""
		}
		return names[i] < names[j]
	})
	return names
}

// Failed reports whether some recipients could not be sent (exit status 1).
func (s *Summary) Failed() bool { return s.Totals.Failed > 0 || s.Totals.InDoubt > 0 }

// ErrInvalidAudience is returned when send refuses to start on invalid rows.
var ErrInvalidAudience = errors.New("the audience has invalid rows")

// InvalidRowsError lists the invalid rows found before sending.
type InvalidRowsError struct {
	Rows  []error // the first maxListedProblems
	Total int
}

// maxListedProblems bounds what an error keeps: a broken column in a
// million-row file must not become a million-line error held in memory.
const maxListedProblems = 200

func (e *InvalidRowsError) add(err error) {
	e.Total++
	if len(e.Rows) < maxListedProblems {
		e.Rows = append(e.Rows, err)
	}
}

func (e *InvalidRowsError) Error() string {
	more := ""
	if e.Total > len(e.Rows) {
		more = fmt.Sprintf(" (the first %d are listed; `herald check` lists them all)", len(e.Rows))
	}
	return fmt.Sprintf("%d invalid audience rows: nothing was sent%s; fix them, or pass --skip-invalid to send to the others", e.Total, more)
}

func (e *InvalidRowsError) Unwrap() error { return ErrInvalidAudience }

// Send sends every due message of a campaign that the journal does not
// already have, each exactly once. With Wait it stays until every scheduled
// message has been sent.
func Send(ctx context.Context, cfg *Config, c *Campaign, opts SendOptions) (*Summary, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Grace == 0 {
		opts.Grace = 10 * time.Second
	}
	audiencePath, cleanup, err := spoolStdin(c.Audience)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	c2 := *c
	c2.Audience = audiencePath
	c = &c2

	for {
		sum, err := sendPass(ctx, cfg, c, opts)
		if err != nil || !opts.Wait || sum.NextDue.IsZero() || sum.Cancelled || opts.Limit > 0 {
			return sum, err
		}
		wait := time.Until(sum.NextDue)
		if opts.Report != nil {
			opts.Report(Event{Status: "waiting", Err: fmt.Errorf("next message due at %s", sum.NextDue.UTC().Format(time.RFC3339))})
		}
		if channels.SleepContext(ctx, wait) != nil {
			sum.Cancelled = true
			return sum, nil
		}
		// Each pass re-reads the audience, the journal and the suppression
		// list, so opt-outs that arrived while waiting are honoured.
		now := sum.NextDue
		opts.Now = func() time.Time {
			if t := time.Now(); t.After(now) {
				return t
			}
			return now
		}
	}
}

func sendPass(ctx context.Context, cfg *Config, c *Campaign, opts SendOptions) (*Summary, error) {
	now := opts.Now()
	p, err := NewPlanner(cfg, c, now)
	if err != nil {
		return nil, err
	}
	// Validate first: nothing is sent from a campaign whose audience or
	// templates fail for a recipient who would get a message now.
	if err := prepass(ctx, p, c, opts); err != nil {
		return nil, err
	}
	sum := &Summary{ByChannel: map[string]*Counts{}}
	var mu sync.Mutex
	journal := OpenJournal(cfg.StateDir)

	// Calls in flight get Grace to finish after an interrupt; queued work
	// is dropped at once.
	sendCtx, cancelSends := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSends()
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(opts.Grace, cancelSends) })
	defer stop()

	// More workers than provider slots: each channel's own concurrency
	// limit (a decorator) bounds the calls in flight, while the extra
	// workers keep journal writes waiting together, so one fsync covers the
	// attempt lines of many messages (group commit) instead of one each.
	slots := 0
	for _, name := range c.Channels {
		ch, _ := cfg.Channel(name)
		slots += ch.Concurrency
	}
	workers := min(max(4*slots, 16), 64)
	jobs := make(chan *Row)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for row := range jobs {
				deliver(sendCtx, p, journal, row, opts, func(f func(*Summary)) {
					mu.Lock()
					f(sum)
					mu.Unlock()
				})
			}
		}()
	}

	// Skips are journalled once per recipient (so report can count them),
	// in batches: a first run may skip a large part of an audience.
	var skips []Entry
	flushSkips := func() error {
		if len(skips) == 0 || opts.DryRun {
			skips = skips[:0]
			return nil
		}
		err := journal.Append(skips...)
		skips = skips[:0]
		return err
	}
	var skipErr error
	feedErr := feed(ctx, p, c, opts, func(row *Row) {
		mu.Lock()
		defer mu.Unlock()
		switch row.State {
		case StateSkipped:
			sum.add("", func(k *Counts) { k.Skipped++ })
			if !row.Outcome.Skipped {
				skips = append(skips, Entry{Time: opts.Now(), Campaign: c.Name, Recipient: row.Recipient.ID, Locale: row.Locale, Status: StatusSkipped, Error: row.Reason})
				if len(skips) >= 1000 && skipErr == nil {
					skipErr = flushSkips()
				}
			}
		case StateSent:
			sum.add(row.Channel(), func(k *Counts) { k.AlreadySent++ })
		case StateInDoubt:
			sum.add(row.Channel(), func(k *Counts) { k.InDoubt++ })
		case StateFailed:
			sum.add(row.Channel(), func(k *Counts) { k.Failed++ })
		case StateScheduled:
			sum.add(row.Channel(), func(k *Counts) { k.Scheduled++ })
			if sum.NextDue.IsZero() || row.SendAt.Before(sum.NextDue) {
				sum.NextDue = row.SendAt
			}
		}
	}, func(row *Row) bool {
		select {
		case jobs <- row:
			return true
		case <-ctx.Done():
			return false
		}
	}, &sum.Invalid)
	close(jobs)
	wg.Wait()
	if skipErr == nil {
		skipErr = flushSkips()
	}
	if ctx.Err() != nil {
		sum.Cancelled = true
	}
	return sum, errors.Join(feedErr, skipErr)
}

// retryable says whether an in-doubt or failed row is sent again in this
// run: in-doubt ones only with --retry-in-doubt, failed ones when the last
// failure was temporary or with --retry-failed, and both only when due.
func retryable(row *Row, now time.Time, opts SendOptions) bool {
	if len(row.Candidates) == 0 || row.SendAt.After(now) {
		return false
	}
	switch row.State {
	case StateInDoubt:
		return opts.RetryInDoubt
	case StateFailed:
		return row.Outcome.Temporary || opts.RetryFailed
	}
	return false
}

// feed streams the audience, plans each row (on every core) and hands
// sendable rows to send in file order; the rest are counted through note.
func feed(ctx context.Context, p *Planner, c *Campaign, opts SendOptions, note func(*Row), send func(*Row) bool, invalid *int) error {
	r, err := audience.Open(c.Audience, audience.Options{KnownChannels: p.Config.ChannelNames()})
	if err != nil {
		return err
	}
	defer r.Close()
	started := 0
	errStop := errors.New("stop feeding")
	err = eachRow(ctx, r, func(rec *audience.Recipient) *Row {
		if !opts.Shard.Has(rec.ID) {
			return nil
		}
		row := p.Plan(rec)
		if retryable(row, p.Now, opts) {
			row.State = StateDue
		}
		return row
	}, func(_ *audience.Recipient, row *Row, rowErr error) error {
		if rowErr != nil {
			*invalid++
			if opts.Invalid != nil {
				opts.Invalid(rowErr)
			}
			return nil
		}
		if row == nil {
			return nil // another shard's
		}
		if row.State != StateDue || (opts.Limit > 0 && started >= opts.Limit) {
			if row.State == StateDue {
				row.State = StateScheduled // left for the next run by --limit
			}
			note(row)
			return nil
		}
		started++
		if !send(row) {
			return errStop
		}
		return nil
	})
	if errors.Is(err, errStop) || errors.Is(err, context.Canceled) {
		return nil // interrupted: the summary says so
	}
	return err
}

// prepass reads the whole audience once before anything is sent: invalid
// rows stop the send (unless --skip-invalid) and so does a message that does
// not render for a recipient who is due now. Rows are planned and rendered
// on every core; nothing rendered is kept.
func prepass(ctx context.Context, p *Planner, c *Campaign, opts SendOptions) error {
	r, err := audience.Open(c.Audience, audience.Options{KnownChannels: p.Config.ChannelNames()})
	if err != nil {
		return err
	}
	defer r.Close()
	problems := &InvalidRowsError{}
	err = eachRow(ctx, r, func(rec *audience.Recipient) []error {
		if !opts.Shard.Has(rec.ID) {
			return nil
		}
		row := p.Plan(rec)
		if row.State != StateDue && !retryable(row, p.Now, opts) {
			return nil
		}
		var errs []error
		for _, cand := range row.Candidates {
			if _, err := p.Message(row, cand); err != nil {
				errs = append(errs, fmt.Errorf("%s:%d: recipient %q, channel %s: %w", c.Audience, rec.Line, rec.ID, cand.Channel.Name, err))
			}
		}
		return errs
	}, func(_ *audience.Recipient, errs []error, rowErr error) error {
		if rowErr != nil {
			if !opts.SkipInvalid {
				problems.add(rowErr)
			}
			return nil
		}
		for _, e := range errs {
			problems.add(e)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if problems.Total > 0 {
		return problems
	}
	return nil
}

// deliver sends one row: the chosen channel, then each fallback after a
// failure, journalling an attempt before every provider call and its
// outcome after it.
func deliver(ctx context.Context, p *Planner, j *Journal, row *Row, opts SendOptions, count func(func(*Summary))) {
	attempt := row.Outcome.Attempts
	for i, cand := range row.Candidates {
		attempt++
		ev := Event{Recipient: row.Recipient.ID, Channel: cand.Channel.Name, Address: cand.Address, Attempt: attempt}
		entry := Entry{Campaign: p.Campaign.Name, Recipient: row.Recipient.ID, Channel: cand.Channel.Name, Address: cand.Address, Locale: row.Locale, Attempt: attempt}
		msg, err := p.Message(row, cand)
		if err == nil && opts.DryRun {
			if chk, ok := channels.Unwrap(cand.Channel.Sender).(channels.Checker); ok {
				for _, prob := range chk.Check(msg) {
					if prob.Severity == "error" {
						err = channels.PermanentError(errors.New(prob.Message))
						break
					}
				}
			}
			if err == nil {
				ev.Status = "dry-run"
				report(opts, ev)
				count(func(s *Summary) { s.add(cand.Channel.Name, func(k *Counts) { k.DryRun++ }) })
				return
			}
		}
		var rc channels.Receipt
		if err == nil {
			entry.Status, entry.Time = StatusAttempt, opts.Now()
			if jerr := j.Append(entry); jerr != nil {
				// Without a durable attempt we must not send: stop here.
				ev.Status, ev.Err = "failed", fmt.Errorf("journal: %w", jerr)
				report(opts, ev)
				count(func(s *Summary) { s.add(cand.Channel.Name, func(k *Counts) { k.Failed++ }) })
				return
			}
			rc, err = cand.Channel.Decorated.Send(ctx, msg)
		} else {
			err = channels.PermanentError(err) // a template that does not render will not render on retry
		}
		if err == nil {
			entry.Status, entry.Time, entry.ProviderID, entry.MessageID = StatusSent, opts.Now(), rc.ProviderID, rc.MessageID
			if jerr := j.Append(entry); jerr != nil {
				ev.Status, ev.Err = "failed", fmt.Errorf("sent, but the journal could not record it (the recipient is in doubt): %w", jerr)
				report(opts, ev)
				count(func(s *Summary) { s.add(cand.Channel.Name, func(k *Counts) { k.InDoubt++ }) })
				return
			}
			ev.Status = "sent"
			report(opts, ev)
			count(func(s *Summary) {
				s.add(cand.Channel.Name, func(k *Counts) {
					k.Sent++
					if i > 0 {
						k.Fallback++
					}
				})
			})
			return
		}
		entry.Status, entry.Time, entry.Error = StatusFailed, opts.Now(), err.Error()
		entry.Temporary = !channels.IsPermanent(err)
		if !opts.DryRun {
			if jerr := j.Append(entry); jerr != nil {
				err = errors.Join(err, jerr)
			}
		}
		ev.Err = err
		ev.Status = "failed"
		if i+1 < len(row.Candidates) {
			ev.Status = "fallback"
		}
		report(opts, ev)
		if ev.Status == "failed" {
			count(func(s *Summary) { s.add(cand.Channel.Name, func(k *Counts) { k.Failed++ }) })
		}
		if ctx.Err() != nil {
			return // interrupted: the rest is for the next run
		}
	}
}

func report(opts SendOptions, ev Event) {
	if opts.Report != nil {
		opts.Report(ev)
	}
}

// spoolStdin copies standard input to a temporary file when the audience
// is "-": send reads the audience twice (validation, then sending).
func spoolStdin(path string) (string, func(), error) {
	if path != "-" {
		return path, func() {}, nil
	}
	f, err := os.CreateTemp("", "herald-audience-*.csv")
	if err != nil {
		return "", nil, err
	}
	if _, err := io.Copy(f, os.Stdin); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", nil, fmt.Errorf("reading the audience from standard input: %w", err)
	}
	f.Close()
	return f.Name(), func() { os.Remove(f.Name()) }, nil
}
