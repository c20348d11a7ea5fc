package schedule

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

const day = 24 * time.Hour

const durationForm = `e.g. "48h", "2d", "1d12h" or "90m"`

// ParseDuration reads a positive length of time: Go's units (h, m, s, ms,
// us, ns) plus d for days of 24 hours, combined as in "1d12h". A day here is
// elapsed time, not a calendar day: "2d" after a spring-forward is still 48
// real hours, which is what an expiry or a frequency limit means.
func ParseDuration(s string) (time.Duration, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return 0, fmt.Errorf("duration is empty; write one %s", durationForm)
	}
	if in[0] == '-' {
		return 0, fmt.Errorf("duration %q is negative; write a positive one, %s", s, durationForm)
	}
	in = strings.TrimPrefix(in, "+")
	if in == "0" {
		return 0, fmt.Errorf("duration %q is zero; write a positive one, %s", s, durationForm)
	}
	var total time.Duration
	for rest := in; rest != ""; {
		i := 0
		for i < len(rest) && isNumberByte(rest[i]) {
			i++
		}
		j := i
		for j < len(rest) && !isNumberByte(rest[j]) {
			j++
		}
		num, unit := rest[:i], rest[i:j]
		rest = rest[j:]
		if num == "" {
			return 0, fmt.Errorf("duration %q: expected a number before %q; write %s", s, unit, durationForm)
		}
		if unit == "" {
			return 0, fmt.Errorf("duration %q: %q has no unit; add one, %s", s, num, durationForm)
		}
		part, err := parsePart(num, unit)
		if err != nil {
			return 0, fmt.Errorf("duration %q: %v; write %s", s, err, durationForm)
		}
		if total > math.MaxInt64-part {
			return 0, fmt.Errorf("duration %q is too long; the limit is about 106751d", s)
		}
		total += part
	}
	if total <= 0 {
		return 0, fmt.Errorf("duration %q is zero; write a positive one, %s", s, durationForm)
	}
	return total, nil
}

func isNumberByte(c byte) bool { return c >= '0' && c <= '9' || c == '.' }

// parsePart converts one number-and-unit piece. Days are handed to
// time.ParseDuration as hours and multiplied, so fractions ("1.5d") get the
// standard library's exact decimal handling.
func parsePart(num, unit string) (time.Duration, error) {
	switch unit {
	case "d":
		h, err := time.ParseDuration(num + "h")
		if err != nil || h > math.MaxInt64/24 {
			return 0, fmt.Errorf("%q is not a usable number of days", num+unit)
		}
		return h * 24, nil
	case "h", "m", "s", "ms", "us", "µs", "μs", "ns":
		d, err := time.ParseDuration(num + unit)
		if err != nil {
			return 0, fmt.Errorf("%q is not a usable number of %s", num+unit, unit)
		}
		return d, nil
	}
	return 0, fmt.Errorf("unknown unit %q (units are d, h, m, s, ms, us, ns)", unit)
}

// FormatDuration writes d the way ParseDuration reads it, using days for
// whole multiples of 24 hours: 48h -> "2d", 36h -> "1d12h", 90m -> "1h30m".
func FormatDuration(d time.Duration) string {
	if d <= 0 {
		return d.String()
	}
	var b strings.Builder
	if n := d / day; n > 0 {
		b.WriteString(strconv.FormatInt(int64(n), 10))
		b.WriteByte('d')
		d -= n * day
	}
	if d == 0 {
		return b.String()
	}
	// What is left is under a day; time.Duration.String writes it with the
	// same units ParseDuration accepts, and the zero parts trimmed.
	rest := d.String()
	if d%time.Minute == 0 {
		rest = strings.TrimSuffix(rest, "0s")
	}
	if d%time.Hour == 0 {
		rest = strings.TrimSuffix(rest, "0m")
	}
	b.WriteString(rest)
	return b.String()
}

// Frequency is a per-recipient limit: at most Count messages in any Per.
type Frequency struct {
	Count int
	Per   time.Duration
}

// ParseFrequency reads "COUNT/DURATION", e.g. "1/24h" or "3/7d".
func ParseFrequency(s string) (Frequency, error) {
	const form = `write COUNT/DURATION, e.g. "1/24h" or "3/7d"`
	count, per, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Frequency{}, fmt.Errorf("frequency %q has no \"/\"; %s", s, form)
	}
	n, err := strconv.Atoi(strings.TrimSpace(count))
	if err != nil || n < 1 {
		return Frequency{}, fmt.Errorf("frequency %q: count %q is not a whole number of at least 1; %s", s, strings.TrimSpace(count), form)
	}
	d, err := ParseDuration(per)
	if err != nil {
		return Frequency{}, fmt.Errorf("frequency %q: %w", s, err)
	}
	return Frequency{Count: n, Per: d}, nil
}

// String writes the frequency the way ParseFrequency reads it.
func (f Frequency) String() string {
	return strconv.Itoa(f.Count) + "/" + FormatDuration(f.Per)
}
