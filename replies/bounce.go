package replies

import (
	"bufio"
	"bytes"
	"mime"
	"net/mail"
	"net/textproto"
	"strings"

	"github.com/jhillyerd/enmime"
)

// DSN is what a delivery status notification (RFC 3464: multipart/report;
// report-type=delivery-status) says, reduced to what herald acts on.
type DSN struct {
	// OriginalID is the Message-ID of the message that failed, from the
	// returned headers (text/rfc822-headers or message/rfc822); "" when the
	// report returned none.
	OriginalID string
	// Failed lists the recipients with Action: failed and a permanent
	// (5.x.x) Status: a bounce. Delays (4.x.x) and successes are left out.
	Failed []FailedRecipient
}

// FailedRecipient is one permanently failed recipient of a DSN.
type FailedRecipient struct {
	Address    string // Original-Recipient when given (what herald wrote to), else Final-Recipient
	Status     string // "5.1.1"
	Diagnostic string // Diagnostic-Code, e.g. "smtp; 550 5.1.1 user unknown"
}

// parseDSN reads the delivery report of a multipart/report message; ok is
// false when the message is not one.
func parseDSN(env *enmime.Envelope) (DSN, bool) {
	mt, params, err := mime.ParseMediaType(env.GetHeader("Content-Type"))
	if err != nil || !strings.EqualFold(mt, "multipart/report") || !strings.EqualFold(params["report-type"], "delivery-status") {
		return DSN{}, false
	}
	var d DSN
	found := false
	var walk func(p *enmime.Part)
	walk = func(p *enmime.Part) {
		for ; p != nil; p = p.NextSibling {
			switch strings.ToLower(p.ContentType) {
			case "message/delivery-status", "message/global-delivery-status":
				found = true
				d.Failed = append(d.Failed, failedRecipients(p.Content)...)
			case "text/rfc822-headers", "message/rfc822", "message/global", "message/global-headers":
				if d.OriginalID == "" {
					d.OriginalID = returnedMessageID(p.Content)
				}
			}
			walk(p.FirstChild)
		}
	}
	if env.Root != nil {
		walk(env.Root.FirstChild)
	}
	return d, found
}

// failedRecipients parses a message/delivery-status body: a block of
// per-message fields, then one block per recipient, separated by blank
// lines (RFC 3464 §2.1).
func failedRecipients(body []byte) []FailedRecipient {
	var out []FailedRecipient
	blocks := strings.Split(strings.ReplaceAll(string(body), "\r\n", "\n"), "\n\n")
	for _, b := range blocks[min(1, len(blocks)):] {
		if strings.TrimSpace(b) == "" {
			continue
		}
		h, err := textproto.NewReader(bufio.NewReader(strings.NewReader(strings.TrimLeft(b, "\n") + "\n\n"))).ReadMIMEHeader()
		if err != nil && len(h) == 0 {
			continue
		}
		status := strings.TrimSpace(h.Get("Status"))
		if !strings.EqualFold(strings.TrimSpace(h.Get("Action")), "failed") || !strings.HasPrefix(status, "5.") {
			continue
		}
		addr := dsnAddress(h.Get("Original-Recipient"))
		if addr == "" {
			addr = dsnAddress(h.Get("Final-Recipient"))
		}
		if addr == "" {
			continue
		}
		out = append(out, FailedRecipient{Address: addr, Status: status, Diagnostic: strings.TrimSpace(h.Get("Diagnostic-Code"))})
	}
	return out
}

// dsnAddress takes the address out of "rfc822; alice@example.com".
func dsnAddress(field string) string {
	typ, addr, ok := strings.Cut(field, ";")
	if !ok || !strings.EqualFold(strings.TrimSpace(typ), "rfc822") {
		return ""
	}
	addr = strings.Trim(strings.TrimSpace(addr), "<>")
	if !strings.Contains(addr, "@") {
		return ""
	}
	return addr
}

// returnedMessageID reads the Message-ID of the returned message's headers.
func returnedMessageID(content []byte) string {
	if !bytes.Contains(content, []byte("\n\n")) && !bytes.Contains(content, []byte("\r\n\r\n")) {
		content = append(append([]byte(nil), content...), "\r\n\r\n"...) // headers only
	}
	m, err := mail.ReadMessage(bytes.NewReader(content))
	if err != nil {
		return ""
	}
	if ids := messageIDs(m.Header.Get("Message-Id")); len(ids) > 0 {
		return ids[0]
	}
	return ""
}
