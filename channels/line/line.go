// Package line sends push messages through the LINE Messaging API and
// verifies and parses its webhooks.
//
// Every push carries an X-Line-Retry-Key: the message's IdempotencyKey (a
// UUID derived from campaign and recipient, the same on every retry and every
// run). LINE executes a key once and answers any repeat with 409 Conflict,
// which this backend reports as success: a retry after a timeout or a 5xx can
// never deliver twice.
//
// Options in herald.toml:
//
//	[channels.line]
//	backend = "line"
//	token = "${LINE_CHANNEL_TOKEN}"            # channel access token
//	channel_secret = "${LINE_CHANNEL_SECRET}"  # verifies X-Line-Signature
package line

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/google/uuid"

	"herald/channels"
)

// Backend registers the line backend.
var Backend = channels.Backend{Name: "line", Kind: channels.KindLine, New: New,
	Webhook: &channels.Webhook{Route: "line", SecretOption: "channel_secret"}}

// MaxTextLength is LINE's limit on a text message. herald counts UTF-16 code
// units (an emoji counts 2), which is never more lenient than counting
// characters.
const MaxTextLength = 5000

const defaultBaseURL = "https://api.line.me"

// Options are the backend's keys of [channels.<name>].
type Options struct {
	Token         channels.Secret `toml:"token"`
	ChannelSecret channels.Secret `toml:"channel_secret"`
}

// Sender pushes messages for one LINE channel (official account).
type Sender struct {
	endpoint      string
	token         channels.Secret
	channelSecret channels.Secret
	client        *http.Client
}

var (
	_ channels.Sender        = (*Sender)(nil)
	_ channels.Checker       = (*Sender)(nil)
	_ channels.Encoder       = (*Sender)(nil)
	_ channels.InboundParser = (*Sender)(nil)
	_ channels.Idempotent    = (*Sender)(nil)
)

// New validates the options and builds the sender; it does not use the
// network.
func New(s channels.Settings) (channels.Sender, error) {
	var o Options
	if s.Decode != nil {
		if err := s.Decode(&o); err != nil {
			return nil, fmt.Errorf("line: %w", err)
		}
	}
	if o.Token == "" {
		return nil, errors.New("line: token is required (the channel access token from the LINE Developers console)")
	}
	base, err := s.BaseURL(defaultBaseURL)
	if err != nil {
		return nil, fmt.Errorf("line: %w", err)
	}
	client := s.Client()
	return &Sender{endpoint: base + "/v2/bot/message/push", token: o.Token, channelSecret: o.ChannelSecret, client: client}, nil
}

// String describes the sender without its secrets: fmt does not call
// Secret.String on unexported fields, so printing the struct would show them.
func (s *Sender) String() string { return "line sender (" + s.endpoint + ")" }

// GoString hides the secrets from %#v too.
func (s *Sender) GoString() string { return s.String() }

// RetryKey returns the X-Line-Retry-Key for m: its IdempotencyKey, or one
// derived from campaign and recipient when it has none. LINE only takes a
// UUID, so any other key is an error.
func RetryKey(m channels.Message) (string, error) {
	if m.IdempotencyKey == "" {
		return channels.IdempotencyKey(m.Campaign, m.Recipient), nil
	}
	u, err := uuid.Parse(m.IdempotencyKey)
	if err != nil {
		return "", fmt.Errorf("line: idempotency key %q is not a UUID, which X-Line-Retry-Key requires", m.IdempotencyKey)
	}
	return u.String(), nil
}

// Send pushes one text message. A 409 (the retry key was already accepted)
// is success: the message went out on an earlier attempt.
func (s *Sender) Send(ctx context.Context, m channels.Message) (channels.Receipt, error) {
	body, err := RequestBody(m)
	if err != nil {
		return channels.Receipt{}, channels.PermanentError(err)
	}
	key, err := RetryKey(m)
	if err != nil {
		return channels.Receipt{}, channels.PermanentError(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint, bytes.NewReader(body))
	if err != nil {
		return channels.Receipt{}, channels.PermanentError(fmt.Errorf("line: building request: %s", s.scrub(err.Error())))
	}
	req.Header.Set("Authorization", "Bearer "+s.token.Reveal())
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Line-Retry-Key", key)
	resp, err := channels.Do(s.client, req, "line", "sending", s.token.Reveal(), s.channelSecret.Reveal())
	if err != nil {
		return channels.Receipt{}, err
	}
	defer resp.Body.Close()
	data, _ := channels.ReadBody(resp) // an unreadable body still has a status

	var r response
	_ = json.Unmarshal(data, &r)
	if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusConflict {
		// 200 accepted it; 409 says a push with this retry key was accepted
		// before, so the message went out on an earlier attempt.
		rc := channels.Receipt{}
		if len(r.SentMessages) > 0 {
			rc.ProviderID = r.SentMessages[0].ID
		} else if resp.StatusCode == http.StatusConflict {
			rc.ProviderID = resp.Header.Get("X-Line-Accepted-Request-Id")
		}
		return rc, nil
	}
	detail := r.Message
	for _, d := range r.Details {
		detail += "; " + strings.TrimPrefix(d.Property+": "+d.Message, ": ")
	}
	if detail == "" {
		detail = channels.Snippet(data)
	}
	// 401 bad token and 403 no permission stop the channel, 429 (rate or
	// monthly quota) waits, 5xx leaves the push in doubt (and the retry
	// key makes its retry safe), any other 4xx is about this message.
	return channels.Receipt{}, channels.ClassifyHTTP("line", resp, s.scrub(detail))
}

// Idempotent says LINE de-duplicates pushes by X-Line-Retry-Key, so an
// Unknown outcome may be retried with the same key.
func (s *Sender) Idempotent() bool { return true }

type response struct {
	SentMessages []struct {
		ID string `json:"id"`
	} `json:"sentMessages"`
	Message string `json:"message"`
	Details []struct {
		Message  string `json:"message"`
		Property string `json:"property"`
	} `json:"details"`
}

// scrub removes the secrets from text that may be shown to the user.
func (s *Sender) scrub(text string) string {
	return channels.Scrub(text, s.token.Reveal(), s.channelSecret.Reveal())
}

type (
	request struct {
		To       string        `json:"to"`
		Messages []textMessage `json:"messages"`
	}
	textMessage struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
)

// RequestBody returns the JSON body of the push for m: one text message to
// m.To. It fails on anything Check reports as an error.
func RequestBody(m channels.Message) ([]byte, error) {
	for _, p := range problems(m) {
		if p.Severity == "error" {
			return nil, errors.New("line: " + p.Message)
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep <, > and & readable in outbox files
	if err := enc.Encode(request{To: m.To, Messages: []textMessage{{Type: "text", Text: m.Text}}}); err != nil {
		return nil, fmt.Errorf("line: encoding request: %w", err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// Encode returns the request body Send would post.
func (s *Sender) Encode(m channels.Message) ([]byte, string, error) {
	b, err := RequestBody(m)
	return b, "json", err
}

// Check reports, without the network, what LINE would refuse.
func (s *Sender) Check(m channels.Message) []channels.Problem { return problems(m) }

// idRe is the shape of LINE user, group and room ids.
var idRe = regexp.MustCompile(`^[UCR][0-9a-f]{32}$`)

func problems(m channels.Message) []channels.Problem {
	var ps []channels.Problem
	switch {
	case strings.TrimSpace(m.To) == "" || strings.ContainsAny(m.To, " \t\r\n"):
		ps = append(ps, channels.Problem{Severity: "error", Message: fmt.Sprintf("recipient %q is not a LINE user id", m.To)})
	case !idRe.MatchString(m.To):
		ps = append(ps, channels.Problem{Severity: "warning", Message: fmt.Sprintf(
			"recipient %q does not look like a LINE id (U, C or R and 32 hex digits)", m.To)})
	}
	n := 0
	for _, r := range m.Text {
		n += utf16.RuneLen(r)
	}
	switch {
	case strings.TrimSpace(m.Text) == "":
		ps = append(ps, channels.Problem{Severity: "error", Message: "text is empty"})
	case n > MaxTextLength:
		ps = append(ps, channels.Problem{Severity: "error", Message: fmt.Sprintf("text is %d UTF-16 units, more than LINE's %d", n, MaxTextLength)})
	}
	return ps
}

// Signature returns the X-Line-Signature LINE sends for body.
func Signature(channelSecret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(channelSecret))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Wire types of the webhook payload.
type (
	webhook struct {
		Destination string  `json:"destination"`
		Events      []event `json:"events"`
	}
	event struct {
		Type           string `json:"type"`
		Timestamp      int64  `json:"timestamp"`
		WebhookEventID string `json:"webhookEventId"`
		Source         struct {
			Type    string `json:"type"`
			UserID  string `json:"userId"`
			GroupID string `json:"groupId"`
			RoomID  string `json:"roomId"`
		} `json:"source"`
		Message struct {
			Type            string `json:"type"`
			ID              string `json:"id"`
			Text            string `json:"text"`
			QuotedMessageID string `json:"quotedMessageId"`
		} `json:"message"`
	}
)

// ParseInbound verifies X-Line-Signature over the raw body, then returns
// customer messages as replies (ProviderID is the webhookEventId, stable
// across redeliveries) and unfollow (the user blocked the account) as
// opt-outs. An empty events list is LINE's connectivity check: no events,
// no error.
func (s *Sender) ParseInbound(r channels.InboundRequest) ([]channels.Inbound, error) {
	if s.channelSecret == "" {
		return nil, fmt.Errorf("line: channel_secret is not configured, so webhooks cannot be verified: %w: %w", channels.ErrNoSecret, channels.ErrBadSignature)
	}
	got, err := base64.StdEncoding.DecodeString(r.Header.Get("X-Line-Signature"))
	if err != nil || len(got) == 0 {
		return nil, fmt.Errorf("line: X-Line-Signature is missing or not Base64: %w", channels.ErrBadSignature)
	}
	mac := hmac.New(sha256.New, []byte(s.channelSecret.Reveal()))
	mac.Write(r.Body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return nil, fmt.Errorf("line: X-Line-Signature does not match the body (is channel_secret this channel's secret?): %w", channels.ErrBadSignature)
	}
	var w webhook
	if err := json.Unmarshal(r.Body, &w); err != nil {
		return nil, fmt.Errorf("line: webhook body is not JSON: %w", err)
	}
	var out []channels.Inbound
	for _, e := range w.Events {
		from := e.Source.UserID
		switch e.Source.Type {
		case "group":
			from = e.Source.GroupID
		case "room":
			from = e.Source.RoomID
		}
		in := channels.Inbound{
			Time:       time.UnixMilli(e.Timestamp).UTC(),
			From:       from,
			To:         w.Destination,
			ProviderID: e.WebhookEventID,
		}
		switch e.Type {
		case "message":
			// Stickers and images are replies too, with no text to match.
			in.Kind = channels.InboundReply
			if e.Message.Type == "text" {
				in.Text = e.Message.Text
			}
			in.InReplyTo = e.Message.QuotedMessageID
		case "unfollow":
			in.Kind = channels.InboundOptOut
		default:
			continue // follow, postback, ...: nothing herald acts on
		}
		out = append(out, in)
	}
	return out, nil
}
