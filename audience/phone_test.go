package audience

import (
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
