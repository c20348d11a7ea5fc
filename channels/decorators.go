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

// Gate bounds a channel's provider calls. It hands out two kinds of pass:
//
//   - a journal pass (2 × concurrency of them), held from before the
//     journal's attempt line is written until the call's outcome is
//     durable, so a killed run leaves at most 2 × concurrency recipients of
//     the channel in doubt (SPEC 3), while the attempts of the next calls
//     are written, and share an fsync, as the current calls run;
//   - a call slot (concurrency of them), held for the provider call itself,
//     taken at the channel's rate.
type Gate struct {
	passes  chan struct{}
	slots   chan struct{}
	limiter *rate.Limiter // nil: no rate limit
}

// NewGate admits n calls at once (at least 1) at limiter's rate (nil: no
// limit), with 2n journal passes.
func NewGate(n int, limiter *rate.Limiter) *Gate {
	n = max(n, 1)
	return &Gate{passes: make(chan struct{}, 2*n), slots: make(chan struct{}, n), limiter: limiter}
}

// Enter waits for a journal pass, or until ctx ends. leave gives it back.
func (g *Gate) Enter(ctx context.Context) (leave func(), err error) {
	select {
	case g.passes <- struct{}{}:
		return func() { <-g.passes }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Acquire waits for a call slot, then for a token of the rate limit, or
// until ctx ends. release gives the slot back.
func (g *Gate) Acquire(ctx context.Context) (release func(), err error) {
	select {
	case g.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	release = func() { <-g.slots }
	if g.limiter != nil {
		if err := g.limiter.Wait(ctx); err != nil {
			release()
			return nil, err
		}
	}
	return release, nil
}

// Limit is the rate in messages per second (rate.Inf when unlimited).
func (g *Gate) Limit() rate.Limit {
	if g.limiter == nil {
		return rate.Inf
	}
	return g.limiter.Limit()
}

// dryRunSender does everything but contact the provider: the backend's own
// checks run, and a message that would be refused fails permanently.
type dryRunSender struct{ next Sender }

// WithDryRun contacts nothing: it runs the backend's own checks (Checker),
// refuses a message with an error-severity problem as Permanent, as the
// provider would, and otherwise reports it accepted with an empty receipt.
// `send --dry-run` puts it in place of the backend, under the retry
// decorator.
func WithDryRun(next Sender) Sender { return &dryRunSender{next: next} }

func (d *dryRunSender) Send(ctx context.Context, m Message) (Receipt, error) {
	if err := ctx.Err(); err != nil {
		return Receipt{}, err
	}
	if p := fullCheckError(d.next, m); p != nil {
		return Receipt{}, p
	}
	return Receipt{}, nil
}

// CheckError runs the rules `herald check` enforces on a message, before
// a provider call, and returns the first error-severity problem as a
// Permanent error: a message the provider would refuse is never sent
// (SPEC 4: send applies check's rules). It runs a backend's QuickCheck
// where it has one (Send repeats the costly rest), else its Check.
func CheckError(s Sender, m Message) error {
	switch chk := Unwrap(s).(type) {
	case QuickChecker:
		return firstError(m, chk.QuickCheck(m))
	case Checker:
		return firstError(m, chk.Check(m))
	}
	return nil
}

// fullCheckError is CheckError with the whole Check, for a dry run, which
// never reaches the Send that would do the rest.
func fullCheckError(s Sender, m Message) error {
	if chk, ok := Unwrap(s).(Checker); ok {
		return firstError(m, chk.Check(m))
	}
	return nil
}

func firstError(m Message, problems []Problem) error {
	for _, p := range problems {
		if p.Severity == "error" {
			return PermanentError(&CheckFailure{Channel: m.Channel, Problem: p.Message})
		}
	}
	return nil
}

// CheckFailure is a message refused before sending by the checks `herald
// check` runs.
type CheckFailure struct {
	Channel, Problem string
}

func (e *CheckFailure) Error() string { return e.Problem }

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
