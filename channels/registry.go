package channels

import (
	"fmt"
	"net/http"
	"sort"
)

// Kind is what a channel behaves as: it decides the audience column that
// holds the address and the template section used.
type Kind string

const (
	KindEmail    Kind = "email"
	KindSMS      Kind = "sms"
	KindWhatsApp Kind = "whatsapp"
	KindTelegram Kind = "telegram"
	KindLine     Kind = "line"
	KindWebhook  Kind = "webhook"
)

// Kinds lists the kinds a channel named like one of them gets without
// configuration (SPEC 1.1: a channel named "sms" with no [channels.sms] uses
// the outbox and behaves as sms).
var Kinds = []Kind{KindEmail, KindSMS, KindWhatsApp, KindTelegram, KindLine}

// AddressColumns returns the audience columns that hold a recipient's address
// for a kind, in order of preference.
func (k Kind) AddressColumns() []string {
	switch k {
	case KindEmail:
		return []string{"email"}
	case KindSMS:
		return []string{"phone"}
	case KindWhatsApp:
		return []string{"whatsapp", "phone"}
	case KindTelegram:
		return []string{"telegram"}
	case KindLine:
		return []string{"line"}
	}
	return nil
}

// Settings is what a backend's constructor receives.
type Settings struct {
	// Channel is the configured channel name ("sms", "vsms").
	Channel string
	// Decode strictly decodes the backend's own keys of [channels.<name>]
	// into v; the common keys (backend, rate, concurrency, api_url, address,
	// price, max_segments) are read by herald itself and are not seen here.
	Decode func(v any) error
	// APIURL replaces the scheme, host and port of the provider's API when
	// set ("http://127.0.0.1:9000"); the backend appends its own paths.
	APIURL string
	// PublicURL is herald.toml's public_url (unsubscribe links, callbacks).
	PublicURL string
	// Concurrency is the number of parallel sends the channel allows; a
	// backend that pools connections (SMTP) keeps this many open.
	Concurrency int
	// MaxSegments is the SMS segment limit for Checker, 0 for none.
	MaxSegments int
	// HTTP is the client to use for provider calls.
	HTTP *http.Client
	// TLS is the channel's ca_file and tls_insecure_skip_verify, for the
	// HTTP client Client builds and for backends that dial themselves.
	TLS TLSOptions
	// StateDir is herald's state directory, for backends that write files
	// (the outbox).
	StateDir string
	// Kind is the kind the channel behaves as; only the outbox, which can
	// stand in for any kind, needs it.
	Kind Kind
}

// Backend describes one backend.
type Backend struct {
	Name string // the value of backend = "..." in herald.toml
	Kind Kind
	// New validates the options and builds the sender. It must not use the
	// network: it runs for `herald check` too.
	New func(s Settings) (Sender, error)
	// Webhook describes the webhooks the backend receives (replies,
	// statuses); nil when it receives none. Its senders then implement
	// InboundParser, and `replies serve` needs nothing else from the backend.
	Webhook *Webhook
}

// Webhook is what `replies serve` needs to know about a backend's inbound
// endpoint besides its InboundParser.
type Webhook struct {
	// Route is the path below /webhooks/ that reaches the only channel of
	// this backend ("twilio" for /webhooks/twilio); /webhooks/<channel>
	// always works too.
	Route string
	// SecretOption names the option of [channels.X] holding the key that
	// verifies the provider's signature, for the refusal to start without
	// it. The parser reports a missing key by wrapping ErrNoSecret.
	SecretOption string
	// SignsURL is true when the signature covers the URL the provider
	// called, which only public_url can tell (Twilio).
	SignsURL bool
}

// on_unknown values (SPEC 3): what a channel does with an Unknown outcome.
const (
	OnUnknownInDoubt = "in-doubt" // journal it in doubt; resend only with --retry-in-doubt (the default)
	OnUnknownRetry   = "retry"    // retry it like a temporary failure: at-least-once
)

// RetryUnknown reads a channel's on_unknown and says whether its Unknown
// outcomes may be retried: always for a backend whose provider de-duplicates
// by an idempotency key (Idempotent), else only with on_unknown = "retry".
func RetryUnknown(s Sender, onUnknown string) (bool, error) {
	switch onUnknown {
	case "", OnUnknownInDoubt, OnUnknownRetry:
	default:
		return false, fmt.Errorf("on_unknown %q must be %q or %q", onUnknown, OnUnknownInDoubt, OnUnknownRetry)
	}
	if id, ok := Unwrap(s).(Idempotent); ok && id.Idempotent() {
		return true, nil
	}
	return onUnknown == OnUnknownRetry, nil
}

// Registry holds the known backends by name.
type Registry struct {
	backends map[string]Backend
}

// NewRegistry returns a registry holding the given backends; a name given
// twice is a programming error and panics.
func NewRegistry(backends ...Backend) *Registry {
	r := &Registry{backends: map[string]Backend{}}
	for _, b := range backends {
		if _, dup := r.backends[b.Name]; dup {
			panic("channels: backend registered twice: " + b.Name)
		}
		r.backends[b.Name] = b
	}
	return r
}

// Lookup returns the backend with that name.
func (r *Registry) Lookup(name string) (Backend, error) {
	b, ok := r.backends[name]
	if !ok {
		return Backend{}, fmt.Errorf("unknown backend %q (known: %v)", name, r.Names())
	}
	return b, nil
}

// Names lists the registered backend names, sorted.
func (r *Registry) Names() []string {
	names := make([]string, 0, len(r.backends))
	for n := range r.backends {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
