package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
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

// fakeSender is a sender with the fake's token, pointed at the fake.
func fakeSender(t testing.TB, f *channeltest.Telegram) *Sender {
	t.Helper()
	s, err := New(settings(`token = "`+channeltest.TelegramToken+`"`, f.URL()))
	if err != nil {
		t.Fatal(err)
	}
	return s.(*Sender)
}

// bodies are the request bodies the fake received, decoded.
func bodies(t *testing.T, f *channeltest.Telegram) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, r := range f.Requests() {
		var m map[string]any
		if err := json.Unmarshal(r.Body, &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// apiError is the Bot API's error answer.
func apiError(status int, desc string, params string) string {
	if params != "" {
		params = `,"parameters":` + params
	}
	return fmt.Sprintf(`{"ok":false,"error_code":%d,"description":%q%s}`, status, desc, params)
}

func TestConformance(t *testing.T) {
	opts := `token = "` + channeltest.TelegramToken + `"` + "\n" + `secret_token = "` + secret + `"`
	channeltest.Run(t, channeltest.Subject{
		Backend: Backend, Options: opts, WrongCredentials: strings.Replace(opts, channeltest.TelegramToken, "123456789:AAHrevokedToken", 1),
		Message: channels.Message{Campaign: "c", Recipient: "r1", To: "-1001234567890123", Text: "Order A-17 is late, sorry"},
		Secrets: []string{channeltest.TelegramToken, secret, "AAHtestTelegramBotToken_0123456789ab"}, RetryAfter: true,
		CheckRequest: func(t *testing.T, r channeltest.Request) {
			want := `{"chat_id":-1001234567890123,"text":"Order A-17 is late, sorry","link_preview_options":{"is_disabled":true}}`
			if r.Method != http.MethodPost || r.Path != "/bot"+channeltest.TelegramToken+"/sendMessage" || string(r.Body) != want {
				t.Errorf("request %s %s\n got %s\nwant %s", r.Method, r.Path, r.Body, want)
			}
		},
	}, func(t testing.TB) channeltest.Fake { return channeltest.NewTelegram(t) })
}

func TestSend(t *testing.T) {
	f := channeltest.NewTelegram(t)
	s := fakeSender(t, f)
	rc, err := s.Send(context.Background(), channels.Message{To: "-1009876543210", Text: "<b>Hi</b> " + EscapeHTML("Budi & <co>"), ParseMode: ModeHTML})
	if err != nil {
		t.Fatal(err)
	}
	var answer struct {
		Result struct {
			MessageID int64 `json:"message_id"`
		} `json:"result"`
	}
	json.Unmarshal(f.Requests()[0].Answer, &answer)
	if rc.ProviderID != fmt.Sprintf("-1009876543210:%d", answer.Result.MessageID) || answer.Result.MessageID == 0 {
		t.Errorf("ProviderID = %q", rc.ProviderID)
	}
	if _, err := s.Send(context.Background(), channels.Message{To: "@herald_news", Text: "hello", ParseMode: ModeHTML}); err != nil {
		t.Fatal(err)
	}
	var want []map[string]any
	_ = json.Unmarshal([]byte(`[
		{"chat_id":-1009876543210,"text":"<b>Hi</b> Budi &amp; &lt;co&gt;","parse_mode":"HTML","link_preview_options":{"is_disabled":true}},
		{"chat_id":"@herald_news","text":"hello","parse_mode":"HTML","link_preview_options":{"is_disabled":true}}]`), &want)
	if got := bodies(t, f); !reflect.DeepEqual(got, want) {
		t.Errorf("bodies = %v\nwant %v", got, want)
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
	for _, c := range []struct{ mode, want string }{
		{ModeMarkdownV2, `{"chat_id":1,"text":"*x*","parse_mode":"MarkdownV2","link_preview_options":{"is_disabled":true}}`},
		{ModeHTML, `{"chat_id":1,"text":"*x*","parse_mode":"HTML","link_preview_options":{"is_disabled":true}}`},
		{ModePlain, `{"chat_id":1,"text":"*x*","link_preview_options":{"is_disabled":true}}`},
	} {
		f := channeltest.NewTelegram(t)
		if _, err := fakeSender(t, f).Send(context.Background(), channels.Message{To: "1", Text: "*x*", ParseMode: c.mode}); err != nil {
			t.Fatal(err)
		}
		if got := string(f.Requests()[0].Body); got != c.want {
			t.Errorf("%q: body = %s, want %s", c.mode, got, c.want)
		}
	}
	if _, err := New(settings(`token = "1:a"`+"\n"+`parse_mode = "HTML"`, "")); err == nil || !strings.Contains(err.Error(), `unknown key "parse_mode"`) {
		t.Errorf("parse_mode on the channel should be refused (it belongs in the template): %v", err)
	}
}

// TestSendErrors: Telegram's 403 is about the chat (Permanent; blocking
// the bot is the user's opt-out), 401 and 404 about the token (Channel),
// 429 carries retry_after.
func TestSendErrors(t *testing.T) {
	for _, c := range []struct {
		name   string
		answer func(f *channeltest.Telegram)
		class  channels.Class
		optOut bool
		wait   time.Duration
		text   string
	}{
		{"blocked", func(f *channeltest.Telegram) { f.FailAddress("42") }, channels.Permanent, true, 0,
			"telegram: 403 Forbidden: bot was blocked by the user"},
		{"kicked", func(f *channeltest.Telegram) {
			f.Respond(403, "application/json", apiError(403, "Forbidden: bot was kicked from the group chat", ""))
		}, channels.Permanent, true, 0, "telegram: 403 Forbidden: bot was kicked from the group chat"},
		{"never started", func(f *channeltest.Telegram) {
			f.Respond(403, "application/json", apiError(403, "Forbidden: bot can't initiate conversation with a user", ""))
		}, channels.Permanent, false, 0, "telegram: 403 Forbidden: bot can't initiate conversation with a user"},
		{"chat not found", func(f *channeltest.Telegram) {
			f.Respond(400, "application/json", apiError(400, "Bad Request: chat not found", ""))
		}, channels.Permanent, false, 0, "telegram: 400 Bad Request: chat not found"},
		{"flood control", func(f *channeltest.Telegram) { f.Throttle(1, 35) }, channels.Temporary, false, 35 * time.Second,
			"telegram: 429 Too Many Requests: retry after 35"},
		{"revoked token", func(f *channeltest.Telegram) { f.RefuseAccount(1) }, channels.Channel, false, 0, "telegram: 401 Unauthorized"},
		{"internal error", func(f *channeltest.Telegram) { f.FailAfterStoring(1, 500) }, channels.Unknown, false, 0,
			"telegram: 500 Internal Server Error"},
		{"bad gateway page", func(f *channeltest.Telegram) { f.Respond(502, "text/html", "<html>502 Bad Gateway</html>") },
			channels.Unknown, false, 0, "telegram: HTTP 502: <html>502 Bad Gateway</html>"},
		{"supergroup", func(f *channeltest.Telegram) {
			f.Respond(400, "application/json", apiError(400, "Bad Request: group chat was upgraded to a supergroup chat", `{"migrate_to_chat_id":-1001234567890}`))
		}, channels.Permanent, false, 0,
			"telegram: 400 Bad Request: group chat was upgraded to a supergroup chat (the group is now supergroup -1001234567890: update the audience)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := channeltest.NewTelegram(t)
			c.answer(f)
			_, err := fakeSender(t, f).Send(context.Background(), channels.Message{To: "42", Text: "hi"})
			if err == nil {
				t.Fatal("no error")
			}
			if channels.ClassOf(err) != c.class || channels.IsProviderOptOut(err) != c.optOut || channels.RetryAfter(err) != c.wait || err.Error() != c.text {
				t.Errorf("err = %q class=%s opt-out=%v wait=%v", err, channels.ClassOf(err), channels.IsProviderOptOut(err), channels.RetryAfter(err))
			}
			noSecret(t, err.Error())
		})
	}
}

// A token no bot has makes the method's URL unknown: Telegram answers 404,
// and nothing will work until the token is fixed.
func TestWrongTokenStopsTheChannelAndIsNotShown(t *testing.T) {
	f := channeltest.NewTelegram(t)
	s, err := New(settings(`token = "123:wrong-token"`, f.URL()))
	if err != nil {
		t.Fatal(err)
	}
	f.Respond(404, "application/json", apiError(404, "Not Found", ""))
	_, err = s.Send(context.Background(), channels.Message{To: "1", Text: "hi"})
	if channels.ClassOf(err) != channels.Channel || err.Error() != "telegram: 404 Not Found" || !strings.Contains(channels.HintOf(err), "token") {
		t.Errorf("err = %v (%s, hint %q)", err, channels.ClassOf(err), channels.HintOf(err))
	}
}

// leakyTransport fails the way proxies and dialers do: with the URL, and so
// the token, in the message.
type leakyTransport struct{}

func (leakyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return nil, fmt.Errorf("proxyconnect to %s refused", r.URL)
}

func TestTransportErrorsNeverShowTheToken(t *testing.T) {
	f := channeltest.NewTelegram(t)
	addr := f.URL()
	f.Close()
	s := newSender(t, addr, "")
	_, err := s.Send(context.Background(), channels.Message{To: "1", Text: "hi"})
	if channels.ClassOf(err) != channels.Temporary || !strings.HasPrefix(err.Error(), "telegram: sending failed: ") {
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
	f := channeltest.NewTelegram(t)
	f.Throttle(1, 3)
	var waits []time.Duration
	policy := channels.RetryPolicy{Attempts: 3, Base: time.Millisecond, Max: time.Millisecond,
		Sleep: func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }}
	rc, err := channels.WithRetry(fakeSender(t, f), policy, nil).Send(context.Background(), channels.Message{To: "5", Text: "hi"})
	if err != nil || !strings.HasPrefix(rc.ProviderID, "5:") {
		t.Fatalf("rc = %+v err = %v", rc, err)
	}
	if len(waits) != 1 || waits[0] != 3*time.Second {
		t.Errorf("waits = %v, want [3s]", waits)
	}
}

func TestRefusedBeforeSending(t *testing.T) {
	f := channeltest.NewTelegram(t)
	s := fakeSender(t, f)
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
	if n := f.Count(); n != 1 {
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
	f := channeltest.NewTelegram(b)
	f.Discard()
	s := fakeSender(b, f)
	m := channels.Message{To: "123456789", Text: "<b>Budi</b>, order A-17 arrives on 23 November 2026.", ParseMode: ModeHTML}
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
	b.ReportMetric(float64(f.Conns()), "conns")
}
