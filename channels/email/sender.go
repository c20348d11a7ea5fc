package email

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"

	"herald/channels"
)

var (
	_ channels.Sender       = (*sender)(nil)
	_ channels.QuickChecker = (*sender)(nil)
	_ channels.Closer       = (*sender)(nil)
	_ channels.Encoder      = (*sender)(nil)
	_ channels.Checker      = (*sender)(nil)
)

// sender is a pool of at most cfg.conns SMTP sessions. A Send takes a slot,
// reuses an idle session or dials one, and gives the session back when the
// transaction is over, so a campaign runs over `concurrency` long-lived
// connections however many messages it has.
type sender struct {
	cfg   *config
	slots chan struct{} // one token per session that may exist

	mu     sync.Mutex
	idle   []*session
	closed bool

	bufs sync.Pool // *[]byte, a composed message
}

func newSender(cfg *config) *sender {
	return &sender{
		cfg:   cfg,
		slots: make(chan struct{}, cfg.conns),
		bufs:  sync.Pool{New: func() any { return new([]byte) }},
	}
}

// Send composes m and sends it over a pooled session. The message is
// composed before a session is taken, so a session waits for the network
// only, and into a reused buffer.
func (s *sender) Send(ctx context.Context, m channels.Message) (channels.Receipt, error) {
	buf := s.bufs.Get().(*[]byte)
	defer func() {
		if cap(*buf) <= 1<<20 { // do not keep a rare huge message's buffer alive
			s.bufs.Put(buf)
		}
	}()
	msg, id, err := s.cfg.composer.appendMessage((*buf)[:0], m)
	if err != nil {
		return channels.Receipt{}, channels.PermanentError(fmt.Errorf("smtp: %w", err))
	}
	*buf = msg
	rc := channels.Receipt{MessageID: id}

	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return channels.Receipt{}, channels.TemporaryError(fmt.Errorf("smtp: waiting for a connection: %w", ctx.Err()), 0)
	}
	defer func() { <-s.slots }()

	sess, closed := s.takeIdle()
	if closed {
		return channels.Receipt{}, errors.New("smtp: send after Close")
	}
	reused := sess != nil
	for {
		if sess == nil {
			var err error
			if sess, err = dial(ctx, s.cfg); err != nil {
				return channels.Receipt{}, err
			}
		}
		final, err := sess.send(ctx, s.cfg.envFrom, m.To, msg)
		if err == nil {
			s.putIdle(sess)
			rc.ProviderID = queueID(final.text)
			return rc, nil
		}
		broken, before := isConnError(err)
		if !broken {
			// Refused for this recipient; the session was reset and serves
			// the next message.
			s.putIdle(sess)
			return channels.Receipt{}, err
		}
		sess.close()
		if ctx.Err() != nil {
			return channels.Receipt{}, err // Temporary or Unknown by whether the end of DATA left
		}
		// A session that sat idle may have been closed by the server
		// (idle timeout, restart). If it failed before the body went out,
		// nothing was delivered: say nothing and try once on a new one.
		if reused && before {
			sess, reused = nil, false
			continue
		}
		return channels.Receipt{}, err
	}
}

func (s *sender) takeIdle() (sess *session, closed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.idle); n > 0 {
		sess = s.idle[n-1]
		s.idle = s.idle[:n-1]
	}
	return sess, s.closed
}

func (s *sender) putIdle(sess *session) {
	s.mu.Lock()
	if !s.closed {
		s.idle = append(s.idle, sess)
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	sess.quit()
}

// Close says QUIT on every idle session; sessions still sending are closed
// when their message is done.
func (s *sender) Close() error {
	s.mu.Lock()
	idle := s.idle
	s.idle, s.closed = nil, true
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, sess := range idle {
		wg.Go(sess.quit)
	}
	wg.Wait()
	return nil
}

// Encode returns the message exactly as DATA carries it (before
// dot-stuffing, which the server undoes).
func (s *sender) Encode(m channels.Message) ([]byte, string, error) {
	b, err := s.cfg.composer.compose(m)
	return b, "eml", err
}

// Check finds what would make the send fail or disappoint, without the
// network.
func (s *sender) Check(m channels.Message) []channels.Problem {
	ps := s.QuickCheck(m)
	if _, err := s.cfg.composer.compose(m); err != nil && parseRecipient(m.To) == nil {
		ps = append(ps, channels.Problem{Severity: "error", Message: err.Error()})
	}
	return ps
}

// QuickCheck is Check without composing the message: Send composes it
// anyway and refuses one that does not compose, so the checks run before
// every call need not build it twice.
func (s *sender) QuickCheck(m channels.Message) []channels.Problem {
	var ps []channels.Problem
	add := func(sev, format string, a ...any) {
		ps = append(ps, channels.Problem{Severity: sev, Message: fmt.Sprintf(format, a...)})
	}
	if strings.TrimSpace(m.Subject) == "" {
		add("error", "the e-mail has no subject")
	}
	if err := parseRecipient(m.To); err != nil {
		add("error", "%v", err)
	}
	if strings.TrimSpace(m.Text) == "" {
		if m.HTML == "" {
			add("error", "the e-mail has no text")
		} else {
			add("warning", "the e-mail has HTML but no plain-text part; text-only clients show nothing")
		}
	}
	if m.UnsubscribeURL != "" {
		if u, err := url.Parse(m.UnsubscribeURL); err != nil || u.Scheme != "https" {
			add("warning", "unsubscribe link %q is not https: List-Unsubscribe-Post (one-click, RFC 8058) is left out; set public_url to an https:// address", m.UnsubscribeURL)
		}
	}
	return ps
}
