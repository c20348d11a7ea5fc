package locales

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// regionalCases: a template locale read by a customer of some region. The
// expected strings are written from CLDR's charts (by-type "Date & Time:
// Gregorian" and "Numbers" pages) for the formatting locale, with CLDR's
// spaces: U+00A0 no-break space, U+202F narrow no-break space, U+200F
// right-to-left mark. An empty expectation is not checked (CLDR releases
// after go-playground's changed that field; see cldrgen's corrections).
//
// Date: Thursday 5 November 2026. Number: 1234567.5. Money: 1234.5 in cur.
// plural: forms "one", "other", "two=two", "few=few", "many=many" for 2
// and 5, chosen by the template's language.
var regionalCases = []struct {
	template, customer, formats string
	short, medium, long, full   string
	number, small               string // 1234567.5 and 1234
	cur, money                  string
	plural2, plural5            string
}{
	{"en", "en-US", "en-US", "11/5/26", "Nov 5, 2026", "November 5, 2026", "Thursday, November 5, 2026", "1,234,567.5", "1,234", "USD", "$1,234.50", "other", "other"},
	{"en", "", "en", "11/5/26", "Nov 5, 2026", "November 5, 2026", "Thursday, November 5, 2026", "1,234,567.5", "1,234", "EUR", "€1,234.50", "other", "other"},
	{"en", "en-GB", "en-GB", "05/11/2026", "5 Nov 2026", "5 November 2026", "Thursday, 5 November 2026", "1,234,567.5", "1,234", "GBP", "£1,234.50", "other", "other"},
	{"en", "en-IN", "en-IN", "05/11/26", "5 Nov 2026", "5 November 2026", "Thursday, 5 November 2026", "12,34,567.5", "1,234", "INR", "₹1,234.50", "other", "other"},
	{"en", "de-CH", "en-CH", "05.11.2026", "5 Nov 2026", "5 November 2026", "Thursday, 5 November 2026", "1’234’567.5", "1’234", "CHF", "CHF\u00a01’234.50", "other", "other"},
	{"en", "en-AU", "en-AU", "5/11/26", "5 Nov 2026", "5 November 2026", "Thursday, 5 November 2026", "1,234,567.5", "1,234", "AUD", "$1,234.50", "other", "other"},
	{"en", "en-ZA", "en-ZA", "2026/11/05", "05 Nov 2026", "05 November 2026", "Thursday, 05 November 2026", "1\u00a0234\u00a0567,5", "1\u00a0234", "ZAR", "R\u00a01\u00a0234,50", "other", "other"},
	{"en", "en-CA", "en-CA", "2026-11-05", "", "November 5, 2026", "Thursday, November 5, 2026", "1,234,567.5", "1,234", "CAD", "$1,234.50", "other", "other"},
	{"en", "en-IE", "en-IE", "05/11/2026", "5 Nov 2026", "5 November 2026", "Thursday 5 November 2026", "1,234,567.5", "1,234", "EUR", "€1,234.50", "other", "other"},
	{"en", "en-SG", "en-SG", "5/11/26", "5 Nov 2026", "5 November 2026", "Thursday, 5 November 2026", "1,234,567.5", "1,234", "SGD", "$1,234.50", "other", "other"},
	{"en", "ru-RU", "en", "11/5/26", "Nov 5, 2026", "November 5, 2026", "Thursday, November 5, 2026", "1,234,567.5", "1,234", "RUB", "RUB\u00a01,234.50", "other", "other"}, // no en-RU in CLDR
	{"es", "es-MX", "es-MX", "05/11/26", "", "5 de noviembre de 2026", "jueves, 5 de noviembre de 2026", "1,234,567.5", "1,234", "MXN", "$1,234.50", "other", "other"},
	{"es", "es-ES", "es-ES", "5/11/26", "", "5 de noviembre de 2026", "jueves, 5 de noviembre de 2026", "1.234.567,5", "1234", "EUR", "1234,50\u00a0€", "other", "other"},
	{"es", "es-419", "es-419", "", "", "5 de noviembre de 2026", "jueves, 5 de noviembre de 2026", "1,234,567.5", "1,234", "", "", "other", "other"},
	{"pt-BR", "pt-PT", "pt-PT", "05/11/26", "05/11/2026", "5 de novembro de 2026", "quinta-feira, 5 de novembro de 2026", "1\u00a0234\u00a0567,5", "1234", "EUR", "1234,50\u00a0€", "other", "other"},
	{"pt", "pt-BR", "pt-BR", "05/11/2026", "5 de nov. de 2026", "5 de novembro de 2026", "quinta-feira, 5 de novembro de 2026", "1.234.567,5", "1.234", "BRL", "R$\u00a01.234,50", "other", "other"},
	{"fr", "fr-CA", "fr-CA", "2026-11-05", "", "5 novembre 2026", "jeudi 5 novembre 2026", "1\u00a0234\u00a0567,5", "1\u00a0234", "CAD", "1\u00a0234,50\u00a0$", "other", "other"},
	{"fr", "fr-FR", "fr-FR", "05/11/2026", "5 nov. 2026", "5 novembre 2026", "jeudi 5 novembre 2026", "1\u202f234\u202f567,5", "1\u202f234", "EUR", "1\u202f234,50\u00a0€", "other", "other"},
	{"fr", "fr-CH", "fr-CH", "05.11.26", "", "5 novembre 2026", "jeudi, 5 novembre 2026", "", "", "", "", "other", "other"},
	{"fr", "fr-BE", "fr-BE", "5/11/26", "", "5 novembre 2026", "jeudi 5 novembre 2026", "", "", "", "", "other", "other"},
	{"de", "de-CH", "de-CH", "05.11.26", "05.11.2026", "5. November 2026", "Donnerstag, 5. November 2026", "1’234’567.5", "1’234", "CHF", "CHF\u00a01’234.50", "other", "other"},
	{"de", "de-AT", "de-AT", "05.11.26", "05.11.2026", "5. November 2026", "Donnerstag, 5. November 2026", "1\u00a0234\u00a0567,5", "1\u00a0234", "EUR", "€\u00a01\u00a0234,50", "other", "other"},
	{"de", "de-DE", "de-DE", "05.11.26", "05.11.2026", "5. November 2026", "Donnerstag, 5. November 2026", "1.234.567,5", "1.234", "EUR", "1.234,50\u00a0€", "other", "other"},
	{"it", "it-IT", "it-IT", "05/11/26", "5 nov 2026", "5 novembre 2026", "giovedì 5 novembre 2026", "1.234.567,5", "1.234", "EUR", "1.234,50\u00a0€", "other", "other"},
	{"it", "it-CH", "it-CH", "05.11.26", "", "5 novembre 2026", "giovedì, 5 novembre 2026", "1’234’567.5", "1’234", "CHF", "CHF\u00a01’234.50", "other", "other"},
	{"nl", "nl-NL", "nl-NL", "05-11-2026", "", "5 november 2026", "donderdag 5 november 2026", "1.234.567,5", "1.234", "EUR", "€\u00a01.234,50", "other", "other"},
	{"nl", "nl-BE", "nl-BE", "5/11/2026", "", "5 november 2026", "donderdag 5 november 2026", "1.234.567,5", "1.234", "EUR", "€\u00a01.234,50", "other", "other"},
	{"ar", "ar-EG", "ar-EG", "٥\u200f/١١\u200f/٢٠٢٦", "٠٥\u200f/١١\u200f/٢٠٢٦", "٥ نوفمبر ٢٠٢٦", "الخميس، ٥ نوفمبر ٢٠٢٦", "١٬٢٣٤٬٥٦٧٫٥", "١٬٢٣٤", "EGP", "١٬٢٣٤٫٥٠\u00a0ج.م.\u200f", "two", "few"},
	{"ar", "ar-SA", "ar-SA", "٥\u200f/١١\u200f/٢٠٢٦", "", "٥ نوفمبر ٢٠٢٦", "", "١٬٢٣٤٬٥٦٧٫٥", "١٬٢٣٤", "", "", "two", "few"},
	{"ar", "ar-MA", "ar-MA", "5\u200f/11\u200f/2026", "", "5 نونبر 2026", "الخميس، 5 نونبر 2026", "1.234.567,5", "1.234", "", "", "two", "few"}, // Maghreb: Latin digits, Moroccan month names
	{"ja", "ja-JP", "ja-JP", "2026/11/05", "2026/11/05", "2026年11月5日", "2026年11月5日木曜日", "1,234,567.5", "1,234", "JPY", "￥1,235", "other", "other"},
	{"ja", "de-CH", "ja", "2026/11/05", "2026/11/05", "2026年11月5日", "2026年11月5日木曜日", "1,234,567.5", "1,234", "CHF", "CHF\u00a01,234.50", "other", "other"}, // no ja-CH in CLDR
	{"zh-Hant", "zh-HK", "zh-Hant-HK", "5/11/2026", "", "2026年11月5日", "", "1,234,567.5", "1,234", "", "", "other", "other"},
	{"hi", "hi-IN", "hi-IN", "5/11/26", "", "5 नवंबर 2026", "गुरुवार, 5 नवंबर 2026", "12,34,567.5", "1,234", "INR", "₹1,234.50", "other", "other"},
	{"mr", "mr-IN", "mr-IN", "", "", "५ नोव्हेंबर, २०२६", "", "१२,३४,५६७.५", "१,२३४", "", "", "other", "other"}, // Devanagari digits
	{"fa", "fa-IR", "fa-IR", "", "", "", "", "۱٬۲۳۴٬۵۶۷٫۵", "۱٬۲۳۴", "", "", "other", "other"},                  // Persian digits
	{"sv", "sv-SE", "sv-SE", "2026-11-05", "5 nov. 2026", "5 november 2026", "torsdag 5 november 2026", "1\u00a0234\u00a0567,5", "1\u00a0234", "SEK", "1\u00a0234,50\u00a0kr", "other", "other"},
	{"ru", "ru-RU", "ru-RU", "05.11.2026", "", "5 ноября 2026 г.", "четверг, 5 ноября 2026 г.", "1\u00a0234\u00a0567,5", "1\u00a0234", "RUB", "1\u00a0234,50\u00a0₽", "few", "many"},
	{"pl", "pl-PL", "pl-PL", "", "", "5 listopada 2026", "czwartek, 5 listopada 2026", "1\u00a0234\u00a0567,5", "1234", "PLN", "1234,50\u00a0zł", "few", "many"},
	{"ko", "ko-KR", "ko-KR", "26. 11. 5.", "2026. 11. 5.", "2026년 11월 5일", "2026년 11월 5일 목요일", "1,234,567.5", "1,234", "KRW", "₩1,235", "other", "other"},
	{"id", "id-ID", "id-ID", "05/11/26", "5 Nov 2026", "5 November 2026", "Kamis, 05 November 2026", "1.234.567,5", "1.234", "IDR", "Rp\u00a01.235", "other", "other"},
	// The plural forms are the template's: pt-PT customers of a pt-BR
	// file, ru customers of an en file.
	{"en", "ru", "en", "", "", "", "", "", "", "", "", "other", "other"},
}

func TestRegionalFormats(t *testing.T) {
	when := time.Date(2026, 11, 5, 14, 5, 0, 0, time.UTC)
	for _, c := range regionalCases {
		t.Run(c.template+"+"+c.customer, func(t *testing.T) {
			f, err := NewFormatterFor(c.template, c.customer, time.UTC)
			if err != nil {
				t.Fatal(err)
			}
			if f.Locale() != c.formats {
				t.Errorf("Locale() = %q, want %q", f.Locale(), c.formats)
			}
			check := func(what, want string, got string, err error) {
				t.Helper()
				if want == "" {
					return
				}
				if err != nil {
					t.Errorf("%s: %v", what, err)
				} else if got != want {
					t.Errorf("%s = %q, want %q", what, got, want)
				}
			}
			for _, d := range []struct{ style, want string }{{"short", c.short}, {"medium", c.medium}, {"long", c.long}, {"full", c.full}} {
				got, err := f.Date(when, d.style)
				check("Date "+d.style, d.want, got, err)
			}
			got, err := f.Number("1234567.5")
			check("Number", c.number, got, err)
			got, err = f.Number(1234)
			check("Number(1234)", c.small, got, err)
			if c.cur != "" {
				got, err = f.Money("1234.5", c.cur)
				check("Money "+c.cur, c.money, got, err)
			}
			forms := []string{"one", "other", "two=two", "few=few", "many=many"}
			got, err = f.Plural(2, forms...)
			check("Plural(2)", c.plural2, got, err)
			got, err = f.Plural(5, forms...)
			check("Plural(5)", c.plural5, got, err)
		})
	}
}

// TestPluralFollowsTemplate: the plural category is the template's
// language's (pt: 0 is "one"; pt-PT alone would say "other"), while the
// number inside the form is written for the customer's region.
func TestPluralFollowsTemplate(t *testing.T) {
	f, err := NewFormatterFor("pt-BR", "pt-PT", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := f.Plural(0, "# item", "# itens"); got != "0 item" {
		t.Errorf("pt-BR template, pt-PT customer: Plural(0) = %q, want the pt form \"0 item\"", got)
	}
	if got, _ := f.Plural(12345, "# item", "# itens"); got != "12\u00a0345 itens" {
		t.Errorf("Plural(12345) = %q, want pt-PT's grouping \"12\u00a0345 itens\"", got)
	}
}

func TestFormattingLocale(t *testing.T) {
	tests := []struct{ template, customer, want string }{
		{"en", "de-CH", "en-CH"},
		{"en", "de_CH", "en-CH"}, // CRM spelling
		{"en", "", "en"},
		{"en", "not a locale!", "en"}, // unusable: the template's formats
		{"en", "de", "en"},            // no region: the template's
		{"en-GB", "fr", "en-GB"},      // the template's own region stays
		{"en-GB", "en-US", "en-US"},   // the customer's region wins
		{"pt-BR", "pt-AO", "pt-AO"},
		{"pt-BR", "en-PT", "pt-PT"},
		{"es", "es-MX", "es-MX"},
		{"es", "en-US", "es-US"},
		{"ja", "de-CH", "ja"},              // CLDR has no ja-CH: parent
		{"en", "ms-BR", "en"},              // CLDR has no en-BR
		{"zh-Hant", "zh-HK", "zh-Hant-HK"}, // the template's script
		{"zh-Hant", "en-TW", "zh-Hant-TW"}, // region of any language
		{"sr", "sr-Latn-RS", "sr-Latn-RS"}, // same language: the customer's script
		{"sr", "en-RS", "sr"},              // sr-RS is CLDR's sr; another language's script is not taken
		{"en", "en-u-rg-chzzzz", "en"},     // extensions are not regions
		{"x-klingon", "de-CH", "en"},       // no CLDR data at all: English
		{"ar", "ar-EG", "ar-EG"},
	}
	for _, tt := range tests {
		got, err := FormattingLocale(tt.template, tt.customer)
		if err != nil || got != tt.want {
			t.Errorf("FormattingLocale(%q, %q) = %q, %v; want %q", tt.template, tt.customer, got, err, tt.want)
		}
	}
	if _, err := FormattingLocale("xx-!!", "en"); err == nil || !strings.Contains(err.Error(), `unparseable locale "xx-!!"`) {
		t.Errorf("bad template locale: error = %v, want it named", err)
	}
}

// TestEveryCLDRLocale formats with every locale of the table: each one
// must give a date holding the day and year in its own digits and a number
// with all its digits, and no pattern token may leak into the output.
func TestEveryCLDRLocale(t *testing.T) {
	if n := len(Supported()); n < 700 {
		t.Fatalf("Supported() has %d locales; CLDR has over 700", n)
	}
	when := time.Date(2026, 11, 5, 14, 5, 0, 0, time.UTC)
	for _, name := range Supported() {
		f, err := NewFormatterFor(name, "", time.UTC)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if f.Locale() != name {
			t.Errorf("%s: formats as %s", name, f.Locale())
		}
		zero := f.d.cal.num.zero
		digits := func(s string) string { return string(localDigits([]byte(s), zero)) }
		for _, style := range []string{"short", "medium", "long", "full", "time"} {
			got, err := f.Date(when, style)
			if err != nil {
				t.Errorf("%s %s: %v", name, style, err)
				continue
			}
			if strings.ContainsFunc(got, func(r rune) bool { return r < ' ' }) {
				t.Errorf("%s %s = %q: a pattern token leaked", name, style, got)
			}
			if style != "time" && !strings.Contains(got, digits("5")) {
				t.Errorf("%s %s = %q: no day", name, style, got)
			}
			if style != "time" && style != "short" && !strings.Contains(got, digits("2026")) {
				t.Errorf("%s %s = %q: no year", name, style, got)
			}
		}
		n, _ := f.Number("1234567.5")
		var kept []rune
		for _, r := range n {
			if r >= zero && r <= zero+9 {
				kept = append(kept, r)
			}
		}
		if string(kept) != digits("12345675") {
			t.Errorf("%s Number = %q: digits lost", name, n)
		}
	}
}

func ExampleNewFormatterFor() {
	eta := "2026-11-05"
	for _, customer := range []string{"en-US", "en-GB", "de-CH", "en-IN"} {
		// One en.toml for everyone: the words are English, the formats the
		// customer's region's.
		f, _ := NewFormatterFor("en", customer, nil)
		date, _ := f.Date(eta, "long")
		short, _ := f.Date(eta, "short")
		n, _ := f.Number("1234567.5")
		fmt.Printf("%s → %s: %s, %s, %s\n", customer, f.Locale(), date, short, n)
	}
	// Output:
	// en-US → en-US: November 5, 2026, 11/5/26, 1,234,567.5
	// en-GB → en-GB: 5 November 2026, 05/11/2026, 1,234,567.5
	// de-CH → en-CH: 5 November 2026, 05.11.2026, 1’234’567.5
	// en-IN → en-IN: 5 November 2026, 05/11/26, 12,34,567.5
}
