package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"herald/channels"
	"herald/channels/channeltest"
)

// e2eNow is when every demo recipient's send is due (the Americas last).
const e2eNow = "2026-11-23T21:00:00Z"

const demoCampaign = "shipment-delay-2026-11"

// journalLine is one line of journal.jsonl as a user's tools read it.
type journalLine struct {
	Recipient  string `json:"recipient"`
	Channel    string `json:"channel"`
	Address    string `json:"address"`
	Locale     string `json:"locale"`
	Status     string `json:"status"`
	ProviderID string `json:"provider_id"`
	MessageID  string `json:"message_id"`
	Error      string `json:"error"`
	Attempt    int    `json:"attempt"`
}

func readJournal(t *testing.T, stateDir string) []journalLine {
	t.Helper()
	f, err := os.Open(filepath.Join(stateDir, "journal.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []journalLine
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var l journalLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("journal line is not JSON: %s", sc.Text())
		}
		lines = append(lines, l)
	}
	return lines
}

// herald runs the real command line in-process and returns its exit status
// and output.
func herald(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), append([]string{"herald"}, args...), stdio{in: strings.NewReader(""), out: &out, err: &errOut})
	return code, out.String(), errOut.String()
}

// e2eFakes are the providers of the end-to-end test.
type e2eFakes struct {
	smtp     *channeltest.SMTP
	twilio   *channeltest.Twilio
	whatsapp *channeltest.WhatsApp
	line     *channeltest.LINE
	telegram *channeltest.Telegram
}

func (f e2eFakes) counts() string {
	return fmt.Sprintf("smtp %d msgs/%d conns, twilio %d, whatsapp %d, line %d, telegram %d",
		f.smtp.Count(), f.smtp.Conns(), f.twilio.Count(), f.whatsapp.Count(), f.line.Count(), f.telegram.Count())
}

// setupDemo copies the demo campaign into a temporary directory, gives
// c-030 (who has no e-mail or phone) a Telegram chat, lets the campaign use
// Telegram, and writes a herald.toml whose channels are the fakes.
func setupDemo(t *testing.T, f e2eFakes) string {
	t.Helper()
	dir := t.TempDir()
	if err := copyDir("../../testdata/demo", dir); err != nil {
		t.Fatal(err)
	}
	csvPath := filepath.Join(dir, "customers.csv")
	raw, err := os.ReadFile(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	var csv strings.Builder
	for i, line := range strings.Split(strings.TrimRight(string(raw), "\r\n"), "\n") {
		line = strings.TrimRight(line, "\r")
		switch {
		case i == 0:
			line += ",telegram"
		case strings.HasPrefix(line, "c-030,"):
			line += ",987654321"
		default:
			line += ","
		}
		csv.WriteString(line + "\n")
	}
	if err := os.WriteFile(csvPath, []byte(csv.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	campPath := filepath.Join(dir, "campaign.toml")
	camp, err := os.ReadFile(campPath)
	if err != nil {
		t.Fatal(err)
	}
	const from = `channels = ["whatsapp", "line", "sms", "email"]`
	if !bytes.Contains(camp, []byte(from)) {
		t.Fatalf("demo campaign.toml no longer has %s", from)
	}
	camp = bytes.Replace(camp, []byte(from), []byte(`channels = ["whatsapp", "line", "sms", "email", "telegram"]`), 1)
	if err := os.WriteFile(campPath, camp, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`state_dir = "state"
quiet_hours = "21:00-08:00"
public_url = "https://notify.example.com"

[regions]
JP = ["line", "email"]
ID = ["whatsapp", "sms", "email"]
BR = ["whatsapp", "email"]
US = ["sms", "email"]

[channels.email]
backend = "smtp"
url = %q
from = "Acme Support <support@acme.example>"
reply_to = "replies@acme.example"
concurrency = 2

[channels.sms]
backend = "twilio"
api_url = %q
account_sid = %q
auth_token = %q
from = "+15550001111"
max_segments = 3

[channels.whatsapp]
backend = "whatsapp"
api_url = %q
phone_number_id = %q
token = %q

[channels.line]
backend = "line"
api_url = %q
token = %q

[channels.telegram]
backend = "telegram"
api_url = %q
token = %q
`, f.smtp.URL(),
		f.twilio.URL(), channeltest.TwilioAccountSID, channeltest.TwilioAuthToken,
		f.whatsapp.URL(), channeltest.WhatsAppPhoneNumberID, channeltest.WhatsAppToken,
		f.line.URL(), channeltest.LINEToken,
		f.telegram.URL(), channeltest.TelegramToken)
	if err := os.WriteFile(filepath.Join(dir, "herald.toml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestSendThroughProviders runs `herald send` on the demo campaign against
// fakes of every provider: two recipients fall back after permanent
// refusals, a throttled and an unavailable provider are retried into one
// delivery each, every provider gets the bytes its API wants, and a second
// run sends nothing.
func TestSendThroughProviders(t *testing.T) {
	t.Setenv("HERALD_CONFIG", "")
	f := e2eFakes{
		smtp:     channeltest.NewSMTP(t),
		twilio:   channeltest.NewTwilio(t),
		whatsapp: channeltest.NewWhatsApp(t),
		line:     channeltest.NewLINE(t),
		telegram: channeltest.NewTelegram(t),
	}
	f.whatsapp.ApproveTemplate("shipment_delay", 3, "ar", "en", "fr", "id", "it", "ja", "pt_BR")
	f.whatsapp.FailAddress("+6281234567890") // c-001 is not on WhatsApp: 131026
	f.smtp.Reject("giulia.rossi@example.it") // c-005's mailbox is gone: 550
	f.twilio.Throttle(1, 1)                  // Twilio's first answer: 429, Retry-After: 1
	f.line.Unavailable(1)                    // LINE's first answer: 503
	dir := setupDemo(t, f)

	code, stdout, stderr := herald(t, "--config", filepath.Join(dir, "herald.toml"), "send", "--now", e2eNow, filepath.Join(dir, "campaign.toml"))
	if code != 0 {
		t.Fatalf("herald send exited %d\n%s\n%s", code, stdout, stderr)
	}
	// 28 demo recipients plus c-030 on Telegram; 2 through a fallback;
	// c-029 opted out of everything.
	if !regexp.MustCompile(`(?m)^ +total +29 +2 +0 +0 +0 +0 +0 +1$`).MatchString(stdout) {
		t.Errorf("summary:\n%s\nwant total 29 sent, 2 via fallback, 1 skipped", stdout)
	}

	journal := readJournal(t, filepath.Join(dir, "state"))
	byRecipient := map[string][]journalLine{}
	for _, l := range journal {
		byRecipient[l.Recipient] = append(byRecipient[l.Recipient], l)
	}
	type step struct {
		status, channel, address string
		attempt                  int
		errHas                   string
	}
	expectSteps := func(id string, want []step) []journalLine {
		t.Helper()
		got := byRecipient[id]
		if len(got) != len(want) {
			t.Errorf("%s: journal has %d lines, want %d: %+v", id, len(got), len(want), got)
			return got
		}
		for i, w := range want {
			g := got[i]
			if g.Status != w.status || g.Channel != w.channel || g.Address != w.address || g.Attempt != w.attempt ||
				!strings.Contains(g.Error, w.errHas) {
				t.Errorf("%s line %d: %+v\nwant %+v", id, i+1, g, w)
			}
		}
		return got
	}
	// c-001: WhatsApp says 131026, so the SMS fallback (Twilio) sends it.
	c001 := expectSteps("c-001", []step{
		{"attempt", "whatsapp", "+6281234567890", 1, ""},
		{"failed", "whatsapp", "+6281234567890", 1, "131026"},
		{"attempt", "sms", "+6281234567890", 2, ""},
		{"sent", "sms", "+6281234567890", 2, ""},
	})
	// c-005: the mailbox is refused with 550, so WhatsApp sends it.
	c005 := expectSteps("c-005", []step{
		{"attempt", "email", "giulia.rossi@example.it", 1, ""},
		{"failed", "email", "giulia.rossi@example.it", 1, "550"},
		{"attempt", "whatsapp", "+393471234567", 2, ""},
		{"sent", "whatsapp", "+393471234567", 2, ""},
	})
	// c-008: LINE was unavailable once; the retry inside the send is not a
	// new attempt, and the message went once.
	expectSteps("c-008", []step{
		{"attempt", "line", "U4af4980629a0b1c2d3e4f5a6b7c8d9e0", 1, ""},
		{"sent", "line", "U4af4980629a0b1c2d3e4f5a6b7c8d9e0", 1, ""},
	})
	expectSteps("c-030", []step{
		{"attempt", "telegram", "987654321", 1, ""},
		{"sent", "telegram", "987654321", 1, ""},
	})
	sentTo := map[string]journalLine{} // by channel + address
	for id, lines := range byRecipient {
		n, skipped := 0, 0
		for _, l := range lines {
			switch l.Status {
			case "sent":
				n++
				sentTo[l.Channel+" "+l.Address] = l
			case "skipped":
				skipped++
			}
		}
		if id == "c-029" { // opted out of everything: never contacted
			if n != 0 || skipped != len(lines) {
				t.Errorf("c-029 opted out of all channels, the journal has %+v", lines)
			}
			continue
		}
		if n != 1 {
			t.Errorf("%s: %d sent lines, want exactly 1", id, n)
		}
	}

	// Twilio: one 429, then that number again after the Retry-After; every
	// number accepted exactly once; numbers form-encoded with %2B.
	var throttled *channeltest.Request
	accepted := map[string]int{}
	reqs := f.twilio.Requests()
	for i, r := range reqs {
		if r.Status == 429 {
			if throttled != nil {
				t.Errorf("more than one 429 from Twilio")
			}
			throttled = &reqs[i]
		}
		if r.Accepted {
			accepted[r.To]++
			if l, ok := sentTo["sms "+r.To]; !ok || l.ProviderID != jsonField(t, r, "sid") {
				t.Errorf("Twilio accepted %s as %s, journal says %+v", r.To, jsonField(t, r, "sid"), l)
			}
		}
		if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/x-www-form-urlencoded" {
			t.Errorf("Twilio request with Content-Type %q", ct)
		}
		if bytes.Contains(r.Body, []byte("To=+")) || !bytes.Contains(r.Body, []byte("From=%2B15550001111")) {
			t.Errorf("Twilio form not percent-encoded: %s", r.Body)
		}
	}
	if throttled == nil {
		t.Fatal("Twilio never answered 429")
	}
	var retried bool
	for _, r := range reqs {
		if r.To == throttled.To && r.Accepted {
			retried = true
			if gap := r.Time.Sub(throttled.Time); gap < time.Second {
				t.Errorf("retried %s after %v, before Twilio's Retry-After of 1s", r.To, gap)
			}
		}
	}
	if !retried {
		t.Errorf("the throttled message to %s was never retried", throttled.To)
	}
	for to, n := range accepted {
		if n != 1 {
			t.Errorf("Twilio accepted %d messages to %s", n, to)
		}
	}
	if len(reqs) != len(accepted)+1 {
		t.Errorf("Twilio got %d requests for %d numbers, want one extra for the 429", len(reqs), len(accepted))
	}
	c001SMS := findRequest(t, reqs, "+6281234567890")
	if !bytes.Contains(c001SMS.Body, []byte("To=%2B6281234567890")) {
		t.Errorf("c-001's SMS form: %s", c001SMS.Body)
	}
	if c001[3].ProviderID == "" {
		t.Error("c-001: no Twilio sid in the journal")
	}

	// WhatsApp: Meta's template message, language as an object with pt_BR.
	waReqs := f.whatsapp.Requests()
	ana := findRequest(t, waReqs, "5511987654321")
	wantAna := `{"messaging_product":"whatsapp","recipient_type":"individual","to":"5511987654321","type":"template","template":{"name":"shipment_delay","language":{"code":"pt_BR","policy":"deterministic"},"components":[{"type":"body","parameters":[{"type":"text","text":"Ana Souza"},{"type":"text","text":"D-4001"},{"type":"text","text":"27 de novembro de 2026"}]}]}}`
	if string(ana.Body) != wantAna {
		t.Errorf("c-011's WhatsApp request\n got %s\nwant %s", ana.Body, wantAna)
	}
	if ana.Header.Get("Authorization") != "Bearer "+channeltest.WhatsAppToken {
		t.Error("WhatsApp request without the bearer token")
	}
	if r := findRequest(t, waReqs, "6281234567890"); r.Code != "131026" {
		t.Errorf("c-001's WhatsApp answer %s, want 131026", r.Code)
	}
	if r := findRequest(t, waReqs, "393471234567"); !r.Accepted || c005[3].ProviderID != jsonPath(t, r, "messages", "id") {
		t.Errorf("c-005's fallback WhatsApp request: %+v, journal %+v", r, c005[3])
	}

	// LINE: 503 then 200, both with the same retry key: the UUIDv5 of
	// campaign and recipient.
	lineReqs := f.line.Requests()
	if len(lineReqs) != 2 || lineReqs[0].Status != 503 || lineReqs[1].Status != 200 {
		t.Fatalf("LINE requests: %+v, want 503 then 200", lineReqs)
	}
	keys := f.line.RetryKeys()
	key, err := uuid.Parse(keys[0])
	if err != nil || key.Version() != 5 || keys[1] != keys[0] || keys[0] != channels.IdempotencyKey(demoCampaign, "c-008") {
		t.Errorf("X-Line-Retry-Key %q, want the same UUIDv5 %s on both", keys, channels.IdempotencyKey(demoCampaign, "c-008"))
	}
	if !bytes.HasPrefix(lineReqs[1].Body, []byte(`{"to":"U4af4980629a0b1c2d3e4f5a6b7c8d9e0","messages":[{"type":"text","text":"Yuki Tanaka`)) {
		t.Errorf("LINE body: %s", lineReqs[1].Body)
	}

	// Telegram: c-030's chat id as a JSON number.
	tgReqs := f.telegram.Requests()
	if len(tgReqs) != 1 || !tgReqs[0].Accepted || !bytes.HasPrefix(tgReqs[0].Body, []byte(`{"chat_id":987654321,"text":"Bonjour Pierre Moreau`)) {
		t.Errorf("Telegram requests: %+v", tgReqs)
	}

	// SMTP: every e-mail recipient got one RFC 5322 message with one-click
	// unsubscribe, its Message-ID in the journal; c-005 got none.
	msgs := f.smtp.Messages()
	dec := mime.WordDecoder{}
	for _, m := range msgs {
		to := m.To[0]
		l, ok := sentTo["email "+to]
		if !ok {
			t.Errorf("SMTP got a message to %s, the journal has no e-mail sent to it", to)
			continue
		}
		if m.From != "support@acme.example" || len(m.To) != 1 {
			t.Errorf("%s: envelope %s -> %v", l.Recipient, m.From, m.To)
		}
		if got := m.Header.Get("Message-Id"); got != l.MessageID || got == "" {
			t.Errorf("%s: Message-ID %q, journal %q", l.Recipient, got, l.MessageID)
		}
		if !regexp.MustCompile(`^<https://notify\.example\.com/unsubscribe/[A-Za-z0-9._-]+>$`).MatchString(m.Header.Get("List-Unsubscribe")) ||
			m.Header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
			t.Errorf("%s: List-Unsubscribe %q, List-Unsubscribe-Post %q", l.Recipient, m.Header.Get("List-Unsubscribe"), m.Header.Get("List-Unsubscribe-Post"))
		}
		if l.Recipient == "c-018" {
			subj, err := dec.DecodeHeader(m.Header.Get("Subject"))
			if err != nil || subj != "Votre commande F-6001 est retardée" {
				t.Errorf("c-018 subject %q (%v)", subj, err)
			}
		}
	}
	emailSent := 0
	for k := range sentTo {
		if strings.HasPrefix(k, "email ") {
			emailSent++
		}
	}
	if len(msgs) != emailSent || emailSent == 0 {
		t.Errorf("SMTP accepted %d messages, the journal has %d e-mails sent", len(msgs), emailSent)
	}
	if f.smtp.Conns() > 2 {
		t.Errorf("%d SMTP connections for concurrency 2: sessions are not reused", f.smtp.Conns())
	}

	// A second run (the next cron tick) sends nothing and calls nobody.
	before := f.counts()
	code, stdout, stderr = herald(t, "--config", filepath.Join(dir, "herald.toml"), "send", "--now", e2eNow, filepath.Join(dir, "campaign.toml"))
	if code != 0 {
		t.Fatalf("second herald send exited %d\n%s\n%s", code, stdout, stderr)
	}
	if !regexp.MustCompile(`(?m)^ +total +0 +0 +0 +0 +0 +29 +0 +1$`).MatchString(stdout) {
		t.Errorf("second summary:\n%s\nwant 29 already sent", stdout)
	}
	if after := f.counts(); after != before {
		t.Errorf("the rerun contacted providers: before %s, after %s", before, after)
	}
	if n := len(readJournal(t, filepath.Join(dir, "state"))); n != len(journal) {
		t.Errorf("the rerun wrote %d journal lines", n-len(journal))
	}
}

func findRequest(t *testing.T, reqs []channeltest.Request, to string) channeltest.Request {
	t.Helper()
	for _, r := range reqs {
		if r.To == to {
			return r
		}
	}
	t.Fatalf("no request to %s", to)
	return channeltest.Request{}
}

// jsonField reads a top-level string field of the answer to a request.
func jsonField(t *testing.T, r channeltest.Request, name string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Answer, &m); err != nil {
		t.Fatalf("answer to %s is not JSON: %s", r.To, r.Answer)
	}
	s, _ := m[name].(string)
	return s
}

// jsonPath reads answer[a][0][b] (WhatsApp's messages[0].id).
func jsonPath(t *testing.T, r channeltest.Request, a, b string) string {
	t.Helper()
	var m map[string]json.RawMessage
	var list []map[string]any
	if json.Unmarshal(r.Answer, &m) != nil || json.Unmarshal(m[a], &list) != nil || len(list) == 0 {
		t.Fatalf("answer to %s has no %s: %s", r.To, a, r.Answer)
	}
	s, _ := list[0][b].(string)
	return s
}

// TestRateLimit sends 200 SMS through a channel with rate = "20/s" to a
// fake that answers at once: after the token bucket's initial burst (20),
// the provider sees 20 requests a second, within 5%.
func TestRateLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("takes about 9 seconds")
	}
	t.Setenv("HERALD_CONFIG", "")
	tw := channeltest.NewTwilio(t)
	dir := t.TempDir()
	const n, perSec = 200, 20
	var csv strings.Builder
	csv.WriteString("id,name,phone,locale,timezone\n")
	for i := range n {
		fmt.Fprintf(&csv, "r-%03d,Customer %d,+1202555%04d,en,UTC\n", i, i, i)
	}
	files := map[string]string{
		"audience.csv": csv.String(),
		"templates/en.toml": `[sms]
text = "Hi {{.name}}, your order is late."
`,
		"campaign.toml": `name = "rate-test"
audience = "audience.csv"
templates = "templates"
default_locale = "en"
channels = ["sms"]

[schedule]
start = "2026-11-23T10:00:00Z"
`,
		"herald.toml": fmt.Sprintf(`state_dir = "state"

[channels.sms]
backend = "twilio"
api_url = %q
account_sid = %q
auth_token = %q
from = "+15550001111"
rate = "%d/s"
concurrency = 4
`, tw.URL(), channeltest.TwilioAccountSID, channeltest.TwilioAuthToken, perSec),
	}
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, stdout, stderr := herald(t, "--config", filepath.Join(dir, "herald.toml"), "--quiet", "send", "--now", "2026-11-23T10:00:00Z", filepath.Join(dir, "campaign.toml"))
	if code != 0 {
		t.Fatalf("herald send exited %d\n%s\n%s", code, stdout, stderr)
	}
	reqs := tw.Requests()
	if len(reqs) != n || tw.Accepted() != n {
		t.Fatalf("Twilio got %d requests, accepted %d; want %d", len(reqs), tw.Accepted(), n)
	}
	times := make([]time.Time, n)
	for i, r := range reqs {
		times[i] = r.Time
	}
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	burst := perSec // the bucket starts full: ParseRate makes the burst the count
	steady := times[burst:]
	rate := float64(len(steady)-1) / steady[len(steady)-1].Sub(steady[0]).Seconds()
	t.Logf("burst: %d requests in %v; then %.2f requests/s over %v",
		burst, times[burst-1].Sub(times[0]), rate, steady[len(steady)-1].Sub(steady[0]))
	if rate < perSec*0.95 || rate > perSec*1.05 {
		t.Errorf("observed %.2f requests/s at the provider, want %d/s ± 5%%", rate, perSec)
	}
	if d := times[burst-1].Sub(times[0]); d > time.Second {
		t.Errorf("the initial burst of %d took %v", burst, d)
	}
}
