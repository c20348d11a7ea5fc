package audience

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/nyaruka/phonenumbers"
)

// normPhone validates a phone number and returns it in E.164 with the
// region it belongs to (ISO code; "" for non-geographic numbers such as
// +800). A national number is read in country; countryOK false means the
// row's country is present but invalid.
//
// phonenumbers.Parse costs several microseconds per number, mostly in
// regular expressions looking for extensions and formatting that a plain
// "+<digits>" number cannot contain. fastE164 handles that common case and
// falls back to Parse whenever its answer could differ from the library's.
func normPhone(s, country string, countryOK bool) (e164, region string, err error) {
	if e, r, ok := fastE164(s); ok {
		return e, r, nil
	}
	if !countryOK {
		country = ""
	}
	if e, r, ok := fastNational(s, country); ok {
		return e, r, nil
	}
	num, perr := phonenumbers.Parse(s, country)
	if perr != nil {
		switch {
		case errors.Is(perr, phonenumbers.ErrInvalidCountryCode) && country == "" && !countryOK:
			return "", "", errors.New("a national number needs a valid country: fix the country column or write the number in international form (+6281234567890)")
		case errors.Is(perr, phonenumbers.ErrInvalidCountryCode) && country == "" && s[0] != '+':
			return "", "", errors.New("a national number needs a country: fill the country column or write the number in international form (+6281234567890)")
		case errors.Is(perr, phonenumbers.ErrInvalidCountryCode) && s[0] != '+':
			return "", "", fmt.Errorf("cannot read a national number for country %s: write it in international form (+6281234567890)", country)
		case errors.Is(perr, phonenumbers.ErrInvalidCountryCode):
			return "", "", errors.New("unknown country calling code after +: write the number as + country code and number (+6281234567890)")
		}
		return "", "", fmt.Errorf("not a phone number (%v): write it as +6281234567890, or nationally with the country column filled", perr)
	}
	if num.GetExtension() != "" {
		return "", "", errors.New("has an extension, which messages cannot reach: give a number without it")
	}
	region = phonenumbers.GetRegionCodeForNumber(num)
	if !phonenumbers.IsValidNumberForRegion(num, region) {
		if country != "" && s[0] != '+' {
			return "", "", fmt.Errorf("not a valid phone number in %s: check the digits, or write it in international form if it is from another country", country)
		}
		return "", "", errors.New("not a valid phone number: check the country code and the digits")
	}
	return phonenumbers.Format(num, phonenumbers.E164), geoRegion(region), nil
}

// geoRegion drops the pseudo-region of non-geographic numbers, which is no
// country.
func geoRegion(r string) string {
	if r == phonenumbers.UNKNOWN_REGION || r == "001" {
		return ""
	}
	return r
}

// fastE164 accepts "+" followed by digits, optionally grouped with spaces,
// dashes, dots or parentheses, and reports ok only when the result is the
// one phonenumbers.Parse would give: a valid number of a geographic region
// whose national part does not start with something the library would strip
// as a national prefix or carrier code.
func fastE164(s string) (e164, region string, ok bool) {
	if len(s) < 4 || len(s) > 250 || s[0] != '+' {
		return "", "", false
	}
	var buf [24]byte
	digits, ok := groupedDigits(s[1:], &buf)
	if !ok || len(digits) == 0 || digits[0] == '0' {
		return "", "", false
	}
	// Country calling codes are prefix-free, so the first length that names
	// one is the code.
	cc, ccLen := 0, 0
	for l := 1; l <= 3 && l < len(digits); l++ {
		n := cc*10 + int(digits[l-1]-'0')
		cc = n
		if phonenumbers.GetRegionCodeForCountryCode(n) != phonenumbers.UNKNOWN_REGION {
			ccLen = l
			break
		}
	}
	if ccLen == 0 {
		return "", "", false
	}
	main := phonenumbers.GetRegionCodeForCountryCode(cc)
	nsn := digits[ccLen:]
	if main == "001" || len(nsn) < phonenumbers.MIN_LENGTH_FOR_NSN || len(nsn) > phonenumbers.MAX_LENGTH_FOR_NSN {
		return "", "", false
	}
	if p := numberingPlans().get(main); p == nil || p.prefix != nil && p.prefix.match(string(nsn)) {
		return "", "", false
	}
	region = numberingPlans().regionFor(cc, string(nsn))
	if region == "" {
		return "", "", false
	}
	if len(s) == len(digits)+1 {
		return s, region, true // already E.164: no new string
	}
	return "+" + string(digits), region, true
}

// groupedDigits collects the digits of s, which may be grouped with
// spaces, dashes, dots or parentheses; ok is false for anything else or
// more than 24 digits.
func groupedDigits(s string, buf *[24]byte) (digits []byte, ok bool) {
	digits = buf[:0]
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if len(digits) == len(buf) {
				return nil, false
			}
			digits = append(digits, c)
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')':
		default:
			return nil, false
		}
	}
	return digits, true
}

// fastNational reads a national number (no '+') in the row's country and
// reports ok only when the result is the one phonenumbers.Parse gives,
// followed by the region check: a valid number, read without the steps of
// the library's parser that cannot apply to a number of plain digits. It
// declines (and the library decides) when the number could start with the
// international dialling prefix or the country code, when the national
// number keeps a leading zero (Italy), and for every number that is not
// valid, so errors keep the library's wording.
//
// The national prefix is stripped the library's way: its own pattern run
// by the same regexp engine, the same transform rule (Brazil's and
// Japan's, say), and the same test that the original number was not valid
// on its own while the stripped one is.
func fastNational(s, country string) (e164, region string, ok bool) {
	if country == "" || len(s) < 2 || len(s) > 250 || s[0] == '+' {
		return "", "", false
	}
	p := numberingPlans().get(country)
	if p == nil || p.unusable || p.general.m == nil {
		return "", "", false
	}
	var buf [24]byte
	digits, ok := groupedDigits(s, &buf)
	if !ok || len(digits) < phonenumbers.MIN_LENGTH_FOR_NSN {
		return "", "", false
	}
	d := string(digits)
	if p.idd.match(d) || strings.HasPrefix(d, p.ccText) {
		return "", "", false
	}
	nsn := d
	if p.npp != "" {
		stripped, matched := p.stripNationalPrefix(d)
		// The library keeps the original when it fits the general
		// pattern and the stripped form does not.
		if matched && !(p.general.m.match(d) && !p.general.m.match(stripped)) {
			// ... and then keeps the stripped form only when its length
			// is possible for the region. A stripped form that is not
			// a valid number goes to the library, for its wording.
			l := len(stripped)
			if p.general.anyLen || l >= 64 || p.general.lengths&(1<<l) == 0 || p.localOnly&(1<<l) != 0 {
				return "", "", false
			}
			nsn = stripped
		}
	}
	if len(nsn) < phonenumbers.MIN_LENGTH_FOR_NSN || len(nsn) > phonenumbers.MAX_LENGTH_FOR_NSN || nsn[0] == '0' {
		return "", "", false
	}
	region = numberingPlans().regionFor(p.cc, nsn)
	if region == "" {
		return "", "", false
	}
	return "+" + p.ccText + nsn, geoRegion(region), true
}

// stripNationalPrefix is the first half of the library's
// maybeStripNationalPrefixAndCarrierCode: the number with its national
// prefix removed or transformed, and whether the prefix matched.
func (p *plan) stripNationalPrefix(d string) (string, bool) {
	if p.nppPlain {
		// A pattern of plain digits matches itself, with no groups.
		if strings.HasPrefix(d, p.npp) {
			return d[len(p.npp):], true
		}
		return d, false
	}
	loc := p.nppRe.FindStringSubmatchIndex(d)
	if loc == nil {
		return d, false
	}
	groups := len(loc)/2 - 1
	if p.transform == "" || loc[groups*2] < 0 {
		return d[loc[1]:], true
	}
	return p.nppRe.ReplaceAllString(d, p.transform), true
}

// plan is what the library's parsing and validity check read from a
// region's metadata, with its patterns turned into digit tables
// (digitDFA) once. The library builds and looks up regular expressions in
// a locked cache on every call, and runs them with Go's regexp engine,
// which is most of its cost. A region's plan is built the first time a
// number of that region is met.
type plan struct {
	once sync.Once
	md   *phonenumbers.PhoneMetadata

	prefix  *matcher // national prefix for parsing, at the start; nil if none
	leading *matcher // leading digits that pick this region among those sharing a calling code
	general desc
	types   []desc // every number type; mobile and fixed line first, the usual answers

	// For national numbers (fastNational).
	cc        int
	ccText    string
	idd       *matcher       // the international dialling prefix, at the start
	npp       string         // the national prefix for parsing
	nppRe     *regexp.Regexp // npp at the start, as the library compiles it
	nppPlain  bool           // npp is plain digits and there is no transform rule
	transform string         // the national prefix transform rule
	localOnly uint64         // lengths the general description lists as local-only
	unusable  bool           // fastNational must leave this region to the library
}

// matcher runs one metadata pattern: by table when it could be built,
// else with Go's regexp, anchored as the library anchors it.
type matcher struct {
	dfa    *digitDFA
	re     *regexp.Regexp
	prefix bool // match at the start (^(?:p)); else the whole string (^(?:p)$)
}

func newMatcher(pattern string, prefix bool) *matcher {
	m := &matcher{prefix: prefix}
	if d, ok := compileDigits(pattern); ok {
		m.dfa = d
		return m
	}
	if prefix {
		m.re = compileOr(`^(?:`+pattern+`)`, `^$`)
	} else {
		m.re = compileOr(`^(?:`+pattern+`)$`, `^$`)
	}
	return m
}

func (m *matcher) match(s string) bool {
	switch {
	case m.dfa == nil:
		return m.re.MatchString(s)
	case m.prefix:
		return m.dfa.prefix(s)
	}
	return m.dfa.full(s)
}

// desc is one number type: possible lengths and the whole-number pattern.
type desc struct {
	lengths uint64 // bit n set when length n is possible
	anyLen  bool   // the metadata lists no lengths: any length goes
	m       *matcher
}

func (d *desc) matches(nsn string) bool {
	if d.m == nil {
		return false
	}
	if !d.anyLen && (len(nsn) >= 64 || d.lengths&(1<<len(nsn)) == 0) {
		return false
	}
	return d.m.match(nsn)
}

// valid is the library's getNumberTypeHelper(...) != UNKNOWN: the general
// pattern and any one type's. Which type matched first does not change
// whether one did, so the types are tried in the order that finds one
// soonest.
func (p *plan) valid(nsn string) bool {
	if !p.general.matches(nsn) {
		return false
	}
	for i := range p.types {
		if p.types[i].matches(nsn) {
			return true
		}
	}
	return false
}

type plans map[string]*plan

// get returns the region's plan, built on first use; nil for a region
// without metadata.
func (ps plans) get(region string) *plan {
	p := ps[region]
	if p != nil {
		p.once.Do(p.build)
	}
	return p
}

// regionFor is the library's GetRegionCodeForNumber followed by
// IsValidNumberForRegion: the region a valid number belongs to, or "".
func (ps plans) regionFor(cc int, nsn string) string {
	regions := phonenumbers.GetRegionCodesForCountryCode(cc)
	pick := ""
	if len(regions) == 1 {
		pick = regions[0]
	} else {
		for _, r := range regions {
			p := ps.get(r)
			if p == nil {
				return ""
			}
			if p.leading != nil {
				if p.leading.match(nsn) {
					pick = r
					break
				}
			} else if p.valid(nsn) {
				pick = r
				break
			}
		}
	}
	if p := ps.get(pick); p != nil && p.valid(nsn) {
		return pick
	}
	return ""
}

// numberingPlans indexes the library's metadata by region; each plan is
// built on first use (plans.get). Pipeline workers share it: sync.Once
// makes them wait for a plan being built, and a built plan is never
// written again. The library's own state used here is its metadata,
// loaded at package init and then only read.
var numberingPlans = sync.OnceValue(func() plans {
	ps := make(plans)
	coll, err := phonenumbers.MetadataCollection()
	if err != nil {
		return ps
	}
	for _, md := range coll.GetMetadata() {
		ps[md.GetId()] = &plan{md: md}
	}
	return ps
})

func (p *plan) build() {
	md := p.md
	pre := md.GetNationalPrefixForParsing()
	if pre == "" {
		// Be cautious: international numbers starting with the plain
		// national prefix also go through the library.
		pre = md.GetNationalPrefix()
	}
	if pre != "" {
		p.prefix = newMatcher(pre, true)
	}
	if ld := md.GetLeadingDigits(); ld != "" {
		p.leading = newMatcher(ld, true)
	}
	p.general = compileDesc(md.GetGeneralDesc())
	// With the same pattern for both, the library never tests mobile on
	// its own.
	if !md.GetSameMobileAndFixedLinePattern() {
		p.types = append(p.types, compileDesc(md.GetMobile()))
	}
	for _, d := range []*phonenumbers.PhoneNumberDesc{
		md.GetFixedLine(), md.GetPremiumRate(), md.GetTollFree(), md.GetSharedCost(), md.GetVoip(),
		md.GetPersonalNumber(), md.GetPager(), md.GetUan(), md.GetVoicemail(),
	} {
		p.types = append(p.types, compileDesc(d))
	}
	p.cc = int(md.GetCountryCode())
	// An empty pattern matches at the start of every number, as it does
	// in the library, which then reads every national number as
	// international: fastNational declines them all.
	p.idd = newMatcher(md.GetInternationalPrefix(), true)
	p.ccText = strconv.Itoa(p.cc)
	p.npp = md.GetNationalPrefixForParsing()
	p.transform = md.GetNationalPrefixTransformRule()
	p.nppPlain = p.transform == "" && isDigits(p.npp)
	if p.npp != "" && !p.nppPlain {
		re, err := regexp.Compile(`^(?:` + p.npp + `)`)
		if err != nil {
			// The library would panic on it; let it decide.
			p.npp, p.nppRe = "", nil
			p.unusable = true
		} else {
			p.nppRe = re
		}
	}
	for _, l := range md.GetGeneralDesc().GetPossibleLengthLocalOnly() {
		if l >= 0 && l < 64 {
			p.localOnly |= 1 << l
		}
	}
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// compileDesc compiles a number type; an empty pattern matches only the
// empty string in the library, which no national number is, so it becomes a
// desc that never matches.
func compileDesc(d *phonenumbers.PhoneNumberDesc) desc {
	pat := d.GetNationalNumberPattern()
	if pat == "" {
		return desc{}
	}
	out := desc{anyLen: len(d.GetPossibleLength()) == 0}
	for _, l := range d.GetPossibleLength() {
		if l >= 0 && l < 64 {
			out.lengths |= 1 << l
		}
	}
	out.m = newMatcher(pat, false)
	return out
}

// compileOr compiles a pattern from the metadata, or the fallback when the
// library's data ever holds one Go cannot compile (the library itself would
// panic on it).
func compileOr(pattern, fallback string) *regexp.Regexp {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return regexp.MustCompile(fallback)
	}
	return re
}
