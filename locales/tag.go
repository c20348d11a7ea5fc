package locales

import (
	"fmt"
	"strings"

	"golang.org/x/text/language"
)

// ParseTag parses a BCP 47 language tag as written in an audience or a
// template file name. It is case-insensitive, accepts '_' for '-' ("pt_BR",
// as exported by many CRMs) and maps deprecated codes to their successors
// ("in" -> id, "iw" -> he, "ji" -> yi), so the same customer is not matched
// differently depending on which system wrote the row.
func ParseTag(s string) (language.Tag, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return language.Und, fmt.Errorf("unparseable locale %q: empty (want a BCP 47 tag such as en, pt-BR or zh-Hant)", s)
	}
	tag, err := language.Parse(t)
	if err != nil {
		why := strings.TrimPrefix(err.Error(), "language: ")
		return language.Und, fmt.Errorf("unparseable locale %q: %s (want a BCP 47 tag such as en, pt-BR or zh-Hant)", s, why)
	}
	return tag, nil
}

// Canonical returns the canonical spelling of a locale: "pt_BR" -> "pt-BR",
// "in" -> "id", "zh-hant-tw" -> "zh-Hant-TW".
func Canonical(s string) (string, error) {
	tag, err := ParseTag(s)
	if err != nil {
		return "", err
	}
	return tag.String(), nil
}
