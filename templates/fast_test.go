package templates

import (
	"errors"
	"strings"
	"testing"
	"text/template"

	"golang.org/x/text/language"
	"time"
)

// The compiled form of a simple template must print exactly what
// text/template prints, and hand every case it cannot print (missing key,
// non-string value, formatter error) back to text/template, whose error
// is the one users see.
func TestFastTemplateMatchesTextTemplate(t *testing.T) {
	fm := fakeFormatter{locale: "en", zone: time.UTC}
	funcs := localeFuncs(language.English)
	funcs["date"], funcs["number"], funcs["money"] = fm.Date, fm.Number, fm.Money
	funcs[isolateName] = isolateFunc(RTL)
	sources := map[string]bool{ // source: compiled?
		`Hi {{.name}}: order {{.order_id}} ({{money .amount "EUR"}}) arrives {{date .eta "long"}}.`: true,
		`{{upper .name}} {{number .amount}} {{json .name}}`:                                         true,
		`{{if .name}}x{{end}}`:  false,
		`{{.name | upper}}`:     false,
		`{{date .eta .name}}`:   false,
		`{{$x := .name}}{{$x}}`: false,
		`{{.a.b}}`:              false,
	}
	datas := []map[string]any{
		{"name": "Ana", "order_id": "7", "amount": "12.5", "eta": "2026-12-01", "a": map[string]any{"b": "c"}},
		{"name": "Ana", "order_id": "7", "amount": "12.5", "eta": "not a date", "a": map[string]any{"b": "c"}},
		{"name": "Ana", "amount": "12.5", "eta": "2026-12-01"},
		{"name": "سارة", "order_id": "7", "amount": "12.5", "eta": "2026-12-01", "a": map[string]any{"b": "c"}},
		{"name": 42, "order_id": time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), "amount": 3, "eta": time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
	}
	for src, wantCompiled := range sources {
		tt := template.Must(template.New("x").Option("missingkey=error").Funcs(funcs).Parse(src))
		prog := compile(tt, funcs)
		if (prog != nil) != wantCompiled {
			t.Errorf("%s: compiled = %v, want %v", src, prog != nil, wantCompiled)
		}
		fast := &fastTemplate{t: tt, prog: prog}
		for i, data := range datas {
			var want, got strings.Builder
			werr := tt.Execute(&want, data)
			gerr := fast.Execute(&got, data)
			if (werr == nil) != (gerr == nil) || (werr != nil && werr.Error() != gerr.Error()) {
				t.Errorf("%s, data %d: error %v, want %v", src, i, gerr, werr)
			}
			if werr == nil && got.String() != want.String() {
				t.Errorf("%s, data %d: %q, want %q", src, i, got.String(), want.String())
			}
			if werr != nil && errors.Is(werr, errNotADate) && !errors.Is(gerr, errNotADate) {
				t.Errorf("%s, data %d: the formatter's error is not reachable", src, i)
			}
		}
	}
}
