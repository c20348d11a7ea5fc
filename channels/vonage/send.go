package vonage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"herald/channels"
	"herald/channels/sms"
)

// maxClientRef is Vonage's limit for client-ref.
const maxClientRef = 40

// statusText names Vonage's send statuses (the API-errors page); the
// response's error-text adds the detail.
var statusText = map[string]string{
	"1": "Throttled", "2": "Missing parameters", "3": "Invalid parameters",
	"4": "Invalid credentials", "5": "Internal error", "6": "Invalid message",
	"7": "Number barred", "8": "Partner account barred", "9": "Partner quota violation",
	"10": "Too many existing binds", "11": "Account not enabled for HTTP",
	"12": "Message too long", "14": "Invalid signature", "15": "Invalid sender address",
	"22": "Invalid network code", "23": "Invalid callback URL",
	"29": "Non-whitelisted destination", "32": "Signature and API secret disallowed",
	"33": "Number de-activated",
}

// statusClass is what each of Vonage's statuses means for the message.
// Vonage says to retry 1 (throttled), 5 (internal error) and 10 (too many
// binds) with backoff. Credentials, the account and signing (4, 8, 9 no
// credit, 11, 14, 32) stop the channel: nothing will go out until a person
// fixes it. Every other status (2, 3, 6, 7, 12, 15, 22, 23, 29, 33) is
// about this message or recipient and permanent.
var statusClass = map[string]channels.Class{
	"1": channels.Temporary, "5": channels.Temporary, "10": channels.Temporary,
	"4": channels.Channel, "8": channels.Channel, "9": channels.Channel, "11": channels.Channel,
	"14": channels.Channel, "32": channels.Channel,
}

// number turns herald's E.164 ("+447700900000") into Vonage's form, digits
// only ("447700900000"). Anything else is refused here, because Vonage sends
// exactly what it is given.
func number(to string) (string, error) {
	digits := strings.TrimPrefix(to, "+")
	if !isDigits(digits) || len(digits) > 15 || digits[0] == '0' {
		return "", fmt.Errorf("%s: %q is not an E.164 number (+, country code, up to 15 digits)", backendName, to)
	}
	return digits, nil
}

// clientRef is the recipient id when it fits Vonage's 40 characters (it then
// comes back readable in delivery receipts), else a hash of it.
func clientRef(recipient string) string {
	if len(recipient) <= maxClientRef {
		return recipient
	}
	sum := sha256.Sum256([]byte(recipient))
	return hex.EncodeToString(sum[:])[:maxClientRef]
}

// form is the request body for m, in Vonage's parameter names. to is
// already in Vonage's digits-only form.
func (s *sender) form(m channels.Message, to string) url.Values {
	f := url.Values{}
	f.Set("api_key", s.apiKey)
	f.Set("api_secret", s.apiSecret.Reveal())
	f.Set("from", s.from)
	f.Set("to", to)
	f.Set("text", m.Text)
	if sms.IsGSM7(m.Text) {
		f.Set("type", "text")
	} else {
		f.Set("type", "unicode") // type=text would garble it
	}
	if ref := clientRef(m.Recipient); ref != "" {
		f.Set("client-ref", ref)
	}
	if s.callback != "" {
		f.Set("callback", s.callback)
	}
	return f
}

// sendResponse is the SMS API's answer; every field is a string.
type sendResponse struct {
	MessageCount string `json:"message-count"`
	Messages     []struct {
		To        string `json:"to"`
		MessageID string `json:"message-id"`
		Status    string `json:"status"`
		ErrorText string `json:"error-text"`
	} `json:"messages"`
}

// Send submits one SMS. A long text is split by Vonage and each part gets
// its own message-id: Receipt.ProviderID holds them all, comma-separated in
// part order, so a delivery receipt for any part can be matched.
func (s *sender) Send(ctx context.Context, m channels.Message) (channels.Receipt, error) {
	to, err := number(m.To)
	if err != nil {
		return channels.Receipt{}, channels.PermanentError(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint, strings.NewReader(s.form(m, to).Encode()))
	if err != nil {
		return channels.Receipt{}, channels.PermanentError(fmt.Errorf("%s: %w", backendName, err))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")

	resp, err := channels.Do(s.client, req, backendName, "sending", s.apiSecret.Reveal(), s.sigSecret.Reveal())
	if err != nil {
		return channels.Receipt{}, err
	}
	defer resp.Body.Close()
	raw, readErr := channels.ReadBody(resp)
	// Message results come with 200; anything else is the HTTP layer
	// (gateway errors, rate limiting in front of the API).
	if err := channels.ClassifyHTTP(backendName, resp, s.snippet(raw)); err != nil {
		return channels.Receipt{}, err
	}
	if readErr != nil {
		// Vonage answers refusals with 200 too: only the lost body could
		// tell whether the message was accepted.
		return channels.Receipt{}, channels.UnknownError(fmt.Errorf("%s: HTTP %d, reading the answer: %s",
			backendName, resp.StatusCode, s.scrub(readErr.Error())))
	}

	var r sendResponse
	if err := json.Unmarshal(raw, &r); err != nil || len(r.Messages) == 0 {
		// Not Vonage's answer (a proxy page, a wrong api_url): the message
		// may have gone, so it is in doubt, not resent.
		return channels.Receipt{}, channels.UnknownError(fmt.Errorf("%s: HTTP %d without message results: %s",
			backendName, resp.StatusCode, s.snippet(raw)))
	}
	ids := make([]string, 0, len(r.Messages))
	accepted := 0
	var failure error
	for i, part := range r.Messages {
		if part.Status == "0" {
			accepted++
			ids = append(ids, part.MessageID)
			continue
		}
		if failure == nil {
			failure = s.statusError(part.Status, part.ErrorText, i, len(r.Messages))
		}
	}
	if failure != nil {
		if accepted > 0 {
			// Some parts are on their way: a retry would send them twice.
			return channels.Receipt{ProviderID: strings.Join(ids, ",")}, channels.PermanentError(failure)
		}
		return channels.Receipt{}, failure
	}
	return channels.Receipt{ProviderID: strings.Join(ids, ",")}, nil
}

// statusError builds "vonage: status 3 Invalid parameters: <error-text>".
func (s *sender) statusError(status, text string, part, parts int) error {
	msg := fmt.Sprintf("%s: status %s", backendName, status)
	name := statusText[status]
	if name != "" {
		msg += " " + name
	}
	if text = s.scrub(strings.TrimSpace(text)); text != "" && !strings.EqualFold(text, name) {
		msg += ": " + text
	}
	if parts > 1 {
		msg += fmt.Sprintf(" (part %d of %d)", part+1, parts)
	}
	err := errors.New(msg)
	switch statusClass[status] {
	case channels.Temporary:
		return channels.TemporaryError(err, 0)
	case channels.Channel:
		return channels.ChannelError(err, "check api_key, api_secret and signature_secret, and the account's balance and settings in the Vonage dashboard")
	}
	return channels.PermanentError(err)
}

// snippet is a short, single-line excerpt of a body for an error message.
func (s *sender) snippet(raw []byte) string {
	text := strings.Join(strings.Fields(string(raw)), " ")
	if len(text) > 200 {
		text = strings.ToValidUTF8(text[:200], "") + "…"
	}
	if text == "" {
		text = "(empty body)"
	}
	return s.scrub(text)
}

// scrub removes the secrets from text that came from the network: Vonage
// echoes request parameters in some error texts, and errors end up in logs.
func (s *sender) scrub(text string) string {
	return channels.Scrub(text, s.apiSecret.Reveal(), s.sigSecret.Reveal())
}

// Check reports an empty text and more segments than max_segments.
func (s *sender) Check(m channels.Message) []channels.Problem {
	channel := m.Channel
	if channel == "" {
		channel = s.channel
	}
	problems := sms.Check(channel, m, s.maxSegments)
	if _, err := number(m.To); err != nil && m.To != "" {
		problems = append(problems, channels.Problem{Severity: "error", Message: channel + ": " + err.Error()})
	}
	return problems
}

// Encode returns the form fields Send would post, as a JSON object, for the
// outbox and previews, with api_secret shown as "***".
func (s *sender) Encode(m channels.Message) ([]byte, string, error) {
	to, err := number(m.To)
	if err != nil {
		return nil, "", err
	}
	fields := map[string]string{}
	for k, v := range s.form(m, to) {
		fields[k] = v[0]
	}
	fields["api_secret"] = s.apiSecret.String()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep '&' and '<' readable in previews
	enc.SetIndent("", "  ")
	if err := enc.Encode(fields); err != nil {
		return nil, "", errors.New(backendName + ": encoding preview: " + err.Error())
	}
	return buf.Bytes(), "json", nil
}
