package templates

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"herald/channels/sms"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden (read the diff before committing)")

// golden compares got with testdata/golden/name.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./templates -run %s -update once, and read the file)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// brandDir is a template directory with a shared layout, a Portuguese one
// of its own, and a partial the locales share.
var brandDir = map[string]string{
	"_layout.html": `<!DOCTYPE html>
<html>
<body>
<header>Acme</header>
{{.body}}
<footer>{{template "signature" .}} · <a href="{{.unsubscribe_url}}">{{.unsubscribe_label | default "Unsubscribe"}}</a></footer>
</body>
</html>
`,
	"_layout.txt": "ACME\n\n{{.body}}\n--\n{{template \"signature\" .}}\n{{.unsubscribe_url}}\n",
	"_layout.pt.html": `<div class="marca-pt">{{.body}}<p><a href="{{.unsubscribe_url}}">Cancelar inscrição</a></p></div>
`,
	"_signature.tmpl": `Acme ({{.locale}})`,
	"_order.tmpl":     `{{.order_id}}`,
	"en.toml": `[email]
subject = "Order {{.order_id}} is late"
text = "Hi {{.name}}, order {{template \"order\" .}} is late."
html = "<p>Hi {{.name}}, order <b>{{template \"order\" .}}</b> is late.</p>"

[sms]
text = "Acme: order {{.order_id}} for {{.name}} is late. Reply STOP to opt out."
`,
	"ar.toml": `[email]
subject = "تأخر طلبك {{.order_id}}"
text = """
مرحبًا {{.name}}،
تأخر طلبك {{template "order" .}}.
"""
html = """
<p>مرحبًا {{.name}}،</p>
<p>تأخر طلبك <b>{{template "order" .}}</b>.</p>
<p><a href="https://track.example/{{.order_id}}">تتبع الطلب</a></p>
"""

[sms]
text = "Acme: تأخر طلبك {{.order_id}}. أرسل STOP لإلغاء الاشتراك."
`,
	"pt-BR.toml": `[email]
subject = "Pedido {{.order_id}} atrasado"
html = "<p>Olá {{.name}}, o pedido {{.order_id}} está atrasado.</p>"
`,
}

func brandData(name string) map[string]any {
	return map[string]any{
		"name": name, "order_id": "G-7002", "unsubscribe_url": "https://notify.example.com/unsubscribe/tok",
		"unsubscribe_label": "", "locale": "",
	}
}

func renderEmail(t *testing.T, s *Set, locale, customer, name string) Content {
	t.Helper()
	data := brandData(name)
	data["locale"] = locale
	c, err := s.RenderMessage(Request{Locale: locale, Sections: []string{"email"}, Data: data, Email: true, CustomerLocale: customer})
	if err != nil {
		t.Fatalf("%s: %v", locale, err)
	}
	return c
}

// An Arabic e-mail is right-to-left with its language; the Latin order id
// and name inside are isolated; the link still works.
func TestRTLEmailGolden(t *testing.T) {
	s, _ := mustLoad(t, brandDir)
	c := renderEmail(t, s, "ar", "ar-EG", "Fatma Ali")
	golden(t, "ar-email.html", c.HTML)
	golden(t, "ar-email.txt", c.Text)
	if c.Subject != "تأخر طلبك \u2068G-7002\u2069" {
		t.Errorf("subject %q: want the Latin order id between FSI and PDI", c.Subject)
	}
	// An Arabic name in Arabic text needs nothing.
	c = renderEmail(t, s, "ar", "ar", "فاطمة")
	if strings.Contains(c.HTML, "<bdi>فاطمة</bdi>") || strings.Contains(c.Text, "\u2068فاطمة") {
		t.Errorf("an Arabic name in Arabic text was isolated:\n%s", c.HTML)
	}
}

// A Hebrew customer served by en.toml reads English: the mail says so
// explicitly (dir="ltr" lang="en", so a right-to-left mail client does not
// turn it around), and the Hebrew name inside is isolated.
func TestRTLCustomerLTRTemplateGolden(t *testing.T) {
	s, _ := mustLoad(t, brandDir)
	c := renderEmail(t, s, "en", "he-IL", "דוד לוי")
	golden(t, "en-for-he-email.html", c.HTML)
	if c.Text != "ACME\n\nHi \u2068דוד לוי\u2069, order G-7002 is late.\n--\nAcme (en)\nhttps://notify.example.com/unsubscribe/tok\n" {
		t.Errorf("text %q", c.Text)
	}
	// An English customer with a Latin name: the HTML is left as written.
	c = renderEmail(t, s, "en", "en-US", "Emily")
	if strings.Contains(c.HTML, "dir=") || strings.Contains(c.HTML, "<bdi>") || strings.Contains(c.HTML, "lang=") {
		t.Errorf("a left-to-right mail got direction marks:\n%s", c.HTML)
	}
}

// One directory, three locales: en and ar take the shared layout, pt-BR
// takes _layout.pt.html (pt is its parent); all share the partials.
func TestLayoutThreeLocalesGolden(t *testing.T) {
	s, _ := mustLoad(t, brandDir)
	var all strings.Builder
	for _, loc := range []string{"en", "ar", "pt-BR"} {
		c := renderEmail(t, s, loc, loc, "Ana")
		all.WriteString("== " + loc + "\n" + c.HTML + "\n")
	}
	golden(t, "layout-three-locales.html", all.String())
	c := renderEmail(t, s, "pt-BR", "pt-BR", "Ana")
	if c.Text != "" {
		t.Errorf("pt-BR has no text body, so no text layout applies; got %q", c.Text)
	}
	if strings.Contains(c.HTML, "<header>Acme</header>") {
		t.Errorf("pt-BR got the generic layout too:\n%s", c.HTML)
	}
}

// Layouts are for e-mail: an SMS through the same set is not wrapped.
// Arabic SMS with a Latin id gets FSI/PDI; English SMS gets none and stays
// GSM-7 with its segment count unchanged.
func TestSMSIsolates(t *testing.T) {
	s, _ := mustLoad(t, brandDir)
	ar, err := s.RenderMessage(Request{Locale: "ar", Sections: []string{"sms"}, Data: brandData("Ahmed"), CustomerLocale: "ar-EG"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "Acme: تأخر طلبك \u2068G-7002\u2069. أرسل STOP لإلغاء الاشتراك."; ar.Text != want {
		t.Errorf("ar sms %q\nwant %q", ar.Text, want)
	}
	en, err := s.RenderMessage(Request{Locale: "en", Sections: []string{"sms"}, Data: brandData("Emily Johnson"), CustomerLocale: "en-US"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "Acme: order G-7002 for Emily Johnson is late. Reply STOP to opt out."; en.Text != want {
		t.Errorf("en sms %q\nwant %q", en.Text, want)
	}
	if !sms.IsGSM7(en.Text) || sms.Segments(en.Text).Segments != 1 {
		t.Errorf("en sms is no longer one GSM-7 segment: %+v", sms.Segments(en.Text))
	}
	// An English SMS to a customer with a Hebrew name needs the isolates
	// (and is UCS-2 for the name anyway).
	he, err := s.RenderMessage(Request{Locale: "en", Sections: []string{"sms"}, Data: brandData("דוד"), CustomerLocale: "he"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(he.Text, "for \u2068דוד\u2069 is late") {
		t.Errorf("he name in en sms not isolated: %q", he.Text)
	}
}

func TestLocaleDirection(t *testing.T) {
	for _, tt := range []struct {
		locale string
		want   Direction
	}{
		{"ar", RTL}, {"ar-EG", RTL}, {"he", RTL}, {"iw", RTL}, {"fa", RTL}, {"ur", RTL}, {"ps", RTL},
		{"yi", RTL}, {"dv", RTL}, {"ckb", RTL}, {"sd", RTL}, {"ug", RTL}, {"pa-Arab", RTL}, {"az-Arab", RTL},
		{"en", LTR}, {"pt-BR", LTR}, {"ja", LTR}, {"sd-Deva", LTR}, {"az", LTR}, {"ku", LTR}, {"hi", LTR},
		{"", Neutral}, {"xx-!!", Neutral},
	} {
		if got := LocaleDirection(tt.locale); got != tt.want {
			t.Errorf("LocaleDirection(%q) = %v, want %v", tt.locale, got, tt.want)
		}
	}
}

func TestMarkDirection(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`<p>x</p>`, `<div dir="rtl" lang="ar"><p>x</p></div>`},
		{`<html><body><p>x</p></body></html>`, `<html dir="rtl" lang="ar"><body><p>x</p></body></html>`},
		{`<body class="a"><p>x</p></body>`, `<body class="a" dir="rtl" lang="ar"><p>x</p></body>`},
		// The author's own attributes win.
		{`<html lang="ar-EG"><p>x</p></html>`, `<html lang="ar-EG" dir="rtl"><p>x</p></html>`},
	} {
		if got := markDirection(tt.in, RTL, "ar"); got != tt.want {
			t.Errorf("markDirection(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

func TestLayoutAndPartialErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{
			name: "partial syntax error: once, at its own line; the locales still load",
			files: map[string]string{
				"_footer.tmpl": "Acme\n{{.name}\n",
				"en.toml":      "[sms]\ntext = \"{{template \\\"footer\\\" .}}\"\n",
				"ar.toml":      "[sms]\ntext = \"{{template \\\"footer\\\" .}}\"\n",
			},
			want: []string{`_footer.tmpl:2: partial: bad character U+007D '}'`},
		},
		{
			name: "layout syntax error",
			files: map[string]string{
				"_layout.html": "<html>\n<body>\n{{if .body}\n</body></html>\n",
				"en.toml":      "[email]\nhtml = \"<p>x</p>\"\n",
			},
			want: []string{`_layout.html:3: layout: bad character U+007D '}'`},
		},
		{
			name: "layout html context error",
			files: map[string]string{
				"_layout.html": "<html>\n<body>\n<a href=\"{{.unsubscribe_url}}>x</a>\n</body></html>\n",
				"en.toml":      "[email]\nhtml = \"<p>x</p>\"\n",
			},
			want: []string{`_layout.html: layout: ends inside an unclosed tag, attribute value, comment or script; close it`},
		},
		{
			name: "bad layout names",
			files: map[string]string{
				"_layout.htm":      "x",
				"_layout.xx!.html": "x",
				"_layout.tmpl":     "x",
				"_text.tmpl":       "x",
				"en.toml":          "[sms]\ntext = \"x\"\n",
			},
			want: []string{
				`_layout.htm: a layout is named _layout.html, _layout.txt or _layout.<locale>.html / .txt (as in _layout.ar.html)`,
				`_layout.tmpl: a layout is named _layout.html, _layout.txt or _layout.<locale>.html / .txt (as in _layout.ar.html)`,
				`_layout.xx!.html: layout locale "xx!" is not a BCP 47 language tag (language: tag is not well-formed); name it like _layout.pt-BR.html`,
				`_text.tmpl: partial name "text" is reserved; rename the file (as in _brand_text.tmpl)`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeDir(t, tt.files)
			s, err := Load(dir, fakeFormatters)
			if err == nil {
				t.Fatal("Load succeeded; want errors")
			}
			if got := strings.Split(rel(dir, err.Error()), "\n"); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("errors:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(tt.want, "\n     "))
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Errorf("error is not a *templates.Error: %T", err)
			}
			if s == nil || len(s.Locales()) == 0 {
				t.Fatalf("Load returned no usable set with the errors")
			}
		})
	}
}

// A broken partial renders as nothing in the files that call it, so the
// rest of each file is still rendered (and checked); a broken layout
// refuses e-mail with ErrBroken, which check leaves out as reported.
func TestBrokenSharedFilesStillRender(t *testing.T) {
	dir := writeDir(t, map[string]string{
		"_footer.tmpl": "{{.name}\n",
		"_layout.html": "{{if}}",
		"en.toml":      "[sms]\ntext = \"Hi {{.name}}.{{template \\\"footer\\\" .}}\"\n\n[email]\nhtml = \"<p>x</p>\"\n",
	})
	s, err := Load(dir, fakeFormatters)
	if err == nil {
		t.Fatal("want errors")
	}
	c, err := s.Render("en", []string{"sms"}, map[string]any{"name": "Bo"}, nil)
	if err != nil || c.Text != "Hi Bo." {
		t.Errorf("sms with a broken partial: %q, %v", c.Text, err)
	}
	_, err = s.RenderMessage(Request{Locale: "en", Sections: []string{"email"}, Data: map[string]any{}, Email: true})
	if !errors.Is(err, ErrBroken) {
		t.Errorf("e-mail with a broken layout: %v, want ErrBroken", err)
	}
}

// An error while executing a partial names the partial's file and line,
// and the template that called it.
func TestPartialExecErrorNamesItsFile(t *testing.T) {
	s, dir := mustLoad(t, map[string]string{
		"_footer.tmpl": "Acme\n{{.missing_column}}\n",
		"en.toml":      "[sms]\n\ntext = \"Hi {{template \\\"footer\\\" .}}\"\n",
	})
	_, err := s.Render("en", []string{"sms"}, map[string]any{"name": "Bo"}, nil)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v, want a *templates.Error", err)
	}
	want := `_footer.tmpl:2: partial: map has no entry for key "missing_column" (in {{.missing_column}}) (called from [sms] text of en.toml)`
	if got := rel(dir, e.Error()); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// Files starting with _ are never locales, even .toml ones.
func TestUnderscoreFilesAreNotLocales(t *testing.T) {
	s, _ := mustLoad(t, map[string]string{
		"_draft.toml": "not toml at all [[[",
		"_notes.md":   "x",
		"en.toml":     "[sms]\ntext = \"x\"\n",
	})
	if got := strings.Join(s.Locales(), ","); got != "en" {
		t.Errorf("locales %s, want en", got)
	}
}

func TestUnusedLocaleLayoutWarns(t *testing.T) {
	s, dir := mustLoad(t, map[string]string{
		"_layout.de.html": "{{.body}}",
		"_layout.pt.html": "{{.body}}",
		"pt-BR.toml":      "[email]\nhtml = \"x\"\n",
	})
	var got []string
	for _, p := range s.Problems("pt-BR") {
		got = append(got, p.Severity+" "+rel(dir, p.String()))
	}
	want := "warning _layout.de.html: no template file takes this layout: there is no de.toml, nor a locale under it (have pt-BR)"
	if strings.Join(got, "\n") != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

// isolatesToBDI re-writes HTML token by token: everything but the isolates
// must come out byte for byte, whatever the markup around them.
func TestIsolatesToBDIKeepsMarkup(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"<p>a \u2068B\u2069 c</p>", "<p>a <bdi>B</bdi> c</p>"},
		{"<!DOCTYPE html><!-- x \u2068 --><p title=\"\u2068B\u2069\">1 &lt; 2 \u2068B\u2069</p>", "<!DOCTYPE html><!-- x  --><p title=\"B\">1 &lt; 2 <bdi>B</bdi></p>"},
		{"<a href=\"https://x.example/?id=%e2%81%a8B%E2%81%A9\">\u2068B\u2069</a>", "<a href=\"https://x.example/?id=B\"><bdi>B</bdi></a>"},
		{"<title>\u2068B\u2069</title><style>p{}\u2068</style><script>var a=\"\u2068b\u2069\"</script>", "<title>\u2068B\u2069</title><style>p{}</style><script>var a=\"b\"</script>"},
		{"<img alt=\"\u2068B\u2069\"/><br>text \u2068B\u2069 <unclosed", "<img alt=\"B\"/><br>text <bdi>B</bdi> <unclosed"},
	} {
		if got := isolatesToBDI(tt.in); got != tt.want {
			t.Errorf("isolatesToBDI(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

// Layouts are bound per locale and zone on first use, like sections; many
// senders render at once (go test -race).
func TestLayoutsConcurrent(t *testing.T) {
	s, _ := mustLoad(t, brandDir)
	want := map[string]string{}
	for _, loc := range []string{"en", "ar", "pt-BR"} {
		want[loc] = renderEmail(t, s, loc, loc, "Ana").HTML
	}
	s, _ = mustLoad(t, brandDir) // fresh bindings, built by the goroutines
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 20 {
				loc := []string{"en", "ar", "pt-BR"}[(i+j)%3]
				data := brandData("Ana")
				data["locale"] = loc
				c, err := s.RenderMessage(Request{Locale: loc, Sections: []string{"email"}, Data: data, Email: true, CustomerLocale: loc})
				if err != nil || c.HTML != want[loc] {
					t.Errorf("%s: %v\n%s", loc, err, c.HTML)
					return
				}
			}
		}()
	}
	wg.Wait()
}
