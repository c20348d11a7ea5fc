package templates

import (
	"regexp"
	"strings"

	"golang.org/x/text/language"
)

// metaLanguages are the language codes Meta lists for WhatsApp templates.
// The list grows; a code missing here is a warning in Problems, not an error.
var metaLanguages = toSet(`af sq ar ar_AE ar_EG ar_LB ar_MA ar_QA az be_BY bn bn_IN bg ca
zh_CN zh_HK zh_TW hr cs da prs_AF nl nl_BE en en_GB en_US en_AE en_AU en_CA en_GH en_IE
et fil fi fr ka de el gu ha he hi hu id ga it ja kn kk rw_RW ko ky_KG lo lv lt mk ms ml mr
nb fa pl pt_BR pt_PT pa ro ru sr sk sl es es_AR es_ES es_MX sw sv ta te th tr uk ur uz vi zu`)

func toSet(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}

// MetaLanguage derives Meta's template language code from a template
// locale, for sections that do not set `language`:
//
//   - a region Meta lists for the language is kept: en-GB -> en_GB,
//     pt-PT -> pt_PT, es-MX -> es_MX;
//   - otherwise the bare language: it-IT -> it, id -> id;
//   - Chinese by region, then script: zh-HK -> zh_HK, zh-TW and zh-Hant ->
//     zh_TW, zh, zh-Hans and zh-CN -> zh_CN;
//   - Meta has no bare pt, rw or ky: pt -> pt_BR, rw -> rw_RW, ky -> ky_KG;
//   - aliases: tl -> fil, no -> nb, legacy in/iw -> id/he (language.Parse).
//
// The result must still match the approved translation at Meta exactly;
// set `language` in the section when it does not.
func MetaLanguage(locale string) string {
	tag, err := language.Parse(locale)
	if err != nil {
		return strings.ReplaceAll(locale, "-", "_")
	}
	base, _ := tag.Base()
	lang := base.String()
	// Only subtags written in the tag count: Region() would otherwise guess
	// US for "en" and turn every English file into en_US.
	region, rconf := tag.Region()
	script, sconf := tag.Script()
	hasRegion := rconf == language.Exact
	switch lang {
	case "zh":
		switch {
		case hasRegion && (region.String() == "HK" || region.String() == "MO"):
			return "zh_HK"
		case hasRegion && region.String() == "TW":
			return "zh_TW"
		case hasRegion:
			return "zh_CN"
		case sconf == language.Exact && script.String() == "Hant":
			return "zh_TW"
		}
		return "zh_CN"
	case "tl":
		lang = "fil"
	case "no":
		lang = "nb"
	}
	if hasRegion {
		if code := lang + "_" + region.String(); metaLanguages[code] {
			return code
		}
	}
	if metaLanguages[lang] {
		return lang
	}
	for _, code := range []string{"pt_BR", "rw_RW", "ky_KG"} {
		if strings.HasPrefix(code, lang+"_") {
			return code
		}
	}
	return lang
}

var (
	metaLanguageRE = regexp.MustCompile(`^[a-z]{2,3}(_[A-Z]{2})?$`)
	templateNameRE = regexp.MustCompile(`^[a-z0-9_]{1,512}$`)
)

// checkMetaLanguage returns an error message and a warning message (at most
// one set) about a `language` value.
func checkMetaLanguage(code string) (errMsg, warnMsg string) {
	if metaLanguageRE.MatchString(code) {
		if !metaLanguages[code] {
			msg := "is not among the WhatsApp template languages herald knows; make sure it is the exact code of the approved translation"
			if alt := MetaLanguage(code); alt != code && metaLanguages[alt] {
				msg += " (Meta lists " + quote(alt) + ")"
			}
			return "", msg
		}
		return "", ""
	}
	hint := ""
	if tag, err := language.Parse(code); err == nil {
		hint = "; write " + quote(MetaLanguage(tag.String()))
	}
	return "is not in Meta's form: a lower-case language, optionally _ and an upper-case region, as in pt_BR or id" + hint, ""
}

func quote(s string) string { return `"` + s + `"` }
