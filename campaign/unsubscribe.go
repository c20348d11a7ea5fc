package campaign

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// UnsubscribeSigner makes and checks one-click unsubscribe tokens. A token
// names the channel and address and carries an HMAC, so it cannot be forged
// or enumerated without the state directory's key.
type UnsubscribeSigner struct{ Key []byte }

var b64 = base64.RawURLEncoding

// Token returns the token for an address on a channel.
func (s UnsubscribeSigner) Token(channel, address string) string {
	payload := b64.EncodeToString([]byte(channel + "\x00" + address))
	return payload + "." + b64.EncodeToString(s.mac(payload))
}

// Verify checks a token and returns what it names.
func (s UnsubscribeSigner) Verify(token string) (channel, address string, err error) {
	payload, sig, ok := strings.Cut(token, ".")
	if !ok {
		return "", "", errors.New("malformed unsubscribe token")
	}
	got, err := b64.DecodeString(sig)
	if err != nil || subtle.ConstantTimeCompare(got, s.mac(payload)) != 1 {
		return "", "", errors.New("unsubscribe token signature does not match")
	}
	raw, err := b64.DecodeString(payload)
	if err != nil {
		return "", "", errors.New("malformed unsubscribe token")
	}
	channel, address, ok = strings.Cut(string(raw), "\x00")
	if !ok || channel == "" || address == "" {
		return "", "", errors.New("malformed unsubscribe token")
	}
	return channel, address, nil
}

func (s UnsubscribeSigner) mac(payload string) []byte {
	m := hmac.New(sha256.New, s.Key)
	m.Write([]byte(payload))
	return m.Sum(nil)[:16]
}

// UnsubscribeKey reads the state directory's signing key, creating a random
// one on first use. `send` and `replies serve` share a state directory and so
// share the key; the file is created exclusively so two processes starting
// at once agree on one key.
func UnsubscribeKey(stateDir string) ([]byte, error) {
	path := filepath.Join(stateDir, "unsubscribe.key")
	if key, err := os.ReadFile(path); err == nil && len(key) >= 32 {
		return key, nil
	}
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return nil, fmt.Errorf("creating state directory: %w", err)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return readKeyWhenWritten(path)
	}
	if err != nil {
		return nil, fmt.Errorf("creating %s: %w", path, err)
	}
	if _, err := f.Write(key); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, err
	}
	return key, f.Close()
}

// readKeyWhenWritten reads a key another process has just created.
func readKeyWhenWritten(path string) ([]byte, error) {
	for range 100 {
		if key, err := os.ReadFile(path); err == nil && len(key) >= 32 {
			return key, nil
		}
		sleepBriefly()
	}
	return nil, fmt.Errorf("%s is shorter than 32 bytes: delete it to make a new key", path)
}
