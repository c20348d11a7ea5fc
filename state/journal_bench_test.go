package state_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"herald/state"
	"herald/state/pgtest"
)

// BenchmarkJournal: send workers that each journal an attempt, then its
// outcome, as `herald send` does around every message, with no provider
// in between: the journal's own cost per message, for each store.
// HERALD_PG_DURABLE=1 gives the throwaway cluster durable commits.
func BenchmarkJournal(b *testing.B) {
	for _, workers := range []int{1, 8} {
		b.Run(fmt.Sprintf("files/workers=%d", workers), func(b *testing.B) {
			benchJournal(b, state.OpenFiles(b.TempDir()), workers)
		})
		b.Run(fmt.Sprintf("postgres/workers=%d", workers), func(b *testing.B) {
			st, err := state.Open(pgtest.URL(b))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			benchJournal(b, st, workers)
		})
	}
}

func benchJournal(b *testing.B, st state.Store, workers int) {
	j, err := st.Journal(ctx, "bench", state.JournalOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	var next atomic.Int64
	b.ResetTimer()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				e := state.Entry{Campaign: "bench", Recipient: fmt.Sprintf("r%07d", i), Channel: "email",
					Address: fmt.Sprintf("customer%d@example.com", i), Locale: "en", Attempt: 1}
				if err := j.Attempt(ctx, e); err != nil {
					b.Error(err)
					return
				}
				e.Status, e.MessageID = state.StatusSent, fmt.Sprintf("<%d@example.com>", i)
				if err := j.Record(ctx, e); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
