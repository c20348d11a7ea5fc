package channels

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// hijacker reads the whole request, counts it, then closes the connection
// without a word: the provider may have the message, the answer is lost.
func hijacker(count *atomic.Int32) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		count.Add(1)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			panic(err)
		}
		conn.Close()
	}
}

// TestDoTransportOutcomes is SPEC 3's table for failed round trips: what
// matters is whether the request left (written: Unknown) or provably did
// not (Temporary), and a certificate the client cannot verify stops the
// channel.
func TestDoTransportOutcomes(t *testing.T) {
	const secret = "tok-5ecr3t-value"
	var hijacked atomic.Int32
	hangUp := httptest.NewServer(hijacker(&hijacked))
	defer hangUp.Close()

	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer slow.Close()

	gone := httptest.NewServer(http.NotFoundHandler())
	goneURL := gone.URL
	gone.Close() // nothing listens there now

	untrusted := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("a request got through an untrusted certificate")
	}))
	untrusted.Config.ErrorLog = log.New(io.Discard, "", 0)
	defer untrusted.Close()

	// A server that accepts the connection and reads nothing until the
	// client gives up: a large body cannot be written in full.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()

	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(201)
	}))
	defer ok.Close()

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()

	for _, c := range []struct {
		name     string
		url      string
		body     string
		client   *http.Client
		ctx      context.Context
		timeout  time.Duration
		class    Class
		canceled bool
		hint     string
	}{
		{name: "answered", url: ok.URL},
		{name: "connection closed after the request", url: hangUp.URL, class: Unknown},
		{name: "not listening", url: goneURL, class: Temporary},
		{name: "untrusted certificate", url: untrusted.URL, class: Channel, hint: "ca_file"},
		{name: "client timeout after writing", url: slow.URL, client: &http.Client{Timeout: 100 * time.Millisecond}, class: Unknown},
		{name: "caller cancelled after writing", url: slow.URL, timeout: 100 * time.Millisecond, class: Unknown, canceled: true},
		{name: "caller cancelled before the call", url: ok.URL, ctx: cancelled, class: Temporary, canceled: true},
		{name: "body never fully written", url: "http://" + ln.Addr().String(), body: strings.Repeat("x", 32<<20),
			client: &http.Client{Timeout: 300 * time.Millisecond}, class: Temporary},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := c.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			if c.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, c.timeout)
				defer cancel()
			}
			client := c.client
			if client == nil {
				client = &http.Client{}
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url+"/send?key="+secret, strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := Do(client, req, "push", "sending", secret)
			if c.class == 0 {
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return
			}
			if err == nil {
				resp.Body.Close()
				t.Fatal("Do succeeded")
			}
			if ClassOf(err) != c.class {
				t.Errorf("class %s, want %s: %v", ClassOf(err), c.class, err)
			}
			if IsCanceled(err) != c.canceled {
				t.Errorf("IsCanceled = %v, want %v: %v", IsCanceled(err), c.canceled, err)
			}
			if !strings.Contains(HintOf(err), c.hint) {
				t.Errorf("hint %q, want one naming %q", HintOf(err), c.hint)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "push: sending ") || strings.Contains(msg, secret) || strings.Contains(msg, "/send?") {
				t.Errorf("message %q: want the backend first and no URL or secret", msg)
			}
		})
	}
	if n := hijacked.Load(); n != 1 {
		t.Errorf("the hijacking server saw %d requests, want 1: Do must not resend", n)
	}
}

// A provider opt-out is a permanent refusal the send loop can tell apart.
func TestProviderOptOut(t *testing.T) {
	err := ProviderOptOutError(errors.New("twilio: 21610 unsubscribed"))
	if !IsPermanent(err) || !IsProviderOptOut(err) || err.Error() != "twilio: 21610 unsubscribed" {
		t.Errorf("opt-out: %v permanent=%v opt-out=%v", err, IsPermanent(err), IsProviderOptOut(err))
	}
	wrapped := errors.Join(errors.New("channel sms"), err)
	if !IsProviderOptOut(wrapped) {
		t.Error("a wrapped opt-out must stay recognisable")
	}
	if IsProviderOptOut(PermanentError(errors.New("21211 invalid number"))) || IsProviderOptOut(nil) || ProviderOptOutError(nil) != nil {
		t.Error("only the provider's opt-out is one")
	}
}

type checkingSender struct {
	calls    atomic.Int32
	problems []Problem
}

func (c *checkingSender) Send(context.Context, Message) (Receipt, error) {
	c.calls.Add(1)
	return Receipt{ProviderID: "real"}, nil
}

func (c *checkingSender) Check(Message) []Problem { return c.problems }

type idempotentSender struct{ checkingSender }

func (*idempotentSender) Idempotent() bool { return true }

// TestWithDryRun: the backend is never called; its own checks refuse what
// the provider would, as a permanent error; Unwrap sees the backend.
func TestWithDryRun(t *testing.T) {
	backend := &checkingSender{problems: []Problem{{Severity: "warning", Message: "sms: long"}}}
	dry := WithDryRun(backend)
	rc, err := WithRetry(dry, DefaultRetry, nil).Send(context.Background(), Message{To: "+1555"})
	if err != nil || rc.ProviderID != "" {
		t.Errorf("dry run: %+v, %v; want an empty receipt", rc, err)
	}
	backend.problems = append(backend.problems, Problem{Severity: "error", Message: "sms: 4 segments exceeds max_segments = 3"})
	if _, err := dry.Send(context.Background(), Message{}); !IsPermanent(err) || err.Error() != "sms: 4 segments exceeds max_segments = 3" {
		t.Errorf("error problem: %v, want it as a permanent error", err)
	}
	if backend.calls.Load() != 0 {
		t.Errorf("the backend was called %d times during a dry run", backend.calls.Load())
	}
	if Unwrap(WithRetry(dry, DefaultRetry, nil)) != Sender(backend) {
		t.Error("Unwrap does not see through the dry-run decorator")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := dry.Send(ctx, Message{}); !IsCanceled(err) {
		t.Errorf("cancelled dry run: %v", err)
	}
}

// TestRetryUnknownPolicy: on_unknown and the backend's idempotency decide
// whether an Unknown outcome is retried.
func TestRetryUnknownPolicy(t *testing.T) {
	plain, keyed := &checkingSender{}, &idempotentSender{}
	for _, c := range []struct {
		s         Sender
		onUnknown string
		want      bool
	}{
		{plain, "", false}, {plain, "in-doubt", false}, {plain, "retry", true},
		{keyed, "", true}, {WithDryRun(keyed), "in-doubt", true},
	} {
		if got, err := RetryUnknown(c.s, c.onUnknown); err != nil || got != c.want {
			t.Errorf("RetryUnknown(%T, %q) = %v, %v; want %v", c.s, c.onUnknown, got, err, c.want)
		}
	}
	if _, err := RetryUnknown(plain, "always"); err == nil || !strings.Contains(err.Error(), `on_unknown "always" must be "in-doubt" or "retry"`) {
		t.Errorf("bad on_unknown: %v", err)
	}

	var waits []time.Duration
	lost := &flaky{errs: []error{UnknownError(errors.New("EOF after writing")), nil}}
	if _, err := WithRetry(lost, noSleep(&waits), nil).Send(context.Background(), Message{}); ClassOf(err) != Unknown || lost.calls.Load() != 1 {
		t.Errorf("in-doubt: err %v after %d calls, want Unknown after 1", err, lost.calls.Load())
	}
	lost = &flaky{errs: []error{UnknownError(errors.New("EOF after writing")), nil}}
	p := noSleep(&waits)
	p.RetryUnknown = true
	if _, err := WithRetry(lost, p, nil).Send(context.Background(), Message{}); err != nil || lost.calls.Load() != 2 {
		t.Errorf("retry: err %v after %d calls, want success after 2", err, lost.calls.Load())
	}
	channel := &flaky{errs: []error{ChannelError(errors.New("401"), HintCredentials), nil}}
	if _, err := WithRetry(channel, p, nil).Send(context.Background(), Message{}); ClassOf(err) != Channel || channel.calls.Load() != 1 {
		t.Errorf("a channel error must not be retried: %v after %d calls", err, channel.calls.Load())
	}
}
