package state_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"herald/state"
	"herald/state/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

var ctx = context.Background()

// stores are the implementations every behaviour below must share.
var stores = []struct {
	name string
	open func(t *testing.T) state.Store
}{
	{"files", func(t *testing.T) state.Store { return state.OpenFiles(t.TempDir()) }},
	{"postgres", func(t *testing.T) state.Store {
		st, err := state.Open(pgtest.URL(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}},
}

// forEachStore runs a behaviour against every store.
func forEachStore(t *testing.T, fn func(t *testing.T, open func() state.Store)) {
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			var once sync.Once
			var st state.Store
			// open returns the same store each time: a second "process" of a
			// shared store opens it again below through reopen.
			fn(t, func() state.Store {
				once.Do(func() { st = s.open(t) })
				return st
			})
		})
	}
}

func TestConformanceJournalAppendRead(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func() state.Store) {
		st := open()
		at := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
		want := []state.Entry{
			{Time: at, Campaign: "c", Recipient: "r1", Channel: "sms", Address: "+15550001", Locale: "en", Status: state.StatusSent, ProviderID: "SM1", Attempt: 1},
			{Time: at.Add(time.Second), Campaign: "c", Recipient: "r2", Channel: "email", Address: "a@example.com", Status: state.StatusFailed, Error: "550 no such user", Attempt: 1, Temporary: true},
			{Time: at.Add(2 * time.Second), Campaign: "c", Recipient: "r1", Channel: "sms", Status: state.StatusDelivered, ProviderID: "SM1"},
		}
		if err := st.AppendJournal(ctx, want...); err != nil {
			t.Fatal(err)
		}
		var got []state.Entry
		if err := st.ReadJournal(ctx, func(e state.Entry) error { got = append(got, e); return nil }); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("read back\n%v\nwant\n%v", got, want)
		}
	})
}

func TestConformanceIndexOutcomes(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func() state.Store) {
		st := open()
		j, err := st.Journal(ctx, "c", state.JournalOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer j.Close()
		e := func(r, status string, attempt int) state.Entry {
			return state.Entry{Campaign: "c", Recipient: r, Channel: "sms", Address: "+1555" + r, Status: status, Attempt: attempt}
		}
		for _, r := range []string{"sent", "lost", "open", "failed"} {
			if err := j.Attempt(ctx, e(r, "", 1)); err != nil {
				t.Fatalf("attempt %s: %v", r, err)
			}
		}
		if err := j.Record(ctx, e("sent", state.StatusSent, 1), e("lost", state.StatusInDoubt, 1), e("failed", state.StatusFailed, 1)); err != nil {
			t.Fatal(err)
		}
		check := func(ix interface{ Lookup(string) state.Outcome }, running bool) {
			t.Helper()
			if o := ix.Lookup("sent"); !o.Sent || o.Attempts != 1 {
				t.Errorf("sent: %+v", o)
			}
			if o := ix.Lookup("lost"); !o.InDoubt || o.InDoubtReason != state.InDoubtLostResponse {
				t.Errorf("lost: %+v", o)
			}
			// An attempt with no outcome: a killed sender's on files (one
			// sender per campaign); during a run on a shared store, a call
			// in flight elsewhere, which the run counts as another's.
			o := ix.Lookup("open")
			if _, shared := st.(*state.Postgres); running && shared {
				if !o.Sent {
					t.Errorf("open, shared store, during a run: %+v", o)
				}
			} else if !o.InDoubt || o.InDoubtReason != state.InDoubtKilled {
				t.Errorf("open: %+v", o)
			}
			if o := ix.Lookup("failed"); !o.Failed || o.Sent {
				t.Errorf("failed: %+v", o)
			}
			if o := ix.Lookup("never"); o != (state.Outcome{}) {
				t.Errorf("never: %+v", o)
			}
		}
		check(j, true)
		ix, err := st.Index(ctx, "c", time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		check(ix, false)
	})
}

func TestConformanceFrequencyRefusal(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func() state.Store) {
		st := open()
		now := time.Now()
		// another campaign sent to r1 an hour ago
		if err := st.AppendJournal(ctx, state.Entry{Time: now.Add(-time.Hour), Campaign: "other", Recipient: "r1", Channel: "sms", Status: state.StatusSent, Attempt: 1}); err != nil {
			t.Fatal(err)
		}
		j, err := st.Journal(ctx, "c", state.JournalOptions{Frequency: state.Frequency{Count: 1, Per: 24 * time.Hour}, RecentSince: now.Add(-24 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		defer j.Close()
		if n := j.SentSince("r1", now.Add(-24*time.Hour)); n != 1 {
			t.Errorf("SentSince(r1) = %d, want 1", n)
		}
		err = j.Attempt(ctx, state.Entry{Campaign: "c", Recipient: "r1", Channel: "sms", Address: "+1", Attempt: 1})
		if !errors.Is(err, state.ErrFrequency) {
			t.Fatalf("attempt over the limit: %v, want ErrFrequency", err)
		}
		if err := j.Attempt(ctx, state.Entry{Campaign: "c", Recipient: "r2", Channel: "sms", Address: "+2", Attempt: 1}); err != nil {
			t.Fatalf("attempt under the limit: %v", err)
		}
		if o := j.Lookup("r1"); o.Attempts != 0 {
			t.Errorf("a refused attempt was journalled: %+v", o)
		}
	})
}

func TestConformanceSuppressionsWithSource(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func() state.Store) {
		st := open()
		add := func(addr, ch, src string) bool {
			added, err := st.AddSuppression(ctx, state.Suppression{Address: addr, Channel: ch, Reason: "r", Source: src, AddedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)})
			if err != nil {
				t.Fatal(err)
			}
			return added
		}
		if !add("Ann@Example.com", "email", state.SourceOneClick) {
			t.Fatal("first add not added")
		}
		if add("ann@example.com", "email", state.SourceOneClick) {
			t.Error("the same address (other case) on the same channel from the same source was added twice")
		}
		// Another source is its own row: an operator's hold outlives a
		// lifted one-click or keyword row.
		if !add("ann@example.com", "email", state.SourceOperator) {
			t.Error("an operator's suppression beside a one-click one was not recorded")
		}
		add("+15550001", "sms", state.SourceKeyword)
		add("+15550001", "all", state.SourceOperator)
		s, err := st.Suppressions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !s.Suppressed("ANN@example.com", "email") || s.Suppressed("ann@example.com", "sms") || !s.Suppressed("+15550001", "whatsapp") {
			t.Errorf("look-ups wrong: %+v", s.Rows())
		}
		rows := s.Rows()
		if len(rows) != 4 || rows[0].Source != state.SourceOperator || rows[0].Channel != "all" || rows[2].Source != state.SourceOneClick || !rows[2].AddedAt.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) {
			t.Errorf("rows: %+v", rows)
		}
		// START lifts only the keyword row
		n, err := st.RemoveSuppressions(ctx, "+15550001", "sms", state.SourceKeyword)
		if err != nil || n != 1 {
			t.Fatalf("remove keyword: %d, %v", n, err)
		}
		n, _ = st.RemoveSuppressions(ctx, "ann@example.com", "email", state.SourceKeyword)
		if n != 0 {
			t.Errorf("a keyword START removed a one-click suppression")
		}
		n, _ = st.RemoveSuppressions(ctx, "+15550001", "all")
		if n != 1 {
			t.Errorf("remove all: %d", n)
		}
	})
}

func TestConformanceRepliesAndKey(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func() state.Store) {
		st := open()
		at := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
		rows := []state.Reply{
			{ReceivedAt: at, Channel: "sms", From: "+1555", RecipientID: "r1", Campaign: "c", MessageID: "SM1", Text: "STOP", Action: state.ActionStop},
			{ReceivedAt: at.Add(time.Minute), Channel: "email", From: "a@example.com", MessageID: "<m1@x>", Text: "line one\nline, \"two\""},
		}
		if err := st.AppendReplies(ctx, rows...); err != nil {
			t.Fatal(err)
		}
		var got []state.Reply
		if err := st.ReadReplies(ctx, func(r state.Reply) error { got = append(got, r); return nil }); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(rows) {
			t.Fatalf("replies\n%v\nwant\n%v", got, rows)
		}
		k1, err := st.UnsubscribeKey(ctx)
		if err != nil {
			t.Fatal(err)
		}
		k2, _ := st.UnsubscribeKey(ctx)
		if len(k1) != state.KeySize || !bytes.Equal(k1, k2) {
			t.Errorf("key changed between calls")
		}
	})
}

// A shared store: what one process writes the other sees, and a reply
// delivered to two replicas is one row.
func TestPostgresSharedBetweenProcesses(t *testing.T) {
	u := pgtest.URL(t)
	a, _ := state.Open(u)
	b, _ := state.Open(u)
	defer a.Close()
	defer b.Close()
	var wg sync.WaitGroup
	keys := make([][]byte, 8)
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := a
			if i%2 == 1 {
				st = b
			}
			k, err := st.UnsubscribeKey(ctx)
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
			_ = st.AppendReplies(ctx, state.Reply{ReceivedAt: time.Now(), Channel: "sms", From: "+1", MessageID: "SMdup", Text: "STOP"})
		}()
	}
	wg.Wait()
	for _, k := range keys[1:] {
		if !bytes.Equal(k, keys[0]) {
			t.Fatal("two processes got different unsubscribe keys")
		}
	}
	n := 0
	_ = b.ReadReplies(ctx, func(state.Reply) error { n++; return nil })
	if n != 1 {
		t.Errorf("the same webhook delivered 8 times left %d rows, want 1", n)
	}
}

// Two senders of one campaign: each recipient is claimed once; a STOP
// recorded by anyone is refused at the next claim; a sender whose
// heartbeat stops leaves its open claims in doubt.
func TestPostgresClaims(t *testing.T) {
	u := pgtest.URL(t)
	a, _ := state.OpenPostgres(u, state.PostgresOptions{HeartbeatTimeout: time.Second})
	b, _ := state.OpenPostgres(u, state.PostgresOptions{HeartbeatTimeout: time.Second})
	defer a.Close()
	defer b.Close()
	ja, err := a.Journal(ctx, "c", state.JournalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	jb, err := b.Journal(ctx, "c", state.JournalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer jb.Close()
	e := func(r string, attempt int) state.Entry {
		return state.Entry{Campaign: "c", Recipient: r, Channel: "sms", Address: "+1" + r, Attempt: attempt}
	}
	won := map[string]int{}
	byJournal := map[state.Journal]int{}
	wonBy := map[string]state.Journal{}
	// a few recipients only a claims, so that a holds claims for the sweep
	// below even if b wins every race (both go through the recipients in
	// the same order, so the one ahead may stay ahead)
	for i := range 3 {
		r := fmt.Sprintf("a-only-%d", i)
		if err := ja.Attempt(ctx, e(r, 1)); err != nil {
			t.Fatal(err)
		}
		won[r], wonBy[r] = 1, ja
		byJournal[ja]++
	}
	// 200 recipients, both senders racing for each
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, j := range []state.Journal{ja, jb} {
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < 200; i += 8 {
					r := fmt.Sprint(i)
					err := j.Attempt(ctx, e(r, 1))
					switch {
					case err == nil:
						mu.Lock()
						won[r]++
						byJournal[j]++
						wonBy[r] = j
						mu.Unlock()
					case !errors.Is(err, state.ErrClaimed):
						t.Error(err)
					}
				}
			}()
		}
	}
	wg.Wait()
	if len(won) != 203 {
		t.Fatalf("%d recipients claimed, want 200 raced for and 3 of a's", len(won))
	}
	for r, n := range won {
		if n != 1 {
			t.Fatalf("recipient %s claimed %d times", r, n)
		}
	}
	// a STOP arrives through another process: refused at the next claim
	if _, err := b.AddSuppression(ctx, state.Suppression{Address: "+1stop", Channel: "all", Source: state.SourceKeyword}); err != nil {
		t.Fatal(err)
	}
	if err := ja.Attempt(ctx, e("stop", 1)); !errors.Is(err, state.ErrSuppressed) {
		t.Fatalf("attempt to a suppressed address: %v, want ErrSuppressed", err)
	}
	// a temporary failure may be retried at a later attempt; sent may not
	if err := ja.Record(ctx, state.Entry{Campaign: "c", Recipient: "0", Channel: "sms", Status: state.StatusFailed, Attempt: 1, Temporary: true}); err != nil {
		t.Fatal(err)
	}
	if err := jb.Attempt(ctx, e("0", 2)); err != nil {
		t.Fatalf("retry after a temporary failure: %v", err)
	}
	if err := jb.Record(ctx, state.Entry{Campaign: "c", Recipient: "0", Channel: "sms", Status: state.StatusSent, Attempt: 2}); err != nil {
		t.Fatal(err)
	}
	if err := ja.Attempt(ctx, e("0", 3)); !errors.Is(err, state.ErrClaimed) {
		t.Fatalf("attempt after sent: %v, want ErrClaimed", err)
	}
	// a stops its heartbeat without closing its claims (as SIGKILL would)
	if err := ja.Close(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	c, err := b.Journal(ctx, "c", state.JournalOptions{}) // a rerun sweeps
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	killed := 0
	_ = b.ReadJournal(ctx, func(e state.Entry) error {
		if e.Status == state.StatusInDoubt && e.Error == state.InDoubtKilled {
			killed++
			if wonBy[e.Recipient] != ja {
				t.Errorf("recipient %s of a live sender was judged killed", e.Recipient)
			}
		}
		return nil
	})
	// a's claims (but the one b retried and sent) are in doubt; b's, alive,
	// are not
	wantKilled := byJournal[ja]
	if wonBy["0"] == ja {
		wantKilled--
	}
	if killed != wantKilled || killed == 0 {
		t.Errorf("%d recipients in doubt (killed) after the sweep, want %d", killed, wantKilled)
	}
	for r, j := range wonBy {
		o := c.Lookup(r)
		switch {
		case r == "0":
		case j == ja && (!o.InDoubt || o.InDoubtReason != state.InDoubtKilled):
			t.Errorf("killed claim %s: %+v, want in doubt (killed)", r, o)
		case j == jb && !o.Sent:
			t.Errorf("live sender's claim %s: %+v, want another sender's (sent)", r, o)
		}
	}
	for r, j := range wonBy {
		if r == "0" {
			continue
		}
		if err := c.Attempt(ctx, e(r, 1)); !errors.Is(err, state.ErrClaimed) {
			t.Errorf("attempt 1 again on recipient %s: %v, want ErrClaimed", r, err)
		}
		err := c.Attempt(ctx, e(r, 2))
		if j == ja && err != nil {
			t.Errorf("--retry-in-doubt's attempt 2 of a killed claim: %v", err)
		}
		if j == jb && !errors.Is(err, state.ErrClaimed) {
			t.Errorf("attempt 2 of a live sender's claim: %v, want ErrClaimed", err)
		}
	}
	t.Logf("a won %d, b won %d", byJournal[ja], byJournal[jb])
}
