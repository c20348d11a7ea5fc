package state

import (
	"bytes"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var testKey = bytes.Repeat([]byte{0x42}, KeySize)

func TestTokenRoundTrip(t *testing.T) {
	s := UnsubscribeSigner{Key: testKey}
	for _, tt := range []struct{ channel, address string }{
		{"email", "alice@example.com"},
		{"email", "Ünïcødé.名前+tag@例え.jp"},
		{"newsletter-eu", "o'brien@example.ie"},
	} {
		tok := s.Token(tt.channel, tt.address)
		if url.PathEscape(tok) != tok {
			t.Errorf("token %q needs escaping in a URL path", tok)
		}
		if strings.Contains(tok, tt.address) {
			t.Errorf("token %q shows the address in clear", tok)
		}
		ch, addr, err := s.Verify(tok)
		if err != nil || ch != tt.channel || addr != tt.address {
			t.Errorf("Verify(Token(%q, %q)) = %q, %q, %v", tt.channel, tt.address, ch, addr, err)
		}
	}
	if s.Token("email", "a@example.com") == s.Token("email", "b@example.com") {
		t.Error("two addresses got the same token")
	}
}

func TestTokenRejected(t *testing.T) {
	s := UnsubscribeSigner{Key: testKey}
	tok := s.Token("email", "alice@example.com")
	payload, sig, _ := strings.Cut(tok, ".")

	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	// The payload an attacker would like: someone else's address, with the
	// signature copied from their own link.
	other := UnsubscribeSigner{Key: testKey}.Token("email", "bob@example.com")
	otherPayload, _, _ := strings.Cut(other, ".")

	cases := map[string]string{
		"payload byte changed":   flip(payload, 3) + "." + sig,
		"signature byte changed": payload + "." + flip(sig, 5),
		"signature swapped":      otherPayload + "." + sig,
		"truncated signature":    tok[:len(tok)-2],
		"truncated to payload":   payload,
		"payload only with dot":  payload + ".",
		"empty":                  "",
		"not base64":             "!!!." + sig,
		"extra dot":              payload + ".x." + sig,
	}
	for name, bad := range cases {
		if ch, addr, err := s.Verify(bad); err == nil || !errors.Is(err, ErrBadToken) {
			t.Errorf("%s: Verify = %q, %q, %v; want ErrBadToken", name, ch, addr, err)
		}
	}

	otherKey := bytes.Repeat([]byte{0x43}, KeySize)
	if _, _, err := (UnsubscribeSigner{Key: otherKey}).Verify(tok); !errors.Is(err, ErrBadToken) {
		t.Errorf("token verified under another key: %v", err)
	}
	if _, _, err := (UnsubscribeSigner{}).Verify(tok); err == nil {
		t.Error("token verified with no key")
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state", "unsubscribe.key")

	key, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(key) != KeySize || bytes.Equal(key, make([]byte, KeySize)) {
		t.Fatalf("key = %x, want %d random bytes", key, KeySize)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode = %v, want 0600", fi.Mode().Perm())
	}

	// The next process gets the same key, so links already sent keep working.
	again, err := LoadOrCreateKey(path)
	if err != nil || !bytes.Equal(again, key) {
		t.Fatalf("second load = %x, %v; want the first key", again, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("state dir holds %d entries, want only the key (no temp files left)", len(entries))
	}
}

func TestLoadOrCreateKeyRace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "unsubscribe.key")
	const n = 16
	keys := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			keys[i], errs[i] = LoadOrCreateKey(path)
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if !bytes.Equal(keys[i], keys[0]) {
			t.Fatalf("callers 0 and %d got different keys", i)
		}
	}
	onDisk, _ := os.ReadFile(path)
	if !bytes.Equal(onDisk, keys[0]) {
		t.Fatal("the key on disk is not the one the callers use")
	}
}

func TestLoadOrCreateKeyDamaged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "unsubscribe.key")
	if err := os.WriteFile(path, []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadOrCreateKey(path)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "5 bytes") {
		t.Fatalf("err = %v, want one naming the file and its size", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "short" {
		t.Fatal("a damaged key file was overwritten")
	}
}
