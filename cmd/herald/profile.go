package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
)

// startProfiles writes pprof profiles of the whole command when
// HERALD_CPUPROFILE or HERALD_MEMPROFILE name a file, so a slow or large
// run can be profiled as users run it, with no special build. The returned
// function ends the CPU profile and writes the heap profile.
func startProfiles() (stop func(), err error) {
	var cpu *os.File
	if path := os.Getenv("HERALD_CPUPROFILE"); path != "" {
		if cpu, err = os.Create(path); err != nil {
			return nil, fmt.Errorf("HERALD_CPUPROFILE: %w", err)
		}
		if err := pprof.StartCPUProfile(cpu); err != nil {
			cpu.Close()
			return nil, fmt.Errorf("HERALD_CPUPROFILE: %w", err)
		}
	}
	return func() {
		if cpu != nil {
			pprof.StopCPUProfile()
			cpu.Close()
		}
		if path := os.Getenv("HERALD_MEMPROFILE"); path != "" {
			f, err := os.Create(path)
			if err != nil {
				fmt.Fprintf(os.Stderr, "herald: HERALD_MEMPROFILE: %v\n", err)
				return
			}
			defer f.Close()
			runtime.GC() // the profile shows live memory as of now
			if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
				fmt.Fprintf(os.Stderr, "herald: HERALD_MEMPROFILE: %v\n", err)
			}
		}
	}, nil
}
