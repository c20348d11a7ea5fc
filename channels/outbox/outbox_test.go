package outbox

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"herald/channels"
)

func newSender(t *testing.T, kind channels.Kind, encoders map[channels.Kind]EncoderFor) (channels.Sender, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := Backend(encoders).New(channels.Settings{Channel: string(kind), Kind: kind, StateDir: dir, Decode: func(any) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	return s, dir
}

func TestOutboxWritesWhatTheRealBackendWould(t *testing.T) {
	enc := map[channels.Kind]EncoderFor{channels.KindEmail: func(o Options) Encode {
		return func(m channels.Message) ([]byte, string, error) {
			return []byte("From: " + string(o.From) + "\r\nMessage-ID: <tok.c@x>\r\n\r\n" + m.Text), "eml", nil
		}
	}}
	s, dir := newSender(t, channels.KindEmail, enc)
	rc, err := s.Send(context.Background(), channels.Message{Campaign: "c", Channel: "email", Recipient: "../../etc/passwd", Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "outbox", "c", "email", "_2E._2F.._2Fetc_2Fpasswd.eml")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("a recipient id must not escape the outbox: %v", err)
	}
	if !strings.HasPrefix(string(b), "From: herald <herald@localhost>\r\n") || !strings.HasSuffix(string(b), "hi") {
		t.Errorf("outbox bytes: %q", b)
	}
	if rc.MessageID != "<tok.c@x>" || rc.ProviderID != "outbox:c/email/_2E._2F.._2Fetc_2Fpasswd.eml" {
		t.Errorf("receipt %+v", rc)
	}
	if _, err := os.Stat(path + ".tmp"); !os.IsNotExist(err) {
		t.Error("temporary file left behind")
	}
}

func TestOutboxWithoutEncoderWritesPlainJSON(t *testing.T) {
	s, dir := newSender(t, channels.KindSMS, nil)
	if _, err := s.Send(context.Background(), channels.Message{Campaign: "c", Channel: "sms", Recipient: "r1", To: "+6281234567890", Text: "Halo"}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "outbox", "c", "sms", "r1.json"))
	if !strings.Contains(string(b), `"to": "+6281234567890"`) || !strings.Contains(string(b), `"text": "Halo"`) {
		t.Errorf("json: %s", b)
	}
}

// Outbox names are injective: ids that differ only in characters a file
// name cannot hold still get their own files, and no id escapes the
// outbox directory.
func TestSafeNameIsInjective(t *testing.T) {
	ids := []string{"a/b", "a_b", "a b", "a\\b", "a_2Fb", ".", "..", ".hidden", "_", "", "ü", "u\u0308", "A", "a", strings.Repeat("x", 300), strings.Repeat("x", 299) + "y"}
	seen := map[string]string{}
	for _, id := range ids {
		n := safeName(id)
		if prev, dup := seen[n]; dup {
			t.Errorf("ids %q and %q share the name %q", prev, id, n)
		}
		seen[n] = id
		if n == "." || n == ".." || strings.HasPrefix(n, ".") || strings.ContainsAny(n, "/\\\x00") || len(n) > maxName {
			t.Errorf("id %q gives the unsafe name %q", id, n)
		}
	}
}
