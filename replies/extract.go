package replies

import (
	"bytes"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jhillyerd/enmime"
)

// Email is a reply read from the reply mailbox, reduced to what herald logs
// and correlates on.
type Email struct {
	MessageID  string   // "<id@host>", angle brackets kept: herald compares the bracketed form
	InReplyTo  string   // the first message id in In-Reply-To, bracketed
	References []string // every message id in References, in order, bracketed
	From       string   // the sender's bare address ("alice@example.com")
	// To is the address the reply was sent to: the first address in To, Cc,
	// Delivered-To or X-Original-To that carries a plus-address token (so a
	// reply that moved herald's Reply-To into Cc still correlates), else the
	// first To address.
	To      string
	Subject string    // decoded from RFC 2047
	Date    time.Time // zero when the Date header is missing or unreadable
	Text    string    // only the new text the customer wrote
	// Auto names the header that marks the message as written by a
	// machine (an out-of-office, a vacation responder, a list robot), ""
	// for a person's reply. See autoReplyHeader.
	Auto string
	// DSN is the delivery report of a bounce (multipart/report), nil for
	// any other message. A DSN is automatic too.
	DSN *DSN
}

// ExtractReply parses a raw RFC 5322 message and keeps the reply text: the
// text/plain part (or the HTML part rendered as text when there is none),
// without quoted history and without signature. It fails only when the
// message cannot be parsed or has no sender to attribute it to.
func ExtractReply(raw []byte) (Email, error) {
	env, err := enmime.NewParser(enmime.DisableTextConversion(true)).ReadEnvelope(bytes.NewReader(raw))
	if err != nil {
		return Email{}, fmt.Errorf("reading e-mail: %w", err)
	}
	var e Email
	from, err := env.AddressList("From")
	if err != nil || len(from) == 0 {
		if err == nil {
			err = errors.New("no address")
		}
		return Email{}, fmt.Errorf("e-mail has no usable From header (%q): %v", env.GetHeader("From"), err)
	}
	e.From = from[0].Address
	e.To = recipientAddress(env)
	e.Subject = strings.TrimSpace(env.GetHeader("Subject"))
	e.MessageID = strings.TrimSpace(env.GetHeader("Message-ID"))
	if ids := messageIDs(e.MessageID); len(ids) > 0 {
		e.MessageID = ids[0]
	}
	if ids := messageIDs(env.GetHeader("In-Reply-To")); len(ids) > 0 {
		e.InReplyTo = ids[0]
	}
	e.References = messageIDs(strings.Join(env.GetHeaderValues("References"), " "))
	if d, err := env.Date(); err == nil {
		e.Date = d
	}

	body := env.Text
	if strings.TrimSpace(body) == "" && env.HTML != "" {
		body = htmlToText(env.HTML)
	}
	e.Text = stripHistory(body)
	e.Auto = autoReplyHeader(env.GetHeader)
	if d, ok := parseDSN(env); ok {
		e.DSN = &d
		if e.Auto == "" {
			e.Auto = "Content-Type: multipart/report; report-type=delivery-status"
		}
		if d.OriginalID != "" && e.InReplyTo == "" {
			e.InReplyTo = d.OriginalID // the message that bounced, for matching
		}
	}
	return e, nil
}

// withoutComments drops RFC 5322 comments ("(...)", nested) from a header
// value.
func withoutComments(v string) string {
	var b strings.Builder
	depth := 0
	for _, r := range v {
		switch {
		case r == '(':
			depth++
		case r == ')' && depth > 0:
			depth--
		case depth == 0:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// autoReplyHeader returns the header (name and value) that marks a message
// as automatic, "" when none does: Auto-Submitted with any value but "no"
// (RFC 3834 §5), the X-Autoreply and X-Autorespond headers that
// vacation responders and some ticket systems set instead, and
// Precedence auto_reply, bulk or junk. An automatic reply is not the
// customer speaking, so its words are never keywords.
func autoReplyHeader(get func(string) string) string {
	if v := strings.TrimSpace(get("Auto-Submitted")); v != "" {
		// "auto-replied; owner-email=..." : the keyword is before any
		// parameter, and RFC 5322 comments may surround it.
		kw, _, _ := strings.Cut(withoutComments(v), ";")
		if !strings.EqualFold(strings.TrimSpace(kw), "no") {
			return "Auto-Submitted: " + v
		}
	}
	for _, h := range []string{"X-Autoreply", "X-Autorespond"} {
		if v := strings.TrimSpace(get(h)); v != "" {
			return h + ": " + v
		}
	}
	switch v := strings.ToLower(strings.TrimSpace(get("Precedence"))); v {
	case "auto_reply", "bulk", "junk":
		return "Precedence: " + v
	}
	return ""
}

var msgIDRe = regexp.MustCompile(`<[^<>\s]+>`)

// messageIDs returns the bracketed message ids in a header value, ignoring
// comments and other clutter some clients put around them.
func messageIDs(s string) []string {
	return msgIDRe.FindAllString(s, -1)
}

func recipientAddress(env *enmime.Envelope) string {
	var all []string
	for _, h := range []string{"To", "Cc"} {
		if l, err := env.AddressList(h); err == nil {
			for _, a := range l {
				all = append(all, a.Address)
			}
		}
	}
	for _, h := range []string{"Delivered-To", "X-Original-To"} {
		for _, v := range env.GetHeaderValues(h) {
			if a, err := mail.ParseAddress(v); err == nil {
				all = append(all, a.Address)
			}
		}
	}
	for _, a := range all {
		if _, ok := TokenFromAddress(a); ok {
			return a
		}
	}
	if l, err := env.AddressList("To"); err == nil && len(l) > 0 {
		return l[0].Address
	}
	return ""
}

// TokenFromAddress returns the detail of a plus-address (RFC 5233):
// "replies+abc123@acme.example" gives "abc123". It accepts a bare address or
// one with a display name. The token is lower-cased because some mail systems
// change the case of local parts and herald's tokens are lower-case.
func TokenFromAddress(addr string) (token string, ok bool) {
	addr = strings.TrimSpace(addr)
	if strings.ContainsAny(addr, "<\"") {
		a, err := mail.ParseAddress(addr)
		if err != nil {
			return "", false
		}
		addr = a.Address
	}
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 {
		return "", false
	}
	local := addr[:at]
	plus := strings.IndexByte(local, '+')
	if plus < 0 || plus == len(local)-1 {
		return "", false
	}
	return strings.ToLower(local[plus+1:]), true
}

// underscoreRule is the separator Outlook puts above the quoted header block;
// htmlToText also writes it for <hr>.
const underscoreRule = "________________________________"

// stripHistory keeps the text the customer wrote. Top-posting is what mail
// clients do by default, so everything from the first history marker down
// is dropped: an attribution line ("On … wrote:"), an Outlook header block
// or separator, a signature delimiter, or a "Sent from my iPhone" line.
// Lines quoted with '>' are dropped wherever they are; when an attribution
// line is directly followed by '>' lines, the text after them is kept, so a
// reply written below the quote (bottom-posting) is not lost.
func stripHistory(text string) string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	lines := strings.Split(text, "\n")
	var kept []string
lines:
	for i := 0; i < len(lines); i++ {
		l := strings.TrimRightFunc(lines[i], unicode.IsSpace)
		t := strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(t, ">"):
			continue
		case lines[i] == "-- " || t == "--": // RFC 3676 signature delimiter; many clients drop the space
			break lines
		case isRule(t), isSentFrom(t), isHeaderBlock(lines, i):
			break lines
		}
		if n := attributionLines(lines, i); n > 0 {
			j := i + n
			for j < len(lines) && strings.TrimSpace(lines[j]) == "" {
				j++
			}
			if j < len(lines) && strings.HasPrefix(strings.TrimSpace(lines[j]), ">") {
				i += n - 1 // drop the attribution; the '>' lines go by the rule above
				continue
			}
			break
		}
		kept = append(kept, l)
	}
	// Collapse the blank lines left where quotes were removed and trim.
	var out []string
	for _, l := range kept {
		if l == "" && (len(out) == 0 || out[len(out)-1] == "") {
			continue
		}
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}

// isRule reports Outlook's and webmail's separators: a line of underscores,
// or a dashed title like "-----Original Message-----",
// "-----Ursprüngliche Nachricht-----", "---------- Forwarded message ---------".
func isRule(t string) bool {
	if len(t) >= 10 && strings.Trim(t, "_") == "" {
		return true
	}
	if len(t) > 6 && strings.HasPrefix(t, "--") && strings.HasSuffix(t, "--") {
		return strings.IndexFunc(strings.Trim(t, "- "), unicode.IsLetter) >= 0
	}
	return false
}

// sentFromPrefixes are the automatic signatures of mobile clients, lower-cased.
var sentFromPrefixes = []string{
	"sent from my ", "sent from outlook", "sent from mail for", "sent from yahoo mail",
	"get outlook for ", "sent via ",
	"enviado desde mi ", "enviado do meu ", "enviado de meu ", // es, pt
	"envoyé de mon ", "envoyé depuis ", // fr
	"inviato da ",                             // it
	"von meinem ",                             // de ("Von meinem iPhone gesendet")
	"verzonden met ", "verstuurd vanaf mijn ", // nl
	"dikirim dari ", // id
	"wysłane z ",    // pl
	"отправлено с ", // ru
}

// sentFromSuffixes catch the languages that put the verb last.
var sentFromSuffixes = []string{
	"から送信",  // ja: "iPhoneから送信"
	"에서 보냄", // ko: "iPhone에서 보냄"
}

func isSentFrom(t string) bool {
	if t == "" || utf8.RuneCountInString(t) > 60 {
		return false
	}
	lt := strings.ToLower(t)
	for _, p := range sentFromPrefixes {
		if strings.HasPrefix(lt, p) {
			return true
		}
	}
	for _, s := range sentFromSuffixes {
		if strings.HasSuffix(lt, s) {
			return true
		}
	}
	return strings.HasPrefix(t, "发自我的") || strings.HasPrefix(t, "從我的") // zh: "发自我的iPhone"
}

// Labels of the header block Outlook writes above the quoted message
// ("From: … / Sent: … / To: … / Subject: …"), in the languages herald ships.
var (
	fromLabels = labelSet("from", "de", "von", "da", "van", "od", "dari", "daripada",
		"kimden", "от", "差出人", "送信者", "发件人", "寄件者", "보낸 사람", "من", "จาก", "từ", "प्रेषक")
	sentLabels = labelSet("sent", "date", "enviado", "enviada", "fecha", "envoyé", "date d'envoi",
		"gesendet", "datum", "inviato", "data", "verzonden", "wysłano", "dikirim", "tanggal",
		"tarikh", "gönderildi", "tarih", "отправлено", "дата", "送信日時", "日付", "发送时间",
		"發送時間", "时间", "日期", "보낸 날짜", "날짜", "التاريخ", "تاريخ الإرسال", "ส่ง", "วันที่",
		"đã gửi", "ngày", "भेजा गया", "दिनांक")
)

func labelSet(labels ...string) map[string]bool {
	m := make(map[string]bool, len(labels))
	for _, l := range labels {
		m[l] = true
	}
	return m
}

// headerLabel returns the lower-cased label of a "Label: value" line, with
// the bold markers some clients' plain-text rendering adds ("*From:*").
func headerLabel(line string) string {
	t := strings.TrimSpace(strings.ReplaceAll(line, "：", ":"))
	t = strings.TrimLeft(t, "*")
	colon := strings.IndexByte(t, ':')
	if colon <= 0 || colon > 40 {
		return ""
	}
	return strings.ToLower(strings.TrimSpace(strings.TrimRight(t[:colon], "*")))
}

// isHeaderBlock reports whether line i starts Outlook's quoted header
// block: a From label followed within a few lines by a Sent/Date label.
// Requiring both keeps a customer's own "From: …" line from cutting the reply.
func isHeaderBlock(lines []string, i int) bool {
	if !fromLabels[headerLabel(lines[i])] {
		return false
	}
	for j := i + 1; j < len(lines) && j <= i+4; j++ {
		if sentLabels[headerLabel(lines[j])] {
			return true
		}
	}
	return false
}

// attributionEndings are how the attribution line of a quoted reply ends,
// before the colon, per language, lower-cased.
var attributionEndings = []string{
	"wrote",                             // en
	"ha scritto",                        // it: "Il giorno … ha scritto:"
	"a écrit",                           // fr: "Le … a écrit :"
	"menulis",                           // id, ms: "Pada … menulis:"
	"escreveu",                          // pt: "Em … escreveu:"
	"schrieb",                           // de: "Am … schrieb Acme:"
	"escribió",                          // es: "El … escribió:"
	"geschreven",                        // nl: "Op … het volgende geschreven:"
	"napisał", "napisała", "napisał(a)", // pl
	"пишет", "написал", "написала", "написал(а)", // ru
	"yazdı",                   // tr: "… şunu yazdı:"
	"のメッセージ", "のメール", "書きました", // ja
	"写道", "寫道", // zh
	"작성",                // ko: "…님이 작성:"
	"كتب",               // ar
	"เขียนว่า", "เขียน", // th
	"đã viết", // vi
	"ने लिखा", // hi
}

// attributionStarts are how multi-line attributions begin; a wrapped line
// only counts as the start of an attribution when it begins like one.
var attributionStarts = []string{"on ", "il ", "le ", "pada ", "em ", "am ", "el ", "op ", "在 "}

// addrColonRe matches an attribution that ends with the quoted sender's
// address, the form Gmail uses in many languages
// ("2026年11月23日(月) 10:00 Acme <notify@acme.example>:", German
// "Am … schrieb Acme <notify@acme.example>:").
var addrColonRe = regexp.MustCompile(`<[^<>\s@]+@[^<>\s]+>\s*:$`)

// attributionLines returns how many lines (1 to 3) the attribution starting
// at line i spans, or 0 when line i does not start one. Gmail wraps a long
// attribution, so the address and "wrote:" can be on the next line.
func attributionLines(lines []string, i int) int {
	first := strings.ToLower(strings.TrimSpace(lines[i]))
	if first == "" {
		return 0
	}
	joined := ""
	for n := 1; n <= 3 && i+n <= len(lines); n++ {
		t := strings.TrimSpace(lines[i+n-1])
		if t == "" || strings.HasPrefix(t, ">") {
			return 0
		}
		if n > 1 && !hasAnyPrefix(first, attributionStarts) && !startsWithDigit(first) {
			return 0
		}
		joined = strings.TrimSpace(joined + " " + t)
		if isAttribution(joined) {
			return n
		}
	}
	return 0
}

func isAttribution(s string) bool {
	s = strings.ReplaceAll(s, "：", ":")
	if !strings.HasSuffix(s, ":") {
		return false
	}
	// A real attribution names a date or an address; "My manager wrote:" in
	// the customer's own text has neither.
	if strings.IndexFunc(s, unicode.IsDigit) < 0 && !strings.Contains(s, "@") {
		return false
	}
	if addrColonRe.MatchString(s) {
		return true
	}
	body := strings.ToLower(strings.TrimSpace(strings.TrimSuffix(s, ":")))
	for _, e := range attributionEndings {
		if strings.HasSuffix(body, e) {
			return true
		}
	}
	// German puts the name after the verb: "Am 23.11.2026 um 10:00 schrieb Acme:".
	return strings.HasPrefix(body, "am ") && strings.Contains(body, " schrieb ")
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func startsWithDigit(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return unicode.IsDigit(r)
}
