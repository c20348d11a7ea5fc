package campaign

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"herald/audience"
)

func bigAudience(n int) string {
	var b strings.Builder
	b.WriteString("id,timezone\n")
	for i := range n {
		zone := "Europe/Rome"
		if i%97 == 13 {
			zone = "Mars/Olympus" // every 97th row is invalid
		}
		fmt.Fprintf(&b, "r%d,%s\n", i, zone)
	}
	return b.String()
}

// eachRow works on many goroutines but must hand rows back in file order,
// invalid ones included, exactly once each.
func TestEachRowKeepsFileOrder(t *testing.T) {
	const n = 5000
	r, err := audience.NewReader(strings.NewReader(bigAudience(n)), "a.csv", audience.Options{})
	if err != nil {
		t.Fatal(err)
	}
	next := 0
	err = eachRow(context.Background(), r, func(rec *audience.Recipient) string {
		return strings.ToUpper(rec.ID)
	}, func(rec *audience.Recipient, out string, rowErr error) error {
		if next%97 == 13 {
			if rowErr == nil || !strings.Contains(rowErr.Error(), fmt.Sprintf("a.csv:%d:", next+2)) {
				return fmt.Errorf("row %d: want its error, got %v / %v", next, rec, rowErr)
			}
		} else if rowErr != nil || rec.ID != fmt.Sprintf("r%d", next) || out != strings.ToUpper(rec.ID) {
			return fmt.Errorf("row %d: got %v %q %v", next, rec, out, rowErr)
		}
		next++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if next != n {
		t.Fatalf("%d rows emitted, want %d", next, n)
	}
}

// Stopping early (an emit error, a cancelled context) returns at once and
// leaves no goroutine behind.
func TestEachRowStopsEarly(t *testing.T) {
	before := runtime.NumGoroutine()
	stop := errors.New("enough")
	for _, cancelCtx := range []bool{false, true} {
		r, _ := audience.NewReader(strings.NewReader(bigAudience(20000)), "a.csv", audience.Options{})
		ctx, cancel := context.WithCancel(context.Background())
		seen := 0
		err := eachRow(ctx, r, func(rec *audience.Recipient) int { return 1 }, func(*audience.Recipient, int, error) error {
			seen++
			if seen == 300 {
				if cancelCtx {
					cancel()
					return nil
				}
				return stop
			}
			return nil
		})
		cancel()
		if cancelCtx && !errors.Is(err, context.Canceled) || !cancelCtx && !errors.Is(err, stop) {
			t.Errorf("cancel=%v: err = %v", cancelCtx, err)
		}
		if seen > 300+rowBatchSize {
			t.Errorf("cancel=%v: %d rows emitted after the stop", cancelCtx, seen)
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > before {
		t.Errorf("%d goroutines left running (had %d)", g, before)
	}
}
