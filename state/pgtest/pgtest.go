// Package pgtest gives tests a real PostgreSQL: the server named by
// HERALD_TEST_POSTGRES, or a throwaway cluster made with initdb and pg_ctl
// from Debian's postgresql package in a temporary directory, run as an
// unprivileged user on a free loopback port. Every test gets a database of
// its own.
//
// Where no server can start, tests skip, except in CI (CI=true), where they
// fail: a CI run must never pass by skipping the database.
package pgtest

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

var (
	once     sync.Once
	adminURL string // a database we may CREATE DATABASE from
	startErr error
	cluster  string // the data directory of our own cluster, "" when none
	pgCtl    string
	counter  atomic.Int64
)

// Main runs a package's tests and stops the cluster afterwards:
// func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }.
func Main(m *testing.M) int {
	code := m.Run()
	Stop()
	return code
}

// Stop stops the throwaway cluster, if one was started, and removes it.
func Stop() {
	if cluster == "" {
		return
	}
	cmd := asUser(exec.Command(pgCtl, "-D", cluster, "-m", "immediate", "-w", "stop"))
	_ = cmd.Run()
	os.RemoveAll(filepath.Dir(cluster))
	cluster = ""
}

// URL returns the URL of a new, empty database for t.
func URL(t testing.TB) string {
	t.Helper()
	once.Do(start)
	if startErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL is required in CI and could not start: %v", startErr)
		}
		t.Skipf("no PostgreSQL (%v); install Debian's postgresql package or set HERALD_TEST_POSTGRES", startErr)
	}
	u, err := NewDatabase()
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// NewDatabase returns the URL of a new, empty database, starting the
// server first if need be (callers without a testing.TB: testscript's
// Setup).
func NewDatabase() (string, error) {
	once.Do(start)
	if startErr != nil {
		return "", fmt.Errorf("PostgreSQL could not start: %w", startErr)
	}
	name := fmt.Sprintf("herald_test_%d_%d", os.Getpid(), counter.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return "", fmt.Errorf("connecting to the test PostgreSQL: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("creating database %s: %w", name, err)
	}
	u, _ := url.Parse(adminURL)
	u.Path = "/" + name
	return u.String(), nil
}

// start finds or makes the server.
func start() {
	if env := os.Getenv("HERALD_TEST_POSTGRES"); env != "" {
		adminURL = env
		return
	}
	bin, err := binDir()
	if err != nil {
		startErr = err
		return
	}
	pgCtl = filepath.Join(bin, "pg_ctl")
	dir, err := os.MkdirTemp("", "herald-pg-*")
	if err != nil {
		startErr = err
		return
	}
	data := filepath.Join(dir, "data")
	if err := chownForServer(dir); err != nil {
		startErr = err
		return
	}
	out, err := asUser(exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "herald", "-A", "trust", "-E", "UTF8", "--no-sync")).CombinedOutput()
	if err != nil {
		startErr = fmt.Errorf("initdb: %v: %s", err, tail(out))
		return
	}
	port, err := freePort()
	if err != nil {
		startErr = err
		return
	}
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off -c synchronous_commit=off -c full_page_writes=off", port, dir)
	if os.Getenv("HERALD_PG_DURABLE") != "" {
		// benchmarks measure what a real server does
		opts = fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=200", port, dir)
	}
	out, err = asUser(exec.Command(pgCtl, "-D", data, "-l", filepath.Join(dir, "log"), "-o", opts, "-w", "-t", "60", "start")).CombinedOutput()
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		startErr = fmt.Errorf("pg_ctl start: %v: %s %s", err, tail(out), tail(log))
		os.RemoveAll(dir)
		return
	}
	cluster = data
	adminURL = fmt.Sprintf("postgres://herald@127.0.0.1:%d/postgres?sslmode=disable", port)
}

// binDir is the newest /usr/lib/postgresql/<version>/bin.
func binDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	var ok []string
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			ok = append(ok, d)
		}
	}
	if len(ok) == 0 {
		return "", fmt.Errorf("no initdb in /usr/lib/postgresql/*/bin")
	}
	sort.Slice(ok, func(i, j int) bool { return version(ok[i]) < version(ok[j]) })
	return ok[len(ok)-1], nil
}

func version(bin string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(bin)))
	return v
}

// serverUser is who runs the server: PostgreSQL refuses to run as root.
func serverUser() (*user.User, bool) {
	if os.Geteuid() != 0 {
		return nil, false
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		return nil, false
	}
	return u, true
}

func chownForServer(dir string) error {
	u, ok := serverUser()
	if !ok {
		return nil
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return os.Chown(dir, uid, gid)
}

// asUser runs cmd as the server's user when we are root.
func asUser(cmd *exec.Cmd) *exec.Cmd {
	u, ok := serverUser()
	if !ok {
		return cmd
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "HOME="+os.TempDir())
	return cmd
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 600 {
		s = "..." + s[len(s)-600:]
	}
	return s
}
