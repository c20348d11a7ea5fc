// Package webhook sends each message as one HTTP request to any API, with a
// body built from a Go text/template.
//
// Options in herald.toml:
//
//	[channels.push]
//	backend = "webhook"
//	url = "https://api.example.com/notify"     # required, http or https
//	method = "POST"                            # the default
//	headers = { Authorization = "Bearer ${PUSH_TOKEN}" }
//	body = '{"to": {{json .address}}, "text": {{json .text}}}'
//	content_type = "application/json"          # the default
//	success = [200, 201]                       # default: any 2xx
//	id_field = "data.id"                       # where the response holds the message id
//	idempotency_header = "Idempotency-Key"     # send the message's idempotency key in this header
//
// The body template sees .address (the recipient's address on this channel),
// .text, .subject, .html, .campaign, .recipient, .channel, .locale and
// .idempotency_key, plus the function json, which writes a value as a JSON
// literal (quotes and escapes included) and is the safe way to put text into
// a JSON body. A missing key is an error. When the content type is JSON, a
// body that does not render to valid JSON is refused before sending.
//
// With idempotency_header set, every request carries the message's
// idempotency key (a UUID derived from campaign and recipient, the same on
// every retry and every run) in that header. Set it only when the API
// de-duplicates on it: herald then retries a request whose answer was lost
// instead of leaving the message in doubt.
//
// Header values often hold credentials, so all of them are treated as
// secrets: they never appear in errors or when the sender is printed. The
// body is what Encode returns (outbox files, previews): keep secrets in
// headers, not in the body.
package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"text/template"

	"herald/channels"
)

// Backend registers the webhook backend.
var Backend = channels.Backend{Name: "webhook", Kind: channels.KindWebhook, New: New}

// Options are the backend's keys of [channels.<name>].
type Options struct {
	URL         channels.Setting           `toml:"url"`
	Method      channels.Setting           `toml:"method"`
	Headers     map[string]channels.Secret `toml:"headers"`
	Body        channels.Setting           `toml:"body"`
	ContentType channels.Setting           `toml:"content_type"`
	Success     []int                      `toml:"success"`
	IDField     string                     `toml:"id_field"`
	// IdempotencyHeader names the header that carries Message.IdempotencyKey.
	IdempotencyHeader string `toml:"idempotency_header"`
}

// Sender sends one templated request per message.
type Sender struct {
	url         string
	shownURL    string // scheme, host and path: the query may hold a key
	method      string
	headers     http.Header
	body        *template.Template
	contentType string
	success     []int
	idPath      []string
	idemHeader  string // header for the idempotency key, "" for none
	secrets     []string
	client      *http.Client
}

var (
	_ channels.Sender  = (*Sender)(nil)
	_ channels.Checker = (*Sender)(nil)
	_ channels.Encoder = (*Sender)(nil)
	// Idempotent is true only with idempotency_header.
	_ channels.Idempotent = (*Sender)(nil)
)

var methods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// New validates the options, parses and test-renders the body template and
// builds the sender; it does not use the network.
func New(s channels.Settings) (channels.Sender, error) {
	var o Options
	if s.Decode != nil {
		if err := s.Decode(&o); err != nil {
			return nil, fmt.Errorf("webhook: %w", err)
		}
	}
	if o.URL == "" {
		return nil, errors.New("webhook: url is required")
	}
	u, err := url.Parse(string(o.URL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("webhook: url %q must be an absolute http or https URL", shown(string(o.URL)))
	}
	if s.APIURL != "" {
		a, err := url.Parse(s.APIURL)
		if err != nil || (a.Scheme != "http" && a.Scheme != "https") || a.Host == "" {
			return nil, fmt.Errorf("webhook: api_url %q must be an http or https URL such as http://127.0.0.1:9000", channels.Redact(s.APIURL))
		}
		// api_url replaces scheme, host and port; the configured path and
		// query stay.
		u.Scheme, u.Host, u.User = a.Scheme, a.Host, nil
	}
	method := strings.ToUpper(string(o.Method))
	if method == "" {
		method = http.MethodPost
	}
	if !slices.Contains(methods, method) {
		return nil, fmt.Errorf("webhook: method %q must be one of %s", o.Method, strings.Join(methods, ", "))
	}
	ct := string(o.ContentType)
	if ct == "" {
		ct = "application/json"
	}
	if mt, _, err := mime.ParseMediaType(ct); err != nil || !strings.Contains(mt, "/") {
		return nil, fmt.Errorf("webhook: content_type %q is not a media type", ct)
	}
	sn := &Sender{
		url:         u.String(),
		shownURL:    shown(u.String()),
		method:      method,
		headers:     http.Header{},
		contentType: ct,
		success:     o.Success,
		client:      s.Client(),
	}
	for name, v := range o.Headers {
		if !validHeaderName(name) {
			return nil, fmt.Errorf("webhook: header name %q is not a valid HTTP header name", name)
		}
		if strings.ContainsAny(v.Reveal(), "\r\n") {
			return nil, fmt.Errorf("webhook: header %s holds a line break", name)
		}
		if textproto.CanonicalMIMEHeaderKey(name) == "Content-Type" {
			return nil, errors.New("webhook: set the content type with content_type, not in headers")
		}
		sn.headers.Set(name, v.Reveal())
		sn.secrets = append(sn.secrets, secretParts(v.Reveal())...)
	}
	if u.User != nil {
		sn.secrets = append(sn.secrets, secretParts(u.User.String())...)
	}
	for _, vs := range u.Query() {
		for _, v := range vs {
			sn.secrets = append(sn.secrets, secretParts(v)...)
		}
	}
	// Longest first, so a whole value is replaced before its parts.
	slices.SortFunc(sn.secrets, func(a, b string) int { return len(b) - len(a) })
	if h := o.IdempotencyHeader; h != "" {
		if !validHeaderName(h) {
			return nil, fmt.Errorf("webhook: idempotency_header %q is not a valid HTTP header name", h)
		}
		if _, taken := sn.headers[textproto.CanonicalMIMEHeaderKey(h)]; taken {
			return nil, fmt.Errorf("webhook: idempotency_header %q is also set in headers; keep one", h)
		}
		sn.idemHeader = textproto.CanonicalMIMEHeaderKey(h)
	}
	for _, c := range o.Success {
		if c < 100 || c > 599 {
			return nil, fmt.Errorf("webhook: success status %d is not an HTTP status", c)
		}
	}
	if o.IDField != "" {
		sn.idPath = strings.Split(o.IDField, ".")
		if slices.Contains(sn.idPath, "") {
			return nil, fmt.Errorf("webhook: id_field %q must be a dotted path such as \"data.id\"", o.IDField)
		}
	}
	if sn.body, err = ParseBody(string(o.Body)); err != nil {
		return nil, err
	}
	// Render once with sample data so a typo in a key or a broken JSON
	// skeleton shows up in `herald check`, not halfway through a campaign.
	sample := channels.Message{To: "+15550001111", Text: "sample", Subject: "sample", HTML: "<p>sample</p>",
		Campaign: "sample", Recipient: "sample", Channel: s.Channel, Locale: "en", IdempotencyKey: "sample"}
	if _, err := RequestBody(sample, sn.body, ct); err != nil {
		return nil, err
	}
	return sn, nil
}

// secretParts returns a header or URL value and its longer words, so a
// server that echoes only the token of "Bearer <token>" is scrubbed too.
func secretParts(v string) []string {
	var out []string
	if len(v) >= 4 {
		out = append(out, v)
	}
	for _, w := range strings.Fields(v) {
		if len(w) >= 8 && w != v {
			out = append(out, w)
		}
	}
	return out
}

func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for _, c := range name {
		if c > 126 || c <= 32 || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, c) {
			return false
		}
	}
	return true
}

// shown is a URL without user info and query, which may hold credentials.
func shown(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}

// String describes the sender without its secrets.
func (s *Sender) String() string { return "webhook sender (" + s.method + " " + s.shownURL + ")" }

// GoString hides the secrets from %#v too.
func (s *Sender) GoString() string { return s.String() }

// Funcs are the functions the body template may call besides text/template's
// built-ins.
var Funcs = template.FuncMap{
	// json writes v as a JSON literal: `{{json .text}}` gives "say \"hi\"".
	"json": func(v any) (string, error) {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return "", err
		}
		return strings.TrimRight(b.String(), "\n"), nil
	},
}

// ParseBody parses a body template; an empty source means an empty body.
// Errors name the problem and its position.
func ParseBody(src string) (*template.Template, error) {
	if src == "" {
		return nil, nil
	}
	t, err := template.New("body").Option("missingkey=error").Funcs(Funcs).Parse(src)
	if err != nil {
		return nil, fmt.Errorf("webhook: body: %s", strings.TrimPrefix(err.Error(), "template: "))
	}
	return t, nil
}

// Data returns what the body template sees for m.
func Data(m channels.Message) map[string]any {
	return map[string]any{
		"address":         m.To,
		"text":            m.Text,
		"subject":         m.Subject,
		"html":            m.HTML,
		"campaign":        m.Campaign,
		"recipient":       m.Recipient,
		"channel":         m.Channel,
		"locale":          m.Locale,
		"idempotency_key": m.IdempotencyKey,
	}
}

// IsJSON reports whether a content type is JSON (application/json or
// any +json type).
func IsJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// RequestBody renders the body template for m (nil: an empty body) and, for
// a JSON content type, checks that the result is valid JSON.
func RequestBody(m channels.Message, body *template.Template, contentType string) ([]byte, error) {
	if body == nil {
		return nil, nil
	}
	var b bytes.Buffer
	if err := body.Execute(&b, Data(m)); err != nil {
		return nil, fmt.Errorf("webhook: body: %s", strings.TrimPrefix(err.Error(), "template: "))
	}
	if IsJSON(contentType) && !json.Valid(b.Bytes()) {
		var v any
		err := json.Unmarshal(b.Bytes(), &v)
		return nil, fmt.Errorf("webhook: body is not valid JSON after rendering (%v); quote values with {{json .text}}, not \"{{.text}}\"", err)
	}
	return b.Bytes(), nil
}

// Encode returns the request body Send would send; ext follows the content
// type ("json", "xml" or "txt").
func (s *Sender) Encode(m channels.Message) ([]byte, string, error) {
	b, err := RequestBody(m, s.body, s.contentType)
	ext := "txt"
	if IsJSON(s.contentType) {
		ext = "json"
	} else if strings.Contains(s.contentType, "xml") {
		ext = "xml"
	}
	return b, ext, err
}

// Check reports what Send would refuse for m.
func (s *Sender) Check(m channels.Message) []channels.Problem {
	var ps []channels.Problem
	if strings.TrimSpace(m.To) == "" {
		ps = append(ps, channels.Problem{Severity: "warning", Message: "the recipient has no address for this channel"})
	}
	if _, err := RequestBody(m, s.body, s.contentType); err != nil {
		ps = append(ps, channels.Problem{Severity: "error", Message: strings.TrimPrefix(err.Error(), "webhook: ")})
	}
	return ps
}

// Send makes the request; ProviderID is the id_field of a JSON answer, when
// configured and present.
func (s *Sender) Send(ctx context.Context, m channels.Message) (channels.Receipt, error) {
	body, err := RequestBody(m, s.body, s.contentType)
	if err != nil {
		return channels.Receipt{}, channels.PermanentError(err)
	}
	req, err := http.NewRequestWithContext(ctx, s.method, s.url, bytes.NewReader(body))
	if err != nil {
		return channels.Receipt{}, channels.PermanentError(fmt.Errorf("webhook: building request for %s: %s", s.shownURL, s.scrub(err.Error())))
	}
	for k, v := range s.headers {
		req.Header[k] = v
	}
	if body != nil {
		req.Header.Set("Content-Type", s.contentType)
	}
	if s.idemHeader != "" {
		key := m.IdempotencyKey
		if key == "" {
			key = channels.IdempotencyKey(m.Campaign, m.Recipient)
		}
		req.Header.Set(s.idemHeader, key)
	}
	resp, err := channels.Do(s.client, req, "webhook", s.method+" "+s.shownURL, s.secrets...)
	if err != nil {
		return channels.Receipt{}, err
	}
	defer resp.Body.Close()
	// A success status says the API took the message even if its body is
	// lost on the way: the id is then missing, the message is not resent.
	data, _ := channels.ReadBody(resp)

	ok := resp.StatusCode >= 200 && resp.StatusCode < 300
	if len(s.success) > 0 {
		ok = slices.Contains(s.success, resp.StatusCode)
	}
	if ok {
		return channels.Receipt{ProviderID: s.providerID(data)}, nil
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return channels.Receipt{}, channels.PermanentError(fmt.Errorf("webhook: %s %s answered HTTP %d, which is not one of the success statuses %v",
			s.method, s.shownURL, resp.StatusCode, s.success))
	}
	return channels.Receipt{}, channels.ClassifyHTTP("webhook", resp, s.scrub(channels.Snippet(data)))
}

// providerID follows id_field through the JSON answer; a string is taken
// as is, a number in its JSON form. Missing means no id, not a failure: the
// API accepted the message.
func (s *Sender) providerID(data []byte) string {
	if len(s.idPath) == 0 {
		return ""
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return ""
	}
	for _, k := range s.idPath {
		switch c := v.(type) {
		case map[string]any:
			v = c[k]
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(c) {
				return ""
			}
			v = c[i]
		default:
			return ""
		}
	}
	switch id := v.(type) {
	case string:
		return id
	case json.Number:
		return id.String()
	}
	return ""
}

// Idempotent reports whether requests carry an idempotency key
// (idempotency_header), which the API is trusted to de-duplicate on.
func (s *Sender) Idempotent() bool { return s.idemHeader != "" }

// scrub replaces header values and URL credentials in text with "***".
func (s *Sender) scrub(text string) string { return channels.Scrub(text, s.secrets...) }
