package email

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"

	"herald/channels"
)

// session is one open SMTP connection, greeted, secured and authenticated,
// between transactions. It is used by one goroutine at a time (the pool
// hands it out).
type session struct {
	nc         net.Conn
	r          *bufio.Reader
	w          *bufio.Writer
	ext        map[string]string // EHLO keywords, upper case, with their parameters
	pipelining bool              // RFC 2920
	size       bool              // RFC 1870: MAIL FROM carries SIZE=
	timeout    time.Duration
	// dotWritten is set once the end of DATA has left: from then on a
	// lost connection means the server may have the message.
	dotWritten bool

	// The context whose end interrupts the session's I/O (see watch).
	watchMu     sync.Mutex
	watchedDone <-chan struct{}
	unwatch     func() bool
}

// reply is one SMTP reply: code and text, lines joined by "\n".
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
	s.r = bufio.NewReaderSize(nc, 4096)
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
		_, s.size = s.ext["SIZE"]
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
	s.ext, s.pipelining, s.size = map[string]string{}, false, false
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

// read reads one (possibly multi-line) reply with its text. Lines are
// joined with '\n' so EHLO can split them; errors flatten them to spaces.
func (s *session) read() (reply, error) { return s.readReply(true) }

// readReply reads one reply. Without keep, the text of a success (2xx,
// 3xx) is dropped unread: the code is all a transaction needs of it, and
// the replies to MAIL, RCPT and DATA then cost no allocation.
func (s *session) readReply(keep bool) (reply, error) {
	var rp reply
	var text strings.Builder
	for n := 0; ; n++ {
		line, err := s.r.ReadSlice('\n')
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				err = errors.New("reply line too long")
			}
			return reply{}, err
		}
		line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		code, ok := replyCode(line)
		if !ok || n > 0 && code != rp.code {
			return reply{}, fmt.Errorf("malformed reply %q", line)
		}
		rp.code = code
		last := len(line) == 3 || line[3] == ' '
		var msg []byte
		if len(line) > 4 {
			msg = line[4:]
		}
		if keep || code >= 400 {
			if n == 0 && last {
				rp.text = string(msg)
				return rp, nil
			}
			if n > 0 {
				text.WriteByte('\n')
			}
			text.Write(msg)
		}
		if last {
			rp.text = text.String()
			return rp, nil
		}
	}
}

// replyCode parses the start of a reply line: three digits, then a space,
// a hyphen (more lines follow) or the end of the line.
func replyCode(line []byte) (int, bool) {
	if len(line) < 3 || len(line) > 3 && line[3] != ' ' && line[3] != '-' {
		return 0, false
	}
	code := 0
	for _, c := range line[:3] {
		if c < '0' || c > '9' {
			return 0, false
		}
		code = code*10 + int(c-'0')
	}
	return code, code >= 100
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

// send runs one mail transaction. msg is the message as composed (CRLF
// line ends, ending with one); the session dot-stuffs it on the way out.
// After a refused MAIL, RCPT or DATA the session is reset and stays
// usable; after a connection error it is not.
func (s *session) send(ctx context.Context, envFrom, to string, msg []byte) (reply, error) {
	deadline := time.Now().Add(s.timeout)
	ctxDeadline, hasCtxDeadline := ctx.Deadline()
	if hasCtxDeadline && ctxDeadline.Before(deadline) {
		deadline = ctxDeadline
	}
	s.watch(ctx)
	s.nc.SetDeadline(deadline)
	s.dotWritten = false
	var rp reply
	err := ctx.Err() // ended before the deadline above was set: the watch may have fired already
	if err == nil {
		rp, err = s.transact(envFrom, to, msg)
	}
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

// watch makes the end of ctx interrupt the session's I/O (a deadline in
// the past). The registration stays from one message to the next while
// the context is the same one (a campaign sends all under one): each
// registration on a context takes its lock, which every sending worker
// would contend for. An older context's late call does nothing.
func (s *session) watch(ctx context.Context) {
	done := ctx.Done()
	s.watchMu.Lock()
	same := done == s.watchedDone
	s.watchedDone = done
	s.watchMu.Unlock()
	if same {
		return
	}
	if s.unwatch != nil {
		s.unwatch()
		s.unwatch = nil
	}
	if done == nil {
		return // never ends
	}
	s.unwatch = context.AfterFunc(ctx, func() {
		s.watchMu.Lock()
		defer s.watchMu.Unlock()
		if s.watchedDone == done {
			s.nc.SetDeadline(time.Unix(1, 0))
		}
	})
}

// close drops the connection and the context registration.
func (s *session) close() {
	if s.unwatch != nil {
		s.unwatch()
	}
	s.nc.Close()
}

func (s *session) transact(envFrom, to string, msg []byte) (reply, error) {
	s.w.WriteString("MAIL FROM:<")
	s.w.WriteString(envFrom)
	s.w.WriteByte('>')
	if s.size {
		s.w.WriteString(" SIZE=")
		s.w.Write(strconv.AppendInt(s.w.AvailableBuffer(), int64(len(msg)), 10))
	}
	s.w.WriteString("\r\n")
	var mailRp, rcptRp, dataRp reply
	if s.pipelining {
		// RFC 2920: MAIL, RCPT and DATA in one write, three replies in
		// order. One round trip instead of three per message.
		s.writeRcpt(to)
		s.w.WriteString("DATA\r\n")
		if err := s.w.Flush(); err != nil {
			return reply{}, s.ioErr(err, true)
		}
		var err error
		if mailRp, err = s.readReply(false); err == nil {
			if rcptRp, err = s.readReply(false); err == nil {
				dataRp, err = s.readReply(false)
			}
		}
		if err != nil {
			return reply{}, s.ioErr(err, true)
		}
	} else {
		var err error
		if mailRp, err = s.flushRead(); err != nil {
			return reply{}, err
		}
		if mailRp.code/100 == 2 {
			s.writeRcpt(to)
			if rcptRp, err = s.flushRead(); err != nil {
				return reply{}, err
			}
			if rcptRp.code/100 == 2 {
				s.w.WriteString("DATA\r\n")
				if dataRp, err = s.flushRead(); err != nil {
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
		if err := s.abandon(dataRp.code == 354); err != nil {
			// The refusal is this message's outcome; the session is no
			// longer fit for the next one.
			return reply{}, &connError{err: fail, before: false}
		}
		return reply{}, fail
	}
	s.writeData(msg)
	if err := s.w.Flush(); err != nil {
		// The end of DATA did not leave: the server cannot have taken it.
		return reply{}, s.ioErr(err, false)
	}
	s.dotWritten = true
	final, err := s.readReply(true)
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

func (s *session) writeRcpt(to string) {
	s.w.WriteString("RCPT TO:<")
	s.w.WriteString(to)
	s.w.WriteString(">\r\n")
}

// flushRead sends what is buffered and reads the reply, without pipelining.
func (s *session) flushRead() (reply, error) {
	if err := s.w.Flush(); err != nil {
		return reply{}, s.ioErr(err, true)
	}
	rp, err := s.readReply(false)
	if err != nil {
		return reply{}, s.ioErr(err, true)
	}
	return rp, nil
}

// writeData buffers msg dot-stuffed (RFC 5321 §4.5.2: a line that starts
// with "." gets another) and the end of DATA. msg ends with CRLF.
func (s *session) writeData(msg []byte) {
	if len(msg) > 0 && msg[0] == '.' {
		s.w.WriteByte('.')
	}
	for {
		i := bytes.Index(msg, []byte("\n."))
		if i < 0 {
			break
		}
		s.w.Write(msg[:i+2])
		s.w.WriteByte('.')
		msg = msg[i+2:]
	}
	s.w.Write(msg)
	s.w.WriteString(".\r\n")
}

// abandon ends a refused transaction so the session can carry the next
// one. A server that said 354 although MAIL or RCPT failed (pipelining
// sends DATA before knowing) is given the end of DATA at once, an empty
// message with no recipient, as RFC 2920 asks; then RSET.
func (s *session) abandon(dataOpen bool) error {
	if dataOpen {
		s.w.WriteString(".\r\n")
		if _, err := s.flushRead(); err != nil {
			return err
		}
	}
	return s.reset()
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
	s.close()
}

// queueID finds the server's id for an accepted message in the final
// reply: Postfix and most MTAs say "queued as <id>", Amazon SES says
// "Ok <id>". Other replies carry no id herald can rely on.
func queueID(text string) string {
	if strings.IndexByte(text, '\n') >= 0 {
		text = strings.ReplaceAll(text, "\n", " ")
	}
	const queued = "queued as "
	for i := 0; i+len(queued) <= len(text); i++ {
		if strings.EqualFold(text[i:i+len(queued)], queued) {
			if id, _ := nextField(text[i+len(queued):]); id != "" {
				return strings.Trim(id, "<>.,;()")
			}
			break
		}
	}
	f, rest := nextField(text)
	if isEnhancedCode(f) {
		f, rest = nextField(rest)
	}
	id, rest := nextField(rest)
	if extra, _ := nextField(rest); extra == "" && id != "" && strings.EqualFold(f, "ok") {
		return id
	}
	return ""
}

// nextField returns the first space-separated field of s and what follows.
func nextField(s string) (field, rest string) {
	s = strings.TrimLeft(s, " \t")
	if i := strings.IndexAny(s, " \t"); i >= 0 {
		return s[:i], s[i:]
	}
	return s, ""
}

// isEnhancedCode reports whether s is an enhanced status code (RFC 3463),
// "2.0.0".
func isEnhancedCode(s string) bool {
	parts := 0
	for part := range strings.SplitSeq(s, ".") {
		if part == "" || strings.Trim(part, "0123456789") != "" {
			return false
		}
		parts++
	}
	return parts == 3
}
