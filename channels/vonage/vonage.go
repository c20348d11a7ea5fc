// Package vonage sends SMS through Vonage's (Nexmo's) legacy SMS API and
// verifies and parses its webhooks: inbound SMS and delivery receipts.
//
// Three things about this API shape the code. Numbers go without the '+'
// ("E.164 without the plus"), and Vonage sends exactly what it is given.
// type=text carries only GSM-7: any other character needs type=unicode or it
// arrives garbled, so the type is chosen per message with package sms. And
// the API answers HTTP 200 even for refused messages: the verdict is the
// string status of each part in the JSON body.
//
// Inbound webhooks are verified with the signature secret (signed webhooks
// must be enabled in the Vonage dashboard). Without signature_secret,
// ParseInbound refuses every request with an error wrapping both
// channels.ErrNoSecret and channels.ErrBadSignature; a server started with --insecure can call
// ParseInboundUnverified instead, found by type assertion.
package vonage

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"herald/channels"
)

// Backend is the Vonage SMS backend (backend = "vonage").
var Backend = channels.Backend{
	Name:    backendName,
	Kind:    channels.KindSMS,
	New:     func(s channels.Settings) (channels.Sender, error) { return newSender(s) },
	Webhook: &channels.Webhook{Route: backendName, SecretOption: "signature_secret"},
}

const backendName = "vonage"

// DefaultAPI is Vonage's SMS API host; Settings.APIURL replaces it.
const DefaultAPI = "https://rest.nexmo.com"

// MaxAge is how old a signed webhook's timestamp may be (either way, for
// clock skew) before it is refused as a possible replay.
const MaxAge = 5 * time.Minute

// options are the backend's own keys in [channels.<name>], named as Vonage
// names them.
type options struct {
	APIKey          channels.Setting `toml:"api_key"`
	APISecret       channels.Secret  `toml:"api_secret"`
	From            channels.Setting `toml:"from"`
	SignatureSecret channels.Secret  `toml:"signature_secret"`
	SignatureMethod channels.Setting `toml:"signature_method"`
	// Callback asks for delivery receipts at public_url/webhooks/<channel>;
	// it defaults to true when public_url is set.
	Callback *bool `toml:"callback"`
}

type sender struct {
	channel     string
	apiKey      string
	apiSecret   channels.Secret
	from        string
	sigSecret   channels.Secret
	sigMethod   string
	callback    string
	endpoint    string
	client      *http.Client
	maxSegments int
	now         func() time.Time // the clock for webhook freshness; tests set it
}

var (
	_ channels.Sender        = (*sender)(nil)
	_ channels.Checker       = (*sender)(nil)
	_ channels.Encoder       = (*sender)(nil)
	_ channels.InboundParser = (*sender)(nil)
)

func newSender(s channels.Settings) (*sender, error) {
	var o options
	if s.Decode != nil {
		if err := s.Decode(&o); err != nil {
			return nil, fmt.Errorf("%s: %w", backendName, err)
		}
	}
	var errs []error
	key := strings.TrimSpace(string(o.APIKey))
	if key == "" {
		errs = append(errs, errors.New("api_key is required"))
	}
	if o.APISecret == "" {
		errs = append(errs, errors.New("api_secret is required"))
	}
	from := strings.TrimSpace(string(o.From))
	if from == "" {
		errs = append(errs, errors.New("from is required (a number or an alphanumeric sender ID)"))
	} else if digits, ok := strings.CutPrefix(from, "+"); ok && isDigits(digits) {
		from = digits // Vonage wants numbers without the '+'
	}
	method := strings.ToLower(strings.TrimSpace(string(o.SignatureMethod)))
	if method == "" {
		method = "md5hash"
	}
	if _, ok := hashes[method]; !ok && method != "md5hash" {
		errs = append(errs, fmt.Errorf("signature_method %q is not md5hash, md5, sha1, sha256 or sha512", string(o.SignatureMethod)))
	}
	if o.SignatureMethod != "" && o.SignatureSecret == "" {
		errs = append(errs, errors.New("signature_method is set but signature_secret is not"))
	}
	callback := o.Callback == nil && s.PublicURL != "" || o.Callback != nil && *o.Callback
	if callback && s.PublicURL == "" {
		errs = append(errs, errors.New("callback = true needs public_url in herald.toml"))
	}
	base, err := s.BaseURL(DefaultAPI)
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s: %w", backendName, errors.Join(errs...))
	}
	snd := &sender{
		channel:     s.Channel,
		apiKey:      key,
		apiSecret:   o.APISecret,
		from:        from,
		sigSecret:   o.SignatureSecret,
		sigMethod:   method,
		endpoint:    base + "/sms/json",
		client:      s.Client(),
		maxSegments: s.MaxSegments,
		now:         time.Now,
	}
	if callback {
		snd.callback = strings.TrimRight(s.PublicURL, "/") + "/webhooks/" + url.PathEscape(s.Channel)
	}
	return snd, nil
}

// String and GoString keep the secrets out of anything that prints a sender:
// fmt does not call Secret.String on an unexported field.
func (s *sender) String() string {
	return backendName + " sender for channel " + strconv.Quote(s.channel)
}
func (s *sender) GoString() string { return s.String() }

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
