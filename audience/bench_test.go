package audience_test

import (
	"bytes"
	"io"
	"os"
	"runtime"
	"testing"
	"time"

	"herald/audience"
	"herald/audience/audiencetest"
)

// BenchmarkReader reads and validates a generated audience; rows/s is the
// number to watch (SPEC §5: a million rows in seconds).
func BenchmarkReader(b *testing.B) {
	const rows = 100_000
	var buf bytes.Buffer
	if err := audiencetest.Generate(&buf, rows, 1); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r, err := audience.NewReader(bytes.NewReader(data), "bench.csv", audience.Options{})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != rows {
			b.Fatalf("read %d rows", n)
		}
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkReaderSmall reads a 20-row audience, the size of a test
// campaign: the time a user waits for `herald check` on it. Files under a
// batch are read on the calling goroutine, as before the pipeline.
func BenchmarkReaderSmall(b *testing.B) {
	var buf bytes.Buffer
	if err := audiencetest.Generate(&buf, 20, 1); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.ReportAllocs()
	for b.Loop() {
		r, err := audience.NewReader(bytes.NewReader(data), "small.csv", audience.Options{})
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := r.Next(); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
		r.Close()
	}
}

// TestMillionRowsMemory reads a million generated rows and reports the wall
// time and the heap left in use: the id set (28 MB) and the phone metadata
// tables of the regions met (built on first use, the same for any size). It takes a while, so it
// only runs with AUDIENCE_MILLION=1 (go test -run Million -v ./audience/).
// With AUDIENCE_FILE=path it reads that file instead of generating rows on
// the fly, so the generator's CPU does not count and an outside tool
// (/usr/bin/time -v) can measure the peak RSS of reading alone.
func TestMillionRowsMemory(t *testing.T) {
	if os.Getenv("AUDIENCE_MILLION") == "" {
		t.Skip("set AUDIENCE_MILLION=1 to read a million rows")
	}
	var src io.Reader
	if path := os.Getenv("AUDIENCE_FILE"); path != "" {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		src = f
	} else {
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(audiencetest.Generate(pw, 1_000_000, 7)) }()
		src = pr
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	r, err := audience.NewReader(src, "big.csv", audience.Options{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		_, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	wall := time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&after)
	t.Logf("%d rows in %v (%.0f rows/s), heap in use after reading: %.1f MB", n, wall.Round(time.Millisecond),
		float64(n)/wall.Seconds(), float64(after.HeapAlloc-before.HeapAlloc)/(1<<20))
	runtime.KeepAlive(r)
}
