package templates

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

var benchFiles = map[string]string{"en.toml": `[sms]
text = """Hi {{.name}} {{.surname}}, order {{.order_id}} ({{.items}} items, {{number .total}}) \
ships from {{.warehouse}} via {{.carrier}} to {{.city}}, {{.country}}; \
track {{.tracking}} before {{date .eta "long"}}."""
`}

func benchData() map[string]any {
	return map[string]any{
		"name": "Budi", "surname": "Santoso", "order_id": "A-17", "items": 3, "total": 1234.5,
		"warehouse": "Cikarang", "carrier": "JNE", "city": "Bandung", "country": "ID",
		"tracking": "JNE123456789", "eta": time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC),
	}
}

// BenchmarkRender renders a 10-field SMS for one recipient, the per-message
// cost of a send.
func BenchmarkRender(b *testing.B) {
	s, _ := mustLoad(b, benchFiles)
	data := benchData()
	zone := time.FixedZone("Asia/Jakarta", 7*3600)
	sections := []string{"sms", "default"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Render("en", sections, data, zone); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRenderParallel(b *testing.B) {
	s, _ := mustLoad(b, benchFiles)
	zone := time.FixedZone("Asia/Jakarta", 7*3600)
	sections := []string{"sms", "default"}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		data := benchData()
		for pb.Next() {
			if _, err := s.Render("en", sections, data, zone); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkLoad(b *testing.B) {
	dir := writeDir(b, renderFiles)
	for b.Loop() {
		if _, err := Load(dir, fakeFormatters); err != nil {
			b.Fatal(err)
		}
	}
}

// TestFormatterBoundOncePerZone: formatters are built per (locale, zone)
// on first use, not per message.
func TestFormatterBoundOncePerZone(t *testing.T) {
	dir := writeDir(t, benchFiles)
	var calls atomic.Int32
	s, err := Load(dir, func(l, _ string, z *time.Location) (Formatter, error) {
		calls.Add(1)
		return fakeFormatter{l, z}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	zones := []*time.Location{time.UTC, time.FixedZone("X", 3600)}
	for i := range 100 {
		if _, err := s.Render("en", []string{"sms"}, benchData(), zones[i%2]); err != nil {
			t.Fatal(err)
		}
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("FormatterFunc called %d times for 2 zones; want 2", n)
	}
}

// BenchmarkTextTemplateBaseline executes the same source with text/template
// directly: the floor that Render's own overhead is measured against.
func BenchmarkTextTemplateBaseline(b *testing.B) {
	s, _ := mustLoad(b, benchFiles)
	f := s.files["en"]
	t, err := bindField(f.sections["sms"].text, func() map[string]any {
		m, _, _ := s.funcsFor(f, "", time.UTC)
		return m
	}(), true)
	if err != nil {
		b.Fatal(err)
	}
	data := benchData()
	b.ReportAllocs()
	for b.Loop() {
		var sb strings.Builder
		if err := t.Execute(&sb, data); err != nil {
			b.Fatal(err)
		}
	}
}
