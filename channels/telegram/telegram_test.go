package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"herald/channels"
	"herald/channels/channeltest"
)

const (
	token  = "7012345678:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
	secret = "webhook_Secret-123"
)

func settings(src, apiURL string) channels.Settings {
	return channeltest.Settings("telegram", src, apiURL)
}

func newSender(t testing.TB, apiURL, extra string) *Sender {
	t.Helper()
	s, err := New(settings(`token = "`+token+`"`+"\n"+`secret_token = "`+secret+`"`+"\n"+extra, apiURL))
	if err != nil {
		t.Fatal(err)
	}
	return s.(*Sender)
}

func noSecret(t *testing.T, s string) {
	t.Helper()
	for _, sec := range []string{token, secret, "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"} {
		if strings.Contains(s, sec) {
			t.Errorf("secret leaked in %q", s)
		}
	}
}

// fakeBot is the Bot API's sendMessage: it checks the request as Telegram
// does and answers with its shapes. Chat ids pick the outcome.
type fakeBot struct {
	calls   atomic.Int32
	mu      sync.Mutex
	bodies  []map[string]any
	discard bool
}

func apiError(w http.ResponseWriter, status int, desc string, params string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if params != "" {
		params = `,"parameters":` + params
	}
	fmt.Fprintf(w, `{"ok":false,"error_code":%d,"description":%q%s}`, status, desc, params)
}

func (f *fakeBot) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := f.calls.Add(1)
	if r.URL.Path != "/bot"+token+"/sendMessage" {
		apiError(w, 404, "Not Found", "")
		return
	}
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
		apiError(w, 400, "Bad Request: message text is empty", "")
		return
	}
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		apiError(w, 400, "Bad Request: can't parse JSON", "")
		return
	}
	for k := range body {
		if k != "chat_id" && k != "text" && k != "parse_mode" && k != "link_preview_options" {
			apiError(w, 400, "Bad Request: unexpected parameter "+k, "")
			return
		}
	}
	if text, ok := body["text"].(string); !ok || text == "" {
		apiError(w, 400, "Bad Request: message text is empty", "")
		return
	}
	if pm, has := body["parse_mode"]; has && pm != "HTML" && pm != "MarkdownV2" {
		apiError(w, 400, "Bad Request: unsupported parse_mode", "")
		return
	}
	if lp, ok := body["link_preview_options"].(map[string]any); !ok || lp["is_disabled"] != true {
		apiError(w, 400, "Bad Request: link_preview_options must disable previews", "")
		return
	}
	if !f.discard {
		f.mu.Lock()
		f.bodies = append(f.bodies, body)
		f.mu.Unlock()
	}
	var chat string
	switch id := body["chat_id"].(type) {
	case float64:
		chat = fmt.Sprint(int64(id))
	case string:
		chat = id
	default:
		apiError(w, 400, "Bad Request: chat_id is empty", "")
		return
	}
	switch chat {
	case "403":
		apiError(w, 403, "Forbidden: bot was blocked by the user", "")
	case "404":
		apiError(w, 403, "Forbidden: bot can't initiate conversation with a user", "")
	case "400":
		apiError(w, 400, "Bad Request: chat not found", "")
	case "429":
		apiError(w, 429, "Too Many Requests: retry after 35", `{"retry_after":35}`)
	case "500":
		apiError(w, 500, "Internal Server Error", "")
	case "-1001":
		apiError(w, 400, "Bad Request: group chat was upgraded to a supergroup chat", `{"migrate_to_chat_id":-1001234567890}`)
	default:
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"ok":true,"result":{"message_id":%d,"from":{"id":7012345678,"is_bot":true,"first_name":"Herald"},"chat":{"id":1,"type":"private"},"date":1700000000,"text":"x"}}`, 41+n)
	}
}

func TestSend(t *testing.T) {
	f := &fakeBot{}
	srv := httptest.NewServer(f)
	defer srv.Close()
	s := newSender(t, srv.URL, "")

	rc, err := s.Send(context.Background(), channels.Message{To: "-1009876543210", Text: "<b>Hi</b> " + EscapeHTML("Budi & <co>"), ParseMode: ModeHTML})
	if err != nil {
		t.Fatal(err)
	}
	if rc.ProviderID != "-1009876543210:42" {
		t.Errorf("ProviderID = %q", rc.ProviderID)
	}
	if _, err := s.Send(context.Background(), channels.Message{To: "@herald_news", Text: "hello", ParseMode: ModeHTML}); err != nil {
		t.Fatal(err)
	}
	var want []map[string]any
	_ = json.Unmarshal([]byte(`[
		{"chat_id":-1009876543210,"text":"<b>Hi</b> Budi &amp; &lt;co&gt;","parse_mode":"HTML","link_preview_options":{"is_disabled":true}},
		{"chat_id":"@herald_news","text":"hello","parse_mode":"HTML","link_preview_options":{"is_disabled":true}}]`), &want)
	if !reflect.DeepEqual(f.bodies, want) {
		t.Errorf("bodies = %v\nwant %v", f.bodies, want)
	}
}

func TestChatIDIsSentAsInt64(t *testing.T) {
	// -1001234567890123 does not survive a float64; check the raw bytes.
	b, err := RequestBody(channels.Message{To: "-1001234567890123", Text: "x"}, ModeHTML)
	if err != nil || !strings.Contains(string(b), `"chat_id":-1001234567890123,`) {
		t.Errorf("body = %s, %v", b, err)
	}
}

// The parse mode is the template's: the message says which markup its text
// is in, and a message without one goes out as plain text.
func TestParseModes(t *testing.T) {
	f := &fakeBot{}
	srv := httptest.NewServer(f)
	defer srv.Close()
	for _, c := range []struct{ mode, want string }{
		{ModeMarkdownV2, `{"chat_id":1,"text":"*x*","parse_mode":"MarkdownV2","link_preview_options":{"is_disabled":true}}`},
		{ModeHTML, `{"chat_id":1,"text":"*x*","parse_mode":"HTML","link_preview_options":{"is_disabled":true}}`},
		{ModePlain, `{"chat_id":1,"text":"*x*","link_preview_options":{"is_disabled":true}}`},
	} {
		f.bodies = nil
		if _, err := newSender(t, srv.URL, "").Send(context.Background(), channels.Message{To: "1", Text: "*x*", ParseMode: c.mode}); err != nil {
			t.Fatal(err)
		}
		var want map[string]any
		_ = json.Unmarshal([]byte(c.want), &want)
		if !reflect.DeepEqual(f.bodies[0], want) {
			t.Errorf("%q: body = %v, want %v", c.mode, f.bodies[0], want)
		}
	}
	if _, err := New(settings(`token = "1:a"`+"\n"+`parse_mode = "HTML"`, "")); err == nil || !strings.Contains(err.Error(), `unknown key "parse_mode"`) {
		t.Errorf("parse_mode on the channel should be refused (it belongs in the template): %v", err)
	}
}

func TestSendErrors(t *testing.T) {
	srv := httptest.NewServer(&fakeBot{})
	defer srv.Close()
	s := newSender(t, srv.URL, "")
	for _, c := range []struct {
		to        string
		permanent bool
		wait      time.Duration
		text      string
	}{
		{"403", true, 0, "telegram: 403 Forbidden: bot was blocked by the user"},
		{"404", true, 0, "telegram: 403 Forbidden: bot can't initiate conversation with a user"},
		{"400", true, 0, "telegram: 400 Bad Request: chat not found"},
		{"429", false, 35 * time.Second, "telegram: 429 Too Many Requests: retry after 35"},
		{"500", false, 0, "telegram: 500 Internal Server Error"},
		{"-1001", true, 0, "telegram: 400 Bad Request: group chat was upgraded to a supergroup chat (the group is now supergroup -1001234567890: update the audience)"},
	} {
		_, err := s.Send(context.Background(), channels.Message{To: c.to, Text: "hi"})
		if err == nil {
			t.Errorf("%s: no error", c.to)
			continue
		}
		if channels.IsPermanent(err) != c.permanent || channels.RetryAfter(err) != c.wait || err.Error() != c.text {
			t.Errorf("%s: err = %q permanent=%v wait=%v", c.to, err, channels.IsPermanent(err), channels.RetryAfter(err))
		}
		noSecret(t, err.Error())
	}
}

func TestWrongTokenIsPermanentAndNotShown(t *testing.T) {
	srv := httptest.NewServer(&fakeBot{})
	defer srv.Close()
	s, err := New(settings(`token = "123:wrong-token"`, srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Send(context.Background(), channels.Message{To: "1", Text: "hi"})
	if err == nil || !channels.IsPermanent(err) || err.Error() != "telegram: 404 Not Found" {
		t.Errorf("err = %v", err)
	}
}

// leakyTransport fails the way proxies and dialers do: with the URL, and so
// the token, in the message.
type leakyTransport struct{}

func (leakyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return nil, fmt.Errorf("proxyconnect to %s refused", r.URL)
}

func TestTransportErrorsNeverShowTheToken(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close()
	s := newSender(t, addr, "")
	_, err := s.Send(context.Background(), channels.Message{To: "1", Text: "hi"})
	if err == nil || channels.IsPermanent(err) || !strings.HasPrefix(err.Error(), "telegram: request failed: ") {
		t.Fatalf("err = %v, want temporary request failure", err)
	}
	noSecret(t, err.Error())

	st := settings(`token = "`+token+`"`, "")
	st.HTTP = &http.Client{Transport: leakyTransport{}}
	s2, _ := New(st)
	_, err = s2.Send(context.Background(), channels.Message{To: "1", Text: "hi"})
	if err == nil || !strings.Contains(err.Error(), "proxyconnect to https://api.telegram.org/bot***/sendMessage refused") {
		t.Errorf("err = %v", err)
	}
	noSecret(t, err.Error())
}

func TestRetryHonoursRetryAfter(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			apiError(w, 429, "Too Many Requests: retry after 3", `{"retry_after":3}`)
			return
		}
		fmt.Fprint(w, `{"ok":true,"result":{"message_id":7}}`)
	}))
	defer srv.Close()
	var waits []time.Duration
	policy := channels.RetryPolicy{Attempts: 3, Base: time.Millisecond, Max: time.Millisecond,
		Sleep: func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }}
	rc, err := channels.WithRetry(newSender(t, srv.URL, ""), policy, nil).Send(context.Background(), channels.Message{To: "5", Text: "hi"})
	if err != nil || rc.ProviderID != "5:7" {
		t.Fatalf("rc = %+v err = %v", rc, err)
	}
	if len(waits) != 1 || waits[0] != 3*time.Second {
		t.Errorf("waits = %v, want [3s]", waits)
	}
}

func TestRefusedBeforeSending(t *testing.T) {
	f := &fakeBot{}
	srv := httptest.NewServer(f)
	defer srv.Close()
	s := newSender(t, srv.URL, "")
	long := "<b>" + strings.Repeat("a", MaxTextLength) + "</b>"
	if _, err := s.Send(context.Background(), channels.Message{To: "1", Text: long, ParseMode: ModeHTML}); err != nil {
		t.Errorf("4096 visible characters refused: %v", err)
	}
	for name, m := range map[string]channels.Message{
		"4097 characters": {To: "1", Text: strings.Repeat("a", MaxTextLength+1)},
		"emoji count 2":   {To: "1", Text: strings.Repeat("😀", MaxTextLength/2+1)},
		"empty":           {To: "1", Text: "  "},
		"only markup":     {To: "1", Text: "<b></b>", ParseMode: ModeHTML},
		"bad chat":        {To: "alice", Text: "hi"},
	} {
		_, err := s.Send(context.Background(), m)
		if err == nil || !channels.IsPermanent(err) || !strings.HasPrefix(err.Error(), "telegram: ") {
			t.Errorf("%s: err = %v, want permanent", name, err)
		}
	}
	if n := f.calls.Load(); n != 1 {
		t.Errorf("%d requests sent, want 1", n)
	}
	ps := s.Check(channels.Message{To: "alice", Text: strings.Repeat("a", 5000), ParseMode: ModeHTML})
	if len(ps) != 2 || ps[0].Message != `chat id "alice" is neither a number nor @channelusername` ||
		ps[1].Message != "text is 5000 UTF-16 units after HTML markup, more than Telegram's 4096" {
		t.Errorf("Check = %+v", ps)
	}
}

func TestVisibleLength(t *testing.T) {
	for _, c := range []struct {
		text, mode string
		want       int
	}{
		{"<b>Hi</b> &amp; 😀", ModeHTML, 7},
		{`<a href="https://x.y/?a=1&b=2">link</a> &#128512;`, ModeHTML, 6},
		{"AT&T", ModeHTML, 4},
		{`*bold* \. [link](http://x.y/a\)b) 😀`, ModeMarkdownV2, 14},
		{"*bold* 😀", ModePlain, 9},
	} {
		if got := VisibleLength(c.text, c.mode); got != c.want {
			t.Errorf("VisibleLength(%q, %q) = %d, want %d", c.text, c.mode, got, c.want)
		}
	}
}

func TestEscape(t *testing.T) {
	if got := EscapeHTML(`Tom & Jerry <3 "quotes" 'kept'`); got != `Tom &amp; Jerry &lt;3 "quotes" 'kept'` {
		t.Errorf("EscapeHTML = %q", got)
	}
	in := "_*[]()~`>#+-=|{}.!\\ Order #17 costs 5.00 (+1-555) é"
	want := "\\_\\*\\[\\]\\(\\)\\~\\`\\>\\#\\+\\-\\=\\|\\{\\}\\.\\!\\\\ Order \\#17 costs 5\\.00 \\(\\+1\\-555\\) é"
	if got := EscapeMarkdownV2(in); got != want {
		t.Errorf("EscapeMarkdownV2 = %q\nwant %q", got, want)
	}
	// Escaped data shows as the original text.
	if n := VisibleLength(EscapeMarkdownV2("5.00 (#17)"), ModeMarkdownV2); n != len("5.00 (#17)") {
		t.Errorf("escaped length %d", n)
	}
}

func TestEncodeHoldsNoToken(t *testing.T) {
	s := newSender(t, "", "")
	b, ext, err := s.Encode(channels.Message{To: "12345", Text: "a <b>b</b>", ParseMode: ModeHTML})
	if err != nil || ext != "json" || string(b) != `{"chat_id":12345,"text":"a <b>b</b>","parse_mode":"HTML","link_preview_options":{"is_disabled":true}}` {
		t.Errorf("Encode = %s %q %v", b, ext, err)
	}
	noSecret(t, string(b))
}

func TestNew(t *testing.T) {
	for src, want := range map[string]string{
		``: "token is required",
		`token = "https://api.telegram.org/bot1:a"`: "not a URL",
		`token = "${TG_UNSET_VAR}"`:                 "TG_UNSET_VAR is not set",
	} {
		_, err := New(settings(src, ""))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New(%q) = %v, want %q", src, err, want)
		}
	}
	t.Setenv("TG_TOKEN", token)
	s, err := New(settings(`token = "${TG_TOKEN}"`, "http://127.0.0.1:9/tg"))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.(*Sender).endpoint; got != "http://127.0.0.1:9/tg/bot"+token+"/sendMessage" {
		t.Errorf("endpoint = %q", got)
	}
	if got := fmt.Sprintf("%v %+v %#v", s, s, s); strings.Contains(got, token) {
		t.Errorf("printing the sender shows the token: %s", got)
	}
}

func inbound(header string, body string) channels.InboundRequest {
	h := http.Header{}
	if header != "" {
		h.Set("X-Telegram-Bot-Api-Secret-Token", header)
	}
	return channels.InboundRequest{Method: "POST", Header: h, Body: []byte(body)}
}

func TestParseInbound(t *testing.T) {
	s := newSender(t, "", "")
	reply := `{"update_id":912345678,"message":{"message_id":99,"from":{"id":123456789,"is_bot":false,"first_name":"Budi","language_code":"id"},
		"chat":{"id":123456789,"type":"private"},"date":1700000000,"text":"BERHENTI",
		"reply_to_message":{"message_id":42,"from":{"id":7012345678,"is_bot":true},"chat":{"id":123456789,"type":"private"},"date":1699999000,"text":"Order A-17"}}}`
	got, err := s.ParseInbound(inbound(secret, reply))
	if err != nil {
		t.Fatal(err)
	}
	want := []channels.Inbound{{Kind: channels.InboundReply, Time: time.Unix(1700000000, 0).UTC(), From: "123456789", Text: "BERHENTI", ProviderID: "912345678", InReplyTo: "123456789:42"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}

	kicked := `{"update_id":912345679,"my_chat_member":{"chat":{"id":123456789,"type":"private"},"from":{"id":123456789,"is_bot":false,"first_name":"Budi"},"date":1700000100,
		"old_chat_member":{"user":{"id":7012345678,"is_bot":true,"first_name":"Herald"},"status":"member"},
		"new_chat_member":{"user":{"id":7012345678,"is_bot":true,"first_name":"Herald"},"status":"kicked","until_date":0}}}`
	got, err = s.ParseInbound(inbound(secret, kicked))
	want = []channels.Inbound{{Kind: channels.InboundOptOut, Time: time.Unix(1700000100, 0).UTC(), From: "123456789", ProviderID: "912345679"}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("kicked: got %+v %v\nwant %+v", got, err, want)
	}

	unblocked := strings.Replace(kicked, `"status":"kicked"`, `"status":"member"`, 1)
	if got, err := s.ParseInbound(inbound(secret, unblocked)); err != nil || len(got) != 0 {
		t.Errorf("unblock: %+v %v, want nothing", got, err)
	}
}

func TestParseInboundRejectsWrongSecret(t *testing.T) {
	s := newSender(t, "", "")
	body := `{"update_id":1,"message":{"message_id":1,"chat":{"id":1},"date":1,"text":"STOP"}}`
	for name, h := range map[string]string{"missing": "", "wrong": "webhook_Secret-124", "prefix": "webhook_Secret"} {
		_, err := s.ParseInbound(inbound(h, body))
		if !errors.Is(err, channels.ErrBadSignature) {
			t.Errorf("%s: err = %v", name, err)
		}
		if err != nil {
			noSecret(t, err.Error())
		}
	}
	noSecretCfg, _ := New(settings(`token = "1:a"`, ""))
	if _, err := noSecretCfg.(channels.InboundParser).ParseInbound(inbound("", body)); !errors.Is(err, channels.ErrBadSignature) {
		t.Errorf("without secret_token: err = %v", err)
	}
}

func BenchmarkSend(b *testing.B) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(&fakeBot{discard: true})
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	s := newSender(b, srv.URL, "")
	m := channels.Message{To: "123456789", Text: "<b>Budi</b>, order A-17 arrives on 23 November 2026."}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Send(context.Background(), m); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(conns.Load()), "conns")
}
