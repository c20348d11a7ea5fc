package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
)

// maxSpamScore is the most SpamAssassin's local rules may give a demo
// e-mail: 5 is the usual threshold for spam, and herald's own headers
// (List-Id beside List-Unsubscribe, a real Message-ID, multipart text and
// HTML) should keep campaign mail far below it.
const maxSpamScore = 1.0

var spamScore = regexp.MustCompile(`(?m)^X-Spam-Status: \w+, score=(-?[0-9]+(?:\.[0-9]+)?)`)

// TestSpamAssassinScoresTheDemo runs Debian's SpamAssassin with local rules
// only (`spamassassin -L -t`: no network tests, no Bayes database to
// train) over every e-mail the demo campaign writes to the outbox.
func TestSpamAssassinScoresTheDemo(t *testing.T) {
	progs := needPrograms(t, false, "spamassassin")
	dir := t.TempDir()
	if err := copyDir("../../testdata/demo", dir); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HERALD_CONFIG", "")
	if code, out, errOut := herald(t, "--config", filepath.Join(dir, "herald.toml"), "send", "--now", e2eNow, filepath.Join(dir, "campaign.toml")); code != 0 {
		t.Fatalf("send to the outbox exited %d\n%s\n%s", code, out, errOut)
	}
	files, err := filepath.Glob(filepath.Join(dir, ".herald", "outbox", demoCampaign, "email", "*.eml"))
	if err != nil || len(files) < 10 {
		t.Fatalf("the demo wrote %d e-mails (%v), want at least 10", len(files), err)
	}
	// SpamAssassin writes user preferences under $HOME on first use.
	home := t.TempDir()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2) // perl start-up is the cost; two at a time
	for _, f := range files {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			in, err := os.Open(f)
			if err != nil {
				t.Error(err)
				return
			}
			defer in.Close()
			cmd := exec.Command(progs["spamassassin"], "-L", "-t")
			cmd.Stdin = in
			cmd.Env = append(os.Environ(), "HOME="+home)
			out, err := cmd.Output()
			if err != nil {
				t.Errorf("spamassassin on %s: %v", filepath.Base(f), err)
				return
			}
			m := spamScore.FindSubmatch(out)
			if m == nil {
				t.Errorf("%s: no X-Spam-Status in spamassassin's output:\n%s", filepath.Base(f), out)
				return
			}
			// List-Unsubscribe without List-Id reads as a half-made
			// mailing list to SpamAssassin (LIST_PARTIAL_SHORT_MSG).
			if bytes.Contains(out, []byte("LIST_PARTIAL")) {
				t.Errorf("%s: SpamAssassin sees an incomplete set of list headers:\n%s", filepath.Base(f), spamReport(out))
			}
			score, _ := strconv.ParseFloat(string(m[1]), 64)
			if score > maxSpamScore {
				t.Errorf("%s scores %.1f with SpamAssassin's local rules, want at most %.1f:\n%s", filepath.Base(f), score, maxSpamScore, spamReport(out))
			} else {
				t.Logf("%s: %.1f", filepath.Base(f), score)
			}
		}()
	}
	wg.Wait()
}

// spamReport is the rule table of spamassassin -t's output.
func spamReport(out []byte) string {
	if i := regexp.MustCompile(`Content analysis details`).FindIndex(out); i != nil {
		return string(out[i[0]:])
	}
	return string(out)
}
