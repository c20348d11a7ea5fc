package replies

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"herald/campaign"
	"herald/channels"
	"herald/channels/builtin"
	"herald/state"
)

// The provider secrets of the test configuration. The signatures below are
// computed from PROVIDERS.md's algorithms, independently of the backends'
// own code, so a backend that signs the wrong bytes fails here.
const (
	publicURL      = "https://notify.example.com"
	twilioToken    = "twilio-auth-token-0123456789abcdef"
	vonageSecret   = "vonage-signature-secret"
	metaAppSecret  = "meta-app-secret-abc"
	metaVerify     = "verify-me-please"
	telegramSecret = "tg_secret-Token-42"
	lineSecret     = "line-channel-secret-xyz"
	lineUser       = "U4af4980629a0b3c1d2e3f4a5b6c7d8e9"
)

// fullConfig has one channel per webhook backend, all with their secrets.
const fullConfig = `
state_dir = "state"
public_url = "https://notify.example.com"

[channels.sms]
backend = "twilio"
account_sid = "AC0123456789abcdef0123456789abcdef"
auth_token = "${TWILIO_AUTH_TOKEN}"
from = "+15550001111"

[channels.vsms]
backend = "vonage"
api_key = "abcd1234"
api_secret = "api-secret"
from = "Acme"
signature_secret = "${VONAGE_SIGNATURE_SECRET}"

[channels.whatsapp]
backend = "whatsapp"
phone_number_id = "106540352242922"
token = "meta-access-token"
app_secret = "${WHATSAPP_APP_SECRET}"
verify_token = "verify-me-please"

[channels.telegram]
backend = "telegram"
token = "123456:ABC-DEF"
secret_token = "tg_secret-Token-42"

[channels.line]
backend = "line"
token = "line-access-token"
channel_secret = "line-channel-secret-xyz"

[channels.mail]
backend = "outbox"
kind = "email"
`

// testRegistry is the registry herald ships, as cmd/herald passes it.
func testRegistry() *channels.Registry { return builtin.Registry() }

// loadTestConfig writes herald.toml into a fresh directory and loads it as
// the command does.
func loadTestConfig(t testing.TB, text string) *campaign.Config {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "herald.toml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TWILIO_AUTH_TOKEN", twilioToken)
	t.Setenv("VONAGE_SIGNATURE_SECRET", vonageSecret)
	t.Setenv("WHATSAPP_APP_SECRET", metaAppSecret)
	cfg, err := campaign.LoadConfig(campaign.Options{ConfigPath: path, Registry: testRegistry()})
	if err != nil {
		t.Fatalf("loading config: %v", err)
	}
	return cfg
}

var sentAt = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// sends is the journal of the test: what herald sent, as `send` writes it.
var sends = []state.Entry{
	// c-001 got the intro first, then the delay notice: a reply is
	// attributed to the last send to that number.
	{Campaign: "intro", Recipient: "c-001", Channel: "sms", Address: "+6281234567890", Locale: "id", Status: state.StatusSent, ProviderID: "SM00000000000000000000000000000001", Attempt: 1},
	{Campaign: "delay", Recipient: "c-001", Channel: "sms", Address: "+6281234567890", Locale: "id", Status: state.StatusSent, ProviderID: "SM00000000000000000000000000000002", Attempt: 1},
	{Campaign: "delay", Recipient: "c-002", Channel: "vsms", Address: "+393401234567", Locale: "it", Status: state.StatusSent, ProviderID: "0A0000000123ABCD1,0A0000000123ABCD2", Attempt: 1},
	{Campaign: "intro", Recipient: "c-003", Channel: "whatsapp", Address: "+16315551234", Locale: "en", Status: state.StatusSent, ProviderID: "wamid.INTRO", Attempt: 1},
	{Campaign: "delay", Recipient: "c-003", Channel: "whatsapp", Address: "+16315551234", Locale: "en", Status: state.StatusSent, ProviderID: "wamid.DELAY", Attempt: 1},
	{Campaign: "delay", Recipient: "c-004", Channel: "telegram", Address: "987654321", Locale: "ru", Status: state.StatusSent, ProviderID: "987654321:55", Attempt: 1},
	{Campaign: "delay", Recipient: "c-005", Channel: "line", Address: lineUser, Locale: "ja", Status: state.StatusSent, ProviderID: "468789577898262530", Attempt: 1},
	{Campaign: "delay", Recipient: "c-006", Channel: "mail", Address: "alice@example.com", Locale: "en", Status: state.StatusSent, MessageID: "<c.delay.r6@notify.acme.example>", Attempt: 1},
}

func writeJournal(t testing.TB, stateDir string, entries ...state.Entry) {
	t.Helper()
	for i := range entries {
		if entries[i].Time.IsZero() {
			entries[i].Time = sentAt.Add(time.Duration(i) * time.Minute)
		}
	}
	if err := state.OpenFiles(stateDir).AppendJournal(context.Background(), entries...); err != nil {
		t.Fatal(err)
	}
}

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// harness is a Server built from a real configuration and journal, behind
// a real HTTP server on 127.0.0.1.
type harness struct {
	t     *testing.T
	cfg   *campaign.Config
	state string
	srv   *Server
	url   string
	logs  *syncBuffer
}

func newHarness(t *testing.T, configText string, journal ...state.Entry) *harness {
	t.Helper()
	cfg := loadTestConfig(t, configText)
	if len(journal) > 0 {
		writeJournal(t, cfg.StateDir, journal...)
	}
	logs := &syncBuffer{}
	srv, err := NewServer(ServerOptions{Registry: testRegistry(), Config: cfg, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return &harness{t: t, cfg: cfg, state: cfg.StateDir, srv: srv, url: ts.URL, logs: logs}
}

// wreq is a request as a provider would send it.
type wreq struct {
	method, path string
	header       http.Header
	body         []byte
}

func (h *harness) send(r wreq) (int, string) {
	h.t.Helper()
	method := r.method
	if method == "" {
		method = http.MethodPost
	}
	req, err := http.NewRequest(method, h.url+r.path, bytes.NewReader(r.body))
	if err != nil {
		h.t.Fatal(err)
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (h *harness) mustSend(r wreq) string {
	h.t.Helper()
	code, body := h.send(r)
	if code != http.StatusOK {
		h.t.Fatalf("%s %s: status %d, want 200: %s\nlog:\n%s", r.method, r.path, code, body, h.logs)
	}
	return body
}

func (h *harness) replies() []state.Reply {
	h.t.Helper()
	var rows []state.Reply
	if err := state.OpenFiles(h.state).ReadReplies(context.Background(), func(r state.Reply) error {
		rows = append(rows, r)
		return nil
	}); err != nil {
		h.t.Fatal(err)
	}
	return rows
}

func (h *harness) suppressed(address, channel string) bool {
	h.t.Helper()
	s, err := state.OpenFiles(h.state).Suppressions(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	return s.Suppressed(address, channel)
}

func (h *harness) journal() []state.Entry {
	h.t.Helper()
	var out []state.Entry
	if _, err := state.OpenFiles(h.state).ReadJournalTorn(context.Background(), func(e state.Entry) error {
		out = append(out, e)
		return nil
	}); err != nil {
		h.t.Fatal(err)
	}
	return out
}

// fileBytes returns a state file's content ("" when it does not exist), to
// prove a refused request changed nothing.
func fileBytes(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(b)
}

// --- Signatures, from PROVIDERS.md -------------------------------------

// twilioSign: the full URL, then each POST parameter's name and value,
// names sorted, HMAC-SHA1 with the auth token, standard Base64.
func twilioSign(token, fullURL string, params url.Values) string {
	var b strings.Builder
	b.WriteString(fullURL)
	names := make([]string, 0, len(params))
	for n := range params {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		vals := append([]string(nil), params[n]...)
		sort.Strings(vals)
		for _, v := range vals {
			b.WriteString(n + v)
		}
	}
	m := hmac.New(sha1.New, []byte(token))
	m.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// vonageSign (md5hash): "&name=value" for every parameter but sig, sorted,
// with & and = in values replaced by _, then the secret; lowercase hex MD5.
func vonageSign(secret string, params url.Values) string {
	names := make([]string, 0, len(params))
	for n := range params {
		if n != "sig" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		v := strings.NewReplacer("&", "_", "=", "_").Replace(params.Get(n))
		b.WriteString("&" + n + "=" + v)
	}
	sum := md5.Sum([]byte(b.String() + secret))
	return hex.EncodeToString(sum[:])
}

// metaSign: "sha256=" + lowercase hex HMAC-SHA256 of the raw body.
func metaSign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// lineSign: Base64 HMAC-SHA256 of the raw body with the channel secret.
func lineSign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// --- Provider requests ------------------------------------------------

func formHeader() http.Header {
	return http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
}

// twilioReq is an incoming SMS (or status callback) exactly as Twilio
// posts it to public_url + path, signed with token.
func twilioReq(token, path string, p url.Values) wreq {
	h := formHeader()
	h.Set("X-Twilio-Signature", twilioSign(token, publicURL+path, p))
	h.Set("User-Agent", "TwilioProxy/1.1")
	return wreq{path: path, header: h, body: []byte(p.Encode())}
}

func twilioSMS(sid, from, body string) url.Values {
	return url.Values{
		"ToCountry": {"US"}, "ToState": {"CA"}, "SmsMessageSid": {sid}, "NumMedia": {"0"},
		"ToCity": {""}, "FromZip": {""}, "SmsSid": {sid}, "FromState": {""}, "SmsStatus": {"received"},
		"FromCity": {""}, "Body": {body}, "FromCountry": {"ID"}, "To": {"+15550001111"},
		"MessagingServiceSid": {""}, "ToZip": {""}, "NumSegments": {"1"}, "MessageSid": {sid},
		"AccountSid": {"AC0123456789abcdef0123456789abcdef"}, "From": {from}, "ApiVersion": {"2010-04-01"},
	}
}

func twilioStatus(sid, status string) url.Values {
	return url.Values{
		"SmsSid": {sid}, "SmsStatus": {status}, "MessageStatus": {status}, "To": {"+6281234567890"},
		"MessageSid": {sid}, "AccountSid": {"AC0123456789abcdef0123456789abcdef"}, "From": {"+15550001111"},
		"ApiVersion": {"2010-04-01"},
	}
}

// vonageReq is a signed inbound SMS as Vonage posts it (form encoded).
func vonageReq(secret string, p url.Values) wreq {
	p.Set("timestamp", strconv.FormatInt(time.Now().Unix(), 10))
	p.Set("nonce", "6f0b1c2d-3e4f-5a6b-7c8d-9e0f1a2b3c4d")
	p.Set("sig", vonageSign(secret, p))
	return wreq{path: "/webhooks/vonage", header: formHeader(), body: []byte(p.Encode())}
}

func vonageSMS(id, msisdn, text string) url.Values {
	return url.Values{
		"msisdn": {msisdn}, "to": {"447700900000"}, "messageId": {id}, "text": {text}, "type": {"unicode"},
		"keyword": {strings.ToUpper(strings.Fields(text + " x")[0])}, "api-key": {"abcd1234"},
		"message-timestamp": {"2026-11-23 10:05:00"},
	}
}

func metaReq(secret string, body string) wreq {
	h := http.Header{"Content-Type": {"application/json"}}
	h.Set("X-Hub-Signature-256", metaSign(secret, []byte(body)))
	return wreq{path: "/webhooks/whatsapp", header: h, body: []byte(body)}
}

// waMessage is a WhatsApp Cloud API message webhook; text is written into
// JSON as Meta does, with non-ASCII characters as \u escapes.
func waMessage(id, from, text, contextID string) string {
	ctx := ""
	if contextID != "" {
		ctx = `,"context":{"from":"15550783881","id":"` + contextID + `"}`
	}
	return `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Kerry"},"wa_id":"` + from + `"}],"messages":[{"from":"` + from + `","id":"` + id + `","timestamp":"1795428000","type":"text","text":{"body":` + asciiJSON(text) + `}` + ctx + `}]},"field":"messages"}]}]}`
}

func waStatus(wamid, status, recipient string) string {
	errs := ""
	if status == "failed" {
		errs = `,"errors":[{"code":131026,"title":"Message undeliverable"}]`
	}
	return `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"statuses":[{"id":"` + wamid + `","status":"` + status + `","timestamp":"1795428060","recipient_id":"` + recipient + `"` + errs + `}]},"field":"messages"}]}]}`
}

func asciiJSON(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteString(`\` + string(r))
		case r < 0x20 || r > 0x7e:
			if r > 0xffff {
				r1, r2 := (r-0x10000)>>10+0xd800, (r-0x10000)&0x3ff+0xdc00
				fmt.Fprintf(&b, `\u%04x\u%04x`, r1, r2)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func telegramReq(secret string, body string) wreq {
	h := http.Header{"Content-Type": {"application/json"}}
	if secret != "" {
		h.Set("X-Telegram-Bot-Api-Secret-Token", secret)
	}
	return wreq{path: "/webhooks/telegram", header: h, body: []byte(body)}
}

func tgMessage(updateID int, chat int64, text string) string {
	return fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,"from":{"id":%d,"is_bot":false,"first_name":"Ivan","language_code":"ru"},"chat":{"id":%d,"first_name":"Ivan","type":"private"},"date":1795428000,"text":%s}}`,
		updateID, updateID%100000+100, chat, chat, asciiJSON(text))
}

func lineReq(secret string, body string) wreq {
	h := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	h.Set("X-Line-Signature", lineSign(secret, []byte(body)))
	return wreq{path: "/webhooks/line", header: h, body: []byte(body)}
}

// lineEvent is a LINE webhook with one event; LINE sends UTF-8 as is.
func lineEvent(eventID, typ, user, text string) string {
	msg := ""
	if typ == "message" {
		msg = `,"replyToken":"nHuyWiB7yP5Zw52FIkcQobQuGDXCTA","message":{"type":"text","id":"468789577898262531","quoteToken":"q3Plxr4AgKd","text":` + asciiJSONKeep(text) + `}`
	}
	return `{"destination":"Uxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx","events":[{"type":"` + typ + `","mode":"active","timestamp":1795428000000,"webhookEventId":"` + eventID + `","deliveryContext":{"isRedelivery":false},"source":{"type":"user","userId":"` + user + `"}` + msg + `}]}`
}

func asciiJSONKeep(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}

// journalAppender appends journal entries as a send run's outcomes do.
type journalAppender struct{ *state.Files }

func (j journalAppender) Append(entries ...state.Entry) error {
	return j.AppendJournal(context.Background(), entries...)
}

// addSuppression adds a suppression row to a state directory.
func addSuppression(stateDir string, s state.Suppression) error {
	_, err := state.OpenFiles(stateDir).AddSuppression(context.Background(), s)
	return err
}
