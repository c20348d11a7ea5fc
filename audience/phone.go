package audience

import (
	"errors"
	"fmt"
	"regexp"
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
	digits := buf[:0]
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if len(digits) == len(buf) {
				return "", "", false
			}
			digits = append(digits, c)
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')':
		default:
			return "", "", false
		}
	}
	if len(digits) == 0 || digits[0] == '0' {
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
	if p := numberingPlans()[main]; p == nil || p.prefix != nil && p.prefix.Match(nsn) {
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

// plan is what the library's validity check reads from a region's
// metadata, with the regular expressions compiled once. The library builds
// and looks up these expressions in a locked cache on every call, which is
// most of its cost.
type plan struct {
	prefix  *regexp.Regexp // national prefix for parsing, anchored at the start; nil if none
	leading *regexp.Regexp // leading digits that pick this region among those sharing a calling code
	general desc
	types   []desc // every number type, in the library's order
}

// desc is one number type: possible lengths and the whole-number pattern.
type desc struct {
	lengths uint64 // bit n set when length n is possible
	anyLen  bool   // the metadata lists no lengths: any length goes
	re      *regexp.Regexp
}

func (d *desc) matches(nsn string) bool {
	if d.re == nil {
		return false
	}
	if !d.anyLen && (len(nsn) >= 64 || d.lengths&(1<<len(nsn)) == 0) {
		return false
	}
	return d.re.MatchString(nsn)
}

// valid is the library's getNumberTypeHelper(...) != UNKNOWN.
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

// regionFor is the library's GetRegionCodeForNumber followed by
// IsValidNumberForRegion: the region a valid number belongs to, or "".
func (ps plans) regionFor(cc int, nsn string) string {
	regions := phonenumbers.GetRegionCodesForCountryCode(cc)
	pick := ""
	if len(regions) == 1 {
		pick = regions[0]
	} else {
		for _, r := range regions {
			p := ps[r]
			if p == nil {
				return ""
			}
			if p.leading != nil {
				if p.leading.MatchString(nsn) {
					pick = r
					break
				}
			} else if p.valid(nsn) {
				pick = r
				break
			}
		}
	}
	if p := ps[pick]; p != nil && p.valid(nsn) {
		return pick
	}
	return ""
}

// numberingPlans compiles the embedded metadata of every geographic
// region once. Pipeline workers call it concurrently: sync.OnceValue makes
// them wait for the one compilation, and what it returns is never written
// again (a *regexp.Regexp is safe for concurrent use). The library's own
// state used here is its metadata, loaded at package init and then only
// read, and its regular-expression cache, which it guards with a lock.
var numberingPlans = sync.OnceValue(func() plans {
	ps := make(plans)
	coll, err := phonenumbers.MetadataCollection()
	if err != nil {
		return ps
	}
	for _, md := range coll.GetMetadata() {
		p := &plan{}
		pre := md.GetNationalPrefixForParsing()
		if pre == "" {
			// Be cautious: numbers starting with the plain national
			// prefix also go through the library.
			pre = md.GetNationalPrefix()
		}
		if pre != "" {
			p.prefix = compileOr(`^(?:`+pre+`)`, ``)
		}
		if ld := md.GetLeadingDigits(); ld != "" {
			p.leading = compileOr(`^(?:`+ld+`)`, `^$`)
		}
		p.general = compileDesc(md.GetGeneralDesc())
		for _, d := range []*phonenumbers.PhoneNumberDesc{
			md.GetPremiumRate(), md.GetTollFree(), md.GetSharedCost(), md.GetVoip(),
			md.GetPersonalNumber(), md.GetPager(), md.GetUan(), md.GetVoicemail(), md.GetFixedLine(),
		} {
			p.types = append(p.types, compileDesc(d))
		}
		// With the same pattern for both, the library never tests mobile
		// on its own.
		if !md.GetSameMobileAndFixedLinePattern() {
			p.types = append(p.types, compileDesc(md.GetMobile()))
		}
		ps[md.GetId()] = p
	}
	return ps
})

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
	out.re = compileOr(`^(?:`+pat+`)$`, `^$`)
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
