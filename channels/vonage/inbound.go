package vonage

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"herald/channels"
)

// hashes are the HMAC signature methods; md5hash, the default, is a plain
// MD5 of the parameters followed by the secret.
var hashes = map[string]func() hash.Hash{
	"md5":    md5.New,
	"sha1":   sha1.New,
	"sha256": sha256.New,
	"sha512": sha512.New,
}

// Signature computes Vonage's sig for params with method (md5hash, md5,
// sha1, sha256, sha512) and the signature secret, as lowercase hex: every
// parameter but sig, sorted by name, written as "&name=value" with '&' and
// '=' inside values replaced by '_'.
func Signature(method, secret string, params url.Values) (string, error) {
	names := make([]string, 0, len(params))
	for name := range params {
		if name != "sig" {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	var b strings.Builder
	clean := strings.NewReplacer("&", "_", "=", "_")
	for _, name := range names {
		b.WriteString("&")
		b.WriteString(name)
		b.WriteString("=")
		b.WriteString(clean.Replace(params.Get(name)))
	}
	if method == "" || method == "md5hash" {
		sum := md5.Sum([]byte(b.String() + secret))
		return hex.EncodeToString(sum[:]), nil
	}
	newHash, ok := hashes[method]
	if !ok {
		return "", fmt.Errorf("%s: unknown signature method %q", backendName, method)
	}
	mac := hmac.New(newHash, []byte(secret))
	mac.Write([]byte(b.String()))
	return hex.EncodeToString(mac.Sum(nil)), nil
}

// ParseInbound verifies a signed webhook (sig, and a timestamp no more than
// MaxAge from now) and parses an inbound SMS or a delivery receipt. Without
// signature_secret it refuses every request (channels.ErrNoSecret).
func (s *sender) ParseInbound(r channels.InboundRequest) ([]channels.Inbound, error) {
	if s.sigSecret == "" {
		return nil, fmt.Errorf("%s: inbound webhooks need signature_secret to be verified: %w: %w", backendName, channels.ErrNoSecret, channels.ErrBadSignature)
	}
	params, err := requestParams(r)
	if err != nil {
		return nil, err
	}
	if err := s.verify(params); err != nil {
		return nil, err
	}
	return parse(params)
}

// ParseInboundUnverified parses a webhook without checking its signature,
// for `herald replies serve --insecure` when no signature_secret is set.
// Anyone who can reach the endpoint can forge events through it.
func (s *sender) ParseInboundUnverified(r channels.InboundRequest) ([]channels.Inbound, error) {
	params, err := requestParams(r)
	if err != nil {
		return nil, err
	}
	return parse(params)
}

func (s *sender) verify(p url.Values) error {
	got := p.Get("sig")
	if got == "" {
		return fmt.Errorf("%s: webhook has no sig parameter (are signed webhooks enabled?): %w", backendName, channels.ErrBadSignature)
	}
	want, err := Signature(s.sigMethod, s.sigSecret.Reveal(), p)
	if err != nil {
		return err
	}
	// Vonage's own examples show upper-case hex.
	if !hmac.Equal([]byte(strings.ToLower(got)), []byte(want)) {
		return fmt.Errorf("%s: sig does not match (signature_method = %s): %w", backendName, s.sigMethod, channels.ErrBadSignature)
	}
	// The signature covers the timestamp; an old one is a replay.
	ts, err := strconv.ParseInt(p.Get("timestamp"), 10, 64)
	if err != nil {
		return fmt.Errorf("%s: signed webhook without a valid timestamp: %w", backendName, channels.ErrBadSignature)
	}
	age := s.now().Sub(time.Unix(ts, 0))
	if age > MaxAge || age < -MaxAge {
		return fmt.Errorf("%s: webhook timestamp is %s away from now (limit %s): %w",
			backendName, age.Round(time.Second), MaxAge, channels.ErrBadSignature)
	}
	return nil
}

// requestParams collects a webhook's parameters: the query for GET, the
// form or JSON body for POST (Vonage's dashboard offers all three).
func requestParams(r channels.InboundRequest) (url.Values, error) {
	if r.Method == http.MethodGet || len(bytes.TrimSpace(r.Body)) == 0 {
		if r.Query != nil {
			return r.Query, nil
		}
		if u, err := url.Parse(r.URL); err == nil {
			return u.Query(), nil
		}
		return url.Values{}, nil
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "application/json" || (mt == "" && bytes.HasPrefix(bytes.TrimSpace(r.Body), []byte("{"))) {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(r.Body, &obj); err != nil {
			return nil, fmt.Errorf("%s: malformed JSON webhook: %w", backendName, err)
		}
		params := url.Values{}
		for k, raw := range obj {
			var str string
			if json.Unmarshal(raw, &str) == nil {
				params.Set(k, str)
			} else if raw := strings.TrimSpace(string(raw)); raw != "null" && !strings.HasPrefix(raw, "{") && !strings.HasPrefix(raw, "[") {
				params.Set(k, raw) // numbers and booleans as written
			}
		}
		return params, nil
	}
	params, err := url.ParseQuery(string(r.Body))
	if err != nil {
		return nil, fmt.Errorf("%s: malformed form webhook: %w", backendName, err)
	}
	return params, nil
}

// receiptStatus maps a delivery receipt's status to herald's; buffered and
// unknown are not reported (a final receipt follows or never comes).
var receiptStatus = map[string]string{
	"delivered": "delivered",
	"accepted":  "sent", // accepted by the carrier
	"expired":   "undelivered",
	"failed":    "failed",
	"rejected":  "failed",
}

// parse turns verified parameters into events. A request with a status is a
// delivery receipt; one without is an inbound SMS. Parts of a concatenated
// inbound SMS (concat=true) arrive as separate webhooks and are reported one
// by one, each with its own messageId.
func parse(p url.Values) ([]channels.Inbound, error) {
	id := p.Get("messageId")
	if id == "" {
		return nil, fmt.Errorf("%s: webhook without messageId", backendName)
	}
	at := messageTime(p.Get("message-timestamp"))
	if status := p.Get("status"); status != "" {
		mapped, ok := receiptStatus[status]
		if !ok {
			return nil, nil
		}
		in := channels.Inbound{
			Kind:       channels.InboundStatus,
			Time:       at,
			From:       plus(p.Get("msisdn")), // the customer the SMS went to
			To:         plus(p.Get("to")),
			ProviderID: id + "/" + status, // one event per status of a part
			StatusFor:  id,
			Status:     mapped,
		}
		if code := p.Get("err-code"); code != "" && code != "0" {
			in.Error = code
		}
		return []channels.Inbound{in}, nil
	}
	return []channels.Inbound{{
		Kind:       channels.InboundReply,
		Time:       at,
		From:       plus(p.Get("msisdn")),
		To:         plus(p.Get("to")),
		Text:       p.Get("text"),
		ProviderID: id,
	}}, nil
}

// plus turns Vonage's digits-only numbers back into E.164; an alphanumeric
// sender ID stays as it is.
func plus(addr string) string {
	if isDigits(addr) {
		return "+" + addr
	}
	return addr
}

// messageTime reads message-timestamp ("2020-01-01 12:00:00", UTC); the
// zero time when absent or unreadable.
func messageTime(v string) time.Time {
	t, err := time.ParseInLocation(time.DateTime, v, time.UTC)
	if err != nil {
		return time.Time{}
	}
	return t
}
