package channels

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ErrBadSignature is wrapped by InboundParser errors when a webhook's
// signature is wrong or missing.
var ErrBadSignature = errors.New("bad or missing webhook signature")

// ErrNoSecret is wrapped (together with ErrBadSignature) by InboundParser
// errors when the channel has no key to verify webhooks with: `replies
// serve` asks every parser with an empty request and refuses to start an
// endpoint whose answer wraps it.
var ErrNoSecret = errors.New("the webhook secret is not configured")

// Class is what a failed provider call means for the message (SPEC 3,
// "Sending, exactly once"). Every backend's error carries one; the send loop
// and the retry decorator act on it and on nothing else.
type Class int

const (
	// Temporary: provably not accepted (no connection, the request was not
	// fully written, HTTP 429 or 503, an SMTP 4xx reply). Retried with
	// backoff; after the last retry the message fails and may fall back.
	Temporary Class = iota + 1
	// Permanent: refused for this recipient (an HTTP 4xx about the message
	// or address, an SMTP 5xx reply). Not retried; the next fallback is tried.
	Permanent
	// Unknown: the request was written but its answer was lost (timeout,
	// reset or EOF after writing, HTTP 500/502/504, an SMTP connection lost
	// after the final dot, a call cut off by the shutdown grace). The
	// provider may have the message: it is journalled in doubt and never
	// retried blindly, unless the provider takes an idempotency key.
	Unknown
	// Channel: the channel is unusable as configured (authentication
	// refused, TLS verification failed, the account is refused). Nothing
	// will work until a person fixes the configuration: the run stops the
	// channel and leaves its recipients unsent for a plain rerun.
	Channel
)

func (c Class) String() string {
	switch c {
	case Temporary:
		return "temporary"
	case Permanent:
		return "permanent"
	case Unknown:
		return "unknown"
	case Channel:
		return "channel"
	}
	return "unclassified"
}

// SendError is an error with its class.
type SendError struct {
	Err        error
	Class      Class
	RetryAfter time.Duration // how long the provider asked us to wait, 0 if it did not say
	// Hint tells the operator what to fix, for Channel errors
	// ("check the user and password", "set ca_file").
	Hint string
	// OptOut says the provider refused because the recipient opted out or
	// blocked the sender (Twilio 21610, Telegram "bot was blocked by the
	// user"): the send loop adds a suppression with source=provider.
	OptOut bool
}

func (e *SendError) Error() string { return e.Err.Error() }
func (e *SendError) Unwrap() error { return e.Err }

// PermanentError marks err as refused for this recipient: an invalid
// number, a user not on WhatsApp, an SMTP 5xx, an HTTP 4xx other than 429.
func PermanentError(err error) error {
	if err == nil {
		return nil
	}
	return &SendError{Err: err, Class: Permanent}
}

// ProviderOptOutError marks err as a Permanent refusal because the
// provider says this recipient opted out of, or blocked, this sender.
func ProviderOptOutError(err error) error {
	if err == nil {
		return nil
	}
	return &SendError{Err: err, Class: Permanent, OptOut: true}
}

// IsProviderOptOut reports whether the provider refused err's message because
// the recipient opted out or blocked the sender.
func IsProviderOptOut(err error) bool {
	var se *SendError
	return errors.As(err, &se) && se.OptOut
}

// TemporaryError marks err as provably not accepted and worth retrying,
// optionally after the delay the provider asked for.
func TemporaryError(err error, retryAfter time.Duration) error {
	if err == nil {
		return nil
	}
	return &SendError{Err: err, Class: Temporary, RetryAfter: retryAfter}
}

// UnknownError marks err as a call whose request left but whose answer was
// lost: the provider may have accepted the message.
func UnknownError(err error) error {
	if err == nil {
		return nil
	}
	return &SendError{Err: err, Class: Unknown}
}

// ChannelError marks err as a configuration problem of the whole channel,
// with a hint for the operator.
func ChannelError(err error, hint string) error {
	if err == nil {
		return nil
	}
	return &SendError{Err: err, Class: Channel, Hint: hint}
}

// ClassOf returns the class of a send error. An error a backend did not
// classify is Unknown: herald cannot prove the message was not accepted, so
// it does not resend it blindly. A cancelled context with no class is
// Unknown too (a call cut off by the shutdown grace may have been written);
// the send loop never starts a call after cancellation.
func ClassOf(err error) Class {
	if err == nil {
		return 0
	}
	var se *SendError
	if errors.As(err, &se) {
		return se.Class
	}
	return Unknown
}

// IsPermanent reports whether err is a Permanent failure.
func IsPermanent(err error) bool { return ClassOf(err) == Permanent }

// IsCanceled reports whether err comes from a cancelled or expired context.
func IsCanceled(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// RetryAfter returns the delay the provider asked for, or 0.
func RetryAfter(err error) time.Duration {
	var se *SendError
	if errors.As(err, &se) {
		return se.RetryAfter
	}
	return 0
}

// HintOf returns the operator hint of a Channel error, or "".
func HintOf(err error) string {
	var se *SendError
	if errors.As(err, &se) {
		return se.Hint
	}
	return ""
}

// Hints shared by the classifiers.
const (
	HintCredentials = "check the credentials in herald.toml and the environment variables they reference"
	HintTLS         = "the server's certificate is not trusted: set ca_file to the PEM of the CA that signed it (or SSL_CERT_FILE for every channel)"
)

// ClassifyHTTP classifies a provider's HTTP status the way every backend
// does, after the backend has looked at its own error codes: 2xx is success
// (nil); 401 and 403 mean the account or credentials are refused (Channel);
// 429 and 503 are Temporary (honouring Retry-After); 500, 502, 504 and any
// other 5xx are Unknown (the provider may have stored the message before
// failing); every other status is Permanent. detail is the provider's own
// error text or code, put in the message.
func ClassifyHTTP(channel string, resp *http.Response, detail string) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	msg := fmt.Sprintf("%s: HTTP %d", channel, resp.StatusCode)
	if detail = strings.TrimSpace(detail); detail != "" {
		msg += ": " + detail
	}
	return ClassifyStatus(resp, errors.New(msg))
}

// ClassifyStatus gives err the class of resp's HTTP status, as ClassifyHTTP
// does, for a backend that has already put its provider's code and text in
// err and found no code of its own that decides the class.
func ClassifyStatus(resp *http.Response, err error) error {
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return ChannelError(err, HintCredentials)
	case code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable:
		return TemporaryError(err, ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()))
	case code >= 500:
		return UnknownError(err)
	}
	return PermanentError(err)
}

// IsTLSVerification reports whether err is a certificate verification
// failure: retrying cannot fix it, only configuration can.
func IsTLSVerification(err error) bool {
	var (
		ua  x509.UnknownAuthorityError
		ci  x509.CertificateInvalidError
		he  x509.HostnameError
		cve *tls.CertificateVerificationError
	)
	return errors.As(err, &ua) || errors.As(err, &ci) || errors.As(err, &he) || errors.As(err, &cve)
}

// ParseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
