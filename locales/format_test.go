package locales

import (
	"strings"
	"sync"
	"testing"
	"time"
)

func mustFormatter(t testing.TB, locale string) *Formatter {
	t.Helper()
	f, err := NewFormatter(locale, time.UTC)
	if err != nil {
		t.Fatalf("NewFormatter(%q): %v", locale, err)
	}
	return f
}

// One row per locale of the demo's languages: what a customer of that
// locale reads, with CLDR's own spaces (U+00A0, U+202F) and digits.
var localeCases = []struct {
	locale                 string
	number, small          string // 1234567.5 and 1234
	eur, jpy, idr          string // 1234.5 EUR, 1234.5 JPY, 1234567 IDR
	short, long, full, clk string // 2026-11-23 (14:05 UTC for clk)
}{
	{"en", "1,234,567.5", "1,234", "€1,234.50", "¥1,235", "IDR\u00a01,234,567", "11/23/26", "November 23, 2026", "Monday, November 23, 2026", "2:05 PM"},
	{"en-GB", "1,234,567.5", "1,234", "€1,234.50", "JP¥1,235", "IDR\u00a01,234,567", "23/11/2026", "23 November 2026", "Monday, 23 November 2026", "14:05"},
	{"id", "1.234.567,5", "1.234", "€1.234,50", "JP¥1.235", "Rp\u00a01.234.567", "23/11/26", "23 November 2026", "Senin, 23 November 2026", "14.05"},
	{"ms", "1,234,567.5", "1,234", "€1,234.50", "JP¥1,235", "IDR\u00a01,234,567", "23/11/26", "23 November 2026", "Isnin, 23 November 2026", "2:05 PTG"},
	{"it", "1.234.567,5", "1.234", "1.234,50\u00a0€", "1.235\u00a0JPY", "1.234.567\u00a0IDR", "23/11/26", "23 novembre 2026", "lunedì 23 novembre 2026", "14:05"},
	{"es", "1.234.567,5", "1234", "1234,50\u00a0€", "1235\u00a0JPY", "1.234.567\u00a0IDR", "23/11/26", "23 de noviembre de 2026", "lunes, 23 de noviembre de 2026", "14:05"},
	{"fr", "1\u202f234\u202f567,5", "1\u202f234", "1\u202f234,50\u00a0€", "1\u202f235\u00a0JPY", "1\u202f234\u202f567\u00a0IDR", "23/11/2026", "23 novembre 2026", "lundi 23 novembre 2026", "14:05"},
	{"de", "1.234.567,5", "1.234", "1.234,50\u00a0€", "1.235\u00a0¥", "1.234.567\u00a0IDR", "23.11.26", "23. November 2026", "Montag, 23. November 2026", "14:05"},
	{"nl", "1.234.567,5", "1.234", "€\u00a01.234,50", "JP¥\u00a01.235", "IDR\u00a01.234.567", "23-11-2026", "23 november 2026", "maandag 23 november 2026", "14:05"},
	{"pt", "1.234.567,5", "1.234", "€\u00a01.234,50", "JP¥\u00a01.235", "IDR\u00a01.234.567", "23/11/2026", "23 de novembro de 2026", "segunda-feira, 23 de novembro de 2026", "14:05"},
	{"pt-BR", "1.234.567,5", "1.234", "€\u00a01.234,50", "JP¥\u00a01.235", "IDR\u00a01.234.567", "23/11/2026", "23 de novembro de 2026", "segunda-feira, 23 de novembro de 2026", "14:05"},
	{"pt-PT", "1\u00a0234\u00a0567,5", "1234", "1234,50\u00a0€", "1235\u00a0JP¥", "1\u00a0234\u00a0567\u00a0IDR", "23/11/26", "23 de novembro de 2026", "segunda-feira, 23 de novembro de 2026", "14:05"},
	{"ja", "1,234,567.5", "1,234", "€1,234.50", "￥1,235", "IDR\u00a01,234,567", "2026/11/23", "2026年11月23日", "2026年11月23日月曜日", "14:05"},
	{"ko", "1,234,567.5", "1,234", "€1,234.50", "JP¥1,235", "IDR\u00a01,234,567", "26. 11. 23.", "2026년 11월 23일", "2026년 11월 23일 월요일", "PM 2:05"},
	{"zh-Hans", "1,234,567.5", "1,234", "€1,234.50", "JP¥1,235", "IDR\u00a01,234,567", "2026/11/23", "2026年11月23日", "2026年11月23日星期一", "下午2:05"},
	{"zh-Hant", "1,234,567.5", "1,234", "€1,234.50", "¥1,235", "IDR\u00a01,234,567", "2026/11/23", "2026年11月23日", "2026年11月23日 星期一", "下午2:05"},
	{"ar", "١٬٢٣٤٬٥٦٧٫٥", "١٬٢٣٤", "١٬٢٣٤٫٥٠\u00a0€", "١٬٢٣٥\u00a0JP¥", "١٬٢٣٤٬٥٦٧\u00a0IDR", "٢٣\u200f/١١\u200f/٢٠٢٦", "٢٣ نوفمبر ٢٠٢٦", "الاثنين، ٢٣ نوفمبر ٢٠٢٦", "٢:٠٥ م"}, // CLDR ar: Arabic-Indic digits
	{"hi", "12,34,567.5", "1,234", "€1,234.50", "JP¥1,235", "IDR\u00a012,34,567", "23/11/26", "23 नवंबर 2026", "सोमवार, 23 नवंबर 2026", "2:05 pm"},
	{"th", "1,234,567.5", "1,234", "€1,234.50", "¥1,235", "IDR\u00a01,234,567", "23/11/26", "23 พฤศจิกายน ค.ศ. 2026", "วันจันทร์ที่ 23 พฤศจิกายน คริสต์ศักราช 2026", "14:05"},
	{"vi", "1.234.567,5", "1.234", "1.234,50\u00a0€", "1.235\u00a0JP¥", "1.234.567\u00a0IDR", "23/11/2026", "23 tháng 11, 2026", "Thứ Hai, 23 tháng 11, 2026", "14:05"},
	{"tr", "1.234.567,5", "1.234", "€1.234,50", "¥1.235", "IDR\u00a01.234.567", "23.11.2026", "23 Kasım 2026", "23 Kasım 2026 Pazartesi", "14:05"},
	{"ru", "1\u00a0234\u00a0567,5", "1\u00a0234", "1\u00a0234,50\u00a0€", "1\u00a0235\u00a0¥", "1\u00a0234\u00a0567\u00a0IDR", "23.11.2026", "23 ноября 2026 г.", "понедельник, 23 ноября 2026 г.", "14:05"},
	{"pl", "1\u00a0234\u00a0567,5", "1234", "1234,50\u00a0€", "1235\u00a0JPY", "1\u00a0234\u00a0567\u00a0IDR", "23.11.2026", "23 listopada 2026", "poniedziałek, 23 listopada 2026", "14:05"},
}

func TestFormatterLocales(t *testing.T) {
	check := func(t *testing.T, what, got string, err error, want string) {
		t.Helper()
		if err != nil {
			t.Errorf("%s: %v", what, err)
		} else if got != want {
			t.Errorf("%s = %q, want %q", what, got, want)
		}
	}
	for _, c := range localeCases {
		t.Run(c.locale, func(t *testing.T) {
			f := mustFormatter(t, c.locale)
			got, err := f.Number("1234567.5")
			check(t, "Number", got, err, c.number)
			got, err = f.Number(1234)
			check(t, "Number(1234)", got, err, c.small)
			got, err = f.Money("1234.5", "EUR")
			check(t, "Money EUR", got, err, c.eur)
			got, err = f.Money(1234.5, "JPY")
			check(t, "Money JPY", got, err, c.jpy)
			got, err = f.Money(1234567, "idr")
			check(t, "Money IDR", got, err, c.idr)
			got, err = f.Date("2026-11-23", "short")
			check(t, "Date short", got, err, c.short)
			got, err = f.Date("2026-11-23", "long")
			check(t, "Date long", got, err, c.long)
			got, err = f.Date("2026-11-23", "full")
			check(t, "Date full", got, err, c.full)
			got, err = f.Date("2026-11-23T14:05:00Z", "time")
			check(t, "Date time", got, err, c.clk)
		})
	}
}

func TestDateZones(t *testing.T) {
	jakarta, err := time.LoadLocation("Asia/Jakarta")
	if err != nil {
		t.Skip(err)
	}
	kiritimati, err := time.LoadLocation("Pacific/Kiritimati")
	if err != nil {
		t.Skip(err)
	}
	tests := []struct {
		name  string
		zone  *time.Location
		v     any
		style string
		want  string
	}{
		{"instant shown in zone crosses midnight", jakarta, "2026-11-23T20:00:00Z", "long", "24 November 2026"},
		{"instant time in zone", jakarta, "2026-11-23T20:00:00Z", "time", "03.00"},
		{"offset instant", jakarta, "2026-11-23T10:00:00+01:00", "time", "16.00"},
		{"fractional seconds", jakarta, "2026-11-23T10:00:00.123Z", "time", "17.00"},
		{"time.Time in zone", jakarta, time.Date(2026, 11, 23, 23, 30, 0, 0, time.UTC), "full", "Selasa, 24 November 2026"},
		{"calendar date never shifts", kiritimati, "2026-11-23", "long", "23 November 2026"},
		{"calendar date never shifts west", time.FixedZone("-11", -11*3600), "2026-11-23", "long", "23 November 2026"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := NewFormatter("id", tt.zone)
			if err != nil {
				t.Fatal(err)
			}
			got, err := f.Date(tt.v, tt.style)
			if err != nil || got != tt.want {
				t.Fatalf("Date(%v, %q) = %q, %v; want %q", tt.v, tt.style, got, err, tt.want)
			}
		})
	}
}

func TestNilZoneIsUTC(t *testing.T) {
	f, err := NewFormatter("en", nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.Date("2026-11-23T23:30:00-05:00", "long")
	if err != nil || got != "November 24, 2026" {
		t.Fatalf("Date = %q, %v; want November 24, 2026 (UTC)", got, err)
	}
}

func TestFormatterErrors(t *testing.T) {
	f := mustFormatter(t, "en")
	tests := []struct {
		name string
		run  func() (string, error)
		want string
	}{
		{"bad date", func() (string, error) { return f.Date("2026-13-40", "long") }, `date: "2026-13-40" is not a date (want YYYY-MM-DD or RFC 3339)`},
		{"date without offset", func() (string, error) { return f.Date("2026-11-23T10:00", "long") }, `date: "2026-11-23T10:00" is not a date`},
		{"date of wrong type", func() (string, error) { return f.Date(42, "long") }, `date: int 42 is not a date`},
		{"unknown style", func() (string, error) { return f.Date("2026-11-23", "longg") }, `date: unknown style "longg" (want short, medium, long, full or time)`},
		{"time of calendar date", func() (string, error) { return f.Date("2026-11-23", "time") }, `date: "2026-11-23" is a calendar date with no time of day`},
		{"bad number", func() (string, error) { return f.Number("12abc") }, `number: "12abc" is not a number`},
		{"grouped number", func() (string, error) { return f.Number("1,234") }, `number: "1,234" is not a number`},
		{"empty number", func() (string, error) { return f.Number("") }, `number: "" is not a number`},
		{"NaN", func() (string, error) { return f.Number("NaN") }, `number: "NaN" is not a number`},
		{"bool", func() (string, error) { return f.Number(true) }, `number: bool true is not a number`},
		{"unknown currency", func() (string, error) { return f.Money(5, "EUX") }, `money: unknown currency "EUX"`},
		{"no currency", func() (string, error) { return f.Money(5, "XXX") }, `money: unknown currency "XXX"`},
		{"bad amount", func() (string, error) { return f.Money("5 EUR", "EUR") }, `money: "5 EUR" is not a number`},
		{"one form", func() (string, error) { return f.Plural(1, "item") }, `plural: got 1 form(s), want at least the "one" and "other" forms`},
		{"unknown category", func() (string, error) { return f.Plural(1, "a", "b", "fiw=c") }, `plural: form "fiw=c" has no category`},
		{"bad count", func() (string, error) { return f.Plural("lots", "a", "b") }, `plural: "lots" is not a number`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.run()
			if err == nil {
				t.Fatalf("got %q, want error %q", got, tt.want)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("error = %q, want it to start with %q", err, tt.want)
			}
		})
	}
}

func TestNewFormatterBadLocale(t *testing.T) {
	_, err := NewFormatter("xx-!!", nil)
	if err == nil || !strings.HasPrefix(err.Error(), `unparseable locale "xx-!!"`) {
		t.Fatalf("NewFormatter error = %v, want unparseable locale", err)
	}
}

func TestNumberValues(t *testing.T) {
	tests := []struct {
		locale string
		v      any
		want   string
	}{
		{"en", "2.50", "2.50"}, // fraction digits kept as written
		{"it", "2.50", "2,50"},
		{"en", "0.333", "0.333"},
		{"en", 0.1, "0.1"},
		{"en", float32(0.1), "0.1"},
		{"en", 1e21, "1,000,000,000,000,000,000,000"},
		{"en", "1.5e3", "1,500"},
		{"en", "2.5E-3", "0.0025"},
		{"en", "-0", "0"},
		{"en", "+42", "42"},
		{"en", " 7 ", "7"},
		{"en", ".5", "0.5"},
		{"en", "007", "7"},
		{"en", int64(-9223372036854775808), "-9,223,372,036,854,775,808"},
		{"en", uint64(18446744073709551615), "18,446,744,073,709,551,615"},
		{"en", int8(-5), "-5"},
		{"en", "123456789012345678901234567890.25", "123,456,789,012,345,678,901,234,567,890.25"},
		{"hi", "123456789", "12,34,56,789"},
		{"hi", "-1234", "-1,234"},
		{"es", "12345", "12.345"},
		{"pl", "-1234", "-1234"},
		{"ar", -12345, "\u061c-١٢٬٣٤٥"},       // CLDR ar: arab digits, ALM before the minus,
		{"de-CH", "1234567.5", "1’234’567.5"}, // the region's data, not just the language's
		{"en-IN", "1234567", "12,34,567"},
		{"fr", 999, "999"},
	}
	for _, tt := range tests {
		f := mustFormatter(t, tt.locale)
		got, err := f.Number(tt.v)
		if err != nil || got != tt.want {
			t.Errorf("%s Number(%#v) = %q, %v; want %q", tt.locale, tt.v, got, err, tt.want)
		}
	}
}

func TestMoneyValues(t *testing.T) {
	tests := []struct {
		locale, cur string
		v           any
		want        string
	}{
		{"en", "EUR", "2.345", "€2.35"}, // half away from zero
		{"en", "EUR", "-2.345", "-€2.35"},
		{"en", "EUR", "9.995", "€10.00"},
		{"en", "EUR", "-0.004", "€0.00"}, // no "-€0.00"
		{"en", "EUR", 3, "€3.00"},
		{"en", "USD", "1234.5", "$1,234.50"},
		{"en", "CHF", "12", "CHF\u00a012.00"}, // CLDR currency spacing: letters get a no-break space
		{"en", "KWD", "1.5", "KWD\u00a01.500"},
		{"it", "EUR", "-1234.5", "-1.234,50\u00a0€"},
		{"ja", "JPY", "1234.5", "￥1,235"},
		{"ja", "JPY", "0.4", "￥0"},
		{"id", "IDR", "1234567.89", "Rp\u00a01.234.568"},
		{"pt-BR", "BRL", "1234.5", "R$\u00a01.234,50"},
		{"nl", "EUR", "-5", "-€\u00a05,00"},
		{"ms", "MYR", "10", "RM\u00a010.00"},
		{"th", "THB", "100", "฿100.00"},
		{"pl", "PLN", "12345.6", "12\u00a0345,60\u00a0zł"},
		{"ru", "RUB", "100", "100,00\u00a0₽"},
		{"ko", "KRW", "50000", "₩50,000"},
		{"zh-Hans", "CNY", "8.8", "￥8.80"},
		{"hi", "INR", "1234567", "₹12,34,567.00"},
		{"vi", "VND", "50000", "50.000\u00a0₫"},
		{"tr", "TRY", "10", "₺10,00"},
		{"ar", "SAR", "10", "١٠٫٠٠\u00a0ر.س.\u200f"},
	}
	for _, tt := range tests {
		f := mustFormatter(t, tt.locale)
		got, err := f.Money(tt.v, tt.cur)
		if err != nil || got != tt.want {
			t.Errorf("%s Money(%#v, %s) = %q, %v; want %q", tt.locale, tt.v, tt.cur, got, err, tt.want)
		}
	}
}

func TestPlural(t *testing.T) {
	ru := []string{"# товар", "# товаров", "few=# товара", "many=# товаров"}
	ar := []string{"one", "other", "zero=zero", "two=two", "few=few", "many=many"}
	pl := []string{"one", "other", "few=few", "many=many"}
	tests := []struct {
		locale string
		n      any
		forms  []string
		want   string
	}{
		{"en", 1, []string{"# item", "# items"}, "1 item"},
		{"en", 0, []string{"# item", "# items"}, "0 items"},
		{"en", 1234, []string{"# item", "# items"}, "1,234 items"},
		{"en", "1.0", []string{"# item", "# items"}, "1.0 items"}, // CLDR: visible decimals are "other"
		{"en", 1, []string{"a", "b", "one=override"}, "override"},
		{"ru", 1, ru, "1 товар"},
		{"ru", 3, ru, "3 товара"},
		{"ru", 5, ru, "5 товаров"},
		{"ru", 21, ru, "21 товар"},
		{"ru", 22, ru, "22 товара"},
		{"ru", 11, ru, "11 товаров"},
		{"ru", "1.5", ru, "1,5 товаров"},             // "other", with ru's decimal comma
		{"ru", 3, []string{"one", "other"}, "other"}, // no few form: falls back to other
		{"ar", 0, ar, "zero"},
		{"ar", 1, ar, "one"},
		{"ar", 2, ar, "two"},
		{"ar", 3, ar, "few"},
		{"ar", 11, ar, "many"},
		{"ar", 100, ar, "other"},
		{"pl", 1, pl, "one"},
		{"pl", 2, pl, "few"},
		{"pl", 5, pl, "many"},
		{"pl", 22, pl, "few"},
		{"pl", 12, pl, "many"},
		{"ja", 1, []string{"one", "other"}, "other"},
		{"id", 1, []string{"one", "other"}, "other"},
		{"fr", 0, []string{"one", "other"}, "one"},
		{"fr", 2, []string{"one", "other"}, "other"},
		{"hi", 1234567, []string{"#", "#"}, "12,34,567"},
		{"ru", "101000001", ru, "101\u00a0000\u00a0001 товар"}, // beyond 7 digits still ends in 1
		{"en", "10000001", []string{"one", "other"}, "other"},
	}
	for _, tt := range tests {
		f := mustFormatter(t, tt.locale)
		got, err := f.Plural(tt.n, tt.forms...)
		if err != nil || got != tt.want {
			t.Errorf("%s Plural(%#v, %q) = %q, %v; want %q", tt.locale, tt.n, tt.forms, got, err, tt.want)
		}
	}
}

func TestFallbackLocales(t *testing.T) {
	tests := []struct {
		locale, long, number string
	}{
		{"zh-HK", "2026年11月23日", "1,234,567.5"},
		{"de-AT", "23. November 2026", "1\u00a0234\u00a0567,5"}, // Austrian numbers, German names
		{"es-MX", "23 de noviembre de 2026", "1,234,567.5"},
		{"en-AU", "23 November 2026", "1,234,567.5"},
		{"in", "23 November 2026", "1.234.567,5"},
		{"sw", "23 Novemba 2026", "1,234,567.5"}, // every CLDR locale has its data
		{"x-private", "November 23, 2026", "1,234,567.5"},
	}
	for _, tt := range tests {
		f := mustFormatter(t, tt.locale)
		long, err := f.Date("2026-11-23", "long")
		if err != nil || long != tt.long {
			t.Errorf("%s long date = %q, %v; want %q", tt.locale, long, err, tt.long)
		}
		n, err := f.Number("1234567.5")
		if err != nil || n != tt.number {
			t.Errorf("%s Number = %q, %v; want %q", tt.locale, n, err, tt.number)
		}
	}
}

func TestFormatterConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				c := localeCases[(g+i)%len(localeCases)]
				f, err := NewFormatter(c.locale, time.UTC)
				if err != nil {
					t.Error(err)
					return
				}
				if got, _ := f.Money("1234.5", "EUR"); got != c.eur {
					t.Errorf("%s Money = %q, want %q", c.locale, got, c.eur)
					return
				}
				if got, _ := f.Date("2026-11-23", "long"); got != c.long {
					t.Errorf("%s Date = %q, want %q", c.locale, got, c.long)
					return
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkFormatter(b *testing.B) {
	f := mustFormatter(b, "id")
	when := time.Date(2026, 11, 23, 14, 5, 0, 0, time.UTC)
	b.Run("Date/string", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			f.Date("2026-11-23", "long")
		}
	})
	b.Run("Date/time", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			f.Date(when, "full")
		}
	})
	b.Run("Number", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			f.Number("1234567.5")
		}
	})
	b.Run("Money", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			f.Money("1234567", "IDR")
		}
	})
	b.Run("Plural", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			f.Plural(3, "# barang", "# barang")
		}
	})
	b.Run("NewFormatter", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			NewFormatter("pt-BR", time.UTC)
		}
	})
}
