package state

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// KeySize is the length of the one-click unsubscribe key in bytes.
const KeySize = 32

// macSize is how much of the HMAC-SHA256 a token carries: 128 bits is far
// beyond what an attacker can guess online through POST /unsubscribe, and it
// keeps the link short.
const macSize = 16

// macContext separates these MACs from any other use of the same key.
const macContext = "herald unsubscribe v1\x00"

// ErrBadToken is returned (wrapped) by Verify for a malformed or forged token.
var ErrBadToken = errors.New("invalid unsubscribe token")

// UnsubscribeSigner makes and checks the tokens in one-click unsubscribe links
// (/unsubscribe/<token>, RFC 8058). A token names the channel and the
// address it unsubscribes and carries a MAC over them, so nobody without the
// key can make one for an address, or walk a list of addresses. It is not
// encrypted: the address is readable by whoever holds the link, which is the
// recipient the link was sent to.
type UnsubscribeSigner struct {
	Key []byte // at least 16 bytes; LoadOrCreateKey makes a 32-byte one
}

// Token returns the URL-safe token for channel and address:
// base64url(channel NUL address) "." base64url(MAC). It panics when the key
// is shorter than 16 bytes, because an unkeyed or weakly keyed token would
// let anyone unsubscribe anyone.
func (s UnsubscribeSigner) Token(channel, address string) string {
	if len(s.Key) < 16 {
		panic("replies: UnsubscribeSigner.Key must be at least 16 bytes")
	}
	payload := base64.RawURLEncoding.EncodeToString([]byte(channel + "\x00" + address))
	return payload + "." + base64.RawURLEncoding.EncodeToString(s.mac(payload))
}

func (s UnsubscribeSigner) mac(payload string) []byte {
	m := hmac.New(sha256.New, s.Key)
	m.Write([]byte(macContext))
	m.Write([]byte(payload))
	return m.Sum(nil)[:macSize]
}

// Verify checks a token and returns the channel and address it names. The
// MAC is compared in constant time before anything in the token is trusted.
// Errors wrap ErrBadToken and do not echo the token.
func (s UnsubscribeSigner) Verify(token string) (channel, address string, err error) {
	if len(s.Key) < 16 {
		return "", "", errors.New("unsubscribe key is missing or shorter than 16 bytes")
	}
	payload, sig, ok := strings.Cut(token, ".")
	if !ok || payload == "" || sig == "" {
		return "", "", fmt.Errorf("%w: not of the form payload.signature", ErrBadToken)
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || len(got) != macSize {
		return "", "", fmt.Errorf("%w: malformed signature", ErrBadToken)
	}
	if !hmac.Equal(got, s.mac(payload)) {
		return "", "", fmt.Errorf("%w: signature does not match", ErrBadToken)
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return "", "", fmt.Errorf("%w: malformed payload", ErrBadToken)
	}
	channel, address, ok = strings.Cut(string(raw), "\x00")
	if !ok || channel == "" || address == "" {
		return "", "", fmt.Errorf("%w: payload lacks channel or address", ErrBadToken)
	}
	return channel, address, nil
}

// LoadOrCreateKey returns the key stored at path, creating it with
// crypto/rand and mode 0600 when the file does not exist. Several herald
// processes may start at once (a cron send, replies serve): the key is
// written to a temporary file and then hard-linked into place, which fails
// if the name exists, so exactly one key wins, it is never seen half
// written, and a loser reads the winner's key.
func LoadOrCreateKey(path string) ([]byte, error) {
	key, err := readKey(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("unsubscribe key: %w", err)
	}
	key = make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("unsubscribe key: %w", err)
	}
	if err := publishKey(path, key); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return readKeyWait(path) // another process created it first
		}
		return nil, fmt.Errorf("unsubscribe key: creating %s: %w", path, err)
	}
	return key, nil
}

// publishKey makes path appear with the whole key in it, or fails with
// fs.ErrExist when it already exists.
func publishKey(path string, key []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".unsubscribe-key-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	// CreateTemp already uses 0600; Chmod states it and survives any change.
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(key); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	err = os.Link(tmp.Name(), path)
	if err == nil || errors.Is(err, fs.ErrExist) {
		return err
	}
	// Some file systems have no hard links: fall back to O_EXCL, where a
	// concurrent reader may briefly see a short file (readKeyWait copes).
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(key); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func readKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("unsubscribe key: %w", err)
	}
	if len(b) != KeySize {
		return nil, fmt.Errorf("unsubscribe key: %s holds %d bytes, want %d (delete it to make a new key; existing unsubscribe links stop working)", path, len(b), KeySize)
	}
	return b, nil
}

// readKeyWait reads a key another process is creating, giving the O_EXCL
// fallback a moment to finish writing.
func readKeyWait(path string) ([]byte, error) {
	var err error
	for range 50 {
		var key []byte
		if key, err = readKey(path); err == nil {
			return key, nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil, err
}

// UnsubscribeKey returns the state directory's signing key, creating it on
// first use: `send` and `replies serve` share a state directory and so share
// the key.
func (f *Files) UnsubscribeKey(ctx context.Context) ([]byte, error) {
	if err := f.ensureDir(); err != nil {
		return nil, err
	}
	return LoadOrCreateKey(f.keyPath())
}
