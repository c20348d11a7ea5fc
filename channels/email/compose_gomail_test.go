package email

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/mail"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	gomail "github.com/wneessen/go-mail"

	"herald/channels"
)

// The composer writes, byte for byte, the message herald built with
// go-mail's writer before it wrote its own: the oracle below is that
// earlier composer. Receivers, previews and stored outboxes see no change,
// and every rule of the format (RFC 2047 words, folding, quoted-printable
// line breaks, the multipart layout) is checked against it on messages
// built to hit the edges.

func goMailCompose(c Composer, w io.Writer, m channels.Message) error {
	if err := parseRecipient(m.To); err != nil {
		return err
	}
	from, err := mail.ParseAddress(c.From)
	if err != nil {
		return fmt.Errorf("from %q: %v", c.From, err)
	}
	// go-mail would otherwise draw a random boundary; one derived from the
	// content keeps Compose deterministic, and a body cannot contain a hash
	// of itself, so the boundary never collides with the text.
	sum := sha256.Sum256([]byte(m.Text + "\x00" + m.HTML))
	msg := gomail.NewMsg(
		gomail.WithNoDefaultUserAgent(),
		gomail.WithBoundary("herald-"+hex.EncodeToString(sum[:12])),
	)
	msg.SetAddrHeaderFromMailAddress(gomail.HeaderFrom, from)
	msg.SetAddrHeaderFromMailAddress(gomail.HeaderTo, &mail.Address{Name: strings.TrimSpace(neutralize(m.Name)), Address: m.To})
	reply, err := goMailReplyAddress(c, m)
	if err != nil {
		return err
	}
	if reply != "" {
		ra, err := mail.ParseAddress(reply)
		if err != nil {
			return fmt.Errorf("reply_to %q: %v", reply, err)
		}
		msg.SetAddrHeaderFromMailAddress(gomail.HeaderReplyTo, ra)
	}
	msg.Subject(neutralize(m.Subject))
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	msg.SetDateWithValue(now())
	// go-mail adds the angle brackets itself.
	id := c.MessageID(m)
	msg.SetMessageIDWithValue(id[1 : len(id)-1])

	// Precedence: bulk (RFC 3834 §2) and X-Auto-Response-Suppress (Exchange)
	// keep out-of-office robots from answering a campaign, so the replies
	// mailbox holds people. Only OOF and AutoReply are suppressed: "All"
	// would also suppress non-delivery reports, which herald wants to see.
	msg.SetGenHeader(gomail.HeaderPrecedence, "bulk")
	msg.SetGenHeader(gomail.HeaderXAutoResponseSuppress, "OOF, AutoReply")
	msg.SetGenHeader(gomail.Header("List-Id"), c.ListID(m))

	if u := neutralize(strings.TrimSpace(m.UnsubscribeURL)); u != "" {
		// SetGenHeader rather than go-mail's preformatted helpers: those
		// live in a map written in random order, and Compose must be
		// byte-for-byte reproducible.
		msg.SetGenHeader(gomail.HeaderListUnsubscribe, "<"+u+">")
		// RFC 8058 one-click needs an HTTPS URI (mailbox providers POST to
		// it). With a plain http:// link the List-Unsubscribe header still
		// gives clients an unsubscribe link, but List-Unsubscribe-Post
		// would be a false promise, so it is left out.
		if pu, err := url.Parse(u); err == nil && pu.Scheme == "https" && pu.Host != "" {
			msg.SetGenHeader(gomail.HeaderListUnsubscribePost, "List-Unsubscribe=One-Click")
		}
	}

	names := make([]string, 0, len(m.Headers))
	for k := range m.Headers {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !validHeaderName(k) {
			return fmt.Errorf("header name %q is not valid", k)
		}
		canon := canonicalHeader(k)
		if reservedHeaders[canon] {
			return fmt.Errorf("header %q is set by herald and cannot be overridden", k)
		}
		msg.SetGenHeader(gomail.Header(canon), neutralize(m.Headers[k]))
	}

	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	tw := &tailWriter{w: w}
	if _, err := msg.WriteTo(tw); err != nil {
		return fmt.Errorf("composing message: %w", err)
	}
	// A single-part body ends where the text ends; the message must end
	// with CRLF (the server would otherwise add it before the final dot and
	// the received bytes would differ from Compose's).
	if tw.last != '\n' {
		if _, err := io.WriteString(tw, "\r\n"); err != nil {
			return err
		}
	}
	return nil
}
func goMailReplyAddress(c Composer, m channels.Message) (string, error) {
	base := c.ReplyTo
	if base == "" {
		if !c.ReplyPlus {
			return "", nil
		}
		a, err := mail.ParseAddress(c.From)
		if err != nil {
			return "", fmt.Errorf("from %q: %v", c.From, err)
		}
		base = a.Address
	}
	if !c.ReplyPlus {
		return base, nil
	}
	at := strings.LastIndexByte(base, '@')
	if at <= 0 {
		return "", fmt.Errorf("reply_to %q is not an address", base)
	}
	local := base[:at]
	// An address that already has a detail keeps its own; the token replaces it.
	if plus := strings.IndexByte(local, '+'); plus >= 0 {
		local = local[:plus]
	}
	return local + "+" + replyToken(m) + base[at:], nil
}

// tailWriter remembers the last byte written.
type tailWriter struct {
	w    io.Writer
	last byte
}

func (t *tailWriter) Write(p []byte) (int, error) {
	if len(p) > 0 {
		t.last = p[len(p)-1]
	}
	return t.w.Write(p)
}

func goMailBytes(c Composer, m channels.Message) ([]byte, error) {
	var buf bytes.Buffer
	if err := goMailCompose(c, &buf, m); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// composeCase builds a message from fuzzable parts.
func composeCase(name, subject, text, html, unsub, hdrName, hdrValue, to string, plus bool) (Composer, channels.Message) {
	c := Composer{From: "Acme Support <support@acme.example>", ReplyTo: "replies@acme.example", ReplyPlus: plus, Now: fixedNow}
	m := message("Black Friday/2025 ✨", "cust-42", to)
	m.Name, m.Subject, m.Text, m.HTML, m.UnsubscribeURL = name, subject, text, html, unsub
	if hdrName != "" {
		m.Headers = map[string]string{hdrName: hdrValue, "X-Campaign": "bf"}
	}
	return c, m
}

func checkSameAsGoMail(t *testing.T, c Composer, m channels.Message) {
	t.Helper()
	want, werr := goMailBytes(c, m)
	got, gerr := c.Compose(m)
	if (werr == nil) != (gerr == nil) || werr != nil && werr.Error() != gerr.Error() {
		t.Fatalf("error %v, before %v", gerr, werr)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("message differs from before\n--- now\n%s\n--- before\n%s", got, want)
	}
}

var composeCorpus = []struct {
	name, subject, text, html, unsub, hdrName, hdrValue, to string
	plus                                                    bool
}{
	{"Test Person", "Your order is delayed", "Hello,\nyour order is late.\n", "", "", "", "", "a@example.com", false},
	{"", "Plain", "no newline at the end", "", "http://n.example/u/1", "", "", "a@example.com", true},
	{"Ana \"Nana\" Souza \\ Jr.", "Seu pedido está atrasado — ご注文の配送が遅れています, and a long tail of words to fold it", strings.Repeat("Olá, o seu pedido está atrasado. = 100% ", 9) + "\n.dot line\n..two\n", "<p style=\"color: red\">Olá</p>\n", "https://notify.acme.example/unsubscribe/abcdefghijklmnopqrstuvwxyz0123456789", "x-priority", "1 (Highest)", "ana.souza+tag@example.com", true},
	{"Søren Kierkegård", strings.Repeat("word ", 30), "trailing space \nand tab\t\n" + strings.Repeat("x", 75) + "\n" + strings.Repeat("y", 76) + "\n" + strings.Repeat("z", 74) + "é\n" + strings.Repeat("w", 74) + " \n", "", "https://n.example/u/1", "List-Help", "<mailto:help@acme.example>", "o'brien@example.com", false},
	{"Dr. (Who), Esq.", "Fwd:\tRe: tabs", "CRLF\r\nlone CR\rdone\r", "<b>x</b>\r\n", "", "X-Multi", "ünïcödé value with spaces", "a@example.com", false},
	{"   ", "", "", "<p>only html</p>", "  https://n.example/u/ä  ", "", "", "\"quoted local\"@example.com", true},
	{strings.Repeat("Long Name ", 12), "Subject\r\nBcc: victim@example.com", "line\n", "", "", "x-a", "1", "a@example.com", false},
}

func TestComposeMatchesGoMail(t *testing.T) {
	for i, cc := range composeCorpus {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			c, m := composeCase(cc.name, cc.subject, cc.text, cc.html, cc.unsub, cc.hdrName, cc.hdrValue, cc.to, cc.plus)
			checkSameAsGoMail(t, c, m)
		})
	}
	// Two extras with the same canonical name: the later key wins.
	c, m := composeCase("n", "s", "t\n", "", "", "x-b", "1", "a@example.com", false)
	m.Headers["X-B"] = "2"
	m.Headers["x-A"] = "3"
	checkSameAsGoMail(t, c, m)
	// Refusals give the same errors in the same order.
	for _, mod := range []func(*Composer, *channels.Message){
		func(c *Composer, m *channels.Message) { m.To = "bob" },
		func(c *Composer, m *channels.Message) { c.From = "not an address"; m.To = "bob" },
		func(c *Composer, m *channels.Message) { c.From = "not an address" },
		func(c *Composer, m *channels.Message) { c.ReplyTo = "nobody" },
		func(c *Composer, m *channels.Message) { c.ReplyTo = "nobody"; c.ReplyPlus = true },
		func(c *Composer, m *channels.Message) { c.ReplyTo, c.ReplyPlus = "Support <s@acme.example>", true },
		func(c *Composer, m *channels.Message) { c.ReplyTo = "Support <s@acme.example>" },
		func(c *Composer, m *channels.Message) { c.ReplyPlus = true; m.ReplyToken = "Has Space" },
		func(c *Composer, m *channels.Message) { c.ReplyTo, c.ReplyPlus = "+detail@acme.example", true },
		func(c *Composer, m *channels.Message) { c.ReplyTo, c.ReplyPlus = "first.last+old@acme.example", true },
		func(c *Composer, m *channels.Message) { m.Headers = map[string]string{"Bcc": "x", "Bad Name": "y"} },
		func(c *Composer, m *channels.Message) { c.MessageIDDomain = "例え.jp"; c.From = "Ä <a@例え.jp>" },
	} {
		c, m := composeCase("n", "s", "t\n", "<p>h</p>", "", "", "", "a@example.com", false)
		mod(&c, &m)
		checkSameAsGoMail(t, c, m)
	}
}

func FuzzComposeMatchesGoMail(f *testing.F) {
	for _, cc := range composeCorpus {
		f.Add(cc.name, cc.subject, cc.text, cc.html, cc.unsub, cc.hdrName, cc.hdrValue, cc.to, cc.plus)
	}
	f.Fuzz(func(t *testing.T, name, subject, text, html, unsub, hdrName, hdrValue, to string, plus bool) {
		c, m := composeCase(name, subject, text, html, unsub, hdrName, hdrValue, to, plus)
		checkSameAsGoMail(t, c, m)
	})
}

// The quick check of a recipient never accepts what net/mail refuses.
func FuzzParseRecipient(f *testing.F) {
	for _, s := range []string{"a@example.com", "a.b+c@d.e", ".a@b", "a..b@c", "a@b.", "\"q\"@b", "a b@c", "a@[1.2.3.4]", "é@b", "a@@b", "@b", "a@"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, to string) {
		got := parseRecipient(to)
		a, err := mail.ParseAddress(to)
		if got == nil && (err != nil || a.Address != to) {
			t.Fatalf("parseRecipient(%q) accepts what net/mail refuses (%v, %+v)", to, err, a)
		}
	})
}

// One composer serves a channel's messages from several workers at once;
// what it keeps from one message for the next (campaign, subject) never
// shows in another message.
func TestComposerSharedByWorkers(t *testing.T) {
	c := Composer{From: "Acme Support <support@acme.example>", ReplyPlus: true, Now: fixedNow}
	p := c.compile()
	subjects := []string{"Plain subject", "Ihre Bestellung ist unterwegs", "ご注文の配送が遅れています", "Votre commande est arrivée"}
	campaigns := []string{"spring", "Black Friday/2025 ✨"}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			buf := []byte(nil)
			for i := range 200 {
				m := message(campaigns[(i/3+w)%2], fmt.Sprint(w, "-", i), "a@example.com")
				m.Subject = subjects[(i+w)%len(subjects)]
				m.HTML = "<p>hi</p>"
				want, err := goMailBytes(c, m)
				if err != nil {
					t.Error(err)
					return
				}
				var id string
				buf, id, err = p.appendMessage(buf[:0], m)
				if err != nil || !bytes.Equal(buf, want) || id != c.MessageID(m) {
					t.Errorf("worker %d message %d differs (%v):\n%s\n--- want\n%s", w, i, err, buf, want)
					return
				}
			}
		})
	}
	wg.Wait()
}
