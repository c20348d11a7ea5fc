package email

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-sasl"

	"herald/channels"
)

// session is one open SMTP connection, greeted, secured and authenticated,
// between transactions. It is used by one goroutine at a time (the pool
// hands it out).
type session struct {
	nc         net.Conn
	r          *textproto.Reader
	w          *bufio.Writer
	ext        map[string]string // EHLO keywords, upper case, with their parameters
	pipelining bool
	timeout    time.Duration
	// dotWritten is set once the end of DATA has left: from then on a
	// lost connection means the server may have the message.
	dotWritten bool
}

// reply is one SMTP reply: code and text, lines joined by spaces.
type reply struct {
	code int
	text string
}

func (r reply) String() string { return strconv.Itoa(r.code) + " " + r.text }

// connError marks a failure of the connection itself (reset, EOF, 421):
// the session is unusable. before is true when it happened before the
// message body went out, so the message was certainly not delivered and can
// be sent again on a fresh session without risk of a duplicate.
type connError struct {
	err    error
	before bool
}

func (e *connError) Error() string { return e.err.Error() }
func (e *connError) Unwrap() error { return e.err }

// Operator hints of the channel-level failures (SPEC 2, exit 3).
const (
	hintLogin   = "check the user and password (username and password, or the user-info of url, in herald.toml and the environment variables they reference)"
	hintRefused = "the server refuses this client before any message: check the host in url and that the server lets this machine send (its address, helo)"
	hintSetup   = "check url, starttls and the server's settings: no message can be sent this way"
)

// dial opens, secures and authenticates a session. Nothing of a message
// has been sent yet, so every failure is Temporary (no connection, a
// timeout, a 4xx) or a Channel error: the server refuses the login, the
// client or the TLS certificate, which no retry and no other recipient can
// fix.
func dial(ctx context.Context, cfg *config) (*session, error) {
	addr := net.JoinHostPort(cfg.host, cfg.port)
	d := net.Dialer{Timeout: cfg.timeout}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, channels.TemporaryError(fmt.Errorf("smtp: connecting to %s: %w", addr, err), 0)
	}
	s := &session{timeout: cfg.timeout}
	if cfg.implicit {
		tc := tls.Client(nc, cfg.tls)
		hctx, cancel := context.WithTimeout(ctx, cfg.timeout)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			nc.Close()
			return nil, tlsError(cfg, "TLS with "+addr, err)
		}
		nc = tc
	}
	s.setConn(nc)
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if err := s.handshake(cfg); err != nil {
		s.nc.Close()
		if ctx.Err() != nil {
			return nil, channels.TemporaryError(fmt.Errorf("smtp: connecting to %s: %w", addr, ctx.Err()), 0)
		}
		return nil, err
	}
	return s, nil
}

// tlsError classifies a failed TLS handshake: a certificate that does not
// verify is the channel's configuration (ca_file), anything else is the
// network's and worth retrying.
func tlsError(cfg *config, what string, err error) error {
	err = fmt.Errorf("smtp: %s: %w", what, err)
	if channels.IsTLSVerification(err) {
		return channels.ChannelError(err, cfg.tlsOpts.VerifyHint())
	}
	return channels.TemporaryError(err, 0)
}

func (s *session) setConn(nc net.Conn) {
	s.nc = nc
	s.r = textproto.NewReader(bufio.NewReaderSize(nc, 4096))
	s.w = bufio.NewWriterSize(nc, 8192)
}

func (s *session) handshake(cfg *config) error {
	addr := net.JoinHostPort(cfg.host, cfg.port)
	s.nc.SetDeadline(time.Now().Add(s.timeout))
	greet, err := s.read()
	if err != nil {
		return channels.TemporaryError(fmt.Errorf("smtp: %s: reading greeting: %w", addr, err), 0)
	}
	if greet.code != 220 {
		return refusal(greet, "greeting", hintRefused)
	}
	if err := s.ehlo(cfg.helo); err != nil {
		return err
	}
	if !cfg.implicit {
		_, offered := s.ext["STARTTLS"]
		use, err := startTLSDecision(cfg.starttls, cfg.host, offered)
		if err != nil {
			return channels.ChannelError(fmt.Errorf("smtp: %w", err), hintSetup)
		}
		if use {
			if err := s.startTLS(cfg); err != nil {
				return err
			}
		}
	}
	if cfg.user != "" {
		if err := s.auth(cfg); err != nil {
			return err
		}
	}
	return nil
}

func (s *session) ehlo(helo string) error {
	rp, err := s.cmd("EHLO " + helo)
	if err != nil {
		return err
	}
	if rp.code == 250 {
		s.ext = map[string]string{}
		// The first line is the server's greeting, the rest are extensions;
		// read() joined them with '\n' for exactly this.
		lines := strings.Split(rp.text, "\n")
		for _, l := range lines[1:] {
			k, v, _ := strings.Cut(strings.TrimSpace(l), " ")
			s.ext[strings.ToUpper(k)] = v
		}
		_, s.pipelining = s.ext["PIPELINING"]
		return nil
	}
	// A server from before ESMTP: HELO works, without any extension.
	rp, err = s.cmd("HELO " + helo)
	if err != nil {
		return err
	}
	if rp.code != 250 {
		return refusal(rp, "HELO "+helo, hintRefused)
	}
	s.ext, s.pipelining = map[string]string{}, false
	return nil
}

func (s *session) startTLS(cfg *config) error {
	rp, err := s.cmd("STARTTLS")
	if err != nil {
		return err
	}
	if rp.code != 220 {
		return refusal(rp, "STARTTLS", hintSetup)
	}
	tc := tls.Client(s.nc, cfg.tls)
	if err := tc.Handshake(); err != nil {
		return tlsError(cfg, "STARTTLS with "+cfg.host, err)
	}
	s.setConn(tc)
	// RFC 3207: forget what the server said before TLS and ask again.
	return s.ehlo(cfg.helo)
}

// auth logs in with PLAIN, or LOGIN for servers that only offer that. The
// password goes only into the SASL exchange, never into an error.
func (s *session) auth(cfg *config) error {
	mechs := strings.Fields(strings.ToUpper(s.ext["AUTH"]))
	has := func(m string) bool {
		for _, x := range mechs {
			if x == m {
				return true
			}
		}
		return false
	}
	var c sasl.Client
	switch {
	case has(sasl.Plain):
		c = sasl.NewPlainClient("", cfg.user, cfg.pass)
	case has(sasl.Login):
		c = sasl.NewLoginClient(cfg.user, cfg.pass)
	case len(mechs) == 0:
		return channels.ChannelError(fmt.Errorf("smtp: %s does not offer AUTH", cfg.host), "a user name is configured: remove it (username, or the user in url) if the server needs no login; some servers offer AUTH only after STARTTLS")
	default:
		return channels.ChannelError(fmt.Errorf("smtp: %s offers AUTH %s, herald speaks PLAIN and LOGIN", cfg.host, strings.Join(mechs, " ")), hintSetup)
	}
	mech, ir, err := c.Start()
	if err != nil {
		return channels.ChannelError(fmt.Errorf("smtp: AUTH %s: %v", mech, err), hintLogin)
	}
	line := "AUTH " + mech
	if ir != nil {
		line += " " + encodeIR(ir)
	}
	rp, err := s.cmd(line)
	for err == nil && rp.code == 334 {
		var chal []byte
		chal, err = base64.StdEncoding.DecodeString(strings.TrimSpace(rp.text))
		if err != nil {
			return channels.TemporaryError(fmt.Errorf("smtp: AUTH %s: bad challenge from server", mech), 0)
		}
		var resp []byte
		if resp, err = c.Next(chal); err != nil {
			s.cmd("*") // cancel the exchange (RFC 4954)
			return channels.ChannelError(fmt.Errorf("smtp: AUTH %s: %v", mech, err), hintLogin)
		}
		rp, err = s.cmd(base64.StdEncoding.EncodeToString(resp))
	}
	if err != nil {
		return err
	}
	if rp.code == 235 {
		return nil
	}
	// Any refusal of the login is the channel's: every message would meet
	// it. Only a 4xx other than 432 (a password change is needed) says
	// "not now" (Postfix's 454 when its SASL backend is down).
	if rp.code/100 == 4 && rp.code != 432 {
		return classify(rp, fmt.Sprintf("AUTH %s as %q", mech, cfg.user))
	}
	return channels.ChannelError(fmt.Errorf("smtp: %d %s (AUTH %s as %q)", rp.code, oneLine(rp.text), mech, cfg.user), hintLogin)
}

// refusal classifies a reply that refuses the session itself (greeting,
// HELO, STARTTLS): 4xx is temporary (421 busy), anything else a Channel
// error with the hint, since no message can go until someone acts.
func refusal(rp reply, what, hint string) error {
	if rp.code/100 == 4 {
		return classify(rp, what)
	}
	return channels.ChannelError(fmt.Errorf("smtp: %d %s (%s)", rp.code, oneLine(rp.text), what), hint)
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }

// encodeIR is the initial response of AUTH: base64, or "=" for an empty one.
func encodeIR(ir []byte) string {
	if len(ir) == 0 {
		return "="
	}
	return base64.StdEncoding.EncodeToString(ir)
}

// cmd writes one command line and reads its reply. I/O errors come back as
// temporary connection errors.
func (s *session) cmd(line string) (reply, error) {
	s.w.WriteString(line)
	s.w.WriteString("\r\n")
	if err := s.w.Flush(); err != nil {
		return reply{}, s.ioErr(err, true)
	}
	rp, err := s.read()
	if err != nil {
		return reply{}, s.ioErr(err, true)
	}
	return rp, nil
}

func (s *session) ioErr(err error, before bool) error {
	return channels.TemporaryError(&connError{err: fmt.Errorf("smtp: connection: %w", err), before: before}, 0)
}

// read reads one (possibly multi-line) reply. Lines are joined with '\n' so
// EHLO can split them; errors flatten them to spaces.
func (s *session) read() (reply, error) {
	code, text, err := s.r.ReadResponse(0)
	if err != nil {
		var te *textproto.Error
		if errors.As(err, &te) {
			return reply{code: te.Code, text: te.Msg}, nil
		}
		return reply{}, err
	}
	return reply{code: code, text: text}, nil
}

// classify turns a failed reply into herald's error classes: 4xx is
// temporary (greylisting, a full queue), 5xx permanent for this message.
// 421 means the server is closing the session, so it is also a connection
// error. 530, 534, 535 and 538 refuse the login whatever the message
// (authentication or encryption required, RFC 4954): the channel's.
func classify(rp reply, what string) error {
	err := fmt.Errorf("smtp: %d %s (%s)", rp.code, oneLine(rp.text), what)
	switch {
	case rp.code == 421:
		return channels.TemporaryError(&connError{err: err, before: true}, 0)
	case rp.code == 530 || rp.code == 534 || rp.code == 535 || rp.code == 538:
		return channels.ChannelError(err, hintLogin)
	case rp.code >= 500 && rp.code < 600:
		return channels.PermanentError(err)
	default:
		return channels.TemporaryError(err, 0)
	}
}

// isConnError reports whether the session must be dropped after err, and
// whether the message was certainly not handed over.
func isConnError(err error) (broken, before bool) {
	var ce *connError
	if errors.As(err, &ce) {
		return true, ce.before
	}
	return false, false
}

// send runs one mail transaction. wire is the dot-stuffed message ending in
// "\r\n.\r\n". After a refused MAIL, RCPT or DATA the session is reset and
// stays usable; after a connection error it is not.
func (s *session) send(ctx context.Context, envFrom, to string, wire []byte) (reply, error) {
	deadline := time.Now().Add(s.timeout)
	ctxDeadline, hasCtxDeadline := ctx.Deadline()
	if hasCtxDeadline && ctxDeadline.Before(deadline) {
		deadline = ctxDeadline
	}
	s.nc.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { s.nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	s.dotWritten = false
	rp, err := s.transact(envFrom, to, wire)
	if err != nil {
		// The session is in an unknown state after an interrupted read.
		// The socket deadline can fire a moment before ctx notices its
		// own, so a passed context deadline counts as the context's.
		cerr := ctx.Err()
		if cerr == nil && hasCtxDeadline && !time.Now().Before(ctxDeadline) {
			cerr = context.DeadlineExceeded
		}
		if cerr != nil {
			ce := &connError{err: fmt.Errorf("smtp: %w", cerr), before: !s.dotWritten}
			if s.dotWritten {
				return reply{}, channels.UnknownError(ce)
			}
			return reply{}, channels.TemporaryError(ce, 0)
		}
	}
	return rp, err
}

func (s *session) transact(envFrom, to string, wire []byte) (reply, error) {
	mailCmd := "MAIL FROM:<" + envFrom + ">"
	if _, ok := s.ext["SIZE"]; ok {
		mailCmd += " SIZE=" + strconv.Itoa(len(wire))
	}
	rcptCmd := "RCPT TO:<" + to + ">"
	var mailRp, rcptRp, dataRp reply
	if s.pipelining {
		// RFC 2920: MAIL, RCPT and DATA in one write, three replies in
		// order. One round trip instead of three per message.
		s.w.WriteString(mailCmd + "\r\n" + rcptCmd + "\r\nDATA\r\n")
		if err := s.w.Flush(); err != nil {
			return reply{}, s.ioErr(err, true)
		}
		for _, p := range []*reply{&mailRp, &rcptRp, &dataRp} {
			rp, err := s.read()
			if err != nil {
				return reply{}, s.ioErr(err, true)
			}
			*p = rp
		}
	} else {
		var err error
		if mailRp, err = s.cmd(mailCmd); err != nil {
			return reply{}, err
		}
		if mailRp.code/100 == 2 {
			if rcptRp, err = s.cmd(rcptCmd); err != nil {
				return reply{}, err
			}
			if rcptRp.code/100 == 2 {
				if dataRp, err = s.cmd("DATA"); err != nil {
					return reply{}, err
				}
			}
		}
	}
	var fail error
	switch {
	case mailRp.code/100 != 2:
		fail = classify(mailRp, "MAIL FROM <"+envFrom+">")
	case rcptRp.code/100 != 2:
		fail = classify(rcptRp, "RCPT TO <"+to+">")
	case dataRp.code != 354:
		fail = classify(dataRp, "DATA")
	}
	if fail != nil {
		if broken, _ := isConnError(fail); broken {
			return reply{}, fail
		}
		if dataRp.code == 354 {
			// The server wants a body for a refused transaction; the only
			// safe way out is to drop the session.
			return reply{}, &connError{err: fail, before: false}
		}
		if rerr := s.reset(); rerr != nil {
			return reply{}, &connError{err: fail, before: false}
		}
		return reply{}, fail
	}
	if _, err := s.w.Write(wire); err != nil {
		return reply{}, s.ioErr(err, false)
	}
	if err := s.w.Flush(); err != nil {
		// The end of DATA did not leave: the server cannot have taken it.
		return reply{}, s.ioErr(err, false)
	}
	s.dotWritten = true
	final, err := s.read()
	if err != nil {
		// The whole message is at the server and its answer is lost: it
		// may be queued. Never resend blindly (SPEC 3, unknown).
		return reply{}, channels.UnknownError(&connError{err: fmt.Errorf("smtp: connection lost after the end of DATA, before the server answered: %w", err)})
	}
	if final.code/100 != 2 {
		err := classify(final, "end of DATA")
		var ce *connError
		if errors.As(err, &ce) {
			ce.before = false
		}
		return reply{}, err
	}
	return final, nil
}

// reset ends a refused transaction so the next MAIL is accepted.
func (s *session) reset() error {
	rp, err := s.cmd("RSET")
	if err != nil {
		return err
	}
	if rp.code != 250 {
		return classify(rp, "RSET")
	}
	return nil
}

// quit ends the session politely; errors do not matter any more.
func (s *session) quit() {
	s.nc.SetDeadline(time.Now().Add(2 * time.Second))
	s.w.WriteString("QUIT\r\n")
	if s.w.Flush() == nil {
		s.read()
	}
	s.nc.Close()
}

// queueID finds the server's id for an accepted message in the final
// reply: Postfix and most MTAs say "queued as <id>", Amazon SES says
// "Ok <id>". Other replies carry no id herald can rely on.
func queueID(text string) string {
	text = strings.ReplaceAll(text, "\n", " ")
	if i := strings.Index(strings.ToLower(text), "queued as "); i >= 0 {
		f := strings.Fields(text[i+len("queued as "):])
		if len(f) > 0 {
			return strings.Trim(f[0], "<>.,;()")
		}
	}
	f := strings.Fields(text)
	if len(f) > 0 && isEnhancedCode(f[0]) {
		f = f[1:]
	}
	if len(f) == 2 && strings.EqualFold(f[0], "ok") {
		return f[1]
	}
	return ""
}

func isEnhancedCode(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return false
	}
	for _, p := range parts {
		if _, err := strconv.Atoi(p); err != nil {
			return false
		}
	}
	return true
}

// dotWriter dot-stuffs (RFC 5321 §4.5.2) while the message is composed,
// so the bytes for DATA are built in one pass.
type dotWriter struct {
	w         io.Writer
	lineStart bool
}

func (d *dotWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if d.lineStart && p[0] == '.' {
			if _, err := d.w.Write([]byte{'.'}); err != nil {
				return 0, err
			}
		}
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			d.lineStart = false
			_, err := d.w.Write(p)
			return n, err
		}
		if _, err := d.w.Write(p[:i+1]); err != nil {
			return 0, err
		}
		d.lineStart = true
		p = p[i+1:]
	}
	return n, nil
}
