package replies

import (
	"bufio"
	"bytes"
	"context"
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

	"herald/state"
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
		s, err := state.OpenFiles(filepath.Join(dir, "state")).Suppressions(context.Background())
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
		// An out-of-office and a bounce are counted apart.
		srv.appendMsg(t, "INBOX", rawMail(`
From: alice@example.com
To: replies@acme.example
Subject: Out of office
Message-ID: <ooo-cli@example.com>
In-Reply-To: <c.shipment-delay.r42.7f3a@notify.acme.example>
X-Autoreply: yes
`, "STOP\n"))
		srv.appendMsg(t, "INBOX", dsn("BCLI", "failed", "5.1.1", "dave@example.com", "<c.shipment-delay.r50.0001@notify.acme.example>"))
		if got := run(); got != "2 new replies, 2 matched, 0 opt-outs, 2 automatic replies (not counted as replies), 1 bounce (address suppressed)\n" {
			t.Errorf("third fetch printed %q", got)
		}
	})

	t.Run("serve words the unsubscribe page from the campaign", func(t *testing.T) {
		dir := t.TempDir()
		files := map[string]string{
			"herald.toml": "state_dir = \"state\"\npublic_url = \"https://notify.example.com\"\n[channels.mail]\nbackend = \"outbox\"\nkind = \"email\"\n",
			"delay.toml":  "name = \"delay\"\naudience = \"people.csv\"\ntemplates = \"t\"\ndefault_locale = \"en\"\nchannels = [\"mail\"]\n",
			"t/en.toml":   "[email]\nsubject = \"Delayed\"\ntext = \"Delayed.\"\n",
			"t/ja.toml":   "[email]\nsubject = \"遅延\"\ntext = \"遅延です。\"\n[unsubscribe]\ntitle = \"アクメ便のお知らせの配信停止\"\n",
			"t/ar.toml":   "[email]\nsubject = \"تأخير\"\ntext = \"تأخير.\"\n",
		}
		for name, body := range files {
			p := filepath.Join(dir, name)
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		stateDir := filepath.Join(dir, "state")
		writeJournal(t, stateDir,
			state.Entry{Campaign: "delay", Recipient: "c-1", Channel: "mail", Address: "taro@example.jp", Locale: "ja", Status: state.StatusSent, Attempt: 1},
			state.Entry{Campaign: "delay", Recipient: "c-2", Channel: "mail", Address: "layla@example.eg", Locale: "ar", Status: state.StatusSent, Attempt: 1},
		)
		cmd := exec.Command(bin, "replies", "serve", "--listen", "127.0.0.1:0", "--campaign", "delay.toml")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "HERALD_CONFIG=")
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer cmd.Wait()
		defer cmd.Process.Kill()
		lines := bufio.NewScanner(stderr)
		addr := ""
		addrRe := regexp.MustCompile(`addr=(127\.0\.0\.1:\d+)`)
		var logs strings.Builder
		for addr == "" && lines.Scan() {
			logs.WriteString(lines.Text() + "\n")
			if m := addrRe.FindStringSubmatch(lines.Text()); m != nil {
				addr = m[1]
			}
		}
		if addr == "" {
			t.Fatalf("no listening line:\n%s", logs.String())
		}
		go io.Copy(io.Discard, stderr)
		key, err := state.OpenFiles(stateDir).UnsubscribeKey(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		get := func(address string) string {
			resp, err := http.Get("http://" + addr + "/unsubscribe/" + state.UnsubscribeSigner{Key: key}.Token("mail", address))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return string(b)
		}
		if page := get("taro@example.jp"); !strings.Contains(page, `<html lang="ja" dir="ltr">`) || !strings.Contains(page, "<h1>アクメ便のお知らせの配信停止</h1>") || !strings.Contains(page, ">配信を停止する</button>") {
			t.Errorf("Japanese page:\n%s", page)
		}
		if page := get("layla@example.eg"); !strings.Contains(page, `<html lang="ar" dir="rtl">`) || !strings.Contains(page, "<h1>إلغاء الاشتراك</h1>") {
			t.Errorf("Arabic page:\n%s", page)
		}
	})
}
