package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"herald/state"
	"herald/state/pgtest"
)

// TestMain lets the test binary act as the herald binary, so the scripts
// under testdata/script run the real command line end to end.
func TestMain(m *testing.M) {
	// Tests that start herald as a separate process (to kill it) re-run
	// this binary with HERALD_TEST_AS_MAIN=1.
	if os.Getenv("HERALD_TEST_AS_MAIN") == "1" {
		main()
		return
	}
	testscript.Main(stopPostgres{m}, map[string]func(){
		"herald": func() {
			os.Args = withTestState(os.Args)
			os.Exit(mainRun())
		},
	})
}

// stopPostgres stops the throwaway PostgreSQL cluster (if a test started
// one) once the tests have run.
type stopPostgres struct{ m *testing.M }

func (s stopPostgres) Run() int {
	defer pgtest.Stop()
	return s.m.Run()
}

// The end-to-end scripts, run against each store. On PostgreSQL the
// scripts whose subject is the files themselves are left out: shards and
// reports over several state directories, a reply log copied into a state
// directory (history_demo, report_demo), what replies serve leaves in a state
// directory, journal.jsonl's existence (secrets), herald.toml's state key
// (state_postgres_errors, which --state would override), the state files
// that config discovery places and CSV escaping leaves alone
// (config_discovery, csv_injection), and the journal file a refused send
// must not write (send_render_refused).
var scriptStores = []struct {
	name    string
	exclude map[string]bool
}{
	{"files", nil},
	{"postgres", map[string]bool{"report_shards": true, "send_shard": true, "replies_serve": true, "history_demo": true, "report_demo": true,
		"secrets": true, "state_postgres_errors": true, "config_discovery": true, "csv_injection": true, "send_render_refused": true}},
}

// withTestState points every command of a script at the database the
// script was given (HERALD_TEST_STATE_URL), unless it names its own state.
func withTestState(args []string) []string {
	u := os.Getenv("HERALD_TEST_STATE_URL")
	if u == "" || len(args) == 0 {
		return args
	}
	for _, a := range args {
		if a == "--state" || strings.HasPrefix(a, "--state=") {
			return args
		}
	}
	return append([]string{args[0], "--state", u}, args[1:]...)
}

func TestScripts(t *testing.T) {
	for _, st := range scriptStores {
		t.Run(st.name, func(t *testing.T) {
			var files []string
			all, _ := filepath.Glob("../../testdata/script/*.txtar")
			for _, f := range all {
				if !st.exclude[strings.TrimSuffix(filepath.Base(f), ".txtar")] {
					files = append(files, f)
				}
			}
			if st.name == "postgres" {
				pgtest.URL(t) // skips, or fails in CI, without a server
			}
			runScripts(t, files, st.name == "postgres")
		})
	}
}

func runScripts(t *testing.T, files []string, postgres bool) {
	demo, err := filepath.Abs("../../testdata/demo")
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Files:               files,
		RequireExplicitExec: true,
		// HERALD_UPDATE_GOLDEN=1 rewrites `cmp stdout file` sections; review the diff.
		UpdateScripts: os.Getenv("HERALD_UPDATE_GOLDEN") != "",
		Setup: func(env *testscript.Env) error {
			// Every script gets its own copy of the demo campaign.
			env.Setenv("HERALD_CONFIG", "")
			if postgres {
				u, err := pgtest.NewDatabase()
				if err != nil {
					return err
				}
				env.Setenv("HERALD_TEST_STATE_URL", u)
			}
			return copyDir(demo, filepath.Join(env.WorkDir, "demo"))
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exitcode":    cmdExitcode,
			"jsonl-count": cmdJSONLCount,
		},
	})
}

// exitcode N prog args... runs a program and asserts its exact exit status
// (testscript's `! exec` only says "non-zero").
func cmdExitcode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exitcode N program [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exitcode: %q is not a number", args[0])
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("exitcode: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited with %d, want %d", args[1], got, want)
	}
}

// jsonl-count FILE N [key=value ...] asserts that exactly N lines of a JSON
// Lines file have all the given string values.
func cmdJSONLCount(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: jsonl-count file N [key=value ...]")
	}
	want, err := strconv.Atoi(args[1])
	if err != nil {
		ts.Fatalf("jsonl-count: %q is not a number", args[1])
	}
	var r io.Reader
	if u := ts.Getenv("HERALD_TEST_STATE_URL"); u != "" && filepath.Base(args[0]) == "journal.jsonl" {
		// the journal is the database's
		r = journalLines(ts, u)
	} else {
		f, err := os.Open(ts.MkAbs(args[0]))
		ts.Check(err)
		defer f.Close()
		r = f
	}
	got := 0
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var obj map[string]any
		if json.Unmarshal(sc.Bytes(), &obj) != nil {
			ts.Fatalf("jsonl-count: %s has a line that is not JSON: %s", args[0], sc.Text())
		}
		match := true
		for _, kv := range args[2:] {
			k, v, _ := strings.Cut(kv, "=")
			if s, _ := obj[k].(string); s != v {
				match = false
			}
		}
		if match {
			got++
		}
	}
	if (got == want) == neg {
		ts.Fatalf("jsonl-count: %d matching lines in %s, want %d", got, args[0], want)
	}
}

func copyDir(from, to string) error {
	return filepath.WalkDir(from, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		if d.IsDir() && d.Name() == ".herald" {
			return filepath.SkipDir
		}
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
}

// journalLines is the shared journal as journal.jsonl lines.
func journalLines(ts *testscript.TestScript, url string) io.Reader {
	st, err := state.Open(url)
	ts.Check(err)
	defer st.Close()
	var b bytes.Buffer
	ts.Check(st.ReadJournal(context.Background(), func(e state.Entry) error {
		line, err := json.Marshal(e)
		b.Write(line)
		b.WriteByte('\n')
		return err
	}))
	return &b
}
