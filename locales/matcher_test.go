package locales

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

func TestMatcherMatch(t *testing.T) {
	full := []string{"en", "id", "it", "pt-BR", "pt", "ja", "zh-Hant", "zh-Hans"}
	tests := []struct {
		name       string
		available  []string
		requested  string
		locale     string
		confidence string
		reason     string
	}{
		{"same file", full, "pt-BR", "pt-BR", "exact", "exact match"},
		{"underscore", full, "pt_BR", "pt-BR", "exact", "pt_BR -> pt-BR (exact)"},
		{"Brazil without pt-BR file", []string{"en", "pt"}, "pt-BR", "pt", "exact", "pt-BR -> pt (exact)"},
		{"Portugal takes pt", full, "pt-PT", "pt", "high", "pt-PT -> pt (high)"},
		{"Hong Kong takes Traditional", full, "zh-HK", "zh-Hant", "high", "zh-HK -> zh-Hant (high)"},
		{"Taiwan takes Traditional", full, "zh-TW", "zh-Hant", "exact", "zh-TW -> zh-Hant (exact)"},
		{"plain zh takes Simplified", full, "zh", "zh-Hans", "exact", "zh -> zh-Hans (exact)"},
		{"legacy in", full, "in", "id", "exact", "in -> id (exact)"},
		{"region of a template", full, "it-IT", "it", "exact", "it-IT -> it (exact)"},
		{"Malay reads Indonesian", full, "ms", "id", "high", "ms -> id (high)"},
		{"Malay without id file", []string{"en", "it"}, "ms", "en", "default", "no template for ms, default en"},
		{"Norwegian reads Danish", []string{"en", "da"}, "nb", "da", "high", "nb -> da (high)"},
		// x/text rates Cyrillic Serbian -> Latin Serbian Low: below the bar.
		{"low confidence refused", []string{"en", "sr-Latn"}, "sr", "en", "default", "no template for sr, default en"},
		{"German without de file", full, "de", "en", "default", "no template for de, default en"},
		{"empty", full, "", "en", "default", "no locale, default en"},
		{"blank", full, "  ", "en", "default", "no locale, default en"},
		{"unparseable", full, "xx-!!", "en", "default", `unparseable locale "xx-!!", default en`},
		{"default other than first", []string{"it", "en"}, "ko", "en", "default", "no template for ko, default en"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			def := "en"
			m, err := NewMatcher(tt.available, def)
			if err != nil {
				t.Fatal(err)
			}
			// Twice: the second answer comes from the cache and must agree.
			for range 2 {
				got := m.Match(tt.requested)
				if got.Locale != tt.locale || got.Confidence != tt.confidence || got.Reason != tt.reason {
					t.Fatalf("Match(%q) = %+v, want locale %q confidence %q reason %q",
						tt.requested, got, tt.locale, tt.confidence, tt.reason)
				}
				if tt.available[got.Index] != got.Locale {
					t.Fatalf("Match(%q): Index %d is %q, not Locale %q", tt.requested, got.Index, tt.available[got.Index], got.Locale)
				}
			}
		})
	}
}

func TestNewMatcherErrors(t *testing.T) {
	tests := []struct {
		name      string
		available []string
		def       string
		want      string
	}{
		{"default missing", []string{"it", "id"}, "en", `default_locale "en" has no template: add en.toml or set default_locale to one of it, id`},
		{"bad file name", []string{"en", "e!n"}, "en", `template locale: unparseable locale "e!n"`},
		{"bad default", []string{"en"}, "", `default_locale: unparseable locale ""`},
		{"same locale twice", []string{"pt_BR", "en", "pt-BR"}, "en", `template locales "pt_BR" and "pt-BR" are the same locale pt-BR`},
		{"none", nil, "en", "no template locales"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewMatcher(tt.available, tt.def)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewMatcher(%q, %q) error = %v, want one containing %q", tt.available, tt.def, err, tt.want)
			}
		})
	}
}

func TestMatcherDefaultByCanonicalName(t *testing.T) {
	m, err := NewMatcher([]string{"pt-BR", "en"}, "pt_BR")
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Match("de"); got.Locale != "pt-BR" {
		t.Fatalf("Match(de) = %q, want the default pt-BR", got.Locale)
	}
}

func TestMatcherConcurrent(t *testing.T) {
	m, err := NewMatcher([]string{"en", "id", "pt"}, "en")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"in": "id", "pt-BR": "pt", "de": "en", "": "en"}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				req := []string{"in", "pt-BR", "de", ""}[(i+g)%4]
				if got := m.Match(req).Locale; got != want[req] {
					t.Errorf("Match(%q) = %q, want %q", req, got, want[req])
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestMatcherCacheIsBounded(t *testing.T) {
	m, err := NewMatcher([]string{"en"}, "en")
	if err != nil {
		t.Fatal(err)
	}
	for i := range maxCachedMatches + 100 {
		m.Match(fmt.Sprintf("x-junk%d", i))
	}
	if n := m.cached.Load(); n > maxCachedMatches {
		t.Fatalf("cache holds %d entries, want at most %d", n, maxCachedMatches)
	}
}

func BenchmarkMatcherMatch(b *testing.B) {
	m, err := NewMatcher([]string{"en", "id", "it", "pt-BR", "pt", "ja", "zh-Hant"}, "en")
	if err != nil {
		b.Fatal(err)
	}
	reqs := []string{"id", "pt-PT", "zh-HK", "de", "in", ""}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		m.Match(reqs[i%len(reqs)])
	}
}
