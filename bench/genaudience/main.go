// Command genaudience writes a realistic audience CSV of N rows to standard
// output, for the scale benchmarks (see bench/README.md).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"

	"herald/audience/audiencetest"
)

func main() {
	n := flag.Int("n", 1_000_000, "rows")
	seed := flag.Int64("seed", 1, "random seed (same seed, same file)")
	flag.Parse()
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	if err := audiencetest.Generate(w, *n, *seed); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
