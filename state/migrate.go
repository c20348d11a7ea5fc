package state

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
)

// MigrateSummary counts what Migrate copied.
type MigrateSummary struct {
	Journal, Suppressions, Replies int
	Key                            bool
}

// ErrTargetNotEmpty refuses a migration into a store that already has a
// journal: copying on top would mix two histories.
var ErrTargetNotEmpty = errors.New("the target already has journal entries")

// Migrate copies the journal, the suppressions (with their source), the
// reply log and the unsubscribe key from one store to another: a files
// state directory into PostgreSQL, or back. The target's journal must be
// empty. On PostgreSQL the claims are rebuilt from the copied journal, so
// a recipient sent before the move is never claimed again.
func Migrate(ctx context.Context, from, to Store) (MigrateSummary, error) {
	var sum MigrateSummary
	empty := true
	errStop := errors.New("stop")
	if err := to.ReadJournal(ctx, func(Entry) error { empty = false; return errStop }); err != nil && !errors.Is(err, errStop) {
		return sum, err
	}
	if !empty {
		return sum, fmt.Errorf("%s: %w; migrate into a new state directory or an empty database", to.Describe(), ErrTargetNotEmpty)
	}
	const chunk = 2000
	var entries []Entry
	flush := func() error {
		if len(entries) == 0 {
			return nil
		}
		err := to.AppendJournal(ctx, entries...)
		sum.Journal += len(entries)
		entries = entries[:0]
		return err
	}
	err := from.ReadJournal(ctx, func(e Entry) error {
		entries = append(entries, e)
		if len(entries) == chunk {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return sum, err
	}
	if p, ok := to.(*Postgres); ok {
		if err := p.rebuildClaims(ctx); err != nil {
			return sum, err
		}
	}
	supp, err := from.Suppressions(ctx)
	if err != nil {
		return sum, err
	}
	for _, s := range supp.rows {
		added, err := to.AddSuppression(ctx, s)
		if err != nil {
			return sum, err
		}
		if added {
			sum.Suppressions++
		}
	}
	var replies []Reply
	flushReplies := func() error {
		if len(replies) == 0 {
			return nil
		}
		err := to.AppendReplies(ctx, replies...)
		sum.Replies += len(replies)
		replies = replies[:0]
		return err
	}
	err = from.ReadReplies(ctx, func(r Reply) error {
		replies = append(replies, r)
		if len(replies) == chunk {
			return flushReplies()
		}
		return nil
	})
	if err == nil {
		err = flushReplies()
	}
	if err != nil {
		return sum, err
	}
	key, ok, err := existingKey(ctx, from)
	if err != nil || !ok {
		return sum, err
	}
	if err := setKey(ctx, to, key); err != nil {
		return sum, err
	}
	sum.Key = true
	return sum, nil
}

// existingKey returns the source's unsubscribe key without creating one.
func existingKey(ctx context.Context, st Store) ([]byte, bool, error) {
	switch s := st.(type) {
	case *Files:
		key, err := readKey(s.keyPath())
		if errors.Is(err, os.ErrNotExist) {
			return nil, false, nil
		}
		return key, err == nil, err
	case *Postgres:
		if err := s.init(ctx); err != nil {
			return nil, false, err
		}
		var key []byte
		err := s.pool.QueryRow(ctx, "SELECT key FROM keys WHERE name = 'unsubscribe'").Scan(&key)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, s.wrap(err)
		}
		return key, true, nil
	}
	key, err := st.UnsubscribeKey(ctx)
	return key, err == nil, err
}

// setKey makes key the target's unsubscribe key, so links already sent
// keep working after the move.
func setKey(ctx context.Context, st Store, key []byte) error {
	switch s := st.(type) {
	case *Files:
		if err := s.ensureDir(); err != nil {
			return err
		}
		return replaceFile(s.keyPath(), key)
	case *Postgres:
		_, err := s.setKey(ctx, key, true)
		return err
	}
	return fmt.Errorf("%s cannot take an unsubscribe key", st.Describe())
}

// rebuildClaims makes one claim per (campaign, recipient) the journal
// knows, in the state its last send event says (an attempt with no
// outcome: in doubt), so a recipient sent before the move is never
// claimed again.
func (p *Postgres) rebuildClaims(ctx context.Context) error {
	return p.tx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO claims (campaign, recipient, worker, claimed_at, state, attempt, channel, address, locale)
			SELECT DISTINCT ON (campaign, recipient) campaign, recipient, 'migrated', time,
				CASE WHEN bool_or(status = 'sent') OVER w THEN 'sent' WHEN status = 'attempt' THEN 'in-doubt' ELSE status END,
				max(attempt) OVER w, channel, address, locale
			FROM journal
			WHERE status IN ('attempt', 'sent', 'failed', 'in-doubt')
			WINDOW w AS (PARTITION BY campaign, recipient)
			ORDER BY campaign, recipient, id DESC
			ON CONFLICT (campaign, recipient) DO NOTHING`)
		return err
	})
}

// ExportReplies appends the reply log to the CSV file at path (the
// columns of replies.csv, header first in a new file), skipping the rows
// the file already has, so running it again (from cron) only appends what
// is new. With follow it keeps appending rows as they arrive, every
// interval, until ctx ends. It returns the number of rows appended.
func ExportReplies(ctx context.Context, st Store, path string, follow bool, interval time.Duration) (int, error) {
	have := 0
	if err := readRepliesFile(ctx, path, func(Reply) error { have++; return nil }); err != nil {
		return 0, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, fileMode)
	if err != nil {
		return 0, fmt.Errorf("replies export: %w", err)
	}
	defer f.Close()
	cw := csv.NewWriter(f)
	if info, err := f.Stat(); err == nil && info.Size() == 0 {
		_ = cw.Write(ReplyColumns)
	}
	n, seen := 0, 0
	write := func(r Reply) error {
		if seen++; seen <= have {
			return nil
		}
		n++
		return cw.Write(r.Record())
	}
	sync := func() error {
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
		return f.Sync()
	}
	p, ok := st.(*Postgres)
	if !ok {
		err := st.ReadReplies(ctx, write)
		if err == nil {
			err = sync()
		}
		return n, err
	}
	var last int64
	for {
		last, err = p.ReadRepliesAfter(ctx, last, write)
		if err == nil {
			err = sync()
		}
		if err != nil || !follow {
			if errors.Is(err, context.Canceled) {
				err = nil
			}
			return n, err
		}
		select {
		case <-ctx.Done():
			return n, nil
		case <-time.After(interval):
		}
	}
}
