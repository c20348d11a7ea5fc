package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
)

// startProfiles starts a CPU profile when HERALD_CPUPROFILE names a file,
// and returns the function that stops it and, when HERALD_MEMPROFILE names
// a file, writes a heap profile there. Any command can be profiled this way
// (go tool pprof FILE), including the real runs the benchmarks measure.
func startProfiles(getenv func(string) string) (stop func() error, err error) {
	cpuPath, memPath := getenv("HERALD_CPUPROFILE"), getenv("HERALD_MEMPROFILE")
	var cpu *os.File
	if cpuPath != "" {
		if cpu, err = os.Create(cpuPath); err != nil {
			return nil, fmt.Errorf("HERALD_CPUPROFILE: %w", err)
		}
		if err := pprof.StartCPUProfile(cpu); err != nil {
			cpu.Close()
			return nil, fmt.Errorf("HERALD_CPUPROFILE %s: %w", cpuPath, err)
		}
	}
	return func() error {
		var errs []error
		if cpu != nil {
			pprof.StopCPUProfile()
			if err := cpu.Close(); err != nil {
				errs = append(errs, fmt.Errorf("HERALD_CPUPROFILE %s: %w", cpuPath, err))
			}
		}
		if memPath != "" {
			errs = append(errs, writeHeapProfile(memPath))
		}
		return errors.Join(errs...)
	}, nil
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("HERALD_MEMPROFILE: %w", err)
	}
	runtime.GC() // the profile shows live memory as of the end of the run
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return fmt.Errorf("HERALD_MEMPROFILE %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("HERALD_MEMPROFILE %s: %w", path, err)
	}
	return nil
}
