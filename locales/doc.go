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
// # Formats follow the customer
//
// The template file supplies the words and the language; the customer's
// locale supplies the region (and, for the same language, the script). The
// formatting locale is the template's language with the customer's region,
// resolved through CLDR's parent chain to the nearest locale CLDR has (see
// FormattingTag and FormattingLocale): en.toml read by a de-CH customer
// formats as en-CH (05.11.2026, 1’234’567.5), by an en-GB one as en-GB
// (05/11/2026, 5 November 2026), by an en-IN one as en-IN (12,34,567.5);
// es.toml read in Mexico as es-MX (1,234,567.5); pt-BR.toml read in Portugal
// as pt-PT. A customer with no usable locale, or no region, gets the
// template locale's formats. Plural categories stay with the template's
// language, in which the forms are written.
//
// # Where the data comes from
//
// All of it is CLDR.
//
//   - Dates, numbers, digits and where the currency symbol goes: every
//     locale of github.com/go-playground/locales (762 of them), compacted
//     by `go generate` (internal/cldrgen) into cldr_table.go. go-playground
//     ignores CLDR's parent locales and some of its values are out of date
//     or broken (compact "¤0 k" currency patterns, lost day periods,
//     Latin digits for ar-EG); the generator inherits from the right parent
//     and applies commented corrections, so these are fixed rather than
//     passed through.
//   - Plural categories: golang.org/x/text/feature/plural.
//   - Currency symbols: golang.org/x/text/currency. Checked against
//     go-playground for every regional locale's own currency: where x/text
//     writes the ISO code (CHF, RON, RSD, ...) go-playground has no symbol
//     either, as in CLDR; th's ฿ for THB, which x/text lacks, is added.
//
// # Size: a generated table, not the per-locale packages
//
// Measured on this project (go build -o /tmp/h ./cmd/herald; ls -l /tmp/h;
// /usr/bin/time -v /tmp/h version):
//
//	                                        binary bytes  `herald version` max RSS
//	before (22 go-playground packages)      26,467,281    20.0–20.9 MB
//	all 762 go-playground packages linked   55,053,848    23.3–24.2 MB
//	generated table (chosen)                25,530,270    19.5–21.0 MB
//
// (RSS over 5 runs each; the ~20 MB floor is the rest of herald.)
//
// The table holds 308 distinct records for 762 locales as static strings:
// nothing is decoded at start-up, and a locale's record is decoded on its
// first use (sync.Once per record). Linking the packages would double the
// binary and still leave go-playground's errors in.
//
// # Choices
//
//   - Digits are CLDR's default for the formatting locale: Arabic-Indic
//     (٠١٢) for ar and ar-EG, Latin for ar-MA, Devanagari for mr, Persian
//     for fa; dates use them too. Order numbers and codes from the audience
//     stay as written.
//   - Spaces are CLDR's: no-break space (U+00A0) and narrow no-break space
//     (U+202F, fr) in numbers and between amount and currency symbol, so a
//     number never breaks across lines. In an SMS such a character is not
//     GSM-7.
//   - Number keeps the fraction digits it is given ("2.50" stays 2.50) and
//     never rounds; Money always rounds to the currency's digits.
//   - Calendars are Gregorian everywhere (Thai and Persian included).
package locales
