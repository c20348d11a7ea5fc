package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"herald/state"
	"herald/state/pgtest"
)

// usePostgresURL is a fresh database.
func usePostgresURL(t *testing.T) string { return pgtest.URL(t) }

// usePostgres points a campaign's herald.toml at a fresh database.
func usePostgres(t *testing.T, cfgPath string) string {
	t.Helper()
	url := pgtest.URL(t)
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgPath, append([]byte("state = \""+url+"\"\n"), b...), 0o644); err != nil {
		t.Fatal(err)
	}
	return url
}

// dbJournalStats reads the shared journal: sends per recipient, and the
// recipients whose last event is in doubt (an attempt with no outcome, or
// in-doubt).
func dbJournalStats(t *testing.T, url string) (sent map[string]int, inDoubt map[string]bool) {
	t.Helper()
	st, err := state.Open(url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sent, inDoubt = map[string]int{}, map[string]bool{}
	err = st.ReadJournal(context.Background(), func(e state.Entry) error {
		switch e.Status {
		case state.StatusAttempt, state.StatusInDoubt:
			inDoubt[e.Recipient] = true
		case state.StatusSent, state.StatusFailed:
			delete(inDoubt, e.Recipient)
			if e.Status == state.StatusSent {
				sent[e.Recipient]++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return sent, inDoubt
}

func startSenders(t *testing.T, n int, env []string, args ...string) ([]*exec.Cmd, []*strings.Builder) {
	t.Helper()
	procs := make([]*exec.Cmd, n)
	outs := make([]*strings.Builder, n)
	for i := range procs {
		cmd, out := heraldProcess(args...)
		cmd.Env = append(cmd.Env, env...)
		var sb strings.Builder
		cmd.Stdout, cmd.Stderr = &syncWriter{w: &sb}, nil
		cmd.Stderr = cmd.Stdout
		_ = out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		procs[i], outs[i] = cmd, &sb
	}
	return procs, outs
}

type syncWriter struct {
	mu sync.Mutex
	w  *strings.Builder
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func total(counts map[string]int) int {
	n := 0
	for _, c := range counts {
		n += c
	}
	return n
}

const manyRecipients = 20000

// Four senders of one campaign started together on a shared database split
// it with no shard arithmetic: every recipient reaches the provider exactly
// once.
func TestPostgresFourSendersExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four real senders")
	}
	prov := newProvider(t, 0)
	dir := t.TempDir()
	cfg, camp := writeSlowCampaign(t, dir, prov.srv.URL, manyRecipients)
	url := usePostgres(t, cfg)
	start := time.Now()
	procs, outs := startSenders(t, 4, nil, "--config", cfg, "send", camp)
	for i, p := range procs {
		if code := exitCodeOf(p.Wait()); code != 0 {
			t.Errorf("sender %d exited %d: %s", i, code, outs[i])
		}
	}
	t.Logf("4 senders, %d recipients: %s", manyRecipients, time.Since(start))
	counts := prov.counts()
	if len(counts) != manyRecipients {
		t.Fatalf("the provider received %d recipients, want %d", len(counts), manyRecipients)
	}
	for id, c := range counts {
		if c != 1 {
			t.Fatalf("the provider received %s %d times", id, c)
		}
	}
	sent, inDoubt := dbJournalStats(t, url)
	if len(sent) != manyRecipients || len(inDoubt) != 0 || total(sent) != manyRecipients {
		t.Fatalf("journal: %d sent (%d sends), %d in doubt", len(sent), total(sent), len(inDoubt))
	}
	// each did a share of the work
	for i, out := range outs {
		if !strings.Contains(out.String(), "sent") {
			t.Errorf("sender %d printed no summary: %s", i, out)
		}
	}
}

// Two of four senders killed mid-run: the survivors finish, and after the
// heartbeat timeout a plain rerun leaves nobody sent twice, nobody lost,
// and in doubt only what the killed ones had in flight.
func TestPostgresKilledSendersRecover(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills real senders")
	}
	prov := newProvider(t, 2*time.Millisecond)
	dir := t.TempDir()
	cfg, camp := writeSlowCampaign(t, dir, prov.srv.URL, manyRecipients)
	url := usePostgres(t, cfg)
	env := []string{"HERALD_HEARTBEAT_TIMEOUT=2s"}
	procs, outs := startSenders(t, 4, env, "--config", cfg, "send", camp)
	deadline := time.Now().Add(2 * time.Minute)
	for total(prov.counts()) < manyRecipients/5 {
		if time.Now().After(deadline) {
			t.Fatalf("the senders sent %d within two minutes", total(prov.counts()))
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, p := range procs[:2] {
		if err := p.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
	}
	atKill := total(prov.counts())
	for i, p := range procs {
		code := exitCodeOf(p.Wait())
		if i >= 2 && code != 0 && code != 1 {
			t.Errorf("surviving sender %d exited %d: %s", i, code, outs[i])
		}
	}
	if atKill >= manyRecipients*3/4 {
		t.Fatalf("the kill came too late: %d sent already", atKill)
	}
	time.Sleep(2500 * time.Millisecond) // the heartbeat timeout
	rerun, out := heraldProcess("--config", cfg, "send", camp)
	rerun.Env = append(rerun.Env, env...)
	code := exitCodeOf(rerun.Run())
	sent, inDoubt := dbJournalStats(t, url)
	for id, c := range sent {
		if c != 1 {
			t.Errorf("%s journalled as sent %d times", id, c)
		}
	}
	for id, c := range prov.counts() {
		if c != 1 {
			t.Errorf("the provider received %s %d times", id, c)
		}
	}
	if len(sent)+len(inDoubt) != manyRecipients {
		t.Fatalf("%d sent + %d in doubt, want %d in all (rerun exited %d: %s)", len(sent), len(inDoubt), manyRecipients, code, out)
	}
	const concurrency = 8
	if len(inDoubt) > 2*2*concurrency {
		t.Errorf("%d in doubt, more than 2 x concurrency (%d) per killed sender", len(inDoubt), concurrency)
	}
	if len(inDoubt) > 0 && (code != 1 || !strings.Contains(out.String(), "in doubt")) {
		t.Errorf("with %d in doubt the rerun exited %d: %s", len(inDoubt), code, out)
	}
	t.Logf("%d sent, %d in doubt", len(sent), len(inDoubt))
}

// TestPostgresScaleOut is a benchmark, not a timed test (bench/
// postgres-scaleout.sh runs it): one sender, then four together, through
// a provider that takes 20 ms per message with concurrency 4 per sender.
func TestPostgresScaleOut(t *testing.T) {
	if os.Getenv("HERALD_BENCH_SCALEOUT") == "" {
		t.Skip("a benchmark: bash bench/postgres-scaleout.sh")
	}
	const n = 2000
	rate := func(procs int) float64 {
		prov := newProvider(t, 20*time.Millisecond)
		dir := t.TempDir()
		cfg, camp := writeSlowCampaign(t, dir, prov.srv.URL, n)
		b, _ := os.ReadFile(cfg)
		os.WriteFile(cfg, []byte(strings.Replace(string(b), "concurrency = 8", "concurrency = 4", 1)), 0o644)
		usePostgres(t, cfg)
		start := time.Now()
		ps, outs := startSenders(t, procs, nil, "--config", cfg, "send", camp)
		for i, p := range ps {
			if code := exitCodeOf(p.Wait()); code != 0 {
				t.Fatalf("sender %d exited %d: %s", i, code, outs[i])
			}
		}
		if got := len(prov.counts()); got != n || total(prov.counts()) != n {
			t.Fatalf("%d recipients, %d messages at the provider; want %d", got, total(prov.counts()), n)
		}
		if os.Getenv("HERALD_BENCH_VERBOSE") != "" {
			for _, o := range outs {
				t.Log(o)
			}
		}
		return n / time.Since(start).Seconds()
	}
	one := rate(1)
	four := rate(4)
	t.Logf("20 ms provider, concurrency 4: 1 sender %.0f msgs/s, 4 senders %.0f msgs/s (%.2fx)", one, four, four/one)
	fmt.Printf("scaleout: 1 sender %.0f msgs/s, 4 senders %.0f msgs/s, %.2fx\n", one, four, four/one)
}

// A database password holding the characters that delimit a URL, given
// as ${VAR} in herald.toml's state and in state migrate's --to, leaves a
// URL that still names the same database, and is never printed.
func TestPostgresPasswordWithURLCharacters(t *testing.T) {
	plain := pgtest.URL(t)
	const pw = "p@ss:w/rd?#%41&x y"
	t.Setenv("HERALD_TEST_DB_PASSWORD", pw)
	withPassword := strings.Replace(plain, "postgres://herald@", "postgres://herald:${HERALD_TEST_DB_PASSWORD}@", 1)
	if withPassword == plain {
		t.Skipf("the test database's URL %s names no user to add a password to", plain)
	}
	dir := t.TempDir()
	files := state.OpenFiles(filepath.Join(dir, "files"))
	if _, err := files.AddSuppression(context.Background(), state.Suppression{Address: "+15550001", Channel: "sms", Source: state.SourceKeyword}); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := herald(t, "state", "migrate", "--from", filepath.Join(dir, "files"), "--to", withPassword)
	if code != 0 || strings.Contains(out+errOut, pw) {
		t.Fatalf("state migrate --to %s: exit %d: %s %s", withPassword, code, out, errOut)
	}
	cfg := filepath.Join(dir, "herald.toml")
	if err := os.WriteFile(cfg, []byte("state = \""+withPassword+"\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = herald(t, "--config", cfg, "suppress", "add", "--channel", "email", "a@example.com")
	if code != 0 || strings.Contains(out+errOut, pw) {
		t.Fatalf("suppress add with herald.toml's state: exit %d: %s %s", code, out, errOut)
	}
	st, err := state.Open(plain)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	supp, err := st.Suppressions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range supp.Rows() {
		got = append(got, s.Address+" "+s.Channel)
	}
	if len(got) != 2 || got[0] != "+15550001 sms" || got[1] != "a@example.com email" {
		t.Errorf("suppressions in the database: %q, want the migrated one and the one added through herald.toml", got)
	}
}
