package webhook

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"herald/channels"
	"herald/channels/channeltest"
)

const pushToken = "sk_live_51HxSecretPushToken"

func settings(src, apiURL string) channels.Settings {
	return channeltest.Settings("push", src, apiURL)
}

func newSender(t testing.TB, src, apiURL string) *Sender {
	t.Helper()
	s, err := New(settings(src, apiURL))
	if err != nil {
		t.Fatal(err)
	}
	return s.(*Sender)
}

func noSecret(t *testing.T, s string) {
	t.Helper()
	if strings.Contains(s, pushToken) || strings.Contains(s, "query-api-key-123") {
		t.Errorf("secret leaked in %q", s)
	}
}

// request is what the fake received.
type request struct {
	method, path, query string
	header              http.Header
	body                string
}

// recorder answers with status and body after recording the request.
func recorder(got *[]request, status int, answer string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		*got = append(*got, request{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), string(b)})
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, answer)
	}
}

// fakeOptions point the backend at the generic webhook fake.
const fakeOptions = `url = "https://api.example.com` + channeltest.WebhookPath + `"
headers = { Authorization = "Bearer ` + channeltest.WebhookToken + `" }
body = '{"to": {{json .address}}, "text": {{json .text}}}'
id_field = "data.id"
`

func TestConformance(t *testing.T) {
	for _, c := range []struct{ name, extra string }{
		{"plain", ""},
		// The API de-duplicates on the key: a lost answer is retried.
		{"idempotency key", "idempotency_header = \"Idempotency-Key\"\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			opts := fakeOptions + c.extra
			channeltest.Run(t, channeltest.Subject{
				Backend: Backend, Options: opts, WrongCredentials: strings.Replace(opts, channeltest.WebhookToken, "revoked-token-1234", 1),
				Message: channels.Message{Campaign: "delay", Recipient: "r42", To: "device-7", Text: "Pedido <A-17> & cia",
					IdempotencyKey: channels.IdempotencyKey("delay", "r42")},
				Secrets: []string{channeltest.WebhookToken}, RetryAfter: true,
				CheckRequest: func(t *testing.T, r channeltest.Request) {
					if want := `{"to": "device-7", "text": "Pedido <A-17> & cia"}`; string(r.Body) != want {
						t.Errorf("body %s, want %s", r.Body, want)
					}
					key := r.Header.Get("Idempotency-Key")
					if (c.extra != "") != (key == channels.IdempotencyKey("delay", "r42")) || (c.extra == "" && key != "") {
						t.Errorf("Idempotency-Key %q with options %q", key, c.extra)
					}
				},
			}, func(t testing.TB) channeltest.Fake { return channeltest.NewWebhook(t) })
		})
	}
}

// idempotency_header makes the channel idempotent, so the registry retries
// its Unknown outcomes; without it on_unknown decides.
func TestIdempotencyHeader(t *testing.T) {
	plain := newSender(t, fakeOptions, "")
	keyed := newSender(t, fakeOptions+`idempotency_header = "X-Request-Key"`, "")
	if plain.Idempotent() || !keyed.Idempotent() {
		t.Fatalf("Idempotent: plain %v, keyed %v", plain.Idempotent(), keyed.Idempotent())
	}
	for _, c := range []struct {
		s         channels.Sender
		onUnknown string
		want      bool
	}{{plain, "", false}, {plain, "in-doubt", false}, {plain, "retry", true}, {keyed, "", true}, {keyed, "in-doubt", true}} {
		if got, err := channels.RetryUnknown(c.s, c.onUnknown); err != nil || got != c.want {
			t.Errorf("RetryUnknown(%v, %q) = %v, %v; want %v", c.s, c.onUnknown, got, err, c.want)
		}
	}
	f := channeltest.NewWebhook(t)
	s := newSender(t, fakeOptions+`idempotency_header = "X-Request-Key"`, f.URL())
	m := channels.Message{Campaign: "delay", Recipient: "r42", To: "device-7", Text: "hi"}
	if _, err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if got := f.Requests()[0].Header.Get("X-Request-Key"); got != channels.IdempotencyKey("delay", "r42") {
		t.Errorf("X-Request-Key %q, want the key derived from campaign and recipient", got)
	}
	for src, want := range map[string]string{
		fakeOptions + `idempotency_header = "Bad Name"`:      `idempotency_header "Bad Name" is not a valid HTTP header name`,
		fakeOptions + `idempotency_header = "Authorization"`: `idempotency_header "Authorization" is also set in headers`,
	} {
		if _, err := New(settings(src, "")); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New: %v, want %q", err, want)
		}
	}
}

var msg = channels.Message{Campaign: "delay", Recipient: "r42", Channel: "push", Locale: "pt-BR",
	To: "device-7", Subject: "Atraso", Text: "Olá \"Ana\"\nPedido <A-17> & cia", HTML: "<p>Olá</p>",
	IdempotencyKey: "0f8fad5b-d9cb-469f-a165-70867728950e"}

func TestSendJSON(t *testing.T) {
	t.Setenv("PUSH_TOKEN", pushToken)
	var got []request
	srv := httptest.NewServer(recorder(&got, 201, `{"data":{"id":12345678901234567890,"status":"queued"}}`))
	defer srv.Close()
	s := newSender(t, `url = "https://api.example.com/v1/notify?tenant=acme"
headers = { Authorization = "Bearer ${PUSH_TOKEN}", X-Tenant = "acme" }
body = '{"to": {{json .address}}, "text": {{json .text}}, "meta": {"c": {{json .campaign}}, "r": {{json .recipient}}, "ch": {{json .channel}}, "l": {{json .locale}}, "k": {{json .idempotency_key}}, "s": {{json .subject}}, "h": {{json .html}}}}'
id_field = "data.id"`, srv.URL)
	rc, err := s.Send(context.Background(), msg)
	if err != nil {
		t.Fatal(err)
	}
	if rc.ProviderID != "12345678901234567890" {
		t.Errorf("ProviderID = %q (a big number must keep its digits)", rc.ProviderID)
	}
	r := got[0]
	if r.method != "POST" || r.path != "/v1/notify" || r.query != "tenant=acme" {
		t.Errorf("request line %s %s?%s", r.method, r.path, r.query)
	}
	for k, want := range map[string]string{"Authorization": "Bearer " + pushToken, "X-Tenant": "acme", "Content-Type": "application/json"} {
		if r.header.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, r.header.Get(k), want)
		}
	}
	want := `{"to": "device-7", "text": "Olá \"Ana\"\nPedido <A-17> & cia", "meta": {"c": "delay", "r": "r42", "ch": "push", "l": "pt-BR", "k": "0f8fad5b-d9cb-469f-a165-70867728950e", "s": "Atraso", "h": "<p>Olá</p>"}}`
	if r.body != want {
		t.Errorf("body:\n%s\nwant\n%s", r.body, want)
	}
}

func TestSendFormPutWithSuccessList(t *testing.T) {
	var got []request
	srv := httptest.NewServer(recorder(&got, 204, ``))
	defer srv.Close()
	s := newSender(t, `url = "http://sms.example.net/send"
method = "put"
content_type = "application/x-www-form-urlencoded"
body = 'to={{urlquery .address}}&msg={{urlquery .text}}'
success = [204]`, srv.URL)
	if _, err := s.Send(context.Background(), channels.Message{To: "+15550001111", Text: "a&b c"}); err != nil {
		t.Fatal(err)
	}
	r := got[0]
	if r.method != "PUT" || r.path != "/send" || r.header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Errorf("got %s %s %q", r.method, r.path, r.header.Get("Content-Type"))
	}
	if v, _ := url.ParseQuery(r.body); v.Get("to") != "+15550001111" || v.Get("msg") != "a&b c" {
		t.Errorf("body %q decodes to %v", r.body, v)
	}
	b, ext, _ := s.Encode(channels.Message{To: "1", Text: "x"})
	if ext != "txt" || string(b) != "to=1&msg=x" {
		t.Errorf("Encode = %q %q", b, ext)
	}
}

func TestGetWithoutBody(t *testing.T) {
	var got []request
	srv := httptest.NewServer(recorder(&got, 200, `[{"id":"abc"}]`))
	defer srv.Close()
	s := newSender(t, `url = "http://x/ping"
method = "GET"
id_field = "0.id"`, srv.URL)
	rc, err := s.Send(context.Background(), msg)
	if err != nil || rc.ProviderID != "abc" {
		t.Fatalf("rc = %+v err = %v", rc, err)
	}
	if got[0].method != "GET" || got[0].body != "" || got[0].header.Get("Content-Type") != "" {
		t.Errorf("got %+v", got[0])
	}
}

func TestClassification(t *testing.T) {
	t.Setenv("PUSH_TOKEN", pushToken)
	for _, c := range []struct {
		status     int
		answer     string
		retryAfter string
		success    string
		class      channels.Class
		wait       time.Duration
		want       string
	}{
		{500, `{"error":"db down"}`, "", "", channels.Unknown, 0, `webhook: HTTP 500: {"error":"db down"}`},
		{504, `gateway timeout`, "", "", channels.Unknown, 0, `webhook: HTTP 504: gateway timeout`},
		{503, `maintenance`, "", "", channels.Temporary, 0, `webhook: HTTP 503: maintenance`},
		{429, `slow down`, "30", "", channels.Temporary, 30 * time.Second, "webhook: HTTP 429: slow down"},
		{400, `{"error":"invalid token Bearer ` + pushToken + `"}`, "", "", channels.Permanent, 0, `webhook: HTTP 400: {"error":"invalid token ***"}`},
		{401, `{"error":"bad key ` + pushToken + `"}`, "", "", channels.Channel, 0, `webhook: HTTP 401: {"error":"bad key ***"}`},
		{403, `{"error":"suspended"}`, "", "", channels.Channel, 0, `webhook: HTTP 403: {"error":"suspended"}`},
		{202, `{}`, "", "success = [200]", channels.Permanent, 0, "webhook: POST http://127.0.0.1:PORT/notify answered HTTP 202, which is not one of the success statuses [200]"},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if c.retryAfter != "" {
				w.Header().Set("Retry-After", c.retryAfter)
			}
			w.WriteHeader(c.status)
			io.WriteString(w, c.answer)
		}))
		s := newSender(t, `url = "https://api.example.com/notify?key=query-api-key-123"
headers = { Authorization = "Bearer ${PUSH_TOKEN}" }
body = '{"to": {{json .address}}}'
`+c.success, srv.URL)
		_, err := s.Send(context.Background(), msg)
		srv.Close()
		c.want = strings.ReplaceAll(c.want, "http://127.0.0.1:PORT", srv.URL)
		if err == nil || err.Error() != c.want || channels.ClassOf(err) != c.class || channels.RetryAfter(err) != c.wait {
			t.Errorf("%d: err = %v (class %s, wait %v)", c.status, err, channels.ClassOf(err), channels.RetryAfter(err))
		}
		if err != nil {
			noSecret(t, err.Error())
		}
	}
}

func TestSuccessListMayIncludeNon2xx(t *testing.T) {
	var got []request
	srv := httptest.NewServer(recorder(&got, 409, `{"id":"dup-1"}`))
	defer srv.Close()
	s := newSender(t, `url = "http://x/"
body = '{}'
success = [200, 409]
id_field = "id"`, srv.URL)
	if rc, err := s.Send(context.Background(), msg); err != nil || rc.ProviderID != "dup-1" {
		t.Errorf("rc = %+v err = %v", rc, err)
	}
}

func TestInvalidJSONIsRefusedBeforeSending(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1) }))
	defer srv.Close()
	// Quoting by hand works for the sample at New but breaks on real data.
	s := newSender(t, `url = "http://x/"
body = '{"text": "{{.text}}"}'`, srv.URL)
	_, err := s.Send(context.Background(), msg)
	if err == nil || !channels.IsPermanent(err) || !strings.Contains(err.Error(), "webhook: body is not valid JSON after rendering") {
		t.Errorf("err = %v", err)
	}
	if calls.Load() != 0 {
		t.Error("the request was sent")
	}
	ps := s.Check(msg)
	if len(ps) != 1 || ps[0].Severity != "error" || !strings.Contains(ps[0].Message, "{{json .text}}") {
		t.Errorf("Check = %+v", ps)
	}
}

func TestNetworkError(t *testing.T) {
	t.Setenv("PUSH_TOKEN", pushToken)
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close()
	s := newSender(t, `url = "https://api.example.com/notify?key=query-api-key-123"
headers = { Authorization = "Bearer ${PUSH_TOKEN}" }`, addr)
	_, err := s.Send(context.Background(), msg)
	if err == nil || channels.IsPermanent(err) || channels.IsCanceled(err) {
		t.Fatalf("err = %v, want temporary", err)
	}
	if !strings.HasPrefix(err.Error(), "webhook: POST "+addr+"/notify failed: ") {
		t.Errorf("err = %q", err)
	}
	noSecret(t, err.Error())
	noSecret(t, fmt.Sprintf("%v %+v %#v", s, s, s))
}

func TestNew(t *testing.T) {
	for src, want := range map[string]string{
		``:                  "url is required",
		`url = "ftp://x/y"`: `url "ftp://x/y" must be an absolute http or https URL`,
		`url = "/relative"`: "must be an absolute http or https URL",
		`url = "https://u:` + pushToken + `@x/"` + "\n" + `method = "TRACE"`:     `method "TRACE" must be one of GET, POST, PUT, PATCH, DELETE`,
		`url = "http://x/"` + "\n" + `body = '{"to": {{json .address}'`:          "webhook: body: body:1: bad character U+007D '}'",
		`url = "http://x/"` + "\n" + `body = '{"to": {{jsn .address}}}'`:         `function "jsn" not defined`,
		`url = "http://x/"` + "\n" + `body = '{"to": {{json .adress}}}'`:         `map has no entry for key "adress"`,
		`url = "http://x/"` + "\n" + `body = '{"to": {{json .address}}'`:         "webhook: body is not valid JSON after rendering",
		`url = "http://x/"` + "\n" + `success = [2000]`:                          "success status 2000 is not an HTTP status",
		`url = "http://x/"` + "\n" + `id_field = "data..id"`:                     `id_field "data..id" must be a dotted path`,
		`url = "http://x/"` + "\n" + `headers = { Content-Type = "text/plain" }`: "content_type, not in headers",
		`url = "http://x/"` + "\n" + `headers = { "Bad Name" = "v" }`:            `header name "Bad Name"`,
		`url = "http://x/"` + "\n" + `content_type = "json"`:                     `content_type "json" is not a media type`,
		`url = "http://x/"` + "\n" + `headers = { A = "${PUSH_UNSET}" }`:         "PUSH_UNSET is not set",
	} {
		_, err := New(settings(src, ""))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New(%s)\n  = %v\n  want %q", src, err, want)
		}
		if err != nil {
			noSecret(t, err.Error())
		}
	}
	s := newSender(t, `url = "https://api.example.com/v1/x?a=1"`, "http://127.0.0.1:9000")
	if s.url != "http://127.0.0.1:9000/v1/x?a=1" {
		t.Errorf("api_url override gives %q", s.url)
	}
}

func TestEncodeHoldsNoHeaderSecret(t *testing.T) {
	t.Setenv("PUSH_TOKEN", pushToken)
	s := newSender(t, `url = "http://x/"
headers = { Authorization = "Bearer ${PUSH_TOKEN}" }
body = '{"to": {{json .address}}, "text": {{json .text}}}'`, "")
	b, ext, err := s.Encode(msg)
	if err != nil || ext != "json" || string(b) != `{"to": "device-7", "text": "Olá \"Ana\"\nPedido <A-17> & cia"}` {
		t.Errorf("Encode = %s %q %v", b, ext, err)
	}
	noSecret(t, string(b))
}

func BenchmarkSend(b *testing.B) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"data":{"id":"m-1"}}`)
	}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	s := newSender(b, `url = "https://api.example.com/notify"
headers = { Authorization = "Bearer token" }
body = '{"to": {{json .address}}, "text": {{json .text}}, "key": {{json .idempotency_key}}}'
id_field = "data.id"`, srv.URL)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Send(context.Background(), msg); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(conns.Load()), "conns")
}
