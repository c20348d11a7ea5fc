package email

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	gomail "github.com/wneessen/go-mail"
)

// BenchmarkSMTPClients sends one pre-composed message of about 2 KB over
// one kept-open session with each SMTP client herald could use, so the
// numbers compare the clients and nothing else: go-mail's SMTP client
// (MAIL, RCPT, DATA, the body: four round trips; go-mail's Client.Send
// adds a NOOP and an RSET per message and renders a Msg, so this is its
// best case), go-smtp's Client.SendMail (the same four round trips), and
// herald's session (MAIL, RCPT and DATA pipelined: two round trips; and
// with pipelining off, four).
//
// The sink is Postfix's smtp-sink in its own process when it is installed
// (so cpu-µs/msg, this process's user+system CPU per message, is the
// client's alone), else the in-process go-smtp test server (then its CPU
// counts too). HERALD_SMTP_SINK=host:port uses a sink already running.
func BenchmarkSMTPClients(b *testing.B) {
	addr, sinkName := benchSink(b)
	b.Logf("sink: %s at %s", sinkName, addr)
	host, portText, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portText)

	c := Composer{From: "Acme Support <support@acme.example>", ReplyTo: "replies@acme.example"}
	m := message("bench", "r1", "customer1@example.com")
	m.Subject = "Your order 12345 is delayed — ご注文の配送が遅れています"
	m.Text = strings.Repeat("Hello, your order is late. We are sorry.\n", 25)
	m.HTML = "<p>" + strings.Repeat("Hello, your order is late. We are sorry.<br>\n", 22) + "</p>"
	m.UnsubscribeURL = "https://notify.acme.example/unsubscribe/abcdefghijklmnop"
	raw, err := c.Compose(m)
	if err != nil {
		b.Fatal(err)
	}
	const from, to = "support@acme.example", "customer1@example.com"
	ctx := context.Background()

	clients := []struct {
		name string
		open func(b *testing.B) (send func() error, close func())
	}{
		{"go-mail", func(b *testing.B) (func() error, func()) {
			gc, err := gomail.NewClient(host, gomail.WithPort(port), gomail.WithTLSPolicy(gomail.NoTLS), gomail.WithHELO("acme.example"))
			if err != nil {
				b.Fatal(err)
			}
			sc, err := gc.DialToSMTPClientWithContext(ctx)
			if err != nil {
				b.Fatal(err)
			}
			return func() error {
				if err := sc.UpdateDeadline(time.Minute); err != nil {
					return err
				}
				if err := sc.Mail(from); err != nil {
					return err
				}
				if err := sc.Rcpt(to); err != nil {
					return err
				}
				w, err := sc.Data()
				if err != nil {
					return err
				}
				if _, err := w.Write(raw); err != nil {
					return err
				}
				return w.Close()
			}, func() { gc.CloseWithSMTPClient(sc) }
		}},
		{"go-smtp", func(b *testing.B) (func() error, func()) {
			nc, err := net.Dial("tcp", addr)
			if err != nil {
				b.Fatal(err)
			}
			sc := smtp.NewClient(nc)
			if err := sc.Hello("acme.example"); err != nil {
				b.Fatal(err)
			}
			return func() error {
				return sc.SendMail(from, []string{to}, bytes.NewReader(raw))
			}, func() { sc.Quit() }
		}},
		{"herald", heraldClient(ctx, addr, from, to, raw, true)},
		{"herald-without-pipelining", heraldClient(ctx, addr, from, to, raw, false)},
	}
	for _, cl := range clients {
		b.Run(cl.name, func(b *testing.B) {
			send, done := cl.open(b)
			defer done()
			if err := send(); err != nil { // a first message outside the clock
				b.Fatal(err)
			}
			b.ReportAllocs()
			cpu0 := processCPU()
			b.ResetTimer()
			for b.Loop() {
				if err := send(); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			elapsed := b.Elapsed()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
			b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/msg")
		})
	}
}

func heraldClient(ctx context.Context, addr, from, to string, raw []byte, pipelining bool) func(b *testing.B) (func() error, func()) {
	return func(b *testing.B) (func() error, func()) {
		snd, err := newFromTOML(`url = "smtp://`+addr+`"`+"\n"+`from = "Acme Support <support@acme.example>"`, 1)
		if err != nil {
			b.Fatal(err)
		}
		sess, err := dial(ctx, snd.cfg)
		if err != nil {
			b.Fatal(err)
		}
		if !sess.pipelining {
			b.Log("the sink does not offer PIPELINING")
		}
		sess.pipelining = sess.pipelining && pipelining
		return func() error {
			_, err := sess.send(ctx, from, to, raw)
			return err
		}, sess.quit
	}
}

// processCPU is the user and system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchSink returns the address of an SMTP sink: HERALD_SMTP_SINK, a
// Postfix smtp-sink started for the benchmark, or the in-process test
// server.
func benchSink(b *testing.B) (addr, name string) {
	if addr := os.Getenv("HERALD_SMTP_SINK"); addr != "" {
		return addr, "HERALD_SMTP_SINK"
	}
	path, err := exec.LookPath("smtp-sink")
	if err != nil {
		path = "/usr/sbin/smtp-sink"
	}
	if _, err := os.Stat(path); err != nil {
		ts := startServer(b, serverOpts{discard: true})
		return ts.addr, "in-process go-smtp server"
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr = ln.Addr().String()
	ln.Close()
	args := []string{addr, "64"}
	if os.Geteuid() == 0 {
		args = append([]string{"-u", "nobody"}, args...)
	}
	cmd := exec.Command(path, args...)
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return addr, fmt.Sprintf("smtp-sink (%s)", path)
		}
		if time.Now().After(deadline) {
			b.Fatalf("smtp-sink did not listen on %s: %v", addr, err)
		}
	}
}
