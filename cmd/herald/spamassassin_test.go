package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
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
	// One spamassassin over an mbox of every e-mail: perl and the rule
	// set start once, not once per message. Each message is introduced
	// by a "From " line naming its file, which -t's output repeats.
	var mbox bytes.Buffer
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&mbox, "From %s Mon Nov 23 10:00:00 2026\n", filepath.Base(f))
		for _, line := range strings.SplitAfter(strings.ReplaceAll(string(raw), "\r\n", "\n"), "\n") {
			if strings.HasPrefix(line, "From ") {
				mbox.WriteString(">") // mboxo quoting
			}
			mbox.WriteString(line)
		}
		mbox.WriteString("\n")
	}
	cmd := exec.Command(progs["spamassassin"], "-L", "-t", "--mbox")
	cmd.Stdin = &mbox
	// SpamAssassin writes user preferences under $HOME on first use.
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("spamassassin -L -t --mbox: %v", err)
	}
	reports := mboxSeparator.Split(string(out), -1)[1:]
	names := mboxSeparator.FindAllStringSubmatch(string(out), -1)
	if len(reports) != len(files) {
		t.Fatalf("spamassassin answered for %d of %d messages:\n%s", len(reports), len(files), out)
	}
	for i, rep := range reports {
		name := names[i][1]
		m := spamScore.FindStringSubmatch(rep)
		if m == nil {
			t.Errorf("%s: no X-Spam-Status in spamassassin's output:\n%s", name, rep)
			continue
		}
		// List-Unsubscribe without List-Id reads as a half-made mailing
		// list to SpamAssassin (LIST_PARTIAL_SHORT_MSG).
		if strings.Contains(rep, "LIST_PARTIAL") {
			t.Errorf("%s: SpamAssassin sees an incomplete set of list headers:\n%s", name, spamReport(rep))
		}
		score, _ := strconv.ParseFloat(m[1], 64)
		if score > maxSpamScore {
			t.Errorf("%s scores %.1f with SpamAssassin's local rules, want at most %.1f:\n%s", name, score, maxSpamScore, spamReport(rep))
		} else {
			t.Logf("%s: %.1f", name, score)
		}
	}
}

var mboxSeparator = regexp.MustCompile(`(?m)^From (\S+\.eml) .*\n`)

// spamReport is the rule table of spamassassin -t's output.
func spamReport(out string) string {
	if i := strings.Index(out, "Content analysis details"); i >= 0 {
		return out[i:]
	}
	return out
}
