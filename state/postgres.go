package state

import (
	"context"
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Postgres is the shared store: every herald process on every host that
// names the same database shares one journal, one suppression list, one
// reply log and one unsubscribe key, and the senders of a campaign split
// its audience by claiming recipients (see pgJournal).
type Postgres struct {
	url   string // with the password, for pgx only
	shown string // without it, for messages
	opts  PostgresOptions

	pool *pgxpool.Pool

	initMu sync.Mutex
	ready  bool
}

// PostgresOptions tune the PostgreSQL store.
type PostgresOptions struct {
	// HeartbeatTimeout is how long a sender may go without a heartbeat
	// before its unfinished claims are judged killed (in doubt). Zero: the
	// environment's HERALD_HEARTBEAT_TIMEOUT, else 30s.
	HeartbeatTimeout time.Duration
}

var _ Store = (*Postgres)(nil)

//go:embed migrations/*.sql
var migrations embed.FS

// Advisory lock keys ("herald" in ASCII, then a purpose).
const (
	lockMigrate = int64(0x68657261_6c640001)
	lockReplies = int64(0x68657261_6c640003)
)

const defaultHeartbeatTimeout = 30 * time.Second

// DatabaseError is a failure to reach or use the database, naming it
// without its password.
type DatabaseError struct {
	Where string // the database, password hidden
	Err   error
}

func (e *DatabaseError) Error() string {
	return fmt.Sprintf("state database %s: %v", e.Where, e.Err)
}
func (e *DatabaseError) Unwrap() error { return e.Err }

// OpenPostgres returns the store of a postgres:// URL (sslmode and the
// other libpq parameters pass through). It does not connect: the first
// use does, and applies the schema's migrations.
func OpenPostgres(location string, opts PostgresOptions) (*Postgres, error) {
	shown := redactURL(location)
	cfg, err := pgxpool.ParseConfig(location)
	if err != nil {
		// pgx's parse errors quote the connection string; ours does not.
		return nil, &DatabaseError{Where: shown, Err: errors.New("not a valid postgres:// URL (see https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNSTRING)")}
	}
	if opts.HeartbeatTimeout == 0 {
		opts.HeartbeatTimeout = defaultHeartbeatTimeout
		if v := os.Getenv("HERALD_HEARTBEAT_TIMEOUT"); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return nil, fmt.Errorf("HERALD_HEARTBEAT_TIMEOUT=%q: want a duration such as 30s", v)
			}
			opts.HeartbeatTimeout = d
		}
	}
	if cfg.MaxConns < 8 {
		cfg.MaxConns = 8
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return nil, &DatabaseError{Where: shown, Err: err}
	}
	return &Postgres{url: location, shown: shown, opts: opts, pool: pool}, nil
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "postgres://(unparseable URL)"
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return strings.Replace(u.String(), "xxxxx", "***", -1)
}

// Describe names the store for messages, password hidden.
func (p *Postgres) Describe() string { return "state database " + p.shown }

// Close closes the connections.
func (p *Postgres) Close() error {
	p.pool.Close()
	return nil
}

func (p *Postgres) wrap(err error) error {
	if err == nil || errors.Is(err, context.Canceled) {
		return err
	}
	var de *DatabaseError
	if errors.As(err, &de) {
		return err
	}
	return &DatabaseError{Where: p.shown, Err: scrub(err, p.url)}
}

// scrub keeps a password that an error might quote out of it.
func scrub(err error, location string) error {
	u, perr := url.Parse(location)
	if perr != nil || u.User == nil {
		return err
	}
	pw, has := u.User.Password()
	msg := err.Error() // scrubbed of the password, not classified
	if !has || pw == "" || !strings.Contains(msg, pw) {
		return err
	}
	return &scrubbedError{msg: strings.ReplaceAll(msg, pw, "***"), err: err}
}

// scrubbedError shows a message with the password replaced and keeps the
// error beneath reachable for errors.As.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// init connects and applies the migrations once per process.
func (p *Postgres) init(ctx context.Context) error {
	p.initMu.Lock()
	defer p.initMu.Unlock()
	if p.ready {
		return nil
	}
	if err := p.migrate(ctx); err != nil {
		return p.wrap(err)
	}
	p.ready = true
	return nil
}

// migrate applies the embedded migrations not yet recorded in
// schema_migrations, in order, each in its own transaction, under a
// session advisory lock so that twenty senders starting at once apply them
// once.
func (p *Postgres) migrate(ctx context.Context) error {
	conn, err := p.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", lockMigrate); err != nil {
		return err
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", lockMigrate)
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return err
	}
	applied := map[int]bool{}
	rows, err := conn.Query(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return err
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return err
		}
		applied[v] = true
	}
	if err := rows.Err(); err != nil {
		return err
	}
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(files)
	for _, f := range files {
		name := strings.TrimPrefix(f, "migrations/")
		num, _, _ := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if err != nil {
			return fmt.Errorf("migration %s: the name must start with a number", name)
		}
		if applied[v] {
			continue
		}
		sql, err := migrations.ReadFile(f)
		if err != nil {
			return err
		}
		err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, string(sql)); err != nil {
				return fmt.Errorf("applying migration %s: %w", name, err)
			}
			_, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", v, name)
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// tx runs fn in a transaction after init.
func (p *Postgres) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	if err := p.init(ctx); err != nil {
		return err
	}
	return p.wrap(pgx.BeginFunc(ctx, p.pool, fn))
}

const entryColumns = "time, campaign, recipient, channel, address, locale, status, provider_id, message_id, error, attempt, temporary"

func scanEntry(rows pgx.Rows) (int64, Entry, error) {
	var e Entry
	var id int64
	var attempt int32
	err := rows.Scan(&id, &e.Time, &e.Campaign, &e.Recipient, &e.Channel, &e.Address, &e.Locale, &e.Status, &e.ProviderID, &e.MessageID, &e.Error, &attempt, &e.Temporary)
	e.Attempt = int(attempt)
	e.Time = e.Time.UTC()
	return id, e, err
}

// journalArrays holds entries column by column, as unnest takes them.
type journalArrays struct {
	times                                                    []time.Time
	camps, recs, chans, addrs, locs, stats, pids, mids, errs []string
	atts                                                     []int32
	temps                                                    []bool
}

func (a *journalArrays) add(e Entry) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	a.times = append(a.times, e.Time.UTC().Truncate(time.Millisecond))
	a.camps, a.recs, a.chans = append(a.camps, e.Campaign), append(a.recs, e.Recipient), append(a.chans, e.Channel)
	a.addrs, a.locs, a.stats = append(a.addrs, e.Address), append(a.locs, e.Locale), append(a.stats, e.Status)
	a.pids, a.mids, a.errs = append(a.pids, e.ProviderID), append(a.mids, e.MessageID), append(a.errs, e.Error)
	a.atts, a.temps = append(a.atts, int32(e.Attempt)), append(a.temps, e.Temporary)
}

func (a *journalArrays) len() int { return len(a.recs) }

// args are the arrays in entryColumns order.
func (a *journalArrays) args() []any {
	return []any{a.times, a.camps, a.recs, a.chans, a.addrs, a.locs, a.stats, a.pids, a.mids, a.errs, a.atts, a.temps}
}

// journalParams are the parameters of journalArrays.args from $first on,
// typed for unnest.
func journalParams(first int) string {
	types := []string{"timestamptz", "text", "text", "text", "text", "text", "text", "text", "text", "text", "int", "bool"}
	params := make([]string, len(types))
	for i, t := range types {
		params[i] = fmt.Sprintf("$%d::%s[]", first+i, t)
	}
	return strings.Join(params, ", ")
}

// A delivery status is journalled once per message (journal_status_once).
const journalOnce = "ON CONFLICT (channel, provider_id, status) WHERE status IN ('delivered', 'undelivered') AND provider_id <> '' DO NOTHING"

var insertJournalSQL = "INSERT INTO journal (" + entryColumns + ") SELECT * FROM unnest(" + journalParams(1) + ") " + journalOnce

// insertJournal appends entries inside tx.
func insertJournal(ctx context.Context, tx pgx.Tx, entries []Entry) error {
	var a journalArrays
	for _, e := range entries {
		a.add(e)
	}
	_, err := tx.Exec(ctx, insertJournalSQL, a.args()...)
	return err
}

// journalCursor follows the journal by id. Ids are handed out before
// commit, and no lock serializes the writers (that would serialize every
// sender's commit), so a lower id may become visible after a higher one:
// the cursor remembers the ids it took above the last id below which it
// has seen everything, keeps reading from there, and gives a gap up (a
// rolled back insert, or a repeated delivery status that consumed an id)
// after gapTimeout.
type journalCursor struct {
	last     int64          // every id <= last was taken or given up
	ahead    map[int64]bool // ids > last already taken
	gapSince time.Time      // when the gap after last was first seen
}

const gapTimeout = 3 * time.Second

// take reports whether id is new to the cursor, and marks it taken.
func (c *journalCursor) take(id int64) bool {
	if id <= c.last || c.ahead[id] {
		return false
	}
	if c.ahead == nil {
		c.ahead = map[int64]bool{}
	}
	c.ahead[id] = true
	return true
}

// settle moves last over the ids taken without a gap, and over a gap that
// has been open for gapTimeout.
func (c *journalCursor) settle(now time.Time) {
	for {
		for c.ahead[c.last+1] {
			delete(c.ahead, c.last+1)
			c.last++
		}
		if len(c.ahead) == 0 {
			c.gapSince = time.Time{}
			return
		}
		if c.gapSince.IsZero() {
			c.gapSince = now
		}
		if now.Sub(c.gapSince) < gapTimeout {
			return
		}
		next := int64(-1)
		for id := range c.ahead {
			if next < 0 || id < next {
				next = id
			}
		}
		c.last = next - 1
		c.gapSince = now
	}
}

// JournalFollower reads each journal entry once, as entries are committed
// by any host (replies serve attributes replies with it).
type JournalFollower struct {
	p   *Postgres
	cur journalCursor
}

// FollowJournal returns a follower that starts at the journal's beginning.
func (p *Postgres) FollowJournal() *JournalFollower { return &JournalFollower{p: p} }

// Read calls fn for every entry not read before, in id order.
func (f *JournalFollower) Read(ctx context.Context, fn func(Entry) error) error {
	err := f.p.readJournal(ctx, "id > $1", f.cur.last, func(id int64, e Entry) error {
		if !f.cur.take(id) {
			return nil
		}
		return fn(e)
	})
	f.cur.settle(time.Now())
	return err
}

// ReadJournal calls fn for every journal entry in order.
func (p *Postgres) ReadJournal(ctx context.Context, fn func(Entry) error) error {
	return p.readJournal(ctx, "", nil, func(_ int64, e Entry) error { return fn(e) })
}

// readJournal streams journal rows (where: an extra condition on $1).
func (p *Postgres) readJournal(ctx context.Context, where string, arg any, fn func(int64, Entry) error) error {
	if err := p.init(ctx); err != nil {
		return err
	}
	q := "SELECT id, " + entryColumns + " FROM journal"
	var args []any
	if where != "" {
		q += " WHERE " + where
		args = append(args, arg)
	}
	rows, err := p.pool.Query(ctx, q+" ORDER BY id", args...)
	if err != nil {
		return p.wrap(err)
	}
	defer rows.Close()
	for rows.Next() {
		id, e, err := scanEntry(rows)
		if err != nil {
			return p.wrap(err)
		}
		if err := fn(id, e); err != nil {
			return err
		}
	}
	return p.wrap(rows.Err())
}

// Index loads what the journal says about campaign, read-only.
func (p *Postgres) Index(ctx context.Context, campaign string, recentSince time.Time) (*Index, error) {
	ix := NewIndex(campaign, recentSince)
	_, err := p.loadIndex(ctx, ix, campaign, recentSince)
	return ix, err
}

// loadIndex fills ix with the campaign's rows and the recent sends of
// every campaign, and returns the last id read.
func (p *Postgres) loadIndex(ctx context.Context, ix *Index, campaign string, recentSince time.Time) (int64, error) {
	var last int64
	where := "campaign = $1"
	var arg any = campaign
	if !recentSince.IsZero() {
		// the frequency limit needs every campaign's sends in the window
		where = "(campaign = $1 OR (status = 'sent' AND time > $2))"
	}
	if err := p.init(ctx); err != nil {
		return 0, err
	}
	// The highest id first; the first batch reads on from there. A row
	// with a lower id still uncommitted at this moment is not seen: the
	// index only guides planning, while claims and the checks in the claim
	// transaction decide.
	if err := p.pool.QueryRow(ctx, "SELECT coalesce(max(id), 0) FROM journal").Scan(&last); err != nil {
		return 0, p.wrap(err)
	}
	q := "SELECT id, " + entryColumns + " FROM journal WHERE id <= $3 AND " + where + " ORDER BY id"
	args := []any{arg, recentSince, last}
	if recentSince.IsZero() {
		q = "SELECT id, " + entryColumns + " FROM journal WHERE id <= $2 AND " + where + " ORDER BY id"
		args = []any{arg, last}
	}
	rows, err := p.pool.Query(ctx, q, args...)
	if err != nil {
		return 0, p.wrap(err)
	}
	defer rows.Close()
	for rows.Next() {
		_, e, err := scanEntry(rows)
		if err != nil {
			return 0, p.wrap(err)
		}
		ix.Add(e)
	}
	return last, p.wrap(rows.Err())
}

// AppendJournal appends entries that belong to no send run.
func (p *Postgres) AppendJournal(ctx context.Context, entries ...Entry) error {
	if len(entries) == 0 {
		return nil
	}
	err := p.tx(ctx, func(tx pgx.Tx) error {
		return insertJournal(ctx, tx, entries)
	})
	if err != nil {
		return &WriteError{What: "journal", Err: err}
	}
	return nil
}

// Suppressions loads the suppression list.
func (p *Postgres) Suppressions(ctx context.Context) (*Suppressions, error) {
	if err := p.init(ctx); err != nil {
		return nil, err
	}
	rows, err := p.pool.Query(ctx, "SELECT address, channel, reason, added_at, source FROM suppressions ORDER BY id")
	if err != nil {
		return nil, p.wrap(err)
	}
	defer rows.Close()
	var list []Suppression
	for rows.Next() {
		var s Suppression
		if err := rows.Scan(&s.Address, &s.Channel, &s.Reason, &s.AddedAt, &s.Source); err != nil {
			return nil, p.wrap(err)
		}
		s.AddedAt = s.AddedAt.UTC()
		list = append(list, s)
	}
	if err := rows.Err(); err != nil {
		return nil, p.wrap(err)
	}
	return NewSuppressions(list), nil
}

// AddSuppression adds s unless the address is already suppressed on that
// channel: the unique constraint decides, whichever host asks.
func (p *Postgres) AddSuppression(ctx context.Context, s Suppression) (bool, error) {
	if s.Address == "" || s.Channel == "" {
		return false, fmt.Errorf("a suppression needs an address and a channel (or \"all\")")
	}
	if s.AddedAt.IsZero() {
		s.AddedAt = time.Now()
	}
	if err := p.init(ctx); err != nil {
		return false, err
	}
	tag, err := p.pool.Exec(ctx, `INSERT INTO suppressions (address, address_key, channel, reason, added_at, source)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (address_key, channel, source) DO NOTHING`,
		s.Address, NormalizeAddress(s.Address), s.Channel, s.Reason, s.AddedAt.UTC().Truncate(time.Second), s.Source)
	if err != nil {
		return false, &WriteError{What: "suppressions", Err: p.wrap(err)}
	}
	return tag.RowsAffected() == 1, nil
}

// RemoveSuppressions removes the rows of address on channel ("all": every
// channel) whose source is one of sources (none: any).
func (p *Postgres) RemoveSuppressions(ctx context.Context, address, channel string, sources ...string) (int, error) {
	if err := p.init(ctx); err != nil {
		return 0, err
	}
	tag, err := p.pool.Exec(ctx, `DELETE FROM suppressions WHERE address_key = $1
		AND ($2 = 'all' OR channel = $2) AND (cardinality($3::text[]) = 0 OR source = ANY($3))`,
		NormalizeAddress(address), channel, append([]string{}, sources...))
	if err != nil {
		return 0, &WriteError{What: "suppressions", Err: p.wrap(err)}
	}
	return int(tag.RowsAffected()), nil
}

// AppendReplies appends rows to the reply log. A row whose (channel,
// message_id) is already logged, by any replica, is not logged again.
func (p *Postgres) AppendReplies(ctx context.Context, rows ...Reply) error {
	_, err := p.AppendRepliesOnce(ctx, rows...)
	return err
}

// AppendRepliesOnce is AppendReplies that also says which rows were new
// (false: the same message was already logged).
func (p *Postgres) AppendRepliesOnce(ctx context.Context, rows ...Reply) ([]bool, error) {
	added := make([]bool, len(rows))
	if len(rows) == 0 {
		return added, nil
	}
	err := p.tx(ctx, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		// ids commit in order, so replies export --follow, reading rows
		// after the last id it wrote, misses none
		b.Queue("SELECT pg_advisory_xact_lock($1)", lockReplies)
		for _, r := range rows {
			at := r.ReceivedAt
			if at.IsZero() {
				at = time.Now()
			}
			b.Queue(`INSERT INTO replies (received_at, channel, from_address, recipient_id, campaign, message_id, in_reply_to, text, action)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (channel, message_id) WHERE message_id <> '' DO NOTHING`,
				at.UTC().Truncate(time.Second), r.Channel, r.From, r.RecipientID, r.Campaign, r.MessageID, r.InReplyTo, r.Text, r.Action)
		}
		res := tx.SendBatch(ctx, b)
		if _, err := res.Exec(); err != nil {
			res.Close()
			return err
		}
		for i := range rows {
			tag, err := res.Exec()
			if err != nil {
				res.Close()
				return err
			}
			added[i] = tag.RowsAffected() == 1
		}
		return res.Close()
	})
	if err != nil {
		return nil, &WriteError{What: "replies", Err: err}
	}
	return added, nil
}

// ReadReplies calls fn for every row of the reply log in order.
func (p *Postgres) ReadReplies(ctx context.Context, fn func(Reply) error) error {
	_, err := p.ReadRepliesAfter(ctx, 0, fn)
	return err
}

// ReadRepliesAfter calls fn for every reply logged after the row with id
// after, in order, and returns the last id read (replies export --follow).
func (p *Postgres) ReadRepliesAfter(ctx context.Context, after int64, fn func(Reply) error) (int64, error) {
	if err := p.init(ctx); err != nil {
		return after, err
	}
	rows, err := p.pool.Query(ctx, `SELECT id, received_at, channel, from_address, recipient_id, campaign, message_id, in_reply_to, text, action
		FROM replies WHERE id > $1 ORDER BY id`, after)
	if err != nil {
		return after, p.wrap(err)
	}
	defer rows.Close()
	for rows.Next() {
		var r Reply
		var id int64
		if err := rows.Scan(&id, &r.ReceivedAt, &r.Channel, &r.From, &r.RecipientID, &r.Campaign, &r.MessageID, &r.InReplyTo, &r.Text, &r.Action); err != nil {
			return after, p.wrap(err)
		}
		r.ReceivedAt = r.ReceivedAt.UTC()
		if err := fn(r); err != nil {
			return after, err
		}
		after = id
	}
	return after, p.wrap(rows.Err())
}

// UnsubscribeKey returns the one key of every host, created by whichever
// asks first (the primary key decides).
func (p *Postgres) UnsubscribeKey(ctx context.Context) ([]byte, error) {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("unsubscribe key: %w", err)
	}
	return p.setKey(ctx, key, false)
}

// setKey stores key as the unsubscribe key (replace: even when one
// exists, for state migrate) and returns the key in force.
func (p *Postgres) setKey(ctx context.Context, key []byte, replace bool) ([]byte, error) {
	if err := p.init(ctx); err != nil {
		return nil, err
	}
	conflict := "DO NOTHING"
	if replace {
		conflict = "DO UPDATE SET key = excluded.key, created_at = now()"
	}
	if _, err := p.pool.Exec(ctx, "INSERT INTO keys (name, key) VALUES ('unsubscribe', $1) ON CONFLICT (name) "+conflict, key); err != nil {
		return nil, p.wrap(err)
	}
	var got []byte
	if err := p.pool.QueryRow(ctx, "SELECT key FROM keys WHERE name = 'unsubscribe'").Scan(&got); err != nil {
		return nil, p.wrap(err)
	}
	if len(got) != KeySize {
		return nil, fmt.Errorf("unsubscribe key in %s holds %d bytes, want %d", p.Describe(), len(got), KeySize)
	}
	return got, nil
}

// LockCampaign takes nothing: on a shared database many senders of one
// campaign are the point, and claims keep each recipient one sender's.
func (p *Postgres) LockCampaign(ctx context.Context, campaign string) (func() error, error) {
	if err := p.init(ctx); err != nil {
		return nil, err
	}
	return func() error { return nil }, nil
}
