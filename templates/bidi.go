package templates

import (
	"bytes"
	htmltemplate "html/template"
	"strings"
	"text/template/parse"

	"golang.org/x/net/html"
	"golang.org/x/text/language"
	"golang.org/x/text/unicode/bidi"
)

// Right-to-left text (SPEC 1.4).
//
// A locale's direction comes from its script: golang.org/x/text's
// likely-subtags data gives the script of a tag (ar -> Arab, he -> Hebr,
// dv -> Thaa, ckb -> Arab, pa-PK -> Arab, az-Arab -> Arab), and rtlScripts
// says which scripts are written right to left. The language name is never
// consulted, so a script subtag the customer gives (az-Arab, sd-Deva) wins.
//
// Values printed by a template action (audience columns, formatted dates)
// are isolated when they hold a letter of the direction opposite to the
// template's: with FSI ... PDI (U+2068, U+2069) in text parts, subjects
// and SMS, and with <bdi> in HTML. Only those values are touched, so a
// left-to-right text with left-to-right data is left exactly as written and
// a GSM-7 SMS stays GSM-7: FSI and PDI are added only next to a
// right-to-left letter, which GSM-7 cannot encode anyway.

// rtlScripts are the ISO 15924 codes of the scripts whose letters are
// right-to-left (Unicode Bidi_Class R or AL): the living ones first
// (Arabic, Hebrew, Thaana, Syriac, N'Ko, Adlam, Hanifi Rohingya, Mandaic,
// Samaritan, Yezidi, Mende Kikakui), then historic ones a locale tag may
// still name.
var rtlScripts = toSet(`Arab Hebr Thaa Syrc Nkoo Adlm Rohg Mand Samr Yezi Mend
Armi Avst Chrs Cprt Elym Hatr Hung Khar Lydi Mani Merc Mero Narb Nbat Orkh Ougr Palm
Phli Phlp Phnx Prti Sarb Sogd Sogo`)

// Direction is the writing direction of a locale or a text.
type Direction int

const (
	Neutral Direction = iota // no strong letter (digits, punctuation, empty)
	LTR
	RTL
)

func (d Direction) String() string {
	switch d {
	case LTR:
		return "ltr"
	case RTL:
		return "rtl"
	}
	return "auto"
}

// LocaleDirection returns RTL when the locale's script (written or likely)
// is right-to-left, LTR otherwise, and Neutral for an empty or unparsable
// locale.
func LocaleDirection(locale string) Direction {
	if locale == "" {
		return Neutral
	}
	tag, err := language.Parse(locale)
	if err != nil {
		return Neutral
	}
	return tagDirection(tag)
}

func tagDirection(tag language.Tag) Direction {
	if tag == language.Und {
		return Neutral
	}
	script, _ := tag.Script()
	if rtlScripts[script.String()] {
		return RTL
	}
	return LTR
}

// strongDirections reports whether s holds left-to-right and
// right-to-left letters.
func strongDirections(s string) (ltr, rtl bool) {
	for i := 0; i < len(s); {
		if c := s[i]; c < 0x80 { // ASCII: only letters are strong, and left-to-right
			if c|0x20 >= 'a' && c|0x20 <= 'z' {
				ltr = true
			}
			i++
			continue
		}
		p, size := bidi.LookupString(s[i:])
		if size == 0 {
			size = 1
		}
		switch p.Class() {
		case bidi.L:
			ltr = true
		case bidi.R, bidi.AL:
			rtl = true
		}
		if ltr && rtl {
			return
		}
		i += size
	}
	return
}

// HasRTL reports whether s has a right-to-left letter (Hebrew, Arabic...).
func HasRTL(s string) bool {
	if !mayHoldRTL(s) {
		return false
	}
	_, rtl := strongDirections(s)
	return rtl
}

// mayHoldRTL reports whether s has a UTF-8 sequence in one of the blocks
// where right-to-left letters live (U+0590-U+08FF, U+FB1D-U+FEFF, U+10800-
// U+10FFF, U+1E800-U+1EFFF), looking at bytes only. Most values are ASCII,
// Latin, CJK or Indic text and are cleared here without decoding a rune;
// the rest go through the bidi tables.
func mayHoldRTL(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0xD6 {
			continue
		}
		var next byte
		if i+1 < len(s) {
			next = s[i+1]
		}
		switch {
		case c <= 0xDF: // U+0580-U+07FF
			return true
		case c == 0xE0 && next >= 0xA0 && next <= 0xA3: // U+0800-U+08FF
			return true
		case c == 0xEF && next >= 0xAC: // U+FB00-U+FFFF
			return true
		case c == 0xF0 && (next == 0x90 || next == 0x9E): // U+10000-U+10FFF, U+1E000-U+1EFFF
			return true
		}
	}
	return false
}

const (
	fsi = "\u2068" // FIRST STRONG ISOLATE
	pdi = "\u2069" // POP DIRECTIONAL ISOLATE
)

// bodyText is the rendered body a text layout prints at {{.body}}: already
// isolated where needed, so the layout's isolation leaves it alone.
type bodyText string

// isolateFunc is the function appended to every printing action (see
// addIsolation): it wraps a value in FSI ... PDI when the value has a
// letter of the direction opposite to base, and returns it unchanged
// otherwise. html/template's typed values (the layout's .body among them)
// are markup the author vouched for and pass through untouched.
func isolateFunc(base Direction) func(any) any {
	return func(v any) any {
		var s string
		switch x := v.(type) {
		case string:
			s = x
		case nil, bool, int, int64, float64, bodyText, htmltemplate.HTML, htmltemplate.HTMLAttr, htmltemplate.URL,
			htmltemplate.JS, htmltemplate.JSStr, htmltemplate.CSS, htmltemplate.Srcset:
			return v
		default:
			s = toString(v)
		}
		if base == Neutral || isLink(s) {
			return v
		}
		ltr, rtl := strongDirections(s)
		if base == RTL && ltr || base == LTR && rtl {
			return fsi + s + pdi
		}
		// Unchanged, so it prints exactly as it would without isolation.
		return v
	}
}

// isLink reports whether s is an absolute URL. Links are left bare: a
// plain-text mail client that turns them into links takes everything up to
// the next space, PDI included, and the link would break. A URL is
// left-to-right letters and neutral punctuation, which the bidi algorithm
// keeps in order anyway.
func isLink(s string) bool {
	scheme, rest, ok := strings.Cut(s, "://")
	return ok && scheme != "" && rest != "" && !strings.ContainsAny(s, " \t\n") &&
		strings.Trim(scheme, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-") == ""
}

const isolateName = "herald_isolate"

// addIsolation appends `| herald_isolate` to every printing action of the
// templates, before any escaper, so that only interpolated values are
// isolated and literal template text stays as written.
func addIsolation(trees []*parse.Tree) {
	for _, t := range trees {
		rewriteActions(t, t.Root, isolateName, func(last string) bool {
			// html/template allows its predefined escapers only last.
			// The Telegram escapers must stay last too.
			return last == isolateName || last == "html" || last == "urlquery" || last == escHTML || last == escMarkdownV2
		})
	}
}

// isolatesToBDI turns the FSI ... PDI a rendered HTML body got from
// herald_isolate into <bdi> elements where they are text, and drops them
// where they cannot be markup: inside tags (an attribute is a URL, a lang,
// a class far more often than text; a link must still work, percent-encoded
// isolates included) and inside <script> and <style>. In <title> they stay
// as the isolates they are.
func isolatesToBDI(s string) string {
	if !strings.Contains(s, fsi) && !strings.Contains(s, pdi) && !strings.Contains(strings.ToLower(s), "%e2%81%a") {
		return s
	}
	var out strings.Builder
	out.Grow(len(s) + 32)
	z := html.NewTokenizer(strings.NewReader(s))
	raw := "" // the raw-text element we are in: script, style, title, textarea
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			// At the end, Raw holds what no token took (a tag cut short).
			out.WriteString(stripIsolates(string(z.Raw())))
			break
		}
		b := z.Raw()
		switch tt {
		case html.TextToken:
			switch raw {
			case "script", "style":
				out.WriteString(stripIsolates(string(b)))
			case "title", "textarea":
				out.Write(b)
			default:
				t := strings.ReplaceAll(string(b), fsi, "<bdi>")
				out.WriteString(strings.ReplaceAll(t, pdi, "</bdi>"))
			}
		case html.StartTagToken:
			name, _ := z.TagName()
			switch n := string(name); n {
			case "script", "style", "title", "textarea":
				raw = n
			}
			out.WriteString(stripIsolates(stripEncodedIsolates(string(b))))
		case html.EndTagToken:
			raw = ""
			out.Write(b)
		default:
			out.WriteString(stripIsolates(stripEncodedIsolates(string(b))))
		}
	}
	return out.String()
}

func stripIsolates(s string) string {
	return strings.NewReplacer(fsi, "", pdi, "").Replace(s)
}

// stripEncodedIsolates removes FSI and PDI as a URL carries them
// (html/template percent-encodes them, in lower or upper case).
func stripEncodedIsolates(s string) string {
	if !strings.Contains(strings.ToLower(s), "%e2%81%a") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if i+9 <= len(s) {
			w := strings.ToLower(s[i : i+9])
			if w == "%e2%81%a8" || w == "%e2%81%a9" {
				i += 9
				continue
			}
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

// markDirection sets dir and lang on the HTML's root: the <html> element
// when there is one, else <body>, else a <div> wrapped around everything.
// Attributes the author wrote are kept.
func markDirection(s string, dir Direction, lang string) string {
	z := html.NewTokenizer(strings.NewReader(s))
	offset := 0
	var bodyAt, bodyLen int = -1, 0
	var bodyAttrs map[string]bool
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		raw := z.Raw()
		start := offset
		offset += len(raw)
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			continue
		}
		name, hasAttr := z.TagName()
		attrs := map[string]bool{}
		for hasAttr {
			var k []byte
			k, _, hasAttr = z.TagAttr()
			attrs[string(k)] = true
		}
		switch string(name) {
		case "html":
			return s[:start] + withAttrs(string(raw), attrs, dir, lang) + s[offset:]
		case "body":
			if bodyAt < 0 {
				bodyAt, bodyLen, bodyAttrs = start, len(raw), attrs
			}
		}
	}
	if bodyAt >= 0 {
		return s[:bodyAt] + withAttrs(s[bodyAt:bodyAt+bodyLen], bodyAttrs, dir, lang) + s[bodyAt+bodyLen:]
	}
	var b bytes.Buffer
	b.WriteString(`<div dir="` + dir.String() + `" lang="` + html.EscapeString(lang) + `">`)
	b.WriteString(s)
	b.WriteString("</div>")
	return b.String()
}

// withAttrs adds dir and lang, when absent, before the end of a raw start
// tag.
func withAttrs(tag string, have map[string]bool, dir Direction, lang string) string {
	add := ""
	if !have["dir"] {
		add += ` dir="` + dir.String() + `"`
	}
	if !have["lang"] {
		add += ` lang="` + html.EscapeString(lang) + `"`
	}
	end := len(tag) - 1 // the '>'
	if strings.HasSuffix(tag, "/>") {
		end--
	}
	return tag[:end] + add + tag[end:]
}
