package state

import (
	"errors"
	"testing"
	"time"

	"herald/state/pgtest"
)

// One claim batch that mixes every verdict gives each attempt its own, in
// batch order: a suppressed address (on its channel, and on all), a
// recipient over the frequency limit, one another sender holds, a retry
// taking over a failed claim, the same recipient twice, and plain wins;
// the batch's outcome closes its claim; only the attempts won are
// journalled, after the outcome.
func TestPostgresBatchVerdicts(t *testing.T) {
	u := pgtest.URL(t)
	a, err := OpenPostgres(u, PostgresOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := OpenPostgres(u, PostgresOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	now := time.Now()
	for _, s := range []Suppression{
		{Address: "stop@example.com", Channel: "email", Source: SourceKeyword},
		{Address: "+15550100", Channel: "all", Source: SourceOperator},
		{Address: "other@example.com", Channel: "sms"}, // another channel: no effect on e-mail
	} {
		if _, err := b.AddSuppression(bg, s); err != nil {
			t.Fatal(err)
		}
	}
	// another campaign sent to "busy" an hour ago
	if err := b.AppendJournal(bg, Entry{Time: now.Add(-time.Hour), Campaign: "other", Recipient: "busy", Channel: "email", Status: StatusSent, Attempt: 1}); err != nil {
		t.Fatal(err)
	}
	e := func(r, ch, addr string, attempt int) Entry {
		return Entry{Campaign: "c", Recipient: r, Channel: ch, Address: addr, Locale: "en", Status: StatusAttempt, Attempt: attempt}
	}
	// the other sender holds "held", and failed "again" at attempt 1
	jb, err := b.Journal(bg, "c", JournalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer jb.Close()
	for _, r := range []string{"held", "again"} {
		if err := jb.Attempt(bg, e(r, "email", r+"@example.com", 1)); err != nil {
			t.Fatal(err)
		}
	}
	failed := e("again", "email", "again@example.com", 1)
	failed.Status, failed.Temporary = StatusFailed, true
	if err := jb.Record(bg, failed); err != nil {
		t.Fatal(err)
	}

	opts := JournalOptions{Frequency: Frequency{Count: 1, Per: 24 * time.Hour}, RecentSince: now.Add(-24 * time.Hour)}
	jj, err := a.Journal(bg, "c", opts)
	if err != nil {
		t.Fatal(err)
	}
	defer jj.Close()
	ja := jj.(*pgJournal)
	if err := ja.Attempt(bg, e("done", "email", "done@example.com", 1)); err != nil {
		t.Fatal(err)
	}
	sent := e("done", "email", "done@example.com", 1)
	sent.Status, sent.ProviderID = StatusSent, "<1@example.com>"

	batch := []*pending{
		{e: e("zeta", "email", "zeta@example.com", 1)},
		{e: e("stopped", "email", "Stop@Example.COM", 1)},
		{e: sent},
		{e: e("all", "sms", "+15550100", 1)},
		{e: e("busy", "email", "busy@example.com", 1)},
		{e: e("held", "email", "held@example.com", 1)},
		{e: e("again", "email", "again@example.com", 2)},
		{e: e("zeta", "email", "zeta@example.com", 1)},
		{e: e("alpha", "email", "other@example.com", 1)},
	}
	for _, p := range batch {
		p.e.Time = now
	}
	if err := ja.write(batch); err != nil {
		t.Fatal(err)
	}
	want := []error{nil, ErrSuppressed, nil, ErrSuppressed, ErrFrequency, ErrClaimed, nil, ErrClaimed, nil}
	for i, p := range batch {
		if !errors.Is(p.err, want[i]) || (want[i] == nil) != (p.err == nil) {
			t.Errorf("batch[%d] %s %s: %v, want %v", i, p.e.Recipient, p.e.Status, p.err, want[i])
		}
	}

	// the journal has the attempts won and the outcome, nothing else
	var got []string
	err = a.ReadJournal(bg, func(e Entry) error {
		if e.Campaign == "c" && e.Time.Equal(now.UTC().Truncate(time.Millisecond)) {
			got = append(got, e.Recipient+" "+e.Status)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// the outcome first, then the attempts in batch order
	wantRows := []string{"done sent", "zeta attempt", "again attempt", "alpha attempt"}
	if len(got) != len(wantRows) {
		t.Fatalf("journal rows of the batch: %q, want %q", got, wantRows)
	}
	for i := range got {
		if got[i] != wantRows[i] {
			t.Fatalf("journal rows of the batch: %q, want %q", got, wantRows)
		}
	}

	// the claims: the outcome closed "done", the retry took "again" over
	claims := map[string]string{}
	rows, err := a.pool.Query(bg, "SELECT recipient, state, worker = $1, attempt FROM claims WHERE campaign = 'c'", ja.worker)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var r, st string
		var mine bool
		var attempt int32
		if err := rows.Scan(&r, &st, &mine, &attempt); err != nil {
			t.Fatal(err)
		}
		owner := "b"
		if mine {
			owner = "a"
		}
		claims[r] = st + " " + owner + " " + string(rune('0'+attempt))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	wantClaims := map[string]string{"done": "sent a 1", "zeta": "attempt a 1", "again": "attempt a 2", "alpha": "attempt a 1", "held": "attempt b 1"}
	if len(claims) != len(wantClaims) {
		t.Errorf("claims %v, want %v", claims, wantClaims)
	}
	for r, w := range wantClaims {
		if claims[r] != w {
			t.Errorf("claim of %s: %q, want %q", r, claims[r], w)
		}
	}
}
