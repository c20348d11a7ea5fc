package twilio_test

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
	"herald/channels/twilio"
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

const smsConfig = `
account_sid = "` + testSID + `"
auth_token = "` + testToken + `"
from = "+15550001111"
`

func newSender(t testing.TB, b channels.Backend, src string, mod func(*channels.Settings)) channels.Sender {
	t.Helper()
	s := channels.Settings{Channel: "sms", Decode: decoder(src), Concurrency: 4}
	if mod != nil {
		mod(&s)
	}
	snd, err := b.New(s)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return snd
}

func msg(to, text string) channels.Message {
	return channels.Message{Campaign: "shipment-delay", Recipient: "r42", Channel: "sms", Locale: "pt-BR", To: to, Text: text}
}

// assertNoSecret fails when the auth token shows up in any text a user or a
// log could see.
func assertNoSecret(t *testing.T, what, text string) {
	t.Helper()
	if strings.Contains(text, testToken) {
		t.Errorf("%s reveals the auth token: %s", what, text)
	}
}

func TestSendSMS(t *testing.T) {
	fake := newFakeTwilio(t)
	snd := newSender(t, twilio.Backend, smsConfig, func(s *channels.Settings) { s.APIURL = fake.URL })

	rc, err := snd.Send(context.Background(), msg("+5511987654321", "Olá Ana: 1+1=2 & 50% off ☺"))
	if err != nil {
		t.Fatal(err)
	}
	if rc.ProviderID != "SM3d7ba9a3b71ab9ff7a4c0e2d5f3b6a1c" {
		t.Errorf("ProviderID = %q", rc.ProviderID)
	}
	form, raw := fake.last()
	want := map[string][]string{
		"To":   {"+5511987654321"},
		"From": {"+15550001111"},
		"Body": {"Olá Ana: 1+1=2 & 50% off ☺"},
	}
	if !reflect.DeepEqual(map[string][]string(form), want) {
		t.Errorf("form = %v, want %v", form, want)
	}
	// A literal '+' would decode as a space: the number and "1+1" must
	// arrive as %2B.
	if !strings.Contains(raw, "To=%2B5511987654321") || !strings.Contains(raw, "1%2B1") {
		t.Errorf("'+' must be sent as %%2B: %s", raw)
	}
}

// Sending reuses connections: dialling per message would cost a TLS
// handshake each time against the real API.
func TestSendKeepsConnectionsAlive(t *testing.T) {
	fake := newFakeTwilio(t)
	snd := newSender(t, twilio.Backend, smsConfig, func(s *channels.Settings) { s.APIURL = fake.URL })
	for range 20 {
		if _, err := snd.Send(context.Background(), msg("+15552229999", "Hi")); err != nil {
			t.Fatal(err)
		}
	}
	fake.setReply(func(w http.ResponseWriter) { twilioError(w, 400, 21211, "Invalid 'To' Phone Number") })
	for range 5 {
		snd.Send(context.Background(), msg("+15552229999", "Hi"))
	}
	if n := fake.conns.Load(); n != 1 {
		t.Errorf("25 sequential sends opened %d connections, want 1", n)
	}
}

func TestSendMessagingServiceAndCallback(t *testing.T) {
	fake := newFakeTwilio(t)
	src := `
account_sid = "` + testSID + `"
auth_token = "` + testToken + `"
messaging_service_sid = "` + testService + `"
`
	snd := newSender(t, twilio.Backend, src, func(s *channels.Settings) {
		s.APIURL = fake.URL + "/"
		s.PublicURL = "https://notify.example.com/"
		s.Channel = "us sms"
	})
	if _, err := snd.Send(context.Background(), msg("+15552229999", "Hi")); err != nil {
		t.Fatal(err)
	}
	form, _ := fake.last()
	want := map[string][]string{
		"To":                  {"+15552229999"},
		"MessagingServiceSid": {testService},
		"Body":                {"Hi"},
		"StatusCallback":      {"https://notify.example.com/webhooks/us%20sms"},
	}
	if !reflect.DeepEqual(map[string][]string(form), want) {
		t.Errorf("form = %v, want %v", form, want)
	}

	// status_callback = false turns the default off.
	snd = newSender(t, twilio.Backend, smsConfig+"status_callback = false\n", func(s *channels.Settings) {
		s.APIURL = fake.URL
		s.PublicURL = "https://notify.example.com"
	})
	if _, err := snd.Send(context.Background(), msg("+15552229999", "Hi")); err != nil {
		t.Fatal(err)
	}
	if form, _ := fake.last(); form.Has("StatusCallback") {
		t.Errorf("status_callback = false still sent StatusCallback=%q", form.Get("StatusCallback"))
	}
}

func TestSendWhatsApp(t *testing.T) {
	fake := newFakeTwilio(t)
	for _, from := range []string{"+14155238886", "whatsapp:+14155238886"} {
		src := strings.Replace(smsConfig, "+15550001111", from, 1)
		snd := newSender(t, twilio.WhatsAppBackend, src, func(s *channels.Settings) { s.APIURL = fake.URL })
		if _, err := snd.Send(context.Background(), msg("+6281234567890", "Halo Budi")); err != nil {
			t.Fatalf("from %q: %v", from, err)
		}
		form, _ := fake.last()
		if form.Get("To") != "whatsapp:+6281234567890" || form.Get("From") != "whatsapp:+14155238886" {
			t.Errorf("from %q: To=%q From=%q, want both with the whatsapp: prefix", from, form.Get("To"), form.Get("From"))
		}
	}
	if twilio.WhatsAppBackend.Kind != channels.KindWhatsApp || twilio.Backend.Kind != channels.KindSMS {
		t.Error("backend kinds are wrong")
	}
}

func TestSendErrors(t *testing.T) {
	tests := []struct {
		name      string
		to        string
		reply     func(w http.ResponseWriter)
		permanent bool
		after     time.Duration
		text      string
	}{
		{name: "invalid To", to: "15552229999", permanent: true,
			text: "twilio: 21211 Invalid 'To' Phone Number (HTTP 400)"},
		{name: "unsubscribed", reply: func(w http.ResponseWriter) {
			twilioError(w, 400, 21610, "Attempt to send to unsubscribed recipient")
		}, permanent: true, text: "twilio: 21610 Attempt to send to unsubscribed recipient (HTTP 400)"},
		{name: "too many requests", reply: func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "2")
			twilioError(w, 429, 20429, "Too Many Requests")
		}, after: 2 * time.Second, text: "twilio: 20429 Too Many Requests (HTTP 429)"},
		{name: "unavailable, not JSON", reply: func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(503)
			fmt.Fprint(w, "<html>\n<body>Service Unavailable</body>\n</html>")
		}, text: "twilio: HTTP 503: <html> <body>Service Unavailable</body> </html>"},
		{name: "internal error", reply: func(w http.ResponseWriter) {
			twilioError(w, 500, 20500, "Internal Server Error")
		}, text: "twilio: 20500 Internal Server Error (HTTP 500)"},
		{name: "proxy echoes the token", reply: func(w http.ResponseWriter) {
			twilioError(w, 401, 20003, "Authenticate: bad password "+testToken)
		}, permanent: true, text: "twilio: 20003 Authenticate: bad password *** (HTTP 401)"},
		{name: "2xx that is not Twilio", reply: func(w http.ResponseWriter) {
			w.WriteHeader(200)
			fmt.Fprint(w, "<html>captive portal</html>")
		}, permanent: true, text: "twilio: HTTP 200 without a message sid: <html>captive portal</html>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFakeTwilio(t)
			fake.setReply(tt.reply)
			snd := newSender(t, twilio.Backend, smsConfig, func(s *channels.Settings) { s.APIURL = fake.URL })
			to := tt.to
			if to == "" {
				to = "+15552229999"
			}
			_, err := snd.Send(context.Background(), msg(to, "Hi"))
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
			assertNoSecret(t, "error", fmt.Sprintf("%v %+v %#v", err, err, err))
		})
	}
}

func TestSendNetworkErrors(t *testing.T) {
	fake := newFakeTwilio(t)
	url := fake.URL
	fake.Close() // nothing listens there now
	snd := newSender(t, twilio.Backend, smsConfig, func(s *channels.Settings) { s.APIURL = url })
	_, err := snd.Send(context.Background(), msg("+15552229999", "Hi"))
	if err == nil || channels.IsPermanent(err) || !strings.HasPrefix(err.Error(), "twilio: ") {
		t.Fatalf("connection refused: %v, want a temporary twilio error", err)
	}
	assertNoSecret(t, "error", err.Error())

	hang := newFakeTwilio(t)
	hang.setReply(func(w http.ResponseWriter) { time.Sleep(200 * time.Millisecond) })
	snd = newSender(t, twilio.Backend, smsConfig, func(s *channels.Settings) { s.APIURL = hang.URL })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := snd.Send(ctx, msg("+15552229999", "Hi")); !channels.IsCanceled(err) || channels.IsPermanent(err) {
		t.Fatalf("expired context: %v, want a cancellation", err)
	}
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name, src string
		public    string
		api       string
		want      string
	}{
		{"nothing", ``, "", "", "account_sid is required"},
		{"bad sid", `account_sid = "AC123"` + "\nauth_token = \"x\"\nfrom = \"+1555\"", "", "", `account_sid "AC123" is not AC followed by 32 hex digits`},
		{"no token", `account_sid = "` + testSID + `"` + "\nfrom = \"+1555\"", "", "", "auth_token is required"},
		{"no sender", `account_sid = "` + testSID + `"` + "\nauth_token = \"x\"", "", "", "from or messaging_service_sid is required"},
		{"both senders", smsConfig + `messaging_service_sid = "` + testService + `"`, "", "", "not both"},
		{"bad service", strings.Replace(smsConfig, `from = "+15550001111"`, `messaging_service_sid = "MGxyz"`, 1), "", "", `messaging_service_sid "MGxyz" is not MG followed by 32 hex digits`},
		{"callback without public_url", smsConfig + "status_callback = true", "", "", "status_callback = true needs public_url"},
		{"bad api_url", smsConfig, "", "ftp://x", `api_url "ftp://x"`},
		{"typo", smsConfig + "auth_tokn = \"y\"", "", "", `unknown key "auth_tokn"`},
		{"unset variable", strings.Replace(smsConfig, testToken, "${HERALD_TEST_UNSET_TOKEN}", 1), "", "", "HERALD_TEST_UNSET_TOKEN is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := twilio.Backend.New(channels.Settings{Channel: "sms", Decode: decoder(tt.src), PublicURL: tt.public, APIURL: tt.api})
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "twilio: ") {
				t.Fatalf("New: %v, want an error containing %q", err, tt.want)
			}
			assertNoSecret(t, "error", err.Error())
		})
	}

	t.Setenv("HERALD_TEST_TWILIO_TOKEN", testToken)
	fake := newFakeTwilio(t)
	snd := newSender(t, twilio.Backend, strings.Replace(smsConfig, testToken, "${HERALD_TEST_TWILIO_TOKEN}", 1),
		func(s *channels.Settings) { s.APIURL = fake.URL })
	if _, err := snd.Send(context.Background(), msg("+15552229999", "Hi")); err != nil {
		t.Fatalf("token from the environment: %v", err)
	}
	assertNoSecret(t, "sender", fmt.Sprintf("%v %+v %#v", snd, snd, snd))
}

func TestCheck(t *testing.T) {
	snd := newSender(t, twilio.Backend, smsConfig, func(s *channels.Settings) { s.MaxSegments = 2 })
	checker := snd.(channels.Checker)
	if p := checker.Check(msg("+15552229999", "Your parcel is on its way.")); len(p) != 0 {
		t.Errorf("short text: %+v", p)
	}
	p := checker.Check(msg("+15552229999", strings.Repeat("a", 140)+"“quoted”"))
	if len(p) != 1 || p[0].Severity != "error" ||
		p[0].Message != `sms: 3 segments (UCS-2, 148 units; "“" at position 141 is not GSM-7) exceeds max_segments = 2` {
		t.Errorf("curly quotes: %+v", p)
	}
	p = checker.Check(msg("+15552229999", strings.Repeat("a", 1601)))
	if len(p) != 2 || !strings.Contains(p[1].Message, "1601 characters; Twilio accepts at most 1600") {
		t.Errorf("long text: %+v", p)
	}

	wa := newSender(t, twilio.WhatsAppBackend, smsConfig, func(s *channels.Settings) { s.MaxSegments = 2 }).(channels.Checker)
	if p := wa.Check(msg("+6281234567890", strings.Repeat("é😀", 500))); len(p) != 0 {
		t.Errorf("WhatsApp has no segments: %+v", p)
	}
	m := msg("+6281234567890", "Halo")
	m.Template = &channels.ProviderTemplate{Name: "shipment_delay", Language: "id"}
	if p := wa.Check(m); len(p) != 1 || p[0].Severity != "warning" || !strings.Contains(p[0].Message, "shipment_delay") {
		t.Errorf("template: %+v", p)
	}
}

func TestEncode(t *testing.T) {
	snd := newSender(t, twilio.Backend, smsConfig, func(s *channels.Settings) { s.PublicURL = "https://notify.example.com" })
	body, ext, err := snd.(channels.Encoder).Encode(msg("+5511987654321", "Olá <b> & 1+1"))
	if err != nil || ext != "json" {
		t.Fatalf("Encode: %q, %v", ext, err)
	}
	var got map[string]string
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, body)
	}
	want := map[string]string{
		"To": "+5511987654321", "From": "+15550001111", "Body": "Olá <b> & 1+1",
		"StatusCallback": "https://notify.example.com/webhooks/sms",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Encode = %v, want %v", got, want)
	}
	assertNoSecret(t, "Encode", string(body))
}

// BenchmarkSend measures sends per second against a local fake over
// keep-alive connections: the backend's own overhead, not Twilio's.
func BenchmarkSend(b *testing.B) {
	fake := newFakeTwilio(b)
	snd := newSender(b, twilio.Backend, smsConfig, func(s *channels.Settings) { s.APIURL = fake.URL })
	m := msg("+5511987654321", "Olá Ana, your parcel A-17 is delayed; new date 12 May.")
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
