package state

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// pgJournal is a send run's journal on the shared database. Attempts are
// claims: each batch of entries (group commit, as with files) is one
// transaction sent in one round trip (see write), in which each attempt is
// judged against the suppressions and the frequency limit as they stand,
// claimed unless another sender holds its recipient, and journalled if
// claimed. What other senders appended since the last batch is read in the
// same round trip, so the index stays current.
type pgJournal struct {
	journalBatch // its mu also guards cur
	p            *Postgres
	campaign     string
	worker       string

	cur journalCursor // the journal rows the index has

	stop      chan struct{}
	beating   sync.WaitGroup
	closeOnce sync.Once
}

// Journal opens campaign's journal for a send run: it registers this
// process as a worker (with a heartbeat while the journal is open), turns
// the unfinished claims of workers whose heartbeat stopped into in-doubt
// entries, and loads the index.
func (p *Postgres) Journal(ctx context.Context, campaign string, opts JournalOptions) (Journal, error) {
	if err := p.init(ctx); err != nil {
		return nil, err
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	j := &pgJournal{p: p, campaign: campaign, worker: newWorkerID(), stop: make(chan struct{})}
	j.opts = opts
	host, _ := os.Hostname()
	if _, err := p.pool.Exec(ctx, `INSERT INTO workers (id, host, pid, campaign, started_at, seen_at) VALUES ($1, $2, $3, $4, now(), now())`,
		j.worker, host, os.Getpid(), campaign); err != nil {
		return nil, p.wrap(err)
	}
	if err := p.sweep(ctx); err != nil {
		return nil, err
	}
	j.ix = NewIndex(campaign, opts.RecentSince)
	last, err := p.loadIndex(ctx, j.ix, campaign, opts.RecentSince)
	if err != nil {
		return nil, err
	}
	j.cur.last = last
	j.commit.write = j.write
	j.beating.Add(1)
	go j.heartbeat()
	return j, nil
}

func newWorkerID() string {
	host, _ := os.Hostname()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))
}

// heartbeat tells the other senders this one is alive, and judges the
// others: every third of the timeout it refreshes seen_at and sweeps.
func (j *pgJournal) heartbeat() {
	defer j.beating.Done()
	t := time.NewTicker(j.p.opts.HeartbeatTimeout / 3)
	defer t.Stop()
	for {
		select {
		case <-j.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), j.p.opts.HeartbeatTimeout/2)
			_, _ = j.p.pool.Exec(ctx, "UPDATE workers SET seen_at = now() WHERE id = $1", j.worker)
			_ = j.p.sweep(ctx)
			cancel()
		}
	}
}

// sweep turns every claim still at "attempt" whose worker has sent no
// heartbeat within the timeout into an in-doubt entry (error "killed"):
// the process died mid-call, and SPEC 3's --retry-in-doubt rules apply.
func (p *Postgres) sweep(ctx context.Context) error {
	return p.txRetry(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `UPDATE claims c SET state = 'in-doubt'
			WHERE c.state = 'attempt' AND NOT EXISTS (
				SELECT 1 FROM workers w WHERE w.id = c.worker AND w.seen_at > now() - make_interval(secs => $1))
			RETURNING campaign, recipient, channel, address, locale, attempt`, p.opts.HeartbeatTimeout.Seconds())
		if err != nil {
			return err
		}
		var dead []Entry
		for rows.Next() {
			e := Entry{Status: StatusInDoubt, Error: InDoubtKilled, Time: time.Now()}
			var attempt int32
			if err := rows.Scan(&e.Campaign, &e.Recipient, &e.Channel, &e.Address, &e.Locale, &attempt); err != nil {
				rows.Close()
				return err
			}
			e.Attempt = int(attempt)
			dead = append(dead, e)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		// workers silent for a day have no claims left at "attempt" (swept
		// above): forget them
		if _, err := tx.Exec(ctx, "DELETE FROM workers WHERE seen_at < now() - interval '1 day'"); err != nil {
			return err
		}
		if len(dead) == 0 {
			return nil
		}
		return insertJournal(ctx, tx, dead)
	})
}

// txRetry runs fn in a transaction, again when PostgreSQL aborted it for a
// deadlock or a serialization failure.
func (p *Postgres) txRetry(ctx context.Context, fn func(pgx.Tx) error) error {
	return p.retry(func() error { return p.tx(ctx, fn) })
}

// retry runs a transaction again when PostgreSQL aborted it for a deadlock
// or a serialization failure (two senders' batches locking the same claims
// in different orders): the transaction wrote nothing, so running it again
// is safe.
func (p *Postgres) retry(run func() error) error {
	var err error
	for try := 0; try < 8; try++ {
		err = run()
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || (pe.Code != "40P01" && pe.Code != "40001") {
			return err
		}
		time.Sleep(time.Duration(try+1) * 5 * time.Millisecond)
	}
	return err
}

// isOutcome says whether a status closes a claim.
func isOutcome(status string) bool {
	return status == StatusSent || status == StatusFailed || status == StatusInDoubt
}

type journalRow struct {
	id int64
	e  Entry
}

// The statements of a batch, sent together in one pipeline: one round
// trip, one implicit transaction (the protocol's Sync commits it, or rolls
// it all back when a statement fails), one WAL flush.
const (
	// readSQL reads what any sender committed after the cursor, up to
	// readWindow ids on: the bound keeps the plan an index range scan
	// whatever the table's statistics say (a new table has none, and a
	// generic plan of "id > $1" alone guesses a third of the table, which
	// is a sequential scan of the whole journal in every batch). Rows
	// further on are read by the next batches.
	readSQL    = "SELECT id, " + entryColumns + " FROM journal WHERE id > $1 AND id <= $2 ORDER BY id"
	readWindow = 100_000

	// asyncCommitSQL lets a batch without attempts (outcomes, skips)
	// commit without waiting for its WAL flush, as the files store writes
	// outcome lines without a sync: the next batch's attempt commit
	// flushes the WAL up to it, and Close's commit does at the end. Other
	// senders may read it at once: whatever they then commit after it
	// flushes it too. A server crash can lose it, which leaves the claim
	// at "attempt" (in doubt), never sent twice. An attempt always waits
	// for its flush before its message leaves.
	asyncCommitSQL = "SELECT set_config('synchronous_commit', 'off', true)"

	// genericPlanSQL makes attemptSQL run its prepared plan: PostgreSQL
	// would otherwise plan it again at every batch (its estimates vary
	// with the arrays' lengths, so a plan for the batch at hand always
	// looks cheaper), which costs more than running it.
	genericPlanSQL = "SELECT set_config('plan_cache_mode', 'force_generic_plan', true)"
)

var (
	// recordSQL appends the batch's entries that are not attempts
	// (outcomes, skips) and writes its outcomes into the claims (sent,
	// failed or in doubt) unless another sender has claimed a later
	// attempt meanwhile ($3 to $8: the last outcome of each recipient of
	// the campaign, in recipient order so that two senders lock alike).
	recordSQL = `WITH closed AS (
		INSERT INTO claims AS c (campaign, recipient, worker, claimed_at, state, attempt, channel, address, locale)
		SELECT $1, u.r, $2, now(), u.s, u.a, u.ch, u.ad, u.l
		FROM unnest($3::text[], $4::text[], $5::int[], $6::text[], $7::text[], $8::text[]) AS u(r, s, a, ch, ad, l)
		ON CONFLICT (campaign, recipient) DO UPDATE SET state = excluded.state
		WHERE c.attempt <= excluded.attempt AND c.state <> 'sent'
	)
	INSERT INTO journal (` + entryColumns + `) SELECT * FROM unnest(` + journalParams(9) + `) ` + journalOnce + `
	RETURNING id`
)

// attemptSQL judges the batch's attempts, claims those it may, and
// journals those it claimed, in one statement. Each attempt is refused
// when its address is suppressed on its channel or on all ($17: the
// addresses as compared), or when its recipient has $3 sends of any
// campaign, by any sender, after $4 (the frequency window; $3 = 0: no
// limit). The others are claimed: a recipient nobody claimed by INSERT
// ... ON CONFLICT DO NOTHING, in recipient order so that two senders lock
// alike, which locks no row another sender holds (so a loser never takes
// part in a deadlock with the winner's outcomes); a retry (attempt 2 or
// later: a temporary failure, --retry-failed, --retry-in-doubt) by taking
// over a claim that ended failed or in doubt at a lower attempt number.
// Sent, or at "attempt" (a live sender's, or one not yet swept), a claim
// stays. It returns each attempt's verdict and, when claimed, its journal
// row's id, in batch order.
var attemptSQL = `WITH judged AS (
	SELECT a.*,
		CASE
		WHEN EXISTS (SELECT 1 FROM suppressions s
			WHERE s.address_key = a.address_key AND s.channel IN (a.channel, 'all')) THEN 'suppressed'
		WHEN $3 = 0 THEN NULL
		WHEN (SELECT count(*) FROM journal h
			WHERE h.status = 'sent' AND h.recipient = a.recipient AND h.time > $4) >= $3 THEN 'frequency'
		END AS refused
	FROM unnest(` + journalParams(5) + `, $17::text[]) WITH ORDINALITY
		AS a(time, campaign, recipient, channel, address, locale, status, provider_id, message_id, error, attempt, temporary, address_key, ord)
), fresh AS (
	INSERT INTO claims (campaign, recipient, worker, claimed_at, state, attempt, channel, address, locale)
	SELECT $1, recipient, $2, now(), 'attempt', attempt, channel, address, locale
	FROM judged WHERE refused IS NULL ORDER BY recipient
	ON CONFLICT (campaign, recipient) DO NOTHING
	RETURNING recipient
), retaken AS (
	UPDATE claims c SET worker = $2, claimed_at = now(), state = 'attempt', attempt = j.attempt,
		channel = j.channel, address = j.address, locale = j.locale
	FROM judged j
	WHERE j.refused IS NULL AND j.attempt > 1 AND c.campaign = $1 AND c.recipient = j.recipient
		AND c.state IN ('failed', 'in-doubt') AND c.attempt < j.attempt
	RETURNING c.recipient
), written AS (
	INSERT INTO journal (` + entryColumns + `)
	SELECT time, campaign, recipient, channel, address, locale, status, provider_id, message_id, error, attempt, temporary
	FROM judged WHERE recipient IN (SELECT recipient FROM fresh UNION ALL SELECT recipient FROM retaken)
	ORDER BY ord
	RETURNING id, recipient
)
SELECT coalesce(j.refused, CASE WHEN w.id IS NULL THEN 'lost' ELSE 'claimed' END), w.id
FROM judged j LEFT JOIN written w ON w.recipient = j.recipient
ORDER BY j.ord`

// write commits a batch in one round trip: it reads the rows other senders
// appended since the last batch, appends the entries that are not
// attempts and closes the claims of the outcomes (recordSQL), then judges
// and claims the attempts and journals those claimed (attemptSQL). An
// attempt refused or lost gets its error (ErrSuppressed, ErrFrequency,
// ErrClaimed) and no journal row. Within the batch the other entries come
// before the attempts: an outcome in the batch belongs to an attempt
// committed before it, and an attempt in the batch has no outcome yet.
func (j *pgJournal) write(batch []*pending) error {
	attempts := j.distinctAttempts(batch)
	var records journalArrays
	for _, p := range batch {
		if p.e.Status != StatusAttempt {
			records.add(p.e)
		}
	}
	var recordArgs, attemptArgs []any
	if records.len() > 0 {
		recordArgs = append(j.closeArgs(batch), records.args()...)
	}
	if len(attempts) > 0 {
		var a journalArrays
		keys := make([]string, len(attempts))
		for i, p := range attempts {
			a.add(p.e)
			keys[i] = NormalizeAddress(p.e.Address)
		}
		f := j.opts.Frequency
		var since time.Time
		if f.Count > 0 {
			since = j.opts.Now().Add(-f.Per)
		}
		attemptArgs = append([]any{j.campaign, j.worker, int32(max(f.Count, 0)), since}, a.args()...)
		attemptArgs = append(attemptArgs, keys)
	}

	var others []journalRow
	var own []int64
	err := j.p.retry(func() error {
		others, own = others[:0], own[:0]
		b := &pgx.Batch{}
		last := j.cursorLast()
		b.Queue(readSQL, last, last+readWindow)
		if attemptArgs == nil {
			b.Queue(asyncCommitSQL)
		}
		if recordArgs != nil {
			b.Queue(recordSQL, recordArgs...)
		}
		if attemptArgs != nil {
			b.Queue(genericPlanSQL)
			b.Queue(attemptSQL, attemptArgs...)
		}
		res := j.p.pool.SendBatch(context.Background(), b)
		defer res.Close()
		err := readRows(res, func(rows pgx.Rows) error {
			id, e, err := scanEntry(rows)
			others = append(others, journalRow{id, e})
			return err
		})
		if err == nil && attemptArgs == nil {
			_, err = res.Exec()
		}
		if err == nil && recordArgs != nil {
			err = readRows(res, func(rows pgx.Rows) error {
				var id int64
				err := rows.Scan(&id)
				own = append(own, id)
				return err
			})
		}
		if err == nil && attemptArgs != nil {
			_, err = res.Exec()
		}
		if err == nil && attemptArgs != nil {
			i := 0
			err = readRows(res, func(rows pgx.Rows) error {
				var verdict string
				var id *int64
				if err := rows.Scan(&verdict, &id); err != nil {
					return err
				}
				if i >= len(attempts) {
					return fmt.Errorf("more verdicts than the %d attempts", len(attempts))
				}
				verr, known := verdictErrors[verdict]
				if !known {
					return fmt.Errorf("unknown claim verdict %q", verdict)
				}
				attempts[i].err = verr
				if id != nil {
					own = append(own, *id)
				}
				i++
				return nil
			})
			if err == nil && i != len(attempts) {
				err = fmt.Errorf("%d verdicts for %d attempts", i, len(attempts))
			}
		}
		if err != nil {
			return err
		}
		return res.Close()
	})
	if err != nil {
		return &WriteError{What: "journal", Err: j.p.wrap(err)}
	}
	j.mu.Lock()
	for _, r := range others {
		if j.cur.take(r.id) {
			j.ix.Add(r.e)
		}
	}
	for _, id := range own {
		j.cur.take(id) // added to the index by add, once
	}
	j.cur.settle(time.Now())
	j.mu.Unlock()
	return nil
}

// verdictErrors are attemptSQL's verdicts as Attempt's errors.
var verdictErrors = map[string]error{"claimed": nil, "lost": ErrClaimed, "suppressed": ErrSuppressed, "frequency": ErrFrequency}

// readRows calls fn for each row of the batch's next result.
func readRows(res pgx.BatchResults, fn func(pgx.Rows) error) error {
	rows, err := res.Query()
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (j *pgJournal) cursorLast() int64 {
	j.mu.RLock()
	defer j.mu.RUnlock()
	return j.cur.last
}

// distinctAttempts returns the batch's attempts in batch order, but for a
// recipient already attempted earlier in the batch (the same id twice in
// the audience), which is refused as claimed.
func (j *pgJournal) distinctAttempts(batch []*pending) []*pending {
	var attempts []*pending
	for _, p := range batch {
		p.err = nil
		if p.e.Status == StatusAttempt {
			attempts = append(attempts, p)
		}
	}
	byRecipient := slices.Clone(attempts)
	slices.SortStableFunc(byRecipient, func(a, b *pending) int { return strings.Compare(a.e.Recipient, b.e.Recipient) })
	for i := 1; i < len(byRecipient); i++ {
		if byRecipient[i].e.Recipient == byRecipient[i-1].e.Recipient {
			byRecipient[i].err = ErrClaimed
		}
	}
	return slices.DeleteFunc(attempts, func(p *pending) bool { return p.err != nil })
}

// closeArgs are recordSQL's first arguments: the campaign, the worker and
// the batch's outcomes of the campaign, the last of each recipient, in
// recipient order.
func (j *pgJournal) closeArgs(batch []*pending) []any {
	var outcomes []*pending
	for _, p := range batch {
		if isOutcome(p.e.Status) && p.e.Campaign == j.campaign {
			outcomes = append(outcomes, p)
		}
	}
	slices.SortStableFunc(outcomes, func(a, b *pending) int { return strings.Compare(a.e.Recipient, b.e.Recipient) })
	n := len(outcomes)
	recs, states, chans, addrs, locs := make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]string, 0, n)
	atts := make([]int32, 0, n)
	for i, p := range outcomes {
		if i+1 < n && outcomes[i+1].e.Recipient == p.e.Recipient {
			continue // a later outcome of the same recipient follows
		}
		recs, states, chans = append(recs, p.e.Recipient), append(states, p.e.Status), append(chans, p.e.Channel)
		addrs, locs, atts = append(addrs, p.e.Address), append(locs, p.e.Locale), append(atts, int32(p.e.Attempt))
	}
	return []any{j.campaign, j.worker, recs, states, atts, chans, addrs, locs}
}

func (j *pgJournal) Attempt(ctx context.Context, e Entry) error {
	e.Status = StatusAttempt
	ps, err := j.add(e)
	if err != nil {
		return err
	}
	return ps[0].err
}

func (j *pgJournal) Record(ctx context.Context, entries ...Entry) error {
	_, err := j.add(entries...)
	return err
}

// Lookup answers from the index. An attempt with no outcome that no sweep
// has judged killed is another sender's call in flight (this run never
// looks up a recipient it is itself sending): the recipient is another
// sender's, and is answered as sent, which is how the send loop counts a
// claim it loses (ErrClaimed).
func (j *pgJournal) Lookup(id string) Outcome {
	j.mu.RLock()
	defer j.mu.RUnlock()
	if j.ix.openAttempt(id) {
		return Outcome{Sent: true, Attempts: j.ix.Lookup(id).Attempts}
	}
	return j.ix.Lookup(id)
}

func (j *pgJournal) SentSince(id string, t time.Time) int {
	j.mu.RLock()
	defer j.mu.RUnlock()
	return j.ix.SentSince(id, t)
}

// Close stops the heartbeat and retires the worker, in a transaction
// whose commit waits for the WAL flush, and so makes every outcome
// committed without waiting durable (txid_current gives it a commit
// record even if the worker's row is gone). Claims it left at "attempt"
// (a call whose outcome could not be written) are then swept as in doubt
// by the next sender.
func (j *pgJournal) Close() error {
	var err error
	j.closeOnce.Do(func() {
		close(j.stop)
		j.beating.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		b := &pgx.Batch{}
		b.Queue("SELECT txid_current()")
		b.Queue("DELETE FROM workers WHERE id = $1", j.worker)
		err = j.p.wrap(j.p.pool.SendBatch(ctx, b).Close())
	})
	return err
}
