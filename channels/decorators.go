package channels

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"golang.org/x/time/rate"
)

// RetryPolicy bounds the retries of temporary failures.
type RetryPolicy struct {
	Attempts int           // total tries including the first; 1 means no retry
	Base     time.Duration // first backoff
	Max      time.Duration // longest single wait
	// RetryUnknown also retries Unknown outcomes (the request left, the
	// answer was lost). Only safe when the provider de-duplicates by an
	// idempotency key the backend sends (see Idempotent), or when the
	// channel's on_unknown = "retry" asks for at-least-once.
	RetryUnknown bool
	// Sleep waits for d or until ctx ends; tests replace it.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Idempotent is implemented by backends whose provider de-duplicates
// retries by a key the backend derives from Message.IdempotencyKey (LINE's
// X-Line-Retry-Key; a webhook with idempotency_header). For them an Unknown
// outcome may be retried: the provider keeps one message.
type Idempotent interface {
	Idempotent() bool
}

// DefaultRetry is the policy every channel gets unless configured otherwise.
var DefaultRetry = RetryPolicy{Attempts: 5, Base: 500 * time.Millisecond, Max: 30 * time.Second}

// SleepContext waits for d or until ctx is done.
func SleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Backoff returns the wait before retry number n (1-based): exponential with
// full jitter, at least the provider's Retry-After, at most Max (Retry-After
// wins over Max: the provider knows best).
func (p RetryPolicy) Backoff(n int, retryAfter time.Duration) time.Duration {
	d := p.Base << (n - 1)
	if d <= 0 || d > p.Max {
		d = p.Max
	}
	// Full jitter: spread retries of many workers over the whole interval,
	// but never below half of it so the backoff still grows.
	d = d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
	if retryAfter > d {
		d = retryAfter
	}
	return d
}

// Attempt is reported to OnRetry before each retry.
type Attempt struct {
	Number int           // the try that failed, 1-based
	Err    error         // why it failed
	Wait   time.Duration // how long until the next try
}

type retrySender struct {
	next    Sender
	policy  RetryPolicy
	onRetry func(Message, Attempt)
}

// WithRetry retries Temporary failures (and Unknown ones when
// p.RetryUnknown) with exponential backoff and jitter, honouring the
// provider's Retry-After, until the policy's attempts run out, another class
// of failure comes back or the context ends. onRetry may be nil.
func WithRetry(next Sender, p RetryPolicy, onRetry func(Message, Attempt)) Sender {
	if p.Attempts < 1 {
		p.Attempts = 1
	}
	if p.Sleep == nil {
		p.Sleep = SleepContext
	}
	return &retrySender{next: next, policy: p, onRetry: onRetry}
}

func (r *retrySender) Send(ctx context.Context, m Message) (Receipt, error) {
	for n := 1; ; n++ {
		rc, err := r.next.Send(ctx, m)
		// An HTTP client timeout also reads as DeadlineExceeded: only the
		// caller's own context ending stops the retries.
		if err == nil || !r.retries(err) || ctx.Err() != nil || n >= r.policy.Attempts {
			return rc, err
		}
		wait := r.policy.Backoff(n, RetryAfter(err))
		if r.onRetry != nil {
			r.onRetry(m, Attempt{Number: n, Err: err, Wait: wait})
		}
		if serr := r.policy.Sleep(ctx, wait); serr != nil {
			return rc, errors.Join(err, serr)
		}
	}
}

func (r *retrySender) retries(err error) bool {
	switch ClassOf(err) {
	case Temporary:
		return true
	case Unknown:
		return r.policy.RetryUnknown
	}
	return false
}

func (r *retrySender) Close() error { return closeNext(r.next) }

type rateSender struct {
	next    Sender
	limiter *rate.Limiter
}

// WithRate limits sends to the limiter's token bucket; a nil limiter means
// no limit.
func WithRate(next Sender, limiter *rate.Limiter) Sender {
	if limiter == nil {
		return next
	}
	return &rateSender{next: next, limiter: limiter}
}

func (r *rateSender) Send(ctx context.Context, m Message) (Receipt, error) {
	if err := r.limiter.Wait(ctx); err != nil {
		return Receipt{}, err
	}
	return r.next.Send(ctx, m)
}

func (r *rateSender) Close() error { return closeNext(r.next) }

type concurrencySender struct {
	next  Sender
	slots chan struct{}
}

// WithConcurrency lets at most n sends run at once.
func WithConcurrency(next Sender, n int) Sender {
	if n < 1 {
		n = 1
	}
	return &concurrencySender{next: next, slots: make(chan struct{}, n)}
}

func (c *concurrencySender) Send(ctx context.Context, m Message) (Receipt, error) {
	select {
	case c.slots <- struct{}{}:
	case <-ctx.Done():
		return Receipt{}, ctx.Err()
	}
	defer func() { <-c.slots }()
	return c.next.Send(ctx, m)
}

func (c *concurrencySender) Close() error { return closeNext(c.next) }

type dryRunSender struct{ next Sender }

// WithDryRun contacts nothing: it runs the backend's own checks (Checker),
// refuses a message with an error-severity problem as Permanent, as the
// provider would, and otherwise reports it accepted with an empty receipt.
// `send --dry-run` puts it in place of the backend, under the same rate,
// retry and concurrency decorators.
func WithDryRun(next Sender) Sender { return &dryRunSender{next: next} }

func (d *dryRunSender) Send(ctx context.Context, m Message) (Receipt, error) {
	if err := ctx.Err(); err != nil {
		return Receipt{}, TemporaryError(err, 0)
	}
	if chk, ok := Unwrap(d.next).(Checker); ok {
		for _, p := range chk.Check(m) {
			if p.Severity == "error" {
				return Receipt{}, PermanentError(errors.New(p.Message))
			}
		}
	}
	return Receipt{}, nil
}

// Close closes the backend: a dry run never opened its connections, but a
// backend may hold other resources.
func (d *dryRunSender) Close() error { return closeNext(d.next) }

func closeNext(s Sender) error {
	if c, ok := s.(Closer); ok {
		return c.Close()
	}
	return nil
}

// Unwrap returns the backend sender beneath the decorators, so optional
// interfaces (Checker, Encoder, InboundParser) can be found.
func Unwrap(s Sender) Sender {
	for {
		switch d := s.(type) {
		case *retrySender:
			s = d.next
		case *rateSender:
			s = d.next
		case *concurrencySender:
			s = d.next
		case *dryRunSender:
			s = d.next
		default:
			return s
		}
	}
}

// ParseRate reads a rate like "50/s", "600/m", "10/1s" or "1/500ms" into a
// token-bucket limit and burst. An empty string means no limit.
func ParseRate(s string) (rate.Limit, int, error) {
	if s == "" {
		return rate.Inf, 0, nil
	}
	var n int
	var per string
	for i, c := range s {
		if c == '/' {
			var err error
			n, err = atoiStrict(s[:i])
			if err != nil || n <= 0 {
				return 0, 0, errors.New("rate " + quote(s) + ": want COUNT/PERIOD such as \"50/s\" or \"600/m\"")
			}
			per = s[i+1:]
			break
		}
	}
	if per == "" {
		return 0, 0, errors.New("rate " + quote(s) + ": want COUNT/PERIOD such as \"50/s\" or \"600/m\"")
	}
	var d time.Duration
	switch per {
	case "s":
		d = time.Second
	case "m":
		d = time.Minute
	case "h":
		d = time.Hour
	default:
		var err error
		d, err = time.ParseDuration(per)
		if err != nil || d <= 0 {
			return 0, 0, errors.New("rate " + quote(s) + ": period must be s, m, h or a duration such as 500ms")
		}
	}
	return rate.Limit(float64(n) / d.Seconds()), n, nil
}

func atoiStrict(s string) (int, error) {
	if s == "" {
		return 0, errors.New("empty")
	}
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, errors.New("not a number")
		}
		n = n*10 + int(c-'0')
		if n > 1e9 {
			return 0, errors.New("too large")
		}
	}
	return n, nil
}

func quote(s string) string { return "\"" + s + "\"" }
