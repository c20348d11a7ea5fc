package replies

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
	"golang.org/x/text/width"
)

// Action is what an inbound message asks herald to do.
type Action string

const (
	ActionNone  Action = ""      // an ordinary reply
	ActionStop  Action = "stop"  // opt out: suppress the sender on that channel
	ActionStart Action = "start" // opt back in: lift the suppression
	ActionHelp  Action = "help"  // asks for help; logged, nothing changes
	ActionAuto  Action = "auto"  // an automatic e-mail reply (RFC 3834): logged, never a keyword
)

// stopWords are the opt-out keywords. Only the English ones are provider
// behaviour (Twilio and carrier defaults, PROVIDERS.md §10); the others are
// herald's product choice for the languages it ships, so that a customer who
// answers in their own language is honoured as well. A keyword only counts
// when it is the whole message, which is what keeps short common words here
// from firing inside ordinary replies.
var stopWords = []string{
	// en: Twilio/US carrier defaults, REVOKE and OPTOUT since 2025 (FCC
	// revocation rule); OPT-OUT, REMOVE and TD from AWS End User Messaging.
	"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE",
	"OPTOUT", "OPT-OUT", "REMOVE",
	// fr: CWTA requires ARRET next to STOP in Canada; Twilio also treats
	// ARRETE/ARRETT as opt-out. Accents fold away, so ARRÊT matches too.
	"ARRET", "ARRETE", "ARRETT", "ARRETER", "DESABONNER", "DESINSCRIRE",
	// id, ms: UNREG is the usual opt-out reply for Indonesian SMS services.
	"BERHENTI", "HENTI", "UNREG",
	// it
	"BASTA", "CANCELLA", "DISISCRIVI",
	// es
	"PARAR", "CANCELAR", "BAJA", "ALTO", "DETENER", "DARME DE BAJA",
	// pt (PARAR and CANCELAR are shared with es)
	"SAIR", "DESCADASTRAR",
	// de
	"STOPP", "ABMELDEN", "ABBESTELLEN",
	// nl
	"AFMELDEN", "UITSCHRIJVEN",
	// ja: 停止 (stop), 配信停止 (stop delivery), 配信解除 (cancel delivery)
	"停止", "配信停止", "配信解除", "ストップ",
	// zh: 取消订阅/取消訂閱 (unsubscribe); 退订/退訂 and TD ("回复TD退订") are
	// the customary opt-out replies to Chinese SMS.
	"取消订阅", "取消訂閱", "退订", "退訂", "TD",
	// ar: إيقاف (stop), توقف (stop), إلغاء (cancel); hamza and harakat fold
	// away, so the unvowelled spellings people type match as well.
	"إيقاف", "توقف", "إلغاء",
	// ko: 중지 (stop), 수신거부 (refuse to receive: the standard Korean reply)
	"중지", "수신거부",
	// hi: रोकें (stop), बंद करें (turn off)
	"रोकें", "बंद करें",
	// th: หยุด (stop), ยกเลิก (cancel)
	"หยุด", "ยกเลิก",
	// vi: DỪNG (stop), HỦY ĐĂNG KÝ (unsubscribe). Bare HỦY is left out: once
	// accents fold away it is also a common given name (Huy).
	"DỪNG", "HỦY ĐĂNG KÝ",
	// tr: DUR (stop), İPTAL (cancel)
	"DUR", "İPTAL",
	// ru: ОТПИСАТЬСЯ (unsubscribe), СТОП (stop), ОТПИСКА (unsubscription)
	"ОТПИСАТЬСЯ", "СТОП", "ОТПИСКА",
	// pl: WYPISZ (unsubscribe me), REZYGNUJĘ (I resign), ANULUJ (cancel)
	"WYPISZ", "REZYGNUJĘ", "ANULUJ",
}

// startWords are the opt-in keywords. YES is a Twilio default: Twilio
// re-subscribes a number that texts YES whatever herald decides, so herald
// follows it to keep its suppression list in step with the carrier. The risk
// is that "Yes" answering an ordinary question lifts an earlier opt-out; a
// customer who opted out receives nothing to answer, so in practice the YES
// comes from someone writing to the business on their own.
var startWords = []string{
	// en: Twilio defaults
	"START", "UNSTOP", "YES",
	// id, ms
	"MULAI",
}

// helpWords are the help keywords: Twilio's defaults, AIDE which CWTA
// requires in Canada, and the word for "help" in the other languages.
var helpWords = []string{
	"HELP", "INFO", // en
	"AIDE",    // fr
	"BANTUAN", // id, ms
	"AIUTO",   // it
	"AYUDA",   // es
	"AJUDA",   // pt
	"HILFE",   // de
}

// keywords maps each folded keyword to its action; built once from the lists
// above so the lists stay readable data.
var keywords = func() map[string]Action {
	m := make(map[string]Action)
	for _, l := range []struct {
		words []string
		act   Action
	}{{stopWords, ActionStop}, {startWords, ActionStart}, {helpWords, ActionHelp}} {
		for _, w := range l.words {
			k := foldKeyword(w)
			if prev, dup := m[k]; dup && prev != l.act {
				panic("replies: keyword " + w + " has two actions")
			}
			m[k] = l.act
		}
	}
	return m
}()

// Classify returns the action a message asks for: the whole message, once
// trimmed of surrounding whitespace and punctuation ("STOP.", "¡Basta!",
// "「停止」"), must be one keyword; matching ignores case, accents and
// full-width forms. "STOP PLEASE" is not a keyword, as with the carriers.
func Classify(text string) Action {
	if folded, ok := foldASCII(text); ok {
		return keywords[string(folded)]
	}
	return keywords[foldKeyword(text)]
}

// longestKeyword is the byte length of the longest folded keyword.
var longestKeyword = func() int {
	n := 0
	for k := range keywords {
		n = max(n, len(k))
	}
	return n
}()

// foldASCII is foldKeyword for the common all-ASCII message, without its
// allocations: for ASCII, width folding, NFKD, accent stripping and NFC
// change nothing and case folding is lower-casing. A text that folds to
// more than the longest keyword's bytes cannot be one and stops early
// (folded is then nil, which matches no keyword). ok is false for
// non-ASCII text, which takes the full path.
func foldASCII(text string) (folded []byte, ok bool) {
	for i := 0; i < len(text); i++ {
		if text[i] >= utf8.RuneSelf {
			return nil, false
		}
	}
	text = strings.TrimFunc(text, isEdgeNoise)
	var buf [64]byte
	out := buf[:0]
	space := false
	for i := 0; i < len(text); i++ {
		c := text[i]
		if unicode.IsSpace(rune(c)) {
			space = true
			continue
		}
		if space && len(out) > 0 {
			out = append(out, ' ')
		}
		space = false
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		out = append(out, c)
		if len(out) > longestKeyword {
			return nil, true
		}
	}
	return out, true
}

// foldKeyword reduces text to the form keywords are compared in.
func foldKeyword(s string) string {
	s = strings.TrimFunc(s, isEdgeNoise)
	s = strings.Join(strings.Fields(s), " ") // "DARME  DE\nBAJA" -> "DARME DE BAJA"
	s = width.Fold.String(s)                 // ＳＴＯＰ -> STOP, half-width katakana -> full-width
	s = norm.NFKD.String(s)
	s = stripAccents(s)
	s = cases.Fold().String(s)
	// Recompose what stripAccents kept (Hangul jamo, kana voicing marks,
	// Thai and Devanagari vowel signs) so both sides compare in one form.
	return norm.NFC.String(s)
}

// isEdgeNoise reports runes that may surround a keyword without changing it:
// spaces, punctuation (. ! ¡ ¿ 「 」 « »), symbols and emoji, invisible
// format characters (zero-width space, BOM) and emoji variation selectors.
func isEdgeNoise(r rune) bool {
	return unicode.IsSpace(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) ||
		unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Variation_Selector, r)
}

// stripAccents drops combining marks (Mn) that sit on Latin, Greek, Cyrillic
// or Arabic letters, where they are accents people often leave out (ARRÊT,
// REZYGNUJĘ, й, إ). In Thai, Devanagari and similar scripts the Mn marks are
// vowels that are part of the word (หยุด without its ุ is another word), so
// they are kept.
func stripAccents(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	var base rune
	for _, r := range s {
		if unicode.Is(unicode.Mn, r) {
			if accentable(base) {
				continue
			}
		} else {
			base = r
		}
		b.WriteRune(r)
	}
	return b.String()
}

func accentable(r rune) bool {
	return unicode.In(r, unicode.Latin, unicode.Greek, unicode.Cyrillic, unicode.Arabic)
}
