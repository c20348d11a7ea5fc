package replies

import (
	"strings"
	"testing"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		text string
		want Action
	}{
		// English carrier defaults, any case, surrounding whitespace.
		{"STOP", ActionStop},
		{"stop", ActionStop},
		{"  Stop \n", ActionStop},
		{"StopAll", ActionStop},
		{"unsubscribe", ActionStop},
		{"Cancel", ActionStop},
		{"end", ActionStop},
		{"QUIT", ActionStop},
		{"revoke", ActionStop},
		{"optout", ActionStop},
		{"opt-out", ActionStop},
		// Punctuation and emoji around the word do not hide it.
		{"STOP.", ActionStop},
		{"stop!!!", ActionStop},
		{"\"Stop\"", ActionStop},
		{"STOP 🛑", ActionStop},
		{"\u200bSTOP\ufeff", ActionStop},
		// Accents fold: French with and without the circumflex.
		{"ARRÊT", ActionStop},
		{"arret", ActionStop},
		{"Arrête", ActionStop},
		{"« Désabonner »", ActionStop},
		// Other Latin-script languages.
		{"berhenti", ActionStop},
		{"Berhenti.", ActionStop},
		{"UNREG", ActionStop},
		{"¡Basta!", ActionStop},
		{"cancella", ActionStop},
		{"Parar", ActionStop},
		{"sair", ActionStop},
		{"Cancelar", ActionStop},
		{"BAJA", ActionStop},
		{"¡Alto!", ActionStop},
		{"darme de  baja", ActionStop},
		{"Stopp", ActionStop},
		{"abmelden", ActionStop},
		{"Uitschrijven", ActionStop},
		{"Dur", ActionStop},
		{"İptal", ActionStop},
		{"iptal", ActionStop},
		{"Dừng", ActionStop},
		{"dung", ActionStop}, // typed without Vietnamese diacritics
		{"Rezygnuję", ActionStop},
		{"rezygnuje", ActionStop},
		{"wypisz", ActionStop},
		// Full-width Latin (Japanese and Chinese keyboards).
		{"ＳＴＯＰ", ActionStop},
		{"ｓｔｏｐ！", ActionStop},
		// CJK, with CJK punctuation around.
		{"停止", ActionStop},
		{"「停止」", ActionStop},
		{"停止。", ActionStop},
		{"配信停止", ActionStop},
		{"ｽﾄｯﾌﾟ", ActionStop}, // half-width katakana
		{"取消订阅", ActionStop},
		{"退订", ActionStop},
		{"td", ActionStop},
		{"중지", ActionStop},
		{"수신거부", ActionStop},
		// Arabic, with and without hamza; Thai; Hindi; Russian.
		{"إيقاف", ActionStop},
		{"ايقاف", ActionStop},
		{"الغاء", ActionStop},
		{"หยุด", ActionStop},
		{"रोकें", ActionStop},
		{"बंद करें।", ActionStop},
		{"Отписаться", ActionStop},
		{"стоп!", ActionStop},

		// Opt-in.
		{"START", ActionStart},
		{"unstop", ActionStart},
		{"Yes", ActionStart},
		{"yes!", ActionStart},
		{"Mulai", ActionStart},
		{"ＳＴＡＲＴ", ActionStart},

		// Help.
		{"HELP", ActionHelp},
		{"help?", ActionHelp},
		{"Info", ActionHelp},
		{"aide", ActionHelp},
		{"Bantuan", ActionHelp},
		{"Aiuto!", ActionHelp},
		{"¿Ayuda?", ActionHelp},
		{"ajuda", ActionHelp},
		{"Hilfe", ActionHelp},

		// Not keywords: more than the keyword, or a different word.
		{"STOP PLEASE", ActionNone},
		{"please stop", ActionNone},
		{"Stop sending me these", ActionNone},
		{"OPT OUT", ActionNone}, // Twilio does not accept it with a space either
		{"STOPS", ActionNone},
		{"yes please", ActionNone},
		{"Thanks, Tuesday works", ActionNone},
		{"停止してください", ActionNone},
		{"หยด", ActionNone}, // Thai vowel marks are part of the word, not accents
		{"Huy", ActionNone},
		{"", ActionNone},
		{"   ", ActionNone},
		{"!!!", ActionNone},
	}
	for _, tt := range tests {
		if got := Classify(tt.text); got != tt.want {
			t.Errorf("Classify(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

// Every keyword in the data lists must classify as its own action once
// written the way it is listed, so a typo or a collision between two lists
// cannot silently disable one.
func TestClassifyListedKeywords(t *testing.T) {
	for _, l := range []struct {
		words []string
		want  Action
	}{{stopWords, ActionStop}, {startWords, ActionStart}, {helpWords, ActionHelp}} {
		for _, w := range l.words {
			if got := Classify(w); got != l.want {
				t.Errorf("Classify(%q) = %q, want %q", w, got, l.want)
			}
		}
	}
}

// The ASCII fast path must fold exactly as the full path does: every
// listed keyword in several casings and surroundings, and texts that are
// not keywords, classify the same both ways.
func TestFoldASCIIMatchesFullFold(t *testing.T) {
	var texts []string
	for _, list := range [][]string{stopWords, startWords, helpWords} {
		for _, w := range list {
			texts = append(texts, w, strings.ToUpper(w), " "+w+"!\n", "\t¿"+w+"?", strings.ReplaceAll(w, " ", " \t\r\n "))
		}
	}
	texts = append(texts, "", "   ", "!!!", "Stop please", "STOP.", "s t o p", "Bisa diantar besok sore?",
		"[HELP]", "#unsubscribe#", "\x00STOP", "STOP\x7f", strings.Repeat("stop ", 20), "K", "START\v")
	for _, text := range texts {
		folded, ok := foldASCII(text)
		if !ok {
			continue // not ASCII: the full path handles it
		}
		want := foldKeyword(text)
		if len(want) > longestKeyword {
			if folded != nil {
				t.Errorf("foldASCII(%q) = %q, want nil (longer than any keyword)", text, folded)
			}
			continue
		}
		if string(folded) != want {
			t.Errorf("foldASCII(%q) = %q, full fold %q", text, folded, want)
		}
	}
}
