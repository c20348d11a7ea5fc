package whatsapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
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

// fakeGraph is the Cloud API's send endpoint: it checks the request the way
// Meta does and answers with Meta's shapes; reply, when set, overrides the
// success answer.
type fakeGraph struct {
	t      testing.TB
	calls  atomic.Int32
	mu     sync.Mutex
	bodies []map[string]any
	reply  func(w http.ResponseWriter, n int) bool
	// discard keeps no bodies (benchmarks).
	discard bool
}

func metaError(w http.ResponseWriter, status, code int, msg, details string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":{"message":%q,"type":"OAuthException","code":%d,"error_data":{"messaging_product":"whatsapp","details":%q},"fbtrace_id":"AbCdEf123"}}`, msg, code, details)
}

func (f *fakeGraph) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := int(f.calls.Add(1))
	if r.Method != http.MethodPost || r.URL.Path != "/v21.0/"+phoneID+"/messages" {
		metaError(w, 400, 100, "Unsupported post request", r.Method+" "+r.URL.Path)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+token {
		metaError(w, 401, 190, "Invalid OAuth access token - Cannot parse access token", "")
		return
	}
	if r.Header.Get("Content-Type") != "application/json" {
		metaError(w, 400, 100, "(#100) Invalid parameter", "content type "+r.Header.Get("Content-Type"))
		return
	}
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		metaError(w, 400, 100, "(#100) Invalid parameter", "body is not JSON")
		return
	}
	if problem := validate(body); problem != "" {
		metaError(w, 400, 100, "(#100) Invalid parameter", problem)
		return
	}
	if !f.discard {
		f.mu.Lock()
		f.bodies = append(f.bodies, body)
		f.mu.Unlock()
	}
	if f.reply != nil && f.reply(w, n) {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"messaging_product":"whatsapp","contacts":[{"input":%q,"wa_id":%q}],"messages":[{"id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI%d"}]}`, body["to"], body["to"], n)
}

// validate applies the Cloud API's rules for the fields herald sends.
func validate(b map[string]any) string {
	allowed := map[string]bool{"messaging_product": true, "recipient_type": true, "to": true, "type": true, "text": true, "template": true}
	for k := range b {
		if !allowed[k] {
			return "unexpected field " + k
		}
	}
	if b["messaging_product"] != "whatsapp" {
		return "messaging_product must be whatsapp"
	}
	if b["recipient_type"] != "individual" {
		return "recipient_type must be individual"
	}
	if to, ok := b["to"].(string); !ok || to == "" {
		return "to must be a string"
	}
	switch b["type"] {
	case "text":
		text, ok := b["text"].(map[string]any)
		if !ok || b["template"] != nil {
			return "text must be an object"
		}
		if body, ok := text["body"].(string); !ok || body == "" || len([]rune(body)) > 4096 {
			return "text.body must be 1-4096 characters"
		}
		if _, ok := text["preview_url"].(bool); !ok {
			return "text.preview_url must be a boolean"
		}
	case "template":
		tpl, ok := b["template"].(map[string]any)
		if !ok || b["text"] != nil {
			return "template must be an object"
		}
		if _, ok := tpl["name"].(string); !ok {
			return "template.name must be a string"
		}
		lang, ok := tpl["language"].(map[string]any)
		if !ok {
			return "template.language must be an object"
		}
		if _, ok := lang["code"].(string); !ok || lang["policy"] != "deterministic" {
			return "template.language needs code and policy deterministic"
		}
		if c, has := tpl["components"]; has {
			comps, ok := c.([]any)
			if !ok || len(comps) == 0 {
				return "template.components must be a non-empty array"
			}
			for _, c := range comps {
				cm, _ := c.(map[string]any)
				params, ok := cm["parameters"].([]any)
				if cm["type"] != "body" || !ok {
					return "component must be type body with parameters"
				}
				for _, p := range params {
					pm, _ := p.(map[string]any)
					if s, ok := pm["text"].(string); pm["type"] != "text" || !ok || s == "" {
						return "parameter must be type text with non-empty text"
					}
				}
			}
		}
	default:
		return "type must be text or template"
	}
	return ""
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
	f := &fakeGraph{t: t}
	srv := httptest.NewServer(f)
	defer srv.Close()
	s := newSender(t, srv.URL)

	rc, err := s.Send(context.Background(), channels.Message{To: "+6281234567890", Text: "Hi Budi, order A-17 <late> & sorry"})
	if err != nil {
		t.Fatal(err)
	}
	if rc.ProviderID != "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI1" {
		t.Errorf("ProviderID = %q", rc.ProviderID)
	}
	want := decode(t, `{"messaging_product":"whatsapp","recipient_type":"individual","to":"6281234567890","type":"text",
		"text":{"body":"Hi Budi, order A-17 <late> & sorry","preview_url":false}}`)
	if !reflect.DeepEqual(f.bodies[0], want) {
		t.Errorf("body = %v\nwant %v", f.bodies[0], want)
	}
}

func TestSendTemplate(t *testing.T) {
	f := &fakeGraph{t: t}
	srv := httptest.NewServer(f)
	defer srv.Close()
	s := newSender(t, srv.URL)

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
	if !reflect.DeepEqual(f.bodies, want) {
		t.Errorf("bodies = %v\nwant %v", f.bodies, want)
	}
}

func TestSendErrorsAreClassifiedByMetaCode(t *testing.T) {
	cases := []struct {
		status, code int
		message      string
		details      string
		retryAfter   string
		permanent    bool
		wantWait     time.Duration
		wantText     string
	}{
		{400, 131026, "Message undeliverable", "Recipient is not a WhatsApp user", "", true, 0, "whatsapp: 131026 Message undeliverable: Recipient is not a WhatsApp user"},
		{400, 132001, "(#132001) Template name does not exist in the translation", "template name (shipment_delay) does not exist in pt_BR", "", true, 0, "whatsapp: 132001 Template name does not exist in the translation: template name (shipment_delay) does not exist in pt_BR"},
		{401, 190, "Error validating access token: Session has expired", "", "", true, 0, "whatsapp: 190 Error validating access token"},
		{400, 100, "(#100) Invalid parameter", "", "", true, 0, "whatsapp: 100 Invalid parameter"},
		// Throttling comes with 400 or 429 depending on Meta's mood: the code decides.
		{400, 130429, "(#130429) Rate limit hit", "Cloud API message throughput has been reached.", "", false, 0, "whatsapp: 130429 Rate limit hit"},
		{429, 80007, "(#80007) Rate limit issues", "", "7", false, 7 * time.Second, "whatsapp: 80007"},
		{400, 131056, "(#131056) (Business Account, Consumer Account) pair rate limit hit", "", "", false, 0, "whatsapp: 131056"},
		{400, 4, "(#4) Application request limit reached", "", "", false, 0, "whatsapp: 4 Application request limit reached"},
		{500, 131000, "Something went wrong", "", "", false, 0, "whatsapp: 131000 Something went wrong"},
		// A permission code comes with HTTP 500 sometimes: still permanent.
		{500, 10, "(#10) Application does not have permission for this action", "", "", true, 0, "whatsapp: 10 Application does not have permission"},
		// Unknown codes fall back to the HTTP status.
		{503, 99999, "Brand new failure", "", "", false, 0, "whatsapp: 99999 Brand new failure"},
		{400, 99998, "Brand new refusal", "", "", true, 0, "whatsapp: 99998 Brand new refusal"},
	}
	for _, c := range cases {
		t.Run(fmt.Sprint(c.code), func(t *testing.T) {
			f := &fakeGraph{t: t, reply: func(w http.ResponseWriter, _ int) bool {
				if c.retryAfter != "" {
					w.Header().Set("Retry-After", c.retryAfter)
				}
				metaError(w, c.status, c.code, c.message, c.details)
				return true
			}}
			srv := httptest.NewServer(f)
			defer srv.Close()
			_, err := newSender(t, srv.URL).Send(context.Background(), channels.Message{To: "+16315551234", Text: "hi"})
			if err == nil {
				t.Fatal("no error")
			}
			if channels.IsPermanent(err) != c.permanent {
				t.Errorf("permanent = %v, want %v (%v)", !c.permanent, c.permanent, err)
			}
			if got := channels.RetryAfter(err); got != c.wantWait {
				t.Errorf("RetryAfter = %v, want %v", got, c.wantWait)
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
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "<html>502 Bad Gateway</html>", http.StatusBadGateway)
	}))
	defer srv.Close()
	_, err := newSender(t, srv.URL).Send(context.Background(), channels.Message{To: "+16315551234", Text: "hi"})
	if err == nil || channels.IsPermanent(err) || !strings.Contains(err.Error(), "HTTP 502") {
		t.Fatalf("err = %v, want temporary HTTP 502", err)
	}
}

func TestRefusedBeforeSending(t *testing.T) {
	f := &fakeGraph{t: t}
	srv := httptest.NewServer(f)
	defer srv.Close()
	s := newSender(t, srv.URL)
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
	if n := f.calls.Load(); n != 0 {
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
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close() // nothing listens there any more
	_, err := newSender(t, addr).Send(context.Background(), channels.Message{To: "+16315551234", Text: "hi"})
	if err == nil || channels.IsPermanent(err) || channels.IsCanceled(err) {
		t.Fatalf("err = %v, want temporary", err)
	}
	if !strings.HasPrefix(err.Error(), "whatsapp: request failed: ") {
		t.Errorf("err = %q", err)
	}
	noSecret(t, err.Error())
}

func TestTimeoutIsTemporaryNotCancelled(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
	defer srv.Close()
	defer close(block)
	st := settings(config(""), srv.URL)
	st.HTTP = &http.Client{Timeout: 50 * time.Millisecond}
	s, err := New(st)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Send(context.Background(), channels.Message{To: "+16315551234", Text: "hi"})
	if err == nil || channels.IsPermanent(err) || channels.IsCanceled(err) {
		t.Fatalf("err = %v, want temporary and not cancelled, so it is retried", err)
	}
}

func TestCancelledContext(t *testing.T) {
	srv := httptest.NewServer(&fakeGraph{t: t})
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := newSender(t, srv.URL).Send(ctx, channels.Message{To: "+16315551234", Text: "hi"})
	if !channels.IsCanceled(err) {
		t.Fatalf("err = %v, want cancelled", err)
	}
}

func TestRetryAfterThrottlingSendsOnce(t *testing.T) {
	f := &fakeGraph{t: t, reply: func(w http.ResponseWriter, n int) bool {
		if n == 1 {
			metaError(w, 400, 130429, "(#130429) Rate limit hit", "")
			return true
		}
		return false
	}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	policy := channels.RetryPolicy{Attempts: 3, Sleep: func(context.Context, time.Duration) error { return nil }}
	s := channels.WithRetry(newSender(t, srv.URL), policy, nil)
	rc, err := s.Send(context.Background(), channels.Message{To: "+16315551234", Text: "hi"})
	if err != nil || rc.ProviderID != "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI2" {
		t.Fatalf("rc = %+v, err = %v", rc, err)
	}
	if n := f.calls.Load(); n != 2 {
		t.Errorf("%d calls, want 2", n)
	}
}

func TestEncodeMatchesWhatIsSentAndHoldsNoSecret(t *testing.T) {
	f := &fakeGraph{t: t}
	srv := httptest.NewServer(f)
	defer srv.Close()
	s := newSender(t, srv.URL)
	m := channels.Message{To: "+6281234567890", Template: &channels.ProviderTemplate{Name: "shipment_delay", Language: "id", Params: []string{"Budi"}}}
	b, ext, err := s.Encode(m)
	if err != nil || ext != "json" {
		t.Fatalf("Encode: %q %v", ext, err)
	}
	noSecret(t, string(b))
	if _, err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(decode(t, string(b)), f.bodies[0]) {
		t.Errorf("Encode %s differs from the request %v", b, f.bodies[0])
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
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(&fakeGraph{t: b, discard: true})
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	s := newSender(b, srv.URL)
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
	b.ReportMetric(float64(conns.Load()), "conns")
}

func TestPrintingTheSenderHidesSecrets(t *testing.T) {
	s := newSender(t, "")
	got := fmt.Sprintf("%v %+v %#v %s", s, s, s, s)
	noSecret(t, got)
	if !strings.Contains(got, "whatsapp sender (https://graph.facebook.com/v21.0/"+phoneID+"/messages)") {
		t.Errorf("printed as %s", got)
	}
}
