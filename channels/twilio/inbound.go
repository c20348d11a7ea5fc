package twilio

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
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
	params, err := s.verify(r)
	if err != nil {
		return nil, err
	}
	return s.parse(params)
}

// verify checks the signature and returns the request's parameters.
func (s *sender) verify(r channels.InboundRequest) (url.Values, error) {
	got := r.Header.Get("X-Twilio-Signature")
	if got == "" {
		return nil, fmt.Errorf("%s: no X-Twilio-Signature header: %w", s.name, channels.ErrBadSignature)
	}
	u, err := url.Parse(r.URL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("%s: cannot verify against public URL %q (is public_url set?): %w", s.name, r.URL, channels.ErrBadSignature)
	}

	var params url.Values
	var signedParams url.Values // the POST parameters appended to the URL
	switch {
	case r.Method == http.MethodGet:
		// GET webhooks carry everything in the query, which the URL covers.
		params = u.Query()
	case isJSON(r.Header):
		// JSON webhooks sign only the URL, which carries the body's hash.
		want := u.Query().Get("bodySHA256")
		sum := sha256.Sum256(r.Body)
		if want == "" || !hmac.Equal([]byte(strings.ToLower(want)), []byte(hex.EncodeToString(sum[:]))) {
			return nil, fmt.Errorf("%s: JSON body does not match bodySHA256: %w", s.name, channels.ErrBadSignature)
		}
		if params, err = flatJSON(r.Body); err != nil {
			return nil, fmt.Errorf("%s: %w", s.name, err)
		}
	default:
		if params, err = url.ParseQuery(string(r.Body)); err != nil {
			return nil, fmt.Errorf("%s: malformed form body: %w", s.name, err)
		}
		signedParams = params
	}

	// The URL as given is what Twilio signs nearly always; the port
	// variants are computed only when it does not verify.
	if hmac.Equal([]byte(got), []byte(Signature(s.token.Reveal(), r.URL, signedParams))) {
		return params, nil
	}
	for _, candidate := range portVariants(r.URL, u)[1:] {
		want := Signature(s.token.Reveal(), candidate, signedParams)
		if hmac.Equal([]byte(got), []byte(want)) {
			return params, nil
		}
	}
	return nil, fmt.Errorf("%s: X-Twilio-Signature does not match %s: %w", s.name, u.Redacted(), channels.ErrBadSignature)
}

// Signature computes Twilio's X-Twilio-Signature for a request to fullURL
// with the given POST parameters (nil for GET and JSON webhooks): the URL
// followed by each parameter name and value, names sorted in byte order and
// the values of a repeated name sorted, HMAC-SHA1 keyed with the auth token,
// in standard padded Base64. It sorts by name, as Twilio's docs say, not by
// name+value as one SDK does: they differ for To=... vs ToCity=....
func Signature(authToken, fullURL string, params url.Values) string {
	names := make([]string, 0, len(params))
	size := len(fullURL)
	for name, values := range params {
		names = append(names, name)
		for _, v := range values {
			size += len(name) + len(v)
		}
	}
	slices.Sort(names)
	// One buffer and one Write: a Write per name and value converts each
	// to a []byte on the heap, which was most of a webhook's allocation.
	signed := make([]byte, 0, size)
	signed = append(signed, fullURL...)
	for _, name := range names {
		values := params[name]
		if len(values) > 1 {
			values = slices.Clone(values)
			slices.Sort(values)
		}
		for _, v := range values {
			signed = append(signed, name...)
			signed = append(signed, v...)
		}
	}
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write(signed)
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
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
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
func (s *sender) parse(p url.Values) ([]channels.Inbound, error) {
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
