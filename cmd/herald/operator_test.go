package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"herald/channels/channeltest"
)

// writeFiles writes name -> text below dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// A wrong Twilio token is the channel's problem, not the customers': the
// run stops the channel with exit 3, the provider's answer and a hint, and
// marks nobody failed; once the token is fixed a plain rerun sends everyone.
func TestWrongTwilioTokenStopsTheChannel(t *testing.T) {
	t.Setenv("HERALD_CONFIG", "")
	tw := channeltest.NewTwilio(t)
	dir := t.TempDir()
	var csv strings.Builder
	csv.WriteString("id,name,phone\n")
	for i := range 12 {
		fmt.Fprintf(&csv, "r-%02d,Customer %d,+1202555%04d\n", i, i, i)
	}
	config := func(token string) string {
		return fmt.Sprintf("state_dir = \"state\"\n[channels.sms]\nbackend = \"twilio\"\napi_url = %q\naccount_sid = %q\nauth_token = %q\nfrom = \"+15550001111\"\n",
			tw.URL(), channeltest.TwilioAccountSID, token)
	}
	writeFiles(t, dir, map[string]string{
		"audience.csv":      csv.String(),
		"templates/en.toml": "[sms]\ntext = \"Hi {{.name}}, your order is late.\"\n",
		"campaign.toml":     "name = \"token\"\naudience = \"audience.csv\"\ntemplates = \"templates\"\ndefault_locale = \"en\"\nchannels = [\"sms\"]\n",
		"herald.toml":       config("not-the-token"),
	})
	cfg, camp := filepath.Join(dir, "herald.toml"), filepath.Join(dir, "campaign.toml")
	code, out, errOut := herald(t, "--config", cfg, "send", camp)
	if code != 3 {
		t.Fatalf("send with a wrong token exited %d, want 3\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"channel sms stopped", "HTTP 401", "hint: check account_sid and auth_token"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if strings.Contains(errOut+out, "not-the-token") {
		t.Error("the token reached the output")
	}
	if tw.Accepted() != 0 || len(tw.Requests()) > 4 {
		t.Errorf("Twilio accepted %d and saw %d requests; a refused account must stop the channel at once", tw.Accepted(), len(tw.Requests()))
	}
	js := readJournalState(t, filepath.Join(dir, "state", "journal.jsonl"))
	if len(js.failed) != 0 || len(js.inDoubt) != 0 {
		t.Errorf("after the refusal: %d failed, %d in doubt; want none (they were never sent)", len(js.failed), len(js.inDoubt))
	}
	writeFiles(t, dir, map[string]string{"herald.toml": config(channeltest.TwilioAuthToken)})
	if code, out, errOut := herald(t, "--config", cfg, "send", camp); code != 0 {
		t.Fatalf("rerun with the right token exited %d\n%s\n%s", code, out, errOut)
	}
	if tw.Accepted() != 12 {
		t.Errorf("Twilio accepted %d after the fix, want all 12", tw.Accepted())
	}
}

// send applies check's per-message rules before every provider call
// (SPEC 4): an e-mail whose subject renders empty is refused for that
// recipient and never reaches the SMTP server; the others go.
func TestSendRefusesAnEmptySubject(t *testing.T) {
	t.Setenv("HERALD_CONFIG", "")
	srv := channeltest.NewSMTP(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"audience.csv":      "id,name,email,topic\nr-1,Ann,ann@example.com,Your order\nr-2,Bo,bo@example.com,\n",
		"templates/en.toml": "[email]\nsubject = \"{{.topic}}\"\ntext = \"Hi {{.name}}\"\n",
		"campaign.toml":     "name = \"subject\"\naudience = \"audience.csv\"\ntemplates = \"templates\"\ndefault_locale = \"en\"\nchannels = [\"email\"]\n",
		"herald.toml":       fmt.Sprintf("state_dir = \"state\"\n[channels.email]\nbackend = \"smtp\"\nurl = %q\nfrom = \"Acme <news@acme.example>\"\n", srv.URL()),
	})
	code, out, errOut := herald(t, "--config", filepath.Join(dir, "herald.toml"), "send", filepath.Join(dir, "campaign.toml"))
	if code != 1 {
		t.Fatalf("send exited %d, want 1 (one recipient refused)\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "the e-mail has no subject") {
		t.Errorf("the refusal does not say why:\n%s", errOut)
	}
	if srv.Count() != 1 {
		t.Errorf("the SMTP server received %d messages, want 1 (the one with a subject)", srv.Count())
	}
	js := readJournalState(t, filepath.Join(dir, "state", "journal.jsonl"))
	if !js.failed["r-2"] || js.sent["r-1"] != 1 {
		t.Errorf("journal: failed %v, sent %v; want r-2 failed and r-1 sent", js.failed, js.sent)
	}
}
