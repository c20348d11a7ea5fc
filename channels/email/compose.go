package email

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"net/url"
	"sort"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"herald/channels"
)

// Composer turns a channels.Message into the RFC 5322 message herald sends.
// It is pure: the same Message and the same clock give the same bytes, which
// is what lets the outbox backend and `herald preview --out` show exactly
// what the SMTP sender transmits.
type Composer struct {
	// From is the From header, "Name <addr>" or a bare address.
	From string
	// ReplyTo is the address replies go to; empty means the From address.
	ReplyTo string
	// ReplyPlus puts the message's reply token into the Reply-To address as
	// a plus-address (RFC 5233), a second key for matching replies when a
	// client drops In-Reply-To.
	ReplyPlus bool
	// MessageIDDomain is the right-hand side of Message-IDs; empty means
	// the domain of From.
	MessageIDDomain string
	// Now gives the Date header; nil means time.Now.
	Now func() time.Time
}

// reservedHeaders are the headers Compose writes itself. Letting
// Message.Headers set them would allow a template or data file to change
// where a message goes (To, Bcc) or break its MIME structure.
var reservedHeaders = map[string]bool{
	"From": true, "To": true, "Cc": true, "Bcc": true, "Sender": true,
	"Reply-To": true, "Subject": true, "Date": true, "Message-Id": true,
	"Mime-Version": true, "Content-Type": true, "Content-Transfer-Encoding": true,
	"Return-Path": true, "List-Unsubscribe": true, "List-Unsubscribe-Post": true, "List-Id": true,
	"Precedence": true, "X-Auto-Response-Suppress": true,
}

// MessageID returns the Message-ID of m, angle brackets included:
// "<token.campaign@domain>". It depends only on campaign and recipient, so a
// retried message keeps its id (receivers can drop the duplicate) and a
// reply quoting it in In-Reply-To or References leads back to the recipient
// through channels.ParseMessageID.
func (c Composer) MessageID(m channels.Message) string {
	return "<" + replyToken(m) + "." + sanitizeIDPart(m.Campaign) + "@" + c.idDomain() + ">"
}

func replyToken(m channels.Message) string {
	if m.ReplyToken != "" {
		return strings.ToLower(m.ReplyToken)
	}
	return channels.ReplyToken(m.Campaign, m.Recipient)
}

// sanitizeIDPart keeps the campaign name readable in the Message-ID (an
// operator looking at a bounce sees which campaign it was) while staying
// inside RFC 5322 dot-atom-text.
func sanitizeIDPart(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
		if b.Len() >= 64 {
			break
		}
	}
	if b.Len() == 0 {
		return "herald"
	}
	return b.String()
}

func (c Composer) idDomain() string {
	if c.MessageIDDomain != "" {
		return c.MessageIDDomain
	}
	return c.fromDomain()
}

// ListID is the List-Id (RFC 2919) of m's campaign: the campaign name as
// the label under the From domain, "<shipment-delay-2026-11.acme.example>".
// Mailbox providers group a sender's mail by it, and spam filters expect
// it beside List-Unsubscribe.
func (c Composer) ListID(m channels.Message) string {
	return "<" + sanitizeIDPart(m.Campaign) + "." + c.fromDomain() + ">"
}

func (c Composer) fromDomain() string {
	if a, err := mail.ParseAddress(c.From); err == nil {
		if at := strings.LastIndexByte(a.Address, '@'); at >= 0 {
			return strings.ToLower(a.Address[at+1:])
		}
	}
	return "localhost"
}

// replyAddress returns the Reply-To address for m, or "" when none is set.
func (c Composer) replyAddress(m channels.Message) (string, error) {
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

// neutralize replaces CR, LF and other control characters with spaces: a
// recipient name or subject from a data file must never start a new header
// line ("Bob\r\nBcc: victim@example.com").
func neutralize(s string) string {
	if strings.IndexFunc(s, isControl) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if isControl(r) {
			return ' '
		}
		return r
	}, s)
}

func isControl(r rune) bool {
	return r < 0x20 && r != '\t' || r == 0x7f || r == 0x85 || r == 0x2028 || r == 0x2029
}

// validHeaderName reports whether name is an RFC 5322 field name.
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if name[i] <= ' ' || name[i] > '~' || name[i] == ':' {
			return false
		}
	}
	return true
}

// parseRecipient validates a recipient address: a bare addr-spec in ASCII.
// Non-ASCII addresses would need SMTPUTF8 end to end, which herald does not
// negotiate.
func parseRecipient(to string) error {
	if to == "" {
		return errors.New("no recipient address")
	}
	a, err := mail.ParseAddress(to)
	if err != nil || a.Address != to {
		return fmt.Errorf("recipient %q is not a valid e-mail address", to)
	}
	for i := 0; i < len(to); i++ {
		if to[i] >= 0x80 {
			return fmt.Errorf("recipient %q is not ASCII (SMTPUTF8 is not supported)", to)
		}
	}
	return nil
}

// Compose returns the full RFC 5322 message for m, with CRLF line endings
// and a 7-bit body (quoted-printable), ready for DATA after dot-stuffing.
func (c Composer) Compose(m channels.Message) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(m.Text) + len(m.HTML) + 1024)
	if err := c.compose(&buf, m); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// compose writes the message to w; the SMTP sender passes a dot-stuffing
// writer so each message's bytes are built exactly once.
func (c Composer) compose(w io.Writer, m channels.Message) error {
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
	reply, err := c.replyAddress(m)
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

// canonicalHeader is textproto's canonical form ("message-id" ->
// "Message-Id"), used to compare with reservedHeaders and to write extras
// consistently.
func canonicalHeader(k string) string {
	b := []byte(strings.ToLower(k))
	upper := true
	for i, c := range b {
		if upper && c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
		upper = c == '-'
	}
	return string(b)
}
