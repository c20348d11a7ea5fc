package locales

//go:generate go run ./internal/cldrgen/registry -o internal/cldrgen/registry.go
//go:generate go run -tags cldrgen ./internal/cldrgen -o cldr_table.go

import (
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/text/language"
)

// Pattern tokens of cldr_table.go (see internal/cldrgen).
const (
	tokD    = '\x01'
	tokDD   = '\x02'
	tokM    = '\x03'
	tokMM   = '\x04'
	tokMMM  = '\x05'
	tokMMMM = '\x06'
	tokY    = '\x07'
	tokYY   = '\x08'
	tokEEE  = '\x0b'
	tokEEEE = '\x0c'
	tokH    = '\x0e'
	tokHH   = '\x0f'
	tokh    = '\x10'
	tokhh   = '\x11'
	tokmm   = '\x12'
	toka    = '\x13'
)

// Record fields of cldr_table.go, in order.
const (
	fShort = iota
	fMedium
	fLong
	fFull
	fTime
	fMonthsAbbr
	fMonthsWide
	fDaysAbbr
	fDaysWide
	fAM
	fPM
	fDecimal
	fGroup
	fMinus
	fPrimary
	fSecondary
	fMinGroup
	fZero
	fCurBefore
	fCurSpaced
	nFields
)

// cldrLocale is one CLDR locale's calendar and number data, decoded from
// cldr_table.go on first use.
type cldrLocale struct {
	short, medium, long, full, time string // token patterns
	monthsAbbr, monthsWide          [12]string
	daysAbbr, daysWide              [7]string
	am, pm                          string
	num                             numberSymbols
	curBefore, curSpaced            bool
}

// Records are decoded once each, when a locale using them is first asked
// for; locales with identical data share one record.
var (
	cldrOnce    [len(cldrRecords)]sync.Once
	cldrDecoded [len(cldrRecords)]*cldrLocale
)

func cldrRecord(i int) *cldrLocale {
	r := cldrRecordOf[i]
	cldrOnce[r].Do(func() { cldrDecoded[r] = decodeRecord(cldrRecords[r]) })
	return cldrDecoded[r]
}

func decodeRecord(s string) *cldrLocale {
	f := strings.Split(s, "\x1f")
	if len(f) != nFields {
		panic("locales: cldr_table.go record has " + strconv.Itoa(len(f)) + " fields; run go generate")
	}
	c := &cldrLocale{
		short: f[fShort], medium: f[fMedium], long: f[fLong], full: f[fFull], time: f[fTime],
		am: f[fAM], pm: f[fPM],
		curBefore: f[fCurBefore] == "1", curSpaced: f[fCurSpaced] == "1",
	}
	copy(c.monthsAbbr[:], strings.Split(f[fMonthsAbbr], "\x1e"))
	copy(c.monthsWide[:], strings.Split(f[fMonthsWide], "\x1e"))
	copy(c.daysAbbr[:], strings.Split(f[fDaysAbbr], "\x1e"))
	copy(c.daysWide[:], strings.Split(f[fDaysWide], "\x1e"))
	atoi := func(s string) int { n, _ := strconv.Atoi(s); return n }
	c.num = numberSymbols{
		decimal: f[fDecimal], group: f[fGroup], minus: f[fMinus],
		primary: atoi(f[fPrimary]), secondary: atoi(f[fSecondary]), minGroup: atoi(f[fMinGroup]),
	}
	c.num.zero, _ = utf8.DecodeRuneInString(f[fZero])
	if c.num.secondary == 0 {
		c.num.secondary = c.num.primary
	}
	return c
}

// cldrIndex returns the index of a CLDR locale name ("en-CH") in cldrTags.
func cldrIndex(name string) (int, bool) {
	i := sort.SearchStrings(cldrTags[:], name)
	return i, i < len(cldrTags) && cldrTags[i] == name
}

// resolveCLDR finds the CLDR locale that formats for tag: the tag itself,
// else its CLDR parents (en-CH -> en-150 -> en-001 -> en; es-MX -> es-419;
// pt-AO -> pt-PT; zh-TW -> zh-Hant), else English for a language CLDR does
// not have.
func resolveCLDR(tag language.Tag) int {
	// Extensions (-u-rg-...) are not part of a CLDR locale name; variants
	// (ca-ES-valencia) are.
	b, s, r := tag.Raw()
	parts := []any{b, s, r}
	for _, v := range tag.Variants() {
		parts = append(parts, v)
	}
	if t, err := language.Compose(parts...); err == nil {
		tag = t
	}
	for t := tag; !t.IsRoot(); t = t.Parent() {
		if i, ok := cldrIndex(t.String()); ok {
			return i
		}
	}
	i, _ := cldrIndex("en")
	return i
}

// FormattingTag returns the locale whose formats a customer reads: the
// template's language (and script, when the file names one) with the
// customer's region, or the customer's script for the same language. A
// customer locale that is empty, unparseable or has no region leaves the
// template's own region. en + de-CH -> en-CH; pt-BR + pt-PT -> pt-PT;
// es + es-MX -> es-MX; en + ja -> en; zh-Hant + zh-HK -> zh-Hant-HK.
func FormattingTag(template language.Tag, customer string) language.Tag {
	if strings.TrimSpace(customer) == "" {
		return template
	}
	ct, err := ParseTag(customer)
	if err != nil {
		return template
	}
	base, _ := template.Base()
	script, sconf := template.Script()
	region, rconf := template.Region()
	parts := []any{base}
	if sconf == language.Exact {
		parts = append(parts, script)
	} else if cb, _ := ct.Base(); cb == base {
		if cs, c := ct.Script(); c == language.Exact {
			parts = append(parts, cs)
		}
	}
	if cr, c := ct.Region(); c == language.Exact {
		parts = append(parts, cr)
	} else if rconf == language.Exact {
		parts = append(parts, region)
	}
	t, err := language.Compose(parts...)
	if err != nil {
		return template
	}
	return t
}

// FormattingLocale is FormattingTag for locale strings, resolved to the
// CLDR locale whose data is used: ("en", "de-CH") -> "en-CH",
// ("ja", "de-CH") -> "ja" (CLDR has no ja-CH). The error is the template
// locale's.
func FormattingLocale(template, customer string) (string, error) {
	tt, err := ParseTag(template)
	if err != nil {
		return "", err
	}
	return cldrTags[resolveCLDR(FormattingTag(tt, customer))], nil
}

// appendDate writes t in a token pattern.
func (c *cldrLocale) appendDate(b []byte, pattern string, t time.Time) []byte {
	for i := 0; i < len(pattern); i++ {
		switch ch := pattern[i]; ch {
		case tokD:
			b = strconv.AppendInt(b, int64(t.Day()), 10)
		case tokDD:
			b = append2(b, t.Day())
		case tokM:
			b = strconv.AppendInt(b, int64(t.Month()), 10)
		case tokMM:
			b = append2(b, int(t.Month()))
		case tokMMM:
			b = append(b, c.monthsAbbr[t.Month()-1]...)
		case tokMMMM:
			b = append(b, c.monthsWide[t.Month()-1]...)
		case tokY:
			y := t.Year()
			if y < 0 {
				y = -y
			}
			b = strconv.AppendInt(b, int64(y), 10)
		case tokYY:
			b = append2(b, t.Year()%100)
		case tokEEE:
			b = append(b, c.daysAbbr[t.Weekday()]...)
		case tokEEEE:
			b = append(b, c.daysWide[t.Weekday()]...)
		case tokH:
			b = strconv.AppendInt(b, int64(t.Hour()), 10)
		case tokHH:
			b = append2(b, t.Hour())
		case tokh, tokhh:
			h := t.Hour() % 12
			if h == 0 {
				h = 12
			}
			if ch == tokhh {
				b = append2(b, h)
			} else {
				b = strconv.AppendInt(b, int64(h), 10)
			}
		case tokmm:
			b = append2(b, t.Minute())
		case toka:
			if t.Hour() < 12 {
				b = append(b, c.am...)
			} else {
				b = append(b, c.pm...)
			}
		default:
			b = append(b, ch)
		}
	}
	return b
}

func append2(b []byte, n int) []byte {
	if n < 10 {
		b = append(b, '0')
	}
	return strconv.AppendInt(b, int64(n), 10)
}

// localDigits rewrites the ASCII digits of s in the locale's digits
// (Arabic-Indic for ar-EG, Devanagari for mr...). Month and day names hold
// no ASCII digits, so the whole formatted text can be mapped.
func localDigits(s []byte, zero rune) []byte {
	if zero == '0' || zero == 0 {
		return s
	}
	out := make([]byte, 0, len(s)*2)
	for _, c := range s {
		if c >= '0' && c <= '9' {
			out = utf8.AppendRune(out, zero+rune(c-'0'))
			continue
		}
		out = append(out, c)
	}
	return out
}
