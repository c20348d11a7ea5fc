package replies

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"

	"herald/campaign"
	"herald/state"
)

const (
	helperEnv     = "HERALD_REPLIES_HELPER_CONFIG"
	helperProcEnv = "HERALD_REPLIES_HELPER_PROC"
	perProcess    = 150 // replies each helper process posts
	helperProcs   = 3
)

// concurrencyConfig keeps its state where the helper processes find it.
func concurrencyConfig(stateDir string) string {
	return fmt.Sprintf(`
state_dir = %q
[channels.telegram]
backend = "telegram"
token = "123456:ABC-DEF"
secret_token = "tg_secret-Token-42"
`, stateDir)
}

// postReplies sends n signed Telegram updates, from 6 goroutines, to a
// Server of its own; update ids start at base so every process's are
// distinct. The texts hold commas, quotes and newlines, so a torn or
// interleaved CSV row would show.
func postReplies(t testing.TB, srv *Server, base, n int) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range 6 {
		wg.Go(func() {
			for i := range next {
				id := base + i
				body := tgMessage(id, int64(4000000+id), fmt.Sprintf("reply %d, \"quoted\"\nline two of %d", id, id))
				r := httptest.NewRequest(http.MethodPost, "/webhooks/telegram", strings.NewReader(body))
				r.Header.Set("X-Telegram-Bot-Api-Secret-Token", telegramSecret)
				rec := httptest.NewRecorder()
				srv.ServeHTTP(rec, r)
				if rec.Code != http.StatusOK {
					t.Errorf("update %d: %d %s", id, rec.Code, rec.Body)
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// TestHelperProcess is one of the other `replies serve` processes of
// TestConcurrentProcessesKeepEveryLine; it does nothing in a normal run.
func TestHelperProcess(t *testing.T) {
	path := os.Getenv(helperEnv)
	if path == "" {
		t.Skip("helper process for TestConcurrentProcessesKeepEveryLine")
	}
	proc, _ := strconv.Atoi(os.Getenv(helperProcEnv))
	cfg, err := campaign.LoadConfig(campaign.Options{ConfigPath: path, Registry: testRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer(ServerOptions{Registry: testRegistry(), Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	postReplies(t, srv, (proc+1)*1000000, perProcess)
}

// Several processes (each a Server, each with many goroutines) append to
// replies.csv while a `send` appends to the journal and the first process
// matches replies to sends written a moment before: every line is whole,
// none is lost, and each reply finds its send.
func TestConcurrentProcessesKeepEveryLine(t *testing.T) {
	if testing.Short() {
		t.Skip("starts helper processes")
	}
	dir := t.TempDir()
	stateDir := dir + "/state"
	cfgPath := dir + "/herald.toml"
	if err := os.WriteFile(cfgPath, []byte(concurrencyConfig(stateDir)), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := campaign.LoadConfig(campaign.Options{ConfigPath: cfgPath, Registry: testRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer(ServerOptions{Registry: testRegistry(), Config: cfg})
	if err != nil {
		t.Fatal(err)
	}

	var helpers []*exec.Cmd
	var outputs []*bytes.Buffer
	for p := range helperProcs {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), helperEnv+"="+cfgPath, helperProcEnv+"="+strconv.Itoa(p))
		out := &bytes.Buffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		helpers, outputs = append(helpers, cmd), append(outputs, out)
	}

	// Meanwhile, in this process: a `send` journals 40 recipients, and
	// each one replies right after its send is durable.
	const sendsHere = 40
	journal := journalAppender{state.OpenFiles(stateDir)}
	var wg sync.WaitGroup
	for i := range sendsHere {
		wg.Go(func() {
			chat := 7000000 + i
			err := journal.Append(state.Entry{Campaign: "conc", Recipient: fmt.Sprintf("r-%d", i), Channel: "telegram",
				Address: strconv.Itoa(chat), Status: state.StatusSent, ProviderID: fmt.Sprintf("%d:1", chat)})
			if err != nil {
				t.Error(err)
				return
			}
			body := tgMessage(i, int64(chat), fmt.Sprintf("answer from r-%d", i))
			r := httptest.NewRequest(http.MethodPost, "/webhooks/telegram", strings.NewReader(body))
			r.Header.Set("X-Telegram-Bot-Api-Secret-Token", telegramSecret)
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, r)
			if rec.Code != http.StatusOK {
				t.Errorf("reply %d: %d", i, rec.Code)
			}
		})
	}
	// And other journal lines keep arriving (attempts of another campaign).
	for i := range 200 {
		wg.Go(func() {
			if err := journal.Append(state.Entry{Campaign: "bulk", Recipient: fmt.Sprintf("b-%d", i), Channel: "telegram", Address: "1", Status: state.StatusAttempt, Attempt: 1}); err != nil {
				t.Error(err)
			}
		})
	}
	postReplies(t, srv, 0+100000, perProcess)
	wg.Wait()
	for i, cmd := range helpers {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("helper %d: %v\n%s", i, err, outputs[i])
		}
	}

	// replies.csv: strictly 9 fields a row (a torn or interleaved row
	// breaks that or the quoting), every id once.
	data, err := os.ReadFile(state.OpenFiles(stateDir).RepliesPath())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(data, []byte("\n")) {
		t.Error("replies.csv does not end with a newline")
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = len(state.ReplyColumns)
	ids := map[string]bool{}
	matched := 0
	header := true
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("replies.csv: %v", err)
		}
		if header {
			header = false
			continue
		}
		if ids[rec[5]] {
			t.Errorf("message %s logged twice", rec[5])
		}
		ids[rec[5]] = true
		id, _ := strconv.Atoi(rec[5])
		switch {
		case id < sendsHere:
			if rec[3] != fmt.Sprintf("r-%d", id) || rec[4] != "conc" {
				t.Errorf("reply %d attributed to %q/%q, want r-%d/conc", id, rec[3], rec[4], id)
			}
			matched++
		default:
			if want := fmt.Sprintf("reply %d, \"quoted\"\nline two of %d", id, id); rec[7] != want {
				t.Errorf("row %d text %q, want %q", id, rec[7], want)
			}
		}
	}
	if want := sendsHere + perProcess*(helperProcs+1); len(ids) != want {
		t.Errorf("replies.csv has %d rows, want %d", len(ids), want)
	}
	if matched != sendsHere {
		t.Errorf("%d replies matched to their send, want %d", matched, sendsHere)
	}

	// The journal: every line whole JSON, none lost.
	lines := bytes.Split(bytes.TrimSuffix(fileContent(t, state.OpenFiles(stateDir).JournalPath()), []byte("\n")), []byte("\n"))
	if len(lines) != sendsHere+200 {
		t.Errorf("journal has %d lines, want %d", len(lines), sendsHere+200)
	}
	for _, l := range lines {
		var e state.Entry
		if err := json.Unmarshal(l, &e); err != nil {
			t.Errorf("journal line is not whole JSON: %q", l)
		}
	}
}

func fileContent(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Concurrent webhooks share journal refreshes, but none may miss a send
// journaled before it arrived: each of many clients journals a send to its
// own number (as a cron `send` would) and at once posts that number's
// reply; every reply must be attributed to its send.
func TestConcurrentRepliesSeeSendsJournaledBeforeThem(t *testing.T) {
	h := newHarness(t, fullConfig, sends...)
	files := state.OpenFiles(h.state)
	const clients, each = 16, 8
	var wg sync.WaitGroup
	errs := make(chan error, clients*each)
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				n := c*each + i
				number := fmt.Sprintf("+62813%07d", n)
				if err := files.AppendJournal(context.Background(), state.Entry{Time: sentAt, Campaign: "late", Recipient: fmt.Sprintf("r-%d", n),
					Channel: "sms", Address: number, Status: state.StatusSent, ProviderID: fmt.Sprintf("SMlate%028d", n), Attempt: 1}); err != nil {
					errs <- err
					return
				}
				r := twilioReq(twilioToken, "/webhooks/twilio", twilioSMS(fmt.Sprintf("SMreply%027d", n), number, "ok"))
				if code, body := h.send(r); code != http.StatusOK {
					errs <- fmt.Errorf("reply %d: status %d: %s", n, code, body)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := 0
	for _, row := range h.replies() {
		if !strings.HasPrefix(row.MessageID, "SMreply") {
			continue
		}
		got++
		want := "r-" + strings.TrimLeft(strings.TrimPrefix(row.From, "+62813"), "0")
		if want == "r-" {
			want = "r-0"
		}
		if row.Campaign != "late" || row.RecipientID != want {
			t.Errorf("reply from %s attributed to %q/%q, want late/%s", row.From, row.Campaign, row.RecipientID, want)
		}
	}
	if got != clients*each {
		t.Errorf("%d replies logged, want %d", got, clients*each)
	}
}
