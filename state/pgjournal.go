package state

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// pgJournal is a send run's journal on the shared database. Attempts are
// claims: each batch of attempts (group commit, as with files) is one
// transaction that re-reads the suppressions of the batch's addresses, the
// sends of its recipients in the frequency window, claims the rest with one
// INSERT ... ON CONFLICT ... RETURNING, and appends the journal rows. What
// other senders appended since the last batch is read in the same
// transaction, so the index stays current.
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
		_, err = insertJournal(ctx, tx, dead)
		return err
	})
}

// txRetry runs fn in a transaction, again when PostgreSQL aborted it for a
// deadlock or a serialization failure (two senders' batches locking the
// same claims in different orders): the transaction wrote nothing, so
// running it again is safe.
func (p *Postgres) txRetry(ctx context.Context, fn func(pgx.Tx) error) error {
	var err error
	for try := 0; try < 8; try++ {
		err = p.tx(ctx, fn)
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

func (j *pgJournal) write(batch []*pending) error {
	var others []journalRow
	var own []int64
	err := j.p.txRetry(context.Background(), func(tx pgx.Tx) error {
		ctx := context.Background()
		others = others[:0]
		for _, p := range batch {
			p.err = nil
		}
		if err := j.claim(ctx, tx, batch); err != nil {
			return err
		}
		entries := make([]Entry, 0, len(batch))
		for _, p := range batch {
			if p.err == nil {
				entries = append(entries, p.e)
			}
		}
		b := &pgx.Batch{}
		j.closeClaims(b, batch)
		var err error
		own, err = insertJournalAfter(ctx, tx, b, entries, j.cursorLast(), func(id int64, e Entry) { others = append(others, journalRow{id, e}) })
		return err
	})
	if err != nil {
		return &WriteError{What: "journal", Err: err}
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

func (j *pgJournal) cursorLast() int64 {
	j.mu.RLock()
	defer j.mu.RUnlock()
	return j.cur.last
}

// claim judges the batch's attempts: suppressed since the run loaded the
// list, over the frequency limit, or claimed by another sender; the rest
// become this worker's claims.
func (j *pgJournal) claim(ctx context.Context, tx pgx.Tx, batch []*pending) error {
	var attempts []*pending
	byRecipient := map[string]bool{}
	for _, p := range batch {
		if p.e.Status != StatusAttempt {
			continue
		}
		if byRecipient[p.e.Recipient] {
			p.err = ErrClaimed // the same id twice in the audience
			continue
		}
		byRecipient[p.e.Recipient] = true
		attempts = append(attempts, p)
	}
	if len(attempts) == 0 {
		return nil
	}
	// Suppressions recorded by any host up to this moment, and the sends
	// of any campaign, by any sender, in the frequency window: one round
	// trip.
	keys := make([]string, len(attempts))
	ids := make([]string, len(attempts))
	for i, p := range attempts {
		keys[i] = NormalizeAddress(p.e.Address)
		ids[i] = p.e.Recipient
	}
	b := &pgx.Batch{}
	b.Queue("SELECT address_key, channel FROM suppressions WHERE address_key = ANY($1)", keys)
	f := j.opts.Frequency
	if f.Count > 0 {
		b.Queue(`SELECT recipient, count(*) FROM journal
			WHERE status = 'sent' AND recipient = ANY($1) AND time > $2 GROUP BY recipient`, ids, j.opts.Now().Add(-f.Per))
	}
	suppressed := map[[2]string]bool{}
	sent := map[string]int{}
	err := func() error {
		res := tx.SendBatch(ctx, b)
		defer res.Close()
		rows, err := res.Query()
		if err != nil {
			return err
		}
		for rows.Next() {
			var k [2]string
			if err := rows.Scan(&k[0], &k[1]); err != nil {
				rows.Close()
				return err
			}
			suppressed[k] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if f.Count > 0 {
			rows, err := res.Query()
			if err != nil {
				return err
			}
			for rows.Next() {
				var id string
				var n int
				if err := rows.Scan(&id, &n); err != nil {
					rows.Close()
					return err
				}
				sent[id] = n
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		return res.Close()
	}()
	if err != nil {
		return err
	}
	for i, p := range attempts {
		switch {
		case suppressed[[2]string{keys[i], p.e.Channel}] || suppressed[[2]string{keys[i], "all"}]:
			p.err = ErrSuppressed
		case f.Count > 0 && sent[p.e.Recipient] >= f.Count:
			p.err = ErrFrequency
		}
	}
	// Claims, in recipient order so that two senders lock rows alike.
	var want []*pending
	for _, p := range attempts {
		if p.err == nil {
			want = append(want, p)
		}
	}
	if len(want) == 0 {
		return nil
	}
	sort.Slice(want, func(a, b int) bool { return want[a].e.Recipient < want[b].e.Recipient })
	recs, chans, addrs, locs := make([]string, len(want)), make([]string, len(want)), make([]string, len(want)), make([]string, len(want))
	atts := make([]int32, len(want))
	for i, p := range want {
		recs[i], chans[i], addrs[i], locs[i], atts[i] = p.e.Recipient, p.e.Channel, p.e.Address, p.e.Locale, int32(p.e.Attempt)
	}
	// A recipient nobody claimed is claimed with ON CONFLICT DO NOTHING,
	// which locks no row another sender holds (so a loser never takes part
	// in a deadlock with the winner's outcomes).
	got := map[string]bool{}
	scan := func(rows pgx.Rows, err error) error {
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r string
			if err := rows.Scan(&r); err != nil {
				return err
			}
			got[r] = true
		}
		return rows.Err()
	}
	err = scan(tx.Query(ctx, `INSERT INTO claims (campaign, recipient, worker, claimed_at, state, attempt, channel, address, locale)
		SELECT $1, u.r, $2, now(), 'attempt', u.a, u.ch, u.ad, u.l
		FROM unnest($3::text[], $4::int[], $5::text[], $6::text[], $7::text[]) AS u(r, a, ch, ad, l)
		ON CONFLICT (campaign, recipient) DO NOTHING
		RETURNING recipient`, j.campaign, j.worker, recs, atts, chans, addrs, locs))
	if err != nil {
		return err
	}
	// A retry (attempt 2 or later: a temporary failure, --retry-failed,
	// --retry-in-doubt) takes over a claim that ended failed or in doubt at
	// a lower attempt number. Sent, or at "attempt" (a live sender's, or
	// one not yet swept), it stays.
	var rRecs, rChans, rAddrs, rLocs []string
	var rAtts []int32
	for i, r := range recs {
		if !got[r] && atts[i] > 1 {
			rRecs, rAtts = append(rRecs, r), append(rAtts, atts[i])
			rChans, rAddrs, rLocs = append(rChans, chans[i]), append(rAddrs, addrs[i]), append(rLocs, locs[i])
		}
	}
	if len(rRecs) > 0 {
		err = scan(tx.Query(ctx, `UPDATE claims AS c SET worker = $2, claimed_at = now(), state = 'attempt', attempt = u.a,
				channel = u.ch, address = u.ad, locale = u.l
			FROM unnest($3::text[], $4::int[], $5::text[], $6::text[], $7::text[]) AS u(r, a, ch, ad, l)
			WHERE c.campaign = $1 AND c.recipient = u.r AND c.state IN ('failed', 'in-doubt') AND c.attempt < u.a
			RETURNING c.recipient`, j.campaign, j.worker, rRecs, rAtts, rChans, rAddrs, rLocs))
		if err != nil {
			return err
		}
	}
	for _, p := range want {
		if !got[p.e.Recipient] {
			p.err = ErrClaimed
		}
	}
	return nil
}

// closeClaims queues the batch's outcomes into the claims (sent, failed
// or in doubt, unless another sender has claimed a later attempt
// meanwhile) on b, the journal's round trip.
func (j *pgJournal) closeClaims(b *pgx.Batch, batch []*pending) {
	last := map[string]*pending{}
	for _, p := range batch {
		if isOutcome(p.e.Status) && p.e.Campaign == j.campaign {
			last[p.e.Recipient] = p
		}
	}
	if len(last) == 0 {
		return
	}
	ps := make([]*pending, 0, len(last))
	for _, p := range last {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(a, b int) bool { return ps[a].e.Recipient < ps[b].e.Recipient })
	n := len(ps)
	recs, states, chans, addrs, locs := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	atts := make([]int32, n)
	for i, p := range ps {
		recs[i], states[i], chans[i], addrs[i], locs[i], atts[i] = p.e.Recipient, p.e.Status, p.e.Channel, p.e.Address, p.e.Locale, int32(p.e.Attempt)
	}
	b.Queue(`INSERT INTO claims AS c (campaign, recipient, worker, claimed_at, state, attempt, channel, address, locale)
		SELECT $1, u.r, $2, now(), u.s, u.a, u.ch, u.ad, u.l
		FROM unnest($3::text[], $4::text[], $5::int[], $6::text[], $7::text[], $8::text[]) AS u(r, s, a, ch, ad, l)
		ON CONFLICT (campaign, recipient) DO UPDATE SET state = excluded.state
		WHERE c.attempt <= excluded.attempt AND c.state <> 'sent'`, j.campaign, j.worker, recs, states, atts, chans, addrs, locs)
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

// Close stops the heartbeat and retires the worker. Claims it left at
// "attempt" (a call whose outcome could not be written) are then swept as
// in doubt by the next sender.
func (j *pgJournal) Close() error {
	var err error
	j.closeOnce.Do(func() {
		close(j.stop)
		j.beating.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err = j.p.pool.Exec(ctx, "DELETE FROM workers WHERE id = $1", j.worker)
		err = j.p.wrap(err)
	})
	return err
}
