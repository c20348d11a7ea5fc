package email

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkSend measures messages per second into an in-process go-smtp
// sink over loopback (plain SMTP, pipelining on), with `concurrency`
// pooled sessions and as many workers. Message size is about 2 KB, like the
// DESIGN.md reference numbers. The sink runs in the same process, so its
// CPU counts against the result.
func BenchmarkSend(b *testing.B) {
	for _, conc := range []int{1, 4, 8} {
		b.Run(fmt.Sprintf("concurrency=%d", conc), func(b *testing.B) {
			ts := startServer(b, serverOpts{discard: true})
			s := newTestSender(b, ts, cfgFor(ts), conc)
			m := message("bench", "r", "someone@example.com")
			m.Subject = "Your order 12345 is delayed — ご注文の配送が遅れています"
			m.Text = strings.Repeat("Hello, your order is late. We are sorry.\n", 25)
			m.HTML = "<p>" + strings.Repeat("Hello, your order is late. We are sorry.<br>\n", 22) + "</p>"
			m.UnsubscribeURL = "https://notify.acme.example/unsubscribe/abcdefghijklmnop"
			if raw, _, _ := s.Encode(m); b.N == 1 {
				b.Logf("message size %d bytes", len(raw))
			}
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for range conc {
				wg.Go(func() {
					for next.Add(1) <= int64(b.N) {
						if _, err := s.Send(context.Background(), m); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
			if d := ts.dials.Load(); d > int64(conc) {
				b.Errorf("%d connections for concurrency %d", d, conc)
			}
		})
	}
}
