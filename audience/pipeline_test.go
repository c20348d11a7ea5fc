package audience

import (
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
)

// mixedAudience writes n CSV rows that exercise everything order-dependent
// across many batches: invalid rows, duplicates of valid and of invalid
// rows far behind (batches back), duplicates that are also invalid, rows
// that cannot be decoded, and quoted line breaks that shift the line
// numbers. It returns the file and, computed independently of the reader,
// what reading it must give: "ok LINE ID" for a recipient, the error lines
// for an invalid row.
func mixedAudience(n int) (string, []string) {
	var b strings.Builder
	var want []string
	b.WriteString("id,timezone,note\n")
	line := 2
	first := map[string]int{} // id -> line of its first decoded row
	var ids []string          // ids in file order, for picking duplicates
	for i := range n {
		id := fmt.Sprintf("r%d", i)
		zone, note := "Europe/Rome", "x"
		decoded := true
		switch {
		case i%211 == 5: // wrong field count: not decoded, its id not seen
			fmt.Fprintf(&b, "%s,Europe/Rome\n", id)
			want = append(want, fmt.Sprintf("c.csv:%d: the row has 2 fields but the header has 3: quote values that contain commas, or add the missing fields", line))
			decoded = false
		case i%173 == 9:
			id = ""
		case i%97 == 3 && len(ids) > 600: // duplicate of a row over two batches back
			id = ids[len(ids)-600]
		case i%89 == 1 && len(ids) > 300: // duplicate that is also invalid, of a row far back
			id, zone = ids[len(ids)/3], "Mars/Base"
		case i%101 == 7:
			zone = "Mars/Base"
		case i%307 == 11:
			note = "\"two\nlines\""
		}
		if !decoded {
			line++
			continue
		}
		fmt.Fprintf(&b, "%s,%s,%s\n", id, zone, note)
		var errs []string
		if id == "" {
			errs = append(errs, fmt.Sprintf(`c.csv:%d: id "": empty: every row needs a unique id`, line))
		} else if f, dup := first[id]; dup {
			errs = append(errs, fmt.Sprintf(`c.csv:%d: id %q: duplicate of line %d`, line, id, f))
		} else {
			first[id] = line
			ids = append(ids, id)
		}
		if zone != "Europe/Rome" {
			errs = append(errs, fmt.Sprintf(`c.csv:%d: timezone %q: unknown time zone`, line, zone))
		}
		if errs == nil {
			want = append(want, fmt.Sprintf("ok %d %s", line, id))
		}
		want = append(want, errs...)
		line += 1 + strings.Count(note, "\n")
	}
	return b.String(), want
}

// readOut reads every row as readAll does but keeps valid rows and error
// lines in one list, in the order Next returned them.
func readOut(t *testing.T, r *Reader) ([]string, error) {
	t.Helper()
	var out []string
	for {
		rcp, err := r.Next()
		if err != nil {
			var re RowErrors
			if !errors.As(err, &re) {
				return out, err
			}
			out = append(out, strings.Split(err.Error(), "\n")...)
			continue
		}
		out = append(out, fmt.Sprintf("ok %d %s", rcp.Line, rcp.ID))
	}
}

// withProcs runs the test with at least n Ps, so the pipeline starts (and
// has several workers) even on a one-core machine.
func withProcs(t *testing.T, n int) {
	prev := runtime.GOMAXPROCS(max(n, runtime.GOMAXPROCS(0)))
	t.Cleanup(func() { runtime.GOMAXPROCS(prev) })
}

// waitGoroutines fails unless the goroutine count is back to want within a
// few seconds. A worker that has called wg.Done is still counted for a
// moment, so a single reading right after Close could be too early.
func waitGoroutines(t *testing.T, want int, when string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > want && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > want {
		t.Fatalf("%s: %d goroutines running, want %d", when, g, want)
	}
}

func TestPipelineKeepsFileOrderAndDuplicates(t *testing.T) {
	withProcs(t, 4)
	data, want := mixedAudience(12_000)
	modes := []struct {
		name       string
		sequential bool
		rows       int
	}{
		{"pipeline", false, batchSize},
		{"pipeline with batches of 3", false, 3},
		{"sequential", true, batchSize},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			before := runtime.NumGoroutine()
			r, err := NewReader(strings.NewReader(data), "c.csv", Options{})
			if err != nil {
				t.Fatal(err)
			}
			r.sequential, r.batchRows = m.sequential, m.rows
			got, err := readOut(t, r)
			if err != io.EOF {
				t.Fatalf("reading ended with %v, want io.EOF", err)
			}
			if !reflect.DeepEqual(got, want) {
				for i := range min(len(got), len(want)) {
					if got[i] != want[i] {
						t.Fatalf("entry %d: got %q, want %q (%d entries, want %d)", i, got[i], want[i], len(got), len(want))
					}
				}
				t.Fatalf("got %d entries, want %d", len(got), len(want))
			}
			if _, err := r.Next(); err != io.EOF {
				t.Errorf("Next after the end = %v, want io.EOF again", err)
			}
			// Reaching the end stops the goroutines without Close.
			waitGoroutines(t, before, "after io.EOF")
		})
	}
}

func TestDuplicateAcrossBatchesNamesFirstLine(t *testing.T) {
	withProcs(t, 4)
	var b strings.Builder
	b.WriteString("id,timezone\nc-1,Europe/Rome\nc-2,Mars/Base\n")
	for i := range 3 * batchSize {
		fmt.Fprintf(&b, "x-%d,Asia/Jakarta\n", i)
	}
	// Lines 3*batchSize+4 and on: far from the first rows, in a batch a
	// worker checked while another worker held the first ones.
	b.WriteString("c-1,Asia/Jakarta\nc-2,Asia/Jakarta\n\"c-1\",Europe/Rome\n")
	_, msgs := readAll(t, "c.csv", b.String(), Options{})
	at := 3*batchSize + 4
	want := []string{
		`c.csv:3: timezone "Mars/Base": unknown time zone`,
		fmt.Sprintf(`c.csv:%d: id "c-1": duplicate of line 2`, at),
		fmt.Sprintf(`c.csv:%d: id "c-2": duplicate of line 3`, at+1),
		fmt.Sprintf(`c.csv:%d: id "c-1": duplicate of line 2`, at+2),
	}
	if !reflect.DeepEqual(msgs, want) {
		t.Errorf("errors:\n got %q\nwant %q", msgs, want)
	}
}

func TestPipelineStartsOnlyForLargerFiles(t *testing.T) {
	withProcs(t, 4)
	small, _ := mixedAudience(batchSize - 10)
	r, err := NewReader(strings.NewReader(small), "c.csv", Options{})
	if err != nil {
		t.Fatal(err)
	}
	r.Next()
	if r.pipe != nil {
		t.Error("a file smaller than a batch started worker goroutines")
	}
	large, _ := mixedAudience(10 * batchSize)
	r, err = NewReader(strings.NewReader(large), "c.csv", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.pipe != nil {
		t.Error("NewReader started goroutines before the first Next")
	}
	r.Next()
	if r.pipe == nil {
		t.Error("a file of ten batches is read without the pipeline")
	}
	r.Close()
}

func TestCloseStopsGoroutines(t *testing.T) {
	withProcs(t, 4)
	data, want := mixedAudience(20_000)
	before := runtime.NumGoroutine()
	r, err := NewReader(strings.NewReader(data), "c.csv", Options{})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 * batchSize {
		r.Next()
	}
	if r.pipe == nil {
		t.Fatal("the pipeline did not start")
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	waitGoroutines(t, before, "after Close")
	if _, err := r.Next(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Next after Close = %v, want an error wrapping os.ErrClosed", err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}

	// A reader closed before any Next, and one read to the end then
	// closed, leave nothing behind either and keep their answers.
	r, _ = NewReader(strings.NewReader(data), "c.csv", Options{})
	r.Close()
	r, _ = NewReader(strings.NewReader(data), "c.csv", Options{})
	got, err := readOut(t, r)
	if err != io.EOF || len(got) != len(want) {
		t.Fatalf("read %d entries ending with %v, want %d and io.EOF", len(got), err, len(want))
	}
	r.Close()
	if _, err := r.Next(); err != io.EOF {
		t.Errorf("Next after the end and Close = %v, want io.EOF", err)
	}
	waitGoroutines(t, before, "after reading to the end")
}

// A caller may stop reading without Close (campaign code stops early on a
// cancelled context): the workers fill the bounded read-ahead and exit;
// reading again starts them again and misses nothing.
func TestIdleReaderLeavesNoGoroutine(t *testing.T) {
	withProcs(t, 4)
	data, want := mixedAudience(20_000)
	before := runtime.NumGoroutine()
	r, err := NewReader(strings.NewReader(data), "c.csv", Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for len(got) < 3*batchSize {
		part, _ := readN(r, 1)
		got = append(got, part...)
	}
	waitGoroutines(t, before, "while the caller does not read")
	rest, err := readOut(t, r)
	if err != io.EOF {
		t.Fatalf("reading ended with %v", err)
	}
	if got = append(got, rest...); !reflect.DeepEqual(got, want) {
		t.Errorf("after a pause: got %d entries, want %d, or not in file order", len(got), len(want))
	}
	waitGoroutines(t, before, "after io.EOF")
}

// readN calls Next n times and returns what readOut would list for them.
func readN(r *Reader, n int) ([]string, error) {
	var out []string
	for range n {
		rcp, err := r.Next()
		if err != nil {
			var re RowErrors
			if !errors.As(err, &re) {
				return out, err
			}
			out = append(out, strings.Split(err.Error(), "\n")...)
			continue
		}
		out = append(out, fmt.Sprintf("ok %d %s", rcp.Line, rcp.ID))
	}
	return out, nil
}

type failingReader struct{ err error }

func (f failingReader) Read([]byte) (int, error) { return 0, f.err }

// A read error part way through gives every row before it, in order, then
// the error, then the same error again; the goroutines are gone.
func TestReadErrorAfterManyBatches(t *testing.T) {
	withProcs(t, 4)
	data, want := mixedAudience(5_000)
	boom := errors.New("disk on fire")
	for _, sequential := range []bool{false, true} {
		before := runtime.NumGoroutine()
		r, err := NewReader(io.MultiReader(strings.NewReader(data), failingReader{boom}), "c.csv", Options{})
		if err != nil {
			t.Fatal(err)
		}
		r.sequential = sequential
		got, err := readOut(t, r)
		if !errors.Is(err, boom) {
			t.Fatalf("sequential=%v: reading ended with %v, want %v", sequential, err, boom)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("sequential=%v: %d entries before the error, want %d", sequential, len(got), len(want))
		}
		if _, again := r.Next(); !errors.Is(again, boom) {
			t.Errorf("sequential=%v: Next after the error = %v", sequential, again)
		}
		waitGoroutines(t, before, "after a read error")
	}
}

// Columns of JSON Lines are those of the rows handed out, even though the
// workers have read further.
func TestJSONLColumnsFollowRowsHandedOut(t *testing.T) {
	withProcs(t, 4)
	var b strings.Builder
	const n = 6 * batchSize
	for i := range n {
		// A new key every 300 rows; the last one is far beyond the first
		// batches the workers read ahead.
		fmt.Fprintf(&b, "{\"id\":\"r%d\",\"K%d\":1}\n", i, i/300)
	}
	for _, sequential := range []bool{false, true} {
		r, err := NewReader(strings.NewReader(b.String()), "p.jsonl", Options{})
		if err != nil {
			t.Fatal(err)
		}
		r.sequential = sequential
		for i := range n {
			if _, err := r.Next(); err != nil {
				t.Fatal(err)
			}
			if i%300 != 0 && i != n-1 {
				continue
			}
			want := []string{"id"}
			for k := 0; k <= i/300; k++ {
				want = append(want, fmt.Sprintf("K%d", k))
			}
			if got := r.Columns(); !reflect.DeepEqual(got, want) {
				t.Fatalf("sequential=%v: Columns after row %d = %q, want %q", sequential, i, got, want)
			}
		}
		r.Close()
	}
}

func TestIDSetTellsIDsApart(t *testing.T) {
	var s idSet
	s.init()
	// Enough ids to grow the table several times and fill several arena
	// chunks, including one id longer than a chunk.
	long := strings.Repeat("z", maxChunk+100)
	ids := []string{"", "a", "A", "a ", long, long[:maxChunk-5]}
	for i := range 50_000 {
		ids = append(ids, fmt.Sprintf("id-%d", i))
	}
	// Ids of a chunk each push the arena past 16 MB, beyond what the
	// first references address: the table trades tag bits for reference
	// bits and still tells every id apart.
	for i := range 24 {
		ids = append(ids, fmt.Sprintf("%d-%s", i, long))
	}
	for i, id := range ids {
		if first, dup, err := s.add(id, i+2); dup || err != nil {
			t.Fatalf("%.20q reported as a duplicate of line %d (%v)", id, first, err)
		}
	}
	if s.refBits <= minRefBits {
		t.Fatalf("references still have %d bits with a %d-chunk arena", s.refBits, len(s.chunks))
	}
	for i, id := range ids {
		if first, dup, err := s.add(id, 1_000_000); !dup || first != i+2 || err != nil {
			t.Fatalf("%.20q again: got (%d, %v, %v), want (%d, true)", id, first, dup, err, i+2)
		}
	}
	if s.count != len(ids) {
		t.Fatalf("the set counts %d ids, want %d", s.count, len(ids))
	}
}
