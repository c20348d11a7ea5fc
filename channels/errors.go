package channels

import (
	"context"
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

// SendError is an error with its retry class.
type SendError struct {
	Err        error
	Permanent  bool          // retrying the same message to the same address will not help
	RetryAfter time.Duration // how long the provider asked us to wait, 0 if it did not say
}

func (e *SendError) Error() string { return e.Err.Error() }
func (e *SendError) Unwrap() error { return e.Err }

// Permanent marks err as a failure that retrying will not fix: an invalid
// number, a user not on WhatsApp, an SMTP 5xx, an HTTP 4xx other than 429.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &SendError{Err: err, Permanent: true}
}

// Temporary marks err as a failure worth retrying (network errors, SMTP 4xx,
// HTTP 429 and 5xx), optionally after the delay the provider asked for.
func Temporary(err error, retryAfter time.Duration) error {
	if err == nil {
		return nil
	}
	return &SendError{Err: err, RetryAfter: retryAfter}
}

// IsPermanent reports whether err was marked Permanent. Unclassified errors
// count as temporary, except context cancellation, which is neither and is
// reported by IsCanceled.
func IsPermanent(err error) bool {
	var se *SendError
	return errors.As(err, &se) && se.Permanent
}

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

// ClassifyHTTP classifies a provider's HTTP status the way every backend
// should: 2xx is success (nil), 429 and 5xx are temporary (honouring a
// Retry-After header), every other status is permanent. detail is the
// provider's own error text or code, put in the message.
func ClassifyHTTP(channel string, resp *http.Response, detail string) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	msg := fmt.Sprintf("%s: HTTP %d", channel, resp.StatusCode)
	if detail = strings.TrimSpace(detail); detail != "" {
		msg += ": " + detail
	}
	err := errors.New(msg)
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
		return Temporary(err, ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()))
	}
	return Permanent(err)
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
