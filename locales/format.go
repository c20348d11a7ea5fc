package locales

import (
	"fmt"
	"strings"
	"time"

	"golang.org/x/text/currency"
	"golang.org/x/text/feature/plural"
)

// Formatter formats dates, numbers, money and plurals for one locale. It is
// cheap to get (the locale's data is computed once per process) and safe for
// concurrent use.
type Formatter struct {
	d    *localeData
	zone *time.Location
}

// NewFormatter returns the formatter for a locale (any BCP 47 tag; see
// ParseTag). zone is where Date shows instants; nil means UTC. Calendar dates
// ("2026-11-23") are never shifted by it.
func NewFormatter(locale string, zone *time.Location) (*Formatter, error) {
	return NewFormatterFor(locale, "", zone)
}

// NewFormatterFor returns the formatter for a customer served by a template
// locale: words and plural rules are the template's language, formats that
// language with the customer's region (see FormattingTag): an en template
// read by a de-CH customer formats as en-CH. An empty or unparseable
// customer locale formats as the template locale; an unparseable template
// locale is an error.
func NewFormatterFor(template, customer string, zone *time.Location) (*Formatter, error) {
	d, err := dataFor(template, customer)
	if err != nil {
		return nil, err
	}
	if zone == nil {
		zone = time.UTC
	}
	return &Formatter{d: d, zone: zone}, nil
}

// Locale returns the CLDR locale the formats come from: "en-CH" for an en
// template read by a de-CH customer, "ja" for a ja template read by one
// (CLDR has no ja-CH).
func (f *Formatter) Locale() string { return f.d.name }

// Date formats v in a CLDR date style of the locale: "short", "medium",
// "long", "full" (with the weekday name) or "time" (hour and minute).
//
// v is a time.Time or a string: RFC 3339 ("2026-11-23T10:00:00Z", an instant,
// shown in the formatter's zone) or YYYY-MM-DD (a calendar date, shown as is
// whatever the zone; it has no time of day, so "time" is an error for it).
func (f *Formatter) Date(v any, style string) (string, error) {
	var t time.Time
	calendar := false
	switch x := v.(type) {
	case time.Time:
		t = x.In(f.zone)
	case *time.Time:
		if x == nil {
			return "", fmt.Errorf("date: nothing (nil) is not a date (want a time, YYYY-MM-DD or RFC 3339)")
		}
		t = x.In(f.zone)
	case string:
		s := strings.TrimSpace(x)
		if len(s) == len("2006-01-02") {
			d, err := time.Parse(time.DateOnly, s)
			if err != nil {
				return "", fmt.Errorf("date: %q is not a date (want YYYY-MM-DD or RFC 3339)", x)
			}
			t, calendar = d, true
		} else {
			d, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return "", fmt.Errorf("date: %q is not a date (want YYYY-MM-DD or RFC 3339)", x)
			}
			t = d.In(f.zone)
		}
	default:
		return "", fmt.Errorf("date: %s is not a date (want a time, YYYY-MM-DD or RFC 3339)", describe(v))
	}
	c := f.d.cal
	var pattern string
	switch style {
	case "short":
		pattern = c.short
	case "medium":
		pattern = c.medium
	case "long":
		pattern = c.long
	case "full":
		pattern = c.full
	case "time":
		if calendar {
			return "", fmt.Errorf("date: %q is a calendar date with no time of day, so style \"time\" cannot show it (use short, medium, long or full, or give an RFC 3339 time)", v)
		}
		pattern = c.time
	default:
		return "", fmt.Errorf("date: unknown style %q (want short, medium, long, full or time)", style)
	}
	b := c.appendDate(make([]byte, 0, 48), pattern, t)
	return string(localDigits(b, c.num.zero)), nil
}

// Number formats v with the locale's separators and grouping: 1,234,567.5
// (en), 1.234.567,5 (id, it), 12,34,567.5 (hi). v is an integer, a float or a
// string holding a decimal number.
//
// The fraction digits are kept exactly as given and never rounded: "2.50"
// prints as 2.50 (2,50 in it). The author of the CSV chose them, and a
// quantity like 0.333 must not silently become 0.33. Floats print in their
// shortest exact form (0.1, not 0.1000000000000000055).
func (f *Formatter) Number(v any) (string, error) {
	d, err := toDecimal(v)
	if err != nil {
		return "", fmt.Errorf("number: %s is not a number", describe(v))
	}
	return string(f.localNumber(d)), nil
}

// localNumber writes d with the locale's separators and digits.
func (f *Formatter) localNumber(d decimal) []byte {
	return localDigits(f.appendNumber(nil, d), f.d.cal.num.zero)
}

func (f *Formatter) appendNumber(b []byte, d decimal) []byte {
	ns := &f.d.cal.num
	if d.neg {
		b = append(b, ns.minus...)
	}
	b = appendGrouped(b, d.ints, ns)
	if d.frac != "" {
		b = append(b, ns.decimal...)
		b = append(b, d.frac...)
	}
	return b
}

// appendGrouped writes integer digits with group separators: the primary
// size for the rightmost group, the secondary size for the others (Indian
// lakh/crore grouping is 3 then 2).
func appendGrouped(b []byte, ints string, ns *numberSymbols) []byte {
	n := len(ints)
	if ns.primary == 0 || n < ns.primary+ns.minGroup {
		return append(b, ints...)
	}
	// Size of the leftmost group, then whole secondary groups, then primary.
	rest := n - ns.primary
	first := rest % ns.secondary
	if first == 0 {
		first = ns.secondary
	}
	b = append(b, ints[:first]...)
	for i := first; i < rest; i += ns.secondary {
		b = append(b, ns.group...)
		b = append(b, ints[i:i+ns.secondary]...)
	}
	b = append(b, ns.group...)
	return append(b, ints[rest:]...)
}

// Money formats an amount in a currency with the locale's currency pattern
// and symbol: €1,234.50 (en), 1.234,50 € (it), Rp 1.234.567 (id), ￥1,235
// (ja). The amount is rounded (half away from zero) to the currency's CLDR
// digits: 2 for EUR, 0 for JPY and IDR, 3 for KWD. currency is an ISO 4217
// code, case-insensitive.
func (f *Formatter) Money(v any, code string) (string, error) {
	u, err := currency.ParseISO(strings.TrimSpace(code))
	if err != nil || u.String() == "XXX" {
		return "", fmt.Errorf("money: unknown currency %q (want an ISO 4217 code such as EUR, USD or IDR)", code)
	}
	d, err := toDecimal(v)
	if err != nil {
		return "", fmt.Errorf("money: %s is not a number", describe(v))
	}
	scale, _ := currency.Standard.Rounding(u)
	d = d.round(scale)
	sym := f.d.symbol(u)
	before := f.d.cal.curBefore
	// CLDR writes a no-break space between number and symbol, in the
	// pattern ("#,##0.00 ¤") or by its currencySpacing rule ("IDR 1,234").
	sep := ""
	if f.d.cal.curSpaced || needsSpace(sym, before) {
		sep = "\u00a0"
	}
	// The minus sign leads the whole amount (-€1.00, -1,00 €), CLDR's
	// implicit negative pattern for every locale herald verifies.
	b := make([]byte, 0, len(d.ints)+len(d.frac)+len(sym)+8)
	if d.neg {
		b = append(b, f.d.cal.num.minus...)
		d.neg = false
	}
	if before {
		b = append(b, sym...)
		b = append(b, sep...)
		b = f.appendNumber(b, d)
	} else {
		b = f.appendNumber(b, d)
		b = append(b, sep...)
		b = append(b, sym...)
	}
	return string(localDigits(b, f.d.cal.num.zero)), nil
}

// Plural picks the form matching n's CLDR cardinal plural category in the
// template's language (the forms are written in it, whatever the
// customer's region). forms[0] is the "one" form and forms[1] the "other" form; more
// forms are given as "zero=…", "two=…", "few=…", "many=…" (and "one=…",
// "other=…" may override the first two). A category with no form falls back
// to "other". Every '#' in the chosen form becomes n as Number writes it.
//
//	ru: 1 -> one, 3 -> few, 5 -> many; ar also has zero and two; ja is always other.
//
// n may be a string, so "1.0" is a decimal with one fraction digit and takes
// "other" in English ("1.0 items"), as CLDR specifies.
func (f *Formatter) Plural(n any, forms ...string) (string, error) {
	if len(forms) < 2 {
		return "", fmt.Errorf(`plural: got %d form(s), want at least the "one" and "other" forms, e.g. plural .n "# item" "# items"`, len(forms))
	}
	d, err := toDecimal(n)
	if err != nil {
		return "", fmt.Errorf("plural: %s is not a number", describe(n))
	}
	var byForm [6]string // indexed by plural.Form: Other, Zero, One, Two, Few, Many
	var set [6]bool
	byForm[plural.One], set[plural.One] = forms[0], true
	byForm[plural.Other], set[plural.Other] = forms[1], true
	for _, extra := range forms[2:] {
		key, text, ok := strings.Cut(extra, "=")
		form, known := pluralKeys[key]
		if !ok || !known {
			return "", fmt.Errorf("plural: form %q has no category (want zero=…, one=…, two=…, few=…, many=… or other=…)", extra)
		}
		byForm[form], set[form] = text, true
	}
	i, v, w, fr, t := d.pluralOperands()
	cat := plural.Cardinal.MatchPlural(f.d.template, i, v, w, fr, t)
	if int(cat) >= len(set) || !set[cat] {
		cat = plural.Other
	}
	out := byForm[cat]
	if strings.IndexByte(out, '#') >= 0 {
		out = strings.ReplaceAll(out, "#", string(f.localNumber(d)))
	}
	return out, nil
}

var pluralKeys = map[string]plural.Form{
	"zero": plural.Zero, "one": plural.One, "two": plural.Two,
	"few": plural.Few, "many": plural.Many, "other": plural.Other,
}
