package campaign

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"herald/channels/builtin"
)

// audience_delimiter and audience_encoding are read, checked at their
// line, and passed to the audience reader.
func TestCampaignAudienceKeys(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "herald.toml")
	os.WriteFile(cfgPath, []byte("[channels.sms]\nbackend = \"outbox\"\n"), 0o644)
	cfg, err := LoadConfig(Options{ConfigPath: cfgPath, Registry: builtin.Registry()})
	if err != nil {
		t.Fatal(err)
	}
	load := func(extra string) (*Campaign, error) {
		path := filepath.Join(dir, "c.toml")
		body := "name = \"c\"\naudience = \"people.csv\"\n" + extra + "templates = \"t\"\ndefault_locale = \"en\"\nchannels = [\"sms\"]\n"
		os.WriteFile(path, []byte(body), 0o644)
		return LoadCampaign(path, cfg)
	}
	c, err := load("audience_delimiter = \"\\t\"\naudience_encoding = \"Latin1\"\n")
	if err != nil {
		t.Fatal(err)
	}
	opts := c.AudienceOptions([]string{"sms"})
	if opts.Delimiter != '\t' || opts.Encoding != "windows-1252" || len(opts.KnownChannels) != 1 {
		t.Errorf("options %+v, want tab and windows-1252", opts)
	}
	for _, tc := range []struct{ extra, want string }{
		{"audience_encoding = \"klingon\"\n", `audience_encoding "klingon": unknown encoding`},
		{"audience_delimiter = \"::\"\n", `audience_delimiter "::": use`},
	} {
		_, err := load(tc.extra)
		var ce *ConfigError
		var fe *FileError
		if !errors.As(err, &ce) || len(ce.Errs) != 1 || !errors.As(ce.Errs[0], &fe) ||
			filepath.Base(fe.File) != "c.toml" || fe.Line != 3 || !strings.HasPrefix(fe.Msg, tc.want) {
			t.Errorf("%q: got %v, want c.toml:3: %s...", tc.extra, err, tc.want)
		}
	}
}
