package main

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// HERALD_CPUPROFILE and HERALD_MEMPROFILE make any command write pprof
// profiles (gzip-compressed protocol buffers, as go tool pprof reads).
func TestProfilesAreWrittenWhenAsked(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{
		"HERALD_CPUPROFILE": filepath.Join(dir, "cpu.out"),
		"HERALD_MEMPROFILE": filepath.Join(dir, "mem.out"),
	}
	stop, err := startProfiles(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if code := run(t.Context(), []string{"herald", "version"}, stdio{out: io.Discard, err: io.Discard}); code != 0 {
		t.Fatalf("version exited %d", code)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	for _, path := range env {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatalf("%s is not a pprof profile: %v", path, err)
		}
		b, err := io.ReadAll(zr)
		f.Close()
		if err != nil || len(b) == 0 {
			t.Errorf("%s: empty or broken profile (%v)", path, err)
		}
	}

	// A profile that cannot be created is a clear error before the run.
	env["HERALD_CPUPROFILE"] = filepath.Join(dir, "no-such-dir", "cpu.out")
	if _, err := startProfiles(func(k string) string { return env[k] }); err == nil {
		t.Error("an unwritable HERALD_CPUPROFILE should be an error")
	}
}
