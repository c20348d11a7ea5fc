package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var bg = context.Background()

// TestAppendHelperProcess is not a test: it is the body of the appender
// processes started by TestConcurrentProcessesKeepEveryLineWhole.
func TestAppendHelperProcess(t *testing.T) {
	dir, who := os.Getenv("HERALD_APPEND_DIR"), os.Getenv("HERALD_APPEND_WHO")
	if dir == "" {
		t.Skip("runs only as a helper process")
	}
	st := OpenFiles(dir)
	j, err := st.Journal(bg, who, JournalOptions{})
	if err != nil {
		panic(err)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < 200; i += 4 {
				if err := j.Record(bg, Entry{Campaign: who, Recipient: fmt.Sprintf("r%d", i), Status: StatusSent, Error: strings.Repeat("x", i*7)}); err != nil {
					panic(err)
				}
			}
		}()
	}
	for i := range 50 {
		if _, err := st.AddSuppression(bg, Suppression{Address: fmt.Sprintf("%s-%d@example.com", who, i), Channel: "email", Reason: "test", Source: SourceOperator}); err != nil {
			panic(err)
		}
		if err := st.AppendReplies(bg, Reply{ReceivedAt: time.Now(), Channel: "sms", From: who, RecipientID: fmt.Sprint(i), Text: "line one\nline, \"two\""}); err != nil {
			panic(err)
		}
	}
	wg.Wait()
}

// Several herald processes (a cron send, replies serve, replies fetch)
// append to the same state files at once: every line must arrive whole and
// none may be lost.
func TestConcurrentProcessesKeepEveryLineWhole(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state") // created by the appenders
	const procs = 4
	var cmds []*exec.Cmd
	for p := range procs {
		cmd := exec.Command(os.Args[0], "-test.run=^TestAppendHelperProcess$")
		cmd.Env = append(os.Environ(), "HERALD_APPEND_DIR="+dir, fmt.Sprintf("HERALD_APPEND_WHO=p%d", p))
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("appender failed: %v", err)
		}
	}
	st := OpenFiles(dir)
	seen := map[string]bool{}
	err := readLines(st.JournalPath(), func(n int, line []byte) error {
		var e Entry
		if err := json.Unmarshal(line, &e); err != nil {
			return fmt.Errorf("journal line %d is torn: %q", n, line)
		}
		key := e.Campaign + "/" + e.Recipient
		if seen[key] {
			return fmt.Errorf("journal line %d repeats %s", n, key)
		}
		seen[key] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != procs*200 {
		t.Fatalf("%d journal entries, want %d", len(seen), procs*200)
	}
	sups, err := st.Suppressions(bg)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(sups.Rows()); n != procs*50 {
		t.Fatalf("%d suppressions, want %d", n, procs*50)
	}
	n := 0
	if err := st.ReadReplies(bg, func(r Reply) error {
		if r.Text != "line one\nline, \"two\"" {
			return fmt.Errorf("reply text mangled: %q", r.Text)
		}
		n++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n != procs*50 {
		t.Fatalf("%d replies, want %d", n, procs*50)
	}
	for _, p := range []string{st.JournalPath(), st.SuppressionsPath(), st.RepliesPath()} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v (%v), want 0600: state holds addresses and reply texts", p, fi.Mode().Perm(), err)
		}
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("state directory mode %v (%v), want 0700", fi.Mode().Perm(), err)
	}
}

// A crash can leave the last line torn. Readers skip it, and the next
// append starts on a fresh line so nothing after it is lost.
func TestTornLastLineIsSkippedAndRepaired(t *testing.T) {
	dir := t.TempDir()
	st := OpenFiles(dir)
	if err := st.AppendJournal(bg, Entry{Campaign: "c", Recipient: "a", Status: StatusSent}); err != nil {
		t.Fatal(err)
	}
	f, _ := os.OpenFile(st.JournalPath(), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"campaign":"c","recipient":"b","sta`)
	f.Close()

	ix, err := st.Index(bg, "c", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if !ix.Lookup("a").Sent || ix.Lookup("b").Sent {
		t.Fatalf("index after a torn line: a=%+v b=%+v", ix.Lookup("a"), ix.Lookup("b"))
	}
	// A second store: the append comes from another process, which never
	// saw the file before.
	if err := OpenFiles(dir).AppendJournal(bg, Entry{Campaign: "c", Recipient: "b", Status: StatusSent}); err != nil {
		t.Fatal(err)
	}
	ix, _ = st.Index(bg, "c", time.Time{})
	if !ix.Lookup("b").Sent {
		t.Fatal("the entry appended after a torn line was lost")
	}
	if ix.Torn != 1 {
		t.Fatalf("skipped %d unparseable lines, want the 1 torn one", ix.Torn)
	}
	b, _ := os.ReadFile(filepath.Clean(st.JournalPath()))
	if !strings.HasSuffix(string(b), "\n") {
		t.Fatal("journal does not end with a newline")
	}
}

// A journal open for a send run sees what another process appended before
// its next batch, and judges the frequency limit against it at the moment
// an attempt is granted.
func TestFrequencyHoldsAcrossProcesses(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	opts := JournalOptions{Frequency: Frequency{Count: 1, Per: 24 * time.Hour}, RecentSince: now.Add(-48 * time.Hour), Now: clock}
	j, err := OpenFiles(dir).Journal(bg, "welcome", opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Attempt(bg, Entry{Campaign: "welcome", Recipient: "r1", Time: now}); err != nil {
		t.Fatalf("first attempt: %v", err)
	}
	// Another campaign, another process, sends to r2 meanwhile.
	other := OpenFiles(dir)
	if err := other.AppendJournal(bg, Entry{Campaign: "promo", Recipient: "r2", Status: StatusSent, Time: now.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := j.Attempt(bg, Entry{Campaign: "welcome", Recipient: "r2", Time: now}); !errors.Is(err, ErrFrequency) {
		t.Fatalf("attempt after another campaign's send: %v, want ErrFrequency", err)
	}
	if got := j.SentSince("r2", now.Add(-24*time.Hour)); got != 1 {
		t.Errorf("SentSince(r2) = %d, want 1 (read from the other process's append)", got)
	}
	ix, _ := OpenFiles(dir).Index(bg, "welcome", time.Time{})
	if ix.Lookup("r2").Attempts != 0 {
		t.Error("a refused attempt was written to the journal")
	}
}

func TestIndexOutcomes(t *testing.T) {
	ix := NewIndex("c", time.Time{})
	for _, e := range []Entry{
		{Campaign: "c", Recipient: "sent", Status: StatusAttempt},
		{Campaign: "c", Recipient: "sent", Status: StatusSent},
		{Campaign: "c", Recipient: "killed", Status: StatusAttempt},
		{Campaign: "c", Recipient: "lost", Status: StatusAttempt},
		{Campaign: "c", Recipient: "lost", Status: StatusInDoubt},
		{Campaign: "c", Recipient: "temp", Status: StatusAttempt},
		{Campaign: "c", Recipient: "temp", Status: StatusFailed, Temporary: true},
		{Campaign: "c", Recipient: "perm", Status: StatusAttempt},
		{Campaign: "c", Recipient: "perm", Status: StatusFailed},
		{Campaign: "c", Recipient: "fallback", Status: StatusAttempt},
		{Campaign: "c", Recipient: "fallback", Status: StatusFailed},
		{Campaign: "c", Recipient: "fallback", Status: StatusAttempt},
		{Campaign: "c", Recipient: "fallback", Status: StatusSent},
		{Campaign: "c", Recipient: "retried", Status: StatusAttempt},
		{Campaign: "c", Recipient: "retried", Status: StatusInDoubt},
		{Campaign: "c", Recipient: "retried", Status: StatusAttempt},
		{Campaign: "c", Recipient: "retried", Status: StatusFailed, Temporary: true},
		{Campaign: "other", Recipient: "killed", Status: StatusSent},
		// Ids that a 64-bit hash could confuse are kept apart: the index
		// is exact.
		{Campaign: "c", Recipient: "id-1", Status: StatusSent},
	} {
		ix.Add(e)
	}
	for id, want := range map[string]Outcome{
		"sent":     {Sent: true, Attempts: 1},
		"killed":   {InDoubt: true, InDoubtReason: InDoubtKilled, Attempts: 1},
		"lost":     {InDoubt: true, InDoubtReason: InDoubtLostResponse, Attempts: 1},
		"temp":     {Failed: true, Temporary: true, Attempts: 1},
		"perm":     {Failed: true, Attempts: 1},
		"fallback": {Sent: true, Attempts: 2},
		"retried":  {Failed: true, Temporary: true, Attempts: 2},
		"id-1":     {Sent: true},
		"id-2":     {},
		"never":    {},
	} {
		if got := ix.Lookup(id); got != want {
			t.Errorf("%s: %+v, want %+v", id, got, want)
		}
	}
}

// One sender per campaign: a second lock fails at once and names the
// holder; another campaign locks independently; a released lock is free.
func TestLockCampaign(t *testing.T) {
	dir := t.TempDir()
	a := OpenFiles(dir)
	unlock, err := a.LockCampaign(bg, "welcome")
	if err != nil {
		t.Fatal(err)
	}
	_, err = OpenFiles(dir).LockCampaign(bg, "welcome")
	var le *LockedError
	if !errors.As(err, &le) {
		t.Fatalf("second lock: %v, want *LockedError", err)
	}
	host, _ := os.Hostname()
	if le.PID != os.Getpid() || le.Host != host || le.Started.IsZero() {
		t.Errorf("LockedError names pid %d host %q started %v; want this process", le.PID, le.Host, le.Started)
	}
	for _, want := range []string{fmt.Sprint(os.Getpid()), host, `"welcome"`} {
		if !strings.Contains(le.Error(), want) {
			t.Errorf("message %q lacks %q", le.Error(), want)
		}
	}
	other, err := OpenFiles(dir).LockCampaign(bg, "promo")
	if err != nil {
		t.Fatalf("another campaign: %v", err)
	}
	other()
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	again, err := OpenFiles(dir).LockCampaign(bg, "welcome")
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	again()
}

// START lifts only what a STOP keyword added; the source survives a
// round trip, and old files without the column still load.
func TestSuppressionSources(t *testing.T) {
	dir := t.TempDir()
	st := OpenFiles(dir)
	if err := os.WriteFile(st.SuppressionsPath(), []byte("address,channel,reason,added_at\nold@example.com,email,legacy,2026-01-02T03:04:05Z\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, s := range []Suppression{
		{Address: "+6281", Channel: "sms", Reason: "STOP reply", Source: SourceKeyword},
		{Address: "+6282", Channel: "sms", Reason: "legal hold: complaint", Source: SourceOperator},
	} {
		if added, err := st.AddSuppression(bg, s); err != nil || !added {
			t.Fatalf("add %v: %v %v", s, added, err)
		}
	}
	if added, _ := st.AddSuppression(bg, Suppression{Address: "+6281", Channel: "sms", Source: SourceKeyword}); added {
		t.Error("the same suppression was added twice")
	}
	// An operator's hold on an address a STOP already suppressed is a row
	// of its own: the START that lifts the STOP must leave it.
	if added, err := st.AddSuppression(bg, Suppression{Address: "+6281", Channel: "sms", Reason: "legal hold", Source: SourceOperator}); err != nil || !added {
		t.Fatalf("operator's hold over a keyword suppression: added %v, %v", added, err)
	}
	if n, _ := st.RemoveSuppressions(bg, "+6282", "sms", SourceKeyword); n != 0 {
		t.Errorf("a keyword removal lifted an operator's suppression")
	}
	if n, _ := st.RemoveSuppressions(bg, "+6281", "sms", SourceKeyword); n != 1 {
		t.Errorf("a keyword removal lifted %d rows, want 1", n)
	}
	supp, err := st.Suppressions(bg)
	if err != nil {
		t.Fatal(err)
	}
	rows := supp.Rows()
	if len(rows) != 3 || rows[0].Address != "+6281" || rows[0].Source != SourceOperator || rows[1].Address != "+6282" || rows[1].Source != SourceOperator || rows[2].Address != "old@example.com" || rows[2].Source != "" {
		t.Errorf("rows after removal: %+v", rows)
	}
	if !supp.Suppressed("OLD@example.com", "email") || !supp.Suppressed("+6281", "sms") {
		t.Error("look-ups disagree with the rows")
	}
}
