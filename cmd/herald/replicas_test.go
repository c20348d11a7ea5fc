package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"herald/channels/channeltest"
	"herald/state"
)

const tgSecret = "tg-webhook-secret-0123"

// writeTelegramCampaign writes a campaign of n Telegram recipients (chat
// ids 7000000+i) sent through fake, with state on url.
func writeTelegramCampaign(t *testing.T, dir, fakeURL, dbURL string, n int) (cfg, camp string) {
	t.Helper()
	var csv strings.Builder
	csv.WriteString("id,telegram,name\n")
	for i := range n {
		fmt.Fprintf(&csv, "t-%05d,%d,Customer %d\n", i, 7000000+i, i)
	}
	files := map[string]string{
		"herald.toml": fmt.Sprintf(`state = %q
state_dir = "state"
public_url = "https://notify.example.com"

[channels.chat]
backend = "telegram"
token = %q
secret_token = %q
api_url = %q
concurrency = 4
retries = 0
`, dbURL, channeltest.TelegramToken, tgSecret, fakeURL),
		"campaign.toml": "name = \"tg\"\naudience = \"customers.csv\"\ntemplates = \"t\"\ndefault_locale = \"en\"\nchannels = [\"chat\"]\n",
		"customers.csv": csv.String(),
		"t/en.toml":     "[default]\ntext = \"Hello {{.name}}\"\n",
	}
	for name, body := range files {
		path := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "herald.toml"), filepath.Join(dir, "campaign.toml")
}

// startReplica starts `replies serve` on a free port and waits for it.
func startReplica(t *testing.T, cfg string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd, out := heraldProcess("--config", cfg, "replies", "serve", "--listen", addr)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for range 200 {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			return "http://" + addr
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("replies serve did not start: %s", out)
	return ""
}

func postTelegram(t *testing.T, base string, update int, chat int64, text string) {
	t.Helper()
	body := fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,"from":{"id":%d,"is_bot":false,"first_name":"A"},"chat":{"id":%d,"type":"private"},"date":1795428000,"text":%q}}`, update, update, chat, chat, text)
	req, _ := http.NewRequest("POST", base+"/webhooks/chat", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Telegram-Bot-Api-Secret-Token", tgSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("webhook answered %d", resp.StatusCode)
	}
}

// Two replicas of replies serve on one database: a STOP recorded through
// either is honoured by a send running in another process, and the same
// webhook delivered to both is one row.
func TestPostgresRepliesReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	fake := channeltest.NewTelegram(t)
	fake.SetDelay(15 * time.Millisecond)
	dir := t.TempDir()
	const n = 1500
	url := usePostgresURL(t)
	cfg, camp := writeTelegramCampaign(t, dir, fake.URL(), url, n)
	a, b := startReplica(t, cfg), startReplica(t, cfg)

	// The same webhook to both replicas, twice each: one row.
	for _, base := range []string{a, b, a, b} {
		postTelegram(t, base, 424242, 99, "where is my parcel?")
	}

	send, out := heraldProcess("--config", cfg, "send", camp)
	if err := send.Start(); err != nil {
		t.Fatal(err)
	}
	for fake.Count() < 100 {
		time.Sleep(10 * time.Millisecond)
	}
	// The last 40 recipients answer STOP (to an earlier message, say)
	// through either replica while the send is at the start.
	stopped := map[string]bool{}
	for i := n - 40; i < n; i++ {
		base := a
		if i%2 == 1 {
			base = b
		}
		chat := int64(7000000 + i)
		postTelegram(t, base, 500000+i, chat, "STOP")
		stopped[fmt.Sprint(chat)] = true
	}
	if fake.Count() >= n-40 {
		t.Fatalf("the send reached the last recipients before the STOPs were in")
	}
	if code := exitCodeOf(send.Wait()); code != 0 {
		t.Fatalf("send exited %d: %s", code, out)
	}
	reached := 0
	for _, r := range fake.Requests() {
		if stopped[r.To] {
			t.Errorf("chat %s got a message after its STOP was recorded", r.To)
		}
		if r.Accepted {
			reached++
		}
	}
	if reached != n-40 {
		t.Errorf("%d messages accepted, want %d", reached, n-40)
	}
	st, _ := state.Open(url)
	defer st.Close()
	rows := map[string]int{}
	st.ReadReplies(context.Background(), func(r state.Reply) error { rows[r.MessageID]++; return nil })
	if rows["424242"] != 1 {
		t.Errorf("the webhook delivered 4 times over 2 replicas left %d rows, want 1", rows["424242"])
	}
	if len(rows) != 41 {
		t.Errorf("%d distinct replies logged, want 41", len(rows))
	}
	supp, _ := st.Suppressions(context.Background())
	if len(supp.Rows()) != 40 {
		t.Errorf("%d suppressions, want 40", len(supp.Rows()))
	}
}
