package locales

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/text/language"
)

// MinConfidence is the lowest x/text confidence at which a template locale is
// taken instead of the default. High is on purpose: it takes regional and
// script variants (pt-PT -> pt, zh-HK -> zh-Hant, en-AU -> en-GB) and the
// mutually intelligible pairs CLDR rates High, notably Malay -> Indonesian
// (ms -> id, also jv and su -> id): a Malaysian customer reads an Indonesian
// message without trouble, and it is closer than an English default. Low is
// refused because it pairs languages a customer may not read at all.
const MinConfidence = language.High

// Match is the template locale chosen for one customer.
type Match struct {
	Index      int    // index into the available list given to NewMatcher
	Locale     string // available[Index]
	Confidence string // "exact", "high" (x/text's confidence, lower-cased) or "default"
	Reason     string // short text for `herald plan`, e.g. "pt-PT -> pt (high)"
}

// maxCachedMatches bounds the per-Matcher cache: real audiences hold a few
// hundred distinct locale strings, but a column of junk must not grow memory
// with the audience.
const maxCachedMatches = 4096

// Matcher picks one of a campaign's template locales for each customer. It is
// safe for concurrent use; results are cached per requested string, so the
// cost per audience row is one map lookup.
type Matcher struct {
	available []string
	order     []int // matcher index -> index into available
	def       int
	m         language.Matcher
	cache     sync.Map // requested string -> Match
	cached    atomic.Int64
}

// NewMatcher returns a Matcher over available (template file base names such
// as "en", "pt-BR", "zh-Hant"); defaultLocale is taken when nothing matches
// well enough and must be one of available.
func NewMatcher(available []string, defaultLocale string) (*Matcher, error) {
	if len(available) == 0 {
		return nil, fmt.Errorf("no template locales: add at least one <locale>.toml, e.g. %s.toml", orEN(defaultLocale))
	}
	tags := make([]language.Tag, len(available))
	seen := make(map[string]int, len(available))
	for i, a := range available {
		tag, err := ParseTag(a)
		if err != nil {
			return nil, fmt.Errorf("template locale: %w", err)
		}
		c := tag.String()
		if j, dup := seen[c]; dup {
			return nil, fmt.Errorf("template locales %q and %q are the same locale %s: keep one file", available[j], a, c)
		}
		seen[c] = i
		tags[i] = tag
	}
	defTag, err := ParseTag(defaultLocale)
	if err != nil {
		return nil, fmt.Errorf("default_locale: %w", err)
	}
	def, ok := seen[defTag.String()]
	if !ok {
		return nil, fmt.Errorf("default_locale %q has no template: add %s.toml or set default_locale to one of %s",
			defaultLocale, defaultLocale, strings.Join(available, ", "))
	}
	// x/text breaks ties by order, and pt and pt-BR are the same locale to it
	// (CLDR's pt is Brazilian). Offering general names first makes pt-PT take
	// pt.toml rather than pt-BR.toml whatever order the files were listed in;
	// pt-BR still takes pt-BR.toml, which is exact.
	order := make([]int, len(tags))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		return strings.Count(tags[order[a]].String(), "-") < strings.Count(tags[order[b]].String(), "-")
	})
	sorted := make([]language.Tag, len(tags))
	for i, j := range order {
		sorted[i] = tags[j]
	}
	return &Matcher{
		available: append([]string(nil), available...),
		order:     order,
		def:       def,
		m:         language.NewMatcher(sorted),
	}, nil
}

func orEN(s string) string {
	if s == "" {
		return "en"
	}
	return s
}

// Default returns the match used when nothing better fits.
func (m *Matcher) Default() Match {
	return Match{Index: m.def, Locale: m.available[m.def], Confidence: "default"}
}

// Match picks the template locale for a customer's locale. An empty or
// unparseable locale gets the default; the Reason says which case applied.
func (m *Matcher) Match(requested string) Match {
	if v, ok := m.cache.Load(requested); ok {
		return v.(Match)
	}
	r := m.match(requested)
	if m.cached.Load() < maxCachedMatches {
		if _, loaded := m.cache.LoadOrStore(requested, r); !loaded {
			m.cached.Add(1)
		}
	}
	return r
}

func (m *Matcher) match(requested string) Match {
	d := m.Default()
	s := strings.TrimSpace(requested)
	if s == "" {
		d.Reason = "no locale, default " + d.Locale
		return d
	}
	tag, err := ParseTag(s)
	if err != nil {
		d.Reason = fmt.Sprintf("unparseable locale %q, default %s", requested, d.Locale)
		return d
	}
	// The returned tag carries -u-rg- extensions (pt-PT -> pt-u-rg-ptzzzz),
	// so only the index identifies the template.
	_, i, conf := m.m.Match(tag)
	i = m.order[i]
	if conf < MinConfidence {
		d.Reason = fmt.Sprintf("no template for %s, default %s", s, d.Locale)
		return d
	}
	r := Match{Index: i, Locale: m.available[i], Confidence: strings.ToLower(conf.String())}
	if s == r.Locale {
		r.Reason = "exact match"
	} else {
		// Show what the customer row said, so "in -> id" explains itself.
		r.Reason = fmt.Sprintf("%s -> %s (%s)", s, r.Locale, r.Confidence)
	}
	return r
}
