package state

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

func TestIDTableIsExact(t *testing.T) {
	tab := newIDTable()
	const n = 50000
	for i := range n {
		tab.set(fmt.Sprintf("r-%d", i), recState{flags: uint8(i % 7), attempts: uint8(i % 5)})
	}
	for i := range n {
		if got, want := tab.get(fmt.Sprintf("r-%d", i)), (recState{flags: uint8(i % 7), attempts: uint8(i % 5)}); got != want {
			t.Fatalf("r-%d: %+v, want %+v", i, got, want)
		}
	}
	for _, id := range []string{"r-", "r-50000", "", "R-1", "r-1 "} {
		if got := tab.get(id); got != (recState{}) {
			t.Errorf("%q was never set but reads %+v", id, got)
		}
	}
	tab.set("r-1", recState{flags: flagSent})
	if tab.get("r-1").flags != flagSent || tab.n != n {
		t.Errorf("overwriting: %+v, %d ids", tab.get("r-1"), tab.n)
	}
}

// BenchmarkIndexMillion reports the memory a million recipients take in
// the journal index (the SPEC's scale target keeps send under 60 MB).
func BenchmarkIndexMillion(b *testing.B) {
	for range b.N {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		ix := NewIndex("c", time.Time{})
		for i := range 1_000_000 {
			ix.Add(Entry{Campaign: "c", Recipient: fmt.Sprintf("customer-%07d", i), Status: StatusSent})
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/1e6, "MB/1M-ids")
		runtime.KeepAlive(ix)
	}
}
