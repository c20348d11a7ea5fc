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
	path := filepath.Join(dir, "outbox", "c", "email", "_.._.._etc_passwd.eml")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("a recipient id must not escape the outbox: %v", err)
	}
	if !strings.HasPrefix(string(b), "From: herald <herald@localhost>\r\n") || !strings.HasSuffix(string(b), "hi") {
		t.Errorf("outbox bytes: %q", b)
	}
	if rc.MessageID != "<tok.c@x>" || rc.ProviderID != "outbox:c/email/_.._.._etc_passwd.eml" {
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
