package email

import (
	"bufio"
	"context"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"

	"herald/channels"
)

// With a server that offers PIPELINING (RFC 2920), MAIL, RCPT and DATA
// leave in one write and the body after the 354: one round trip for the
// envelope. Every reply keeps its class, and a refusal inside the group
// leaves the session fit for the next message.
func TestPipelinedTransaction(t *testing.T) {
	ts := startServer(t, serverOpts{})
	ts.reject("gone@example.com", 550, smtp.EnhancedCode{5, 1, 1}, "mailbox unavailable")
	s := newTestSender(t, ts, cfgFor(ts), 1)
	ctx := context.Background()

	if _, err := s.Send(ctx, message("c", "1", "a@example.com")); err != nil {
		t.Fatal(err)
	}
	if !ts.readOnce("MAIL FROM:<support@acme.example> SIZE=") || !ts.readOnce("\r\nRCPT TO:<a@example.com>\r\nDATA\r\n") {
		t.Errorf("MAIL, RCPT and DATA did not arrive together; the server read:\n%q", ts.reads)
	}

	_, err := s.Send(ctx, message("c", "2", "gone@example.com"))
	if channels.ClassOf(err) != channels.Permanent || !strings.Contains(err.Error(), "550 5.1.1 mailbox unavailable (RCPT TO <gone@example.com>)") {
		t.Fatalf("pipelined RCPT refused with 550: %v (%v), want Permanent naming the reply", err, channels.ClassOf(err))
	}
	if _, err := s.Send(ctx, message("c", "3", "b@example.com")); err != nil {
		t.Fatalf("the message after the refusal: %v", err)
	}

	ts.locked(func() {
		ts.final = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "queue file write error"}
	})
	_, err = s.Send(ctx, message("c", "4", "c@example.com"))
	if channels.ClassOf(err) != channels.Temporary || !strings.Contains(err.Error(), "451 4.3.0") {
		t.Fatalf("451 in DATA: %v (%v), want Temporary", err, channels.ClassOf(err))
	}
	ts.locked(func() { ts.final = nil })
	if _, err := s.Send(ctx, message("c", "5", "d@example.com")); err != nil {
		t.Fatalf("the message after the 451: %v", err)
	}
	if n := ts.dials.Load(); n != 1 {
		t.Errorf("%d connections, want the one session throughout", n)
	}
	var to []string
	for _, m := range ts.messages() {
		to = append(to, m.To)
	}
	if got := strings.Join(to, " "); got != "a@example.com b@example.com c@example.com d@example.com" {
		t.Errorf("the server stored messages for %s", got)
	}

	ts.locked(func() { ts.dropAfterDot = true })
	_, err = s.Send(ctx, message("c", "6", "e@example.com"))
	if channels.ClassOf(err) != channels.Unknown {
		t.Fatalf("connection lost after the final dot: %v (%v), want Unknown", err, channels.ClassOf(err))
	}
}

// readOnce reports whether one Read of the server got all of s.
func (ts *testServer) readOnce(s string) bool {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for _, r := range ts.reads {
		if strings.Contains(r, s) {
			return true
		}
	}
	return false
}

// Replies go-smtp never gives, from a server that answers each command
// line from a script: a 4xx to DATA itself, and a 354 although the
// recipient was refused (the client must end that DATA with a lone dot,
// which delivers nothing, and the session stays usable).
func TestPipelinedRepliesGoSMTPNeverGives(t *testing.T) {
	rcptReply := map[string]string{
		"RCPT TO:<greylisted@example.com>": "250 2.1.5 Ok",
		"RCPT TO:<gone@example.com>":       "550 5.1.1 no such user",
	}
	dataReply := map[string]string{
		"greylisted@example.com": "451 4.7.1 try again later",
		"gone@example.com":       "354 go ahead anyway",
	}
	srv := scriptedServer(t, func(rcpt, line string) string {
		switch {
		case strings.HasPrefix(line, "RCPT TO:"):
			if r, ok := rcptReply[line]; ok {
				return r
			}
			return "250 2.1.5 Ok"
		case line == "DATA":
			if r, ok := dataReply[rcpt]; ok {
				return r
			}
			return "354 End data with <CR><LF>.<CR><LF>"
		}
		return ""
	})
	s := newTestSender(t, nil, strings.Join([]string{
		`url = "smtp://` + srv.addr + `"`,
		`from = "Acme Support <support@acme.example>"`,
	}, "\n"), 1)
	ctx := context.Background()

	_, err := s.Send(ctx, message("c", "1", "greylisted@example.com"))
	if channels.ClassOf(err) != channels.Temporary || !strings.Contains(err.Error(), "451 4.7.1 try again later (DATA)") {
		t.Fatalf("451 to DATA: %v (%v), want Temporary", err, channels.ClassOf(err))
	}
	_, err = s.Send(ctx, message("c", "2", "gone@example.com"))
	if channels.ClassOf(err) != channels.Permanent || !strings.Contains(err.Error(), "550 5.1.1 no such user") {
		t.Fatalf("550 to RCPT, then 354: %v (%v), want Permanent", err, channels.ClassOf(err))
	}
	if _, err := s.Send(ctx, message("c", "3", "ok@example.com")); err != nil {
		t.Fatalf("the message after the refusals: %v", err)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.conns != 1 {
		t.Errorf("%d connections, want 1", srv.conns)
	}
	if want := []string{"", "ok@example.com"}; strings.Join(srv.delivered, ",") != strings.Join(want, ",") {
		t.Errorf("bodies received for %q, want the empty one that ended the refused DATA, then ok@example.com's", srv.delivered)
	}
	if !strings.Contains(srv.log, "C: .\nS: 554 5.5.1 no valid recipients\nC: RSET\n") {
		t.Errorf("the refused DATA was not ended with a lone dot and RSET:\n%s", srv.log)
	}
}

type scripted struct {
	addr      string
	mu        sync.Mutex
	conns     int
	delivered []string // the recipient of each body received, "" for none
	log       string   // "C: line" and "S: reply" lines
}

// scriptedServer is a minimal ESMTP server with PIPELINING: reply gives
// the answer to RCPT and DATA lines ("" for the usual one), knowing the
// transaction's accepted recipient.
func scriptedServer(t *testing.T, reply func(rcpt, line string) string) *scripted {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	srv := &scripted{addr: ln.Addr().String()}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			srv.mu.Lock()
			srv.conns++
			srv.mu.Unlock()
			go srv.serve(c, reply)
		}
	}()
	return srv
}

func (srv *scripted) serve(c net.Conn, reply func(rcpt, line string) string) {
	defer c.Close()
	r := bufio.NewReader(c)
	w := bufio.NewWriter(c)
	say := func(s string) {
		srv.mu.Lock()
		srv.log += "S: " + s + "\n"
		srv.mu.Unlock()
		w.WriteString(s + "\r\n")
		if r.Buffered() == 0 { // answer a pipelined group at its end
			w.Flush()
		}
	}
	say("220 scripted ESMTP")
	var rcpt string
	accepted := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		srv.mu.Lock()
		srv.log += "C: " + line + "\n"
		srv.mu.Unlock()
		answer := reply(rcpt, line)
		switch {
		case strings.HasPrefix(line, "EHLO"):
			say("250-scripted\r\n250-PIPELINING\r\n250 SIZE 10240000")
		case strings.HasPrefix(line, "MAIL FROM:"):
			rcpt, accepted = "", false
			say("250 2.1.0 Ok")
		case strings.HasPrefix(line, "RCPT TO:"):
			if strings.HasPrefix(answer, "2") {
				rcpt, accepted = strings.TrimSuffix(strings.TrimPrefix(line, "RCPT TO:<"), ">"), true
			} else {
				rcpt = strings.TrimSuffix(strings.TrimPrefix(line, "RCPT TO:<"), ">")
			}
			say(answer)
		case line == "DATA":
			say(answer)
			if !strings.HasPrefix(answer, "354") {
				continue
			}
			body := 0
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					srv.mu.Lock()
					srv.log += "C: .\n"
					srv.mu.Unlock()
					break
				}
				body++
			}
			if !accepted || body == 0 {
				srv.mu.Lock()
				srv.delivered = append(srv.delivered, "")
				srv.mu.Unlock()
				say("554 5.5.1 no valid recipients")
				continue
			}
			srv.mu.Lock()
			srv.delivered = append(srv.delivered, rcpt)
			srv.mu.Unlock()
			say("250 2.0.0 Ok: queued as 4ABC")
		case line == "RSET":
			rcpt, accepted = "", false
			say("250 2.0.0 Ok")
		case line == "QUIT":
			say("221 2.0.0 Bye")
			return
		default:
			say("502 5.5.2 Error: command not recognized")
		}
	}
}
