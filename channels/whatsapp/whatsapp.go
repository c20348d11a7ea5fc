// Package whatsapp sends messages through the WhatsApp Business Cloud API
// (Meta Graph API) and verifies and parses its webhooks.
//
// A message with a Template is sent as a template message (the only kind
// Meta delivers outside the 24-hour customer-service window); any other
// message is sent as free-form text. A 200 from Meta means "accepted", not
// delivered: delivery, read and most failures (131026, 131047) arrive later
// as statuses on the webhook, which ParseInbound turns into InboundStatus
// events.
//
// Options in herald.toml:
//
//	[channels.whatsapp]
//	backend = "whatsapp"
//	phone_number_id = "1234567890"
//	token = "${WHATSAPP_TOKEN}"                # system-user access token
//	app_secret = "${WHATSAPP_APP_SECRET}"      # verifies X-Hub-Signature-256
//	verify_token = "${WHATSAPP_VERIFY_TOKEN}"  # answers the hub.challenge GET
//	api_version = "v21.0"                      # the default
package whatsapp

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"herald/channels"
)

// Backend registers the whatsapp backend.
var Backend = channels.Backend{Name: "whatsapp", Kind: channels.KindWhatsApp, New: New,
	Webhook: &channels.Webhook{Route: "whatsapp", SecretOption: "app_secret"}}

// DefaultAPIVersion is the Graph API version used when api_version is unset.
const DefaultAPIVersion = "v21.0"

// MaxTextLength is Meta's limit on a text message body, in characters.
const MaxTextLength = 4096

const defaultBaseURL = "https://graph.facebook.com"

// Options are the backend's keys of [channels.<name>].
type Options struct {
	PhoneNumberID channels.Setting `toml:"phone_number_id"`
	Token         channels.Secret  `toml:"token"`
	AppSecret     channels.Secret  `toml:"app_secret"`
	VerifyToken   channels.Secret  `toml:"verify_token"`
	APIVersion    channels.Setting `toml:"api_version"`
}

// Sender sends through one WhatsApp business phone number.
type Sender struct {
	endpoint    string
	token       channels.Secret
	appSecret   channels.Secret
	verifyToken channels.Secret
	client      *http.Client
}

var (
	_ channels.Sender             = (*Sender)(nil)
	_ channels.Checker            = (*Sender)(nil)
	_ channels.Encoder            = (*Sender)(nil)
	_ channels.InboundParser      = (*Sender)(nil)
	_ channels.ChallengeResponder = (*Sender)(nil)
)

var (
	digitsRe       = regexp.MustCompile(`^[0-9]+$`)
	versionRe      = regexp.MustCompile(`^v[0-9]+\.[0-9]+$`)
	templateNameRe = regexp.MustCompile(`^[a-z0-9_]+$`)
)

// New validates the options and builds the sender; it does not use the
// network.
func New(s channels.Settings) (channels.Sender, error) {
	var o Options
	if s.Decode != nil {
		if err := s.Decode(&o); err != nil {
			return nil, fmt.Errorf("whatsapp: %w", err)
		}
	}
	if o.PhoneNumberID == "" {
		return nil, errors.New("whatsapp: phone_number_id is required (the id of the business number in Meta's WhatsApp Manager, not the phone number)")
	}
	if !digitsRe.MatchString(string(o.PhoneNumberID)) {
		return nil, fmt.Errorf("whatsapp: phone_number_id %q must be digits only (it is Meta's id of the number, not the number itself)", o.PhoneNumberID)
	}
	if o.Token == "" {
		return nil, errors.New("whatsapp: token is required (a Meta system-user access token)")
	}
	if o.APIVersion == "" {
		o.APIVersion = DefaultAPIVersion
	}
	if !versionRe.MatchString(string(o.APIVersion)) {
		return nil, fmt.Errorf("whatsapp: api_version %q must look like %q", o.APIVersion, DefaultAPIVersion)
	}
	base, err := s.BaseURL(defaultBaseURL)
	if err != nil {
		return nil, fmt.Errorf("whatsapp: %w", err)
	}
	client := s.Client()
	return &Sender{
		endpoint:    base + "/" + string(o.APIVersion) + "/" + string(o.PhoneNumberID) + "/messages",
		token:       o.Token,
		appSecret:   o.AppSecret,
		verifyToken: o.VerifyToken,
		client:      client,
	}, nil
}

// String describes the sender without its secrets: fmt does not call
// Secret.String on unexported fields, so printing the struct would show them.
func (s *Sender) String() string { return "whatsapp sender (" + s.scrub(s.endpoint) + ")" }

// GoString hides the secrets from %#v too.
func (s *Sender) GoString() string { return s.String() }

// Send sends one message and returns the wamid as ProviderID.
func (s *Sender) Send(ctx context.Context, m channels.Message) (channels.Receipt, error) {
	body, err := RequestBody(m)
	if err != nil {
		return channels.Receipt{}, channels.PermanentError(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint, bytes.NewReader(body))
	if err != nil {
		return channels.Receipt{}, channels.PermanentError(fmt.Errorf("whatsapp: building request: %s", s.scrub(err.Error())))
	}
	req.Header.Set("Authorization", "Bearer "+s.token.Reveal())
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := channels.Do(s.client, req, "whatsapp", "sending", s.token.Reveal(), s.appSecret.Reveal(), s.verifyToken.Reveal())
	if err != nil {
		return channels.Receipt{}, err
	}
	defer resp.Body.Close()
	data, readErr := channels.ReadBody(resp)
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		// A 2xx means Meta accepted the message: even if the body is
		// unreadable, retrying would send it twice.
		var ok struct {
			Messages []struct {
				ID string `json:"id"`
			} `json:"messages"`
		}
		if readErr == nil && json.Unmarshal(data, &ok) == nil && len(ok.Messages) > 0 {
			return channels.Receipt{ProviderID: ok.Messages[0].ID}, nil
		}
		return channels.Receipt{}, nil
	}
	return channels.Receipt{}, s.classify(resp, data)
}

// graphError is Meta's error envelope.
type graphError struct {
	Error *struct {
		Message   string `json:"message"`
		Type      string `json:"type"`
		Code      int    `json:"code"`
		ErrorData struct {
			Details string `json:"details"`
		} `json:"error_data"`
		FBTraceID string `json:"fbtrace_id"`
	} `json:"error"`
}

// codeClass is what Meta's error codes mean for the message; Meta says to
// branch on the code, not on the HTTP status, which its tables give
// inconsistently for the throttling codes.
//
//   - Channel: the token is expired or invalid (0, 190), the app lacks a
//     permission (3, 10, and 200-299, see classify), the account is blocked
//     for policy (368), or the sending number is not registered (133010):
//     nothing will go out until a person fixes it.
//   - Temporary: throttling (4 app rate limit, 80007 WABA rate limit,
//     130429 throughput, 131048 spam rate limit, 131056 pair rate limit)
//     and "service unavailable" (2, 131016): the message was not taken.
//   - Unknown: "unknown error" (1) and "something went wrong" (131000):
//     Meta may have taken the message before failing.
//   - Permanent: everything about this message or recipient: invalid
//     parameters (100, 131008, 131009), not on WhatsApp (131026), window
//     closed (131047), ecosystem protection (131049), unsupported type
//     (131051), template problems (132xxx).
var codeClass = map[int]channels.Class{
	0: channels.Channel, 3: channels.Channel, 10: channels.Channel, 190: channels.Channel,
	368: channels.Channel, 133010: channels.Channel,
	2: channels.Temporary, 4: channels.Temporary, 80007: channels.Temporary, 130429: channels.Temporary,
	131016: channels.Temporary, 131048: channels.Temporary, 131056: channels.Temporary,
	1: channels.Unknown, 131000: channels.Unknown,
	100: channels.Permanent, 131008: channels.Permanent, 131009: channels.Permanent,
	131026: channels.Permanent, 131047: channels.Permanent, 131049: channels.Permanent, 131051: channels.Permanent,
	132000: channels.Permanent, 132001: channels.Permanent, 132005: channels.Permanent, 132007: channels.Permanent,
	132012: channels.Permanent, 132015: channels.Permanent, 132016: channels.Permanent,
}

var codePrefix = regexp.MustCompile(`^\(#[0-9]+\)\s*`)

// classify turns a non-2xx answer into a classified error named after
// Meta's code, e.g. "whatsapp: 131026 Message undeliverable: <details>".
func (s *Sender) classify(resp *http.Response, data []byte) error {
	var ge graphError
	if json.Unmarshal(data, &ge) != nil || ge.Error == nil {
		return channels.ClassifyHTTP("whatsapp", resp, s.scrub(channels.Snippet(data)))
	}
	e := ge.Error
	msg := fmt.Sprintf("whatsapp: %d %s", e.Code, codePrefix.ReplaceAllString(strings.TrimSpace(e.Message), ""))
	if d := strings.TrimSpace(e.ErrorData.Details); d != "" && !strings.Contains(msg, d) {
		msg += ": " + d
	}
	if e.FBTraceID != "" {
		msg += " (fbtrace_id " + e.FBTraceID + ")"
	}
	err := errors.New(s.scrub(msg))
	class, known := codeClass[e.Code]
	if e.Code >= 200 && e.Code <= 299 {
		class, known = channels.Channel, true // a permission the token lacks
	}
	if !known {
		return channels.ClassifyStatus(resp, err)
	}
	switch class {
	case channels.Channel:
		return channels.ChannelError(err, "check token (a system-user access token with whatsapp_business_messaging) and phone_number_id")
	case channels.Temporary:
		return channels.TemporaryError(err, channels.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()))
	case channels.Unknown:
		return channels.UnknownError(err)
	}
	return channels.PermanentError(err)
}

// scrub removes the secrets from text that may be shown to the user.
func (s *Sender) scrub(text string) string {
	return channels.Scrub(text, s.token.Reveal(), s.appSecret.Reveal(), s.verifyToken.Reveal())
}

// Wire types of the send request.
type (
	request struct {
		MessagingProduct string        `json:"messaging_product"`
		RecipientType    string        `json:"recipient_type"`
		To               string        `json:"to"`
		Type             string        `json:"type"`
		Text             *textObject   `json:"text,omitempty"`
		Template         *templateBody `json:"template,omitempty"`
	}
	textObject struct {
		Body       string `json:"body"`
		PreviewURL bool   `json:"preview_url"`
	}
	templateBody struct {
		Name       string      `json:"name"`
		Language   language    `json:"language"`
		Components []component `json:"components,omitempty"`
	}
	language struct {
		Code   string `json:"code"`
		Policy string `json:"policy"`
	}
	component struct {
		Type       string      `json:"type"`
		Parameters []parameter `json:"parameters"`
	}
	parameter struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
)

// RequestBody returns the JSON body Send posts for m: a template message when
// m.Template is set, else a text message without link preview. It fails,
// without the network, on anything Check reports as an error.
func RequestBody(m channels.Message) ([]byte, error) {
	for _, p := range problems(m) {
		if p.Severity == "error" {
			return nil, errors.New("whatsapp: " + p.Message)
		}
	}
	r := request{
		MessagingProduct: "whatsapp",
		RecipientType:    "individual",
		To:               strings.TrimPrefix(m.To, "+"),
	}
	if t := m.Template; t != nil {
		r.Type = "template"
		r.Template = &templateBody{Name: t.Name, Language: language{Code: t.Language, Policy: "deterministic"}}
		if len(t.Params) > 0 {
			c := component{Type: "body"}
			for _, p := range t.Params {
				c.Parameters = append(c.Parameters, parameter{Type: "text", Text: p})
			}
			r.Template.Components = []component{c}
		}
	} else {
		r.Type = "text"
		r.Text = &textObject{Body: m.Text}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// Keep <, > and & readable in outbox files; JSON does not need them escaped.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return nil, fmt.Errorf("whatsapp: encoding request: %w", err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// Encode returns the request body Send would post.
func (s *Sender) Encode(m channels.Message) ([]byte, string, error) {
	b, err := RequestBody(m)
	return b, "json", err
}

// Check reports, without the network, what Meta would refuse.
func (s *Sender) Check(m channels.Message) []channels.Problem { return problems(m) }

func problems(m channels.Message) []channels.Problem {
	var ps []channels.Problem
	errorf := func(format string, args ...any) {
		ps = append(ps, channels.Problem{Severity: "error", Message: fmt.Sprintf(format, args...)})
	}
	to := strings.TrimPrefix(m.To, "+")
	if !digitsRe.MatchString(to) || len(to) > 15 {
		errorf("recipient %q is not a phone number in E.164 form (+ and up to 15 digits)", m.To)
	}
	if t := m.Template; t != nil {
		if !templateNameRe.MatchString(t.Name) || len(t.Name) > 512 {
			errorf("template name %q must be lower-case letters, digits and underscores (as in WhatsApp Manager)", t.Name)
		}
		switch {
		case t.Language == "":
			errorf("template %q has no language code", t.Name)
		case strings.Contains(t.Language, "-"):
			errorf("template language %q must be Meta's code with an underscore, such as %q", t.Language, strings.ReplaceAll(t.Language, "-", "_"))
		}
		for i, p := range t.Params {
			if strings.TrimSpace(p) == "" {
				errorf("template %q parameter %d is empty; Meta rejects empty parameters", t.Name, i+1)
			} else if strings.ContainsAny(p, "\n\t") || strings.Contains(p, "     ") {
				ps = append(ps, channels.Problem{Severity: "warning", Message: fmt.Sprintf(
					"template %q parameter %d contains a new line, a tab or more than 4 spaces in a row, which Meta may refuse", t.Name, i+1)})
			}
		}
		return ps
	}
	switch n := utf8.RuneCountInString(m.Text); {
	case n == 0:
		errorf("text is empty")
	case n > MaxTextLength:
		errorf("text is %d characters, more than WhatsApp's %d", n, MaxTextLength)
	}
	return ps
}

// Challenge answers Meta's webhook verification GET: the raw hub.challenge
// when hub.mode is "subscribe" and hub.verify_token matches verify_token.
func (s *Sender) Challenge(q url.Values) (string, bool) {
	if s.verifyToken == "" || q.Get("hub.mode") != "subscribe" {
		return "", false
	}
	if subtle.ConstantTimeCompare([]byte(q.Get("hub.verify_token")), []byte(s.verifyToken.Reveal())) != 1 {
		return "", false
	}
	return q.Get("hub.challenge"), true
}

// Signature returns the X-Hub-Signature-256 value Meta sends for body.
func Signature(appSecret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(appSecret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// verify checks X-Hub-Signature-256 over the raw body, in constant time.
func (s *Sender) verify(r channels.InboundRequest) error {
	if s.appSecret == "" {
		return fmt.Errorf("whatsapp: app_secret is not configured, so webhooks cannot be verified: %w: %w", channels.ErrNoSecret, channels.ErrBadSignature)
	}
	got := r.Header.Get("X-Hub-Signature-256")
	if got == "" {
		return fmt.Errorf("whatsapp: no X-Hub-Signature-256 header: %w", channels.ErrBadSignature)
	}
	sig, err := hex.DecodeString(strings.TrimPrefix(got, "sha256="))
	if err != nil || !strings.HasPrefix(got, "sha256=") {
		return fmt.Errorf("whatsapp: X-Hub-Signature-256 is not sha256=<hex>: %w", channels.ErrBadSignature)
	}
	mac := hmac.New(sha256.New, []byte(s.appSecret.Reveal()))
	mac.Write(r.Body)
	if !hmac.Equal(sig, mac.Sum(nil)) {
		return fmt.Errorf("whatsapp: X-Hub-Signature-256 does not match the body (is app_secret the app's secret?): %w", channels.ErrBadSignature)
	}
	return nil
}

// Wire types of the webhook payload.
type (
	webhook struct {
		Object string `json:"object"`
		Entry  []struct {
			Changes []struct {
				Field string `json:"field"`
				Value value  `json:"value"`
			} `json:"changes"`
		} `json:"entry"`
	}
	value struct {
		Metadata struct {
			DisplayPhoneNumber string `json:"display_phone_number"`
		} `json:"metadata"`
		Messages []struct {
			From      string `json:"from"`
			ID        string `json:"id"`
			Timestamp string `json:"timestamp"`
			Type      string `json:"type"`
			Text      struct {
				Body string `json:"body"`
			} `json:"text"`
			Button struct {
				Text string `json:"text"`
			} `json:"button"`
			Interactive struct {
				ButtonReply struct {
					Title string `json:"title"`
				} `json:"button_reply"`
				ListReply struct {
					Title string `json:"title"`
				} `json:"list_reply"`
			} `json:"interactive"`
			Context struct {
				ID string `json:"id"`
			} `json:"context"`
		} `json:"messages"`
		Statuses []struct {
			ID          string `json:"id"`
			Status      string `json:"status"`
			Timestamp   string `json:"timestamp"`
			RecipientID string `json:"recipient_id"`
			Errors      []struct {
				Code  int    `json:"code"`
				Title string `json:"title"`
			} `json:"errors"`
		} `json:"statuses"`
	}
)

// ParseInbound verifies the signature, then returns the customer messages
// and delivery statuses of one webhook POST (Meta batches several).
// A status event's ProviderID is "<wamid>/<status>", unique per transition,
// for de-duplicating Meta's redeliveries.
func (s *Sender) ParseInbound(r channels.InboundRequest) ([]channels.Inbound, error) {
	if err := s.verify(r); err != nil {
		return nil, err
	}
	var w webhook
	if err := json.Unmarshal(r.Body, &w); err != nil {
		return nil, fmt.Errorf("whatsapp: webhook body is not JSON: %w", err)
	}
	var out []channels.Inbound
	for _, e := range w.Entry {
		for _, c := range e.Changes {
			v := c.Value
			to := plus(v.Metadata.DisplayPhoneNumber)
			for _, m := range v.Messages {
				in := channels.Inbound{
					Kind:       channels.InboundReply,
					Time:       unix(m.Timestamp),
					From:       plus(m.From),
					To:         to,
					ProviderID: m.ID,
					InReplyTo:  m.Context.ID,
				}
				switch m.Type {
				case "text":
					in.Text = m.Text.Body
				case "button":
					in.Text = m.Button.Text
				case "interactive":
					in.Text = m.Interactive.ButtonReply.Title
					if in.Text == "" {
						in.Text = m.Interactive.ListReply.Title
					}
				}
				// Other types (image, sticker, ...) are still a reply from
				// the customer, with no text to match keywords against.
				out = append(out, in)
			}
			for _, st := range v.Statuses {
				in := channels.Inbound{
					Kind:       channels.InboundStatus,
					Time:       unix(st.Timestamp),
					From:       plus(st.RecipientID),
					To:         to,
					ProviderID: st.ID + "/" + st.Status,
					Status:     st.Status,
					StatusFor:  st.ID,
				}
				if len(st.Errors) > 0 {
					in.Error = strings.TrimSpace(strconv.Itoa(st.Errors[0].Code) + " " + st.Errors[0].Title)
				}
				out = append(out, in)
			}
		}
	}
	return out, nil
}

// plus turns Meta's wa_id (digits) into herald's E.164 form.
func plus(digits string) string {
	if digits == "" {
		return ""
	}
	return "+" + digits
}

// unix reads Meta's timestamps: a string of Unix seconds.
func unix(s string) time.Time {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.Unix(n, 0).UTC()
}
