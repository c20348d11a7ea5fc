// Package locales chooses a template locale for each customer and formats
// dates, numbers, money and plurals the way that customer's language writes
// them.
//
// # Locale choice
//
// A Matcher runs golang.org/x/text/language's matcher over the template
// files of a campaign ("en", "pt-BR", "zh-Hant", ...). It takes a template at
// confidence High or better (see MinConfidence): pt-BR takes pt-BR.toml, else
// pt.toml; zh-HK takes zh-Hant; legacy "in" takes id; Malay (ms) takes
// Indonesian. Anything weaker, an empty locale or an unparseable one gets the
// campaign's default, and Match.Reason says which case applied.
//
// # Where the data comes from
//
// All of it is CLDR; nothing is hand-written beyond a few corrections, each
// commented where it is made.
//
//   - Numbers: separators, grouping sizes (Indian 12,34,567 included) and the
//     minus sign from golang.org/x/text, read once per locale; the digits are
//     then laid out by this package from the exact decimal text, so
//     "1234.50" is never routed through a float.
//   - Plural categories: golang.org/x/text/feature/plural.
//   - Currency symbols and digits: golang.org/x/text/currency.
//   - Month and day names, date patterns and where the currency symbol goes:
//     github.com/go-playground/locales, for the locales returned by
//     Supported. Any other tag borrows the closest of those (its base
//     language, or its script for Chinese) and otherwise English; numbers,
//     plurals and symbols still follow the tag itself.
//
// # Choices
//
//   - Digits are Latin (0-9) in every locale, Arabic included, although
//     CLDR's default for "ar" is Arabic-Indic (٠١٢). Dates from the calendar
//     data, order numbers and codes from the audience are Latin, and one
//     message should not mix two digit sets. Separators and the minus sign
//     are those CLDR gives Arabic with Latin digits (1,234.5).
//   - Where CLDR puts a no-break space (U+00A0, U+202F: "1 234,50 €") this
//     package writes a plain space, because a single no-break space forces an
//     SMS out of GSM-7 into UCS-2 and more than halves its length.
//   - Number keeps the fraction digits it is given ("2.50" stays 2.50) and
//     never rounds; Money always rounds to the currency's digits.
//   - Calendars are Gregorian everywhere (Thai included).
package locales
