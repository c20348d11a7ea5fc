package replies

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"herald/campaign"
)

// TestCommandLine runs the real herald binary: `replies serve` started,
// fed a signed webhook, stopped with SIGTERM (exit 0); refused without
// secrets (exit 2); `replies fetch` printing its summary.
func TestCommandLine(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the herald binary")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool to build herald with")
	}
	bin := filepath.Join(t.TempDir(), "herald")
	build := exec.Command(goTool, "build", "-o", bin, "herald/cmd/herald")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building herald: %v\n%s", err, out)
	}

	t.Run("serve stops cleanly on SIGTERM", func(t *testing.T) {
		dir := t.TempDir()
		cfg := `
state_dir = "state"
public_url = "https://notify.example.com"
[channels.line]
backend = "line"
token = "line-access-token"
channel_secret = "${LINE_SECRET}"
`
		if err := os.WriteFile(filepath.Join(dir, "herald.toml"), []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "replies", "serve", "--listen", "127.0.0.1:0")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "LINE_SECRET="+lineSecret, "HERALD_CONFIG=")
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer cmd.Process.Kill()
		var logs bytes.Buffer
		lines := bufio.NewScanner(stderr)
		addr := ""
		addrRe := regexp.MustCompile(`addr=(127\.0\.0\.1:\d+)`)
		for addr == "" && lines.Scan() {
			logs.WriteString(lines.Text() + "\n")
			if m := addrRe.FindStringSubmatch(lines.Text()); m != nil {
				addr = m[1]
			}
		}
		if addr == "" {
			t.Fatalf("no listening line:\n%s", logs.String())
		}
		rest := make(chan string)
		go func() { b, _ := io.ReadAll(stderr); rest <- string(b) }()

		body := lineEvent("01CLI1", "message", lineUser, "STOP")
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/webhooks/line", strings.NewReader(body))
		req.Header.Set("X-Line-Signature", lineSign(lineSecret, []byte(body)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("signed webhook: %d", resp.StatusCode)
		}

		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			logs.WriteString(<-rest)
			if err != nil {
				t.Errorf("exit after SIGTERM: %v, want status 0\n%s", err, logs.String())
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("still running 15 s after SIGTERM\n%s", logs.String())
		}
		s, err := campaign.LoadSuppressions(filepath.Join(dir, "state"))
		if err != nil || !s.Suppressed(lineUser, "line") {
			t.Errorf("the STOP was not recorded (%v)", err)
		}
		for _, want := range []string{"msg=request", "path=/webhooks/line", "status=200", "msg=\"shutting down\""} {
			if !strings.Contains(logs.String(), want) {
				t.Errorf("log lacks %s:\n%s", want, logs.String())
			}
		}
		if strings.Contains(logs.String(), lineSecret) {
			t.Errorf("the channel secret reached the log")
		}
	})

	t.Run("serve refuses without secrets", func(t *testing.T) {
		dir := t.TempDir()
		cfg := "[channels.chat]\nbackend = \"telegram\"\ntoken = \"1:a\"\n"
		if err := os.WriteFile(filepath.Join(dir, "herald.toml"), []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "replies", "serve", "--listen", "127.0.0.1:0")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "HERALD_CONFIG=")
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 {
			t.Errorf("exit: %v, want status 2\n%s", err, out)
		}
		if !strings.Contains(string(out), `channel "chat" (backend telegram): secret_token is not set`) {
			t.Errorf("output does not name the channel and option:\n%s", out)
		}
	})

	t.Run("fetch prints a summary", func(t *testing.T) {
		srv := startIMAP(t, plainText)
		for _, name := range fixtureNames {
			srv.appendMsg(t, "INBOX", readFixture(t, name))
		}
		dir := t.TempDir()
		u := url.URL{Scheme: "imap", User: url.User(testUser), Host: srv.addr, Path: "/INBOX"}
		// The password comes from the environment as it is: herald
		// percent-encodes a ${VAR} in the URL's user-info (SPEC 1.1).
		imapURL := strings.Replace(u.String(), "@"+srv.addr, ":${IMAP_PASSWORD}@"+srv.addr, 1)
		cfg := fmt.Sprintf("state_dir = \"state\"\n[channels.mail]\nbackend = \"outbox\"\nkind = \"email\"\n[replies.imap]\nurl = %q\n", imapURL)
		if err := os.WriteFile(filepath.Join(dir, "herald.toml"), []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		writeJournal(t, filepath.Join(dir, "state"), emailSends...)
		run := func() string {
			cmd := exec.Command(bin, "replies", "fetch")
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "HERALD_CONFIG=", "IMAP_PASSWORD="+testPass)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("replies fetch: %v\n%s", err, stderr.String())
			}
			if strings.Contains(stdout.String()+stderr.String(), testPass) {
				t.Error("the IMAP password was printed")
			}
			return stdout.String()
		}
		// The Italian reply answers a message this journal does not hold
		// but quotes the intro in References: 6 of 6 match.
		if got := run(); got != "6 new replies, 6 matched, 0 opt-outs\n" {
			t.Errorf("first fetch printed %q", got)
		}
		if got := run(); got != "0 new replies, 0 matched, 0 opt-outs\n" {
			t.Errorf("second fetch printed %q", got)
		}
	})
}
