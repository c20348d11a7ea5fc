package twilio

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"herald/channels"
	"herald/channels/sms"
)

// Send creates one Message resource. A 201 is "queued", not delivered:
// delivery arrives later through the status callback.
func (s *sender) Send(ctx context.Context, m channels.Message) (channels.Receipt, error) {
	body := s.form(m).Encode() // percent-encodes '+' as %2B, as Twilio needs
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint, strings.NewReader(body))
	if err != nil {
		return channels.Receipt{}, channels.PermanentError(fmt.Errorf("%s: %w", s.name, err))
	}
	req.SetBasicAuth(s.accountSID, s.token.Reveal())
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")

	resp, err := channels.Do(s.client, req, s.name, "sending", s.token.Reveal())
	if err != nil {
		return channels.Receipt{}, err
	}
	defer resp.Body.Close()
	raw, readErr := channels.ReadBody(resp)
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		var msg struct {
			SID string `json:"sid"`
		}
		if readErr == nil && json.Unmarshal(raw, &msg) == nil && msg.SID != "" {
			return channels.Receipt{ProviderID: msg.SID}, nil
		}
		if resp.StatusCode == http.StatusCreated {
			// 201 Created is Twilio saying it stored the message, even if
			// the resource was lost on the way: resending would send twice.
			return channels.Receipt{}, nil
		}
		// Some other 2xx without a Message resource: not Twilio's answer
		// (a proxy page, a wrong api_url), and the message may have gone.
		detail := s.snippet(raw)
		if readErr != nil {
			detail = "reading the answer: " + s.scrub(readErr.Error())
		}
		return channels.Receipt{}, channels.UnknownError(fmt.Errorf("%s: HTTP %d without a message sid: %s",
			s.name, resp.StatusCode, detail))
	}
	return channels.Receipt{}, s.classify(resp, raw)
}

// apiError is Twilio's REST error body.
type apiError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

// Twilio's error codes that decide the class before the HTTP status does
// (PROVIDERS.md §1; Twilio says to branch on codes).
const (
	codeAuthenticate = 20003 // wrong account SID or auth token
	codeTooMany      = 20429 // REST API concurrency exceeded
	codeUnsubscribed = 21610 // the recipient replied STOP to this sender
)

// classify turns a non-2xx answer into an error naming Twilio's code:
// 20003 means the credentials are refused (the channel is unusable),
// 21610 that the recipient unsubscribed (permanent, and a provider opt-out),
// 20429 a throttle (temporary); anything else is classified by its HTTP
// status (21211 invalid To and the other 4xx are permanent for that
// address, 500/502/504 leave the message in doubt).
func (s *sender) classify(resp *http.Response, raw []byte) error {
	var e apiError
	if json.Unmarshal(raw, &e) != nil || e.Code == 0 {
		return channels.ClassifyHTTP(s.name, resp, s.snippet(raw))
	}
	err := fmt.Errorf("%s: %d %s (HTTP %d)", s.name, e.Code, s.scrub(strings.TrimSpace(e.Message)), resp.StatusCode)
	switch e.Code {
	case codeAuthenticate:
		return channels.ChannelError(err, "check account_sid and auth_token")
	case codeUnsubscribed:
		return channels.ProviderOptOutError(err)
	case codeTooMany:
		return channels.TemporaryError(err, channels.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()))
	}
	return channels.ClassifyStatus(resp, err)
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

// scrub removes the auth token from text that came from the network, in case
// a proxy echoes the request: errors end up in logs and journals.
func (s *sender) scrub(text string) string {
	return channels.Scrub(text, s.token.Reveal())
}

// Check finds what Twilio would refuse or bill unexpectedly: for SMS the
// segment limit (max_segments) and an empty body; for both, a Body over
// 1,600 characters (error 21617).
func (s *sender) Check(m channels.Message) []channels.Problem {
	channel := m.Channel
	if channel == "" {
		channel = s.channel
	}
	var problems []channels.Problem
	if s.whatsapp {
		if m.Text == "" {
			problems = append(problems, channels.Problem{Severity: "error", Message: channel + ": empty message text"})
		}
		if m.Template != nil {
			problems = append(problems, channels.Problem{Severity: "warning", Message: fmt.Sprintf(
				"%s: %s sends the text as Body, not the WhatsApp template %q (Twilio needs a ContentSid); outside the 24-hour window WhatsApp refuses free text",
				channel, s.name, m.Template.Name)})
		}
	} else {
		problems = append(problems, sms.Check(channel, m, s.maxSegments)...)
	}
	if n := utf8.RuneCountInString(m.Text); n > MaxBody {
		problems = append(problems, channels.Problem{Severity: "error", Message: fmt.Sprintf(
			"%s: text is %d characters; Twilio accepts at most %d", channel, n, MaxBody)})
	}
	return problems
}

// Encode returns the form fields Send would post, as a JSON object, for the
// outbox and previews. The auth token travels in the Authorization header
// and is never part of it.
func (s *sender) Encode(m channels.Message) ([]byte, string, error) {
	fields := map[string]string{}
	for k, v := range s.form(m) {
		fields[k] = v[0]
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep '&' and '<' readable in previews
	enc.SetIndent("", "  ")
	if err := enc.Encode(fields); err != nil {
		return nil, "", errors.New(s.name + ": encoding preview: " + err.Error())
	}
	return buf.Bytes(), "json", nil
}
