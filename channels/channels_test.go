package channels

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/time/rate"
)

// flaky fails with the given errors in turn, then succeeds.
type flaky struct {
	errs  []error
	calls atomic.Int32
}

func (f *flaky) Send(ctx context.Context, m Message) (Receipt, error) {
	n := int(f.calls.Add(1)) - 1
	if n < len(f.errs) {
		return Receipt{}, f.errs[n]
	}
	return Receipt{ProviderID: fmt.Sprintf("id-%d", n)}, nil
}

func noSleep(waits *[]time.Duration) RetryPolicy {
	return RetryPolicy{Attempts: 4, Base: 100 * time.Millisecond, Max: time.Second, Sleep: func(ctx context.Context, d time.Duration) error {
		*waits = append(*waits, d)
		return ctx.Err()
	}}
}

func TestRetryTemporaryUntilSuccess(t *testing.T) {
	var waits []time.Duration
	f := &flaky{errs: []error{TemporaryError(errors.New("503"), 0), TemporaryError(errors.New("429"), 7*time.Second)}}
	rc, err := WithRetry(f, noSleep(&waits), nil).Send(context.Background(), Message{})
	if err != nil || rc.ProviderID != "id-2" || f.calls.Load() != 3 {
		t.Fatalf("rc=%+v err=%v calls=%d", rc, err, f.calls.Load())
	}
	if len(waits) != 2 || waits[0] < 50*time.Millisecond || waits[0] > 100*time.Millisecond {
		t.Errorf("first backoff %v, want 50ms..100ms (jittered 100ms)", waits)
	}
	if waits[1] != 7*time.Second {
		t.Errorf("Retry-After 7s not honoured: waited %v", waits[1])
	}
}

func TestRetryStopsOnPermanentAndAfterAttempts(t *testing.T) {
	var waits []time.Duration
	perm := &flaky{errs: []error{PermanentError(errors.New("21211 invalid number"))}}
	if _, err := WithRetry(perm, noSleep(&waits), nil).Send(context.Background(), Message{}); !IsPermanent(err) || perm.calls.Load() != 1 {
		t.Fatalf("permanent: err=%v calls=%d", err, perm.calls.Load())
	}
	down := &flaky{errs: []error{TemporaryError(errors.New("a"), 0), TemporaryError(errors.New("b"), 0), TemporaryError(errors.New("c"), 0), TemporaryError(errors.New("d"), 0), nil}}
	_, err := WithRetry(down, noSleep(&waits), nil).Send(context.Background(), Message{})
	if err == nil || IsPermanent(err) || down.calls.Load() != 4 || !strings.Contains(err.Error(), "d") {
		t.Fatalf("outage: err=%v calls=%d, want the 4th error after 4 attempts", err, down.calls.Load())
	}
}

func TestRetryStopsWhenTheCallerCancels(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	f := &flaky{errs: []error{TemporaryError(errors.New("503"), 0), nil}}
	p := RetryPolicy{Attempts: 5, Base: time.Hour, Max: time.Hour}
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	start := time.Now()
	_, err := WithRetry(f, p, nil).Send(ctx, Message{})
	if err == nil || time.Since(start) > 5*time.Second || f.calls.Load() != 1 {
		t.Fatalf("err=%v calls=%d: a cancelled context must end the backoff", err, f.calls.Load())
	}
}

func TestBackoffGrowsAndIsCapped(t *testing.T) {
	p := RetryPolicy{Base: time.Second, Max: 10 * time.Second}
	for n, lo := range map[int]time.Duration{1: 500 * time.Millisecond, 3: 2 * time.Second, 10: 5 * time.Second} {
		for range 50 {
			d := p.Backoff(n, 0)
			if d < lo || d > 2*lo {
				t.Fatalf("Backoff(%d) = %v, want in [%v, %v]", n, d, lo, 2*lo)
			}
		}
	}
}

// TestClassifyHTTP is SPEC 3's table for HTTP statuses: 401/403 stop the
// channel, 429 and 503 are provably not accepted (honouring Retry-After),
// 500, 502, 504 and any other 5xx leave the message in doubt, every other
// 4xx refuses it for this recipient.
func TestClassifyHTTP(t *testing.T) {
	for _, c := range []struct {
		status int
		header string
		class  Class
		after  time.Duration
	}{
		{200, "", 0, 0},
		{201, "", 0, 0},
		{204, "", 0, 0},
		{400, "", Permanent, 0},
		{404, "", Permanent, 0},
		{409, "", Permanent, 0},
		{413, "", Permanent, 0},
		{422, "", Permanent, 0},
		{401, "", Channel, 0},
		{403, "", Channel, 0},
		{429, "3", Temporary, 3 * time.Second},
		{429, "", Temporary, 0},
		{503, "120", Temporary, 2 * time.Minute},
		{500, "", Unknown, 0},
		{502, "", Unknown, 0},
		{504, "", Unknown, 0},
		{507, "", Unknown, 0},
		{302, "", Permanent, 0},
	} {
		resp := &http.Response{StatusCode: c.status, Header: http.Header{}}
		if c.header != "" {
			resp.Header.Set("Retry-After", c.header)
		}
		err := ClassifyHTTP("push", resp, "detail")
		if c.class == 0 {
			if err != nil {
				t.Errorf("%d: %v", c.status, err)
			}
			continue
		}
		if ClassOf(err) != c.class || RetryAfter(err) != c.after || err.Error() != fmt.Sprintf("push: HTTP %d: detail", c.status) {
			t.Errorf("%d: err=%q class=%s after=%v, want %s after %v", c.status, err, ClassOf(err), RetryAfter(err), c.class, c.after)
		}
		if c.class == Channel && HintOf(err) == "" {
			t.Errorf("%d: a channel error needs a hint", c.status)
		}
		// ClassifyStatus gives a backend's own message the same class.
		own := errors.New("push: 12345 provider text")
		if got := ClassifyStatus(resp, own); ClassOf(got) != c.class || got.Error() != own.Error() || !errors.Is(got, own) {
			t.Errorf("%d: ClassifyStatus = %v (%s)", c.status, got, ClassOf(got))
		}
	}
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	if d := ParseRetryAfter(now.Add(90*time.Second).Format(http.TimeFormat), now); d != 90*time.Second {
		t.Errorf("HTTP-date Retry-After: %v", d)
	}
	for _, bad := range []string{"-5", "soon", now.Add(-time.Hour).Format(http.TimeFormat)} {
		if d := ParseRetryAfter(bad, now); d != 0 {
			t.Errorf("Retry-After %q = %v, want 0", bad, d)
		}
	}
}

func TestRateLimitAndConcurrency(t *testing.T) {
	var inFlight, maxInFlight atomic.Int32
	slow := senderFunc(func(ctx context.Context, m Message) (Receipt, error) {
		n := inFlight.Add(1)
		for {
			old := maxInFlight.Load()
			if n <= old || maxInFlight.CompareAndSwap(old, n) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
		inFlight.Add(-1)
		return Receipt{}, nil
	})
	g := NewGate(3, nil)
	var wg sync.WaitGroup
	for range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			release, err := g.Acquire(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			defer release()
			slow.Send(context.Background(), Message{})
		}()
	}
	wg.Wait()
	if m := maxInFlight.Load(); m != 3 {
		t.Errorf("at most %d in flight, want exactly 3", m)
	}

	limit, burst, err := ParseRate("100/s")
	if err != nil || limit != 100 || burst != 100 {
		t.Fatalf("ParseRate: %v %v %v", limit, burst, err)
	}
	r := NewGate(1, rate.NewLimiter(limit, 1))
	start := time.Now()
	for range 11 {
		release, err := r.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		release()
	}
	if el := time.Since(start); el < 90*time.Millisecond {
		t.Errorf("11 sends at 100/s with burst 1 took %v, want about 100ms", el)
	}
}

func TestGateStopsWaitingWhenCancelled(t *testing.T) {
	g := NewGate(1, nil)
	release, err := g.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := g.Acquire(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a full gate returned %v after its context ended, want DeadlineExceeded", err)
	}
}

type senderFunc func(context.Context, Message) (Receipt, error)

func (f senderFunc) Send(ctx context.Context, m Message) (Receipt, error) { return f(ctx, m) }

func TestParseRate(t *testing.T) {
	for in, want := range map[string]float64{"50/s": 50, "600/m": 10, "1/500ms": 2, "3600/h": 1, "": float64(rate.Inf)} {
		got, _, err := ParseRate(in)
		if err != nil || float64(got) != want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"50", "/s", "0/s", "-1/s", "5/fortnight", "x/s"} {
		if _, _, err := ParseRate(bad); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("ParseRate(%q) = %v, want an error naming it", bad, err)
		}
	}
}

func TestSecretsExpandAndNeverPrint(t *testing.T) {
	t.Setenv("HERALD_T_TOKEN", "s3cr3t")
	var s Secret
	if err := s.UnmarshalText([]byte("Bearer ${HERALD_T_TOKEN}")); err != nil {
		t.Fatal(err)
	}
	if s.Reveal() != "Bearer s3cr3t" {
		t.Fatalf("expanded to %q", s.Reveal())
	}
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s", s, s, s, s), fmt.Sprint(struct{ S Secret }{s})} {
		if strings.Contains(out, "s3cr3t") {
			t.Errorf("secret printed: %s", out)
		}
	}
	var u SecretURL
	if err := u.UnmarshalText([]byte("smtp://mailer:${HERALD_T_TOKEN}@smtp.example.com:587")); err != nil {
		t.Fatal(err)
	}
	if pw, _ := u.URL.User.Password(); pw != "s3cr3t" || strings.Contains(u.String(), "s3cr3t") || strings.Contains(fmt.Sprintf("%#v", u), "s3cr3t") {
		t.Errorf("SecretURL: password %q, printed %s", pw, u)
	}
	var missing Setting
	err := missing.UnmarshalText([]byte("${HERALD_T_NOT_SET_ANYWHERE}"))
	if err == nil || !strings.Contains(err.Error(), "HERALD_T_NOT_SET_ANYWHERE is not set") {
		t.Errorf("missing variable: %v", err)
	}
	if got := Redact("smtp://u:hunter2@h:25"); strings.Contains(got, "hunter2") {
		t.Errorf("Redact: %s", got)
	}
}

func TestIdempotencyKeyAndReplyToken(t *testing.T) {
	k := IdempotencyKey("shipment-delay", "c-1")
	u, err := uuid.Parse(k)
	if err != nil || u.Version() != 5 {
		t.Fatalf("%s: not a version-5 UUID: %v", k, err)
	}
	if k != IdempotencyKey("shipment-delay", "c-1") || k == IdempotencyKey("shipment-delay", "c-2") || k == IdempotencyKey("shipment-delay-c", "-1") {
		t.Error("idempotency keys must be stable per (campaign, recipient) and differ otherwise")
	}
	tok := ReplyToken("shipment-delay", "c-1")
	if tok != strings.ToLower(tok) || len(tok) != 16 || tok == ReplyToken("shipment-delay", "c-2") {
		t.Errorf("reply token %q", tok)
	}
}

func TestRegistry(t *testing.T) {
	r := NewRegistry(Backend{Name: "b"}, Backend{Name: "a"})
	if got := strings.Join(r.Names(), ","); got != "a,b" {
		t.Errorf("Names = %s", got)
	}
	if _, err := r.Lookup("smtpp"); err == nil || !strings.Contains(err.Error(), `unknown backend "smtpp"`) {
		t.Errorf("Lookup: %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Error("a backend registered twice must panic")
		}
	}()
	NewRegistry(Backend{Name: "a"}, Backend{Name: "a"})
}

func TestTransportErrorHidesURLAndSecrets(t *testing.T) {
	urlErr := &url.Error{Op: "Post", URL: "https://api.telegram.org/bot123:s3cr3t/sendMessage", Err: errors.New("dial tcp: connection refused for 123:s3cr3t")}
	err := TransportError(context.Background(), "telegram", "request", urlErr, false, "123:s3cr3t")
	if IsPermanent(err) || IsCanceled(err) || strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "api.telegram.org") {
		t.Errorf("transport error: %v", err)
	}
	if err.Error() != "telegram: request failed: dial tcp: connection refused for ***" {
		t.Errorf("message: %q", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := TransportError(ctx, "line", "request", urlErr, false); !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled caller must stay recognisable: %v", err)
	}
	if got := Scrub("token a/b and a%2Fb", "a/b"); got != "token *** and ***" {
		t.Errorf("Scrub: %q", got)
	}
	if got := Snippet([]byte("<html>\n  <body>Bad   Gateway</body>\n</html>")); got != "<html> <body>Bad Gateway</body> </html>" {
		t.Errorf("Snippet: %q", got)
	}
}
