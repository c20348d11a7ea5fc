package main

import (
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Go's default collector lets the heap grow to twice what is live. For a
// million-row audience that doubled the peak memory of check, plan and send
// (the live part is the duplicate-id set, the journal index and the phone
// metadata; the rest is garbage from planning and rendering rows). A fixed
// memory limit would bound it, but when more than the limit is live (a
// large journal) the collector runs without pause. So the limit follows
// what is live: half as much again, never below a floor that small runs
// stay under without collecting more often than by default.
const (
	gcFloor      = 40 << 20
	gcHeadroom   = 2 // limit = live + live/gcHeadroom
	gcRetuneEach = 50 * time.Millisecond
)

// tuneGC keeps the memory limit at live + live/2 (at least gcFloor) until
// stop is called. It does nothing when the user set GOGC or GOMEMLIMIT.
func tuneGC() (stop func()) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	retune := func() {
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return
		}
		live := int64(sample[0].Value.Uint64())
		debug.SetMemoryLimit(max(gcFloor, live+live/gcHeadroom))
	}
	retune()
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(gcRetuneEach)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				retune()
			case <-done:
				return
			}
		}
	}()
	return func() { close(done) }
}
