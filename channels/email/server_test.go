package email

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"herald/channels"
	"herald/channels/channeltest"
)

// testCert is the shared test certificate and the pool that trusts it.
func testCert(t testing.TB) (tls.Certificate, *x509.CertPool) { return channeltest.TLSCert(t) }

// received is one message as the test server saw it.
type received struct {
	From, To string
	Data     []byte
	TLS      bool
	User     string
}

// testServer is an in-process go-smtp server. It counts connections, can
// refuse given recipients with a given reply, requires AUTH PLAIN after
// STARTTLS when a user is set, and can drop every open connection.
type testServer struct {
	t    testing.TB
	srv  *smtp.Server
	addr string
	pool *x509.CertPool

	user, pass string // required login, "" for none
	discard    bool   // benchmark sink: keep nothing

	dials   atomic.Int64
	logouts atomic.Int64 // sessions ended (QUIT or closed connection)

	mu      sync.Mutex
	conns   []net.Conn
	reads   []string // what each Read of the server got, in order (not when discarding)
	msgs    []received
	rejects map[string]*smtp.SMTPError // by RCPT address
	final   *smtp.SMTPError            // reply to the end of DATA, nil for the default
	stall   chan struct{}              // when set, DATA waits for it to close

	refuseClient *smtp.SMTPError // reply to EHLO and HELO: the client is refused
	authErr      *smtp.SMTPError // reply to AUTH whatever the password
	mailErr      *smtp.SMTPError // reply to every MAIL FROM
	dropAfterDot bool            // store the message, then close the connection without a reply
	dropAtRcpt   bool            // close the connection when RCPT comes, before any body
}

type serverOpts struct {
	tls        bool // offer STARTTLS
	implicit   bool // TLS from the first byte (smtps)
	user, pass string
	discard    bool
}

func startServer(t testing.TB, o serverOpts) *testServer {
	t.Helper()
	ts := &testServer{t: t, user: o.user, pass: o.pass, discard: o.discard, rejects: map[string]*smtp.SMTPError{}}
	ts.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		ts.mu.Lock()
		defer ts.mu.Unlock()
		if ts.refuseClient != nil {
			return nil, ts.refuseClient
		}
		return &testSession{ts: ts, c: c}, nil
	}))
	ts.srv.Domain = "sink.test"
	ts.srv.AllowInsecureAuth = false
	ts.srv.ErrorLog = nopLogger{}
	if o.tls || o.implicit {
		cert, pool := testCert(t)
		ts.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		ts.pool = pool
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.addr = ln.Addr().String()
	if o.implicit {
		ln = tls.NewListener(ln, ts.srv.TLSConfig)
		ts.srv.TLSConfig = nil // no STARTTLS inside TLS
	}
	go ts.srv.Serve(&countingListener{Listener: ln, ts: ts})
	t.Cleanup(func() { ts.srv.Close() })
	return ts
}

// smtpBackendRecordingHELO is the test backend that also records the
// client's EHLO name in *helo (under ts.mu).
func smtpBackendRecordingHELO(ts *testServer, helo *string) smtp.Backend {
	return smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		ts.mu.Lock()
		defer ts.mu.Unlock()
		*helo = c.Hostname()
		return &testSession{ts: ts, c: c}, nil
	})
}

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}
func (nopLogger) Println(...any)        {}

type countingListener struct {
	net.Listener
	ts *testServer
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.ts.dials.Add(1)
		l.ts.mu.Lock()
		l.ts.conns = append(l.ts.conns, c)
		l.ts.mu.Unlock()
		if _, implicitTLS := c.(*tls.Conn); !implicitTLS && !l.ts.discard {
			c = &recordingConn{Conn: c, ts: l.ts}
		}
	}
	return c, err
}

// recordingConn keeps what each Read returned: commands a client
// pipelines arrive in one read.
type recordingConn struct {
	net.Conn
	ts *testServer
}

func (c *recordingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.ts.mu.Lock()
		c.ts.reads = append(c.ts.reads, string(p[:n]))
		c.ts.mu.Unlock()
	}
	return n, err
}

// dropAll closes every connection from the server side, like a server
// restart or an idle timeout.
func (ts *testServer) dropAll() {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for _, c := range ts.conns {
		c.Close()
	}
	ts.conns = nil
}

func (ts *testServer) reject(rcpt string, code int, enh smtp.EnhancedCode, text string) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.rejects[rcpt] = &smtp.SMTPError{Code: code, EnhancedCode: enh, Message: text}
}

// locked runs f under the server's lock, for changing its behaviour
// while sessions may be reading it.
func (ts *testServer) locked(f func()) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	f()
}

func (ts *testServer) messages() []received {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]received(nil), ts.msgs...)
}

type testSession struct {
	ts     *testServer
	c      *smtp.Conn
	authed string
	from   string
	to     string
}

func (s *testSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *testSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		s.ts.mu.Lock()
		authErr, wantUser, wantPass := s.ts.authErr, s.ts.user, s.ts.pass
		s.ts.mu.Unlock()
		if authErr != nil {
			return authErr
		}
		if user != wantUser || pass != wantPass {
			return smtp.ErrAuthFailed
		}
		s.authed = user
		return nil
	}), nil
}

func (s *testSession) Mail(from string, _ *smtp.MailOptions) error {
	s.ts.mu.Lock()
	mailErr := s.ts.mailErr
	s.ts.mu.Unlock()
	if mailErr != nil {
		return mailErr
	}
	if s.ts.user != "" && s.authed == "" {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *testSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.ts.mu.Lock()
	rej, drop := s.ts.rejects[to], s.ts.dropAtRcpt
	s.ts.mu.Unlock()
	if drop {
		s.c.Conn().Close()
		return errors.New("connection dropped")
	}
	if rej != nil {
		return rej
	}
	s.to = to
	return nil
}

func (s *testSession) Data(r io.Reader) error {
	s.ts.mu.Lock()
	stall := s.ts.stall
	s.ts.mu.Unlock()
	if stall != nil {
		<-stall
	}
	if s.ts.discard {
		_, err := io.Copy(io.Discard, r)
		return err
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := s.c.TLSConnectionState()
	s.ts.mu.Lock()
	defer s.ts.mu.Unlock()
	s.ts.msgs = append(s.ts.msgs, received{From: s.from, To: s.to, Data: b, TLS: isTLS, User: s.authed})
	if s.ts.dropAfterDot {
		// Queued, and the answer is lost: the connection dies before the
		// reply to the final dot.
		s.c.Conn().Close()
		return errors.New("connection dropped")
	}
	if s.ts.final != nil {
		return s.ts.final
	}
	return nil
}

func (s *testSession) Reset()        { s.from, s.to = "", "" }
func (s *testSession) Logout() error { s.ts.logouts.Add(1); return nil }

// newTestSender builds the backend from herald.toml-style text, as the
// registry would, and trusts the test server's certificate.
func newTestSender(t testing.TB, ts *testServer, tomlText string, concurrency int) *sender {
	t.Helper()
	s, err := newFromTOML(tomlText, concurrency)
	if err != nil {
		t.Fatal(err)
	}
	if ts != nil && ts.pool != nil {
		s.cfg.tls.RootCAs = ts.pool
	}
	s.cfg.composer.Now = fixedNow
	t.Cleanup(func() { s.Close() })
	return s
}

func newFromTOML(tomlText string, concurrency int) (*sender, error) {
	return newFromSettings(tomlText, concurrency, channels.TLSOptions{})
}

// newFromSettings is newFromTOML with the TLS keys herald reads for every
// channel (ca_file, tls_insecure_skip_verify).
func newFromSettings(tomlText string, concurrency int, tlsOpts channels.TLSOptions) (*sender, error) {
	snd, err := Backend.New(channels.Settings{
		Channel:     "email",
		Concurrency: concurrency,
		TLS:         tlsOpts,
		Decode: func(v any) error {
			md, err := toml.Decode(tomlText, v)
			if err != nil {
				return err
			}
			if u := md.Undecoded(); len(u) > 0 {
				return &unknownKeyError{key: u[0].String()}
			}
			return nil
		},
	})
	if err != nil {
		return nil, err
	}
	return snd.(*sender), nil
}

type unknownKeyError struct{ key string }

func (e *unknownKeyError) Error() string { return "unknown key " + e.key }

func fixedNow() time.Time { return time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC) }

// cfgFor returns herald.toml text pointing at ts with a user when it needs one.
func cfgFor(ts *testServer, extra ...string) string {
	cred := ""
	if ts.user != "" {
		cred = url.UserPassword(ts.user, ts.pass).String() + "@"
	}
	lines := []string{
		`url = "smtp://` + cred + ts.addr + `"`,
		`from = "Acme Support <support@acme.example>"`,
		`reply_to = "replies@acme.example"`,
		`helo = "client.test"`,
	}
	return strings.Join(append(lines, extra...), "\n")
}

var defaultLookupEnv = channels.LookupEnv
