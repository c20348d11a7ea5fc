package campaign

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"
	"time"

	"herald/audience"
	"herald/channels"
	"herald/state"
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
	// context is cancelled (SIGINT/SIGTERM) before they are cut off (and
	// journalled in doubt).
	Grace time.Duration
	// Report receives every outcome as it happens (progress bar, log lines).
	// It is called from several goroutines.
	Report func(Event)
	// Invalid receives every invalid audience row that is skipped.
	Invalid func(error)
}

// Event statuses beyond the journal's.
const (
	EventDryRun         = "dry-run"
	EventFallback       = "fallback"        // a failure followed by a try on the next channel
	EventChannelStopped = "channel-stopped" // the channel is unusable as configured
	EventReconciled     = "reconciled"      // in doubt, and the provider says it has the message
	EventWaiting        = "waiting"
)

// Event is one outcome of the send loop.
type Event struct {
	Recipient string
	Channel   string
	Address   string
	Status    string // a journal status (sent, failed, in-doubt) or an Event constant
	Attempt   int
	Err       error
}

// Counts are the numbers of one channel (or all) in a summary.
type Counts struct {
	Sent, Fallback, Failed, InDoubt, Skipped, Scheduled, AlreadySent, DryRun int
	// NotSent counts recipients left for the next run: their channel was
	// stopped by a configuration error, or the run was interrupted.
	NotSent int
}

// Summary is what a send did.
type Summary struct {
	ByChannel map[string]*Counts // "" holds the rows with no channel
	Totals    Counts
	Invalid   int
	NextDue   time.Time // earliest scheduled send left, zero if none
	Cancelled bool
	// Stopped holds the channels stopped because they are unusable as
	// configured (exit status 3), with the error that stopped each.
	Stopped map[string]error
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
// already have, each exactly once. It holds the campaign's send lock for
// the whole run (a second send of the campaign fails at once with a
// *state.LockedError). With Wait it stays until every scheduled message has
// been sent.
func Send(ctx context.Context, cfg *Config, c *Campaign, opts SendOptions) (*Summary, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Grace == 0 {
		opts.Grace = 10 * time.Second
	}
	if opts.DryRun {
		// A dry run writes nothing, so it needs no lock and may run beside
		// a real send.
		cfg.DryRun()
	} else {
		unlock, err := cfg.Store.LockCampaign(ctx, c.Name)
		if err != nil {
			return nil, err
		}
		defer unlock()
	}
	if c.Audience == "-" && (!opts.DryRun || opts.Wait) {
		// send reads the audience twice (validation, then sending), and
		// again on each pass of --wait; a dry run without --wait once.
		path, cleanup, err := audience.Spool(ctx, os.Stdin, maxStdinAudience)
		if err != nil {
			return nil, fmt.Errorf("reading the audience from standard input: %w", err)
		}
		defer cleanup()
		c2 := *c
		c2.Audience, c2.audienceName = path, "stdin"
		c = &c2
	}

	for {
		sum, err := sendPass(ctx, cfg, c, opts)
		if err != nil || !opts.Wait || sum.NextDue.IsZero() || sum.Cancelled || opts.Limit > 0 || len(sum.Stopped) > 0 {
			return sum, err
		}
		wait := time.Until(sum.NextDue)
		if opts.Report != nil {
			opts.Report(Event{Status: EventWaiting, Err: fmt.Errorf("next message due at %s", sum.NextDue.UTC().Format(time.RFC3339))})
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

// sendRun is one pass over the audience.
type sendRun struct {
	p       *planner
	journal state.Journal
	store   state.Store
	opts    SendOptions

	// feedCtx ends on a signal or when the run must stop (a journal write
	// failed): no new recipient or fallback is started after it.
	feedCtx context.Context
	halt    context.CancelCauseFunc
	// callCtx ends Grace after a signal: calls in flight may finish.
	callCtx context.Context

	mu      sync.Mutex
	sum     *Summary
	stopErr error // the first journal failure
}

func (r *sendRun) count(channel string, f func(*Counts)) {
	r.mu.Lock()
	r.sum.add(channel, f)
	r.mu.Unlock()
}

// stopped returns the error that stopped a channel, nil while it works.
func (r *sendRun) stopped(channel string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sum.Stopped[channel]
}

// stopChannel stops a channel for the rest of the run; the first error
// that stops it is kept.
func (r *sendRun) stopChannel(channel string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sum.Stopped[channel] == nil {
		r.sum.Stopped[channel] = err
	}
}

// fail stops the whole run after a journal write failed: without a durable
// attempt nothing may leave, and without a durable outcome nothing is known.
func (r *sendRun) fail(err error) {
	r.mu.Lock()
	if r.stopErr == nil {
		r.stopErr = err
	}
	r.mu.Unlock()
	r.halt(err)
}

func sendPass(ctx context.Context, cfg *Config, c *Campaign, opts SendOptions) (*Summary, error) {
	now := opts.Now()
	p, err := openPlanner(ctx, cfg, c, now)
	if err != nil {
		return nil, err
	}
	// Validate first: nothing is sent from a campaign whose audience or
	// templates fail for a recipient who would get a message now. A dry
	// run sends nothing, so it validates as it goes, in one pass over the
	// audience (see feed), and ends with the same error.
	if !opts.DryRun {
		if err := prepass(ctx, p, c, opts); err != nil {
			return nil, err
		}
	}
	var journal state.Journal
	if opts.DryRun {
		journal = dryJournal{p.journal}
	} else {
		jo := state.JournalOptions{RecentSince: recentSince(c, now), Now: opts.Now}
		if c.Frequency != nil {
			jo.Frequency = state.Frequency{Count: c.Frequency.Count, Per: c.Frequency.Per}
		}
		journal, err = cfg.Store.Journal(ctx, c.Name, jo)
		if err != nil {
			return nil, err
		}
	}
	p.journal = journal

	run := &sendRun{p: p, journal: journal, store: cfg.Store, opts: opts,
		sum: &Summary{ByChannel: map[string]*Counts{}, Stopped: map[string]error{}}}
	var cancelFeed context.CancelCauseFunc
	run.feedCtx, cancelFeed = context.WithCancelCause(ctx)
	defer cancelFeed(nil)
	run.halt = cancelFeed
	var cancelCalls context.CancelFunc
	run.callCtx, cancelCalls = context.WithCancel(context.WithoutCancel(ctx))
	defer cancelCalls()
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(opts.Grace, cancelCalls) })
	defer stop()

	// More workers than provider slots: each channel's gate bounds the
	// calls in flight, while the extra workers keep journal writes waiting
	// together, so one fsync covers the lines of many messages (group
	// commit) instead of one each.
	slots := 0
	for _, name := range c.Channels {
		ch, _ := cfg.Channel(name)
		slots += ch.Concurrency
	}
	workers := min(max(4*slots, 16), 64)
	jobs := make(chan *planRow)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for row := range jobs {
				run.deliver(row)
				row.Release()
			}
		}()
	}

	// Skips are journalled once per recipient (so report can count them),
	// in batches: a first run may skip a large part of an audience.
	var skips []state.Entry
	flushSkips := func() {
		if len(skips) > 0 {
			if err := journal.Record(ctx, skips...); err != nil {
				run.fail(err)
			}
		}
		skips = skips[:0]
	}
	problems := &InvalidRowsError{}
	feedErr := feed(run.feedCtx, p, c, opts, problems, func(row *planRow) {
		run.mu.Lock()
		defer run.mu.Unlock()
		sum := run.sum
		switch row.State {
		case StateSkipped:
			sum.add("", func(k *Counts) { k.Skipped++ })
			if !row.Outcome.Skipped {
				skips = append(skips, state.Entry{Time: opts.Now(), Campaign: c.Name, Recipient: row.Recipient.ID, Locale: row.Locale, Status: state.StatusSkipped, Error: row.Reason})
				if len(skips) >= 1000 {
					run.mu.Unlock()
					flushSkips()
					run.mu.Lock()
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
	}, func(row *planRow) bool {
		select {
		case jobs <- row:
			return true
		case <-run.feedCtx.Done():
			return false
		}
	}, &run.sum.Invalid)
	close(jobs)
	wg.Wait()
	flushSkips()
	// The outcomes not yet synced by a later attempt become durable here.
	if err := journal.Close(); err != nil {
		run.fail(err)
	}
	if ctx.Err() != nil {
		run.sum.Cancelled = true
	}
	if run.stopErr != nil {
		return run.sum, run.stopErr
	}
	if feedErr == nil && problems.Total > 0 {
		return nil, problems
	}
	return run.sum, feedErr
}

// dryJournal is the journal of a dry run: it answers from the loaded index
// and writes nothing, so a later real send is not affected.
type dryJournal struct{ journalView }

func (dryJournal) Attempt(context.Context, state.Entry) error   { return nil }
func (dryJournal) Record(context.Context, ...state.Entry) error { return nil }
func (dryJournal) Close() error                                 { return nil }

// retryable says whether an in-doubt or failed row is sent again in this
// run: in-doubt ones only with --retry-in-doubt, failed ones when the last
// failure was temporary or with --retry-failed, and both only when due.
func retryable(row *planRow, now time.Time, opts SendOptions) bool {
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
//
// In a dry run feed also does prepass's work, so the audience is read and
// each message rendered once: every due row's messages are rendered where
// the row is planned (the first candidate's kept for deliver, the
// fallbacks' into a discarding writer), and invalid rows and messages
// that do not render go to problems instead of being sent. The run then
// ends with prepass's error; only what it reported before stays.
func feed(ctx context.Context, p *planner, c *Campaign, opts SendOptions, problems *InvalidRowsError, note func(*planRow), send func(*planRow) bool, invalid *int) error {
	r, err := audience.OpenContext(ctx, c.Audience, c.AudienceOptions(p.Config.ChannelNames()))
	if err != nil {
		return err
	}
	defer r.Close()
	started := 0
	errStop := errors.New("stop feeding")
	err = eachRow(ctx, r, func(rec *audience.Recipient) *planRow {
		if !opts.Shard.Has(rec.ID) {
			return nil
		}
		row := p.Plan(rec)
		if retryable(row, p.Now, opts) {
			row.State = StateDue
		}
		if opts.DryRun && row.State == StateDue {
			validateRow(p, c, row)
		}
		return row
	}, func(_ *audience.Recipient, row *planRow, rowErr error) error {
		if rowErr != nil {
			if opts.DryRun && !opts.SkipInvalid {
				problems.add(rowErr)
				return nil
			}
			*invalid++
			if opts.Invalid != nil {
				opts.Invalid(rowErr)
			}
			return nil
		}
		if row != nil && row.problems != nil {
			for _, e := range row.problems {
				problems.add(e)
			}
			row.Release()
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
// not render for a recipient who is due now. Rows are planned and their
// templates run on every core, into a discarding writer: the pass proves
// each message renders without building it (see Planner.Validate), and
// the send pass builds each message once.
func prepass(ctx context.Context, p *planner, c *Campaign, opts SendOptions) error {
	r, err := audience.OpenContext(ctx, c.Audience, c.AudienceOptions(p.Config.ChannelNames()))
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
		defer row.Release()
		var errs []error
		for _, cand := range row.Candidates {
			if err := p.Validate(row, cand); err != nil {
				errs = append(errs, renderProblem(c, row, cand, err))
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

func renderProblem(c *Campaign, row *planRow, cand candidate, err error) error {
	return fmt.Errorf("%s:%d: recipient %q, channel %s: %w", c.Audience, row.Recipient.Line, row.Recipient.ID, cand.Channel.Name, err)
}

// validateRow renders a due row's messages for a dry run's single pass:
// the first candidate's is kept for deliver, the fallbacks' are dropped.
func validateRow(p *planner, c *Campaign, row *planRow) {
	for i, cand := range row.Candidates {
		var err error
		if i == 0 {
			var msg channels.Message
			if msg, err = p.Message(row, cand); err == nil {
				row.first = &msg
			}
		} else {
			err = p.Validate(row, cand)
		}
		if err != nil {
			row.problems = append(row.problems, renderProblem(c, row, cand, err))
		}
	}
}

// deliver sends one row: the chosen channel, then each fallback after a
// failure that proves the message was not accepted. Each provider call
// holds its channel's gate while its attempt is made durable and the call
// runs; the outcome is journalled after the gate is released.
func (r *sendRun) deliver(row *planRow) {
	p, opts := r.p, r.opts
	attempt := row.Outcome.Attempts
	for i, cand := range row.Candidates {
		ch := cand.Channel
		last := i+1 == len(row.Candidates)
		ev := Event{Recipient: row.Recipient.ID, Channel: ch.Name, Address: cand.Address, Attempt: attempt + 1}
		if r.stopped(ch.Name) != nil {
			// The channel is unusable as configured: the recipient stays
			// unsent for a plain rerun after the fix.
			r.count(ch.Name, func(k *Counts) { k.NotSent++ })
			return
		}
		entry := state.Entry{Campaign: p.Campaign.Name, Recipient: row.Recipient.ID, Channel: ch.Name, Address: cand.Address, Locale: row.Locale}
		var msg channels.Message
		var err error
		if i == 0 && row.first != nil {
			msg, row.first = *row.first, nil
		} else {
			msg, err = p.Message(row, cand)
		}
		if err != nil {
			// A template that does not render will not render on retry.
			err = channels.PermanentError(err)
		} else {
			err = channels.CheckError(ch.Sender, msg)
		}
		if err != nil {
			// Refused before any call: journalled as a failure, never sent.
			entry.Status, entry.Time, entry.Error, entry.Attempt = state.StatusFailed, opts.Now(), err.Error(), attempt
			if !r.record(entry) {
				return
			}
			if !r.failed(ev, err, last) {
				return
			}
			continue
		}
		if row.Outcome.InDoubt && i == 0 {
			if done := r.reconcile(row, cand, msg, entry, ev); done {
				return
			}
		}
		leave, err := ch.Gate.Enter(r.feedCtx)
		if err != nil {
			r.count(ch.Name, func(k *Counts) { k.NotSent++ })
			return // interrupted or halted before the call: nothing left
		}
		if r.stopped(ch.Name) != nil {
			// Stopped while this one waited for its pass.
			leave()
			r.count(ch.Name, func(k *Counts) { k.NotSent++ })
			return
		}
		attempt++
		entry.Attempt, ev.Attempt = attempt, attempt
		entry.Status, entry.Time = state.StatusAttempt, opts.Now()
		if err := r.journal.Attempt(r.feedCtx, entry); err != nil {
			leave()
			switch {
			case errors.Is(err, state.ErrFrequency):
				// Another campaign reached this recipient meanwhile.
				entry.Status, entry.Error = state.StatusSkipped, ReasonFrequency
				r.record(entry)
				r.count("", func(k *Counts) { k.Skipped++ })
				return
			case errors.Is(err, state.ErrClaimed):
				// Another sender (a shared store) has this one.
				r.count(ch.Name, func(k *Counts) { k.AlreadySent++ })
				return
			case errors.Is(err, state.ErrSuppressed):
				// A STOP arrived while the run was going: honour it, and
				// try the next channel.
				entry.Status, entry.Error = state.StatusSkipped, ReasonSuppressed
				r.record(entry)
				if last {
					r.count("", func(k *Counts) { k.Skipped++ })
					return
				}
				continue
			}
			// Without a durable attempt nothing may leave: stop the run.
			r.fail(err)
			r.count(ch.Name, func(k *Counts) { k.NotSent++ })
			return
		}
		release, err := ch.Gate.Acquire(r.feedCtx)
		if err == nil && r.stopped(ch.Name) != nil {
			release()
			err = r.stopped(ch.Name)
		}
		if err != nil {
			// Interrupted, or the channel stopped, between the attempt and
			// the call: nothing left, so the attempt is closed as not sent
			// (a plain rerun sends it), not left in doubt.
			entry.Status, entry.Time, entry.Error = state.StatusSkipped, opts.Now(), "not sent: "+err.Error()
			r.record(entry)
			leave()
			r.count(ch.Name, func(k *Counts) { k.NotSent++ })
			return
		}
		rc, err := ch.Call.Send(r.callCtx, msg)
		if channels.ClassOf(err) == channels.Channel {
			// Stopped before the slot is free: no later call starts, so
			// at most `concurrency` calls meet a refusing provider.
			r.stopChannel(ch.Name, err)
		}
		release()
		if !r.outcome(row, i, cand, entry, ev, rc, err, last, leave) {
			return
		}
	}
}

// outcome journals what a provider call did and reports whether the next
// fallback is to be tried. leave is called once the outcome is durable (or
// cannot be written): until then the recipient counts against the
// channel's in-doubt bound.
func (r *sendRun) outcome(row *planRow, i int, cand candidate, entry state.Entry, ev Event, rc channels.Receipt, err error, last bool, leave func()) bool {
	defer leave()
	opts, ch := r.opts, cand.Channel
	if err == nil {
		entry.Status, entry.Time, entry.ProviderID, entry.MessageID = state.StatusSent, opts.Now(), rc.ProviderID, rc.MessageID
		if opts.DryRun {
			ev.Status = EventDryRun
			report(opts, ev)
			r.count(ch.Name, func(k *Counts) { k.DryRun++ })
			return false
		}
		if !r.record(entry) {
			ev.Status, ev.Err = state.StatusInDoubt, errors.New("sent, but the journal could not record it")
			report(opts, ev)
			r.count(ch.Name, func(k *Counts) { k.InDoubt++ })
			return false
		}
		ev.Status = state.StatusSent
		report(opts, ev)
		r.count(ch.Name, func(k *Counts) {
			k.Sent++
			if i > 0 {
				k.Fallback++
			}
		})
		return false
	}
	entry.Time, entry.Error = opts.Now(), err.Error()
	switch channels.ClassOf(err) {
	case channels.Unknown:
		// The provider may have the message: never resent blindly,
		// never handed to a fallback (that could deliver it twice).
		entry.Status = state.StatusInDoubt
		r.record(entry)
		ev.Status, ev.Err = state.StatusInDoubt, err
		report(opts, ev)
		r.count(ch.Name, func(k *Counts) { k.InDoubt++ })
		return false
	case channels.Channel:
		// Nothing on this channel can work until the configuration is
		// fixed: the attempt is closed as not sent (not failed), so a
		// plain rerun sends it, and the channel stops here.
		entry.Status, entry.Error = state.StatusSkipped, "not sent, channel stopped: "+err.Error()
		r.record(entry)
		if r.stopped(ch.Name) == err { // this call's refusal stopped it: say so once
			ev.Status, ev.Err = EventChannelStopped, err
			report(opts, ev)
		}
		r.count(ch.Name, func(k *Counts) { k.NotSent++ })
		return false
	}
	entry.Status, entry.Temporary = state.StatusFailed, channels.ClassOf(err) == channels.Temporary
	if !r.record(entry) {
		return false
	}
	if channels.IsProviderOptOut(err) {
		r.suppress(cand, err)
	}
	return r.failed(ev, err, last)
}

// failed reports a failure and reports whether the next fallback may be
// tried.
func (r *sendRun) failed(ev Event, err error, last bool) bool {
	ev.Err, ev.Status = err, state.StatusFailed
	if !last {
		ev.Status = EventFallback
	}
	report(r.opts, ev)
	if last {
		r.count(ev.Channel, func(k *Counts) { k.Failed++ })
		return false
	}
	return r.feedCtx.Err() == nil
}

// record journals an outcome; a failed write stops the run.
func (r *sendRun) record(e state.Entry) bool {
	if err := r.journal.Record(r.callCtx, e); err != nil {
		r.fail(err)
		return false
	}
	return true
}

// suppress records that the provider says the customer opted out or
// blocked herald on this channel.
func (r *sendRun) suppress(cand candidate, cause error) {
	if r.opts.DryRun {
		return
	}
	_, err := r.store.AddSuppression(r.callCtx, state.Suppression{
		Address: cand.Address, Channel: cand.Channel.Name, Reason: cause.Error(),
		AddedAt: r.opts.Now(), Source: state.SourceProvider,
	})
	if err != nil {
		r.fail(err)
	}
}

// reconcile asks a provider that can tell whether it already accepted an
// in-doubt message (SPEC 3, --retry-in-doubt); when it did, the message is
// journalled as sent and not sent again. done is true when the row needs
// nothing more.
func (r *sendRun) reconcile(row *planRow, cand candidate, msg channels.Message, entry state.Entry, ev Event) (done bool) {
	rec, ok := channels.Unwrap(cand.Channel.Sender).(channels.Reconciler)
	if !ok || r.opts.DryRun {
		return false
	}
	since := r.opts.Now().Add(-reconcileWindow)
	rc, found, err := rec.Reconcile(r.callCtx, msg, since)
	if err != nil {
		ev.Status, ev.Err = state.StatusInDoubt, fmt.Errorf("asking the provider whether it has the message: %w (left in doubt)", err)
		report(r.opts, ev)
		r.count(cand.Channel.Name, func(k *Counts) { k.InDoubt++ })
		return true
	}
	if !found {
		return false
	}
	entry.Status, entry.Time, entry.ProviderID, entry.MessageID = state.StatusSent, r.opts.Now(), rc.ProviderID, rc.MessageID
	entry.Attempt = row.Outcome.Attempts
	entry.Error = "reconciled: the provider already had the message"
	if !r.record(entry) {
		return true
	}
	ev.Status = EventReconciled
	report(r.opts, ev)
	r.count(cand.Channel.Name, func(k *Counts) { k.AlreadySent++ })
	return true
}

// reconcileWindow is how far back a provider's message list is searched
// for an in-doubt message.
const reconcileWindow = 7 * 24 * time.Hour

func report(opts SendOptions, ev Event) {
	if opts.Report != nil {
		opts.Report(ev)
	}
}

// maxStdinAudience bounds an audience read from standard input: ten million
// rows of a wide export fit; an endless stream is refused, not spooled until
// the disk is full.
const maxStdinAudience = 4 << 30
