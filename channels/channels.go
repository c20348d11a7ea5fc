// Package channels defines what herald sends and the contract every provider
// backend implements.
//
// A backend (SMTP, Twilio, Vonage, WhatsApp, Telegram, LINE, a generic
// webhook, the embedded outbox) lives in its own folder below this one and is
// described by a Backend value: its name in herald.toml, the kind of channel it
// behaves as, and a constructor that validates its options without touching the
// network. The core interface is one method, Sender.Send; the extras
// (Checker, Encoder, InboundParser, ChallengeResponder) are optional and found
// by type assertion.
//
// Cross-cutting behaviour (retries with backoff, the rate limit, the
// concurrency cap, dry runs) is added by decorators in this package, so a
// backend only has to speak its provider's protocol and classify its errors
// into the four classes of errors.go.
package channels

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// Message is one rendered message for one recipient on one channel.
type Message struct {
	Campaign  string // campaign name, the journal key
	Recipient string // the audience id
	Channel   string // the configured channel name ("sms", "vsms", "email")
	Locale    string // the template locale taken ("pt-BR")

	To   string // e-mail address, E.164 number, chat id or LINE user id
	Name string // display name, for the e-mail To header

	Subject string // e-mail only
	Text    string // plain text body (SMS, chat, e-mail text part)
	HTML    string // e-mail HTML part, optional

	Template *ProviderTemplate // WhatsApp template message, when the locale file has one

	// ParseMode is the markup Text is written in, for Telegram: "HTML",
	// "MarkdownV2" or "" for plain text. It comes from the template section,
	// which escapes customer data for that mode.
	ParseMode string

	Headers map[string]string // extra e-mail headers

	// IdempotencyKey is derived from campaign and recipient (see
	// IdempotencyKey) and is the same on every retry of this message.
	IdempotencyKey string
	// UnsubscribeURL is the signed one-click unsubscribe link for this
	// recipient and channel; empty when public_url is not configured.
	UnsubscribeURL string
	// ReplyToken is a short lower-case token that identifies campaign and
	// recipient; e-mail puts it in the plus-address of Reply-To and in the
	// Message-ID so replies can be matched.
	ReplyToken string
}

// ProviderTemplate is a pre-approved provider template (WhatsApp).
type ProviderTemplate struct {
	Name     string   // the template's name at the provider
	Language string   // the provider's language code ("pt_BR")
	Params   []string // positional body parameters, already rendered
}

// Receipt is what a provider said when it accepted a message.
type Receipt struct {
	ProviderID string // the provider's message id (Twilio SID, wamid, ...)
	MessageID  string // the RFC 5322 Message-ID, for e-mail
}

// Sender sends one message. Its error carries one of the classes of
// errors.go (Temporary, Permanent, Unknown, Channel); an unclassified error
// counts as Unknown.
type Sender interface {
	Send(ctx context.Context, m Message) (Receipt, error)
}

// Reconciler is implemented by backends whose provider can tell whether it
// already accepted a message (Twilio's message list). `send
// --retry-in-doubt` asks it before resending a message in doubt: found is
// true, with the provider's receipt, when a message to m.To with m's content
// was accepted at or after since (the time of the attempt in doubt).
type Reconciler interface {
	Reconcile(ctx context.Context, m Message, since time.Time) (rc Receipt, found bool, err error)
}

// Closer is implemented by senders that hold connections (SMTP).
type Closer interface {
	Close() error
}

// Problem is something wrong with a message found before sending it.
type Problem struct {
	Severity string // "error" or "warning"
	Message  string
}

// Checker is implemented by backends that can tell, without the network,
// whether a rendered message will be refused (SMS segments, parameter counts).
type Checker interface {
	Check(m Message) []Problem
}

// QuickChecker is implemented by backends whose Check does costly work
// that Send repeats anyway (composing an e-mail). The send loop runs
// QuickCheck, the rest of the rules, before every provider call; `herald
// check` runs the whole Check.
type QuickChecker interface {
	QuickCheck(m Message) []Problem
}

// Encoder is implemented by backends that can produce the exact bytes they
// would send for a message: the RFC 5322 message for e-mail, the request body
// for HTTP APIs. The outbox backend and `herald preview --out` use it.
// ext is the file extension without the dot ("eml", "json").
type Encoder interface {
	Encode(m Message) (body []byte, ext string, err error)
}

// InboundRequest is a webhook request as received by `herald replies serve`.
type InboundRequest struct {
	// URL is the public URL the provider called: public_url + path + query.
	// Signatures that cover the URL (Twilio) are checked against it, never
	// against one built from the Host header.
	URL    string
	Method string
	Header http.Header
	Query  url.Values
	Body   []byte // raw body, at most 1 MiB
}

// InboundKind says what an inbound event is.
type InboundKind string

const (
	InboundReply  InboundKind = "reply"  // a message from the customer
	InboundStatus InboundKind = "status" // a delivery status of a message herald sent
	InboundOptOut InboundKind = "optout" // the platform says: stop (LINE unfollow)
)

// Inbound is one event parsed from a verified webhook request.
type Inbound struct {
	Kind InboundKind
	Time time.Time

	From string // the customer's address on this channel, as herald stores it (E.164 with +, chat id, LINE user id)
	To   string // the business address that received it
	Text string // the message text (replies)

	ProviderID string // the provider's id of this event or inbound message, for de-duplication
	InReplyTo  string // the provider id of the outbound message it quotes, when the provider says

	Status    string // for InboundStatus: "delivered", "undelivered", "failed", "read", "sent"
	StatusFor string // for InboundStatus: the provider id of the outbound message
	Error     string // provider error code/description on failure
}

// InboundParser is implemented by backends that receive webhooks. It must
// verify the provider's signature before parsing and return an error wrapping
// ErrBadSignature when the signature is wrong or missing.
type InboundParser interface {
	ParseInbound(r InboundRequest) ([]Inbound, error)
}

// ChallengeResponder is implemented by backends whose webhook registration
// sends a GET challenge (WhatsApp's hub.challenge). ok is false when the
// request must be refused.
type ChallengeResponder interface {
	Challenge(query url.Values) (body string, ok bool)
}
