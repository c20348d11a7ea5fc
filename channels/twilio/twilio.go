// Package twilio sends SMS and WhatsApp messages through Twilio's
// Programmable Messaging REST API and verifies and parses Twilio's inbound
// webhooks (replies and status callbacks).
//
// Two backends share the code: "twilio" (SMS) and "twilio-whatsapp", which is
// the same API with the whatsapp: prefix on To and From. Messages are sent as
// form-encoded POSTs with HTTP Basic auth (account SID and auth token), as
// Twilio's API requires; a JSON body would silently arrive as "no
// parameters".
package twilio

import (
	"crypto/hmac"
	"crypto/sha1"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"herald/channels"
)

// Backend is the Twilio SMS backend (backend = "twilio").
var Backend = channels.Backend{
	Name:    smsName,
	Kind:    channels.KindSMS,
	New:     func(s channels.Settings) (channels.Sender, error) { return newSender(s, false) },
	Webhook: &channels.Webhook{Route: smsName, SecretOption: "auth_token", SignsURL: true},
}

// WhatsAppBackend is Twilio's WhatsApp sender (backend = "twilio-whatsapp"):
// the same API, with "whatsapp:" before the numbers.
var WhatsAppBackend = channels.Backend{
	Name:    whatsappName,
	Kind:    channels.KindWhatsApp,
	New:     func(s channels.Settings) (channels.Sender, error) { return newSender(s, true) },
	Webhook: &channels.Webhook{Route: whatsappName, SecretOption: "auth_token", SignsURL: true},
}

const (
	smsName      = "twilio"
	whatsappName = "twilio-whatsapp"
)

// DefaultAPI is Twilio's REST API; Settings.APIURL replaces it.
const DefaultAPI = "https://api.twilio.com"

// MaxBody is the longest Body Twilio accepts, in characters (error 21617).
const MaxBody = 1600

// whatsappPrefix marks a WhatsApp address in Twilio's To and From.
const whatsappPrefix = "whatsapp:"

var (
	accountSIDShape = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)
	serviceSIDShape = regexp.MustCompile(`^MG[0-9a-fA-F]{32}$`)
)

// options are the backend's own keys in [channels.<name>].
type options struct {
	AccountSID          channels.Setting `toml:"account_sid"`
	AuthToken           channels.Secret  `toml:"auth_token"`
	From                channels.Setting `toml:"from"`
	MessagingServiceSID channels.Setting `toml:"messaging_service_sid"`
	// StatusCallback asks Twilio to report delivery to
	// public_url/webhooks/<channel>; it defaults to true when public_url is
	// set, since without it a 201 only means "queued".
	StatusCallback *bool `toml:"status_callback"`
}

type sender struct {
	name        string // backend name, the prefix of every error
	channel     string
	whatsapp    bool
	accountSID  string
	token       channels.Secret
	from        string // Twilio's From, prefixed for WhatsApp; empty with a service
	service     string // MessagingServiceSid
	callback    string // StatusCallback URL, empty for none
	endpoint    string // the Messages.json URL
	client      *http.Client
	maxSegments int

	scratch sync.Pool // of *verifyScratch, keyed with token
	lastURL atomic.Pointer[parsedURL]
}

var (
	_ channels.Sender        = (*sender)(nil)
	_ channels.Checker       = (*sender)(nil)
	_ channels.Encoder       = (*sender)(nil)
	_ channels.InboundParser = (*sender)(nil)
)

func newSender(s channels.Settings, whatsapp bool) (*sender, error) {
	name := smsName
	if whatsapp {
		name = whatsappName
	}
	var o options
	if s.Decode != nil {
		if err := s.Decode(&o); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	sid := strings.TrimSpace(string(o.AccountSID))
	from := strings.TrimSpace(string(o.From))
	service := strings.TrimSpace(string(o.MessagingServiceSID))
	var errs []error
	switch {
	case sid == "":
		errs = append(errs, errors.New("account_sid is required"))
	case !accountSIDShape.MatchString(sid):
		errs = append(errs, fmt.Errorf("account_sid %q is not AC followed by 32 hex digits", sid))
	}
	if o.AuthToken == "" {
		errs = append(errs, errors.New("auth_token is required"))
	}
	switch {
	case from == "" && service == "":
		errs = append(errs, errors.New("from or messaging_service_sid is required"))
	case from != "" && service != "":
		errs = append(errs, errors.New("set from or messaging_service_sid, not both"))
	case service != "" && !serviceSIDShape.MatchString(service):
		errs = append(errs, fmt.Errorf("messaging_service_sid %q is not MG followed by 32 hex digits", service))
	}
	if whatsapp && from != "" && !strings.HasPrefix(from, whatsappPrefix) {
		from = whatsappPrefix + from
	}
	callback := o.StatusCallback == nil && s.PublicURL != "" || o.StatusCallback != nil && *o.StatusCallback
	if callback && s.PublicURL == "" {
		errs = append(errs, errors.New("status_callback = true needs public_url in herald.toml"))
	}
	base, err := s.BaseURL(DefaultAPI)
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s: %w", name, errors.Join(errs...))
	}
	snd := &sender{
		name:        name,
		channel:     s.Channel,
		whatsapp:    whatsapp,
		accountSID:  sid,
		token:       o.AuthToken,
		from:        from,
		service:     service,
		endpoint:    base + "/2010-04-01/Accounts/" + sid + "/Messages.json",
		client:      s.Client(),
		maxSegments: s.MaxSegments,
	}
	snd.scratch.New = func() any {
		return &verifyScratch{mac: hmac.New(sha1.New, []byte(snd.token.Reveal()))}
	}
	if callback {
		snd.callback = strings.TrimRight(s.PublicURL, "/") + "/webhooks/" + url.PathEscape(s.Channel)
	}
	return snd, nil
}

// String and GoString keep the auth token out of anything that prints a
// sender: fmt does not call Secret.String on an unexported field.
func (s *sender) String() string   { return s.name + " sender for channel " + strconv.Quote(s.channel) }
func (s *sender) GoString() string { return s.String() }

// address puts the whatsapp: prefix on a number for the WhatsApp backend.
func (s *sender) address(number string) string {
	if s.whatsapp && !strings.HasPrefix(number, whatsappPrefix) {
		return whatsappPrefix + number
	}
	return number
}

// form is the request body for m, in Twilio's parameter names.
func (s *sender) form(m channels.Message) url.Values {
	f := url.Values{}
	f.Set("To", s.address(m.To))
	if s.service != "" {
		f.Set("MessagingServiceSid", s.service)
	} else {
		f.Set("From", s.from)
	}
	f.Set("Body", m.Text)
	if s.callback != "" {
		f.Set("StatusCallback", s.callback)
	}
	return f
}
