// Package outbox is herald's embedded backend: instead of calling a
// provider it writes the exact bytes a real backend would send to
// <state>/outbox/<campaign>/<channel>/<recipient>.<ext>. It needs no network,
// which makes it the default for unconfigured channels, the README demo and
// tests that look at what would have gone out.
package outbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"herald/channels"
)

// Encode produces the bytes a real backend of some kind would send and the
// file extension to store them under ("eml", "json").
type Encode func(m channels.Message) (body []byte, ext string, err error)

// Options are the keys an outbox channel takes in herald.toml besides the
// common ones: e-mail needs a From and a Reply-To to compose a real message.
type Options struct {
	Dir       channels.Setting `toml:"dir"`        // default <state>/outbox
	From      channels.Setting `toml:"from"`       // e-mail From; default "herald <herald@localhost>"
	ReplyTo   channels.Setting `toml:"reply_to"`   // e-mail Reply-To
	ReplyPlus bool             `toml:"reply_plus"` // put the reply token in Reply-To
}

// EncoderFor builds a kind's encoder from the channel's options.
type EncoderFor func(o Options) Encode

// Backend returns the outbox backend. encoders gives, per kind, the real
// backend's encoder (the SMTP composer, the WhatsApp request body ...);
// kinds without one get a neutral JSON rendering of the message.
func Backend(encoders map[channels.Kind]EncoderFor) channels.Backend {
	return channels.Backend{
		Name: "outbox",
		Kind: "", // stands in for any kind: Settings.Kind says which
		New: func(s channels.Settings) (channels.Sender, error) {
			if s.StateDir == "" {
				return nil, fmt.Errorf("outbox: no state directory")
			}
			var opts Options
			if err := s.Decode(&opts); err != nil {
				return nil, err
			}
			dir := filepath.Join(s.StateDir, "outbox")
			if opts.Dir != "" {
				dir = string(opts.Dir)
			}
			if opts.From == "" {
				opts.From = "herald <herald@localhost>"
			}
			enc := plainJSON
			if f := encoders[s.Kind]; f != nil {
				enc = f(opts)
			}
			return &Sender{dir: dir, encode: enc}, nil
		},
	}
}

// Sender writes messages into the outbox directory.
type Sender struct {
	dir    string
	encode Encode
}

var (
	_ channels.Sender  = (*Sender)(nil)
	_ channels.Encoder = (*Sender)(nil)
)

// Send writes the message; the provider id is the file's path below the
// outbox directory.
func (s *Sender) Send(ctx context.Context, m channels.Message) (channels.Receipt, error) {
	if err := ctx.Err(); err != nil {
		return channels.Receipt{}, err
	}
	body, ext, err := s.encode(m)
	if err != nil {
		return channels.Receipt{}, channels.PermanentError(err)
	}
	rel := filepath.Join(safeName(m.Campaign), safeName(m.Channel), safeName(m.Recipient)+"."+ext)
	path := filepath.Join(s.dir, rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return channels.Receipt{}, channels.TemporaryError(fmt.Errorf("outbox: %w", err), 0)
	}
	// Write then rename, so a reader never sees half a message.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, body, 0o600); err != nil {
		return channels.Receipt{}, channels.TemporaryError(fmt.Errorf("outbox: %w", err), 0)
	}
	if err := os.Rename(tmp, path); err != nil {
		return channels.Receipt{}, channels.TemporaryError(fmt.Errorf("outbox: %w", err), 0)
	}
	rc := channels.Receipt{ProviderID: "outbox:" + filepath.ToSlash(rel)}
	if ext == "eml" {
		rc.MessageID = messageID(body)
	}
	return rc, nil
}

// Encode implements channels.Encoder.
func (s *Sender) Encode(m channels.Message) ([]byte, string, error) { return s.encode(m) }

// messageID finds the Message-ID header of an RFC 5322 message.
func messageID(msg []byte) string {
	head, _, _ := strings.Cut(string(msg), "\r\n\r\n")
	for _, line := range strings.Split(head, "\r\n") {
		if name, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(name, "Message-ID") {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// safeName turns an id into one path element inside the outbox. It is
// injective, so two recipients never share a file: letters, digits and
// ".@+-" stay as they are, every other byte (the escape character "_"
// included) becomes "_" and two hex digits, and a leading dot is escaped
// so no name is hidden, "." or "..". A name longer than a file system
// takes keeps a readable prefix and adds the SHA-256 of the whole id.
func safeName(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '@', c == '+', c == '-',
			c == '.' && i > 0:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "_%02X", c)
		}
	}
	out := b.String()
	if out == "" {
		return "_"
	}
	if len(out) > maxName {
		sum := sha256.Sum256([]byte(s))
		out = out[:maxName-65] + "~" + hex.EncodeToString(sum[:])
	}
	return out
}

// maxName leaves room for ".json.tmp" within the usual 255-byte limit.
const maxName = 240

func plainJSON(m channels.Message) ([]byte, string, error) {
	v := map[string]any{"to": m.To, "text": m.Text}
	if m.Subject != "" {
		v["subject"] = m.Subject
	}
	if m.Template != nil {
		v["template"] = m.Template
	}
	b, err := json.MarshalIndent(v, "", "  ")
	return append(b, '\n'), "json", err
}
