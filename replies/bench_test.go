package replies

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"herald/state"
)

// benchConcurrency is how many requests are in flight at once: group
// commit batches what arrives while an fsync runs, so a receiver is only
// as fast as its providers are concurrent (Twilio delivers in parallel).
const benchConcurrency = 64

// benchServer runs a Server from the full test configuration behind Serve
// on 127.0.0.1, as `herald replies serve` does, logging one text line per
// request into a file as the command does into its stderr.
func benchServer(b *testing.B) (base, stateDir string, stop func()) {
	cfg := loadTestConfig(b, fullConfig)
	writeJournal(b, cfg.StateDir, sends...)
	logFile, err := os.Create(filepath.Join(b.TempDir(), "serve.log"))
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(logFile, nil))
	srv, err := NewServer(ServerOptions{Registry: testRegistry(), Config: cfg, Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, srv, log) }()
	return ln.Addr().String(), cfg.StateDir, func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
		logFile.Close()
	}
}

// benchPost sends b.N signed requests from benchConcurrency keep-alive
// connections; each is a distinct inbound message, so each one verifies its
// signature, matches the journal and appends a durable row, which the
// benchmark counts in replies.csv afterwards. Requests are built and signed
// before the timer starts; during it the client writes prepared bytes and
// reads responses with net/http's parser.
func benchPost(b *testing.B, makeReq func(n int) wreq) {
	addr, stateDir, stop := benchServer(b)
	defer stop()
	reqs := make([][]byte, b.N)
	for i := range reqs {
		r := makeReq(i)
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+r.path, bytes.NewReader(r.body))
		req.Header = r.header
		var buf bytes.Buffer
		req.Write(&buf)
		reqs[i] = buf.Bytes()
	}
	var next atomic.Int64
	errs := make(chan error, benchConcurrency)
	b.ResetTimer()
	for range benchConcurrency {
		go func() {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				errs <- err
				return
			}
			defer conn.Close()
			br := bufio.NewReader(conn)
			for {
				i := int(next.Add(1)) - 1
				if i >= len(reqs) {
					errs <- nil
					return
				}
				if _, err := conn.Write(reqs[i]); err != nil {
					errs <- err
					return
				}
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					errs <- err
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					errs <- fmt.Errorf("request %d: status %d", i, resp.StatusCode)
					return
				}
			}
		}()
	}
	for range benchConcurrency {
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	rows := 0
	if err := state.OpenFiles(stateDir).ReadReplies(context.Background(), func(state.Reply) error { rows++; return nil }); err != nil {
		b.Fatal(err)
	}
	if rows != b.N {
		b.Fatalf("replies.csv has %d rows after %d requests answered 200", rows, b.N)
	}
}

func BenchmarkServeTwilio(b *testing.B) {
	benchPost(b, func(n int) wreq {
		return twilioReq(twilioToken, "/webhooks/twilio", twilioSMS(fmt.Sprintf("SMbench%026d", n), "+6281234567890", "Bisa diantar besok sore?"))
	})
}

func BenchmarkServeWhatsApp(b *testing.B) {
	benchPost(b, func(n int) wreq {
		return metaReq(metaAppSecret, waMessage(fmt.Sprintf("wamid.BENCH%d", n), "16315551234", "Can you deliver tomorrow afternoon?", ""))
	})
}
