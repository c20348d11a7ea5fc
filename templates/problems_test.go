package templates

import (
	"strings"
	"testing"
)

func TestProblems(t *testing.T) {
	tests := []struct {
		name          string
		files         map[string]string
		defaultLocale string
		want          []string // "severity file:line: message"
	}{
		{
			name: "clean set",
			files: map[string]string{
				"en.toml": "[default]\ntext = \"a\"\n[whatsapp]\ntemplate = \"t_1\"\nparams = [\"a\"]\n",
				"id.toml": "[default]\ntext = \"a\"\n[whatsapp]\ntemplate = \"t_1\"\nlanguage = \"id\"\nparams = [\"a\"]\n",
			},
			defaultLocale: "en",
		},
		{
			name: "missing translations",
			files: map[string]string{
				"en.toml": "[default]\ntext = \"a\"\n[email]\ntext = \"a\"\n[sms]\ntext = \"a\"\n",
				"it.toml": "[default]\ntext = \"a\"\n[sms]\ntext = \"a\"\n",
				"ja.toml": "[sms]\ntext = \"a\"\n",
			},
			defaultLocale: "en",
			want: []string{
				"warning it.toml: missing [email] (present in en.toml); [default] will be used",
				"warning ja.toml: missing [default] (present in en.toml); channels without their own section cannot be rendered in ja",
				"error ja.toml: missing [email] (present in en.toml) and no [default] to fall back on; add [email] or [default]",
			},
		},
		{
			name: "params count differs from the default locale",
			files: map[string]string{
				"en.toml": "[whatsapp]\ntemplate = \"shipment_delay\"\nparams = [\"a\", \"b\", \"c\"]\n",
				"id.toml": "[whatsapp]\ntemplate = \"shipment_delay\"\n\nparams = [\"a\", \"b\"]\n",
				"it.toml": "[whatsapp]\ntemplate = \"shipment_delay\"\nparams = [\"a\", \"b\", \"c\"]\n",
				"ja.toml": "[whatsapp]\ntemplate = \"shipment_delay\"\n",
			},
			defaultLocale: "en",
			want: []string{
				"error id.toml:4: [whatsapp] params: 2 parameter(s), but en.toml has 3; an approved WhatsApp template takes the same number in every language (Meta refuses others with error 132000)",
				"error ja.toml:2: [whatsapp] params: 0 parameter(s), but en.toml has 3; an approved WhatsApp template takes the same number in every language (Meta refuses others with error 132000)",
			},
		},
		{
			name: "params compared with the first locale when the default has no template",
			files: map[string]string{
				"en.toml": "[default]\ntext = \"a\"\n",
				"id.toml": "[default]\ntext = \"a\"\n[wa]\ntemplate = \"t\"\nparams = [\"a\"]\n",
				"it.toml": "[default]\ntext = \"a\"\n[wa]\ntemplate = \"t\"\nparams = []\n",
			},
			defaultLocale: "en",
			want: []string{
				"error it.toml:5: [wa] params: 0 parameter(s), but id.toml has 1; an approved WhatsApp template takes the same number in every language (Meta refuses others with error 132000)",
			},
		},
		{
			name: "template name and language form",
			files: map[string]string{
				"pt-BR.toml": "[whatsapp]\ntemplate = \"Shipment-Delay\"\nlanguage = \"pt-BR\"\n",
				"it.toml":    "[whatsapp]\ntemplate = \"shipment_delay\"\nlanguage = \"it_IT\"\n",
			},
			defaultLocale: "pt_BR", // the tag form finds pt-BR.toml
			want: []string{
				`warning it.toml:3: [whatsapp] language "it_IT" is not among the WhatsApp template languages herald knows; make sure it is the exact code of the approved translation (Meta lists "it")`,
				`error pt-BR.toml:2: [whatsapp] template "Shipment-Delay": a WhatsApp template name is lower-case letters, digits and underscores (at most 512), as in "shipment_delay"`,
				`error pt-BR.toml:3: [whatsapp] language "pt-BR" is not in Meta's form: a lower-case language, optionally _ and an upper-case region, as in pt_BR or id; write "pt_BR"`,
			},
		},
		{
			name:          "default locale without a file",
			files:         map[string]string{"it.toml": "[sms]\ntext = \"a\"\n", "id.toml": "[sms]\ntext = \"a\"\n"},
			defaultLocale: "en",
			want:          []string{`error DIR: no template file for default_locale "en"; add en.toml or change default_locale to one of id, it`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, dir := mustLoad(t, tt.files)
			var got []string
			for _, p := range s.Problems(tt.defaultLocale) {
				got = append(got, p.Severity+" "+strings.ReplaceAll(rel(dir, p.String()), dir, "DIR"))
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("problems:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(tt.want, "\n     "))
			}
		})
	}
}

func TestMetaLanguage(t *testing.T) {
	tests := []struct{ locale, want string }{
		{"en", "en"},
		{"en-GB", "en_GB"},
		{"en-IN", "en"}, // not in herald's list: the bare language
		{"pt-BR", "pt_BR"},
		{"pt_BR", "pt_BR"},
		{"pt-PT", "pt_PT"},
		{"pt", "pt_BR"},
		{"it-IT", "it"},
		{"id", "id"},
		{"in", "id"},
		{"iw", "he"},
		{"tl", "fil"},
		{"no", "nb"},
		{"zh", "zh_CN"},
		{"zh-Hans", "zh_CN"},
		{"zh-Hant", "zh_TW"},
		{"zh-HK", "zh_HK"},
		{"zh-Hant-HK", "zh_HK"},
		{"zh-TW", "zh_TW"},
		{"es-MX", "es_MX"},
		{"ja", "ja"},
	}
	for _, tt := range tests {
		if got := MetaLanguage(tt.locale); got != tt.want {
			t.Errorf("MetaLanguage(%q) = %q, want %q", tt.locale, got, tt.want)
		}
	}
}
