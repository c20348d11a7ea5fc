package vonage

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"herald/channels"
	"herald/channels/channeltest"
)

// decoder decodes a [channels.X] body the way herald does: strictly.
func decoder(src string) func(any) error {
	return func(v any) error {
		md, err := toml.Decode(src, v)
		if err != nil {
			return err
		}
		if u := md.Undecoded(); len(u) > 0 {
			return fmt.Errorf("unknown key %q", u[0].String())
		}
		return nil
	}
}

const config = `
api_key = "` + testKey + `"
api_secret = "` + testSecret + `"
from = "+447700900001"
`

func newTestSender(t testing.TB, src string, mod func(*channels.Settings)) *sender {
	t.Helper()
	s := channels.Settings{Channel: "vsms", Decode: decoder(src), Concurrency: 4}
	if mod != nil {
		mod(&s)
	}
	snd, err := Backend.New(s)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return snd.(*sender)
}

func msg(to, text string) channels.Message {
	return channels.Message{Campaign: "shipment-delay", Recipient: "r42", Channel: "vsms", Locale: "en-GB", To: to, Text: text}
}

// assertNoSecret fails when a secret shows up in any text a user or a log
// could see.
func assertNoSecret(t *testing.T, what, text string) {
	t.Helper()
	for _, secret := range []string{testSecret, sigSecret} {
		if strings.Contains(text, secret) {
			t.Errorf("%s reveals a secret: %s", what, text)
		}
	}
}

const (
	testKey    = channeltest.VonageAPIKey
	testSecret = channeltest.VonageAPISecret
)

// lastForm is the form of the last request the fake saw.
func lastForm(t *testing.T, f *channeltest.Vonage) url.Values {
	t.Helper()
	reqs := f.Requests()
	if len(reqs) == 0 {
		t.Fatal("the fake received no request")
	}
	return reqs[len(reqs)-1].Form()
}

func TestConformance(t *testing.T) {
	channeltest.Run(t, channeltest.Subject{
		Backend: Backend, Options: config, WrongCredentials: strings.Replace(config, testSecret, "wrong-secret", 1),
		Message: msg("+6281234567890", "Pedido D-4001 atrasado. Responda PARAR."),
		Secrets: []string{testSecret},
		CheckRequest: func(t *testing.T, r channeltest.Request) {
			f := r.Form()
			if r.Method != http.MethodPost || r.Path != "/sms/json" || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
				t.Errorf("request %s %s %s", r.Method, r.Path, r.Header.Get("Content-Type"))
			}
			if f.Get("to") != "6281234567890" || f.Get("from") != "447700900001" || f.Get("type") != "text" {
				t.Errorf("to/from/type = %q/%q/%q, want digits without + and type text", f.Get("to"), f.Get("from"), f.Get("type"))
			}
		},
	}, func(t testing.TB) channeltest.Fake { return channeltest.NewVonage(t) })
}

func TestSend(t *testing.T) {
	fake := channeltest.NewVonage(t)
	snd := newTestSender(t, config, func(s *channels.Settings) {
		s.APIURL = fake.URL()
		s.PublicURL = "https://notify.example.com"
	})
	rc, err := snd.Send(context.Background(), msg("+447700900000", "Hi Ann, 1+1=2 & 5€ off {today}"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rc.ProviderID) != 16 {
		t.Errorf("ProviderID = %q, want the message-id", rc.ProviderID)
	}
	want := map[string][]string{
		"api_key": {testKey}, "api_secret": {testSecret}, "from": {"447700900001"}, "to": {"447700900000"},
		"text": {"Hi Ann, 1+1=2 & 5€ off {today}"}, "type": {"text"}, "client-ref": {"r42"},
		"callback": {"https://notify.example.com/webhooks/vsms"},
	}
	if got := lastForm(t, fake); !reflect.DeepEqual(map[string][]string(got), want) {
		t.Errorf("form = %v\nwant   %v", got, want)
	}
}

// Sending reuses connections: dialling per message would cost a TLS
// handshake each time against the real API.
func TestSendKeepsConnectionsAlive(t *testing.T) {
	fake := channeltest.NewVonage(t)
	snd := newTestSender(t, config, func(s *channels.Settings) { s.APIURL = fake.URL() })
	for i := range 20 {
		if i == 15 {
			fake.FailAddress("+447700900000")
		}
		snd.Send(context.Background(), msg("+447700900000", "Hi"))
	}
	if n := fake.Conns(); n != 1 {
		t.Errorf("20 sequential sends opened %d connections, want 1", n)
	}
}

func TestSendChoosesUnicode(t *testing.T) {
	fake := channeltest.NewVonage(t)
	snd := newTestSender(t, strings.Replace(config, "+447700900001", "Acme", 1), func(s *channels.Settings) { s.APIURL = fake.URL() })
	for text, typ := range map[string]string{
		"Your order is ready":       "text",
		"Ça va? Your order’s ready": "unicode",
		"Pesanan Anda siap 📦":       "unicode",
		"ご注文の商品は発送されました":            "unicode",
		"Price: €5 [promo] ~today":  "text",
	} {
		if _, err := snd.Send(context.Background(), msg("+6281234567890", text)); err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		form := lastForm(t, fake)
		if form.Get("type") != typ || form.Get("text") != text || form.Get("from") != "Acme" {
			t.Errorf("%q: type=%q text=%q from=%q, want type %s", text, form.Get("type"), form.Get("text"), form.Get("from"), typ)
		}
		if form.Has("callback") {
			t.Errorf("callback sent without public_url")
		}
	}
}

func TestSendSeveralParts(t *testing.T) {
	fake := channeltest.NewVonage(t)
	snd := newTestSender(t, config, func(s *channels.Settings) { s.APIURL = fake.URL() })
	rc, err := snd.Send(context.Background(), msg("+447700900000", strings.Repeat("a", 200)))
	if err != nil {
		t.Fatal(err)
	}
	var answer struct {
		Messages []struct {
			ID string `json:"message-id"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(fake.Requests()[0].Answer, &answer); err != nil || len(answer.Messages) != 2 {
		t.Fatalf("the fake's answer: %v %+v", err, answer)
	}
	if want := answer.Messages[0].ID + "," + answer.Messages[1].ID; rc.ProviderID != want {
		t.Errorf("ProviderID = %q, want both parts' ids %q", rc.ProviderID, want)
	}
}

func TestClientRef(t *testing.T) {
	fake := channeltest.NewVonage(t)
	snd := newTestSender(t, config, func(s *channels.Settings) { s.APIURL = fake.URL() })
	long := strings.Repeat("customer-", 10)
	m := msg("+447700900000", "Hi")
	m.Recipient = long
	if _, err := snd.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	ref := lastForm(t, fake).Get("client-ref")
	if len(ref) != 40 || ref != clientRef(long) || ref == clientRef(long+"x") {
		t.Errorf("client-ref for a long id = %q, want a stable 40-character hash", ref)
	}
}

// result is Vonage's answer for one failed message.
func result(status, text string) string {
	return fmt.Sprintf(`{"message-count":"1","messages":[{"status":%q,"error-text":%q}]}`, status, text)
}

// TestSendErrors: Vonage answers message-level results with HTTP 200, so
// its status decides the class; the HTTP layer in front of it is
// classified like any other API.
func TestSendErrors(t *testing.T) {
	tests := []struct {
		name  string
		to    string
		arm   func(f *channeltest.Vonage)
		class channels.Class
		after time.Duration
		text  string
		id    string
	}{
		{name: "throttled", arm: func(f *channeltest.Vonage) { f.Throttle(1, 30) }, class: channels.Temporary,
			text: "vonage: status 1 Throttled: Throughput Rate Exceeded - please wait [ 30000 ] and retry"},
		{name: "invalid parameters", to: "+12", class: channels.Permanent,
			text: "vonage: status 3 Invalid parameters: Invalid to address"},
		{name: "unroutable", arm: func(f *channeltest.Vonage) { f.FailAddress("+447700900000") }, class: channels.Permanent,
			text: "vonage: status 6 Invalid message: Unroutable message - rejected"},
		{name: "internal error", arm: func(f *channeltest.Vonage) { f.Respond(200, "application/json", result("5", "Internal Error")) },
			class: channels.Temporary, text: "vonage: status 5 Internal error"},
		{name: "no credit", arm: func(f *channeltest.Vonage) {
			f.Respond(200, "application/json", result("9", "Quota Exceeded - rejected"))
		}, class: channels.Channel, text: "vonage: status 9 Partner quota violation: Quota Exceeded - rejected"},
		{name: "bad credentials echoing the secret", arm: func(f *channeltest.Vonage) {
			f.Respond(200, "application/json", result("4", "Bad Credentials: "+testSecret))
		}, class: channels.Channel, text: "vonage: status 4 Invalid credentials: Bad Credentials: ***"},
		{name: "second part throttled", arm: func(f *channeltest.Vonage) {
			f.Respond(200, "application/json", `{"message-count":"2","messages":[
			{"to":"447700900000","message-id":"0A01","status":"0","remaining-balance":"3.1","message-price":"0.0333","network":"12345"},
			{"status":"1","error-text":"Throttled"}]}`)
		}, class: channels.Permanent, text: "vonage: status 1 Throttled (part 2 of 2)", id: "0A01"},
		{name: "HTTP 429", arm: func(f *channeltest.Vonage) { f.Respond(429, "application/json", `{"title":"Throttled"}`) },
			class: channels.Temporary, text: `vonage: HTTP 429: {"title":"Throttled"}`},
		{name: "HTTP 503", arm: func(f *channeltest.Vonage) { f.Respond(503, "text/plain", "upstream unavailable") },
			class: channels.Temporary, text: "vonage: HTTP 503: upstream unavailable"},
		{name: "HTTP 500", arm: func(f *channeltest.Vonage) { f.Respond(500, "text/plain", "oops") },
			class: channels.Unknown, text: "vonage: HTTP 500: oops"},
		{name: "200 that is not Vonage", arm: func(f *channeltest.Vonage) { f.Respond(200, "text/html", "<html>portal</html>") },
			class: channels.Unknown, text: "vonage: HTTP 200 without message results: <html>portal</html>"},
		{name: "trunk prefix", to: "07700900000", class: channels.Permanent,
			text: `vonage: "07700900000" is not an E.164 number (+, country code, up to 15 digits)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := channeltest.NewVonage(t)
			if tt.arm != nil {
				tt.arm(fake)
			}
			snd := newTestSender(t, config, func(s *channels.Settings) { s.APIURL = fake.URL() })
			to := tt.to
			if to == "" {
				to = "+447700900000"
			}
			rc, err := snd.Send(context.Background(), msg(to, "Hi"))
			if err == nil {
				t.Fatal("Send succeeded")
			}
			if err.Error() != tt.text {
				t.Errorf("error = %q\nwant    %q", err, tt.text)
			}
			if got := channels.ClassOf(err); got != tt.class {
				t.Errorf("class = %s, want %s", got, tt.class)
			}
			if got := channels.RetryAfter(err); got != tt.after {
				t.Errorf("RetryAfter = %v, want %v", got, tt.after)
			}
			if rc.ProviderID != tt.id {
				t.Errorf("ProviderID = %q, want %q", rc.ProviderID, tt.id)
			}
			assertNoSecret(t, "error", fmt.Sprintf("%v %+v %#v", err, err, err))
		})
	}
}

func TestNewValidates(t *testing.T) {
	tests := []struct{ name, src, public, want string }{
		{"nothing", ``, "", "api_key is required"},
		{"no secret", `api_key = "k"` + "\nfrom = \"Acme\"", "", "api_secret is required"},
		{"no from", `api_key = "k"` + "\napi_secret = \"s\"", "", "from is required"},
		{"bad method", config + `signature_secret = "x"` + "\nsignature_method = \"crc32\"", "", `signature_method "crc32" is not md5hash, md5, sha1, sha256 or sha512`},
		{"method without secret", config + `signature_method = "sha256"`, "", "signature_method is set but signature_secret is not"},
		{"callback without public_url", config + "callback = true", "", "callback = true needs public_url"},
		{"typo", config + `api_secrt = "x"`, "", `unknown key "api_secrt"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Backend.New(channels.Settings{Channel: "vsms", Decode: decoder(tt.src), PublicURL: tt.public})
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "vonage: ") {
				t.Fatalf("New: %v, want an error containing %q", err, tt.want)
			}
			assertNoSecret(t, "error", err.Error())
		})
	}
	snd := newTestSender(t, config+`signature_secret = "`+sigSecret+`"`, nil)
	assertNoSecret(t, "sender", fmt.Sprintf("%v %+v %#v %s", snd, snd, snd, snd))
}

func TestCheck(t *testing.T) {
	snd := newTestSender(t, config, func(s *channels.Settings) { s.MaxSegments = 1 })
	if p := snd.Check(msg("+447700900000", "Your parcel is on its way.")); len(p) != 0 {
		t.Errorf("short text: %+v", p)
	}
	p := snd.Check(msg("+447700900000", strings.Repeat("€", 81)))
	if len(p) != 1 || p[0].Message != "vsms: 2 segments (GSM-7, 162 septets) exceeds max_segments = 1" {
		t.Errorf("81 euros: %+v", p)
	}
	p = snd.Check(msg("07700 900000", "Hi"))
	if len(p) != 1 || !strings.Contains(p[0].Message, "not an E.164 number") {
		t.Errorf("national number: %+v", p)
	}
}

func TestEncode(t *testing.T) {
	snd := newTestSender(t, config, nil)
	body, ext, err := snd.Encode(msg("+447700900000", "Olá <b> & 1+1"))
	if err != nil || ext != "json" {
		t.Fatalf("Encode: %q, %v", ext, err)
	}
	var got map[string]string
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, body)
	}
	want := map[string]string{
		"api_key": testKey, "api_secret": "***", "from": "447700900001", "to": "447700900000",
		"text": "Olá <b> & 1+1", "type": "unicode", "client-ref": "r42",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Encode = %v\nwant     %v", got, want)
	}
	assertNoSecret(t, "Encode", string(body))
}

// BenchmarkSend measures sends per second against a local fake over
// keep-alive connections: the backend's own overhead, not Vonage's.
func BenchmarkSend(b *testing.B) {
	fake := channeltest.NewVonage(b)
	fake.Discard()
	snd := newTestSender(b, config, func(s *channels.Settings) { s.APIURL = fake.URL() })
	m := msg("+447700900000", "Hi Ann, your parcel A-17 is delayed; new date 12 May.")
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			if _, err := snd.Send(context.Background(), m); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := snd.Send(context.Background(), m); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	})
}
