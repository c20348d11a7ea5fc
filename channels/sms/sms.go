// Package sms knows what an SMS costs before it is sent: whether a text fits
// the GSM-7 alphabet or needs UCS-2, and how many segments (billed parts) it
// becomes. Both SMS backends (twilio, vonage) use it for their Checker, and
// vonage uses it to choose type=text or type=unicode.
//
// The rules follow 3GPP TS 23.038 with the default alphabet and its extension
// table only (national language shift tables are not assumed, as providers
// support them unevenly):
//
//   - GSM-7: a single message holds 160 septets; a concatenated one 153 per
//     segment (the User Data Header takes the rest). Extension characters
//     (^ { } \ [ ] ~ | € and form feed) cost 2 septets, and an escape pair is
//     never split across segments, so a segment may end up holding 152.
//   - UCS-2: one character outside GSM-7 switches the whole message to UCS-2:
//     70 UTF-16 units for a single message, 67 per concatenated segment. A
//     surrogate pair (emoji, most non-BMP characters) costs 2 units and is
//     never split.
package sms

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"herald/channels"
)

// Encoding is the SMS data coding a text needs.
type Encoding string

const (
	GSM7 Encoding = "GSM-7"
	UCS2 Encoding = "UCS-2"
)

// Segment sizes, in septets (GSM-7) or UTF-16 units (UCS-2).
const (
	gsmSingle  = 160
	gsmPart    = 153
	ucsSingle  = 70
	ucsPart    = 67
	escapeCost = 2
)

// Count is the size of a text as an SMS.
type Count struct {
	Encoding Encoding
	// Units is the length in septets for GSM-7 (extension characters count
	// 2) or in UTF-16 code units for UCS-2 (surrogate pairs count 2).
	Units int
	// Segments is the number of SMS parts the carrier bills; 0 for an
	// empty text.
	Segments int
}

// gsm7Rows is the GSM 03.38 default alphabet, one row of 16 code points per
// string, in code point order (0x00-0x7F). 0x1B is the escape to the
// extension table, not a character of its own.
var gsm7Rows = [8]string{
	"@£$¥èéùìòÇ\nØø\rÅå",  // 0x00
	"Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ", // 0x10
	" !\"#¤%&'()*+,-./",   // 0x20: '¤' is 0x24, '$' lives at 0x02
	"0123456789:;<=>?",    // 0x30
	"¡ABCDEFGHIJKLMNO",    // 0x40
	"PQRSTUVWXYZÄÖÑÜ§",    // 0x50
	"¿abcdefghijklmno",    // 0x60
	"pqrstuvwxyzäöñüà",    // 0x70
}

// gsm7Extension maps the characters reached through the escape 0x1B to their
// code in the extension table. Each costs 2 septets (escape + code).
var gsm7Extension = map[rune]byte{
	'\f': 0x0A,
	'^':  0x14,
	'{':  0x28,
	'}':  0x29,
	'\\': 0x2F,
	'[':  0x3C,
	'~':  0x3D,
	']':  0x3E,
	'|':  0x40,
	'€':  0x65,
}

// asciiCost holds the septet cost of every ASCII rune (0 = not GSM-7) so the
// common case needs no map lookup; gsmOther holds the non-ASCII ones.
var (
	asciiCost [utf8.RuneSelf]uint8
	gsmOther  = map[rune]uint8{}
	gsmCode   = map[rune]byte{} // the default-table code point, for tests
)

func init() {
	code := 0
	for _, row := range gsm7Rows {
		n := 0
		for _, r := range row {
			if r != 0x1B {
				setCost(r, 1)
				gsmCode[r] = byte(code)
			}
			code++
			n++
		}
		if n != 16 {
			panic("sms: GSM-7 table row of " + strconv.Itoa(n) + " code points")
		}
	}
	for r := range gsm7Extension {
		setCost(r, escapeCost)
	}
}

func setCost(r rune, c uint8) {
	if r < utf8.RuneSelf {
		asciiCost[r] = c
	} else {
		gsmOther[r] = c
	}
}

// septets returns the GSM-7 cost of r, or 0 when r is not in GSM-7.
func septets(r rune) int {
	if r < utf8.RuneSelf {
		return int(asciiCost[r])
	}
	return int(gsmOther[r])
}

// ucsUnits returns the UTF-16 length of r; invalid UTF-8 decodes to U+FFFD,
// one unit, as it would be sent.
func ucsUnits(r rune) int {
	if n := utf16.RuneLen(r); n > 0 {
		return n
	}
	return 1
}

// IsGSM7 reports whether every character of text is in the GSM-7 default
// alphabet or its extension table. The empty text is GSM-7.
func IsGSM7(text string) bool {
	_, _, found := firstNonGSM(text)
	return !found
}

// firstNonGSM returns the first character that is not GSM-7 and its 1-based
// position in characters (what an editor shows a translator).
func firstNonGSM(text string) (r rune, pos int, found bool) {
	for _, r := range text {
		pos++
		if septets(r) == 0 {
			return r, pos, true
		}
	}
	return 0, 0, false
}

// Segments counts text as an SMS: its encoding, its length in that
// encoding's units and the number of segments it is split into.
func Segments(text string) Count {
	if text == "" {
		return Count{Encoding: GSM7}
	}
	// One pass packs the text both ways; the GSM-7 packing is dropped at
	// the first character outside the alphabet.
	gsm, ucs := packer{part: gsmPart}, packer{part: ucsPart}
	isGSM := true
	for _, r := range text {
		if isGSM {
			if n := septets(r); n > 0 {
				gsm.add(n)
			} else {
				isGSM = false
			}
		}
		ucs.add(ucsUnits(r))
	}
	if isGSM {
		return gsm.count(GSM7, gsmSingle)
	}
	return ucs.count(UCS2, ucsSingle)
}

// packer fills segments greedily, as senders do: a character that does not
// fit whole into the current segment (an escape pair, a surrogate pair)
// starts the next one.
type packer struct {
	part, units, segs, used int
}

func (p *packer) add(n int) {
	p.units += n
	if p.used+n > p.part || p.segs == 0 {
		p.segs++
		p.used = 0
	}
	p.used += n
}

func (p *packer) count(enc Encoding, single int) Count {
	segs := p.segs
	if p.units <= single {
		segs = 1
	}
	return Count{Encoding: enc, Units: p.units, Segments: segs}
}

// Check reports the problems of m's text as an SMS on channel: an empty text
// (providers refuse it), and more segments than maxSegments when that is
// above 0. The message names the first character that is not GSM-7, since a
// single curly quote or emoji is usually what triples the cost.
func Check(channel string, m channels.Message, maxSegments int) []channels.Problem {
	if m.Text == "" {
		return []channels.Problem{{Severity: "error", Message: channel + ": empty SMS text"}}
	}
	c := Segments(m.Text)
	if maxSegments <= 0 || c.Segments <= maxSegments {
		return nil
	}
	var why string
	if c.Encoding == GSM7 {
		why = fmt.Sprintf("GSM-7, %d septets", c.Units)
	} else {
		r, pos, _ := firstNonGSM(m.Text)
		why = fmt.Sprintf("UCS-2, %d units; %s at position %d is not GSM-7", c.Units, strconv.Quote(string(r)), pos)
	}
	return []channels.Problem{{
		Severity: "error",
		Message:  fmt.Sprintf("%s: %d segments (%s) exceeds max_segments = %d", channel, c.Segments, why, maxSegments),
	}}
}

// spaces are the Unicode spaces CLDR puts in formatted numbers, money and
// dates (no-break, narrow no-break, thin, figure). None is in GSM-7.
var spaces = strings.NewReplacer("\u00a0", " ", "\u202f", " ", "\u2009", " ", "\u2007", " ")

// Normalize returns text with CLDR's no-break spaces made plain when that
// lets the text be sent as GSM-7: one such space in `129,90 €` would
// otherwise send the whole SMS as UCS-2, at 70 characters a segment instead
// of 160. A text that needs UCS-2 anyway keeps its spaces.
func Normalize(text string) string {
	if IsGSM7(text) {
		return text
	}
	if plain := spaces.Replace(text); IsGSM7(plain) {
		return plain
	}
	return text
}
