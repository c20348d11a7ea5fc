package email

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"herald/channels"
)

const testPassword = "p@ss w0rd/ü:42"

func message(campaign, recipient, to string) channels.Message {
	return channels.Message{
		Campaign:   campaign,
		Recipient:  recipient,
		Channel:    "email",
		Locale:     "en",
		To:         to,
		Name:       "Test Person",
		Subject:    "Your order is delayed",
		Text:       "Hello,\nyour order is late.\n",
		ReplyToken: channels.ReplyToken(campaign, recipient),
	}
}

// parsed is a received message taken apart the way a mail client would.
type parsed struct {
	header      mail.Header
	contentType string
	text, html  string
}

func parseMessage(t *testing.T, data []byte) parsed {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("server got an unparsable message: %v\n%s", err, data)
	}
	p := parsed{header: msg.Header}
	ct, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type %q: %v", msg.Header.Get("Content-Type"), err)
	}
	p.contentType = ct
	decode := func(enc string, r io.Reader) string {
		if strings.EqualFold(enc, "quoted-printable") {
			r = quotedprintable.NewReader(r)
		}
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if !strings.HasPrefix(ct, "multipart/") {
		p.text = decode(msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
		return p
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		pct, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		body := decode(part.Header.Get("Content-Transfer-Encoding"), part)
		switch pct {
		case "text/plain":
			p.text = body
		case "text/html":
			p.html = body
		default:
			t.Errorf("unexpected part %s", pct)
		}
	}
	return p
}

func decodeHeader(t *testing.T, v string) string {
	t.Helper()
	s, err := new(mime.WordDecoder).DecodeHeader(v)
	if err != nil {
		t.Fatalf("decoding %q: %v", v, err)
	}
	return s
}

// The full path: STARTTLS with a verified certificate, AUTH PLAIN with a
// password that needs URL-decoding, and a multilingual multipart message the
// server receives exactly as Encode shows it.
func TestSendFullMessageOverSTARTTLSAndAuth(t *testing.T) {
	ts := startServer(t, serverOpts{tls: true, user: "mailer", pass: testPassword})
	s := newTestSender(t, ts, cfgFor(ts, "reply_plus = true", `message_id_domain = "notify.acme.example"`), 1)

	cases := []struct {
		name, subject, display string
	}{
		{"japanese", "ご注文の配送が遅れています（注文番号 12345）— 大変申し訳ございません、詳細はこちら", "田中 太郎"},
		{"arabic", "تأخر طلبك رقم 12345 — نعتذر عن الإزعاج", "محمد"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := message("Ship Delay 2025", fmt.Sprintf("r%d", i), fmt.Sprintf("cust%d@example.com", i))
			m.Subject, m.Name = c.subject, c.display
			m.Text = "Hello,\n.a line starting with a dot\n..two dots\n.\nend\n"
			m.HTML = "<p>Hello <b>" + c.display + "</b></p>"
			m.UnsubscribeURL = "https://notify.acme.example/unsubscribe/tok" + m.ReplyToken
			m.Headers = map[string]string{"X-Campaign": "ship-delay"}

			want, ext, err := s.Encode(m)
			if err != nil || ext != "eml" {
				t.Fatalf("Encode: %v, ext %q", err, ext)
			}
			rc, err := s.Send(context.Background(), m)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			msgs := ts.messages()
			got := msgs[len(msgs)-1]
			if !got.TLS || got.User != "mailer" {
				t.Errorf("session TLS=%v user=%q, want STARTTLS and AUTH as mailer", got.TLS, got.User)
			}
			if got.From != "support@acme.example" || got.To != m.To {
				t.Errorf("envelope %s -> %s", got.From, got.To)
			}
			if !bytes.Equal(got.Data, want) {
				t.Errorf("server received bytes differ from Encode:\n--- received\n%s\n--- encoded\n%s", got.Data, want)
			}

			p := parseMessage(t, got.Data)
			if p.contentType != "multipart/alternative" {
				t.Errorf("Content-Type %s, want multipart/alternative", p.contentType)
			}
			if want := strings.ReplaceAll(m.Text, "\n", "\r\n"); p.text != want {
				t.Errorf("text part %q, want %q", p.text, want)
			}
			if p.html != m.HTML {
				t.Errorf("html part %q, want %q", p.html, m.HTML)
			}
			raw := p.header.Get("Subject")
			if !strings.Contains(raw, "=?UTF-8?") {
				t.Errorf("Subject not RFC 2047 encoded: %q", raw)
			}
			if s := decodeHeader(t, raw); s != c.subject {
				t.Errorf("Subject decodes to %q, want %q", s, c.subject)
			}
			to, err := p.header.AddressList("To")
			if err != nil || len(to) != 1 || to[0].Name != c.display || to[0].Address != m.To {
				t.Errorf("To = %v (%v), want %s <%s>", to, err, c.display, m.To)
			}
			rt, _ := p.header.AddressList("Reply-To")
			if len(rt) != 1 || rt[0].Address != "replies+"+m.ReplyToken+"@acme.example" {
				t.Errorf("Reply-To = %v, want replies+%s@acme.example", rt, m.ReplyToken)
			}
			if v := p.header.Get("List-Unsubscribe"); v != "<"+m.UnsubscribeURL+">" {
				t.Errorf("List-Unsubscribe = %q", v)
			}
			if v := p.header.Get("List-Unsubscribe-Post"); v != "List-Unsubscribe=One-Click" {
				t.Errorf("List-Unsubscribe-Post = %q", v)
			}
			if v := p.header.Get("X-Campaign"); v != "ship-delay" {
				t.Errorf("X-Campaign = %q", v)
			}
			if v := p.header.Get("Date"); v != "Fri, 14 Mar 2025 09:26:53 +0000" {
				t.Errorf("Date = %q", v)
			}
			id := p.header.Get("Message-Id")
			if id != rc.MessageID {
				t.Errorf("Message-ID header %q, receipt says %q", id, rc.MessageID)
			}
			if !strings.HasSuffix(id, "@notify.acme.example>") || !strings.Contains(id, ".ship-delay-2025@") {
				t.Errorf("Message-ID %q does not name the campaign and domain", id)
			}
			if tok, ok := channels.ParseMessageID(id); !ok || tok != m.ReplyToken {
				t.Errorf("channels.ParseMessageID(%q) = %q, %v; want %q", id, tok, ok, m.ReplyToken)
			}
		})
	}
	if n := ts.dials.Load(); n != 1 {
		t.Errorf("%d connections for 2 messages, want 1 reused", n)
	}
}

// A name or subject from the audience file must not add headers or
// recipients.
func TestHeaderInjectionIsNeutralised(t *testing.T) {
	ts := startServer(t, serverOpts{})
	s := newTestSender(t, ts, cfgFor(ts), 1)
	m := message("c", "r", "victim@example.com")
	m.Name = "Mallory\r\nBcc: evil@x"
	m.Subject = "Hi\r\nBcc: evil@x\nX-Injected: yes"
	m.Headers = map[string]string{"X-Note": "a\r\nBcc: evil@x"}
	if _, err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	got := ts.messages()[0]
	if got.To != "victim@example.com" {
		t.Errorf("envelope recipient %q", got.To)
	}
	p := parseMessage(t, got.Data)
	for _, h := range []string{"Bcc", "X-Injected"} {
		if v, ok := p.header[h]; ok {
			t.Errorf("injected header %s: %v\n%s", h, v, got.Data)
		}
	}
	to, err := p.header.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Address != "victim@example.com" || !strings.HasPrefix(to[0].Name, "Mallory") {
		t.Errorf("To = %v, %v", to, err)
	}
	if subj := decodeHeader(t, p.header.Get("Subject")); strings.ContainsAny(subj, "\r\n") || !strings.HasPrefix(subj, "Hi") {
		t.Errorf("Subject = %q", subj)
	}
}

// Many workers share `concurrency` sessions: 200 messages over 4 sessions
// open 4 connections at most, and every message arrives.
func TestPoolReusesAtMostConcurrencyConnections(t *testing.T) {
	ts := startServer(t, serverOpts{tls: true, user: "mailer", pass: testPassword})
	s := newTestSender(t, ts, cfgFor(ts), 4)
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for w := range 16 {
		wg.Go(func() {
			for i := w; i < 200; i += 16 {
				if _, err := s.Send(context.Background(), message("c", fmt.Sprint(i), fmt.Sprintf("u%d@example.com", i))); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := len(ts.messages()); n != 200 {
		t.Errorf("server got %d messages, want 200", n)
	}
	if n := ts.dials.Load(); n < 1 || n > 4 {
		t.Errorf("%d connections opened, want 1..4", n)
	}
}

// 450 is worth retrying, 550 is not; neither costs the session.
func TestRecipientRefusalsAreClassifiedAndKeepTheSession(t *testing.T) {
	ts := startServer(t, serverOpts{})
	ts.reject("full@example.com", 450, smtp.EnhancedCode{4, 2, 2}, "mailbox full")
	ts.reject("gone@example.com", 550, smtp.EnhancedCode{5, 1, 1}, "mailbox unavailable")
	s := newTestSender(t, ts, cfgFor(ts), 1)
	ctx := context.Background()

	_, err := s.Send(ctx, message("c", "1", "full@example.com"))
	if err == nil || channels.IsPermanent(err) {
		t.Fatalf("450: err = %v, want a temporary error", err)
	}
	if want := "smtp: 450 4.2.2 mailbox full (RCPT TO <full@example.com>)"; err.Error() != want {
		t.Errorf("450 error %q, want %q", err, want)
	}
	_, err = s.Send(ctx, message("c", "2", "gone@example.com"))
	if !channels.IsPermanent(err) {
		t.Fatalf("550: err = %v, want permanent", err)
	}
	if want := "smtp: 550 5.1.1 mailbox unavailable (RCPT TO <gone@example.com>)"; err.Error() != want {
		t.Errorf("550 error %q, want %q", err, want)
	}
	if _, err := s.Send(ctx, message("c", "3", "ok@example.com")); err != nil {
		t.Fatalf("message after the refusals: %v", err)
	}
	if msgs := ts.messages(); len(msgs) != 1 || msgs[0].To != "ok@example.com" {
		t.Errorf("delivered %v, want only ok@example.com", msgs)
	}
	if n := ts.dials.Load(); n != 1 {
		t.Errorf("%d connections, want the one session kept after refusals", n)
	}
}

// A refusal at the end of DATA is classified the same way, and the server's
// queue id becomes the receipt's provider id.
func TestDataReplyAndQueueID(t *testing.T) {
	ts := startServer(t, serverOpts{})
	s := newTestSender(t, ts, cfgFor(ts), 1)
	ctx := context.Background()

	ts.final = &smtp.SMTPError{Code: 250, EnhancedCode: smtp.EnhancedCode{2, 0, 0}, Message: "Ok: queued as 4BFD2A0C5F"}
	rc, err := s.Send(ctx, message("c", "1", "a@example.com"))
	if err != nil || rc.ProviderID != "4BFD2A0C5F" {
		t.Fatalf("receipt %+v, %v; want provider id 4BFD2A0C5F", rc, err)
	}
	ts.final = &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "spam detected"}
	if _, err := s.Send(ctx, message("c", "2", "b@example.com")); !channels.IsPermanent(err) || !strings.Contains(err.Error(), "554 5.7.1 spam detected") {
		t.Fatalf("554 after DATA: %v, want permanent naming the reply", err)
	}
	ts.final = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}
	if _, err := s.Send(ctx, message("c", "3", "c@example.com")); err == nil || channels.IsPermanent(err) {
		t.Fatalf("451 after DATA: %v, want temporary", err)
	}
	ts.final = nil
	if rc, err := s.Send(ctx, message("c", "4", "d@example.com")); err != nil || rc.ProviderID != "" {
		t.Fatalf("plain OK: %+v, %v; want no provider id from \"OK: queued\"", rc, err)
	}
	if n := ts.dials.Load(); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
}

// A server that drops an idle session (timeout, restart) costs nothing:
// the next send dials again and succeeds.
func TestRedialAfterServerDropsConnection(t *testing.T) {
	ts := startServer(t, serverOpts{tls: true, user: "mailer", pass: testPassword})
	s := newTestSender(t, ts, cfgFor(ts), 1)
	ctx := context.Background()
	if _, err := s.Send(ctx, message("c", "1", "a@example.com")); err != nil {
		t.Fatal(err)
	}
	ts.dropAll()
	if _, err := s.Send(ctx, message("c", "2", "b@example.com")); err != nil {
		t.Fatalf("send after the server dropped the session: %v", err)
	}
	if n := len(ts.messages()); n != 2 {
		t.Errorf("server got %d messages, want 2", n)
	}
	if n := ts.dials.Load(); n != 2 {
		t.Errorf("%d connections, want 2 (one redial)", n)
	}
}

// A wrong password stops the channel (exit 3, recipients unsent), and
// neither the error nor any formatting of the sender shows the password.
func TestWrongPasswordIsAChannelErrorAndSecret(t *testing.T) {
	ts := startServer(t, serverOpts{tls: true, user: "mailer", pass: "right-password"})
	wrong := "Wr0ng-s3cret%21"
	channels.LookupEnv = func(k string) (string, bool) {
		if k == "SMTP_PASSWORD" {
			return wrong, true
		}
		return "", false
	}
	t.Cleanup(func() { channels.LookupEnv = defaultLookupEnv })
	s := newTestSender(t, ts, strings.Join([]string{
		`url = "smtp://mailer:${SMTP_PASSWORD}@` + ts.addr + `"`,
		`from = "Acme <support@acme.example>"`,
	}, "\n"), 1)
	_, err := s.Send(context.Background(), message("c", "1", "a@example.com"))
	if channels.ClassOf(err) != channels.Channel {
		t.Fatalf("err = %v, want a Channel error", err)
	}
	for _, secret := range []string{wrong, "Wr0ng-s3cret!", "s3cret"} {
		if strings.Contains(err.Error(), secret) || strings.Contains(channels.HintOf(err), secret) {
			t.Errorf("error reveals the password: %v", err)
		}
	}
	if !strings.Contains(err.Error(), "535") || !strings.Contains(channels.HintOf(err), "check the user and password") {
		t.Errorf("error %q (hint %q) should give the 535 reply and point at the password", err, channels.HintOf(err))
	}
	if strings.Contains(fmt.Sprintf("%v %+v %#v", s.cfg.composer, err, s.cfg.tlsOpts), "s3cret") {
		t.Error("the password leaks through formatting")
	}
}

// Certificates are verified unless tls_insecure_skip_verify says otherwise;
// one that does not verify is the channel's problem, with a hint to ca_file.
func TestCertificateVerification(t *testing.T) {
	ts := startServer(t, serverOpts{tls: true})
	s, err := newFromTOML(cfgFor(ts), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = s.Send(context.Background(), message("c", "1", "a@example.com"))
	if channels.ClassOf(err) != channels.Channel || !strings.Contains(err.Error(), "certificate") || !strings.Contains(channels.HintOf(err), "ca_file") {
		t.Fatalf("untrusted certificate: %v (hint %q), want a Channel error whose hint names ca_file", err, channels.HintOf(err))
	}
	s2, err := newFromSettings(cfgFor(ts), 1, channels.TLSOptions{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if _, err := s2.Send(context.Background(), message("c", "1", "a@example.com")); err != nil {
		t.Fatalf("with tls_insecure_skip_verify: %v", err)
	}
	if !ts.messages()[0].TLS {
		t.Error("message went without TLS")
	}
}

func TestImplicitTLS(t *testing.T) {
	ts := startServer(t, serverOpts{implicit: true, user: "mailer", pass: testPassword})
	cfg := strings.Replace(cfgFor(ts), "smtp://", "smtps://", 1)
	s := newTestSender(t, ts, cfg, 1)
	if _, err := s.Send(context.Background(), message("c", "1", "a@example.com")); err != nil {
		t.Fatal(err)
	}
	if got := ts.messages()[0]; !got.TLS || got.User != "mailer" {
		t.Errorf("TLS=%v user=%q", got.TLS, got.User)
	}
}

// To a loopback server without STARTTLS the default policy sends in plain
// text (a local relay or sink); the same server's name off loopback would
// be refused, see TestStartTLSDecision.
func TestLoopbackWithoutSTARTTLS(t *testing.T) {
	ts := startServer(t, serverOpts{})
	s := newTestSender(t, ts, cfgFor(ts), 1)
	if _, err := s.Send(context.Background(), message("c", "1", "a@example.com")); err != nil {
		t.Fatal(err)
	}
	if ts.messages()[0].TLS {
		t.Error("TLS without the server offering it?")
	}
}

func TestStartTLSDecision(t *testing.T) {
	cases := []struct {
		policy  tlsPolicy
		host    string
		offered bool
		use     bool
		fail    bool
	}{
		{tlsRequired, "smtp.example.com", true, true, false},
		{tlsRequired, "smtp.example.com", false, false, true},
		{tlsRequired, "10.0.0.5", false, false, true},
		{tlsRequired, "127.0.0.1", false, false, false},
		{tlsRequired, "127.8.9.10", false, false, false},
		{tlsRequired, "::1", false, false, false},
		{tlsRequired, "localhost", false, false, false},
		{tlsRequired, "127.0.0.1", true, true, false},
		{tlsOff, "smtp.example.com", true, false, false},
		{tlsOff, "smtp.example.com", false, false, false},
	}
	for _, c := range cases {
		use, err := startTLSDecision(c.policy, c.host, c.offered)
		if use != c.use || (err != nil) != c.fail {
			t.Errorf("startTLSDecision(%v, %s, offered=%v) = %v, %v; want use=%v fail=%v", c.policy, c.host, c.offered, use, err, c.use, c.fail)
		}
		if err != nil && !strings.Contains(err.Error(), `starttls = "off"`) {
			t.Errorf("error %q should say how to turn the requirement off", err)
		}
	}
}

func TestCancelWhileWaitingForASession(t *testing.T) {
	ts := startServer(t, serverOpts{})
	s := newTestSender(t, ts, cfgFor(ts), 1)
	s.slots <- struct{}{} // the only session is busy
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.Send(ctx, message("c", "1", "a@example.com"))
	<-s.slots
	if !channels.IsCanceled(err) {
		t.Fatalf("err = %v, want cancellation", err)
	}
}

func TestCheck(t *testing.T) {
	s, err := newFromTOML(`url = "smtp://127.0.0.1:2525"`+"\n"+`from = "a@acme.example"`, 1)
	if err != nil {
		t.Fatal(err)
	}
	good := message("c", "1", "a@example.com")
	if ps := s.Check(good); len(ps) != 0 {
		t.Errorf("good message: %v", ps)
	}
	bad := good
	bad.Subject, bad.To = " ", "not an address"
	bad.UnsubscribeURL = "http://insecure.example/u/1"
	ps := s.Check(bad)
	var msgs []string
	errorsN := 0
	for _, p := range ps {
		msgs = append(msgs, p.Severity+": "+p.Message)
		if p.Severity == "error" {
			errorsN++
		}
	}
	all := strings.Join(msgs, "\n")
	if errorsN != 2 || !strings.Contains(all, "no subject") || !strings.Contains(all, `"not an address"`) || !strings.Contains(all, "warning: unsubscribe link") {
		t.Errorf("problems:\n%s", all)
	}
	// Send refuses what Check calls an error, permanently, without dialling.
	if _, err := s.Send(context.Background(), bad); !channels.IsPermanent(err) {
		t.Errorf("send of an invalid address: %v", err)
	}
}

// Servers without PIPELINING get MAIL, RCPT and DATA one at a time, with
// the same classification and the same kept session.
func TestWithoutPipelining(t *testing.T) {
	ts := startServer(t, serverOpts{})
	ts.reject("gone@example.com", 550, smtp.EnhancedCode{5, 1, 1}, "mailbox unavailable")
	s := newTestSender(t, ts, cfgFor(ts), 1)
	ctx := context.Background()
	if _, err := s.Send(ctx, message("c", "1", "a@example.com")); err != nil {
		t.Fatal(err)
	}
	s.idle[0].pipelining = false // as if EHLO had not offered it
	if _, err := s.Send(ctx, message("c", "2", "gone@example.com")); !channels.IsPermanent(err) || !strings.Contains(err.Error(), "550 5.1.1") {
		t.Fatalf("550 without pipelining: %v", err)
	}
	if _, err := s.Send(ctx, message("c", "3", "b@example.com")); err != nil {
		t.Fatal(err)
	}
	if len(ts.messages()) != 2 || ts.dials.Load() != 1 {
		t.Errorf("got %d messages over %d connections, want 2 over 1", len(ts.messages()), ts.dials.Load())
	}
}

// Close ends every pooled session, and the sender refuses to send after it.
func TestCloseEndsSessions(t *testing.T) {
	ts := startServer(t, serverOpts{})
	s := newTestSender(t, ts, cfgFor(ts), 3)
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			if _, err := s.Send(context.Background(), message("c", fmt.Sprint(i), "a@example.com")); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for ts.logouts.Load() < ts.dials.Load() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if l, d := ts.logouts.Load(), ts.dials.Load(); l != d {
		t.Errorf("%d of %d sessions ended after Close", l, d)
	}
	if _, err := s.Send(context.Background(), message("c", "x", "a@example.com")); err == nil {
		t.Error("Send after Close succeeded")
	}
}

// A deadline interrupts a stalled server instead of hanging the worker;
// the half-used session is dropped and the next message gets a new one.
func TestContextDeadlineInterruptsAStalledServer(t *testing.T) {
	ts := startServer(t, serverOpts{})
	s := newTestSender(t, ts, cfgFor(ts), 1)
	stall := make(chan struct{})
	ts.mu.Lock()
	ts.stall = stall
	ts.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := s.Send(ctx, message("c", "1", "a@example.com"))
	if !channels.IsCanceled(err) || time.Since(start) > 2*time.Second {
		t.Fatalf("err = %v after %v, want the deadline promptly", err, time.Since(start))
	}
	ts.mu.Lock()
	ts.stall = nil
	ts.mu.Unlock()
	close(stall)
	if _, err := s.Send(context.Background(), message("c", "2", "b@example.com")); err != nil {
		t.Fatalf("next send: %v", err)
	}
	if n := ts.dials.Load(); n != 2 {
		t.Errorf("%d connections, want 2 (the interrupted one is not reused)", n)
	}
}

// Under one context for many messages, as a campaign sends, cancelling it
// still interrupts the message in flight at once, and a message sent
// later under it fails without touching the server.
func TestCancelInterruptsASendUnderALongLivedContext(t *testing.T) {
	ts := startServer(t, serverOpts{})
	s := newTestSender(t, ts, cfgFor(ts), 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := range 3 {
		if _, err := s.Send(ctx, message("c", fmt.Sprint(i), "a@example.com")); err != nil {
			t.Fatal(err)
		}
	}
	stall := make(chan struct{})
	defer close(stall)
	ts.locked(func() { ts.stall = stall })
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err := s.Send(ctx, message("c", "stalled", "b@example.com"))
	if !channels.IsCanceled(err) || time.Since(start) > 2*time.Second {
		t.Fatalf("err = %v after %v, want the cancellation promptly", err, time.Since(start))
	}
	if _, err := s.Send(ctx, message("c", "after", "c@example.com")); !channels.IsCanceled(err) {
		t.Fatalf("send under the cancelled context: %v", err)
	}
	if n := len(ts.messages()); n != 3 {
		t.Errorf("server stored %d messages, want the 3 before the cancellation", n)
	}
}
