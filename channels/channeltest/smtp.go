package channeltest

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/mail"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// SMTP is an SMTP server (go-smtp) on 127.0.0.1 that records what it is
// sent. It requires AUTH PLAIN as SMTPUser/SMTPPassword (allowed without TLS
// on loopback), offers PIPELINING, 8BITMIME and SMTPUTF8, and refuses what a
// strict receiving MTA refuses: a message with a bare LF (the SMTP smuggling
// fix), lines over 998 octets, a header section that does not parse, no From,
// Date or Message-ID header (Gmail refuses mail without a Message-ID), and
// raw UTF-8 in headers without SMTPUTF8. Accepted messages get
// "250 2.0.0 Ok: queued as <id>", as Postfix says.
type SMTP struct {
	srv  *smtp.Server
	addr string

	conns atomic.Int64
	count atomic.Int64 // accepted messages, also in Discard mode

	mu      sync.Mutex
	msgs    []Message
	discard bool
	rejects map[string]*smtp.SMTPError
	delay   time.Duration
}

// Message is one message the SMTP fake accepted.
type Message struct {
	Time   time.Time
	Conn   int64  // which connection carried it, 1-based
	From   string // MAIL FROM
	To     []string
	Data   []byte // as received after dot-unstuffing, CRLF line ends
	Header mail.Header
	Body   []byte // after the header section
}

// NewSMTP starts an SMTP server on 127.0.0.1, closed when the test ends.
func NewSMTP(t testing.TB) *SMTP {
	s := &SMTP{rejects: map[string]*smtp.SMTPError{}}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &smtpSession{s: s, conn: s.conns.Add(1)}, nil
	}))
	s.srv.Domain = "mx.test"
	s.srv.AllowInsecureAuth = true // loopback only
	s.srv.EnableSMTPUTF8 = true
	s.srv.MaxMessageBytes = 10 << 20
	s.srv.ReadTimeout = time.Minute
	s.srv.WriteTimeout = time.Minute
	s.srv.ErrorLog = quietLog{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	go s.srv.Serve(ln)
	t.Cleanup(func() { s.srv.Close() })
	return s
}

type quietLog struct{}

func (quietLog) Printf(string, ...any) {}
func (quietLog) Println(...any)        {}

// Addr is host:port of the server.
func (s *SMTP) Addr() string { return s.addr }

// URL is an smtp:// URL with the credentials the fake accepts.
func (s *SMTP) URL() string {
	return "smtp://" + strings.ReplaceAll(SMTPUser, "@", "%40") + ":" + SMTPPassword + "@" + s.addr
}

// Reject makes RCPT TO:<addr> fail with 550 5.1.1 (no such user).
func (s *SMTP) Reject(addr string) {
	s.RejectWith(addr, 550, "5.1.1", "<"+addr+">: Recipient address rejected: User unknown in virtual mailbox table")
}

// RejectWith makes RCPT TO:<addr> fail with the given reply; a 4xx code is a
// temporary refusal (greylisting).
func (s *SMTP) RejectWith(addr string, code int, enhanced, text string) {
	var enh smtp.EnhancedCode
	fmt.Sscanf(enhanced, "%d.%d.%d", &enh[0], &enh[1], &enh[2])
	s.mu.Lock()
	s.rejects[strings.ToLower(addr)] = &smtp.SMTPError{Code: code, EnhancedCode: enh, Message: text}
	s.mu.Unlock()
}

// SetDelay holds back the reply to each message's end of DATA by d.
func (s *SMTP) SetDelay(d time.Duration) {
	s.mu.Lock()
	s.delay = d
	s.mu.Unlock()
}

// Discard stops recording messages (benchmarks); Count keeps counting.
func (s *SMTP) Discard() {
	s.mu.Lock()
	s.discard, s.msgs = true, nil
	s.mu.Unlock()
}

// Messages returns a copy of the accepted messages, in order.
func (s *SMTP) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Count is the number of accepted messages.
func (s *SMTP) Count() int { return int(s.count.Load()) }

// Conns is the number of connections accepted so far.
func (s *SMTP) Conns() int { return int(s.conns.Load()) }

type smtpSession struct {
	s      *SMTP
	conn   int64
	authed bool
	from   string
	utf8   bool
	to     []string
}

func (ss *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (ss *smtpSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if (identity != "" && identity != user) || user != SMTPUser || pass != SMTPPassword {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Error: authentication failed"}
		}
		ss.authed = true
		return nil
	}), nil
}

func (ss *smtpSession) Mail(from string, opts *smtp.MailOptions) error {
	if !ss.authed {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	ss.from, ss.to = from, nil
	ss.utf8 = opts != nil && opts.UTF8
	return nil
}

func (ss *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if _, err := mail.ParseAddress("<" + to + ">"); err != nil {
		return &smtp.SMTPError{Code: 501, EnhancedCode: smtp.EnhancedCode{5, 1, 3}, Message: "Bad recipient address syntax"}
	}
	ss.s.mu.Lock()
	rej := ss.s.rejects[strings.ToLower(to)]
	ss.s.mu.Unlock()
	if rej != nil {
		return rej
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *smtpSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.s.mu.Lock()
	delay := ss.s.delay
	ss.s.mu.Unlock()
	if delay > 0 {
		time.Sleep(delay)
	}
	if err := checkMessage(data, ss.utf8); err != nil {
		return err
	}
	n := ss.s.count.Add(1)
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	if !ss.s.discard {
		msg, _ := mail.ReadMessage(bytes.NewReader(data))
		body, _ := io.ReadAll(msg.Body)
		ss.s.msgs = append(ss.s.msgs, Message{
			Time: time.Now(), Conn: ss.conn, From: ss.from, To: append([]string(nil), ss.to...),
			Data: data, Header: msg.Header, Body: body,
		})
	}
	// go-smtp writes whatever reply Data returns: a 250 carries the queue id.
	return &smtp.SMTPError{Code: 250, EnhancedCode: smtp.EnhancedCode{2, 0, 0}, Message: fmt.Sprintf("Ok: queued as 4Q%08X", n)}
}

// checkMessage refuses what a strict MTA refuses.
func checkMessage(data []byte, smtputf8 bool) error {
	reject := func(code int, enh smtp.EnhancedCode, msg string) error {
		return &smtp.SMTPError{Code: code, EnhancedCode: enh, Message: msg}
	}
	for i, line := range bytes.SplitAfter(data, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		if line[len(line)-1] == '\n' && (len(line) < 2 || line[len(line)-2] != '\r') {
			return reject(550, smtp.EnhancedCode{5, 5, 2}, fmt.Sprintf("Error: bare <LF> received (line %d)", i+1))
		}
		if n := len(bytes.TrimRight(line, "\r\n")); n > 998 {
			return reject(550, smtp.EnhancedCode{5, 6, 0}, fmt.Sprintf("Error: line %d is %d octets, over RFC 5322's 998", i+1, n))
		}
	}
	end := bytes.Index(data, []byte("\r\n\r\n"))
	if end < 0 {
		return reject(550, smtp.EnhancedCode{5, 6, 0}, "Error: no blank line after the header section")
	}
	if !smtputf8 {
		for _, c := range data[:end] {
			if c >= 0x80 {
				return reject(550, smtp.EnhancedCode{5, 6, 7}, "Error: 8-bit header without SMTPUTF8 (encode it per RFC 2047)")
			}
		}
	}
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return reject(550, smtp.EnhancedCode{5, 6, 0}, "Error: malformed header section: "+err.Error())
	}
	for _, h := range []string{"From", "Date", "Message-Id"} {
		if len(msg.Header[h]) != 1 {
			return reject(550, smtp.EnhancedCode{5, 7, 1}, fmt.Sprintf("Error: message must have exactly one %s header", h))
		}
	}
	if _, err := msg.Header.Date(); err != nil {
		return reject(550, smtp.EnhancedCode{5, 6, 0}, "Error: invalid Date header")
	}
	if _, err := msg.Header.AddressList("From"); err != nil {
		return reject(550, smtp.EnhancedCode{5, 6, 0}, "Error: invalid From header")
	}
	return nil
}

func (ss *smtpSession) Reset() { ss.from, ss.to = "", nil }

func (ss *smtpSession) Logout() error { return nil }
