package replies

import (
	"bytes"
	"context"
	"encoding/pem"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// [replies.imap] as a user writes it: the password in its own key (raw
// text, URL-special characters and all, from the environment), the server's
// private CA in ca_file. The first fetch learns UIDVALIDITY without warning
// about a renumbered mailbox; a real change later does warn.
func TestFetchRepliesWithCredentialKeysAndCAFile(t *testing.T) {
	srv := startIMAP(t, implicitTLS)
	srv.appendMsg(t, "INBOX", readFixture(t, "gmail.eml"))
	dir := t.TempDir()
	caFile := filepath.Join(dir, "private-ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.cert})
	if err := os.WriteFile(caFile, pemBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HERALD_T_IMAP_PASSWORD", testPass)
	cfg := loadTestConfig(t, fmt.Sprintf(`
state_dir = %q
[channels.mail]
backend = "outbox"
kind = "email"
[replies.imap]
url = "imaps://%s/INBOX"
username = %q
password = "${HERALD_T_IMAP_PASSWORD}"
ca_file = %q
`, filepath.Join(dir, "state"), srv.addr, testUser, caFile))

	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	sum, err := FetchReplies(context.Background(), FetchOptions{Config: cfg, Logger: log})
	if err != nil {
		t.Fatalf("fetch with username/password/ca_file: %v", err)
	}
	if sum.Fetched != 1 || sum.New != 1 {
		t.Errorf("summary %+v, want the one message", sum)
	}
	if strings.Contains(logs.String(), "UIDVALIDITY") {
		t.Errorf("first fetch warns about UIDVALIDITY:\n%s", logs.String())
	}

	// A checkpoint from before a renumbering: now the warning is due.
	statePath := IMAPStatePath(cfg.StateDir)
	raw, err := os.ReadFile(statePath)
	if err != nil {
		t.Fatal(err)
	}
	st := strings.Replace(string(raw), `"uidvalidity":`, `"uidvalidity":1`, 1) // a different number
	if err := os.WriteFile(statePath, []byte(st), 0o600); err != nil {
		t.Fatal(err)
	}
	logs.Reset()
	if sum, err := FetchReplies(context.Background(), FetchOptions{Config: cfg, Logger: log}); err != nil || sum.Duplicates != 1 || sum.New != 0 {
		t.Errorf("after renumbering: %+v, %v; want the message seen again as a duplicate", sum, err)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "UIDVALIDITY changed") {
		t.Errorf("a real renumbering should warn:\n%s", logs.String())
	}

	// Without ca_file the same server is refused, and the error says what
	// to set.
	cfg2 := loadTestConfig(t, fmt.Sprintf(`
state_dir = %q
[replies.imap]
url = "imaps://%s/INBOX"
username = %q
password = "${HERALD_T_IMAP_PASSWORD}"
`, filepath.Join(dir, "state2"), srv.addr, testUser))
	_, err = FetchReplies(context.Background(), FetchOptions{Config: cfg2})
	if err == nil || !strings.Contains(err.Error(), "ca_file") || strings.Contains(err.Error(), testPass) {
		t.Errorf("untrusted certificate: %v, want an error naming ca_file without the password", err)
	}
}

// The checkpoint is replaced whole, leaves no temporary file behind, and a
// write that cannot happen is an error naming the file (the command then
// exits non-zero), never silently skipped.
func TestIMAPCheckpointWrite(t *testing.T) {
	dir := t.TempDir()
	path := IMAPStatePath(dir)
	for _, st := range []imapState{{Mailbox: "imaps://u@h/INBOX", UIDValidity: 7, LastUID: 3}, {Mailbox: "imaps://u@h/INBOX", UIDValidity: 7, LastUID: 9}} {
		if err := writeIMAPState(path, st); err != nil {
			t.Fatal(err)
		}
		got, err := readIMAPState(path)
		if err != nil || got != st {
			t.Fatalf("read back %+v, %v; want %+v", got, err, st)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("state dir holds %d entries, want only imap.state: %v", len(entries), entries)
	}
	bad := IMAPStatePath(filepath.Join(dir, "gone"))
	err := writeIMAPState(bad, imapState{LastUID: 1})
	if err == nil || !strings.Contains(err.Error(), "saving the IMAP checkpoint") {
		t.Errorf("write into a missing directory: %v, want an error", err)
	}
}
