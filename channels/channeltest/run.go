package channeltest

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"herald/channels"
)

// Fake is what Run needs of a provider fake; every fake in this package
// implements it.
type Fake interface {
	URL() string
	Requests() []Request
	Count() int
	Accepted() int
	FailAddress(addr string)
	Throttle(k, retryAfter int)
	Unavailable(k int)
	FailAfterStoring(k, status int)
	HangUp(k int)
	RefuseAccount(k int)
	SetDelay(d time.Duration)
}

var (
	_ Fake = (*Twilio)(nil)
	_ Fake = (*Vonage)(nil)
	_ Fake = (*WhatsApp)(nil)
	_ Fake = (*Telegram)(nil)
	_ Fake = (*LINE)(nil)
	_ Fake = (*Webhook)(nil)
)

// Subject is an HTTP backend configured for its provider's fake.
type Subject struct {
	Backend channels.Backend
	// Options is the backend's part of [channels.<name>] in TOML, with
	// the credentials the fake accepts; Run points api_url at the fake.
	Options string
	// WrongCredentials is Options with a secret the fake refuses.
	WrongCredentials string
	// Message is a message the fake accepts.
	Message channels.Message
	// Secrets must never show in an error or a printed sender.
	Secrets []string
	// RetryAfter is true when the provider says how long to wait when it
	// throttles (Vonage's status 1 does not).
	RetryAfter bool
	// CheckRequest asserts the exact request sent for Message, as
	// PROVIDERS.md describes the real API; nil for none.
	CheckRequest func(t *testing.T, r Request)
}

// Run is the conformance suite every HTTP backend passes against the fake
// of its provider (SPEC 3, "Sending, exactly once"): a clean send; a
// throttle retried after the provider's Retry-After; a 503 retried; a 500,
// 502 or 504 and a connection closed without an answer after the provider
// stored the message, which are Unknown and never sent a second time by the
// retry decorator (unless the backend is Idempotent, when the provider
// keeps one message); refused credentials and a refused account (Channel,
// not retried); a refused recipient (Permanent, not retried); a provider
// that does not answer in time (Unknown); a refused connection (Temporary);
// an untrusted certificate (Channel, naming ca_file); cancellation before
// and during the call. No error ever shows a secret.
func Run(t *testing.T, sub Subject, newFake func(testing.TB) Fake) {
	r := &runner{sub: sub, newFake: newFake}
	t.Run("success", r.success)
	t.Run("throttled", r.throttled)
	t.Run("unavailable", r.unavailable)
	for _, status := range []int{500, 502, 504} {
		t.Run(fmt.Sprintf("stored then %d", status), func(t *testing.T) {
			r.lostAnswer(t, func(f Fake) { f.FailAfterStoring(1, status) })
		})
	}
	t.Run("stored then hung up", func(t *testing.T) { r.lostAnswer(t, func(f Fake) { f.HangUp(1) }) })
	t.Run("wrong credentials", r.wrongCredentials)
	t.Run("account refused", r.accountRefused)
	t.Run("recipient refused", r.recipientRefused)
	t.Run("timeout", r.timeout)
	t.Run("connection refused", r.connectionRefused)
	t.Run("untrusted certificate", r.untrustedCertificate)
	t.Run("cancelled before the call", r.cancelledBefore)
	t.Run("cancelled during the call", r.cancelledDuring)
}

type runner struct {
	sub     Subject
	newFake func(testing.TB) Fake
}

// build makes the backend's sender for apiURL from options; client nil
// means the backend's own HTTP client.
func (r *runner) build(t *testing.T, apiURL, options string, client *http.Client) channels.Sender {
	t.Helper()
	s := Settings("conformance", options, apiURL)
	s.Concurrency, s.Kind, s.HTTP = 4, r.sub.Backend.Kind, client
	snd, err := r.sub.Backend.New(s)
	if err != nil {
		t.Fatalf("%s: New: %v", r.sub.Backend.Name, err)
	}
	r.noSecret(t, "the printed sender", fmt.Sprintf("%v %+v %#v %s", snd, snd, snd, snd))
	return snd
}

// retrying wraps s in the retry decorator as the registry does (Unknown is
// retried only for an Idempotent backend), recording waits instead of
// sleeping and checking every failed try's class.
func (r *runner) retrying(t *testing.T, s channels.Sender, waits *[]time.Duration, tries *[]error) channels.Sender {
	retryUnknown, err := channels.RetryUnknown(s, "")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	p := channels.RetryPolicy{Attempts: 4, Base: 10 * time.Millisecond, Max: 50 * time.Millisecond, RetryUnknown: retryUnknown,
		Sleep: func(ctx context.Context, d time.Duration) error {
			mu.Lock()
			*waits = append(*waits, d)
			mu.Unlock()
			return ctx.Err()
		}}
	return channels.WithRetry(s, p, func(_ channels.Message, a channels.Attempt) {
		mu.Lock()
		*tries = append(*tries, a.Err)
		mu.Unlock()
	})
}

func (r *runner) noSecret(t *testing.T, what, text string) {
	t.Helper()
	for _, sec := range r.sub.Secrets {
		if sec != "" && strings.Contains(text, sec) {
			t.Errorf("%s shows a secret: %s", what, text)
		}
	}
}

// expect checks err's class and that it names the backend and no secret.
func (r *runner) expect(t *testing.T, err error, want channels.Class) {
	t.Helper()
	if err == nil {
		t.Fatalf("Send succeeded, want a %s error", want)
	}
	if got := channels.ClassOf(err); got != want {
		t.Errorf("class %s, want %s: %v", got, want, err)
	}
	r.noSecret(t, "the error", fmt.Sprintf("%v | %+v | %#v", err, err, err))
}

func (r *runner) success(t *testing.T) {
	f := r.newFake(t)
	rc, err := r.build(t, f.URL(), r.sub.Options, nil).Send(context.Background(), r.sub.Message)
	if err != nil {
		t.Fatal(err)
	}
	if rc.ProviderID == "" {
		t.Error("no provider id in the receipt")
	}
	reqs := f.Requests()
	if len(reqs) != 1 || !reqs[0].Accepted {
		t.Fatalf("the fake saw %d requests (%+v), want one accepted", len(reqs), reqs)
	}
	if r.sub.CheckRequest != nil {
		r.sub.CheckRequest(t, reqs[0])
	}
}

func (r *runner) throttled(t *testing.T) {
	f := r.newFake(t)
	f.Throttle(2, 3)
	var waits []time.Duration
	var tries []error
	if _, err := r.retrying(t, r.build(t, f.URL(), r.sub.Options, nil), &waits, &tries).Send(context.Background(), r.sub.Message); err != nil {
		t.Fatal(err)
	}
	if f.Count() != 3 || f.Accepted() != 1 {
		t.Errorf("%d requests, %d accepted; want 3 and 1", f.Count(), f.Accepted())
	}
	for _, err := range tries {
		r.expect(t, err, channels.Temporary)
	}
	if r.sub.RetryAfter {
		for _, d := range waits {
			if d != 3*time.Second {
				t.Errorf("waited %v, want the provider's 3s each time", waits)
				break
			}
		}
	}
}

func (r *runner) unavailable(t *testing.T) {
	f := r.newFake(t)
	f.Unavailable(2)
	var waits []time.Duration
	var tries []error
	if _, err := r.retrying(t, r.build(t, f.URL(), r.sub.Options, nil), &waits, &tries).Send(context.Background(), r.sub.Message); err != nil {
		t.Fatal(err)
	}
	if f.Count() != 3 || f.Accepted() != 1 {
		t.Errorf("%d requests, %d accepted; want 3 and 1", f.Count(), f.Accepted())
	}
	if len(tries) != 2 {
		t.Fatalf("%d failed tries, want 2", len(tries))
	}
	for _, err := range tries {
		r.expect(t, err, channels.Temporary)
	}
}

// lostAnswer: the provider stored the message and its answer was lost.
// The outcome is Unknown and the retry decorator must not send it again;
// a backend whose provider de-duplicates by key retries, and the provider
// still holds one message.
func (r *runner) lostAnswer(t *testing.T, arm func(Fake)) {
	f := r.newFake(t)
	arm(f)
	var waits []time.Duration
	var tries []error
	s := r.build(t, f.URL(), r.sub.Options, nil)
	_, err := r.retrying(t, s, &waits, &tries).Send(context.Background(), r.sub.Message)
	if f.Accepted() != 1 {
		t.Errorf("the provider holds %d messages, want exactly 1", f.Accepted())
	}
	if id, ok := s.(channels.Idempotent); ok && id.Idempotent() {
		if err != nil {
			t.Fatalf("an idempotent backend's retry must find the stored message: %v", err)
		}
		if len(tries) != 1 {
			t.Fatalf("%d failed tries, want 1", len(tries))
		}
		r.expect(t, tries[0], channels.Unknown)
		return
	}
	r.expect(t, err, channels.Unknown)
	if f.Count() != 1 || len(tries) != 0 {
		t.Errorf("%d requests, %d retries; an Unknown outcome must not be sent again", f.Count(), len(tries))
	}
}

func (r *runner) wrongCredentials(t *testing.T) {
	f := r.newFake(t)
	var waits []time.Duration
	var tries []error
	_, err := r.retrying(t, r.build(t, f.URL(), r.sub.WrongCredentials, nil), &waits, &tries).Send(context.Background(), r.sub.Message)
	r.expect(t, err, channels.Channel)
	if channels.HintOf(err) == "" {
		t.Error("a channel error needs a hint for the operator")
	}
	if f.Count() != 1 || f.Accepted() != 0 {
		t.Errorf("%d requests, %d accepted; want 1 and 0 (credentials are not retried)", f.Count(), f.Accepted())
	}
}

func (r *runner) accountRefused(t *testing.T) {
	f := r.newFake(t)
	f.RefuseAccount(1)
	var waits []time.Duration
	var tries []error
	_, err := r.retrying(t, r.build(t, f.URL(), r.sub.Options, nil), &waits, &tries).Send(context.Background(), r.sub.Message)
	r.expect(t, err, channels.Channel)
	if f.Count() != 1 || f.Accepted() != 0 {
		t.Errorf("%d requests, %d accepted; want 1 and 0", f.Count(), f.Accepted())
	}
}

func (r *runner) recipientRefused(t *testing.T) {
	f := r.newFake(t)
	f.FailAddress(r.sub.Message.To)
	var waits []time.Duration
	var tries []error
	_, err := r.retrying(t, r.build(t, f.URL(), r.sub.Options, nil), &waits, &tries).Send(context.Background(), r.sub.Message)
	r.expect(t, err, channels.Permanent)
	if f.Count() != 1 || f.Accepted() != 0 {
		t.Errorf("%d requests, %d accepted; want 1 and 0 (no retry of a permanent refusal)", f.Count(), f.Accepted())
	}
}

// timeout: the provider does not answer within the client's timeout. The
// request was written, so the message may be there: Unknown.
func (r *runner) timeout(t *testing.T) {
	f := r.newFake(t)
	f.SetDelay(5 * time.Second)
	s := r.build(t, f.URL(), r.sub.Options, &http.Client{Timeout: 150 * time.Millisecond})
	start := time.Now()
	_, err := s.Send(context.Background(), r.sub.Message)
	r.expect(t, err, channels.Unknown)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the call took %v, want it bounded by the client's timeout", d)
	}
}

func (r *runner) connectionRefused(t *testing.T) {
	f := r.newFake(t)
	url := f.URL()
	if c, ok := f.(interface{ Close() }); ok {
		c.Close() // nothing listens there now
	} else {
		t.Fatal("the fake cannot be closed")
	}
	_, err := r.build(t, url, r.sub.Options, nil).Send(context.Background(), r.sub.Message)
	r.expect(t, err, channels.Temporary)
	// What the operator reads must name the backend (the class is checked
	// above, by type).
	if msg := err.Error(); !strings.HasPrefix(msg, r.sub.Backend.Name+": ") {
		t.Errorf("the error does not name the backend: %v", err)
	}
}

// untrustedCertificate: the backend's own client (system roots) meets a
// self-signed certificate: retrying cannot help, configuration can.
func (r *runner) untrustedCertificate(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		t.Error("a request got through an untrusted certificate")
	}))
	srv.Config.ErrorLog = silentLog()
	t.Cleanup(srv.Close)
	_, err := r.build(t, srv.URL, r.sub.Options, nil).Send(context.Background(), r.sub.Message)
	r.expect(t, err, channels.Channel)
	if !strings.Contains(channels.HintOf(err), "ca_file") {
		t.Errorf("hint %q should name ca_file", channels.HintOf(err))
	}
}

func (r *runner) cancelledBefore(t *testing.T) {
	f := r.newFake(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := r.build(t, f.URL(), r.sub.Options, nil).Send(ctx, r.sub.Message)
	r.expect(t, err, channels.Temporary)
	if !channels.IsCanceled(err) {
		t.Errorf("the caller's cancellation must stay recognisable: %v", err)
	}
	if f.Count() != 0 {
		t.Errorf("the fake saw %d requests after cancellation, want 0", f.Count())
	}
}

func (r *runner) cancelledDuring(t *testing.T) {
	f := r.newFake(t)
	f.SetDelay(5 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := r.build(t, f.URL(), r.sub.Options, nil).Send(ctx, r.sub.Message)
	r.expect(t, err, channels.Unknown)
	if !channels.IsCanceled(err) {
		t.Errorf("the caller's cancellation must stay recognisable: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Send returned %v after the context ended, want at once", d)
	}
}

// silentLog keeps a TLS server's handshake complaints out of the test log.
func silentLog() *log.Logger { return log.New(io.Discard, "", 0) }
