package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// send --wait stays until a message scheduled for later is due, sends it,
// and exits 0; a plain send leaves it for the next run.
func TestSendWaitSendsScheduledMessagesWhenDue(t *testing.T) {
	dir := t.TempDir()
	start := time.Now().Add(1500 * time.Millisecond).UTC().Format(time.RFC3339)
	write := func(name, body string) {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("herald.toml", "state_dir = \"state\"\n")
	write("campaign.toml", `name = "later"
audience = "people.csv"
templates = "t"
default_locale = "en"
channels = ["email"]
[schedule]
start = "`+start+`"
`)
	write("people.csv", "id,email\na,a@example.com\nb,b@example.com\n")
	write("t/en.toml", "[email]\nsubject = \"Hi\"\ntext = \"Hello {{.id}}\"\n")
	cfg, camp := filepath.Join(dir, "herald.toml"), filepath.Join(dir, "campaign.toml")

	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"herald", "--config", cfg, "send", camp}, stdio{out: &out, err: &errb}); code != 0 {
		t.Fatalf("send exited %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "next message due at") {
		t.Fatalf("plain send should leave the scheduled messages: %s", out.String())
	}

	out.Reset()
	errb.Reset()
	began := time.Now()
	if code := run(context.Background(), []string{"herald", "--config", cfg, "send", "--wait", camp}, stdio{out: &out, err: &errb}); code != 0 {
		t.Fatalf("send --wait exited %d: %s", code, errb.String())
	}
	if time.Since(began) < 500*time.Millisecond {
		t.Errorf("send --wait returned before the start time")
	}
	b, _ := os.ReadFile(filepath.Join(dir, "state", "journal.jsonl"))
	if n := strings.Count(string(b), `"status":"sent"`); n != 2 {
		t.Fatalf("%d sent after --wait, want 2:\n%s\n%s", n, out.String(), errb.String())
	}
	if !strings.Contains(errb.String(), "waiting") {
		t.Errorf("--wait should say what it waits for: %s", errb.String())
	}
}
