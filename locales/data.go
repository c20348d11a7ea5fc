package locales

import (
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/currency"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// numberSymbols is how one locale writes numbers.
type numberSymbols struct {
	decimal, group, minus string
	primary, secondary    int  // grouping sizes: 3,3 for 1,234,567; 3,2 for 12,34,567; 0 = none
	minGroup              int  // CLDR minimumGroupingDigits: 2 means 1234 but 12.345
	zero                  rune // the locale's digit zero: '0', '٠' (ar-EG), '०' (mr)...
}

// localeData is everything a Formatter needs for one pair of template
// locale and customer locale, computed once and shared by every Formatter
// of that pair.
type localeData struct {
	tag      language.Tag // the formatting locale: template language, customer region
	name     string       // the CLDR locale its data comes from ("en-CH")
	template language.Tag // plural rules: the forms are written in the template's language
	cal      *cldrLocale
	symbols  sync.Map
	nsymbols atomic.Int64
}

// maxCachedLocales bounds the locale cache against audiences full of
// distinct junk tags; past it, data is built per Formatter.
const maxCachedLocales = 1024

var (
	localeCache  sync.Map // template + "\x00" + customer -> *localeData
	localeCached atomic.Int64
)

func dataFor(template, customer string) (*localeData, error) {
	key := template + "\x00" + customer
	if v, ok := localeCache.Load(key); ok {
		return v.(*localeData), nil
	}
	tt, err := ParseTag(template)
	if err != nil {
		return nil, err
	}
	ft := FormattingTag(tt, customer)
	i := resolveCLDR(ft)
	d := &localeData{tag: ft, name: cldrTags[i], template: tt, cal: cldrRecord(i)}
	if localeCached.Load() >= maxCachedLocales {
		return d, nil
	}
	v, loaded := localeCache.LoadOrStore(key, d)
	if !loaded {
		localeCached.Add(1)
	}
	return v.(*localeData), nil
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
	s := message.NewPrinter(d.symbolTag()).Sprint(currency.Symbol(u))
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

// symbolTag is the tag x/text's currency table is asked with: the CLDR
// locale the data comes from, so a region CLDR does not know (en-BR) does
// not reach x/text's region guesses.
func (d *localeData) symbolTag() language.Tag {
	t, err := language.Parse(d.name)
	if err != nil {
		return d.tag
	}
	return t
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

// Supported returns every CLDR locale herald has data for (BCP 47 names,
// sorted). Any other tag formats with its nearest CLDR parent.
func Supported() []string { return append([]string(nil), cldrTags[:]...) }
