package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/schollz/progressbar/v3"

	"herald/campaign"
	"herald/channels/builtin"
)

// With one channel sending for real and one falling back to the outbox,
// the summary marks the outbox row and counts its messages apart: an
// operator never reads "sent" for messages that stayed on the machine.
func TestSummarySeparatesOutboxFromSent(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "herald.toml")
	toml := "[channels.push]\nbackend = \"webhook\"\nurl = \"https://push.example.com/notify\"\naddress = \"device\"\n"
	if err := os.WriteFile(path, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := campaign.LoadConfig(campaign.Options{ConfigPath: path, Registry: builtin.Registry()})
	if err != nil {
		t.Fatal(err)
	}
	defer cfg.Close()
	if n := cfg.OutboxNotices([]string{"push", "sms"}); len(n) != 1 || !strings.Contains(n[0], "channel sms has no [channels.sms]") {
		t.Fatalf("notices = %q, want one for sms only", n)
	}
	sum := &campaign.Summary{ByChannel: map[string]*campaign.Counts{
		"push": {Sent: 5},
		"sms":  {Sent: 3},
	}, Totals: campaign.Counts{Sent: 8}}
	var out bytes.Buffer
	printSummary(stdio{out: &out}, cfg, sum, false)
	text := out.String()
	for _, want := range []string{
		`(?m)^ +CHANNEL +SENT/TO OUTBOX `,
		`(?m)^ +push +5 `,
		`(?m)^ +sms \(outbox\) +3 `,
		`(?m)^5 sent, 3 written to outbox in .*outbox \(not sent\)$`,
	} {
		if !regexp.MustCompile(want).MatchString(text) {
			t.Errorf("summary lacks %s:\n%s", want, text)
		}
	}
}

// Log lines written while the progress bar runs go above it: the bar's
// line is cleared first and the bar, with its total, drawn again below.
func TestLogLinesDoNotOverwriteTheProgressBar(t *testing.T) {
	var term bytes.Buffer
	bar := progressbar.NewOptions(10, progressbar.OptionSetWriter(&term), progressbar.OptionShowCount(), progressbar.OptionSetDescription("sending"))
	_ = bar.Add(3)
	w := &aboveBar{bar: bar, w: &term}
	if _, err := w.Write([]byte("level=WARN msg=failed recipient=r1\n")); err != nil {
		t.Fatal(err)
	}
	screen := term.String()
	i := strings.LastIndex(screen, "level=WARN")
	if i < 0 {
		t.Fatalf("log line missing: %q", screen)
	}
	// The bar's line is wiped (carriage return, then blanks, then a carriage
	// return) just before the log line starts...
	if !regexp.MustCompile(`\r +\r$`).MatchString(screen[:i]) {
		t.Errorf("the bar's line is not cleared before the log line: %q", screen[:i])
	}
	// ...and the bar comes back, with its count and total, after it.
	if after := screen[i:]; !strings.Contains(after, "\n") || !strings.Contains(after[strings.Index(after, "\n"):], "(3/10") {
		t.Errorf("the bar is not drawn again below the log line: %q", after)
	}
}
