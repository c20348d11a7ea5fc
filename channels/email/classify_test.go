package email

import (
	"context"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"herald/channels"
	"herald/channels/channeltest"
)

// Every way an SMTP send can end, against a real (in-process) SMTP server,
// classified into SPEC 3's outcomes plus the channel failure of SPEC 2
// (exit 3). What a user notices: Temporary is retried, Permanent falls back
// to the next channel, Unknown is journalled in doubt and never resent, and
// Channel stops the channel with the hint printed.
func TestSMTPOutcomes(t *testing.T) {
	authReply := func(code int, enh smtp.EnhancedCode, text string) func(*testServer) {
		return func(ts *testServer) {
			ts.locked(func() { ts.authErr = &smtp.SMTPError{Code: code, EnhancedCode: enh, Message: text} })
		}
	}
	cases := []struct {
		name      string
		opts      serverOpts
		setup     func(ts *testServer)
		tls       func(t *testing.T, ts *testServer) channels.TLSOptions // nil: trust the server
		class     channels.Class
		inError   string // in the error text
		inHint    string // in the hint, Channel errors only
		delivered int    // messages the server stored
	}{
		{name: "accepted", opts: serverOpts{tls: true, user: "mailer", pass: testPassword}, delivered: 1},
		{name: "535 wrong password", opts: serverOpts{tls: true, user: "mailer", pass: testPassword},
			setup: func(ts *testServer) { ts.locked(func() { ts.pass = "the-right-one" }) },
			class: channels.Channel, inError: "535 5.7.8", inHint: "check the user and password"},
		{name: "534 mechanism too weak", opts: serverOpts{tls: true, user: "mailer", pass: testPassword},
			setup: authReply(534, smtp.EnhancedCode{5, 7, 9}, "Authentication mechanism is too weak"),
			class: channels.Channel, inError: "534 5.7.9", inHint: "check the user and password"},
		{name: "538 encryption required", opts: serverOpts{tls: true, user: "mailer", pass: testPassword},
			setup: authReply(538, smtp.EnhancedCode{5, 7, 11}, "Encryption required"),
			class: channels.Channel, inError: "538", inHint: "check the user and password"},
		{name: "530 at AUTH", opts: serverOpts{tls: true, user: "mailer", pass: testPassword},
			setup: authReply(530, smtp.EnhancedCode{5, 7, 0}, "Authentication required"),
			class: channels.Channel, inError: "530 5.7.0", inHint: "check the user and password"},
		{name: "other 5xx refusal of AUTH", opts: serverOpts{tls: true, user: "mailer", pass: testPassword},
			setup: authReply(554, smtp.EnhancedCode{5, 7, 1}, "Access denied"),
			class: channels.Channel, inError: "554 5.7.1 Access denied", inHint: "check the user and password"},
		{name: "454 SASL backend down", opts: serverOpts{tls: true, user: "mailer", pass: testPassword},
			setup: authReply(454, smtp.EnhancedCode{4, 7, 0}, "Temporary authentication failure"),
			class: channels.Temporary, inError: "454 4.7.0"},
		{name: "530 at MAIL: login required", opts: serverOpts{},
			setup: func(ts *testServer) {
				ts.locked(func() {
					ts.mailErr = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
				})
			},
			class: channels.Channel, inError: "530 5.7.0 Authentication required (MAIL FROM", inHint: "check the user and password"},
		{name: "certificate not trusted", opts: serverOpts{tls: true},
			tls:   func(t *testing.T, ts *testServer) channels.TLSOptions { return channels.TLSOptions{} },
			class: channels.Channel, inError: "certificate", inHint: "set ca_file"},
		{name: "certificate not signed by ca_file", opts: serverOpts{tls: true},
			tls:   otherCAFile,
			class: channels.Channel, inError: "certificate", inHint: "not signed by a CA in ca_file"},
		{name: "554 to EHLO and HELO: client refused", opts: serverOpts{},
			setup: func(ts *testServer) {
				ts.locked(func() {
					ts.refuseClient = &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Client host rejected: Access denied"}
				})
			},
			class: channels.Channel, inError: "554 5.7.1 Client host rejected", inHint: "refuses this client"},
		{name: "5xx to MAIL", opts: serverOpts{},
			setup: func(ts *testServer) {
				ts.locked(func() {
					ts.mailErr = &smtp.SMTPError{Code: 553, EnhancedCode: smtp.EnhancedCode{5, 1, 8}, Message: "Sender address rejected"}
				})
			},
			class: channels.Permanent, inError: "553 5.1.8"},
		{name: "5xx to RCPT", opts: serverOpts{},
			setup: func(ts *testServer) { ts.reject("a@example.com", 550, smtp.EnhancedCode{5, 1, 1}, "no such user") },
			class: channels.Permanent, inError: "550 5.1.1 no such user (RCPT TO <a@example.com>)"},
		{name: "4xx to RCPT", opts: serverOpts{},
			setup: func(ts *testServer) { ts.reject("a@example.com", 451, smtp.EnhancedCode{4, 7, 1}, "greylisted") },
			class: channels.Temporary, inError: "451 4.7.1 greylisted"},
		{name: "5xx to the end of DATA", opts: serverOpts{},
			setup: func(ts *testServer) {
				ts.locked(func() {
					ts.final = &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "spam"}
				})
			},
			class: channels.Permanent, inError: "554 5.7.1 spam (end of DATA)", delivered: 1},
		{name: "4xx to the end of DATA", opts: serverOpts{},
			setup: func(ts *testServer) {
				ts.locked(func() {
					ts.final = &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 3, 1}, Message: "queue full"}
				})
			},
			class: channels.Temporary, inError: "452 4.3.1 queue full", delivered: 1},
		{name: "connection lost before the body", opts: serverOpts{},
			setup: func(ts *testServer) { ts.locked(func() { ts.dropAtRcpt = true }) },
			class: channels.Temporary, inError: "connection"},
		{name: "connection lost after the final dot", opts: serverOpts{},
			setup: func(ts *testServer) { ts.locked(func() { ts.dropAfterDot = true }) },
			class: channels.Unknown, inError: "after the end of DATA", delivered: 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ts := startServer(t, c.opts)
			cfgText := cfgFor(ts) // before setup: the client keeps testPassword
			if c.setup != nil {
				c.setup(ts)
			}
			tlsOpts := channels.TLSOptions{RootCAs: ts.pool}
			if c.tls != nil {
				tlsOpts = c.tls(t, ts)
			}
			s, err := newFromSettings(cfgText, 1, tlsOpts)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			_, err = s.Send(context.Background(), message("c", "1", "a@example.com"))
			if got := channels.ClassOf(err); got != c.class {
				t.Fatalf("class %v (%v), want %v", got, err, c.class)
			}
			if err != nil && !strings.Contains(err.Error(), c.inError) {
				t.Errorf("error %q, want it to contain %q", err, c.inError)
			}
			if hint := channels.HintOf(err); (c.class == channels.Channel) != (hint != "") || !strings.Contains(hint, c.inHint) {
				t.Errorf("hint %q, want one containing %q for Channel errors only", hint, c.inHint)
			}
			if err != nil && strings.Contains(err.Error()+channels.HintOf(err), testPassword) {
				t.Errorf("the password is in the error: %v", err)
			}
			if n := len(ts.messages()); n != c.delivered {
				t.Errorf("server stored %d messages, want %d", n, c.delivered)
			}
		})
	}
}

// otherCAFile writes a CA that did not sign the server's certificate and
// trusts only that one.
func otherCAFile(t *testing.T, ts *testServer) channels.TLSOptions {
	t.Helper()
	cert, _ := channeltest.TLSCert(t) // a fresh key and certificate each call
	path := filepath.Join(t.TempDir(), "private-ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o644); err != nil {
		t.Fatal(err)
	}
	pool, err := channels.LoadCAFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return channels.TLSOptions{CAFile: path, RootCAs: pool}
}

// ca_file is how a private CA is trusted: the same server that fails
// verification without it takes the message with it.
func TestCAFileTrustsAPrivateCA(t *testing.T) {
	ts := startServer(t, serverOpts{tls: true, user: "mailer", pass: testPassword})
	cert := ts.srv.TLSConfig.Certificates[0]
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o644); err != nil {
		t.Fatal(err)
	}
	pool, err := channels.LoadCAFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := newFromSettings(cfgFor(ts), 1, channels.TLSOptions{CAFile: path, RootCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Send(context.Background(), message("c", "1", "a@example.com")); err != nil {
		t.Fatalf("with ca_file: %v", err)
	}
	if got := ts.messages(); len(got) != 1 || !got[0].TLS || got[0].User != "mailer" {
		t.Errorf("delivered %+v, want one message over TLS as mailer", got)
	}
}

// A server whose answer to the final dot is lost may have queued the
// message: the retry decorator herald wraps every channel in must not send
// it again, so the server holds exactly one copy.
func TestLostAnswerAfterTheFinalDotIsNotResent(t *testing.T) {
	ts := startServer(t, serverOpts{})
	ts.locked(func() { ts.dropAfterDot = true })
	s := newTestSender(t, ts, cfgFor(ts), 1)
	retried := 0
	decorated := channels.WithRetry(s, channels.RetryPolicy{Attempts: 5, Base: time.Millisecond, Max: time.Millisecond},
		func(channels.Message, channels.Attempt) { retried++ })
	_, err := decorated.Send(context.Background(), message("c", "1", "a@example.com"))
	if channels.ClassOf(err) != channels.Unknown {
		t.Fatalf("err = %v (%v), want Unknown", err, channels.ClassOf(err))
	}
	if n := len(ts.messages()); n != 1 || retried != 0 {
		t.Fatalf("server holds %d copies after %d retries, want exactly 1 and no retry", n, retried)
	}
	// The same loss before any body left is retried into one delivery.
	ts.mu.Lock()
	ts.dropAfterDot, ts.dropAtRcpt = false, true
	ts.mu.Unlock()
	go func() {
		time.Sleep(20 * time.Millisecond)
		ts.mu.Lock()
		ts.dropAtRcpt = false
		ts.mu.Unlock()
	}()
	decorated = channels.WithRetry(s, channels.RetryPolicy{Attempts: 50, Base: 5 * time.Millisecond, Max: 5 * time.Millisecond}, nil)
	if _, err := decorated.Send(context.Background(), message("c", "2", "b@example.com")); err != nil {
		t.Fatalf("a loss before the body should be retried into a delivery: %v", err)
	}
	if n := len(ts.messages()); n != 2 {
		t.Errorf("server holds %d messages, want 2", n)
	}
}

// A greeting that refuses the client is the channel's problem; a busy one
// (421) is temporary. go-smtp always greets with 220, so this server is a
// bare listener that says one line.
func TestGreetingRefusal(t *testing.T) {
	for _, c := range []struct {
		greeting string
		class    channels.Class
	}{
		{"554 5.7.1 mx.example.com: no SMTP service for you\r\n", channels.Channel},
		{"421 4.3.2 mx.example.com: too busy, try later\r\n", channels.Temporary},
	} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			for {
				conn, err := ln.Accept()
				if err != nil {
					return
				}
				conn.Write([]byte(c.greeting))
				time.Sleep(50 * time.Millisecond)
				conn.Close()
			}
		}()
		s, err := newFromTOML(strings.Join([]string{
			`url = "smtp://` + ln.Addr().String() + `"`,
			`from = "Acme Support <support@acme.example>"`,
		}, "\n"), 1)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Send(context.Background(), message("c", "1", "a@example.com"))
		if channels.ClassOf(err) != c.class || !strings.Contains(err.Error(), c.greeting[:3]) || !strings.Contains(err.Error(), "greeting") {
			t.Errorf("greeting %q: %v (%v), want %v", strings.TrimSpace(c.greeting), err, channels.ClassOf(err), c.class)
		}
		s.Close()
		ln.Close()
	}
}

// No server at all: nothing was sent, retry later.
func TestNoConnectionIsTemporary(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s, err := newFromTOML(`url = "smtp://`+addr+`"`+"\n"+`from = "Acme Support <support@acme.example>"`, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = s.Send(context.Background(), message("c", "1", "a@example.com"))
	if channels.ClassOf(err) != channels.Temporary || !strings.Contains(err.Error(), "connecting to "+addr) {
		t.Fatalf("%v (%v), want Temporary naming the address", err, channels.ClassOf(err))
	}
}
