package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"herald/channels/channeltest"
)

// provider is an HTTP provider fake for the exactly-once tests: it counts
// every message it stored per recipient, and can store a message and then
// drop the connection without answering (the answer is lost).
type provider struct {
	srv   *httptest.Server
	delay time.Duration
	// dropAfterStore names recipients whose requests are stored and then
	// answered by closing the connection.
	dropAfterStore map[string]bool

	mu   sync.Mutex
	byID map[string]int
}

func newProvider(t *testing.T, delay time.Duration, drop ...string) *provider {
	p := &provider{byID: map[string]int{}, delay: delay, dropAfterStore: map[string]bool{}}
	for _, id := range drop {
		p.dropAfterStore[id] = true
	}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ ID string }
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.ID == "" {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		time.Sleep(p.delay)
		p.mu.Lock()
		p.byID[body.ID]++
		p.mu.Unlock()
		if p.dropAfterStore[body.ID] {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		fmt.Fprintf(w, `{"id":"m-%s"}`, body.ID)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *provider) counts() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int, len(p.byID))
	for k, v := range p.byID {
		out[k] = v
	}
	return out
}

// journalState is what a journal says: sends per recipient, and the
// recipients in doubt (an attempt with no outcome, or an in-doubt line).
type journalState struct {
	sent    map[string]int
	inDoubt map[string]string // recipient -> killed | lost-response
	failed  map[string]bool
	lines   int
}

func readJournalState(t *testing.T, path string) journalState {
	t.Helper()
	js := journalState{sent: map[string]int{}, inDoubt: map[string]string{}, failed: map[string]bool{}}
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		var e struct{ Recipient, Status string }
		if len(line) == 0 || json.Unmarshal(line, &e) != nil {
			continue // a torn last line left by a kill
		}
		js.lines++
		switch e.Status {
		case "attempt":
			js.inDoubt[e.Recipient] = "killed"
		case "in-doubt":
			js.inDoubt[e.Recipient] = "lost-response"
		case "sent":
			delete(js.inDoubt, e.Recipient)
			delete(js.failed, e.Recipient)
			js.sent[e.Recipient]++
		case "failed":
			delete(js.inDoubt, e.Recipient)
			js.failed[e.Recipient] = true
		case "skipped": // after an attempt: the call never happened
			delete(js.inDoubt, e.Recipient)
		}
	}
	return js
}

func waitForLines(t *testing.T, journal string, status string, n int, proc *exec.Cmd) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	needle := []byte(`"status":"` + status + `"`)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(journal)
		if bytes.Count(b, needle) >= n {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	proc.Process.Kill()
	t.Fatalf("herald did not journal %d %q lines within a minute", n, status)
}

// Two sends of one campaign started together (a cron run that outlasts
// its interval): one sends, the other exits 75 at once naming the holder,
// and every recipient gets exactly one message.
func TestTwoSendsOfOneCampaignSendOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the real binary")
	}
	const n = 1000
	prov := newProvider(t, time.Millisecond)
	dir := t.TempDir()
	cfg, camp := writeSlowCampaign(t, dir, prov.srv.URL, n)

	a, outA := heraldProcess("--config", cfg, "send", camp)
	b, outB := heraldProcess("--config", cfg, "send", camp)
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	codeA, codeB := exitCodeOf(a.Wait()), exitCodeOf(b.Wait())
	codes := []int{codeA, codeB}
	outs := []string{outA.String(), outB.String()}
	if !(codeA == 0 && codeB == 75) && !(codeA == 75 && codeB == 0) {
		t.Fatalf("exit statuses %v, want one 0 and one 75\nA: %s\nB: %s", codes, outs[0], outs[1])
	}
	loser := outs[0]
	if codeB == 75 {
		loser = outs[1]
	}
	host, _ := os.Hostname()
	if !regexp.MustCompile(`pid \d+ on ` + regexp.QuoteMeta(host) + `, started 20\d\d-`).MatchString(loser) {
		t.Errorf("the refused send does not name the holder's pid, host and start time:\n%s", loser)
	}
	got := prov.counts()
	if len(got) != n {
		t.Errorf("the provider got %d recipients, want %d", len(got), n)
	}
	for id, c := range got {
		if c != 1 {
			t.Errorf("the provider received %s %d times", id, c)
		}
	}
}

// The crash gauntlet: a 10,000-recipient send is killed with SIGKILL at 20
// random moments. Nobody is journalled as sent twice, each kill leaves at
// most 2 × concurrency recipients in doubt, and nobody is lost: a plain
// rerun sends everyone else, --retry-in-doubt the rest.
func TestCrashGauntlet(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills the real binary 20 times")
	}
	const (
		n           = 10000
		kills       = 20
		concurrency = 8 // writeSlowCampaign's channel
	)
	prov := newProvider(t, 500*time.Microsecond)
	dir := t.TempDir()
	cfg, camp := writeSlowCampaign(t, dir, prov.srv.URL, n)
	journal := filepath.Join(dir, "state", "journal.jsonl")
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 8))

	maxDoubt, totalDoubt := 0, 0
	for k := range kills {
		before := readJournalState(t, journal)
		proc, out := heraldProcess("--config", cfg, "send", camp)
		if err := proc.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill at a random moment once the run has sent something, so
		// every kill lands mid-send.
		waitForLines(t, journal, "sent", len(before.sent)+1+rng.IntN(200), proc)
		time.Sleep(time.Duration(rng.IntN(3000)) * time.Microsecond)
		proc.Process.Signal(syscall.SIGKILL)
		proc.Wait()
		after := readJournalState(t, journal)
		if len(after.sent) >= n {
			t.Fatalf("kill %d came after the whole audience was sent (output: %s)", k, out)
		}
		newDoubt := len(after.inDoubt) - len(before.inDoubt)
		maxDoubt = max(maxDoubt, newDoubt)
		totalDoubt += newDoubt
		if newDoubt > 2*concurrency {
			t.Errorf("kill %d left %d new recipients in doubt, more than 2 × concurrency (%d)", k, newDoubt, 2*concurrency)
		}
	}
	rerun, out := heraldProcess("--config", cfg, "send", camp)
	rerun.Run()
	mid := readJournalState(t, journal)
	if len(mid.sent)+len(mid.inDoubt) != n {
		t.Fatalf("after a plain rerun: %d sent + %d in doubt, want %d in all (output: %s)", len(mid.sent), len(mid.inDoubt), n, out)
	}
	// Before --retry-in-doubt, nobody reached the provider twice.
	dupBefore := 0
	for _, c := range prov.counts() {
		if c > 1 {
			dupBefore++
		}
	}
	if dupBefore > 0 {
		t.Errorf("%d recipients reached the provider twice before --retry-in-doubt", dupBefore)
	}
	retry, out := heraldProcess("--config", cfg, "send", "--retry-in-doubt", camp)
	if code := exitCodeOf(retry.Run()); code != 0 {
		t.Fatalf("--retry-in-doubt exited %d: %s", code, out)
	}
	final := readJournalState(t, journal)
	for id, c := range final.sent {
		if c != 1 {
			t.Errorf("%s journalled as sent %d times", id, c)
		}
	}
	if len(final.sent) != n || len(final.inDoubt) != 0 {
		t.Fatalf("at the end: %d sent, %d in doubt; want %d and 0", len(final.sent), len(final.inDoubt), n)
	}
	// Only recipients that were in doubt can have reached the provider
	// twice: their first call may have arrived before the kill.
	dupAfter := 0
	for id, c := range prov.counts() {
		if c > 1 {
			dupAfter++
			if _, was := mid.inDoubt[id]; !was {
				t.Errorf("%s reached the provider %d times and was never in doubt", id, c)
			}
		}
	}
	t.Logf("crash gauntlet: %d kills of a %d-recipient send (concurrency %d): in doubt per kill max %d (bound %d), %d in all; lost 0; journalled twice 0; provider duplicates 0 before --retry-in-doubt, %d after it (each a recipient that was in doubt)",
		kills, n, concurrency, maxDoubt, 2*concurrency, totalDoubt, dupAfter)
}

// A provider that stores a message and drops the connection without
// answering: the recipient is in doubt (lost-response), the message is not
// sent again in the run nor by a plain rerun, and plan says why.
func TestLostResponseIsInDoubtAndNeverResentBlindly(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the real binary")
	}
	const n = 20
	prov := newProvider(t, 0, "r-00003", "r-00007")
	dir := t.TempDir()
	cfg, camp := writeSlowCampaign(t, dir, prov.srv.URL, n)
	// Retries on: an unknown outcome must still not be retried.
	text, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, bytes.Replace(text, []byte("retries = 0"), []byte("retries = 4"), 1), 0o644)
	journal := filepath.Join(dir, "state", "journal.jsonl")

	for run := range 2 {
		proc, out := heraldProcess("--config", cfg, "send", camp)
		if code := exitCodeOf(proc.Run()); code != 1 {
			t.Fatalf("run %d exited %d, want 1 (two recipients in doubt): %s", run, code, out)
		}
		if !strings.Contains(out.String(), "in doubt") {
			t.Errorf("run %d does not say that recipients are in doubt: %s", run, out)
		}
		for id, c := range prov.counts() {
			if c != 1 {
				t.Errorf("run %d: the provider has %s %d times", run, id, c)
			}
		}
	}
	js := readJournalState(t, journal)
	if len(js.sent) != n-2 || js.inDoubt["r-00003"] != "lost-response" || js.inDoubt["r-00007"] != "lost-response" {
		t.Fatalf("journal: %d sent, in doubt %v; want %d sent and r-00003, r-00007 lost-response", len(js.sent), js.inDoubt, n-2)
	}
	plan, out := heraldProcess("--config", cfg, "plan", "--format", "csv", camp)
	plan.Run()
	for _, id := range []string{"r-00003", "r-00007"} {
		if !regexp.MustCompile(`(?m)^` + id + `,push,.*,in-doubt,lost-response,`).MatchString(out.String()) {
			t.Errorf("plan does not show %s in doubt with reason lost-response:\n%s", id, out)
		}
	}
}

// A disk that fills mid-run stops the run at once: exit 1 with the cause,
// no recipient counted as failed that was not tried, no torn line that
// breaks a reader; once there is room, a plain rerun finishes and nobody
// is sent twice.
func TestDiskFullStopsTheRun(t *testing.T) {
	if testing.Short() {
		t.Skip("mounts a tmpfs and starts the real binary")
	}
	dir := t.TempDir()
	stateDir := filepath.Join(dir, "state")
	os.MkdirAll(stateDir, 0o700)
	// About 60 journal lines fit: the run fills it early.
	if err := exec.Command("mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", stateDir).Run(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("mounting a small tmpfs (CI runs as root and must be able to): %v", err)
		}
		t.Skipf("cannot mount a tmpfs here (%v): run as root", err)
	}
	t.Cleanup(func() { exec.Command("umount", stateDir).Run() })

	const n = 400
	prov := newProvider(t, 0)
	cfg, camp := writeSlowCampaign(t, dir, prov.srv.URL, n)
	journal := filepath.Join(stateDir, "journal.jsonl")
	proc, out := heraldProcess("--config", cfg, "send", camp)
	code := exitCodeOf(proc.Run())
	if code != 1 || !strings.Contains(out.String(), "no space left on device") {
		t.Fatalf("exit %d, want 1 naming the cause (no space left on device):\n%s", code, out)
	}
	if m := regexp.MustCompile(`(?m)^ +total +\d+ +\d+ +(\d+) `).FindStringSubmatch(out.String()); m == nil || m[1] != "0" {
		t.Errorf("the summary counts failures although nothing was refused by the provider:\n%s", out)
	}
	js := readJournalState(t, journal)
	if len(js.failed) != 0 {
		t.Errorf("%d recipients journalled as failed", len(js.failed))
	}
	if len(prov.counts()) >= n {
		t.Fatalf("the run went on through the whole audience after the disk filled")
	}
	// Every message the provider has is either journalled sent or in
	// doubt: none left without a trace.
	for id := range prov.counts() {
		if js.sent[id] == 0 && js.inDoubt[id] == "" {
			t.Errorf("%s reached the provider but the journal has neither its send nor its attempt", id)
		}
	}

	if err := exec.Command("mount", "-o", "remount,size=8m", stateDir).Run(); err != nil {
		t.Fatal(err)
	}
	rerun, out := heraldProcess("--config", cfg, "send", camp)
	rerun.Run()
	final := readJournalState(t, journal)
	if len(final.sent)+len(final.inDoubt) != n {
		t.Fatalf("after the rerun: %d sent + %d in doubt, want %d (output: %s)", len(final.sent), len(final.inDoubt), n, out)
	}
	for id, c := range prov.counts() {
		if c != 1 {
			t.Errorf("the provider received %s %d times", id, c)
		}
	}
	if len(final.inDoubt) > 2*8 {
		t.Errorf("%d in doubt after the disk filled; at most the calls in flight (2 × concurrency) may be", len(final.inDoubt))
	}
}

// send --retry-in-doubt asks a provider that can tell (Twilio's message
// list) before resending: a message whose answer was lost but that Twilio
// has is journalled as sent and not sent again; nothing reaches the
// customer twice.
func TestRetryInDoubtAsksTwilioFirst(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the real binary")
	}
	t.Setenv("HERALD_CONFIG", "")
	tw := channeltest.NewTwilio(t)
	tw.HangUp(2) // the first two messages are stored, their answers lost
	dir := t.TempDir()
	files := map[string]string{
		"audience.csv":      "id,name,phone\nr-1,Ann,+12025550101\nr-2,Bo,+12025550102\nr-3,Cy,+12025550103\nr-4,Di,+12025550104\n",
		"templates/en.toml": "[sms]\ntext = \"Hi {{.name}}, your order is late.\"\n",
		"campaign.toml":     "name = \"doubt\"\naudience = \"audience.csv\"\ntemplates = \"templates\"\ndefault_locale = \"en\"\nchannels = [\"sms\"]\n",
		"herald.toml": fmt.Sprintf("state_dir = \"state\"\n[channels.sms]\nbackend = \"twilio\"\napi_url = %q\naccount_sid = %q\nauth_token = %q\nfrom = \"+15550001111\"\nconcurrency = 1\n",
			tw.URL(), channeltest.TwilioAccountSID, channeltest.TwilioAuthToken),
	}
	for name, text := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg, camp := filepath.Join(dir, "herald.toml"), filepath.Join(dir, "campaign.toml")
	posts := func() int {
		n := 0
		for _, r := range tw.Requests() {
			if r.Method == http.MethodPost {
				n++
			}
		}
		return n
	}
	if code, out, errOut := herald(t, "--config", cfg, "send", camp); code != 1 {
		t.Fatalf("first send exited %d, want 1 (two in doubt)\n%s\n%s", code, out, errOut)
	}
	js := readJournalState(t, filepath.Join(dir, "state", "journal.jsonl"))
	if len(js.inDoubt) != 2 || posts() != 4 {
		t.Fatalf("after the first send: in doubt %v, %d messages posted; want 2 in doubt and 4 posted", js.inDoubt, posts())
	}
	code, out, errOut := herald(t, "--config", cfg, "send", "--retry-in-doubt", camp)
	if code != 0 {
		t.Fatalf("--retry-in-doubt exited %d\n%s\n%s", code, out, errOut)
	}
	if posts() != 4 {
		t.Errorf("--retry-in-doubt posted %d more messages; Twilio already had them", posts()-4)
	}
	js = readJournalState(t, filepath.Join(dir, "state", "journal.jsonl"))
	if len(js.sent) != 4 || len(js.inDoubt) != 0 {
		t.Errorf("after --retry-in-doubt: %d sent, in doubt %v; want 4 and none", len(js.sent), js.inDoubt)
	}
	for id, c := range js.sent {
		if c != 1 {
			t.Errorf("%s journalled as sent %d times", id, c)
		}
	}
}
