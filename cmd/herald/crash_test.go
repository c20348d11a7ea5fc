package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// writeSlowCampaign writes a campaign of n recipients sent through a
// webhook channel to the provider, and returns the herald.toml and campaign
// paths.
func writeSlowCampaign(t *testing.T, dir, url string, n int) (string, string) {
	t.Helper()
	var csv strings.Builder
	csv.WriteString("id,name\n")
	for i := range n {
		fmt.Fprintf(&csv, "r-%05d,Customer %d\n", i, i)
	}
	files := map[string]string{
		"herald.toml": fmt.Sprintf(`state_dir = "state"
[channels.push]
backend = "webhook"
url = %q
address = "id"
concurrency = 8
retries = 0
body = '{"id": {{json .recipient}}, "text": {{json .text}}}'
id_field = "id"
`, url),
		"campaign.toml": `name = "slow"
audience = "customers.csv"
templates = "t"
default_locale = "en"
channels = ["push"]
`,
		"customers.csv": csv.String(),
		"t/en.toml":     "[default]\ntext = \"Hello {{.name}}\"\n",
	}
	for name, body := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "herald.toml"), filepath.Join(dir, "campaign.toml")
}

// heraldProcess starts this test binary as the herald command.
func heraldProcess(args ...string) (*exec.Cmd, *bytes.Buffer) {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "HERALD_TEST_AS_MAIN=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	return cmd, &out
}

func exitCodeOf(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// journalStats reads a journal: sent lines per recipient, and recipients
// whose last event is an attempt with no outcome (in doubt).
func journalStats(t *testing.T, path string) (sent map[string]int, inDoubt map[string]bool) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sent, inDoubt = map[string]int{}, map[string]bool{}
	r := bufio.NewReader(f)
	for {
		line, err := r.ReadBytes('\n')
		if err == io.EOF {
			if len(line) > 0 {
				t.Logf("torn last line left by the kill: %q", line)
			}
			break
		}
		var e struct{ Recipient, Status string }
		if err := json.Unmarshal(line, &e); err != nil {
			t.Fatalf("journal line is not whole JSON: %q", line)
		}
		switch e.Status {
		case "attempt":
			inDoubt[e.Recipient] = true
		case "sent", "failed", "skipped": // a skip after an attempt: the call never happened
			delete(inDoubt, e.Recipient)
			if e.Status == "sent" {
				sent[e.Recipient]++
			}
		}
	}
	return sent, inDoubt
}

func waitForSent(t *testing.T, journal string, n int, proc *exec.Cmd) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(journal)
		if bytes.Count(b, []byte(`"status":"sent"`)) >= n {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	proc.Process.Kill()
	t.Fatalf("herald did not send %d messages within a minute", n)
}

// A SIGKILL in the middle of a send loses nothing and duplicates nothing:
// the rerun sends everyone not yet sent, leaves the in-doubt ones (killed
// mid-call) alone until --retry-in-doubt, and nobody is journalled as sent
// twice.
func TestSIGKILLMidSendResumesExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills the real binary")
	}
	const n = 3000
	prov := newProvider(t, 3*time.Millisecond)
	dir := t.TempDir()
	cfg, camp := writeSlowCampaign(t, dir, prov.srv.URL, n)
	journal := filepath.Join(dir, "state", "journal.jsonl")

	proc, out := heraldProcess("--config", cfg, "send", camp)
	if err := proc.Start(); err != nil {
		t.Fatal(err)
	}
	waitForSent(t, journal, 400, proc)
	if err := proc.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	proc.Wait()
	sentBefore, _ := journalStats(t, journal)
	if len(sentBefore) >= n {
		t.Fatalf("the kill came too late: all %d were sent (output: %s)", n, out)
	}

	// Rerun: everyone not sent and not in doubt gets their message now.
	rerun, out := heraldProcess("--config", cfg, "send", camp)
	code := exitCodeOf(rerun.Run())
	sent, inDoubt := journalStats(t, journal)
	for id, c := range sent {
		if c != 1 {
			t.Errorf("%s journalled as sent %d times", id, c)
		}
	}
	if len(sent)+len(inDoubt) != n {
		t.Fatalf("after the rerun: %d sent + %d in doubt, want %d in all (output: %s)", len(sent), len(inDoubt), n, out)
	}
	// A worker journals its attempt before it waits for one of the
	// channel's 8 provider slots, so at most the 32 workers (4 per slot)
	// can be caught between attempt and outcome.
	if len(inDoubt) > 32 {
		t.Errorf("%d in doubt: more than the 32 workers that can hold an attempt", len(inDoubt))
	}
	for id, c := range prov.counts() {
		if c != 1 {
			t.Errorf("the provider received %s %d times before --retry-in-doubt", id, c)
		}
	}
	if len(inDoubt) > 0 {
		if code != 1 || !strings.Contains(out.String(), "in doubt") {
			t.Errorf("with %d in doubt the rerun exited %d, want 1 and a word about them: %s", len(inDoubt), code, out)
		}
	}

	// --retry-in-doubt sends those; still nobody is journalled twice.
	retry, out := heraldProcess("--config", cfg, "send", "--retry-in-doubt", camp)
	if code := exitCodeOf(retry.Run()); code != 0 {
		t.Fatalf("--retry-in-doubt exited %d: %s", code, out)
	}
	sent, inDoubt = journalStats(t, journal)
	if len(sent) != n || len(inDoubt) != 0 {
		t.Fatalf("after --retry-in-doubt: %d sent, %d in doubt; want %d and 0", len(sent), len(inDoubt), n)
	}
	for id, c := range sent {
		if c != 1 {
			t.Errorf("%s journalled as sent %d times", id, c)
		}
	}
}

// SIGTERM stops a send cleanly: calls in flight finish and are journalled,
// the summary is printed, the exit status is 130, and a rerun completes.
func TestSIGTERMStopsCleanlyAndResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the real binary")
	}
	const n = 2000
	prov := newProvider(t, 3*time.Millisecond)
	dir := t.TempDir()
	cfg, camp := writeSlowCampaign(t, dir, prov.srv.URL, n)
	journal := filepath.Join(dir, "state", "journal.jsonl")

	proc, out := heraldProcess("--config", cfg, "send", camp)
	if err := proc.Start(); err != nil {
		t.Fatal(err)
	}
	waitForSent(t, journal, 200, proc)
	proc.Process.Signal(syscall.SIGTERM)
	if code := exitCodeOf(proc.Wait()); code != 130 {
		t.Fatalf("exit status %d after SIGTERM, want 130: %s", code, out)
	}
	if !strings.Contains(out.String(), "total") {
		t.Errorf("no summary after SIGTERM: %s", out)
	}
	sent, inDoubt := journalStats(t, journal)
	if len(inDoubt) != 0 {
		t.Errorf("a clean stop left %d recipients in doubt", len(inDoubt))
	}
	if len(sent) == n {
		t.Fatalf("SIGTERM came too late: everything was sent")
	}
	rerun, out := heraldProcess("--config", cfg, "send", camp)
	if code := exitCodeOf(rerun.Run()); code != 0 {
		t.Fatalf("rerun exited %d: %s", code, out)
	}
	sent, _ = journalStats(t, journal)
	if len(sent) != n {
		t.Fatalf("%d sent after the rerun, want %d", len(sent), n)
	}
	for id, c := range prov.counts() {
		if c != 1 {
			t.Errorf("provider received %s %d times", id, c)
		}
	}
}
