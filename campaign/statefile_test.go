package campaign

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestAppendHelperProcess is not a test: it is the body of the appender
// processes started by TestConcurrentProcessesKeepEveryLineWhole.
func TestAppendHelperProcess(t *testing.T) {
	dir, who := os.Getenv("HERALD_APPEND_DIR"), os.Getenv("HERALD_APPEND_WHO")
	if dir == "" {
		t.Skip("runs only as a helper process")
	}
	j := OpenJournal(dir)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < 200; i += 4 {
				if err := j.Append(Entry{Campaign: who, Recipient: fmt.Sprintf("r%d", i), Status: StatusSent, Error: strings.Repeat("x", i*7)}); err != nil {
					panic(err)
				}
			}
		}()
	}
	for i := range 50 {
		if err := AddSuppression(dir, Suppression{Address: fmt.Sprintf("%s-%d@example.com", who, i), Channel: "email", Reason: "test"}); err != nil {
			panic(err)
		}
		if err := AppendReplies(dir, Reply{ReceivedAt: time.Now(), Channel: "sms", From: who, RecipientID: fmt.Sprint(i), Text: "line one\nline, \"two\""}); err != nil {
			panic(err)
		}
	}
	wg.Wait()
}

// Several herald processes (a cron send, replies serve, replies fetch)
// append to the same state files at once: every line must arrive whole and
// none may be lost.
func TestConcurrentProcessesKeepEveryLineWhole(t *testing.T) {
	dir := t.TempDir()
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

	seen := map[string]bool{}
	err := ReadLines(JournalPath(dir), func(n int, line []byte) error {
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
	sups, err := ListSuppressions(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(sups) != procs*50 {
		t.Fatalf("%d suppressions, want %d", len(sups), procs*50)
	}
	n := 0
	if err := ReadReplies(dir, func(r Reply) error {
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
}

// A crash can leave the last line torn. Readers skip it, and the next
// append starts on a fresh line so nothing after it is lost.
func TestTornLastLineIsSkippedAndRepaired(t *testing.T) {
	dir := t.TempDir()
	path := JournalPath(dir)
	j := OpenJournal(dir)
	if err := j.Append(Entry{Campaign: "c", Recipient: "a", Status: StatusSent}); err != nil {
		t.Fatal(err)
	}
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"campaign":"c","recipient":"b","sta`)
	f.Close()

	ix, err := LoadIndex(dir, "c", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if !ix.Lookup("a").Sent || ix.Lookup("b").Sent {
		t.Fatalf("index after a torn line: a=%+v b=%+v", ix.Lookup("a"), ix.Lookup("b"))
	}
	if err := j.Append(Entry{Campaign: "c", Recipient: "b", Status: StatusSent}); err != nil {
		t.Fatal(err)
	}
	ix, _ = LoadIndex(dir, "c", time.Time{})
	if !ix.Lookup("b").Sent {
		t.Fatal("the entry appended after a torn line was lost")
	}
	if ix.Skipped != 1 {
		t.Fatalf("skipped %d unparseable lines, want the 1 torn one", ix.Skipped)
	}
	b, _ := os.ReadFile(filepath.Clean(path))
	if !strings.HasSuffix(string(b), "\n") {
		t.Fatal("journal does not end with a newline")
	}
}

func TestIndexOutcomes(t *testing.T) {
	ix := &Index{campaign: "c", recs: map[uint64]recState{}, recent: map[uint64][]time.Time{}}
	for _, e := range []Entry{
		{Campaign: "c", Recipient: "sent", Status: StatusAttempt},
		{Campaign: "c", Recipient: "sent", Status: StatusSent},
		{Campaign: "c", Recipient: "doubt", Status: StatusAttempt},
		{Campaign: "c", Recipient: "temp", Status: StatusAttempt},
		{Campaign: "c", Recipient: "temp", Status: StatusFailed, Temporary: true},
		{Campaign: "c", Recipient: "perm", Status: StatusAttempt},
		{Campaign: "c", Recipient: "perm", Status: StatusFailed},
		{Campaign: "c", Recipient: "fallback", Status: StatusAttempt},
		{Campaign: "c", Recipient: "fallback", Status: StatusFailed},
		{Campaign: "c", Recipient: "fallback", Status: StatusAttempt},
		{Campaign: "c", Recipient: "fallback", Status: StatusSent},
		{Campaign: "other", Recipient: "doubt", Status: StatusSent},
	} {
		ix.Add(e)
	}
	for id, want := range map[string]Outcome{
		"sent":     {Sent: true, Attempts: 1},
		"doubt":    {InDoubt: true, Attempts: 1},
		"temp":     {Failed: true, Temporary: true, Attempts: 1},
		"perm":     {Failed: true, Attempts: 1},
		"fallback": {Sent: true, Attempts: 2},
		"never":    {},
	} {
		if got := ix.Lookup(id); got != want {
			t.Errorf("%s: %+v, want %+v", id, got, want)
		}
	}
}
