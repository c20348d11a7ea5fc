package replies

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
)

// benchServer runs a Server from the full test configuration behind Serve
// on 127.0.0.1, as `herald replies serve` does.
func benchServer(b *testing.B) (base string, stop func()) {
	cfg := loadTestConfig(b, fullConfig)
	writeJournal(b, cfg.StateDir, sends...)
	srv, err := NewServer(ServerOptions{Registry: testRegistry(), Config: cfg})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, srv, nil) }()
	return "http://" + ln.Addr().String(), func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
	}
}

// benchPost sends signed requests from parallel clients with keep-alive
// connections; each request is a distinct inbound message, so each one
// verifies its signature, matches the journal and appends a durable row.
func benchPost(b *testing.B, makeReq func(n int64) wreq) {
	base, stop := benchServer(b)
	defer stop()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var seq atomic.Int64
	b.SetParallelism(8) // providers deliver concurrently
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := makeReq(seq.Add(1))
			req, _ := http.NewRequest(http.MethodPost, base+r.path, bytes.NewReader(r.body))
			req.Header = r.header
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

func BenchmarkServeTwilio(b *testing.B) {
	benchPost(b, func(n int64) wreq {
		return twilioReq(twilioToken, "/webhooks/twilio", twilioSMS(fmt.Sprintf("SMbench%026d", n), "+6281234567890", "Bisa diantar besok sore?"))
	})
}

func BenchmarkServeWhatsApp(b *testing.B) {
	benchPost(b, func(n int64) wreq {
		return metaReq(metaAppSecret, waMessage(fmt.Sprintf("wamid.BENCH%d", n), "16315551234", "Can you deliver tomorrow afternoon?", ""))
	})
}
