package audience

import (
	"os"
	"runtime"
	"strconv"
	"testing"
)

// TestIDSetMillionMemory measures what the duplicate check keeps for a
// million ids shaped like the generator's ("c-1" to "c-1000000"), the
// number SPEC §5 plans for. Run with AUDIENCE_MILLION=1.
func TestIDSetMillionMemory(t *testing.T) {
	if os.Getenv("AUDIENCE_MILLION") == "" {
		t.Skip("set AUDIENCE_MILLION=1 to fill the id set with a million ids")
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var s idSet
	s.init()
	for i := range 1_000_000 {
		if _, dup, _ := s.add("c-"+strconv.Itoa(i+1), i+2); dup {
			t.Fatalf("c-%d reported as a duplicate", i+1)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	arena := 0
	for _, c := range s.chunks {
		arena += cap(c)
	}
	t.Logf("1,000,000 ids: %.1f MB in use (table %.1f MB, arena %.1f MB)", float64(after.HeapAlloc-before.HeapAlloc)/(1<<20),
		float64(4*len(s.slots))/(1<<20), float64(arena)/(1<<20))
	runtime.KeepAlive(&s)
}

// BenchmarkIDSet adds a million ids shaped like the generator's and
// reports the heap they keep per id: the one part of reading that grows
// with the audience.
func BenchmarkIDSet(b *testing.B) {
	ids := make([]string, 1_000_000)
	for i := range ids {
		ids[i] = "c-" + strconv.Itoa(i+1)
	}
	var perID float64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		var s idSet
		s.init()
		for i, id := range ids {
			if _, dup, _ := s.add(id, i+2); dup {
				b.Fatalf("%s reported as a duplicate", id)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perID = float64(after.HeapAlloc-before.HeapAlloc) / float64(len(ids))
		runtime.KeepAlive(&s)
	}
	b.ReportMetric(perID, "bytes/id")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ids)), "ns/id")
}
