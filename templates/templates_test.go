package templates

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeFormatter shows which locale and zone it was built for, so tests can
// tell that the functions were bound per file and per zone.
type fakeFormatter struct {
	locale string
	zone   *time.Location
}

var errNotADate = errors.New("not a date")

func (f fakeFormatter) Date(v any, style string) (string, error) {
	var t time.Time
	switch x := v.(type) {
	case time.Time:
		t = x.In(f.zone)
	case string:
		d, err := time.Parse("2006-01-02", x)
		if err != nil {
			return "", fmt.Errorf("date: %q is %w", x, errNotADate)
		}
		t = d
	default:
		return "", fmt.Errorf("date: %T is %w", v, errNotADate)
	}
	return fmt.Sprintf("%s/%s:%s", f.locale, style, t.Format("2006-01-02 15:04")), nil
}

func (f fakeFormatter) Number(v any) (string, error) { return fmt.Sprintf("%s#%v", f.locale, v), nil }

func (f fakeFormatter) Money(v any, cur string) (string, error) {
	return fmt.Sprintf("%s %v %s", f.locale, v, cur), nil
}

func (f fakeFormatter) Plural(n any, forms ...string) (string, error) {
	if n == 1 || n == "1" {
		return forms[0], nil
	}
	return strings.ReplaceAll(forms[len(forms)-1], "#", fmt.Sprint(n)), nil
}

func fakeFormatters(locale, customer string, zone *time.Location) (Formatter, error) {
	if customer != "" {
		locale += "@" + customer
	}
	return fakeFormatter{locale: locale, zone: zone}, nil
}

// writeDir writes files into a fresh directory and returns it.
func writeDir(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tpl")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// rel strips the temporary directory from messages so that they read like
// the ones users see: "en.toml:4: ...".
func rel(dir, msg string) string { return strings.ReplaceAll(msg, dir+string(filepath.Separator), "") }

func mustLoad(t testing.TB, files map[string]string) (*Set, string) {
	t.Helper()
	dir := writeDir(t, files)
	s, err := Load(dir, fakeFormatters)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return s, dir
}

var renderFiles = map[string]string{
	"en.toml": `[default]
text = "Hi {{.name}}, order {{.order_id}} arrives {{date .eta \"long\"}}."

[sms]
text = "{{.name}}: {{.order_id}} {{date .eta \"short\"}}"

[email]
subject = "Order {{.order_id}} is delayed"
text = "{{plural .count \"one item\" \"# items\"}} for {{money .total \"EUR\"}} ({{number .count}})"
html = """
<p>Hi {{.name}},</p>
<a href="{{.unsubscribe_url}}">unsubscribe</a>"""

[whatsapp]
template = "shipment_delay"
params = ["{{.name}}", "{{date .eta \"long\"}}"]

[webhook]
text = '{"name": {{json .name}}, "count": {{json .count}}}'

[push]
text = "Hey {{.nick | default \"friend\"}}! {{upper .name}} {{lower .code}}"
`,
	"it.toml": `[default]
text = "Ciao {{.name}}, {{number .count}}"
`,
	"pt-BR.toml": `[whatsapp]
template = "shipment_delay"
params = ["{{.name}}"]
text = "x"

[wa2]
template = "shipment_delay"
language = "pt_PT"
params = []
`,
	"tr.toml": `[default]
text = "{{upper .city}} {{lower .word}}"
`,
	"de.toml": `[telegram]
parse_mode = "MarkdownV2"
text = "*Bestellung* {{.order_id}} {{if .late}}_spät_ {{.reason}}{{end}}{{$x := .name}}"

[tg]
parse_mode = "HTML"
text = "<b>{{.name}}</b> {{.order_id}}"
`,
}

func TestRender(t *testing.T) {
	s, _ := mustLoad(t, renderFiles)
	jakarta, err := time.LoadLocation("Asia/Jakarta")
	if err != nil {
		t.Skip("no tz database:", err)
	}
	eta := time.Date(2026, 11, 23, 20, 30, 0, 0, time.UTC)
	data := map[string]any{
		"name": "Budi <b>", "order_id": "A-17", "eta": eta, "count": 3, "total": 12.5,
		"unsubscribe_url": "https://x.test/u?a=1&b=2", "nick": "", "code": "ABC", "reason": "Sturm.",
		"city": "istanbul", "word": "IŞIK", "late": true,
	}
	tests := []struct {
		name     string
		locale   string
		sections []string
		zone     *time.Location
		want     Content
	}{
		{"own section wins", "en", []string{"vsms", "sms", "default"}, time.UTC,
			Content{Section: "sms", Text: "Budi <b>: A-17 en/short:2026-11-23 20:30"}},
		{"default when the channel has none", "en", []string{"line", "default"}, time.UTC,
			Content{Section: "default", Text: "Hi Budi <b>, order A-17 arrives en/long:2026-11-23 20:30."}},
		{"date in the recipient's zone", "en", []string{"sms"}, jakarta,
			Content{Section: "sms", Text: "Budi <b>: A-17 en/short:2026-11-24 03:30"}},
		{"functions bound to the file's locale", "it", []string{"default"}, nil,
			Content{Section: "default", Text: "Ciao Budi <b>, it#3"}},
		{"html escapes data, text does not", "en", []string{"email"}, time.UTC, Content{
			Section: "email",
			Subject: "Order A-17 is delayed",
			Text:    "3 items for en 12.5 EUR (en#3)",
			HTML:    "<p>Hi Budi &lt;b&gt;,</p>\n<a href=\"https://x.test/u?a=1&amp;b=2\">unsubscribe</a>",
		}},
		{"json literals for webhook bodies", "en", []string{"webhook"}, nil,
			Content{Section: "webhook", Text: `{"name": "Budi <b>", "count": 3}`}},
		{"default, upper, lower", "en", []string{"push"}, nil,
			Content{Section: "push", Text: "Hey friend! BUDI <B> abc"}},
		{"Turkish casing", "tr", []string{"default"}, nil,
			Content{Section: "default", Text: "İSTANBUL ışık"}},
		{"MarkdownV2 escapes data, keeps markup", "de", []string{"telegram"}, nil,
			Content{Section: "telegram", ParseMode: "MarkdownV2", Text: `*Bestellung* A\-17 _spät_ Sturm\.`}},
		{"HTML parse mode escapes data, keeps markup", "de", []string{"tg"}, nil,
			Content{Section: "tg", ParseMode: "HTML", Text: "<b>Budi &lt;b&gt;</b> A-17"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Render(tt.locale, tt.sections, data, tt.zone)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestRenderProviderTemplate(t *testing.T) {
	s, _ := mustLoad(t, renderFiles)
	data := map[string]any{"name": "Budi", "eta": "2026-11-23"}
	tests := []struct {
		locale, section string
		wantLang        string
		wantParams      []string
		wantText        string
	}{
		{"en", "whatsapp", "en", []string{"Budi", "en/long:2026-11-23 00:00"}, ""},
		{"pt-BR", "whatsapp", "pt_BR", []string{"Budi"}, "x"},
		{"pt-BR", "wa2", "pt_PT", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.locale+"/"+tt.section, func(t *testing.T) {
			c, err := s.Render(tt.locale, []string{tt.section}, data, nil)
			if err != nil {
				t.Fatal(err)
			}
			if c.Template == nil {
				t.Fatal("Template is nil")
			}
			if c.Template.Name != "shipment_delay" || c.Template.Language != tt.wantLang ||
				fmt.Sprint(c.Template.Params) != fmt.Sprint(tt.wantParams) || c.Text != tt.wantText {
				t.Errorf("got %+v text %q; want language %q params %q text %q", *c.Template, c.Text, tt.wantLang, tt.wantParams, tt.wantText)
			}
		})
	}
}

func TestRenderErrors(t *testing.T) {
	s, dir := mustLoad(t, map[string]string{
		"en.toml": `# line 1
[sms]

text = "{{.name}}: {{.order_id}}"

[email]
subject = "Hi"
html = """
<p>{{.name}}</p>
<p>{{date .eta "long"}}</p>
"""

[whatsapp]
template = "t"
params = [
  "{{.name}}",
  "{{.nope}}",
]
`,
	})
	tests := []struct {
		name     string
		locale   string
		sections []string
		data     map[string]any
		want     string
		wantIs   error
	}{
		{"missing key names file, line and action", "en", []string{"sms"}, map[string]any{"name": "B"},
			`en.toml:4: [sms] text: map has no entry for key "order_id" (in {{.order_id}})`, nil},
		{"formatter error passes through at its line in a multi-line string", "en", []string{"email"},
			map[string]any{"name": "B", "eta": "2026-13-40"},
			`en.toml:10: [email] html: error calling date: date: "2026-13-40" is not a date (in {{date .eta "long"}})`, errNotADate},
		{"params element on its own line", "en", []string{"whatsapp"}, map[string]any{"name": "B"},
			`en.toml:17: [whatsapp] params[1]: map has no entry for key "nope" (in {{.nope}})`, nil},
		{"no section", "en", []string{"line", "default"}, nil,
			`en.toml: none of the sections [line], [default] is present; add one of them`, nil},
		{"no file", "fr", []string{"sms"}, nil,
			`no template file for locale "fr" in DIR (have en)`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Render(tt.locale, tt.sections, tt.data, nil)
			if err == nil {
				t.Fatal("Render succeeded; want an error")
			}
			got := strings.ReplaceAll(rel(dir, err.Error()), dir, "DIR")
			if got != tt.want {
				t.Errorf("error\n got %s\nwant %s", got, tt.want)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("errors.Is(err, %v) = false; formatter errors must stay reachable", tt.wantIs)
			}
			// Validate (send's check before anything leaves) must refuse
			// exactly what Render refuses, with the same error.
			verr := s.Validate(Request{Locale: tt.locale, Sections: tt.sections, Data: tt.data})
			if verr == nil {
				t.Fatal("Validate succeeded where Render fails")
			}
			if v := strings.ReplaceAll(rel(dir, verr.Error()), dir, "DIR"); v != got {
				t.Errorf("Validate error\n got %s\nwant %s", v, got)
			}
			if tt.wantIs != nil && !errors.Is(verr, tt.wantIs) {
				t.Errorf("Validate: errors.Is(err, %v) = false", tt.wantIs)
			}
		})
	}
	good := map[string]any{"name": "B", "order_id": "7", "eta": "2026-12-01", "nope": "x"}
	for _, sec := range []string{"sms", "email", "whatsapp"} {
		if err := s.Validate(Request{Locale: "en", Sections: []string{sec}, Data: good}); err != nil {
			t.Errorf("Validate [%s] with complete data: %v", sec, err)
		}
	}
}

func TestRenderWithoutFormatter(t *testing.T) {
	dir := writeDir(t, map[string]string{"en.toml": "[sms]\ntext = \"{{number 3}}\"\n"})
	s, err := Load(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Render("en", []string{"sms"}, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "no locale formatter configured") {
		t.Errorf("got %v; want an error saying no formatter is configured", err)
	}
}

func TestRenderFormatterFuncError(t *testing.T) {
	dir := writeDir(t, map[string]string{"en.toml": "[sms]\ntext = \"x\"\n"})
	s, err := Load(dir, func(string, string, *time.Location) (Formatter, error) { return nil, errors.New("no CLDR data") })
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Render("en", []string{"sms"}, nil, nil)
	if got, want := rel(dir, fmt.Sprint(err)), `en.toml: no formatter for locale "en" in zone UTC: no CLDR data`; got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
}

// TestRenderParallel renders from many goroutines in several zones at once;
// run with -race.
func TestRenderParallel(t *testing.T) {
	s, _ := mustLoad(t, renderFiles)
	zones := []*time.Location{time.UTC, time.FixedZone("A", 3600), time.FixedZone("B", -7200), nil}
	eta := time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 200 {
				zone := zones[(g+i)%len(zones)]
				data := map[string]any{"name": fmt.Sprint("n", i), "order_id": "A", "eta": eta}
				c, err := s.Render("en", []string{"sms"}, data, zone)
				if err != nil {
					t.Error(err)
					return
				}
				want := fmt.Sprintf("n%d: A en/short:%s", i, eta.In(orUTC(zone)).Format("2006-01-02 15:04"))
				if c.Text != want {
					t.Errorf("got %q want %q", c.Text, want)
					return
				}
				if _, err := s.Render("en", []string{"email"}, map[string]any{"name": "<x>", "order_id": "A", "count": 1, "total": 1, "unsubscribe_url": "u"}, zone); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func orUTC(z *time.Location) *time.Location {
	if z == nil {
		return time.UTC
	}
	return z
}

func TestSetAccessors(t *testing.T) {
	s, dir := mustLoad(t, renderFiles)
	if got, want := strings.Join(s.Locales(), ","), "de,en,it,pt-BR,tr"; got != want {
		t.Errorf("Locales = %s, want %s", got, want)
	}
	if got, want := strings.Join(s.Sections("en"), ","), "default,email,push,sms,webhook,whatsapp"; got != want {
		t.Errorf("Sections(en) = %s, want %s", got, want)
	}
	if !s.Has("en", "sms") || s.Has("it", "sms") || s.Has("xx", "sms") {
		t.Error("Has is wrong")
	}
	if s.File("pt-BR") != filepath.Join(dir, "pt-BR.toml") || s.File("xx") != "" || s.Dir() != dir {
		t.Error("File or Dir is wrong")
	}
	if sec, ok := s.Pick("it", []string{"sms", "default"}); !ok || sec != "default" {
		t.Errorf("Pick = %q %v", sec, ok)
	}
}

// namedFormatter names the locale it formats for, as locales.Formatter does.
type namedFormatter struct{ fakeFormatter }

func (f namedFormatter) Locale() string { return f.locale }

// TestRenderForCustomerLocale: the customer's locale reaches the
// FormatterFunc, and customer locales that resolve to the same formatting
// locale share one binding instead of building one per spelling.
func TestRenderForCustomerLocale(t *testing.T) {
	dir := writeDir(t, map[string]string{"en.toml": "[sms]\ntext = \"{{date .eta \\\"short\\\"}}\"\n"})
	var calls []string
	var mu sync.Mutex
	s, err := Load(dir, func(l, customer string, z *time.Location) (Formatter, error) {
		mu.Lock()
		calls = append(calls, customer)
		mu.Unlock()
		region := strings.ReplaceAll(customer, "_", "-")
		return namedFormatter{fakeFormatter{locale: l + "@" + region, zone: z}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	data := map[string]any{"eta": "2026-11-05"}
	for _, customer := range []string{"de-CH", "de_CH", "de-CH", "de_CH", "en-GB"} {
		c, err := s.RenderFor("en", customer, []string{"sms"}, data, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := "en@" + strings.ReplaceAll(customer, "_", "-") + "/short:2026-11-05 00:00"
		if c.Text != want {
			t.Errorf("customer %s: got %q, want %q", customer, c.Text, want)
		}
	}
	if got := strings.Join(calls, ","); got != "de-CH,de_CH,en-GB" {
		t.Errorf("FormatterFunc called for %s; want once per spelling: de-CH,de_CH,en-GB", got)
	}
}
