package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"herald/audience/audiencetest"
)

// writeBigCampaign writes a campaign over a generated audience of n rows,
// every channel the outbox (no herald.toml), so a command has real work.
func writeBigCampaign(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "audience.csv"))
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if err := audiencetest.Generate(w, n, 7); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	files := map[string]string{
		"campaign.toml": "name = \"big\"\naudience = \"audience.csv\"\ntemplates = \"t\"\ndefault_locale = \"en\"\nchannels = [\"whatsapp\", \"sms\", \"email\"]\n",
		"t/en.toml": "[default]\ntext = \"Hi {{.name}}, order {{.order_id}} arrives {{date .eta \\\"long\\\"}}.\"\n" +
			"[email]\nsubject = \"Order {{.order_id}}\"\ntext = \"Hi {{.name}}\"\n" +
			"[whatsapp]\ntemplate = \"delay\"\nlanguage = \"en\"\nparams = [\"{{.name}}\"]\n",
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "campaign.toml")
}

// SIGINT stops every long command within a second, with exit 130 (SPEC 2),
// here on a 400,000-row audience that takes far longer than that to check.
func TestSIGINTStopsLongCommandsWithinASecond(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a 400,000-row audience")
	}
	camp := writeBigCampaign(t, 400_000)
	// preview stops reading at its recipient and otherwise only reads, so
	// it is given an audience that stalls: a pipe with a few rows in it
	// that the writer then keeps open, as a slow upstream export would.
	stalled := filepath.Join(filepath.Dir(camp), "stalled.toml")
	fifo := filepath.Join(filepath.Dir(camp), "stalled.csv")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	text, _ := os.ReadFile(camp)
	os.WriteFile(stalled, bytes.Replace(text, []byte(`audience = "audience.csv"`), []byte(`audience = "stalled.csv"`), 1), 0o644)
	go func() {
		w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		defer w.Close()
		fmt.Fprintf(w, "id,name,email,order_id,eta\nc-1,Ann,ann@example.com,A-1,2026-11-25\n")
		time.Sleep(30 * time.Second) // the stall
	}()
	for _, args := range [][]string{
		{"check", camp},
		{"plan", "--now", "2026-11-23T12:00:00Z", camp},
		{"preview", "--id", "no-such-recipient", stalled},
	} {
		t.Run(args[0], func(t *testing.T) {
			cmd, out := heraldProcess(args...)
			cmd.Dir = filepath.Dir(camp)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			// Long enough to be deep in the audience, far shorter than the run.
			select {
			case err := <-exited:
				t.Fatalf("herald %s finished (exit %d) before it could be interrupted; the test needs a longer run:\n%s", args[0], exitCodeOf(err), out)
			case <-time.After(1500 * time.Millisecond):
			}
			sent := time.Now()
			if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-exited:
				took := time.Since(sent)
				if code := exitCodeOf(err); code != exitCancelled {
					t.Fatalf("herald %s exited %d after SIGINT, want 130:\n%s", args[0], code, out)
				}
				if took > time.Second {
					t.Errorf("herald %s took %v to stop after SIGINT, want at most 1s", args[0], took)
				}
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("herald %s still running 10s after SIGINT:\n%s", args[0], out)
			}
		})
	}
}

// The first SIGINT asks for a clean stop, which waits for calls in flight
// (up to the grace period); a second one means "now": herald exits at
// once, with 130.
func TestSecondSignalExitsAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the real binary")
	}
	prov := newProvider(t, 3*time.Second)
	dir := t.TempDir()
	cfg, camp := writeSlowCampaign(t, dir, prov.srv.URL, 20)
	journal := filepath.Join(dir, "state", "journal.jsonl")
	proc, out := heraldProcess("--config", cfg, "send", camp)
	if err := proc.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- proc.Wait() }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(journal)
		if strings.Contains(string(b), `"status":"attempt"`) {
			break
		}
		if time.Now().After(deadline) {
			proc.Process.Kill()
			t.Fatalf("no call started within 10s: %s", out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	proc.Process.Signal(syscall.SIGINT)
	select {
	case err := <-exited:
		t.Fatalf("herald exited (%d) right after the first signal, with calls in flight: %s", exitCodeOf(err), out)
	case <-time.After(500 * time.Millisecond):
	}
	second := time.Now()
	proc.Process.Signal(syscall.SIGINT)
	select {
	case err := <-exited:
		if code := exitCodeOf(err); code != exitCancelled {
			t.Fatalf("exit %d after the second signal, want 130: %s", code, out)
		}
		if took := time.Since(second); took > time.Second {
			t.Errorf("took %v to exit after the second signal", took)
		}
		if !strings.Contains(out.String(), "second signal") {
			t.Errorf("herald should say why it stopped without the clean stop: %s", out)
		}
	case <-time.After(5 * time.Second):
		proc.Process.Kill()
		t.Fatalf("still running 5s after the second signal: %s", out)
	}
}
