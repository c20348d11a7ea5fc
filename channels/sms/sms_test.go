package sms

import (
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"herald/channels"
)

// TestAlphabetLayout pins characters the standard puts in surprising places:
// a wrong table silently garbles Vonage type=text messages.
func TestAlphabetLayout(t *testing.T) {
	want := map[rune]byte{
		'@': 0x00, '£': 0x01, '$': 0x02, '¥': 0x03, 'Ç': 0x09, '\n': 0x0A, '\r': 0x0D,
		'Δ': 0x10, '_': 0x11, 'Ξ': 0x1A, 'Æ': 0x1C, 'É': 0x1F,
		' ': 0x20, '¤': 0x24, '0': 0x30, '?': 0x3F,
		'¡': 0x40, 'A': 0x41, 'Z': 0x5A, 'Ä': 0x5B, '§': 0x5F,
		'¿': 0x60, 'a': 0x61, 'z': 0x7A, 'ü': 0x7E, 'à': 0x7F,
	}
	for r, code := range want {
		if got, ok := gsmCode[r]; !ok || got != code {
			t.Errorf("%q: code %#02x (present %v), want %#02x", r, got, ok, code)
		}
	}
	if len(gsmCode) != 127 {
		t.Errorf("default alphabet has %d characters, want 127 (128 minus the escape)", len(gsmCode))
	}
	if IsGSM7("\x1b") {
		t.Error("a raw ESC must not count as a GSM-7 character")
	}
}

func TestIsGSM7(t *testing.T) {
	gsm := []string{
		"", "Hello, World!", "@£$¥èéùìòÇ\nØø\rÅå", "ΔΦΓΛΩΠΨΣΘΞÆæßÉ", "¤¡¿ÄÖÑÜ§äöñüà",
		"Price: 5€ [x] {y} ~z | a\\b ^", "form\ffeed", "Straight 'quotes' and \"double\"",
	}
	for _, s := range gsm {
		if !IsGSM7(s) {
			t.Errorf("IsGSM7(%q) = false, want true", s)
		}
	}
	// PROVIDERS.md §6 traps: each of these alone forces UCS-2.
	notGSM := []string{"ç", "`", "â", "ê", "‘", "’", "“", "”", "–", "…", "😀", "你好", "ğ", "\t", "\x00", "\xff"}
	for _, s := range notGSM {
		if IsGSM7("plain text " + s) {
			t.Errorf("IsGSM7(%q) = true, want false", s)
		}
	}
}

func TestSegments(t *testing.T) {
	a := func(n int) string { return strings.Repeat("a", n) }
	c := func(n int) string { return strings.Repeat("ç", n) }
	tests := []struct {
		name string
		text string
		want Count
	}{
		{"empty", "", Count{GSM7, 0, 0}},
		{"one char", "a", Count{GSM7, 1, 1}},
		{"160 GSM fits one", a(160), Count{GSM7, 160, 1}},
		{"161 GSM needs two", a(161), Count{GSM7, 161, 2}},
		{"306 GSM fills two parts", a(306), Count{GSM7, 306, 2}},
		{"307 GSM needs three", a(307), Count{GSM7, 307, 3}},
		{"euro counts two", "€", Count{GSM7, 2, 1}},
		{"every extension char counts two", "^{}\\[~]|€\f", Count{GSM7, 20, 1}},
		{"80 euros are 160 septets", strings.Repeat("€", 80), Count{GSM7, 160, 1}},
		{"159 + euro overflows", a(159) + "€", Count{GSM7, 161, 2}},
		// 306 septets would fit two parts, but the escape pair at 153/154
		// may not be split: part 1 holds 152.
		{"escape pair not split", a(152) + "€" + a(152), Count{GSM7, 306, 3}},
		{"escape pair fits exactly", a(151) + "€" + a(153), Count{GSM7, 306, 2}},
		{"Twilio: 152 GSM + 1 emoji", a(152) + "😀", Count{UCS2, 154, 3}},
		{"70 UCS-2 fits one", c(70), Count{UCS2, 70, 1}},
		{"71 UCS-2 needs two", c(71), Count{UCS2, 71, 2}},
		{"134 UCS-2 fills two", c(134), Count{UCS2, 134, 2}},
		{"35 emoji are 70 units", strings.Repeat("😀", 35), Count{UCS2, 70, 1}},
		{"36 emoji", strings.Repeat("😀", 36), Count{UCS2, 72, 2}},
		// 134 units would fit two parts, but the surrogate pair at 67/68
		// may not be split.
		{"surrogate pair not split", c(66) + "😀" + c(66), Count{UCS2, 134, 3}},
		{"one curly quote switches all", a(100) + "’", Count{UCS2, 101, 2}},
		{"backtick forces UCS-2", "`ls`", Count{UCS2, 4, 1}},
		{"extension chars cost 1 in UCS-2", "€ç", Count{UCS2, 2, 1}},
		{"Japanese", "ご注文の商品は発送されました", Count{UCS2, 14, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Segments(tt.text); got != tt.want {
				t.Errorf("Segments = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	msg := func(text string) channels.Message {
		return channels.Message{Channel: "sms", To: "+15552229999", Text: text}
	}
	ucs := strings.Repeat("a", 16) + "’" + strings.Repeat("a", 213) // 230 units, 4 parts

	got := Check("sms", msg(ucs), 3)
	want := `sms: 4 segments (UCS-2, 230 units; "’" at position 17 is not GSM-7) exceeds max_segments = 3`
	if len(got) != 1 || got[0].Severity != "error" || got[0].Message != want {
		t.Fatalf("Check = %+v\nwant one error %q", got, want)
	}

	got = Check("vsms", msg(strings.Repeat("Hi ", 200)), 3)
	want = `vsms: 4 segments (GSM-7, 600 septets) exceeds max_segments = 3`
	if len(got) != 1 || got[0].Message != want {
		t.Fatalf("Check = %+v\nwant %q", got, want)
	}

	// Position is counted in characters, not bytes: "é" before the emoji is
	// two bytes but one character.
	got = Check("sms", msg("é"+strings.Repeat("😀", 100)), 1)
	if len(got) != 1 || !strings.Contains(got[0].Message, `"😀" at position 2`) {
		t.Fatalf("Check = %+v, want the emoji at position 2", got)
	}

	for _, ok := range []struct {
		text string
		max  int
	}{{ucs, 4}, {ucs, 0}, {strings.Repeat("a", 160), 1}, {"Olá", 1}} {
		if p := Check("sms", msg(ok.text), ok.max); len(p) != 0 {
			t.Errorf("Check(%d chars, max %d) = %+v, want none", utf8.RuneCountInString(ok.text), ok.max, p)
		}
	}

	if p := Check("sms", msg(""), 3); len(p) != 1 || p[0].Severity != "error" || !strings.Contains(p[0].Message, "empty") {
		t.Errorf("empty text: %+v, want an error", p)
	}
}

// FuzzSegments checks invariants that hold for any text: no panic, a
// non-empty text is at least one segment, the unit count matches the
// encoding, and the segment count lies between the ideal packing and the
// worst case where every part loses one unit to an unsplittable pair.
func FuzzSegments(f *testing.F) {
	f.Add("Hello")
	f.Add(strings.Repeat("a", 152) + "😀")
	f.Add(strings.Repeat("€", 81))
	f.Fuzz(func(t *testing.T, text string) {
		c := Segments(text)
		if text == "" {
			if c != (Count{GSM7, 0, 0}) {
				t.Fatalf("empty: %+v", c)
			}
			return
		}
		if c.Segments < 1 {
			t.Fatalf("%q: %d segments", text, c.Segments)
		}
		if (c.Encoding == GSM7) != IsGSM7(text) {
			t.Fatalf("%q: encoding %s but IsGSM7 = %v", text, c.Encoding, IsGSM7(text))
		}
		single, part := ucsSingle, ucsPart
		if c.Encoding == GSM7 {
			single, part = gsmSingle, gsmPart
			want := 0
			for _, r := range text {
				if strings.ContainsRune("^{}\\[~]|€\f", r) {
					want += 2
				} else {
					want++
				}
			}
			if c.Units != want {
				t.Fatalf("%q: %d septets, want %d", text, c.Units, want)
			}
		} else if want := len(utf16.Encode([]rune(text))); c.Units != want {
			t.Fatalf("%q: %d UCS-2 units, want %d", text, c.Units, want)
		}
		if c.Units <= single {
			if c.Segments != 1 {
				t.Fatalf("%q: %d units in %d segments, want 1", text, c.Units, c.Segments)
			}
			return
		}
		lo, hi := ceilDiv(c.Units, part), ceilDiv(c.Units, part-1)
		if c.Segments < lo || c.Segments > hi {
			t.Fatalf("%q: %d units in %d segments, want %d..%d", text, c.Units, c.Segments, lo, hi)
		}
	})
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

func BenchmarkSegments(b *testing.B) {
	text := strings.Repeat("Your parcel A-17 is delayed; new date: 12 May. ", 4)
	for b.Loop() {
		Segments(text)
	}
}

// CLDR's no-break spaces in formatted money must not turn a GSM-7 SMS
// into UCS-2; a text that is UCS-2 anyway is left as written.
func TestNormalizeKeepsGSM7(t *testing.T) {
	for in, want := range map[string]string{
		"Total 129,90\u00a0€, arrives 5\u202fnov.": "Total 129,90 €, arrives 5 nov.",
		"plain text":                 "plain text",
		"Заказ 1\u00a0234,50\u00a0₽": "Заказ 1\u00a0234,50\u00a0₽",
		"ご注文 1\u00a0234":             "ご注文 1\u00a0234",
	} {
		got := Normalize(in)
		if got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
		if IsGSM7(want) && Segments(got).Encoding != GSM7 {
			t.Errorf("%q is still not GSM-7 after Normalize", in)
		}
	}
}
