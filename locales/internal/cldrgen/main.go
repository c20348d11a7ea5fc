//go:build cldrgen

// Command cldrgen writes ../../cldr_table.go, herald's compact copy of the
// CLDR calendar and number data of every locale in
// github.com/go-playground/locales. Run it with `go generate ./locales`.
//
// go-playground/locales compiles each locale's patterns into code
// (FmtDateLong appends the day, a space, the month name...), so the patterns
// are read back by formatting probe dates and times and replacing the
// values with tokens; every pattern is then checked against go-playground's
// own output for a whole year of dates before it is written.
//
// go-playground resolves every locale against its language alone, ignoring
// CLDR's parent locales (en-CH -> en-150 -> en-001 -> en; es-MX -> es-419;
// pt-AO -> pt-PT). A field that a regional locale shares with its language
// but that its CLDR parent writes differently was inherited from the wrong
// place, and the parent's value is taken (so is any field a region only
// copied from its language: it follows the language's corrections). The
// corrections below fix, with
// the CLDR value, what that rule cannot.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/format"
	"log"
	"os"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	gl "github.com/go-playground/locales"
	glcur "github.com/go-playground/locales/currency"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/number"
)

// Pattern tokens; the runtime in ../../calendar.go reads the same values.
const (
	tokD    = '\x01' // d: day
	tokDD   = '\x02' // dd: day, two digits
	tokM    = '\x03' // M: month number
	tokMM   = '\x04' // MM: month number, two digits
	tokMMM  = '\x05' // MMM: abbreviated month name
	tokMMMM = '\x06' // MMMM: month name
	tokY    = '\x07' // y: year
	tokYY   = '\x08' // yy: year, two digits
	tokEEE  = '\x0b' // EEE: abbreviated weekday
	tokEEEE = '\x0c' // EEEE: weekday
	tokH    = '\x0e' // H: hour 0-23
	tokHH   = '\x0f' // HH
	tokh    = '\x10' // h: hour 1-12
	tokhh   = '\x11' // hh
	tokmm   = '\x12' // mm: minute
	toka    = '\x13' // a: AM/PM
)

// Record field order; the runtime reads the same.
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

// corrections are CLDR values go-playground (CLDR of 2017) has wrong even
// after parent inheritance: newer CLDR releases changed them. Keyed by
// BCP 47 tag; applied to the locale and inherited by its children.
var corrections = map[string]map[int]string{
	// en_CH.xml: short "dd.MM.y".
	"en-CH": {fShort: pat("dd.MM.y")},
	// en.xml: the abbreviated day periods are "AM" and "PM"; go-playground
	// has lower case, which en-001 and its children (en-GB, en-IN) do use.
	"en":    {fAM: "AM", fPM: "PM"},
	"en-US": {fAM: "AM", fPM: "PM"},
	// en_IN.xml and en_CA.xml date patterns.
	"en-IN": {fMedium: pat("d MMM y"), fFull: pat("EEEE, d MMMM y")},
	"en-CA": {fMedium: pat("MMM d, y"), fLong: pat("MMMM d, y"), fFull: pat("EEEE, MMMM d, y")},
	// es_MX.xml and fr_CA.xml currency patterns; go-playground took a
	// compact "¤0 k" pattern for them.
	"es-MX": {fCurBefore: "1", fCurSpaced: "0"},
	"fr-CA": {fCurBefore: "0", fCurSpaced: "1"},
	// ar_MA.xml and ar_DZ.xml/ar_TN.xml month names; go-playground keeps
	// only the ones that differ from ar, without their positions.
	"ar-MA": {fMonthsAbbr: arMA, fMonthsWide: arMA},
	"ar-DZ": {fMonthsAbbr: arDZ, fMonthsWide: arDZ},
	"ar-TN": {fMonthsAbbr: arDZ, fMonthsWide: arDZ},
	// nl.xml currencyFormat "¤ #,##0.00"; go-playground puts it after.
	"nl": {fCurBefore: "1", fCurSpaced: "1"},
}

var (
	arMA = strings.Join([]string{"يناير", "فبراير", "مارس", "أبريل", "ماي", "يونيو", "يوليوز", "غشت", "شتنبر", "أكتوبر", "نونبر", "دجنبر"}, "\x1e")
	arDZ = strings.Join([]string{"جانفي", "فيفري", "مارس", "أفريل", "ماي", "جوان", "جويلية", "أوت", "سبتمبر", "أكتوبر", "نوفمبر", "ديسمبر"}, "\x1e")
)

// pat turns a CLDR date pattern (fields d dd M MM MMM MMMM y yy EEE EEEE
// H HH h hh mm a; no quoted literals) into tokens.
func pat(p string) string {
	tokens := map[string]rune{
		"d": tokD, "dd": tokDD, "M": tokM, "MM": tokMM, "MMM": tokMMM, "MMMM": tokMMMM,
		"y": tokY, "yy": tokYY, "EEE": tokEEE, "EEEE": tokEEEE,
		"H": tokH, "HH": tokHH, "h": tokh, "hh": tokhh, "mm": tokmm, "a": toka,
	}
	var b strings.Builder
	for i := 0; i < len(p); {
		j := i
		for j < len(p) && p[j] == p[i] {
			j++
		}
		if tok, ok := tokens[p[i:j]]; ok {
			b.WriteRune(tok)
		} else if strings.ContainsRune("dMyEHhma", rune(p[i])) {
			log.Fatalf("pattern %q: field %q not supported", p, p[i:j])
		} else {
			b.WriteString(p[i:j])
		}
		i = j
	}
	return b.String()
}

// fieldGroups are inherited together: a time pattern with its day periods,
// a currency position with its spacing.
var fieldGroups = [][]int{
	{fShort}, {fMedium}, {fLong}, {fFull}, {fTime, fAM, fPM},
	{fMonthsAbbr}, {fMonthsWide}, {fDaysAbbr}, {fDaysWide},
	{fDecimal}, {fGroup}, {fMinus}, {fPrimary, fSecondary}, {fMinGroup}, {fZero},
	{fCurBefore, fCurSpaced},
}

// root is CLDR's root locale, what a locale with no readable value and no
// parent gets.
var root = [nFields]string{
	fShort: pat("y-MM-dd"), fMedium: pat("y MMM d"), fLong: pat("y MMMM d"), fFull: pat("y MMMM d, EEEE"),
	fTime: pat("HH:mm"), fAM: "AM", fPM: "PM",
	fMonthsAbbr: "M01\x1eM02\x1eM03\x1eM04\x1eM05\x1eM06\x1eM07\x1eM08\x1eM09\x1eM10\x1eM11\x1eM12",
	fMonthsWide: "M01\x1eM02\x1eM03\x1eM04\x1eM05\x1eM06\x1eM07\x1eM08\x1eM09\x1eM10\x1eM11\x1eM12",
	fDaysAbbr:   "Sun\x1eMon\x1eTue\x1eWed\x1eThu\x1eFri\x1eSat",
	fDaysWide:   "Sun\x1eMon\x1eTue\x1eWed\x1eThu\x1eFri\x1eSat",
	fDecimal:    ".", fGroup: ",", fMinus: "-", fPrimary: "3", fSecondary: "3", fMinGroup: "1", fZero: "0",
	fCurBefore: "1", fCurSpaced: "1",
}

// minGroup2 lists the locales whose CLDR minimumGroupingDigits is 2
// (1234 but 12 345); their children inherit it, except Latin American
// Spanish (es-419 and its children), which groups from 1,234.
var minGroup2 = map[string]bool{"es": true, "pl": true, "pt-PT": true}

// A locale whose decimal separator is the Arabic one (U+066B) writes
// Arabic-Indic digits (CLDR defaultNumberingSystem arab: ar, ar-EG, ar-SA;
// the Maghreb locales use Latin digits and Latin separators); these write
// the Persian forms (arabext).
var persianDigits = map[string]bool{"fa": true, "ps": true, "ur-IN": true, "uz-Arab": true, "mzn": true, "lrc": true, "ks": true}

var (
	probe   = time.Date(2034, time.November, 23, 14, 5, 0, 0, time.UTC) // Thursday
	probeAM = time.Date(2035, time.January, 2, 9, 5, 0, 0, time.UTC)    // Tuesday
)

type locale struct {
	name, tag string
	tr        gl.Translator
	f         [nFields]string
	orig      [nFields]string // f as read, before inheritance and corrections
	ok        [nFields]bool
}

func main() {
	out := flag.String("o", "cldr_table.go", "output file")
	verbose := flag.Bool("v", false, "log every field go-playground could not give")
	flag.Parse()
	all := map[string]*locale{}
	allLocales = all
	_ = verbose
	var tags []string
	for name, newT := range registry {
		if name == "en_US_POSIX" {
			continue // ASCII formats for programs, not a customer's locale
		}
		t, err := language.Parse(strings.ReplaceAll(name, "_", "-"))
		if err != nil {
			log.Printf("skipping %s: %v", name, err)
			continue
		}
		tag := t.String() // canonical: ca-ES-valencia
		l := &locale{name: name, tag: tag, tr: newT()}
		l.read()
		l.orig = l.f
		all[tag] = l
		tags = append(tags, tag)
	}
	// Parents before children.
	sort.Slice(tags, func(i, j int) bool {
		di, dj := depth(tags[i]), depth(tags[j])
		if di != dj {
			return di < dj
		}
		return tags[i] < tags[j]
	})
	bad := 0
	for _, tag := range tags {
		for i, ok := range all[tag].ok {
			if !ok && *verbose {
				log.Printf("%s: field %d unreadable in go-playground, inherited", tag, i)
			}
		}
	}
	for _, tag := range tags {
		l := all[tag]
		base := baseOf(tag)
		parent := cldrParent(tag, all)
		for _, g := range fieldGroups {
			// A group that could not be read, or that a regional locale
			// only copied from its language while its CLDR parent differs,
			// comes from the parent; with no parent, from CLDR's root.
			// Compared as go-playground wrote them, so that a correction
			// of the language reaches the regions that only copied it.
			unread, copied := false, base != nil && parent != nil
			for _, i := range g {
				unread = unread || !l.ok[i]
				copied = copied && l.orig[i] == base.orig[i]
			}
			if !unread && !copied {
				continue
			}
			for _, i := range g {
				switch {
				case parent != nil:
					l.f[i], l.ok[i] = parent.f[i], parent.ok[i]
				default:
					l.f[i], l.ok[i] = root[i], true
					bad++
				}
			}
		}
		for i, v := range corrections[tag] {
			l.f[i], l.ok[i] = v, true
		}
		l.f[fMinGroup] = "1"
		for t := language.MustParse(tag); !t.IsRoot() && t.String() != "es-419"; t = t.Parent() {
			if minGroup2[t.String()] {
				l.f[fMinGroup] = "2"
			}
		}
	}
	sort.Strings(tags)
	var b bytes.Buffer
	b.WriteString("// Code generated by internal/cldrgen from github.com/go-playground/locales v0.14.2; DO NOT EDIT.\n\npackage locales\n\n")
	fmt.Fprintf(&b, "// cldrTags lists the %d CLDR locales, sorted; cldrRecordOf[i] indexes\n// cldrRecords. Both are static data: nothing runs at start-up.\n", len(tags))
	b.WriteString("var cldrTags = [...]string{")
	for _, t := range tags {
		fmt.Fprintf(&b, "%q,", t)
	}
	b.WriteString("}\n\n")
	records := map[string]int{}
	var recList []string
	b.WriteString("var cldrRecordOf = [...]uint16{")
	for _, t := range tags {
		r := strings.Join(all[t].f[:], "\x1f")
		i, ok := records[r]
		if !ok {
			i = len(recList)
			records[r] = i
			recList = append(recList, r)
		}
		fmt.Fprintf(&b, "%d,", i)
	}
	b.WriteString("}\n\n")
	b.WriteString("var cldrRecords = [...]string{\n")
	for _, r := range recList {
		fmt.Fprintf(&b, "%q,\n", r)
	}
	b.WriteString("}\n")
	src, err := format.Source(b.Bytes())
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, src, 0o644); err != nil {
		log.Fatal(err)
	}
	log.Printf("%d locales, %d distinct records, %d fields from CLDR root", len(tags), len(recList), bad)
}

func depth(tag string) int {
	t := language.MustParse(tag)
	n := 0
	for ; !t.IsRoot(); t = t.Parent() {
		n++
	}
	return n
}

// baseOf returns the locale of tag's language alone ("en" for en-CH).
func baseOf(tag string) *locale {
	b, _ := language.MustParse(tag).Base()
	if b.String() == tag {
		return nil
	}
	return allLocales[b.String()]
}

var allLocales map[string]*locale

// cldrParent returns the nearest CLDR ancestor present in the data.
func cldrParent(tag string, all map[string]*locale) *locale {
	for t := language.MustParse(tag).Parent(); !t.IsRoot(); t = t.Parent() {
		if l, ok := all[t.String()]; ok {
			return l
		}
	}
	return nil
}

func (l *locale) set(i int, v string, ok bool) { l.f[i], l.ok[i] = v, ok }

func (l *locale) read() {
	tr := l.tr
	ma, mw := months(tr.MonthsAbbreviated()), months(tr.MonthsWide())
	l.set(fMonthsAbbr, strings.Join(ma, "\x1e"), len(ma) == 12)
	l.set(fMonthsWide, strings.Join(mw, "\x1e"), len(mw) == 12)
	l.set(fDaysAbbr, strings.Join(tr.WeekdaysAbbreviated(), "\x1e"), len(tr.WeekdaysAbbreviated()) == 7)
	l.set(fDaysWide, strings.Join(tr.WeekdaysWide(), "\x1e"), len(tr.WeekdaysWide()) == 7)
	for i, fn := range []func(time.Time) string{tr.FmtDateShort, tr.FmtDateMedium, tr.FmtDateLong, tr.FmtDateFull} {
		guard(l.tag, "date", func() {
			p, ok := datePattern(tr, fn)
			l.set(fShort+i, p, ok)
		})
	}
	guard(l.tag, "time", func() {
		p, am, pm, ok := timePattern(tr)
		l.set(fTime, p, ok)
		l.set(fAM, am, ok)
		l.set(fPM, pm, ok)
	})
	guard(l.tag, "numbers", l.readNumbers)
	guard(l.tag, "currency", l.readCurrency)
}

// guard runs a probe that may panic (some go-playground locales index
// empty tables); the fields it did not set stay unreadable and are
// inherited.
func guard(tag, what string, f func()) {
	defer func() {
		if r := recover(); r != nil {
			log.Printf("%s: %s: go-playground panicked (%v); inherited", tag, what, r)
		}
	}()
	f()
}

// datePattern turns fn's output for the probe date into a token pattern and
// checks it against fn for the 23rd and 2nd of every month.
func datePattern(tr gl.Translator, fn func(time.Time) string) (string, bool) {
	s := fn(probe)
	if s == "" {
		return "", false
	}
	rep := func(old string, tok rune) {
		if old != "" {
			s = strings.Replace(s, old, string(tok), 1)
		}
	}
	rep(tr.MonthWide(probe.Month()), tokMMMM)
	rep(tr.MonthAbbreviated(probe.Month()), tokMMM)
	rep(tr.WeekdayWide(probe.Weekday()), tokEEEE)
	rep(tr.WeekdayAbbreviated(probe.Weekday()), tokEEE)
	rep("2034", tokY)
	rep("34", tokYY)
	rep("23", tokD)
	rep("11", tokM)
	// Padding: try each choice against a date with one-digit day and month;
	// where the probe month's abbreviation is its whole name (bn নভেম্বর),
	// also the abbreviated tokens.
	for _, names := range [][2]rune{{tokMMMM, tokEEEE}, {tokMMM, tokEEEE}, {tokMMMM, tokEEE}, {tokMMM, tokEEE}} {
		for _, d := range []rune{tokD, tokDD} {
			for _, m := range []rune{tokM, tokMM} {
				cand := strings.NewReplacer(string(tokD), string(d), string(tokM), string(m),
					string(tokMMMM), string(names[0]), string(tokEEEE), string(names[1])).Replace(s)
				if checkDates(tr, fn, cand) {
					return cand, true
				}
			}
		}
	}
	return s, false
}

func checkDates(tr gl.Translator, fn func(time.Time) string, pattern string) bool {
	for m := time.January; m <= time.December; m++ {
		for _, d := range []int{2, 23} {
			t := time.Date(2035, m, d, 0, 0, 0, 0, time.UTC)
			if render(tr, pattern, t) != fn(t) {
				return false
			}
		}
	}
	return true
}

// timePattern reads the short time pattern and the day period names.
func timePattern(tr gl.Translator) (pattern, am, pm string, ok bool) {
	s := tr.FmtTimeShort(probe)
	sAM := tr.FmtTimeShort(probeAM)
	if s == "" {
		return "", "", "", false
	}
	if strings.Contains(s, "05") {
		s = strings.Replace(s, "05", string(tokmm), 1)
	}
	h12 := !strings.Contains(s, "14")
	if h12 {
		s = strings.Replace(s, "2", string(tokh), 1)
	} else {
		s = strings.Replace(s, "14", string(tokH), 1)
	}
	for _, pad := range []bool{false, true} {
		p := s
		if pad {
			p = strings.NewReplacer(string(tokh), string(tokhh), string(tokH), string(tokHH)).Replace(s)
		}
		if !h12 {
			if render(tr, p, probeAM) == sAM {
				return p, "", "", true
			}
			continue
		}
		// The PM text is what differs from the AM rendering.
		got := render(tr, p, probeAM)
		pre, suf := commonAffixes(got, sAM)
		if pre+suf > len(got) || pre+suf > len(sAM) {
			continue
		}
		// "pm"/"am" share the "m": widen the difference to whole words.
		for pre > 0 {
			r, n := utf8.DecodeLastRuneInString(got[:pre])
			if !unicode.IsLetter(r) && r != '.' {
				break
			}
			pre -= n
		}
		for suf > 0 {
			r, n := utf8.DecodeRuneInString(got[len(got)-suf:])
			if !unicode.IsLetter(r) && r != '.' {
				break
			}
			suf -= n
		}
		pmText, amText := got[pre:len(got)-suf], sAM[pre:len(sAM)-suf]
		if pmText == "" || amText == "" {
			return "", "", "", false // no day period: go-playground lost it
		}
		// Locate pmText in the pattern (it is literal there).
		i := strings.Index(p, pmText)
		if i < 0 {
			continue
		}
		p = p[:i] + string(toka) + p[i+len(pmText):]
		if renderTime(p, amText, pmText, probeAM) == sAM && renderTime(p, amText, pmText, probe) == tr.FmtTimeShort(probe) {
			return p, amText, pmText, true
		}
	}
	return s, "", "", false
}

func commonAffixes(a, b string) (int, int) {
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	for pre > 0 && !utf8.RuneStart(a[pre]) {
		pre--
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	for suf > 0 && !utf8.RuneStart(a[len(a)-suf]) {
		suf--
	}
	return pre, suf
}

// months returns the 12 month names; go-playground lists have a leading
// empty entry for most locales and none for some.
func months(list []string) []string {
	if len(list) == 13 {
		return list[1:]
	}
	return list
}

func at(list []string, i int) string {
	if i < len(list) {
		return list[i]
	}
	return ""
}

func render(tr gl.Translator, p string, t time.Time) string {
	return renderWith(p, t, at(months(tr.MonthsAbbreviated()), int(t.Month())-1), at(months(tr.MonthsWide()), int(t.Month())-1),
		at(tr.WeekdaysAbbreviated(), int(t.Weekday())), at(tr.WeekdaysWide(), int(t.Weekday())), "", "")
}

func renderTime(p, am, pm string, t time.Time) string {
	return renderWith(p, t, "", "", "", "", am, pm)
}

func renderWith(p string, t time.Time, mmm, mmmm, eee, eeee, am, pm string) string {
	var b strings.Builder
	for _, r := range p {
		switch r {
		case tokD:
			fmt.Fprintf(&b, "%d", t.Day())
		case tokDD:
			fmt.Fprintf(&b, "%02d", t.Day())
		case tokM:
			fmt.Fprintf(&b, "%d", t.Month())
		case tokMM:
			fmt.Fprintf(&b, "%02d", t.Month())
		case tokMMM:
			b.WriteString(mmm)
		case tokMMMM:
			b.WriteString(mmmm)
		case tokY:
			fmt.Fprintf(&b, "%d", t.Year())
		case tokYY:
			fmt.Fprintf(&b, "%02d", t.Year()%100)
		case tokEEE:
			b.WriteString(eee)
		case tokEEEE:
			b.WriteString(eeee)
		case tokH:
			fmt.Fprintf(&b, "%d", t.Hour())
		case tokHH:
			fmt.Fprintf(&b, "%02d", t.Hour())
		case tokh, tokhh:
			h := t.Hour() % 12
			if h == 0 {
				h = 12
			}
			if r == tokhh {
				fmt.Fprintf(&b, "%02d", h)
			} else {
				fmt.Fprintf(&b, "%d", h)
			}
		case tokmm:
			fmt.Fprintf(&b, "%02d", t.Minute())
		case toka:
			if t.Hour() < 12 {
				b.WriteString(am)
			} else {
				b.WriteString(pm)
			}
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

type symbols interface {
	Decimal() string
	Group() string
	Minus() string
}

// readNumbers takes the separators from go-playground and the grouping
// sizes from how it writes 1234567.5; the digits are Arabic-Indic where
// the separators are Arabic, else the default digits x/text knows for the
// language (Bengali, Devanagari, Myanmar...).
func (l *locale) readNumbers() {
	sy, ok := l.tr.(symbols)
	if !ok {
		return
	}
	l.set(fDecimal, sy.Decimal(), sy.Decimal() != "")
	l.set(fGroup, sy.Group(), true)
	l.set(fMinus, sy.Minus(), sy.Minus() != "")
	s := l.tr.FmtNumber(1234567.5, 1)
	var groups []string
	cur := ""
	for _, r := range s {
		if r >= '0' && r <= '9' {
			cur += string(r)
		} else if cur != "" {
			groups = append(groups, cur)
			cur = ""
		}
	}
	// groups: integer groups then the fraction "5" is in cur
	primary, secondary := 0, 0
	if len(groups) >= 2 {
		primary = len(groups[len(groups)-1])
		secondary = primary
		if len(groups) >= 3 {
			secondary = len(groups[len(groups)-2])
		}
	}
	// Every CLDR decimal pattern groups; an ungrouped result is
	// go-playground losing a multi-byte separator (fa).
	l.set(fPrimary, fmt.Sprint(primary), strings.Join(groups, "") == "1234567" && primary > 0)
	l.set(fSecondary, fmt.Sprint(secondary), true)
	l.set(fMinGroup, "1", true)
	zero := '0'
	base, _ := language.MustParse(l.tag).Base()
	if sy.Decimal() == "\u066b" {
		zero = '\u0660'
		if persianDigits[base.String()] || persianDigits[l.tag] {
			zero = '\u06f0'
		}
	} else if base.String() != "ar" {
		// x/text knows the default numbering system of a language.
		p := message.NewPrinter(language.Make(base.String()))
		for _, r := range p.Sprint(number.Decimal(1)) {
			if unicode.IsDigit(r) {
				zero = r - 1
			}
		}
	}
	l.set(fZero, string(zero), true)
}

// readCurrency reads where the currency symbol goes and whether a space
// separates it from the number. A pattern with anything but the symbol and
// spaces around the number (go-playground took compact patterns such as
// "¤0 k" for a few locales) is left unreadable and inherited.
func (l *locale) readCurrency() {
	s := l.tr.FmtCurrency(1234.5, 2, glcur.CHF)
	first := strings.IndexFunc(s, func(r rune) bool { return r >= '0' && r <= '9' })
	last := strings.LastIndexFunc(s, func(r rune) bool { return r >= '0' && r <= '9' })
	if first < 0 {
		return
	}
	prefix, suffix := s[:first], s[last+1:]
	isSpace := func(r rune) bool {
		return unicode.IsSpace(r) || r == '\u00a0' || r == '\u202f' || r == '\u200f' || r == '\u200e' || r == '\u061c'
	}
	hasSpace := strings.ContainsFunc
	tp, ts := strings.TrimFunc(prefix, isSpace), strings.TrimFunc(suffix, isSpace)
	sym := func(x string) bool {
		return x != "" && !strings.ContainsFunc(x, func(r rune) bool { return r >= 'a' && r <= 'z' })
	}
	switch {
	case tp != "" && ts == "" && sym(tp):
		l.set(fCurBefore, "1", true)
		l.set(fCurSpaced, b01(hasSpace(prefix, isSpace)), true)
	case ts != "" && tp == "" && sym(ts):
		l.set(fCurBefore, "0", true)
		l.set(fCurSpaced, b01(hasSpace(suffix, isSpace)), true)
	}
}

func b01(b bool) string {
	if b {
		return "1"
	}
	return "0"
}
