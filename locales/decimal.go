package locales

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// decimal is an exact decimal number kept as ASCII digit strings. Template
// values mostly arrive as CSV text ("1234.50"); keeping them as digits instead
// of float64 means an amount is never changed by binary rounding and the
// fraction digits the author wrote survive to the output.
type decimal struct {
	neg  bool
	ints string // integer digits, no leading zeros, "0" for zero
	frac string // fraction digits as written, may be empty
}

// maxExponent bounds "1e999999999"-style input, which would otherwise ask for
// a billion-digit string.
const maxExponent = 1000

var errNotNumber = errors.New("not a number")

// toDecimal converts a template value to a decimal. Strings are parsed;
// integers and floats are converted exactly (floats by their shortest
// round-trip representation, so 0.1 stays "0.1").
func toDecimal(v any) (decimal, error) {
	switch x := v.(type) {
	case string:
		return parseDecimal(x)
	case json.Number:
		return parseDecimal(string(x))
	case []byte:
		return parseDecimal(string(x))
	case int:
		return intDecimal(int64(x)), nil
	case int8:
		return intDecimal(int64(x)), nil
	case int16:
		return intDecimal(int64(x)), nil
	case int32:
		return intDecimal(int64(x)), nil
	case int64:
		return intDecimal(x), nil
	case uint:
		return uintDecimal(uint64(x)), nil
	case uint8:
		return uintDecimal(uint64(x)), nil
	case uint16:
		return uintDecimal(uint64(x)), nil
	case uint32:
		return uintDecimal(uint64(x)), nil
	case uint64:
		return uintDecimal(x), nil
	case float32:
		return floatDecimal(float64(x), 32)
	case float64:
		return floatDecimal(x, 64)
	}
	return decimal{}, errNotNumber
}

func intDecimal(n int64) decimal {
	if n < 0 {
		// Go through uint64 so math.MinInt64 does not overflow on negation.
		d := uintDecimal(uint64(-(n + 1)) + 1)
		d.neg = true
		return d
	}
	return uintDecimal(uint64(n))
}

func uintDecimal(n uint64) decimal {
	return decimal{ints: strconv.FormatUint(n, 10)}
}

func floatDecimal(f float64, bits int) (decimal, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return decimal{}, errNotNumber
	}
	return parseDecimal(strconv.FormatFloat(f, 'f', -1, bits))
}

// parseDecimal accepts an optional sign, digits with at most one '.', and an
// optional exponent ("1.5e3"). Grouping separators are refused: "1,234" means
// different numbers in different locales, so guessing would be wrong half the
// time.
func parseDecimal(s string) (decimal, error) {
	s = strings.TrimSpace(s)
	var d decimal
	if s != "" && (s[0] == '-' || s[0] == '+') {
		d.neg = s[0] == '-'
		s = s[1:]
	}
	mant, exp := s, 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant = s[:i]
		e, err := strconv.Atoi(s[i+1:])
		if err != nil || e > maxExponent || e < -maxExponent {
			return decimal{}, errNotNumber
		}
		exp = e
	}
	ints, frac, _ := strings.Cut(mant, ".")
	if ints == "" && frac == "" || !allDigits(ints) || !allDigits(frac) {
		return decimal{}, errNotNumber
	}
	// Shift the decimal point by the exponent, digit-exactly.
	if exp > 0 {
		if exp >= len(frac) {
			ints += frac + strings.Repeat("0", exp-len(frac))
			frac = ""
		} else {
			ints, frac = ints+frac[:exp], frac[exp:]
		}
	} else if exp < 0 {
		n := -exp
		if n > len(ints) {
			ints = strings.Repeat("0", n-len(ints)) + ints
		}
		ints, frac = ints[:len(ints)-n], ints[len(ints)-n:]+frac
	}
	ints = strings.TrimLeft(ints, "0")
	if ints == "" {
		ints = "0"
	}
	d.ints, d.frac = ints, frac
	if d.isZero() {
		d.neg = false // "-0" reads as a mistake in a customer message
	}
	return d, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func (d decimal) isZero() bool {
	return d.ints == "0" && strings.Trim(d.frac, "0") == ""
}

// round returns d with exactly scale fraction digits, rounding half away from
// zero (what people expect from a price: 2.345 -> 2.35).
func (d decimal) round(scale int) decimal {
	if len(d.frac) <= scale {
		d.frac += strings.Repeat("0", scale-len(d.frac))
		return d
	}
	up := d.frac[scale] >= '5'
	digits := []byte(d.ints + d.frac[:scale])
	if up {
		i := len(digits) - 1
		for ; i >= 0; i-- {
			if digits[i] == '9' {
				digits[i] = '0'
				continue
			}
			digits[i]++
			break
		}
		if i < 0 {
			digits = append([]byte{'1'}, digits...)
		}
	}
	n := len(digits) - scale
	d.ints = strings.TrimLeft(string(digits[:n]), "0")
	if d.ints == "" {
		d.ints = "0"
	}
	d.frac = string(digits[n:])
	if d.isZero() {
		d.neg = false
	}
	return d
}

// pluralOperands returns CLDR's i, v, w, f, t operands. Values too large for
// an int are reduced modulo 10,000,000 as x/text/feature/plural allows; a
// reduced integer part gets 10,000,000 added back so that "i = 0" and "i = 1"
// rules cannot fire for a huge number.
func (d decimal) pluralOperands() (i, v, w, f, t int) {
	i = operand(d.ints)
	if len(d.ints) > 7 {
		i += 10_000_000
	}
	v = len(d.frac)
	tr := strings.TrimRight(d.frac, "0")
	w = len(tr)
	f = operand(d.frac)
	t = operand(tr)
	return
}

// operand parses at most the last 7 digits of s.
func operand(s string) int {
	if len(s) > 7 {
		s = s[len(s)-7:]
	}
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

func (d decimal) String() string {
	s := d.ints
	if d.frac != "" {
		s += "." + d.frac
	}
	if d.neg {
		s = "-" + s
	}
	return s
}

// describe renders a bad template value for an error message: strings are
// quoted, anything else shows its Go type so "bool true" is not confused with
// the string "true".
func describe(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(x)
	case nil:
		return "nothing (nil)"
	}
	return fmt.Sprintf("%T %v", v, v)
}
