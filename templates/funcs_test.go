package templates

import (
	"testing"
	"time"
)

func TestDefault(t *testing.T) {
	tests := []struct {
		name string
		v    any
		want any
	}{
		{"nil", nil, "friend"},
		{"empty string", "", "friend"},
		{"blank CSV cell", "  ", "friend"},
		{"value", "Ann", "Ann"},
		{"zero is a value", 0, 0},
		{"false is a value", false, false},
		{"empty list", []string{}, "friend"},
		{"empty map", map[string]any{}, "friend"},
		{"list", []string{"a"}, []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := defaultValue("friend", tt.v)
			if toString(got) != toString(tt.want) {
				t.Errorf("default(%#v) = %#v, want %#v", tt.v, got, tt.want)
			}
		})
	}
}

func TestTelegramEscapes(t *testing.T) {
	tests := []struct {
		in         any
		html, mdv2 string
	}{
		{"plain", "plain", "plain"},
		{"a<b & c>d", "a&lt;b &amp; c&gt;d", "a<b & c\\>d"},
		{"1.5 + (2) = 3.5!", "1.5 + (2) = 3.5!", `1\.5 \+ \(2\) \= 3\.5\!`},
		{`_*[]~` + "`" + `#-|{}\`, `_*[]~` + "`" + `#-|{}\`, `\_\*\[\]\~\` + "`" + `\#\-\|\{\}\\`},
		{"Ünïcødé.", "Ünïcødé.", `Ünïcødé\.`},
		{nil, "", ""},
		{42, "42", "42"},
		{time.Duration(90) * time.Second, "1m30s", "1m30s"},
	}
	for _, tt := range tests {
		if got := telegramHTML(tt.in); got != tt.html {
			t.Errorf("telegramHTML(%v) = %q, want %q", tt.in, got, tt.html)
		}
		if got := telegramMarkdownV2(tt.in); got != tt.mdv2 {
			t.Errorf("telegramMarkdownV2(%v) = %q, want %q", tt.in, got, tt.mdv2)
		}
	}
}

func TestJSONLiteral(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{`Budi "B" <x>`, `"Budi \"B\" <x>"`},
		{3, `3`},
		{nil, `null`},
		{[]string{"a"}, `["a"]`},
		{"line\nbreak", `"line\nbreak"`},
	}
	for _, tt := range tests {
		if got, err := jsonLiteral(tt.in); err != nil || got != tt.want {
			t.Errorf("json(%v) = %s, %v; want %s", tt.in, got, err, tt.want)
		}
	}
	if _, err := jsonLiteral(func() {}); err == nil {
		t.Error("json of a func succeeded; want an error")
	}
}
