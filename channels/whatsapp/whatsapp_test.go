package whatsapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"herald/channels"
	"herald/channels/channeltest"
)

const (
	token       = "EAAGm0PX4ZCpsBAsecret-token-value"
	appSecret   = "app-secret-0123456789"
	verifyToken = "verify-me-please"
	phoneID     = "106540352242922"
)

func settings(src, apiURL string) channels.Settings {
	return channeltest.Settings("whatsapp", src, apiURL)
}

func config(extra string) string {
	return `phone_number_id = "` + phoneID + `"
token = "` + token + `"
app_secret = "` + appSecret + `"
verify_token = "` + verifyToken + `"
` + extra
}

func newSender(t testing.TB, apiURL string) *Sender {
	t.Helper()
	s, err := New(settings(config(""), apiURL))
	if err != nil {
		t.Fatal(err)
	}
	return s.(*Sender)
}

// fakeConfig is the channel's options for the WhatsApp fake.
var fakeConfig = `phone_number_id = "` + channeltest.WhatsAppPhoneNumberID + `"
token = "` + channeltest.WhatsAppToken + `"
app_secret = "` + appSecret + `"`

// fakeSender is a sender with the fake's token, pointed at the fake.
func fakeSender(t testing.TB, f *channeltest.WhatsApp) *Sender {
	t.Helper()
	s, err := New(settings(fakeConfig, f.URL()))
	if err != nil {
		t.Fatal(err)
	}
	return s.(*Sender)
}

// newFake is the WhatsApp fake with the templates these tests send.
func newFake(t testing.TB) *channeltest.WhatsApp {
	f := channeltest.NewWhatsApp(t)
	f.ApproveTemplate("shipment_delay", 3, "pt_BR")
	f.ApproveTemplate("shipment_delay", 2, "id")
	f.ApproveTemplate("hello_world", 0, "en_US")
	return f
}

func TestConformance(t *testing.T) {
	channeltest.Run(t, channeltest.Subject{
		Backend: Backend, Options: fakeConfig, WrongCredentials: strings.Replace(fakeConfig, channeltest.WhatsAppToken, "EAAGexpired", 1),
		Message: channels.Message{Campaign: "c", Recipient: "r1", To: "+5511987654321",
			Template: &channels.ProviderTemplate{Name: "shipment_delay", Language: "pt_BR", Params: []string{"Ana", "D-4001", "27 de novembro de 2026"}}},
		Secrets: []string{channeltest.WhatsAppToken, appSecret}, RetryAfter: true,
		CheckRequest: func(t *testing.T, r channeltest.Request) {
			want := `{"messaging_product":"whatsapp","recipient_type":"individual","to":"5511987654321","type":"template","template":{"name":"shipment_delay","language":{"code":"pt_BR","policy":"deterministic"},"components":[{"type":"body","parameters":[{"type":"text","text":"Ana"},{"type":"text","text":"D-4001"},{"type":"text","text":"27 de novembro de 2026"}]}]}}`
			if string(r.Body) != want {
				t.Errorf("body\n got %s\nwant %s", r.Body, want)
			}
			if r.Method != http.MethodPost || r.Path != "/v21.0/"+channeltest.WhatsAppPhoneNumberID+"/messages" ||
				r.Header.Get("Authorization") != "Bearer "+channeltest.WhatsAppToken || r.Header.Get("Content-Type") != "application/json" {
				t.Errorf("request %s %s %v", r.Method, r.Path, r.Header)
			}
		},
	}, func(t testing.TB) channeltest.Fake { return newFake(t) })
}

// metaError is Meta's error envelope.
func metaError(code int, msg, details string) string {
	return fmt.Sprintf(`{"error":{"message":%q,"type":"OAuthException","code":%d,"error_data":{"messaging_product":"whatsapp","details":%q},"fbtrace_id":"AbCdEf123"}}`, msg, code, details)
}

// bodies are the request bodies the fake received, decoded.
func bodies(t *testing.T, f *channeltest.WhatsApp) []map[string]any {
	var out []map[string]any
	for _, r := range f.Requests() {
		out = append(out, decode(t, string(r.Body)))
	}
	return out
}

// wamid is the message id in a success answer.
func wamid(t *testing.T, answer []byte) string {
	var ok struct {
		Messages []struct {
			ID string `json:"id"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(answer, &ok); err != nil || len(ok.Messages) != 1 {
		t.Fatalf("answer %s", answer)
	}
	return ok.Messages[0].ID
}

func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// noSecret fails when any of the configured secrets shows in s.
func noSecret(t *testing.T, s string) {
	t.Helper()
	for _, sec := range []string{token, appSecret, verifyToken} {
		if strings.Contains(s, sec) {
			t.Errorf("secret leaked in %q", s)
		}
	}
}

func TestSendText(t *testing.T) {
	f := newFake(t)
	s := fakeSender(t, f)
	rc, err := s.Send(context.Background(), channels.Message{To: "+6281234567890", Text: "Hi Budi, order A-17 <late> & sorry"})
	if err != nil {
		t.Fatal(err)
	}
	if rc.ProviderID != wamid(t, f.Requests()[0].Answer) || !strings.HasPrefix(rc.ProviderID, "wamid.") {
		t.Errorf("ProviderID = %q", rc.ProviderID)
	}
	want := decode(t, `{"messaging_product":"whatsapp","recipient_type":"individual","to":"6281234567890","type":"text",
		"text":{"body":"Hi Budi, order A-17 <late> & sorry","preview_url":false}}`)
	if got := bodies(t, f); !reflect.DeepEqual(got[0], want) {
		t.Errorf("body = %v\nwant %v", got[0], want)
	}
}

func TestSendTemplate(t *testing.T) {
	f := newFake(t)
	s := fakeSender(t, f)
	_, err := s.Send(context.Background(), channels.Message{To: "+6281234567890",
		Template: &channels.ProviderTemplate{Name: "shipment_delay", Language: "id", Params: []string{"Budi", "A-17"}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Send(context.Background(), channels.Message{To: "+6281234567890",
		Template: &channels.ProviderTemplate{Name: "hello_world", Language: "en_US"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []map[string]any{
		decode(t, `{"messaging_product":"whatsapp","recipient_type":"individual","to":"6281234567890","type":"template",
		"template":{"name":"shipment_delay","language":{"code":"id","policy":"deterministic"},
		"components":[{"type":"body","parameters":[{"type":"text","text":"Budi"},{"type":"text","text":"A-17"}]}]}}`),
		// No parameters: no components at all (an empty body component is refused).
		decode(t, `{"messaging_product":"whatsapp","recipient_type":"individual","to":"6281234567890","type":"template",
		"template":{"name":"hello_world","language":{"code":"en_US","policy":"deterministic"}}}`),
	}
	if got := bodies(t, f); !reflect.DeepEqual(got, want) {
		t.Errorf("bodies = %v\nwant %v", got, want)
	}
}

func TestSendErrorsAreClassifiedByMetaCode(t *testing.T) {
	cases := []struct {
		status, code int
		message      string
		details      string
		class        channels.Class
		wantText     string
	}{
		{400, 131026, "Message undeliverable", "Recipient is not a WhatsApp user", channels.Permanent, "whatsapp: 131026 Message undeliverable: Recipient is not a WhatsApp user"},
		{400, 132001, "(#132001) Template name does not exist in the translation", "template name (shipment_delay) does not exist in pt_BR", channels.Permanent, "whatsapp: 132001 Template name does not exist in the translation: template name (shipment_delay) does not exist in pt_BR"},
		{401, 190, "Error validating access token: Session has expired", "", channels.Channel, "whatsapp: 190 Error validating access token"},
		{400, 100, "(#100) Invalid parameter", "", channels.Permanent, "whatsapp: 100 Invalid parameter"},
		// Throttling comes with 400 or 429 depending on Meta's mood: the code decides.
		{400, 130429, "(#130429) Rate limit hit", "Cloud API message throughput has been reached.", channels.Temporary, "whatsapp: 130429 Rate limit hit"},
		{429, 80007, "(#80007) Rate limit issues", "", channels.Temporary, "whatsapp: 80007"},
		{400, 131056, "(#131056) (Business Account, Consumer Account) pair rate limit hit", "", channels.Temporary, "whatsapp: 131056"},
		{400, 4, "(#4) Application request limit reached", "", channels.Temporary, "whatsapp: 4 Application request limit reached"},
		// Meta failed after taking the request: it may have the message.
		{500, 131000, "Something went wrong", "", channels.Unknown, "whatsapp: 131000 Something went wrong"},
		{503, 2, "Service temporarily unavailable", "", channels.Temporary, "whatsapp: 2 Service temporarily unavailable"},
		// A permission code comes with HTTP 500 sometimes: still the channel.
		{500, 10, "(#10) Application does not have permission for this action", "", channels.Channel, "whatsapp: 10 Application does not have permission"},
		{403, 200, "(#200) Requires whatsapp_business_messaging permission", "", channels.Channel, "whatsapp: 200 Requires"},
		{400, 368, "(#368) Temporarily blocked for policies violations", "", channels.Channel, "whatsapp: 368 Temporarily blocked"},
		// Unknown codes fall back to the HTTP status.
		{503, 99999, "Brand new failure", "", channels.Temporary, "whatsapp: 99999 Brand new failure"},
		{502, 99997, "Brand new gateway failure", "", channels.Unknown, "whatsapp: 99997 Brand new gateway failure"},
		{400, 99998, "Brand new refusal", "", channels.Permanent, "whatsapp: 99998 Brand new refusal"},
	}
	for _, c := range cases {
		t.Run(fmt.Sprint(c.code), func(t *testing.T) {
			f := newFake(t)
			f.Respond(c.status, "application/json", metaError(c.code, c.message, c.details))
			_, err := fakeSender(t, f).Send(context.Background(), channels.Message{To: "+16315551234", Text: "hi"})
			if err == nil {
				t.Fatal("no error")
			}
			if got := channels.ClassOf(err); got != c.class {
				t.Errorf("class = %s, want %s (%v)", got, c.class, err)
			}
			if !strings.HasPrefix(err.Error(), c.wantText) {
				t.Errorf("error = %q, want prefix %q", err, c.wantText)
			}
			if strings.Contains(err.Error(), "(#") {
				t.Errorf("error repeats Meta's (#code) prefix: %q", err)
			}
			noSecret(t, err.Error())
		})
	}
}

func TestNonJSONErrorFallsBackToHTTPStatus(t *testing.T) {
	f := newFake(t)
	f.Respond(http.StatusBadGateway, "text/html", "<html>502 Bad Gateway</html>")
	_, err := fakeSender(t, f).Send(context.Background(), channels.Message{To: "+16315551234", Text: "hi"})
	if channels.ClassOf(err) != channels.Unknown || !strings.Contains(err.Error(), "HTTP 502") {
		t.Fatalf("err = %v, want HTTP 502 in doubt", err)
	}
}

func TestRefusedBeforeSending(t *testing.T) {
	f := newFake(t)
	s := fakeSender(t, f)
	for name, m := range map[string]channels.Message{
		"too long":     {To: "+16315551234", Text: strings.Repeat("é", MaxTextLength+1)},
		"empty text":   {To: "+16315551234"},
		"not a number": {To: "alice@example.com", Text: "hi"},
		"bcp47 lang":   {To: "+16315551234", Template: &channels.ProviderTemplate{Name: "x", Language: "pt-BR"}},
		"empty param":  {To: "+16315551234", Template: &channels.ProviderTemplate{Name: "x", Language: "pt_BR", Params: []string{"a", " "}}},
		"bad name":     {To: "+16315551234", Template: &channels.ProviderTemplate{Name: "Shipment Delay", Language: "en"}},
	} {
		_, err := s.Send(context.Background(), m)
		if err == nil || !channels.IsPermanent(err) || !strings.HasPrefix(err.Error(), "whatsapp: ") {
			t.Errorf("%s: err = %v, want permanent whatsapp error", name, err)
		}
	}
	if n := f.Count(); n != 0 {
		t.Errorf("%d requests reached Meta", n)
	}
	// Exactly 4096 characters is fine.
	if _, err := s.Send(context.Background(), channels.Message{To: "+16315551234", Text: strings.Repeat("é", MaxTextLength)}); err != nil {
		t.Errorf("4096 characters refused: %v", err)
	}
}

func TestCheck(t *testing.T) {
	s := newSender(t, "")
	ps := s.Check(channels.Message{To: "+6281234567890", Template: &channels.ProviderTemplate{
		Name: "shipment_delay", Language: "pt-BR", Params: []string{"Budi", "", "two\nlines"}}})
	var got []string
	for _, p := range ps {
		got = append(got, p.Severity+": "+p.Message)
	}
	want := []string{
		`error: template language "pt-BR" must be Meta's code with an underscore, such as "pt_BR"`,
		`error: template "shipment_delay" parameter 2 is empty; Meta rejects empty parameters`,
		`warning: template "shipment_delay" parameter 3 contains a new line, a tab or more than 4 spaces in a row, which Meta may refuse`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if ps := s.Check(channels.Message{To: "+6281234567890", Text: "hello"}); len(ps) != 0 {
		t.Errorf("good message has problems: %v", ps)
	}
}

func TestNetworkErrorIsTemporaryAndHidesNothingSecret(t *testing.T) {
	f := newFake(t)
	addr := f.URL()
	f.Close() // nothing listens there any more
	_, err := newSender(t, addr).Send(context.Background(), channels.Message{To: "+16315551234", Text: "hi"})
	if channels.ClassOf(err) != channels.Temporary || channels.IsCanceled(err) {
		t.Fatalf("err = %v, want temporary", err)
	}
	if !strings.HasPrefix(err.Error(), "whatsapp: sending failed: ") {
		t.Errorf("err = %q", err)
	}
	noSecret(t, err.Error())
}

// Meta took the request and did not answer in time: the message may be
// there, so it is in doubt, and not a cancellation of the run.
func TestTimeoutIsUnknownNotCancelled(t *testing.T) {
	f := newFake(t)
	f.SetDelay(5 * time.Second)
	st := settings(fakeConfig, f.URL())
	st.HTTP = &http.Client{Timeout: 50 * time.Millisecond}
	s, err := New(st)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Send(context.Background(), channels.Message{To: "+16315551234", Text: "hi"})
	if channels.ClassOf(err) != channels.Unknown || channels.IsCanceled(err) {
		t.Fatalf("err = %v, want unknown and not cancelled", err)
	}
}

func TestRetryAfterThrottlingSendsOnce(t *testing.T) {
	f := newFake(t)
	f.Respond(400, "application/json", metaError(130429, "(#130429) Rate limit hit", ""))
	policy := channels.RetryPolicy{Attempts: 3, Sleep: func(context.Context, time.Duration) error { return nil }}
	s := channels.WithRetry(fakeSender(t, f), policy, nil)
	rc, err := s.Send(context.Background(), channels.Message{To: "+16315551234", Text: "hi"})
	if err != nil || rc.ProviderID != wamid(t, f.Requests()[1].Answer) {
		t.Fatalf("rc = %+v, err = %v", rc, err)
	}
	if f.Count() != 2 || f.Accepted() != 1 {
		t.Errorf("%d calls, %d accepted; want 2 and 1", f.Count(), f.Accepted())
	}
}

func TestEncodeMatchesWhatIsSentAndHoldsNoSecret(t *testing.T) {
	f := newFake(t)
	s := fakeSender(t, f)
	m := channels.Message{To: "+6281234567890", Template: &channels.ProviderTemplate{Name: "shipment_delay", Language: "id", Params: []string{"Budi", "A-17"}}}
	b, ext, err := s.Encode(m)
	if err != nil || ext != "json" {
		t.Fatalf("Encode: %q %v", ext, err)
	}
	noSecret(t, string(b))
	if _, err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if string(b) != string(f.Requests()[0].Body) {
		t.Errorf("Encode %s differs from the request %s", b, f.Requests()[0].Body)
	}
}

func TestNew(t *testing.T) {
	t.Setenv("WA_TOKEN", token)
	good := `phone_number_id = "` + phoneID + `"` + "\n" + `token = "${WA_TOKEN}"`
	s, err := New(settings(good, ""))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.(*Sender).endpoint; got != "https://graph.facebook.com/v21.0/"+phoneID+"/messages" {
		t.Errorf("endpoint = %q", got)
	}
	s, err = New(settings(good+"\napi_version = \"v23.0\"", "http://127.0.0.1:9000/meta/"))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.(*Sender).endpoint; got != "http://127.0.0.1:9000/meta/v23.0/"+phoneID+"/messages" {
		t.Errorf("endpoint = %q", got)
	}
	for src, want := range map[string]string{
		`token = "x"`: "phone_number_id is required",
		`phone_number_id = "+1 555"` + "\n" + `token = "x"`:        "must be digits only",
		`phone_number_id = "1"`:                                    "token is required",
		good + "\napi_version = \"21\"":                            `api_version "21" must look like "v21.0"`,
		`phone_number_id = "1"` + "\n" + `token = "${WA_NOT_SET}"`: "WA_NOT_SET is not set",
	} {
		_, err := New(settings(src, ""))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New(%q) = %v, want %q", src, err, want)
		}
		if err != nil {
			noSecret(t, err.Error())
		}
	}
	if _, err := New(settings(good, "ftp://x")); err == nil {
		t.Error("ftp api_url accepted")
	}
}

func TestChallenge(t *testing.T) {
	s := newSender(t, "")
	q := url.Values{"hub.mode": {"subscribe"}, "hub.challenge": {"1158201444"}, "hub.verify_token": {verifyToken}}
	if body, ok := s.Challenge(q); !ok || body != "1158201444" {
		t.Errorf("Challenge = %q %v", body, ok)
	}
	bad := url.Values{"hub.mode": {"subscribe"}, "hub.challenge": {"1"}, "hub.verify_token": {"guess"}}
	if _, ok := s.Challenge(bad); ok {
		t.Error("wrong verify token accepted")
	}
	unsub := url.Values{"hub.mode": {"unsubscribe"}, "hub.challenge": {"1"}, "hub.verify_token": {verifyToken}}
	if _, ok := s.Challenge(unsub); ok {
		t.Error("mode other than subscribe accepted")
	}
	noVerify, _ := New(settings(`phone_number_id = "1"`+"\n"+`token = "t"`, ""))
	if _, ok := noVerify.(*Sender).Challenge(url.Values{"hub.mode": {"subscribe"}, "hub.challenge": {"1"}, "hub.verify_token": {""}}); ok {
		t.Error("empty verify token accepted when none is configured")
	}
}

func TestSignatureRFC4231Case2(t *testing.T) {
	got := Signature("Jefe", []byte("what do ya want for nothing?"))
	if want := "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"; got != want {
		t.Errorf("Signature = %s, want %s", got, want)
	}
}

const inboundBody = `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages",
 "value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},
  "contacts":[{"profile":{"name":"Kerry"},"wa_id":"16315551234"}],
  "messages":[
   {"from":"16315551234","id":"wamid.IN1","timestamp":"1603059201","type":"text","text":{"body":"STOP \u00e9"},"context":{"from":"15550783881","id":"wamid.OUT1"}},
   {"from":"16315551234","id":"wamid.IN2","timestamp":"1603059202","type":"button","button":{"text":"Stop promotions","payload":"stop"}},
   {"from":"16315551234","id":"wamid.IN3","timestamp":"1603059203","type":"interactive","interactive":{"type":"button_reply","button_reply":{"id":"b1","title":"Yes"}}}],
  "statuses":[
   {"id":"wamid.OUT1","status":"delivered","timestamp":"1603059300","recipient_id":"16315551234"},
   {"id":"wamid.OUT2","status":"failed","timestamp":"1603059301","recipient_id":"16315551235",
    "errors":[{"code":131026,"title":"Message undeliverable","error_data":{"details":"not on WhatsApp"}}]}]}}]}]}`

func TestParseInbound(t *testing.T) {
	s := newSender(t, "")
	body := []byte(inboundBody)
	req := channels.InboundRequest{Method: "POST", Body: body, Header: http.Header{"X-Hub-Signature-256": {Signature(appSecret, body)}}}
	got, err := s.ParseInbound(req)
	if err != nil {
		t.Fatal(err)
	}
	want := []channels.Inbound{
		{Kind: channels.InboundReply, Time: time.Unix(1603059201, 0).UTC(), From: "+16315551234", To: "+15550783881", Text: "STOP é", ProviderID: "wamid.IN1", InReplyTo: "wamid.OUT1"},
		{Kind: channels.InboundReply, Time: time.Unix(1603059202, 0).UTC(), From: "+16315551234", To: "+15550783881", Text: "Stop promotions", ProviderID: "wamid.IN2"},
		{Kind: channels.InboundReply, Time: time.Unix(1603059203, 0).UTC(), From: "+16315551234", To: "+15550783881", Text: "Yes", ProviderID: "wamid.IN3"},
		{Kind: channels.InboundStatus, Time: time.Unix(1603059300, 0).UTC(), From: "+16315551234", To: "+15550783881", ProviderID: "wamid.OUT1/delivered", Status: "delivered", StatusFor: "wamid.OUT1"},
		{Kind: channels.InboundStatus, Time: time.Unix(1603059301, 0).UTC(), From: "+16315551235", To: "+15550783881", ProviderID: "wamid.OUT2/failed", Status: "failed", StatusFor: "wamid.OUT2", Error: "131026 Message undeliverable"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestParseInboundRejectsBadSignatures(t *testing.T) {
	s := newSender(t, "")
	body := []byte(inboundBody)
	// Meta signs the raw bytes: re-serialised JSON no longer matches.
	var v any
	_ = json.Unmarshal(body, &v)
	reencoded, _ := json.Marshal(v)
	for name, h := range map[string]http.Header{
		"missing":       {},
		"wrong secret":  {"X-Hub-Signature-256": {Signature("not-the-app-secret", body)}},
		"token as key":  {"X-Hub-Signature-256": {Signature(token, body)}},
		"re-serialised": {"X-Hub-Signature-256": {Signature(appSecret, reencoded)}},
		"no prefix":     {"X-Hub-Signature-256": {strings.TrimPrefix(Signature(appSecret, body), "sha256=")}},
		"sha1 header":   {"X-Hub-Signature": {Signature(appSecret, body)}},
		"truncated hex": {"X-Hub-Signature-256": {Signature(appSecret, body)[:40]}},
	} {
		_, err := s.ParseInbound(channels.InboundRequest{Body: body, Header: h})
		if !errors.Is(err, channels.ErrBadSignature) {
			t.Errorf("%s: err = %v, want ErrBadSignature", name, err)
		}
		if err != nil {
			noSecret(t, err.Error())
		}
	}
	noSecretCfg, _ := New(settings(`phone_number_id = "1"`+"\n"+`token = "t"`, ""))
	_, err := noSecretCfg.(channels.InboundParser).ParseInbound(channels.InboundRequest{Body: body, Header: http.Header{"X-Hub-Signature-256": {Signature("", body)}}})
	if !errors.Is(err, channels.ErrBadSignature) {
		t.Errorf("without app_secret: err = %v, want ErrBadSignature", err)
	}
}

func BenchmarkSend(b *testing.B) {
	f := newFake(b)
	f.Discard()
	s := fakeSender(b, f)
	m := channels.Message{To: "+6281234567890", Template: &channels.ProviderTemplate{Name: "shipment_delay", Language: "id", Params: []string{"Budi", "A-17"}}}
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

func TestPrintingTheSenderHidesSecrets(t *testing.T) {
	s := newSender(t, "")
	got := fmt.Sprintf("%v %+v %#v %s", s, s, s, s)
	noSecret(t, got)
	if !strings.Contains(got, "whatsapp sender (https://graph.facebook.com/v21.0/"+phoneID+"/messages)") {
		t.Errorf("printed as %s", got)
	}
}
