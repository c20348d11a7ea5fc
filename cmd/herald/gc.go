package main

import (
	"os"
	"runtime/debug"
)

// gcPercent is herald's GOGC. Go's default (100) lets the heap grow to
// twice what is live before collecting; for a million-row audience that
// doubled peak memory (the live part is the journal index and the phone
// metadata, and was the duplicate-id set until it moved outside the heap;
// the rest is garbage from planning and rendering rows, which no run
// keeps). At 50 the heap peaks at 1.5 times what is live; with the id set
// outside, a million-row dry run measured 62-64 MB at 50 and 66 MB at 100. Measured on 100,000 rows (bench/million.sh with N=100000):
// `plan` 70 MB -> 57 MB peak RSS for 5-15 % more CPU. A memory limit that
// followed the live heap cut a little more memory but cost 50-75 % more CPU
// at a million rows (the scavenger returning pages to the OS), and a fixed
// limit collects without pause once a large journal index is live.
const gcPercent = 50

// tuneGC sets herald's GOGC unless the user set GOGC or GOMEMLIMIT, which
// then rule as usual.
func tuneGC() {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetGCPercent(gcPercent)
}
