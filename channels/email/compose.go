package email

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"herald/channels/mailaddr"
	"maps"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

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
	if at := strings.LastIndexByte(to, '@'); at > 0 && mailaddr.IsDotAtom(to[:at]) && mailaddr.IsDotAtom(to[at+1:]) {
		// The common shape, local@domain in plain atoms: valid without
		// building what net/mail would.
		return nil
	}
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

// Compose returns the full RFC 5322 message for m, with CRLF line endings
// and a 7-bit body (quoted-printable), ready for DATA after dot-stuffing.
func (c Composer) Compose(m channels.Message) ([]byte, error) {
	return c.compile().compose(m)
}

// compiled is a Composer with what does not vary by recipient worked out
// once: the From line, the fixed part of Reply-To, and the header lines of
// the latest campaign and RFC 2047-encoded subject seen. The SMTP sender keeps one
// for the life of the channel and composes every message with it; it is
// safe for concurrent use.
type compiled struct {
	Composer

	fromLine []byte // "From: ...\r\n"
	fromErr  error
	fromHost string // the domain of From, lower case
	idHost   string // the right-hand side of Message-IDs

	// Reply-To: a fixed line, or with ReplyPlus the address around the
	// token: replyLocal + "+" + token + replyAt ("@domain").
	replyLine           []byte
	replyLocal, replyAt string
	replyErr            error

	campaign atomic.Pointer[campaignLines]
	subject  atomic.Pointer[subjectLine]
}

// campaignLines are the parts of a message that depend only on the campaign.
type campaignLines struct {
	name     string
	idSuffix string // ".campaign@domain>", the Message-ID after the token
	listID   []byte // "List-Id: <campaign.domain>\r\n"
}

type subjectLine struct {
	subject string
	line    []byte // "Subject: ...\r\n", RFC 2047-encoded and folded
}

func (c Composer) compile() *compiled {
	p := &compiled{Composer: c, fromHost: "localhost"}
	from, err := mail.ParseAddress(c.From)
	if err != nil {
		p.fromErr = fmt.Errorf("from %q: %v", c.From, err)
	} else {
		p.fromLine = appendHeader(nil, "From", from.String())
		if at := strings.LastIndexByte(from.Address, '@'); at >= 0 {
			p.fromHost = strings.ToLower(from.Address[at+1:])
		}
	}
	p.idHost = p.fromHost
	if c.MessageIDDomain != "" {
		p.idHost = c.MessageIDDomain
	}

	base := c.ReplyTo
	switch {
	case base == "" && !c.ReplyPlus:
		// no Reply-To header
	case base == "" && p.fromErr != nil:
		p.replyErr = p.fromErr
	case !c.ReplyPlus:
		if ra, err := mail.ParseAddress(base); err != nil {
			p.replyErr = fmt.Errorf("reply_to %q: %v", base, err)
		} else {
			p.replyLine = appendHeader(nil, "Reply-To", ra.String())
		}
	default:
		if base == "" {
			base = from.Address
		}
		at := strings.LastIndexByte(base, '@')
		if at <= 0 {
			p.replyErr = fmt.Errorf("reply_to %q is not an address", base)
			break
		}
		local := base[:at]
		// An address that already has a detail keeps its own; the token replaces it.
		if plus := strings.IndexByte(local, '+'); plus >= 0 {
			local = local[:plus]
		}
		p.replyLocal, p.replyAt = local, base[at:]
	}
	return p
}

func (p *compiled) compose(m channels.Message) ([]byte, error) {
	b, _, err := p.appendMessage(make([]byte, 0, len(m.Text)+len(m.HTML)+1024), m)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// campaignLines returns the campaign's lines, from the cache when m is of
// the campaign composed last.
func (p *compiled) campaignLines(campaign string) *campaignLines {
	if cl := p.campaign.Load(); cl != nil && cl.name == campaign {
		return cl
	}
	part := sanitizeIDPart(campaign)
	cl := &campaignLines{
		name:     campaign,
		idSuffix: "." + part + "@" + p.idHost + ">",
		listID:   appendHeader(nil, "List-Id", encodeValue("<"+part+"."+p.fromHost+">")),
	}
	p.campaign.Store(cl)
	return cl
}

// appendSubject appends the Subject line. A plain-ASCII subject costs a
// scan and goes straight in; an encoded one (RFC 2047) is kept for the
// next message, which in a campaign usually has the same subject.
func (p *compiled) appendSubject(dst []byte, subject string) []byte {
	subject = neutralize(subject)
	if !needsEncoding(subject) {
		return appendHeader(dst, "Subject", subject)
	}
	if sl := p.subject.Load(); sl != nil && sl.subject == subject {
		return append(dst, sl.line...)
	}
	sl := &subjectLine{subject: subject, line: appendHeader(nil, "Subject", encodeValue(subject))}
	p.subject.Store(sl)
	return append(dst, sl.line...)
}

// extraHeader is one of Message.Headers, canonical name and value.
type extraHeader struct{ name, value string }

// extraHeaders validates m.Headers and returns them sorted by canonical
// name; of two keys with the same canonical name the later in key order
// wins.
func extraHeaders(h map[string]string) ([]extraHeader, error) {
	if len(h) == 0 {
		return nil, nil
	}
	keys := slices.Sorted(maps.Keys(h))
	extra := make([]extraHeader, 0, len(keys))
	for _, k := range keys {
		if !validHeaderName(k) {
			return nil, fmt.Errorf("header name %q is not valid", k)
		}
		canon := canonicalHeader(k)
		if reservedHeaders[canon] {
			return nil, fmt.Errorf("header %q is set by herald and cannot be overridden", k)
		}
		v := encodeValue(neutralize(h[k]))
		if i := slices.IndexFunc(extra, func(e extraHeader) bool { return e.name == canon }); i >= 0 {
			extra[i].value = v
			continue
		}
		extra = append(extra, extraHeader{canon, v})
	}
	slices.SortFunc(extra, func(a, b extraHeader) int { return strings.Compare(a.name, b.name) })
	return extra, nil
}

// appendMessage appends the message for m to dst and returns it with the
// Message-ID. On an error dst is returned as it was.
//
// The header section is what herald always wrote: the generated fields in
// name order (extras from m.Headers among them), then From, To and
// Reply-To; every value RFC 2047-encoded when it is not plain ASCII and
// folded at spaces before 76 characters; a text/plain part, or
// multipart/alternative with the HTML, quoted-printable.
func (p *compiled) appendMessage(dst []byte, m channels.Message) ([]byte, string, error) {
	if err := parseRecipient(m.To); err != nil {
		return dst, "", err
	}
	if p.fromErr != nil {
		return dst, "", p.fromErr
	}
	if p.replyErr != nil {
		return dst, "", p.replyErr
	}
	token := replyToken(m)
	var replyArr [128]byte
	var replyTo []byte
	if p.replyAt != "" {
		var ok bool
		if replyTo, ok = appendPlusAddress(replyArr[:0], p.replyLocal, token, p.replyAt); !ok {
			reply := p.replyLocal + "+" + token + p.replyAt
			ra, err := mail.ParseAddress(reply)
			if err != nil {
				return dst, "", fmt.Errorf("reply_to %q: %v", reply, err)
			}
			replyTo = []byte(ra.String())
		}
	}
	extra, err := extraHeaders(m.Headers)
	if err != nil {
		return dst, "", err
	}

	cl := p.campaignLines(m.Campaign)
	id := "<" + token + cl.idSuffix
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	unsubscribe := neutralize(strings.TrimSpace(m.UnsubscribeURL))

	// The generated fields, in name order, with the extras merged in.
	next := 0
	extrasBefore := func(dst []byte, name string) []byte {
		for ; next < len(extra) && extra[next].name < name; next++ {
			dst = appendHeader(dst, extra[next].name, extra[next].value)
		}
		return dst
	}
	dst = extrasBefore(dst, "Date")
	dst = append(dst, "Date: "...)
	dst = now().AppendFormat(dst, time.RFC1123Z)
	dst = append(dst, "\r\n"...)
	dst = extrasBefore(dst, "List-Id")
	dst = append(dst, cl.listID...)
	if unsubscribe != "" {
		dst = extrasBefore(dst, "List-Unsubscribe")
		var arr [128]byte
		value := append(append(append(arr[:0], '<'), unsubscribe...), '>')
		dst = appendHeader(dst, "List-Unsubscribe", encodeValue(value))
		// RFC 8058 one-click needs an HTTPS URI (mailbox providers POST to
		// it). With a plain http:// link the List-Unsubscribe header still
		// gives clients an unsubscribe link, but List-Unsubscribe-Post
		// would be a false promise, so it is left out.
		if pu, err := url.Parse(unsubscribe); err == nil && pu.Scheme == "https" && pu.Host != "" {
			dst = extrasBefore(dst, "List-Unsubscribe-Post")
			dst = append(dst, "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"...)
		}
	}
	dst = extrasBefore(dst, "MIME-Version")
	dst = append(dst, "MIME-Version: 1.0\r\n"...)
	dst = extrasBefore(dst, "Message-ID")
	dst = appendHeader(dst, "Message-ID", encodeValue(id))
	// Precedence: bulk (RFC 3834 §2) and X-Auto-Response-Suppress (Exchange)
	// keep out-of-office robots from answering a campaign, so the replies
	// mailbox holds people. Only OOF and AutoReply are suppressed: "All"
	// would also suppress non-delivery reports, which herald wants to see.
	dst = extrasBefore(dst, "Precedence")
	dst = append(dst, "Precedence: bulk\r\n"...)
	dst = extrasBefore(dst, "Subject")
	dst = p.appendSubject(dst, m.Subject)
	dst = extrasBefore(dst, "X-Auto-Response-Suppress")
	dst = append(dst, "X-Auto-Response-Suppress: OOF, AutoReply\r\n"...)
	for ; next < len(extra); next++ {
		dst = appendHeader(dst, extra[next].name, extra[next].value)
	}

	dst = append(dst, p.fromLine...)
	var toArr [128]byte
	dst = appendHeader(dst, "To", appendNameAddress(toArr[:0], strings.TrimSpace(neutralize(m.Name)), m.To))
	if p.replyLine != nil {
		dst = append(dst, p.replyLine...)
	} else if replyTo != nil {
		dst = appendHeader(dst, "Reply-To", replyTo)
	}

	const qpText = "Content-Transfer-Encoding: quoted-printable\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n"
	const qpHTML = "Content-Transfer-Encoding: quoted-printable\r\nContent-Type: text/html; charset=UTF-8\r\n\r\n"
	if m.HTML == "" {
		dst = append(dst, qpText...)
		dst = appendQP(dst, m.Text)
		// A single-part body ends where the text ends; the message must
		// end with CRLF (the server would otherwise add it before the
		// final dot and the received bytes would differ from Compose's).
		if dst[len(dst)-1] != '\n' {
			dst = append(dst, "\r\n"...)
		}
		return dst, id, nil
	}
	// A boundary derived from the content keeps Compose deterministic, and
	// a body cannot contain a hash of itself, so it never collides with
	// the text. The hash input goes where the body will, for a moment.
	mark := len(dst)
	dst = append(dst, m.Text...)
	dst = append(dst, 0)
	dst = append(dst, m.HTML...)
	sum := sha256.Sum256(dst[mark:])
	dst = dst[:mark]
	var boundary [len("herald-") + 24]byte
	copy(boundary[:], "herald-")
	hex.Encode(boundary[len("herald-"):], sum[:12])

	dst = append(dst, "Content-Type: multipart/alternative;\r\n boundary="...)
	dst = append(dst, boundary[:]...)
	dst = append(dst, "\r\n\r\n--"...)
	dst = append(dst, boundary[:]...)
	dst = append(dst, "\r\n"+qpText...)
	dst = appendQP(dst, m.Text)
	dst = append(dst, "\r\n--"...)
	dst = append(dst, boundary[:]...)
	dst = append(dst, "\r\n"+qpHTML...)
	dst = appendQP(dst, m.HTML)
	dst = append(dst, "\r\n--"...)
	dst = append(dst, boundary[:]...)
	dst = append(dst, "--\r\n"...)
	return dst, id, nil
}

// appendHeader appends the header field "name: value" and its CRLF, folded
// into lines of at most 76 characters where the value has spaces: a word
// that would leave one character or less of the line goes to a new line
// that starts with a space, and the space before the fold is dropped. A
// word longer than a line stays whole.
func appendHeader[T string | []byte](dst []byte, name string, value T) []byte {
	const lineLen = 76
	dst = append(dst, name...)
	dst = append(dst, ':', ' ')
	room := lineLen - 4 - len(name)
	for {
		word, rest := value, value[:0]
		more := false
		for i := 0; i < len(value); i++ {
			if value[i] == ' ' {
				word, rest, more = value[:i], value[i+1:], true
				break
			}
		}
		if room-len(word) <= 1 {
			if dst[len(dst)-1] == ' ' {
				dst = dst[:len(dst)-1]
			}
			dst = append(dst, "\r\n "...)
			room = lineLen - 3
		}
		dst = append(dst, word...)
		room -= len(word)
		if !more {
			return append(dst, "\r\n"...)
		}
		dst = append(dst, ' ')
		room--
		value = rest
	}
}

// appendNameAddress appends `"Name" <local@domain>` (or `<local@domain>`
// without a name) as net/mail's Address.String writes it, without
// allocating for the common shape: a printable-ASCII name and a dot-atom
// local part. addr is a valid addr-spec.
func appendNameAddress(dst []byte, name, addr string) []byte {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 || !mailaddr.IsDotAtom(addr[:at]) {
		return append(dst, (&mail.Address{Name: name, Address: addr}).String()...)
	}
	start := len(dst)
	if name != "" {
		dst = append(dst, '"')
		for i := 0; i < len(name); i++ {
			c := name[i]
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c >= ' ' && c <= '~' || c == '\t':
				dst = append(dst, c)
			default:
				// Not ASCII: RFC 2047, as net/mail does it.
				return append(dst[:start], (&mail.Address{Name: name, Address: addr}).String()...)
			}
		}
		dst = append(dst, '"', ' ')
	}
	dst = append(dst, '<')
	dst = append(dst, addr...)
	return append(dst, '>')
}

// appendPlusAddress appends <local+token@domain> (at is "@domain") when
// both sides are plain dot-atoms, which is what net/mail would write for
// it; ok is false otherwise and nothing is appended.
func appendPlusAddress(dst []byte, local, token, at string) (_ []byte, ok bool) {
	if !mailaddr.IsDotAtom(local) || !mailaddr.IsDotAtom(token) || !mailaddr.IsDotAtom(at[1:]) {
		return dst, false
	}
	dst = append(dst, '<')
	dst = append(dst, local...)
	dst = append(dst, '+')
	dst = append(dst, token...)
	dst = append(dst, at...)
	return append(dst, '>'), true
}

// encodeValue is a header value RFC 2047 Q-encoded (UTF-8) when it is not
// all printable ASCII, as every generated field of herald's messages is.
func encodeValue[T string | []byte](v T) T {
	if needsEncoding(v) {
		return T(mime.QEncoding.Encode("UTF-8", string(v)))
	}
	return v
}

func needsEncoding[T string | []byte](v T) bool {
	for i := 0; i < len(v); i++ {
		if (v[i] < ' ' || v[i] > '~') && v[i] != '\t' {
			return true
		}
	}
	return false
}

// appendQP appends text in quoted-printable (RFC 2045 §6.7) with CRLF line
// ends, byte for byte what mime/quotedprintable writes: printable ASCII
// other than "=", spaces and tabs as they are, other bytes as =XX, lines
// of at most 76 characters with soft breaks ("=" at the end), and a space
// or tab at the end of a line encoded. Text with a CR goes through
// mime/quotedprintable itself, whose handling of a lone CR is its own.
func appendQP(dst []byte, text string) []byte {
	if strings.IndexByte(text, '\r') >= 0 {
		w := &appendWriter{b: dst}
		qp := quotedprintable.NewWriter(w)
		qp.Write([]byte(text))
		qp.Close()
		return w.b
	}
	const maxLen = 76
	const hexDigits = "0123456789ABCDEF"
	line := len(dst) // where the output line being written starts
	// endLine encodes a space or tab that ends the line.
	endLine := func(dst []byte) []byte {
		n := len(dst) - line
		if n == 0 || dst[len(dst)-1] != ' ' && dst[len(dst)-1] != '\t' {
			return dst
		}
		c := dst[len(dst)-1]
		dst = dst[:len(dst)-1]
		if n-1 > maxLen-4 {
			dst = append(dst, "=\r\n"...)
			line = len(dst)
		}
		return append(dst, '=', hexDigits[c>>4], hexDigits[c&15])
	}
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c == '\n':
			dst = endLine(dst)
			dst = append(dst, '\r', '\n')
			line = len(dst)
		case qpLiteral(c):
			room := maxLen - 1 - (len(dst) - line)
			if room == 0 {
				dst = append(dst, "=\r\n"...)
				line, room = len(dst), maxLen-1
			}
			// The run of literal bytes that fits on the line, at once.
			end := i + 1
			for end < len(text) && end-i < room && qpLiteral(text[end]) {
				end++
			}
			dst = append(dst, text[i:end]...)
			i = end - 1
		default:
			if len(dst)-line > maxLen-4 {
				dst = append(dst, "=\r\n"...)
				line = len(dst)
			}
			dst = append(dst, '=', hexDigits[c>>4], hexDigits[c&15])
		}
	}
	return endLine(dst)
}

// qpLiteral reports whether quoted-printable writes c as it is.
func qpLiteral(c byte) bool { return c >= '!' && c <= '~' && c != '=' || c == ' ' || c == '\t' }

// appendWriter is an io.Writer that appends to a byte slice.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}
