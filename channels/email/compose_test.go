package email

import (
	"bytes"
	"strings"
	"testing"

	"herald/channels"
)

func testComposer() Composer {
	return Composer{From: "Acme Support <support@acme.example>", ReplyTo: "replies@acme.example", Now: fixedNow}
}

func TestMessageIDRoundTrip(t *testing.T) {
	c := testComposer()
	m := message("Black Friday/2025 ✨", "cust-42", "a@example.com")
	id := c.MessageID(m)
	if id != c.MessageID(m) {
		t.Fatal("Message-ID is not deterministic")
	}
	if want := "<" + m.ReplyToken + ".black-friday-2025--@acme.example>"; id != want {
		t.Errorf("MessageID = %s, want %s", id, want)
	}
	for _, form := range []string{id, strings.Trim(id, "<>"), " " + id + " "} {
		if tok, ok := channels.ParseMessageID(form); !ok || tok != m.ReplyToken {
			t.Errorf("channels.ParseMessageID(%q) = %q, %v", form, tok, ok)
		}
	}
	// Without an explicit token the one derived from campaign and recipient
	// is used, so the journal and the replies side agree.
	m.ReplyToken = ""
	if tok, _ := channels.ParseMessageID(c.MessageID(m)); tok != channels.ReplyToken(m.Campaign, m.Recipient) {
		t.Errorf("derived token %q", tok)
	}
	other := message("c", "other", "a@example.com")
	if c.MessageID(other) == id {
		t.Error("two recipients share a Message-ID")
	}
	for _, foreign := range []string{
		"<CAJx7s9+abc@mail.gmail.com>",
		"<20250314092653.ABCDEF@mx.example>",
		"<abcdefghijklmnop@acme.example>",    // no campaign part
		"<ABCDEFGHIJKLMNOP.c@acme.example>",  // capitals are not a token
		"<abcdefghijklmno1.c@acme.example>",  // 1 is not base32
		"<abcdefghijklmnopq.c@acme.example>", // too long
		"",
	} {
		if tok, ok := channels.ParseMessageID(foreign); ok {
			t.Errorf("channels.ParseMessageID(%q) = %q, true; want false", foreign, tok)
		}
	}
}

func TestComposeIsDeterministicAndCRLF(t *testing.T) {
	c := testComposer()
	m := message("c", "r", "a@example.com")
	m.HTML = "<p>hi</p>"
	m.UnsubscribeURL = "https://n.example/u/1"
	m.Headers = map[string]string{"X-B": "2", "X-A": "1", "x-c": "3"}
	a, err := c.Compose(m)
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		b, _ := c.Compose(m)
		if !bytes.Equal(a, b) {
			t.Fatalf("Compose differs between calls:\n%s\n---\n%s", a, b)
		}
	}
	if bytes.Count(a, []byte("\n")) != bytes.Count(a, []byte("\r\n")) || !bytes.HasSuffix(a, []byte("\r\n")) {
		t.Errorf("message has bare LF or no final CRLF:\n%q", a)
	}
	for _, h := range []string{"Precedence: bulk\r\n", "X-Auto-Response-Suppress: OOF, AutoReply\r\n", "X-C: 3\r\n"} {
		if !bytes.Contains(a, []byte(h)) {
			t.Errorf("missing %q", h)
		}
	}
	if bytes.Contains(a, []byte("go-mail")) {
		t.Error("library advertisement in the headers")
	}
}

// RFC 8058 one-click needs https; a plain http link keeps List-Unsubscribe
// but must not promise one-click.
func TestUnsubscribeHeaders(t *testing.T) {
	c := testComposer()
	m := message("c", "r", "a@example.com")
	m.UnsubscribeURL = "http://n.example/u/1"
	b, err := c.Compose(m)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("List-Unsubscribe: <http://n.example/u/1>\r\n")) || bytes.Contains(b, []byte("List-Unsubscribe-Post")) {
		t.Errorf("http unsubscribe:\n%s", b)
	}
	m.UnsubscribeURL = ""
	b, _ = c.Compose(m)
	if bytes.Contains(b, []byte("List-Unsubscribe")) {
		t.Errorf("no public_url but List-Unsubscribe present:\n%s", b)
	}
	if bytes.Contains(b, []byte("multipart")) {
		t.Errorf("text-only message is multipart:\n%s", b)
	}
}

func TestReplyTo(t *testing.T) {
	m := message("c", "r", "a@example.com")
	cases := []struct {
		c    Composer
		want string
	}{
		{Composer{From: "a@acme.example", ReplyTo: "replies@acme.example"}, "Reply-To: <replies@acme.example>"},
		{Composer{From: "a@acme.example", ReplyTo: "replies+old@acme.example", ReplyPlus: true}, "Reply-To: <replies+" + m.ReplyToken + "@acme.example>"},
		{Composer{From: "Acme <a@acme.example>", ReplyPlus: true}, "Reply-To: <a+" + m.ReplyToken + "@acme.example>"},
		{Composer{From: "a@acme.example"}, ""},
	}
	for _, c := range cases {
		b, err := c.c.Compose(m)
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		for _, l := range strings.Split(string(b), "\r\n") {
			if strings.HasPrefix(l, "Reply-To:") {
				got = l
			}
		}
		if got != c.want {
			t.Errorf("%+v: %q, want %q", c.c, got, c.want)
		}
	}
}

func TestComposeRefusesBadInput(t *testing.T) {
	c := testComposer()
	for name, mod := range map[string]func(*channels.Message){
		"bad address":      func(m *channels.Message) { m.To = "bob" },
		"address and name": func(m *channels.Message) { m.To = "Bob <bob@example.com>" },
		"injected address": func(m *channels.Message) { m.To = "bob@example.com\r\nBcc: x@y" },
		"override To":      func(m *channels.Message) { m.Headers = map[string]string{"to": "x@y"} },
		"override Bcc":     func(m *channels.Message) { m.Headers = map[string]string{"Bcc": "x@y"} },
		"bad header name":  func(m *channels.Message) { m.Headers = map[string]string{"X-A\r\nBcc": "x"} },
	} {
		m := message("c", "r", "a@example.com")
		mod(&m)
		if b, err := c.Compose(m); err == nil {
			t.Errorf("%s: composed\n%s", name, b)
		}
	}
}

func TestNewValidatesOptions(t *testing.T) {
	base := `from = "Acme <support@acme.example>"` + "\n"
	cases := []struct {
		name, toml, want string
	}{
		{"no url", base, "url is required"},
		{"bad scheme", base + `url = "http://u:hunter2@h:25"`, "scheme must be"},
		{"no from", `url = "smtp://h"`, "from is required"},
		{"bad from", `url = "smtp://h"` + "\n" + `from = "not an address"`, "from"},
		{"noreply reply_to", base + `url = "smtp://h"` + "\n" + `reply_to = "no-reply@acme.example"`, "replies are the point"},
		{"noreply from", `url = "smtp://h"` + "\n" + `from = "Acme <donotreply@acme.example>"`, "set reply_to"},
		{"starttls value", base + `url = "smtp://h"` + "\n" + `starttls = "maybe"`, `want "required" or "off"`},
		{"password in clear", base + `url = "smtp://u:hunter2@smtp.example.com"` + "\n" + `starttls = "off"`, "clear text"},
		{"timeout", base + `url = "smtp://h"` + "\n" + `timeout = "soon"`, "timeout"},
		{"unknown key", base + `url = "smtp://h"` + "\n" + `concurency = 4`, "unknown key"},
	}
	for _, c := range cases {
		_, err := newFromTOML(c.toml, 1)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to mention %q", c.name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: error reveals the password: %v", c.name, err)
		}
	}

	s, err := newFromTOML(base+`url = "smtps://mailer:p%40ss@smtp.example.com"`+"\n"+`reply_to = "replies@acme.example"`, 0)
	if err != nil {
		t.Fatal(err)
	}
	if s.cfg.port != "465" || !s.cfg.implicit || s.cfg.user != "mailer" || s.cfg.pass != "p@ss" || s.cfg.conns != 1 || s.cfg.timeout.String() != "30s" {
		t.Errorf("smtps defaults: %+v", s.cfg)
	}
	if s.cfg.composer.idDomain() != "acme.example" {
		t.Errorf("message id domain %q, want the From domain", s.cfg.composer.idDomain())
	}
	s, err = newFromTOML(base+`url = "smtp://smtp.example.com"`, 4)
	if err != nil || s.cfg.port != "587" || s.cfg.implicit || s.cfg.conns != 4 {
		t.Errorf("smtp defaults: %+v, %v", s.cfg, err)
	}
	// Loopback relays may take a password without TLS (nothing leaves the host).
	if _, err := newFromTOML(base+`url = "smtp://u:p@127.0.0.1:25"`+"\n"+`starttls = "off"`, 1); err != nil {
		t.Errorf("loopback with starttls off: %v", err)
	}
}

func TestQueueID(t *testing.T) {
	for text, want := range map[string]string{
		"2.0.0 Ok: queued as 4BFD2A0C5F":            "4BFD2A0C5F",
		"Ok 0100018e3a5b-1234abcd-000000":           "0100018e3a5b-1234abcd-000000",
		"2.0.0 OK  1710408413 x12-20020a05si gsmtp": "",
		"OK: queued":                          "",
		"2.0.0 Message accepted for delivery": "",
	} {
		if got := queueID(text); got != want {
			t.Errorf("queueID(%q) = %q, want %q", text, got, want)
		}
	}
}

// Campaign mail carries List-Id (RFC 2919) from the campaign name and the
// From domain, whatever the public_url: SpamAssassin scores List-Unsubscribe
// without it, and clients group a campaign's mail by it.
func TestListID(t *testing.T) {
	c := testComposer()
	for campaign, want := range map[string]string{
		"shipment-delay-2026-11": "List-Id: <shipment-delay-2026-11.acme.example>\r\n",
		"Black Friday/2025 ✨":    "List-Id: <black-friday-2025--.acme.example>\r\n",
	} {
		m := message(campaign, "c-1", "a@example.com")
		m.UnsubscribeURL = "https://n.example/u/1"
		b, err := c.Compose(m)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("campaign %q: want %q in\n%s", campaign, want, b)
		}
	}
	m := message("c", "1", "a@example.com")
	m.Headers = map[string]string{"list-id": "<other.example>"}
	if _, err := c.Compose(m); err == nil || !strings.Contains(err.Error(), "set by herald") {
		t.Errorf("a template overriding List-Id: %v", err)
	}
}

// EHLO says the From domain unless helo is set, never this machine's bare
// host name; username and password win over the url's user-info and take
// raw text.
func TestHELOAndCredentialKeys(t *testing.T) {
	base := `from = "Acme <support@Acme.Example>"` + "\n" + `url = "smtp://urluser:urlpass@smtp.example.com"` + "\n"
	s, err := newFromTOML(base, 1)
	if err != nil {
		t.Fatal(err)
	}
	if s.cfg.helo != "acme.example" || s.cfg.user != "urluser" || s.cfg.pass != "urlpass" {
		t.Errorf("helo %q user %q; want the from domain and the url's user", s.cfg.helo, s.cfg.user)
	}
	s, err = newFromTOML(base+`helo = "mx1.acme.example"`+"\n"+`username = "mailer@acme.example"`+"\n"+`password = "p@ss/w#rd%20"`, 1)
	if err != nil {
		t.Fatal(err)
	}
	if s.cfg.helo != "mx1.acme.example" || s.cfg.user != "mailer@acme.example" || s.cfg.pass != "p@ss/w#rd%20" {
		t.Errorf("helo %q user %q pass %q; want the keys' raw values", s.cfg.helo, s.cfg.user, s.cfg.pass)
	}
	if _, err := newFromTOML(`from = "Acme <support@acme.example>"`+"\n"+`url = "smtp://smtp.example.com"`+"\n"+`password = "x"`, 1); err == nil || !strings.Contains(err.Error(), "username") {
		t.Errorf("password without a user: %v", err)
	}
	if _, err := newFromTOML(base+`helo = "bad name"`, 1); err == nil || !strings.Contains(err.Error(), "helo") {
		t.Errorf("helo with a space: %v", err)
	}
}

// The server sees the EHLO name and the login from the keys.
func TestServerSeesHELOAndLoginFromKeys(t *testing.T) {
	const pass = "p@ss/w#rd%41 :é"
	ts := startServer(t, serverOpts{tls: true, user: "mailer@acme.example", pass: pass})
	var helo string
	ts.srv.Backend = smtpBackendRecordingHELO(ts, &helo)
	s := newTestSender(t, ts, strings.Join([]string{
		`url = "smtp://` + ts.addr + `"`,
		`from = "Acme Support <support@acme.example>"`,
		`username = "mailer@acme.example"`,
		`password = "` + pass + `"`,
	}, "\n"), 1)
	if _, err := s.Send(t.Context(), message("c", "1", "a@example.com")); err != nil {
		t.Fatal(err)
	}
	ts.locked(func() {
		if helo != "acme.example" {
			t.Errorf("EHLO %q, want the from domain", helo)
		}
	})
	if got := ts.messages(); len(got) != 1 || got[0].User != "mailer@acme.example" {
		t.Errorf("got %+v", got)
	}
}
