package templates

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  []string // one line per problem, in order
	}{
		{
			name:  "TOML syntax error has its line",
			files: map[string]string{"en.toml": "[sms]\ntext = \"ok\"\n\n[email]\ntext = \"unterminated\n"},
			want:  []string{`en.toml:5: TOML syntax: strings cannot contain newlines`},
		},
		{
			name:  "unknown key",
			files: map[string]string{"en.toml": "[default]\ntext = \"a\"\n\n[sms]\n# a comment\n\n  txt = \"b\"\ntext = \"c\"\n"},
			want:  []string{`en.toml:7: unknown key "txt" in [sms] (allowed: subject, text, html, template, language, params, parse_mode)`},
		},
		{
			name:  "template syntax in a single-line string",
			files: map[string]string{"it.toml": "[default]\ntext = \"a\"\n\n[sms]\n\n\n\n\ntext = \"{{dat .eta}}\"\n"},
			want:  []string{`it.toml:9: [sms] text: function "dat" not defined`},
		},
		{
			name: "template syntax in a multi-line string, first newline trimmed",
			files: map[string]string{"en.toml": `[email]
text = """
line one
line two {{.name}
"""
`},
			want: []string{`en.toml:4: [email] text: bad character U+007D '}'`},
		},
		{
			name: "multi-line string starting on the key's line",
			files: map[string]string{"en.toml": `[email]
text = """one
two
three {{if}}"""
`},
			want: []string{`en.toml:4: [email] text: missing value for if`},
		},
		{
			name: "literal multi-line string",
			files: map[string]string{"en.toml": `[email]
html = '''

<p>{{.a</p>'''
`},
			want: []string{`en.toml:4: [email] html: bad character U+003C '<'`},
		},
		{
			name:  "escaped newlines stay on the key's line; line-ending backslash joins lines",
			files: map[string]string{"en.toml": "[sms]\ntext = \"a\\nb\\n{{.x\"\n[email]\ntext = \"\"\"\\\n   a \\\n   b\n{{end}}\"\"\"\n"},
			want: []string{
				`en.toml:2: [sms] text: unclosed action`,
				`en.toml:7: [email] text: unexpected {{end}}`,
			},
		},
		{
			name: "params element on its own line",
			files: map[string]string{"en.toml": `[whatsapp]
template = "t"
params = [
  "{{.a}}",   # first
  "{{.b",
]
`},
			want: []string{`en.toml:5: [whatsapp] params[1]: unclosed action`},
		},
		{
			name: "dotted keys and inline tables are located too",
			files: map[string]string{"en.toml": `sms.text = "{{.a"
email = { subject = "x", text = "{{nope}}" }
`},
			want: []string{
				`en.toml:1: [sms] text: unclosed action`,
				`en.toml:2: [email] text: function "nope" not defined`,
			},
		},
		{
			name: "html context error found at load",
			files: map[string]string{"en.toml": `[email]
html = """
<p>ok</p>
<a href="{{.url}}>broken
"""
`},
			want: []string{`en.toml:2: [email] html: ends inside an unclosed tag, attribute value, comment or script; close it`},
		},
		{
			name: "html escaping error with a line",
			files: map[string]string{"en.toml": `[email]
html = """
<p>x</p>
<a href="{{if .c}}/p/{{else}}/s?q={{end}}{{.x}}">
"""
`},
			want: []string{`en.toml:4: [email] html: {{.x}} appears in an ambiguous context within a URL`},
		},
		{
			name: "wrong types and empty sections",
			files: map[string]string{"en.toml": `title = "x"
[sms]
text = 3
[whatsapp]
template = "t"
params = "{{.a}}"
[email]
subject = "only a subject"
[telegram]
text = "x"
parse_mode = "markdown"
[line]
text = "x"
params = ["a"]
[viber]
template = ""
`},
			want: []string{
				`en.toml:1: key "title" is outside any section; put it under a section such as [default] or [sms]`,
				`en.toml:3: [sms] text: must be a string, got an integer`,
				`en.toml:6: [whatsapp] params: must be an array of strings like ["{{.name}}"], got a string`,
				`en.toml:7: [email] has no text, html or template; add text = "..."`,
				`en.toml:11: [telegram] parse_mode "markdown": must be "HTML", "MarkdownV2" or "" (plain text), spelled exactly so`,
				`en.toml:12: [line] has params or language but no template; they describe a WhatsApp template: add template = "name_at_meta"`,
				`en.toml:15: [viber] has no text, html or template; add text = "..."`,
			},
		},
		{
			name:  "nested table under a section",
			files: map[string]string{"en.toml": "[sms]\ntext = \"a\"\n\n[sms.extra]\nx = 1\n"},
			want:  []string{`en.toml:4: unknown key "extra" in [sms] (section names cannot contain dots; allowed: subject, text, html, template, language, params, parse_mode)`},
		},
		{
			name:  "file name that is not a locale",
			files: map[string]string{"en.toml": "[sms]\ntext = \"a\"\n", "default.toml": "[sms]\ntext = \"a\"\n", "notes.txt": "ignored"},
			want:  []string{`default.toml: file name "default" is not a BCP 47 language tag (language: tag is not well-formed); name template files by locale: en.toml, pt-BR.toml, zh-Hant.toml`},
		},
		{
			name:  "two files for one locale",
			files: map[string]string{"pt-BR.toml": "[sms]\ntext = \"a\"\n", "pt_BR.toml": "[sms]\ntext = \"a\"\n"},
			want:  []string{`pt_BR.toml: locale "pt_BR" is the same as pt-BR.toml; keep one of the two files`},
		},
		{
			name:  "array of tables",
			files: map[string]string{"en.toml": "[[sms]]\ntext = \"a\"\n"},
			want:  []string{`en.toml:1: [[sms]] is an array of tables; write [sms] once`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeDir(t, tt.files)
			s, err := Load(dir, fakeFormatters)
			if err == nil {
				t.Fatalf("Load succeeded with sections %v; want errors", s.Sections("en"))
			}
			got := strings.Split(rel(dir, err.Error()), "\n")
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("errors:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(tt.want, "\n     "))
			}
			for _, p := range ErrorProblems(err) {
				if p.File == "" || p.Severity != "error" {
					t.Errorf("problem %+v lacks a file or is not an error", p)
				}
			}
		})
	}
}

func TestLoadDirectoryErrors(t *testing.T) {
	empty := t.TempDir()
	if err := os.WriteFile(filepath.Join(empty, "README.md"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, dir, want string
	}{
		{"missing", filepath.Join(empty, "nope"), "templates directory " + filepath.Join(empty, "nope") + " does not exist; create it with one <locale>.toml file per language (en.toml, pt-BR.toml)"},
		{"no toml files", empty, "templates directory " + empty + " has no *.toml files; add one per locale (en.toml, pt-BR.toml)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.dir, nil)
			if err == nil || err.Error() != tt.want {
				t.Errorf("got %v\nwant %s", err, tt.want)
			}
		})
	}
}
