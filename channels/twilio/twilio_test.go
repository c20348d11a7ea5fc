package twilio_test

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
	"herald/channels/twilio"
)

const (
	testSID     = channeltest.TwilioAccountSID
	testToken   = channeltest.TwilioAuthToken
	testService = "MG0123456789abcdef0123456789abcdef"
)

// last returns the form and raw body of the last request the fake saw.
func last(t *testing.T, f *channeltest.Twilio) (url.Values, string) {
	t.Helper()
	reqs := f.Requests()
	if len(reqs) == 0 {
		t.Fatal("the fake received no request")
	}
	r := reqs[len(reqs)-1]
	return r.Form(), string(r.Body)
}

func TestConformance(t *testing.T) {
	wrong := strings.Replace(smsConfig, testToken, "not-the-token", 1)
	newFake := func(t testing.TB) channeltest.Fake { return channeltest.NewTwilio(t) }
	t.Run("sms", func(t *testing.T) {
		channeltest.Run(t, channeltest.Subject{
			Backend: twilio.Backend, Options: smsConfig, WrongCredentials: wrong,
			Message: msg("+6281234567890", "Hi Budi & co: order A-1017 is late"),
			Secrets: []string{testToken}, RetryAfter: true,
			CheckRequest: func(t *testing.T, r channeltest.Request) {
				want := "Body=Hi+Budi+%26+co%3A+order+A-1017+is+late&From=%2B15550001111&To=%2B6281234567890"
				if r.Method != http.MethodPost || r.Path != "/2010-04-01/Accounts/"+testSID+"/Messages.json" || string(r.Body) != want {
					t.Errorf("request %s %s %s\nwant POST with %s", r.Method, r.Path, r.Body, want)
				}
				if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
					t.Errorf("Content-Type %q", ct)
				}
			},
		}, newFake)
	})
	t.Run("whatsapp", func(t *testing.T) {
		channeltest.Run(t, channeltest.Subject{
			Backend: twilio.WhatsAppBackend, Options: strings.Replace(smsConfig, "+15550001111", "+14155238886", 1),
			WrongCredentials: strings.Replace(wrong, "+15550001111", "+14155238886", 1),
			Message:          msg("+6281234567890", "Halo Budi"), Secrets: []string{testToken}, RetryAfter: true,
			CheckRequest: func(t *testing.T, r channeltest.Request) {
				if f := r.Form(); f.Get("To") != "whatsapp:+6281234567890" || f.Get("From") != "whatsapp:+14155238886" {
					t.Errorf("To=%q From=%q, want both with the whatsapp: prefix", f.Get("To"), f.Get("From"))
				}
			},
		}, newFake)
	})
}

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
	fake := channeltest.NewTwilio(t)
	snd := newSender(t, twilio.Backend, smsConfig, func(s *channels.Settings) { s.APIURL = fake.URL() })

	rc, err := snd.Send(context.Background(), msg("+5511987654321", "Olá Ana: 1+1=2 & 50% off ☺"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(rc.ProviderID, "SM") || len(rc.ProviderID) != 34 {
		t.Errorf("ProviderID = %q, want the Message resource's sid", rc.ProviderID)
	}
	form, raw := last(t, fake)
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
	fake := channeltest.NewTwilio(t)
	snd := newSender(t, twilio.Backend, smsConfig, func(s *channels.Settings) { s.APIURL = fake.URL() })
	for range 20 {
		if _, err := snd.Send(context.Background(), msg("+15552229999", "Hi")); err != nil {
			t.Fatal(err)
		}
	}
	fake.FailAddress("+15552229999")
	for range 5 {
		snd.Send(context.Background(), msg("+15552229999", "Hi"))
	}
	if n := fake.Conns(); n != 1 {
		t.Errorf("25 sequential sends opened %d connections, want 1", n)
	}
}

func TestSendMessagingServiceAndCallback(t *testing.T) {
	fake := channeltest.NewTwilio(t)
	src := `
account_sid = "` + testSID + `"
auth_token = "` + testToken + `"
messaging_service_sid = "` + testService + `"
`
	snd := newSender(t, twilio.Backend, src, func(s *channels.Settings) {
		s.APIURL = fake.URL() + "/"
		s.PublicURL = "https://notify.example.com/"
		s.Channel = "us sms"
	})
	if _, err := snd.Send(context.Background(), msg("+15552229999", "Hi")); err != nil {
		t.Fatal(err)
	}
	form, _ := last(t, fake)
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
		s.APIURL = fake.URL()
		s.PublicURL = "https://notify.example.com"
	})
	if _, err := snd.Send(context.Background(), msg("+15552229999", "Hi")); err != nil {
		t.Fatal(err)
	}
	if form, _ := last(t, fake); form.Has("StatusCallback") {
		t.Errorf("status_callback = false still sent StatusCallback=%q", form.Get("StatusCallback"))
	}
}

func TestSendWhatsApp(t *testing.T) {
	fake := channeltest.NewTwilio(t)
	for _, from := range []string{"+14155238886", "whatsapp:+14155238886"} {
		src := strings.Replace(smsConfig, "+15550001111", from, 1)
		snd := newSender(t, twilio.WhatsAppBackend, src, func(s *channels.Settings) { s.APIURL = fake.URL() })
		if _, err := snd.Send(context.Background(), msg("+6281234567890", "Halo Budi")); err != nil {
			t.Fatalf("from %q: %v", from, err)
		}
		form, _ := last(t, fake)
		if form.Get("To") != "whatsapp:+6281234567890" || form.Get("From") != "whatsapp:+14155238886" {
			t.Errorf("from %q: To=%q From=%q, want both with the whatsapp: prefix", from, form.Get("To"), form.Get("From"))
		}
	}
	if twilio.WhatsAppBackend.Kind != channels.KindWhatsApp || twilio.Backend.Kind != channels.KindSMS {
		t.Error("backend kinds are wrong")
	}
}

// twilioError is Twilio's error body.
func twilioError(status, code int, msg string) string {
	return fmt.Sprintf(`{"code": %d, "message": %q, "more_info": "https://www.twilio.com/docs/errors/%d", "status": %d}`,
		code, msg, code, status)
}

// TestSendErrors: Twilio's codes decide the class before the HTTP status
// does, and every message names the code without the auth token.
func TestSendErrors(t *testing.T) {
	tests := []struct {
		name   string
		to     string
		arm    func(f *channeltest.Twilio)
		class  channels.Class
		optOut bool
		after  time.Duration
		text   string
	}{
		{name: "invalid To", to: "15552229999", class: channels.Permanent,
			text: "twilio: 21211 Invalid 'To' Phone Number: 15552229999 (HTTP 400)"},
		{name: "unsubscribed", arm: func(f *channeltest.Twilio) {
			f.Respond(400, "application/json", twilioError(400, 21610, "Attempt to send to unsubscribed recipient"))
		}, class: channels.Permanent, optOut: true, text: "twilio: 21610 Attempt to send to unsubscribed recipient (HTTP 400)"},
		{name: "too many requests", arm: func(f *channeltest.Twilio) { f.Throttle(1, 2) },
			class: channels.Temporary, after: 2 * time.Second, text: "twilio: 20429 Too Many Requests (HTTP 429)"},
		{name: "unavailable, not JSON", arm: func(f *channeltest.Twilio) {
			f.Respond(503, "text/html", "<html>\n<body>Service Unavailable</body>\n</html>")
		}, class: channels.Temporary, text: "twilio: HTTP 503: <html> <body>Service Unavailable</body> </html>"},
		{name: "internal error", arm: func(f *channeltest.Twilio) {
			f.Respond(500, "application/json", twilioError(500, 20500, "Internal Server Error"))
		}, class: channels.Unknown, text: "twilio: 20500 Internal Server Error (HTTP 500)"},
		{name: "bad gateway", arm: func(f *channeltest.Twilio) { f.Respond(502, "text/plain", "Bad Gateway") },
			class: channels.Unknown, text: "twilio: HTTP 502: Bad Gateway"},
		{name: "authentication, proxy echoes the token", arm: func(f *channeltest.Twilio) {
			f.Respond(401, "application/json", twilioError(401, 20003, "Authenticate: bad password "+testToken))
		}, class: channels.Channel, text: "twilio: 20003 Authenticate: bad password *** (HTTP 401)"},
		{name: "forbidden without a code", arm: func(f *channeltest.Twilio) { f.Respond(403, "text/plain", "Forbidden") },
			class: channels.Channel, text: "twilio: HTTP 403: Forbidden"},
		{name: "2xx that is not Twilio", arm: func(f *channeltest.Twilio) {
			f.Respond(200, "text/html", "<html>captive portal</html>")
		}, class: channels.Unknown, text: "twilio: HTTP 200 without a message sid: <html>captive portal</html>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := channeltest.NewTwilio(t)
			if tt.arm != nil {
				tt.arm(fake)
			}
			snd := newSender(t, twilio.Backend, smsConfig, func(s *channels.Settings) { s.APIURL = fake.URL() })
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
			if got := channels.ClassOf(err); got != tt.class {
				t.Errorf("class = %s, want %s", got, tt.class)
			}
			if channels.IsProviderOptOut(err) != tt.optOut {
				t.Errorf("IsProviderOptOut = %v, want %v", channels.IsProviderOptOut(err), tt.optOut)
			}
			if got := channels.RetryAfter(err); got != tt.after {
				t.Errorf("RetryAfter = %v, want %v", got, tt.after)
			}
			assertNoSecret(t, "error", fmt.Sprintf("%v %+v %#v", err, err, err))
		})
	}
}

// A 201 is Twilio saying it created the message: an answer whose body is
// lost on the way is still a send, never a reason to send again.
func TestCreatedWithoutResourceIsSent(t *testing.T) {
	fake := channeltest.NewTwilio(t)
	fake.Respond(201, "application/json", `{"sid": `)
	snd := newSender(t, twilio.Backend, smsConfig, func(s *channels.Settings) { s.APIURL = fake.URL() })
	if _, err := snd.Send(context.Background(), msg("+15552229999", "Hi")); err != nil {
		t.Fatalf("201 with a torn body: %v, want success", err)
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
	fake := channeltest.NewTwilio(t)
	snd := newSender(t, twilio.Backend, strings.Replace(smsConfig, testToken, "${HERALD_TEST_TWILIO_TOKEN}", 1),
		func(s *channels.Settings) { s.APIURL = fake.URL() })
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
	fake := channeltest.NewTwilio(b)
	fake.Discard()
	snd := newSender(b, twilio.Backend, smsConfig, func(s *channels.Settings) { s.APIURL = fake.URL() })
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

// TestReconcile: a message in doubt is looked up in Twilio's message list
// by To, From and the day of the attempt; only an outbound message with the
// same body created since the attempt counts as sent.
func TestReconcile(t *testing.T) {
	fake := channeltest.NewTwilio(t)
	snd := newSender(t, twilio.Backend, smsConfig, func(s *channels.Settings) { s.APIURL = fake.URL() })
	rec := snd.(channels.Reconciler)
	m := msg("+5511987654321", "Olá Ana: pedido D-4001 atrasado")
	since := time.Now().Add(-time.Minute)

	// Yesterday's campaign sent the same text: not this attempt's message.
	fake.AddMessage("+5511987654321", "+15550001111", m.Text, since.Add(-24*time.Hour))
	// Today, another text to the same number.
	fake.AddMessage("+5511987654321", "+15550001111", "something else", since.Add(time.Second))
	if _, found, err := rec.Reconcile(context.Background(), m, since); err != nil || found {
		t.Fatalf("before the send: found=%v err=%v, want not found", found, err)
	}
	list := fake.Requests()[0]
	q, _ := url.ParseQuery(list.RawQuery)
	if list.Method != http.MethodGet || list.Path != "/2010-04-01/Accounts/"+testSID+"/Messages.json" ||
		q.Get("To") != "+5511987654321" || q.Get("From") != "+15550001111" || q.Get("DateSent>") != since.UTC().Format("2006-01-02") {
		t.Errorf("list request %s %s?%s", list.Method, list.Path, list.RawQuery)
	}

	// The answer to the real send was lost: the message is in the list.
	fake.HangUp(1)
	if _, err := snd.Send(context.Background(), m); channels.ClassOf(err) != channels.Unknown {
		t.Fatalf("lost answer: %v, want Unknown", err)
	}
	rc, found, err := rec.Reconcile(context.Background(), m, since)
	if err != nil || !found || !strings.HasPrefix(rc.ProviderID, "SM") {
		t.Fatalf("after the send: %+v found=%v err=%v, want the message's sid", rc, found, err)
	}
	if fake.Accepted() != 1 {
		t.Errorf("reconciling sent %d messages, want the 1 already there", fake.Accepted())
	}

	// Wrong credentials stop the channel here too.
	bad := newSender(t, twilio.Backend, strings.Replace(smsConfig, testToken, "nope", 1), func(s *channels.Settings) { s.APIURL = fake.URL() })
	if _, _, err := bad.(channels.Reconciler).Reconcile(context.Background(), m, since); channels.ClassOf(err) != channels.Channel {
		t.Errorf("wrong token: %v, want a Channel error", err)
	}
}

// With a Messaging Service Twilio picks the sender: the lookup goes by To
// and day, and matches the service and the body; it follows next_page_uri.
func TestReconcileMessagingServicePages(t *testing.T) {
	fake := channeltest.NewTwilio(t)
	src := strings.Replace(smsConfig, `from = "+15550001111"`, `messaging_service_sid = "`+testService+`"`, 1)
	snd := newSender(t, twilio.Backend, src, func(s *channels.Settings) { s.APIURL = fake.URL() })
	m := msg("+15552229999", "Your parcel is late")
	since := time.Now().Add(-time.Minute)
	if _, err := snd.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	// 1,200 newer messages to the same number push it to the second page.
	for i := range 1200 {
		fake.AddMessage("+15552229999", "+15550009999", fmt.Sprintf("other %d", i), time.Now())
	}
	rc, found, err := snd.(channels.Reconciler).Reconcile(context.Background(), m, since)
	if err != nil || !found || rc.ProviderID == "" {
		t.Fatalf("found=%v err=%v, want the message on page 2", found, err)
	}
	reqs := fake.Requests()
	if n := len(reqs); n != 3 {
		t.Fatalf("%d requests, want the send and two pages", n)
	}
	if q, _ := url.ParseQuery(reqs[1].RawQuery); q.Has("From") {
		t.Errorf("with a Messaging Service the lookup must not filter by From: %s", reqs[1].RawQuery)
	}
}
