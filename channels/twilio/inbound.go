package twilio

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"herald/channels"
)

// ParseInbound verifies X-Twilio-Signature and parses an incoming message or
// a status callback. The signature covers the public URL Twilio called
// (r.URL, query included) and, for form POSTs, every POST parameter, so
// nothing is read from the request before it is verified.
func (s *sender) ParseInbound(r channels.InboundRequest) ([]channels.Inbound, error) {
	sc := s.scratch.Get().(*verifyScratch)
	defer s.putScratch(sc)
	params, err := s.verify(r, sc)
	if err != nil {
		return nil, err
	}
	return s.parse(params)
}

// maxKeptScratch is the largest buffer a pooled verifyScratch keeps: a
// rare large webhook should not pin a megabyte per pooled entry.
const maxKeptScratch = 64 << 10

func (s *sender) putScratch(sc *verifyScratch) {
	if cap(sc.text) > maxKeptScratch || cap(sc.signed) > maxKeptScratch {
		sc.text, sc.signed, sc.params, sc.sorted, sc.ends = nil, nil, nil, nil, nil
	}
	s.scratch.Put(sc)
}

// param is one parameter of a webhook, unescaped.
type param struct{ name, value string }

// params are a webhook's parameters in the order they came.
type params []param

// Get returns the first value of name, as url.Values.Get does.
func (p params) Get(name string) string {
	for _, kv := range p {
		if kv.name == name {
			return kv.value
		}
	}
	return ""
}

func paramsOf(v url.Values) params {
	var p params
	for name, values := range v {
		for _, value := range values {
			p = append(p, param{name, value})
		}
	}
	return p
}

// verifyScratch is what verifying one webhook needs besides its own
// strings: an HMAC keyed with the auth token (keying one costs two SHA-1
// blocks and a few allocations, so they are reused through the sender's
// pool), the signed bytes, and the parameters. Nothing in it outlives the
// request: the parameters' strings are the request's own.
type verifyScratch struct {
	mac    hash.Hash
	signed []byte
	params params
	sorted params
	text   []byte // a form's names and values, unescaped
	ends   []int  // where each name and value ends in text
}

// maxFormParams is the number of parameters a form body may have, net/url's
// limit for the same job.
const maxFormParams = 10000

// parseForm appends the parameters of an application/x-www-form-urlencoded
// body to p, as url.ParseQuery reads them (a ';' separator or a bad escape
// is an error). Every name and value is unescaped into sc.text, and they
// become substrings of one string made of it: one allocation for the whole
// form instead of one per escaped value.
func parseForm(p params, body []byte, sc *verifyScratch) (params, error) {
	if bytes.Count(body, []byte("&"))+1 > maxFormParams {
		return p, errors.New("too many parameters")
	}
	text, ends := sc.text[:0], sc.ends[:0]
	for len(body) > 0 {
		pair := body
		if i := bytes.IndexByte(body, '&'); i >= 0 {
			pair, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		if bytes.IndexByte(pair, ';') >= 0 {
			return p, errors.New("invalid semicolon separator")
		}
		if len(pair) == 0 {
			continue
		}
		name, value := pair, []byte(nil)
		if i := bytes.IndexByte(pair, '='); i >= 0 {
			name, value = pair[:i], pair[i+1:]
		}
		var err error
		if text, err = appendUnescaped(text, name); err != nil {
			return p, err
		}
		ends = append(ends, len(text))
		if text, err = appendUnescaped(text, value); err != nil {
			return p, err
		}
		ends = append(ends, len(text))
	}
	sc.text, sc.ends = text, ends
	all := string(text)
	start := 0
	for i := 0; i < len(ends); i += 2 {
		p = append(p, param{all[start:ends[i]], all[ends[i]:ends[i+1]]})
		start = ends[i+1]
	}
	return p, nil
}

// appendUnescaped appends s with its query escapes decoded ('+' is a
// space, %XX a byte), refusing a malformed escape as url.QueryUnescape
// does.
func appendUnescaped(b, s []byte) ([]byte, error) {
	for {
		i := bytes.IndexAny(s, "%+")
		if i < 0 {
			return append(b, s...), nil
		}
		b = append(b, s[:i]...)
		if s[i] == '+' {
			b = append(b, ' ')
			s = s[i+1:]
			continue
		}
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			return b, url.EscapeError(s[i:min(i+3, len(s))])
		}
		b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
		s = s[i+3:]
	}
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// verify checks the signature and returns the request's parameters, which
// live in sc.
func (s *sender) verify(r channels.InboundRequest, sc *verifyScratch) (params, error) {
	got := r.Header.Get("X-Twilio-Signature")
	if got == "" {
		return nil, fmt.Errorf("%s: no X-Twilio-Signature header: %w", s.name, channels.ErrBadSignature)
	}
	u, err := s.parseURL(r.URL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("%s: cannot verify against public URL %q (is public_url set?): %w", s.name, r.URL, channels.ErrBadSignature)
	}

	var p params
	signsParams := false // whether the POST parameters follow the URL in what was signed
	switch {
	case r.Method == http.MethodGet:
		// GET webhooks carry everything in the query, which the URL covers.
		p = paramsOf(u.Query())
	case isJSON(r.Header):
		// JSON webhooks sign only the URL, which carries the body's hash.
		want := u.Query().Get("bodySHA256")
		sum := sha256.Sum256(r.Body)
		if want == "" || !hmac.Equal([]byte(strings.ToLower(want)), []byte(hex.EncodeToString(sum[:]))) {
			return nil, fmt.Errorf("%s: JSON body does not match bodySHA256: %w", s.name, channels.ErrBadSignature)
		}
		values, err := flatJSON(r.Body)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.name, err)
		}
		p = paramsOf(values)
	default:
		if p, err = parseForm(sc.params[:0], r.Body, sc); err != nil {
			return nil, fmt.Errorf("%s: malformed form body: %w", s.name, err)
		}
		sc.params = p
		signsParams = true
	}
	var signed params
	if signsParams {
		sc.sorted = sortForSigning(append(sc.sorted[:0], p...))
		signed = sc.sorted
	}

	// The URL as given is what Twilio signs nearly always; the port
	// variants are computed only when it does not verify.
	if sc.matches(got, r.URL, signed) {
		return p, nil
	}
	for _, candidate := range portVariants(r.URL, u)[1:] {
		if sc.matches(got, candidate, signed) {
			return p, nil
		}
	}
	return nil, fmt.Errorf("%s: X-Twilio-Signature does not match %s: %w", s.name, u.Redacted(), channels.ErrBadSignature)
}

// parseURL parses the public URL a webhook was signed for. Every request to
// a channel carries the same one (public_url and the channel's path, no
// query), so the last one parsed is kept.
func (s *sender) parseURL(raw string) (*url.URL, error) {
	if last := s.lastURL.Load(); last != nil && last.raw == raw {
		return last.u, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	s.lastURL.Store(&parsedURL{raw: raw, u: u})
	return u, nil
}

type parsedURL struct {
	raw string
	u   *url.URL // never modified once stored
}

// matches reports whether got is the signature of fullURL and signed
// (sorted for signing).
func (sc *verifyScratch) matches(got, fullURL string, signed params) bool {
	sc.signed = appendSigned(sc.signed[:0], fullURL, signed)
	sc.mac.Reset()
	sc.mac.Write(sc.signed)
	var sum [sha1.Size]byte
	var want [28]byte // base64.StdEncoding.EncodedLen(sha1.Size)
	base64.StdEncoding.Encode(want[:], sc.mac.Sum(sum[:0]))
	return hmac.Equal([]byte(got), want[:])
}

// sortForSigning sorts parameters as Twilio signs them: names in byte
// order, the values of a repeated name sorted too. It sorts by name, as
// Twilio's docs say, not by name+value as one SDK does: they differ for
// To=... vs ToCity=....
func sortForSigning(p params) params {
	slices.SortFunc(p, func(a, b param) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		return strings.Compare(a.value, b.value)
	})
	return p
}

// appendSigned appends what Twilio signs: the URL followed by each
// parameter's name and value, in sortForSigning's order.
func appendSigned(b []byte, fullURL string, sorted params) []byte {
	b = append(b, fullURL...)
	for _, kv := range sorted {
		b = append(b, kv.name...)
		b = append(b, kv.value...)
	}
	return b
}

// Signature computes Twilio's X-Twilio-Signature for a request to fullURL
// with the given POST parameters (nil for GET and JSON webhooks): the URL
// followed by each parameter name and value, names sorted in byte order and
// the values of a repeated name sorted, HMAC-SHA1 keyed with the auth token,
// in standard padded Base64.
func Signature(authToken, fullURL string, params url.Values) string {
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write(appendSigned(nil, fullURL, sortForSigning(paramsOf(params))))
	var sum [sha1.Size]byte
	return base64.StdEncoding.EncodeToString(mac.Sum(sum[:0]))
}

// portVariants lists the URLs Twilio may have signed: Twilio is inconsistent
// about ports, so like the official SDKs we accept the URL as given, with
// the scheme's default port added when it has none, and without its port
// when it has one.
func portVariants(raw string, u *url.URL) []string {
	variants := []string{raw}
	alt := *u
	if u.Port() == "" {
		port := map[string]string{"https": "443", "http": "80"}[u.Scheme]
		if port == "" {
			return variants
		}
		alt.Host = net.JoinHostPort(u.Hostname(), port)
	} else {
		alt.Host = u.Hostname()
		if strings.Contains(alt.Host, ":") {
			alt.Host = "[" + alt.Host + "]" // IPv6 literal
		}
	}
	return append(variants, alt.String())
}

func isJSON(h http.Header) bool {
	ct := h.Get("Content-Type")
	if strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		return false // what Twilio sends nearly always; parsing it costs a map
	}
	mt, _, _ := mime.ParseMediaType(ct)
	return mt == "application/json"
}

// flatJSON reads a JSON object of scalar fields into parameters.
func flatJSON(body []byte) (url.Values, error) {
	var obj map[string]any
	if err := json.Unmarshal(body, &obj); err != nil {
		return nil, fmt.Errorf("malformed JSON body: %w", err)
	}
	params := url.Values{}
	for k, v := range obj {
		switch v := v.(type) {
		case string:
			params.Set(k, v)
		case float64, bool:
			params.Set(k, fmt.Sprint(v))
		}
	}
	return params, nil
}

// statuses maps Twilio's MessageStatus to herald's; the intermediate ones
// (queued, accepted, scheduled, sending) are not reported.
var statuses = map[string]string{
	"sent":        "sent",
	"delivered":   "delivered",
	"undelivered": "undelivered",
	"failed":      "failed",
	"read":        "read",
	"canceled":    "failed", // a scheduled message cancelled before sending
}

// parse turns verified parameters into events. A request with a
// MessageStatus other than received is a status callback; anything else is
// an incoming message.
func (s *sender) parse(p params) ([]channels.Inbound, error) {
	sid := p.Get("MessageSid")
	if sid == "" {
		sid = p.Get("SmsSid") // deprecated duplicate, still sent
	}
	if sid == "" {
		return nil, fmt.Errorf("%s: webhook without MessageSid", s.name)
	}
	status := p.Get("MessageStatus")
	if status == "" {
		status = p.Get("SmsStatus")
	}
	if status != "" && status != "received" && status != "receiving" {
		mapped, ok := statuses[status]
		if !ok {
			return nil, nil
		}
		return []channels.Inbound{{
			Kind:       channels.InboundStatus,
			From:       stripWhatsApp(p.Get("To")), // the customer the message went to
			To:         stripWhatsApp(p.Get("From")),
			ProviderID: sid + "/" + status, // one event per status of a message
			StatusFor:  sid,
			Status:     mapped,
			Error:      p.Get("ErrorCode"),
		}}, nil
	}
	in := channels.Inbound{
		Kind:       channels.InboundReply,
		From:       stripWhatsApp(p.Get("From")),
		To:         stripWhatsApp(p.Get("To")),
		Text:       p.Get("Body"),
		ProviderID: sid,
	}
	// With Advanced Opt-Out, Twilio has already blocked the sender when it
	// says STOP, whatever language the keyword was in: report the opt-out
	// itself so herald suppresses the number even for a keyword it does not
	// know. HELP and START stay replies.
	if strings.EqualFold(p.Get("OptOutType"), "STOP") {
		in.Kind = channels.InboundOptOut
	}
	return []channels.Inbound{in}, nil
}

// stripWhatsApp turns "whatsapp:+15551234567" into the E.164 number herald
// stores.
func stripWhatsApp(addr string) string {
	return strings.TrimPrefix(addr, whatsappPrefix)
}
