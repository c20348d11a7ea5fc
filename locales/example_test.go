package locales_test

import (
	"fmt"
	"time"

	"herald/locales"
)

func ExampleMatcher_Match() {
	// The template files of a campaign: en.toml, id.toml, pt.toml, zh-Hant.toml.
	m, err := locales.NewMatcher([]string{"en", "id", "pt", "zh-Hant"}, "en")
	if err != nil {
		panic(err)
	}
	for _, customer := range []string{"id", "in", "pt_BR", "zh-HK", "ms", "de", ""} {
		r := m.Match(customer)
		fmt.Printf("%-6q %-8s %s\n", customer, r.Locale, r.Reason)
	}
	// Output:
	// "id"   id       exact match
	// "in"   id       in -> id (exact)
	// "pt_BR" pt       pt_BR -> pt (exact)
	// "zh-HK" zh-Hant  zh-HK -> zh-Hant (high)
	// "ms"   id       ms -> id (high)
	// "de"   en       no template for de, default en
	// ""     en       no locale, default en
}

func ExampleCanonical() {
	for _, s := range []string{"pt_BR", "in", "zh-hant-tw"} {
		c, _ := locales.Canonical(s)
		fmt.Println(c)
	}
	// Output:
	// pt-BR
	// id
	// zh-Hant-TW
}

func ExampleFormatter_Date() {
	jakarta, _ := time.LoadLocation("Asia/Jakarta")
	for _, l := range []string{"en", "it", "ja", "id"} {
		f, _ := locales.NewFormatter(l, jakarta)
		long, _ := f.Date("2026-11-23", "long")
		full, _ := f.Date("2026-11-23", "full")
		// An instant is shown in the formatter's zone: 03:00 next day in Jakarta.
		at, _ := f.Date("2026-11-23T20:00:00Z", "time")
		fmt.Printf("%s | %s | %s\n", long, full, at)
	}
	// Output:
	// November 23, 2026 | Monday, November 23, 2026 | 3:00 AM
	// 23 novembre 2026 | lunedì 23 novembre 2026 | 03:00
	// 2026年11月23日 | 2026年11月23日月曜日 | 3:00
	// 23 November 2026 | Senin, 23 November 2026 | 03.00
}

func ExampleFormatter_Number() {
	for _, l := range []string{"en", "id", "hi", "fr"} {
		f, _ := locales.NewFormatter(l, nil)
		a, _ := f.Number("1234567.5")
		b, _ := f.Number("2.50")          // fraction digits are kept as written
		fmt.Printf("%s %q %q\n", l, a, b) // %q shows CLDR's narrow no-break space
	}
	// Output:
	// en "1,234,567.5" "2.50"
	// id "1.234.567,5" "2,50"
	// hi "12,34,567.5" "2.50"
	// fr "1\u202f234\u202f567,5" "2,50"
}

func ExampleFormatter_Money() {
	en, _ := locales.NewFormatter("en", nil)
	it, _ := locales.NewFormatter("it", nil)
	id, _ := locales.NewFormatter("id", nil)
	ja, _ := locales.NewFormatter("ja", nil)
	for _, s := range []func() (string, error){
		func() (string, error) { return en.Money("1234.5", "EUR") },
		func() (string, error) { return it.Money("1234.5", "EUR") },
		func() (string, error) { return id.Money(1234567, "IDR") },
		func() (string, error) { return ja.Money(1234.5, "JPY") },
		func() (string, error) { return en.Money(5, "EUX") },
	} {
		s, err := s()
		fmt.Printf("%q %v\n", s, err) // %q shows CLDR's no-break spaces
	}
	// Output:
	// "€1,234.50" <nil>
	// "1.234,50\u00a0€" <nil>
	// "Rp\u00a01.234.567" <nil>
	// "￥1,235" <nil>
	// "" money: unknown currency "EUX" (want an ISO 4217 code such as EUR, USD or IDR)
}

func ExampleFormatter_Plural() {
	ru, _ := locales.NewFormatter("ru", nil)
	for _, n := range []int{1, 3, 5} {
		s, _ := ru.Plural(n, "# заказ", "# заказов", "few=# заказа", "many=# заказов")
		fmt.Println(s)
	}
	en, _ := locales.NewFormatter("en", nil)
	s, _ := en.Plural(1200, "# order", "# orders")
	fmt.Println(s)
	// Output:
	// 1 заказ
	// 3 заказа
	// 5 заказов
	// 1,200 orders
}
