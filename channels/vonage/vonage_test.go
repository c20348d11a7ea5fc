package vonage

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"herald/channels"
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

func TestSend(t *testing.T) {
	fake := newFakeVonage(t)
	snd := newTestSender(t, config, func(s *channels.Settings) {
		s.APIURL = fake.URL
		s.PublicURL = "https://notify.example.com"
	})
	rc, err := snd.Send(context.Background(), msg("+447700900000", "Hi Ann, 1+1=2 & 5€ off {today}"))
	if err != nil {
		t.Fatal(err)
	}
	if rc.ProviderID != "0A0000000120ABCD1" {
		t.Errorf("ProviderID = %q", rc.ProviderID)
	}
	want := map[string][]string{
		"api_key": {testKey}, "api_secret": {testSecret}, "from": {"447700900001"}, "to": {"447700900000"},
		"text": {"Hi Ann, 1+1=2 & 5€ off {today}"}, "type": {"text"}, "client-ref": {"r42"},
		"callback": {"https://notify.example.com/webhooks/vsms"},
	}
	if got := fake.last(); !reflect.DeepEqual(map[string][]string(got), want) {
		t.Errorf("form = %v\nwant   %v", got, want)
	}
}

// Sending reuses connections: dialling per message would cost a TLS
// handshake each time against the real API.
func TestSendKeepsConnectionsAlive(t *testing.T) {
	fake := newFakeVonage(t)
	snd := newTestSender(t, config, func(s *channels.Settings) { s.APIURL = fake.URL })
	for i := range 20 {
		if i == 15 {
			fake.setReply(func(w http.ResponseWriter) { result(w, "3", "Invalid to address") })
		}
		snd.Send(context.Background(), msg("+447700900000", "Hi"))
	}
	if n := fake.conns.Load(); n != 1 {
		t.Errorf("20 sequential sends opened %d connections, want 1", n)
	}
}

func TestSendChoosesUnicode(t *testing.T) {
	fake := newFakeVonage(t)
	snd := newTestSender(t, strings.Replace(config, "+447700900001", "Acme", 1), func(s *channels.Settings) { s.APIURL = fake.URL })
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
		form := fake.last()
		if form.Get("type") != typ || form.Get("text") != text || form.Get("from") != "Acme" {
			t.Errorf("%q: type=%q text=%q from=%q, want type %s", text, form.Get("type"), form.Get("text"), form.Get("from"), typ)
		}
		if form.Has("callback") {
			t.Errorf("callback sent without public_url")
		}
	}
}

func TestSendSeveralParts(t *testing.T) {
	fake := newFakeVonage(t)
	snd := newTestSender(t, config, func(s *channels.Settings) { s.APIURL = fake.URL })
	rc, err := snd.Send(context.Background(), msg("+447700900000", strings.Repeat("a", 200)))
	if err != nil {
		t.Fatal(err)
	}
	if rc.ProviderID != "0A0000000120ABCD1,0A0000000121ABCD1" {
		t.Errorf("ProviderID = %q, want both parts' ids", rc.ProviderID)
	}
}

func TestClientRef(t *testing.T) {
	fake := newFakeVonage(t)
	snd := newTestSender(t, config, func(s *channels.Settings) { s.APIURL = fake.URL })
	long := strings.Repeat("customer-", 10)
	m := msg("+447700900000", "Hi")
	m.Recipient = long
	if _, err := snd.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	ref := fake.last().Get("client-ref")
	if len(ref) != 40 || ref != clientRef(long) || ref == clientRef(long+"x") {
		t.Errorf("client-ref for a long id = %q, want a stable 40-character hash", ref)
	}
}

func TestSendErrors(t *testing.T) {
	reply := func(status int, header, body string) func(w http.ResponseWriter) {
		return func(w http.ResponseWriter) {
			if header != "" {
				w.Header().Set("Retry-After", header)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			fmt.Fprint(w, body)
		}
	}
	tests := []struct {
		name      string
		to        string
		reply     func(w http.ResponseWriter)
		permanent bool
		after     time.Duration
		text      string
		id        string
	}{
		{name: "throttled", reply: func(w http.ResponseWriter) { result(w, "1", "Throughput Rate Exceeded - please wait [ 30 ] and retry") },
			text: "vonage: status 1 Throttled: Throughput Rate Exceeded - please wait [ 30 ] and retry"},
		{name: "invalid parameters", reply: func(w http.ResponseWriter) { result(w, "3", "Invalid to address") },
			permanent: true, text: "vonage: status 3 Invalid parameters: Invalid to address"},
		{name: "internal error", reply: func(w http.ResponseWriter) { result(w, "5", "Internal Error") },
			text: "vonage: status 5 Internal error"},
		{name: "no credit", reply: func(w http.ResponseWriter) { result(w, "9", "Quota Exceeded - rejected") },
			permanent: true, text: "vonage: status 9 Partner quota violation: Quota Exceeded - rejected"},
		{name: "bad credentials echoing the secret", reply: func(w http.ResponseWriter) { result(w, "4", "Bad Credentials: "+testSecret) },
			permanent: true, text: "vonage: status 4 Invalid credentials: Bad Credentials: ***"},
		{name: "second part throttled", reply: reply(200, "", `{"message-count":"2","messages":[
			{"to":"447700900000","message-id":"0A01","status":"0","remaining-balance":"3.1","message-price":"0.0333","network":"12345"},
			{"status":"1","error-text":"Throttled"}]}`),
			permanent: true, text: "vonage: status 1 Throttled (part 2 of 2)", id: "0A01"},
		{name: "HTTP 429", reply: reply(429, "2", `{"type":"https://developer.nexmo.com/api-errors#throttled","title":"Throttled"}`),
			after: 2 * time.Second, text: `vonage: HTTP 429: {"type":"https://developer.nexmo.com/api-errors#throttled","title":"Throttled"}`},
		{name: "HTTP 503", reply: reply(503, "", "upstream unavailable"), text: "vonage: HTTP 503: upstream unavailable"},
		{name: "200 that is not Vonage", reply: reply(200, "", "<html>portal</html>"),
			permanent: true, text: "vonage: HTTP 200 without message results: <html>portal</html>"},
		{name: "trunk prefix", to: "07700900000", permanent: true,
			text: `vonage: "07700900000" is not an E.164 number (+, country code, up to 15 digits)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFakeVonage(t)
			fake.setReply(tt.reply)
			snd := newTestSender(t, config, func(s *channels.Settings) { s.APIURL = fake.URL })
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
			if channels.IsPermanent(err) != tt.permanent {
				t.Errorf("IsPermanent = %v, want %v", channels.IsPermanent(err), tt.permanent)
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

	fake := newFakeVonage(t)
	url := fake.URL
	fake.Close()
	snd := newTestSender(t, config, func(s *channels.Settings) { s.APIURL = url })
	_, err := snd.Send(context.Background(), msg("+447700900000", "Hi"))
	if err == nil || channels.IsPermanent(err) || !strings.HasPrefix(err.Error(), "vonage: ") {
		t.Fatalf("connection refused: %v, want a temporary vonage error", err)
	}
	assertNoSecret(t, "error", err.Error())
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
	fake := newFakeVonage(b)
	snd := newTestSender(b, config, func(s *channels.Settings) { s.APIURL = fake.URL })
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
