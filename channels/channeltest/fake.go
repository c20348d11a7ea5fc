// Package channeltest holds in-process fakes of the providers herald talks
// to, for unit tests, end-to-end tests and benchmarks: Twilio, Vonage, the
// WhatsApp Cloud API, the Telegram Bot API, the LINE Messaging API and a
// generic JSON notification API (for the webhook backend) as httptest
// servers, and an SMTP server (go-smtp) on 127.0.0.1. Each provider has this
// one fake; Run is the conformance suite every HTTP backend passes against it.
//
// Each fake implements its provider's API strictly as /work/shared/PROVIDERS.md
// describes it: it refuses a wrong path, wrong credentials, a wrong content
// type, missing or malformed fields (a Twilio form with a literal '+' in To
// decodes to a space and gets error 21211) and answers with the provider's
// real success and error shapes. Every request is recorded with its arrival
// time, headers and raw body, so a test can assert on the bytes a backend
// sent and on the timing a rate limit produced.
//
// The knobs model what goes wrong in production:
//
//	FailAddress(addr)     the provider's permanent error for that recipient
//	                      (Twilio 21211, WhatsApp 131026, Vonage status 6,
//	                      Telegram 403 blocked, LINE 400)
//	Throttle(k, secs)     the next k requests are rate-limited, with the
//	                      provider's way of saying "retry after secs"
//	Unavailable(k)        the next k requests get HTTP 503
//	FailAfterStoring(k, status)
//	                      the next k requests are taken (the message counts
//	                      as accepted) and answered with that 5xx status,
//	                      the worst case of a 500, 502 or 504
//	HangUp(k)             the next k requests are taken, then the
//	                      connection is closed without an answer
//	RefuseAccount(k)      the next k requests get the provider's answer for
//	                      an account it refuses (HTTP 403 or its equivalent)
//	Respond(status, ...)  the next request gets exactly this answer
//	SetDelay(d)           every answer is held back by d
//
// The credentials the fakes accept are the constants below; point a channel
// at a fake with api_url = fake.URL() and these secrets.
package channeltest

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Credentials the fakes accept. They are test values, not secrets.
const (
	TwilioAccountSID = "AC0123456789abcdef0123456789abcdef"
	TwilioAuthToken  = "twilio-test-token-7d1c2b3a4f5e6d7c"

	VonageAPIKey    = "a1b2c3d4"
	VonageAPISecret = "VonageTestSecret9"

	WhatsAppPhoneNumberID = "106540352242922"
	WhatsAppToken         = "EAAGtestwhatsapptoken0123456789"

	TelegramToken = "123456789:AAHtestTelegramBotToken_0123456789ab"

	LINEToken = "line-test-channel-access-token-0123456789"

	SMTPUser     = "herald@acme.example"
	SMTPPassword = "smtp-test-password"
)

// Request is one HTTP request a fake received and what it answered.
type Request struct {
	Time     time.Time // arrival, before any artificial delay
	Method   string
	Path     string // URL path as sent (escaped form)
	RawQuery string
	Header   http.Header
	Body     []byte // raw body, byte for byte

	To       string // the recipient as the provider read it; "" when refused before that
	Status   int    // HTTP status of the answer
	Answer   []byte // body of the answer
	Code     string // the provider's error code or status answered; "" on success
	Accepted bool   // the provider took the message (it would reach the recipient)
}

// answer is what a provider replies.
type answer struct {
	status   int
	header   map[string]string
	body     []byte
	code     string
	to       string
	accepted bool
}

// provider is the protocol half of a fake; server is the shared half
// (recording, knobs, delay).
type provider interface {
	// handle checks and answers one request. It asks the server's knobs
	// (takeThrottle, isFailing) at the point where the real API would:
	// rate limits after authentication, recipient errors after the body
	// has been validated.
	handle(r *http.Request, body []byte) answer
	// unavailable is the provider's 503 during an outage.
	unavailable() answer
	// serverError is the provider's answer with a 5xx status.
	serverError(status int) answer
	// accountRefused is the provider's answer to an account it refuses.
	accountRefused() answer
}

type server struct {
	srv   *httptest.Server
	p     provider
	conns atomic.Int64
	ids   atomic.Int64 // for provider message ids

	mu         sync.Mutex
	reqs       []Request
	count      int
	accepted   int
	discard    bool
	failing    map[string]bool
	throttleN  int
	retryAfter int
	unavailN   int
	failN      int
	failStatus int
	hangN      int
	refuseN    int
	scripted   []answer
	delay      time.Duration
}

func newServer(t testing.TB, p provider) *server {
	s := &server{p: p, failing: map[string]bool{}}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.srv.Start()
	t.Cleanup(s.srv.Close)
	return s
}

// maxBody is more than any provider takes; a bigger body is refused.
const maxBody = 4 << 20

func (s *server) serve(w http.ResponseWriter, r *http.Request) {
	arrived := time.Now()
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		return
	}
	s.mu.Lock()
	s.count++
	delay := s.delay
	unavailable := s.unavailN > 0
	if unavailable {
		s.unavailN--
	}
	var script *answer
	if len(s.scripted) > 0 && !unavailable {
		script = &s.scripted[0]
		s.scripted = s.scripted[1:]
	}
	refused := !unavailable && script == nil && s.refuseN > 0
	if refused {
		s.refuseN--
	}
	failStatus := 0
	if !unavailable && !refused && s.failN > 0 {
		s.failN--
		failStatus = s.failStatus
	}
	hangUp := !unavailable && !refused && failStatus == 0 && s.hangN > 0
	if hangUp {
		s.hangN--
	}
	s.mu.Unlock()
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		}
	}
	var a answer
	switch {
	case unavailable:
		// An outage in front of the API: nothing is parsed or accepted.
		a = s.p.unavailable()
		a.to = peekRecipient(r, body) // for the record only
	case script != nil:
		a = *script
		a.to = peekRecipient(r, body)
	case refused:
		a = s.p.accountRefused()
		a.to = peekRecipient(r, body)
	default:
		a = s.p.handle(r, body)
	}
	if failStatus != 0 {
		// The provider took the message, then failed to say so.
		e := s.p.serverError(failStatus)
		e.to, e.accepted = a.to, a.accepted
		a = e
	}
	if hangUp {
		s.record(arrived, r, body, answer{to: a.to, accepted: a.accepted, code: "hang-up"})
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler) // closes the connection without an answer
	}
	for k, v := range a.header {
		w.Header().Set(k, v)
	}
	if w.Header().Get("Content-Type") == "" && len(a.body) > 0 {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(a.status)
	w.Write(a.body)
	s.record(arrived, r, body, a)
}

func (s *server) record(arrived time.Time, r *http.Request, body []byte, a answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a.accepted {
		s.accepted++
	}
	if !s.discard {
		s.reqs = append(s.reqs, Request{
			Time: arrived, Method: r.Method, Path: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery,
			Header: r.Header.Clone(), Body: body,
			To: a.to, Status: a.status, Answer: a.body, Code: a.code, Accepted: a.accepted,
		})
	}
}

// takeThrottle reports whether this request is one of the throttled ones
// and the Retry-After to give. Providers call it after authentication.
func (s *server) takeThrottle() (bool, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.throttleN > 0 {
		s.throttleN--
		return true, s.retryAfter
	}
	return false, 0
}

func (s *server) isFailing(addr string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failing[normAddr(addr)]
}

// normAddr makes "+62812...", "62812..." and "whatsapp:+62812..." the same key.
func normAddr(a string) string {
	a = strings.TrimPrefix(strings.TrimSpace(a), "whatsapp:")
	return strings.TrimPrefix(a, "+")
}

// URL is the fake's base URL, for api_url.
func (s *server) URL() string { return s.srv.URL }

// Client is an HTTP client for the fake.
func (s *server) Client() *http.Client { return s.srv.Client() }

// Requests returns a copy of every request received so far, in arrival order
// of their answers.
func (s *server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// Count is the number of requests received (also in Discard mode).
func (s *server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count
}

// Accepted is the number of messages the fake accepted.
func (s *server) Accepted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted
}

// Conns is the number of TCP connections accepted (keep-alive reuse shows
// as few connections for many requests).
func (s *server) Conns() int { return int(s.conns.Load()) }

// Discard stops recording requests (benchmarks); counters keep counting.
func (s *server) Discard() {
	s.mu.Lock()
	s.discard = true
	s.reqs = nil
	s.mu.Unlock()
}

// FailAddress makes the provider refuse every message to addr with its
// permanent error for a bad recipient. Numbers match with or without '+'.
func (s *server) FailAddress(addr string) {
	s.mu.Lock()
	s.failing[normAddr(addr)] = true
	s.mu.Unlock()
}

// Throttle makes the next k authenticated requests get the provider's
// rate-limit answer, asking to retry after retryAfter seconds.
func (s *server) Throttle(k, retryAfter int) {
	s.mu.Lock()
	s.throttleN, s.retryAfter = k, retryAfter
	s.mu.Unlock()
}

// Unavailable makes the next k requests get HTTP 503 (an outage in front of
// the API: nothing is accepted).
func (s *server) Unavailable(k int) {
	s.mu.Lock()
	s.unavailN = k
	s.mu.Unlock()
}

// FailAfterStoring makes the next k requests be taken as usual (a message
// the provider accepts counts as accepted) and then answered with status, a
// 5xx: the provider stored the message and failed to say so.
func (s *server) FailAfterStoring(k, status int) {
	s.mu.Lock()
	s.failN, s.failStatus = k, status
	s.mu.Unlock()
}

// HangUp makes the next k requests be taken as usual and then the
// connection closed without an answer: the answer is lost, the message is
// at the provider. Such a request is recorded with Code "hang-up".
func (s *server) HangUp(k int) {
	s.mu.Lock()
	s.hangN = k
	s.mu.Unlock()
}

// RefuseAccount makes the next k requests get the provider's answer for an
// account or token it refuses to serve (HTTP 403, or the provider's own
// code for it); nothing is accepted.
func (s *server) RefuseAccount(k int) {
	s.mu.Lock()
	s.refuseN = k
	s.mu.Unlock()
}

// Respond queues an answer for the next request: status, Content-Type and
// body exactly as given (an error the knobs do not model, a proxy's page).
// Nothing is accepted.
func (s *server) Respond(status int, contentType, body string) {
	s.RespondWith(status, map[string]string{"Content-Type": contentType}, body)
}

// RespondWith is Respond with any headers.
func (s *server) RespondWith(status int, header map[string]string, body string) {
	s.mu.Lock()
	s.scripted = append(s.scripted, answer{status: status, header: header, body: []byte(body), code: strconv.Itoa(status)})
	s.mu.Unlock()
}

// SetDelay holds every answer back by d (a slow provider).
func (s *server) SetDelay(d time.Duration) {
	s.mu.Lock()
	s.delay = d
	s.mu.Unlock()
}

// Close shuts the fake down (also done by t.Cleanup).
func (s *server) Close() { s.srv.Close() }

// nextID numbers the messages a fake accepts, for provider ids.
func (s *server) nextID() int64 { return s.ids.Add(1) }

func retryAfterHeader(secs int) map[string]string {
	return map[string]string{"Content-Type": "application/json", "Retry-After": strconv.Itoa(secs)}
}

// peekRecipient finds the recipient in a request the provider did not read
// (an outage), so the record still says whom it was for.
func peekRecipient(r *http.Request, body []byte) string {
	var j map[string]any
	if json.Unmarshal(body, &j) == nil {
		for _, k := range []string{"to", "chat_id"} {
			if v, ok := j[k]; ok {
				return fmt.Sprint(v)
			}
		}
		return ""
	}
	form, _ := url.ParseQuery(string(body))
	for _, k := range []string{"To", "to", "chat_id"} {
		if v := form.Get(k); v != "" {
			return v
		}
	}
	return r.URL.Query().Get("chat_id")
}
