package audience

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
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
	table := 4 * len(s.slots)
	t.Logf("1,000,000 ids: %.1f MB mapped outside the heap (table %.1f MB, arena %.1f MB), %.1f MB of heap",
		float64(table+arena)/(1<<20), float64(table)/(1<<20), float64(arena)/(1<<20), float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/(1<<20))
	if heap := int64(after.HeapAlloc) - int64(before.HeapAlloc); heap > 1<<20 {
		t.Errorf("the id set keeps %d bytes in the Go heap, want under 1 MB: its table and arena belong outside", heap)
	}
	s.free()
}

// BenchmarkIDSet adds a million ids shaped like the generator's and
// reports the memory they keep per id (mapped outside the heap): the one
// part of reading that grows with the audience.
func BenchmarkIDSet(b *testing.B) {
	ids := make([]string, 1_000_000)
	for i := range ids {
		ids[i] = "c-" + strconv.Itoa(i+1)
	}
	var perID float64
	for b.Loop() {
		var s idSet
		s.init()
		for i, id := range ids {
			if _, dup, _ := s.add(id, i+2); dup {
				b.Fatalf("%s reported as a duplicate", id)
			}
		}
		arena := 0
		for _, c := range s.chunks {
			arena += cap(c)
		}
		perID = float64(4*len(s.slots)+arena) / float64(len(ids))
		s.free()
	}
	b.ReportMetric(perID, "bytes/id")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ids)), "ns/id")
}

// TestNextAfterClose reads one row of many, closes the reader (which
// hands the id set's memory back) and reads again: an error, never a row
// checked against freed memory.
func TestNextAfterClose(t *testing.T) {
	var csv strings.Builder
	csv.WriteString("id,email\n")
	for i := range 5000 {
		fmt.Fprintf(&csv, "c-%d,c%d@example.com\n", i, i)
	}
	r, err := NewReader(strings.NewReader(csv.String()), "audience.csv", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if rcp, err := r.Next(); err == nil || !errors.Is(err, os.ErrClosed) {
			t.Fatalf("Next after Close = %v, %v; want os.ErrClosed", rcp, err)
		}
	}
}
