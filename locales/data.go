package locales

import (
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	gl "github.com/go-playground/locales"
	"github.com/go-playground/locales/ar"
	glcur "github.com/go-playground/locales/currency"
	"github.com/go-playground/locales/de"
	"github.com/go-playground/locales/en"
	"github.com/go-playground/locales/en_GB"
	"github.com/go-playground/locales/es"
	"github.com/go-playground/locales/fr"
	"github.com/go-playground/locales/hi"
	"github.com/go-playground/locales/id"
	"github.com/go-playground/locales/it"
	"github.com/go-playground/locales/ja"
	"github.com/go-playground/locales/ko"
	"github.com/go-playground/locales/ms"
	"github.com/go-playground/locales/nl"
	"github.com/go-playground/locales/pl"
	"github.com/go-playground/locales/pt"
	"github.com/go-playground/locales/pt_PT"
	"github.com/go-playground/locales/ru"
	"github.com/go-playground/locales/th"
	"github.com/go-playground/locales/tr"
	"github.com/go-playground/locales/vi"
	"github.com/go-playground/locales/zh_Hans"
	"github.com/go-playground/locales/zh_Hant"
	"golang.org/x/text/currency"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/number"
)

// calendarLocale is one set of CLDR calendar data (month and day names, date
// and time patterns) from go-playground/locales. Only these are linked into
// the binary; every other tag borrows the closest one (see calendarFor).
type calendarLocale struct {
	tag string
	new func() gl.Translator
	get func() gl.Translator // lazily built, shared
}

// calendarLocales lists the calendar data herald ships. "en" comes first: it
// is what a tag with no close relative gets. pt is Brazilian Portuguese in
// CLDR, hence the separate pt-PT; en-GB covers the day-first English of most
// of the world outside the US.
var calendarLocales = []*calendarLocale{
	{tag: "en", new: en.New},
	{tag: "en-GB", new: en_GB.New},
	{tag: "id", new: id.New},
	{tag: "ms", new: ms.New},
	{tag: "it", new: it.New},
	{tag: "es", new: es.New},
	{tag: "fr", new: fr.New},
	{tag: "de", new: de.New},
	{tag: "nl", new: nl.New},
	{tag: "pt", new: pt.New},
	{tag: "pt-PT", new: pt_PT.New},
	{tag: "ja", new: ja.New},
	{tag: "ko", new: ko.New},
	{tag: "zh-Hans", new: zh_Hans.New},
	{tag: "zh-Hant", new: zh_Hant.New},
	{tag: "ar", new: ar.New},
	{tag: "hi", new: hi.New},
	{tag: "th", new: th.New},
	{tag: "vi", new: vi.New},
	{tag: "tr", new: tr.New},
	{tag: "ru", new: ru.New},
	{tag: "pl", new: pl.New},
}

func init() {
	// Translators hold large tables (time zone names among them): build each
	// one on first use only.
	for _, c := range calendarLocales {
		c.get = sync.OnceValue(c.new)
	}
}

var calendarMatcher = sync.OnceValue(func() language.Matcher {
	tags := make([]language.Tag, len(calendarLocales))
	for i, c := range calendarLocales {
		tags[i] = language.MustParse(c.tag)
	}
	return language.NewMatcher(tags)
})

// calendarFor returns the calendar data closest to tag: the tag itself, its
// base language or script (pt-BR -> pt, zh-HK -> zh-Hant), else English.
func calendarFor(tag language.Tag) *calendarLocale {
	_, i, conf := calendarMatcher().Match(tag)
	if conf < MinConfidence {
		i = 0
	}
	return calendarLocales[i]
}

// numberSymbols is how one locale writes numbers.
type numberSymbols struct {
	decimal, group, minus string
	primary, secondary    int // grouping sizes: 3,3 for 1,234,567; 3,2 for 12,34,567; 0 = none
	minGroup              int // CLDR minimumGroupingDigits: 2 means 1234 but 12.345
}

var enNumbers = numberSymbols{decimal: ".", group: ",", minus: "-", primary: 3, secondary: 3, minGroup: 1}

// localeData is everything a Formatter needs for one locale, computed once
// and shared by every Formatter of that locale.
type localeData struct {
	tag       language.Tag // canonical requested tag: plural rules and currency symbols
	cal       *calendarLocale
	num       numberSymbols
	curBefore bool // currency symbol before the number
	curSpaced bool // a space between symbol and number in the locale's pattern
	symbols   sync.Map
	nsymbols  atomic.Int64
}

// maxCachedLocales bounds the locale cache against audiences full of
// distinct junk tags; past it, data is built per Formatter.
const maxCachedLocales = 1024

var (
	localeCache  sync.Map // raw or canonical locale string -> *localeData
	localeCached atomic.Int64
)

func dataFor(locale string) (*localeData, error) {
	if v, ok := localeCache.Load(locale); ok {
		return v.(*localeData), nil
	}
	tag, err := ParseTag(locale)
	if err != nil {
		return nil, err
	}
	key := tag.String()
	var d *localeData
	if v, ok := localeCache.Load(key); ok {
		d = v.(*localeData)
	} else {
		d = buildLocaleData(tag)
		d = storeLocale(key, d)
	}
	return storeLocale(locale, d), nil
}

func storeLocale(key string, d *localeData) *localeData {
	if localeCached.Load() >= maxCachedLocales {
		return d
	}
	v, loaded := localeCache.LoadOrStore(key, d)
	if !loaded {
		localeCached.Add(1)
	}
	return v.(*localeData)
}

func buildLocaleData(tag language.Tag) *localeData {
	d := &localeData{tag: tag, cal: calendarFor(tag), num: probeNumbers(tag)}
	d.curBefore, d.curSpaced = probeCurrencyPattern(d.cal)
	return d
}

// probeNumbers asks x/text how the locale writes 1234567.5 and -1 and reads
// the separators, grouping sizes and minus sign back from the result. x/text
// has the CLDR number data for every locale but exposes it only through its
// printer, which is too slow to call per audience row and formats from
// float64; the probe runs once per locale.
//
// Digits are always Latin (-u-nu-latn), see the package documentation.
func probeNumbers(tag language.Tag) numberSymbols {
	latn, err := tag.SetTypeForKey("nu", "latn")
	if err != nil {
		latn = tag
	}
	p := message.NewPrinter(latn)
	ns, ok := parseProbe(p.Sprint(number.Decimal(1234567.5)))
	if !ok {
		return enNumbers
	}
	neg := p.Sprint(number.Decimal(-1))
	if i := strings.LastIndexByte(neg, '1'); i > 0 {
		ns.minus = neg[:i]
	}
	ns.minGroup = 1
	// x/text ignores CLDR's minimumGroupingDigits; these locales set it to 2
	// (es.xml, pl.xml, pt_PT.xml), so 1234 is written without a separator.
	if b, _ := tag.Base(); b.String() == "es" || b.String() == "pl" {
		ns.minGroup = 2
	} else if r, conf := tag.Region(); b.String() == "pt" && r.String() == "PT" && conf == language.Exact {
		ns.minGroup = 2
	}
	return ns
}

// parseProbe reads "1,234,567.5" (in any locale's separators) back into
// symbols.
func parseProbe(s string) (numberSymbols, bool) {
	var runs []string // alternating digit and separator runs, starting with digits
	start := 0
	for i := 1; i <= len(s); i++ {
		if i == len(s) || isDigit(s[i]) != isDigit(s[start]) {
			runs = append(runs, s[start:i])
			start = i
		}
	}
	// digits sep digits ... sep "5"
	if len(runs) < 3 || len(runs)%2 == 0 || !isDigit(runs[0][0]) || runs[len(runs)-1] != "5" {
		return numberSymbols{}, false
	}
	ns := numberSymbols{minus: "-", decimal: spaces(runs[len(runs)-2])}
	var groups []string
	for i := 0; i < len(runs)-2; i += 2 {
		groups = append(groups, runs[i])
		if i+1 < len(runs)-2 {
			ns.group = spaces(runs[i+1])
		}
	}
	if strings.Join(groups, "") != "1234567" {
		return numberSymbols{}, false
	}
	if len(groups) >= 2 {
		ns.primary = len(groups[len(groups)-1])
		ns.secondary = ns.primary
	}
	if len(groups) >= 3 {
		ns.secondary = len(groups[len(groups)-2])
	}
	return ns, true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// spaces replaces CLDR's no-break spaces (U+00A0, U+202F) with a plain space.
// A single U+00A0 is outside the GSM-7 alphabet and would turn a 160-character
// SMS into 70-character UCS-2 segments; the visible result is the same.
func spaces(s string) string {
	if !strings.ContainsAny(s, "\u00a0\u202f") {
		return s
	}
	return strings.NewReplacer("\u00a0", " ", "\u202f", " ").Replace(s)
}

// currencyPatternFixes corrects go-playground's currency pattern where it
// disagrees with CLDR: nl.xml has "¤ #,##0.00" (€ 1.234,50) but the package
// puts the symbol after the number.
var currencyPatternFixes = map[string][2]bool{
	"nl": {true, true},
}

// probeCurrencyPattern formats 1 US dollar with the calendar locale's
// go-playground data and reads off where the symbol goes and whether a space
// separates it from the number. Only the position is taken from there: the
// symbols come from x/text (see symbol), and go-playground's number part is
// not used because it mishandles multi-byte separators and zero-digit
// currencies.
func probeCurrencyPattern(c *calendarLocale) (before, spaced bool) {
	if fix, ok := currencyPatternFixes[c.tag]; ok {
		return fix[0], fix[1]
	}
	s := c.get().FmtCurrency(1, 0, glcur.USD)
	first := strings.IndexFunc(s, func(r rune) bool { return r >= '0' && r <= '9' })
	last := strings.LastIndexFunc(s, func(r rune) bool { return r >= '0' && r <= '9' })
	if first < 0 {
		return true, false
	}
	prefix, suffix := s[:first], s[last+1:]
	hasSpace := func(s string) bool { return strings.IndexFunc(s, unicode.IsSpace) >= 0 }
	if strings.TrimFunc(prefix, unicode.IsSpace) != "" {
		return true, hasSpace(prefix)
	}
	return false, hasSpace(suffix)
}

// symbolFixes fills symbols x/text's CLDR table lacks for a language's own
// currency (CLDR th.xml has ฿ for THB; x/text returns the ISO code).
var symbolFixes = map[string]map[string]string{
	"th": {"THB": "฿"},
}

// symbol returns the locale's symbol for a currency, e.g. "€", "US$", "Rp",
// "￥"; where CLDR has none for the locale, the ISO code.
func (d *localeData) symbol(u currency.Unit) string {
	code := u.String()
	if v, ok := d.symbols.Load(code); ok {
		return v.(string)
	}
	s := spaces(message.NewPrinter(d.tag).Sprint(currency.Symbol(u)))
	if s == code {
		b, _ := d.tag.Base()
		if fix, ok := symbolFixes[b.String()][code]; ok {
			s = fix
		}
	}
	if d.nsymbols.Load() < 512 {
		d.symbols.Store(code, s)
		d.nsymbols.Add(1)
	}
	return s
}

// needsSpace applies CLDR's currencySpacing rule: a symbol whose character
// next to the number is neither a symbol nor a space ("Rp", "IDR", "CHF") gets
// a space, so "Rp 1.234.567" rather than "Rp1.234.567", while "$1.00" and
// "US$1.00" stay tight.
func needsSpace(sym string, before bool) bool {
	var r rune
	if before {
		r, _ = utf8.DecodeLastRuneInString(sym)
	} else {
		r, _ = utf8.DecodeRuneInString(sym)
	}
	return r != utf8.RuneError && !unicode.IsSymbol(r) && !unicode.IsSpace(r) && !unicode.Is(unicode.Zs, r)
}

// supported lists the locales whose output the tests check field by field.
var supported = []string{
	"en", "en-GB", "id", "ms", "it", "es", "fr", "de", "nl", "pt", "pt-BR", "pt-PT",
	"ja", "ko", "zh-Hans", "zh-Hant", "ar", "hi", "th", "vi", "tr", "ru", "pl",
}

// Supported returns the locales whose dates, numbers, money and plurals are
// verified by this package's tests. Other tags work too, borrowing the
// closest of these for dates (see the package documentation).
func Supported() []string { return append([]string(nil), supported...) }
