package audience

import (
	"regexp"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

// TestFastPathMatchesLibrary runs every example number of the library's
// metadata (all regions, all types, E.164 and grouped international form)
// through both paths: the fast one must give the library's answer whenever
// it answers, and it must answer for most of them or it is not worth having.
func TestFastPathMatchesLibrary(t *testing.T) {
	types := []phonenumbers.PhoneNumberType{phonenumbers.FIXED_LINE, phonenumbers.MOBILE, phonenumbers.TOLL_FREE,
		phonenumbers.PREMIUM_RATE, phonenumbers.SHARED_COST, phonenumbers.VOIP, phonenumbers.PERSONAL_NUMBER,
		phonenumbers.PAGER, phonenumbers.UAN, phonenumbers.VOICEMAIL}
	total, fast := 0, 0
	for region := range phonenumbers.GetSupportedRegions() {
		for _, typ := range types {
			ex := phonenumbers.GetExampleNumberForType(region, typ)
			if ex == nil {
				continue
			}
			for _, s := range []string{phonenumbers.Format(ex, phonenumbers.E164), phonenumbers.Format(ex, phonenumbers.INTERNATIONAL)} {
				total++
				e164, got, ok := fastE164(s)
				if !ok {
					continue
				}
				fast++
				num, err := phonenumbers.Parse(s, "")
				if err != nil {
					t.Errorf("%s %v: fast path accepted %q, library refuses: %v", region, typ, s, err)
					continue
				}
				want := phonenumbers.GetRegionCodeForNumber(num)
				if !phonenumbers.IsValidNumberForRegion(num, want) || e164 != phonenumbers.Format(num, phonenumbers.E164) || got != want {
					t.Errorf("%q: fast path %s %s, library %s %s valid=%v", s, e164, got, phonenumbers.Format(num, phonenumbers.E164), want, phonenumbers.IsValidNumberForRegion(num, want))
				}
			}
		}
	}
	if fast < total*8/10 {
		t.Errorf("fast path answered %d of %d example numbers, want at least 80%%", fast, total)
	}
	t.Logf("fast path answered %d of %d example numbers", fast, total)
}

// libraryPhone is what normPhone gives through the library alone.
func libraryPhone(s, country string) (e164, region string, ok bool) {
	num, err := phonenumbers.Parse(s, country)
	if err != nil || num.GetExtension() != "" {
		return "", "", false
	}
	r := phonenumbers.GetRegionCodeForNumber(num)
	if !phonenumbers.IsValidNumberForRegion(num, r) {
		return "", "", false
	}
	return phonenumbers.Format(num, phonenumbers.E164), geoRegion(r), true
}

// TestNationalFastPathMatchesLibrary writes every example number of the
// metadata in its region's national format, grouped and as bare digits:
// whenever fastNational answers, the library must give the same number and
// region; and it must answer for most, or it is not worth having.
func TestNationalFastPathMatchesLibrary(t *testing.T) {
	types := []phonenumbers.PhoneNumberType{phonenumbers.FIXED_LINE, phonenumbers.MOBILE, phonenumbers.TOLL_FREE,
		phonenumbers.PREMIUM_RATE, phonenumbers.SHARED_COST, phonenumbers.VOIP, phonenumbers.PERSONAL_NUMBER,
		phonenumbers.PAGER, phonenumbers.UAN, phonenumbers.VOICEMAIL}
	total, fast := 0, 0
	for region := range phonenumbers.GetSupportedRegions() {
		for _, typ := range types {
			ex := phonenumbers.GetExampleNumberForType(region, typ)
			if ex == nil {
				continue
			}
			national := phonenumbers.Format(ex, phonenumbers.NATIONAL)
			for _, s := range []string{national, phonenumbers.NormalizeDigitsOnly(national)} {
				total++
				e164, got, ok := fastNational(s, region)
				if !ok {
					continue
				}
				fast++
				want, wantRegion, libOK := libraryPhone(s, region)
				if !libOK || e164 != want || got != wantRegion {
					t.Errorf("%q in %s: fast path %s %s, library %s %s (valid %v)", s, region, e164, got, want, wantRegion, libOK)
				}
			}
		}
	}
	if fast < total*6/10 {
		t.Errorf("fast path answered %d of %d national example numbers, want at least 60%%", fast, total)
	}
	t.Logf("fast path answered %d of %d national example numbers", fast, total)
}

// FuzzNationalPhone checks fastNational against the library for any text
// and any region the library knows.
func FuzzNationalPhone(f *testing.F) {
	for _, c := range [][2]string{{"0812 3456 7890", "ID"}, {"09859683387", "NP"}, {"06 12 34 56 78", "FR"}, {"090-1234-5678", "JP"},
		{"(11) 91234-5678", "BR"}, {"06 1234 5678", "IT"}, {"2025550143", "US"}, {"0049 30 1234567", "DE"}, {"12345", "GB"}} {
		f.Add(c[0], c[1])
	}
	f.Fuzz(func(t *testing.T, s, region string) {
		e164, got, ok := fastNational(s, region)
		if !ok {
			return
		}
		want, wantRegion, libOK := libraryPhone(s, region)
		if !libOK || e164 != want || got != wantRegion {
			t.Fatalf("%q in %s: fast path %s %s, library %s %s (valid %v)", s, region, e164, got, want, wantRegion, libOK)
		}
	})
}

// TestDigitTablesMatchRegexps runs every pattern of the metadata both
// ways over digit strings: the example numbers, their prefixes, and
// digits changed one at a time.
func TestDigitTablesMatchRegexps(t *testing.T) {
	coll, err := phonenumbers.MetadataCollection()
	if err != nil {
		t.Fatal(err)
	}
	var inputs []string
	for region := range phonenumbers.GetSupportedRegions() {
		for _, typ := range []phonenumbers.PhoneNumberType{phonenumbers.FIXED_LINE, phonenumbers.MOBILE, phonenumbers.TOLL_FREE} {
			if ex := phonenumbers.GetExampleNumberForType(region, typ); ex != nil {
				nsn := phonenumbers.GetNationalSignificantNumber(ex)
				for i := range len(nsn) + 1 {
					inputs = append(inputs, nsn[:i], "0"+nsn[:i])
					if i < len(nsn) {
						b := []byte(nsn)
						b[i] = '0' + (b[i]-'0'+3)%10
						inputs = append(inputs, string(b))
					}
				}
			}
		}
	}
	tables, patterns := 0, 0
	for _, md := range coll.GetMetadata() {
		pats := []string{md.GetNationalPrefixForParsing(), md.GetLeadingDigits(), md.GetInternationalPrefix(), md.GetGeneralDesc().GetNationalNumberPattern(),
			md.GetMobile().GetNationalNumberPattern(), md.GetFixedLine().GetNationalNumberPattern(), md.GetTollFree().GetNationalNumberPattern()}
		for _, pat := range pats {
			patterns++
			d, ok := compileDigits(pat)
			if !ok {
				continue
			}
			tables++
			full, prefix := regexp.MustCompile(`^(?:`+pat+`)$`), regexp.MustCompile(`^(?:`+pat+`)`)
			for _, in := range inputs[:min(len(inputs), 2000)] {
				if d.full(in) != full.MatchString(in) || d.prefix(in) != prefix.MatchString(in) {
					t.Fatalf("%s pattern %q on %q: table full=%v prefix=%v, regexp %v %v", md.GetId(), pat, in,
						d.full(in), d.prefix(in), full.MatchString(in), prefix.MatchString(in))
				}
			}
		}
	}
	if tables < patterns*9/10 {
		t.Errorf("tables for %d of %d patterns", tables, patterns)
	}
	t.Logf("tables for %d of %d patterns", tables, patterns)
}
