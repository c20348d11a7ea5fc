package locales

import (
	"strings"
	"testing"
)

func TestCanonical(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"en", "en"},
		{"pt_BR", "pt-BR"},
		{"PT-br", "pt-BR"},
		{"in", "id"},
		{"iw", "he"},
		{"ji", "yi"},
		{"zh-hant-tw", "zh-Hant-TW"},
		{"it-IT", "it-IT"},
		{" id ", "id"},
	}
	for _, tt := range tests {
		got, err := Canonical(tt.in)
		if err != nil {
			t.Errorf("Canonical(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Canonical(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseTagErrors(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"xx-!!", `unparseable locale "xx-!!": tag is not well-formed`},
		{"", `unparseable locale "": empty`},
		{"xx", `unparseable locale "xx": subtag "xx" is well-formed but unknown`},
	}
	for _, tt := range tests {
		_, err := ParseTag(tt.in)
		if err == nil {
			t.Errorf("ParseTag(%q) succeeded, want error", tt.in)
			continue
		}
		if !strings.HasPrefix(err.Error(), tt.want) || !strings.Contains(err.Error(), "pt-BR") {
			t.Errorf("ParseTag(%q) error = %q, want it to start with %q and give an example tag", tt.in, err, tt.want)
		}
	}
}
