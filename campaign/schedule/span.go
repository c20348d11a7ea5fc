package schedule

import (
	"fmt"
	"strings"
)

// minutesPerDay is the length of a wall-clock day. A DST day is 23 or 25
// hours of real time, but its wall clock still runs 00:00 to 24:00; spans are
// wall-clock stretches, so they always measure against this.
const minutesPerDay = 24 * 60

// spanForm is appended to every span error so the user sees a fix, not just
// a complaint.
const spanForm = `write HH:MM-HH:MM, e.g. "09:00-20:00", or "21:00-08:00" to wrap past midnight`

// Span is a daily stretch of local wall-clock time, in minutes after local
// midnight. It is half-open, [From, To). When To < From the span wraps past
// midnight: 21:00-08:00 covers the late evening and the early morning.
// To may be 1440 ("24:00") to run to the end of the day. From == To is not a
// span: it would be ambiguous between "never" and "always".
type Span struct{ From, To int }

// ParseSpan reads "HH:MM-HH:MM" (hours may have one digit: "9:00-17:30").
// "24:00" is accepted only as the end, meaning the end of the day.
func ParseSpan(s string) (Span, error) {
	from, to, ok := strings.Cut(s, "-")
	if !ok {
		return Span{}, fmt.Errorf("time span %q: no \"-\" between start and end; %s", s, spanForm)
	}
	f, err := parseClock(strings.TrimSpace(from), false)
	if err != nil {
		return Span{}, fmt.Errorf("time span %q: start %v; %s", s, err, spanForm)
	}
	t, err := parseClock(strings.TrimSpace(to), true)
	if err != nil {
		return Span{}, fmt.Errorf("time span %q: end %v; %s", s, err, spanForm)
	}
	if f == t {
		return Span{}, fmt.Errorf("time span %q is an empty span: start and end are the same; use \"00:00-24:00\" for the whole day", s)
	}
	return Span{From: f, To: t}, nil
}

// parseClock reads H:MM or HH:MM and returns minutes after midnight. The
// error text completes the sentence "start ..." or "end ...".
func parseClock(s string, end bool) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) < 1 || len(h) > 2 || len(m) != 2 || !allDigits(h) || !allDigits(m) {
		return 0, fmt.Errorf("%q is not a time of day", s)
	}
	hour := atoi(h)
	minute := atoi(m)
	if minute > 59 {
		return 0, fmt.Errorf("%q has minute %d, which is over 59", s, minute)
	}
	if hour == 24 && minute == 0 {
		if !end {
			return 0, fmt.Errorf("%q can only end a span; start at \"00:00\" instead", s)
		}
		return minutesPerDay, nil
	}
	if hour > 23 {
		return 0, fmt.Errorf("%q has hour %d, which is over 23", s, hour)
	}
	return hour*60 + minute, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// atoi converts a string already checked by allDigits and at most two
// characters long, so it cannot overflow.
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// Contains reports whether the span covers minute, counted from local
// midnight (0 to 1439). Minutes outside a day are never covered.
func (s Span) Contains(minute int) bool {
	if minute < 0 || minute >= minutesPerDay {
		return false
	}
	if s.From < s.To {
		return s.From <= minute && minute < s.To
	}
	return minute >= s.From || minute < s.To
}

// String gives the span in the form ParseSpan reads, so it round-trips.
func (s Span) String() string {
	return fmt.Sprintf("%02d:%02d-%02d:%02d", s.From/60, s.From%60, s.To/60, s.To%60)
}

// check reports a Span built by hand rather than by ParseSpan that no
// parsed span could be.
func (s Span) check() error {
	if s.From < 0 || s.From >= minutesPerDay || s.To < 0 || s.To > minutesPerDay {
		return fmt.Errorf("time span {From: %d, To: %d} is out of range: From must be 0-1439 and To 0-1440 minutes after midnight", s.From, s.To)
	}
	if s.From == s.To {
		return fmt.Errorf("time span %s is an empty span: start and end are the same", s)
	}
	return nil
}

// interval is a non-wrapping piece of a day, [from, to) in minutes.
type interval struct{ from, to int }

// pieces splits the span into at most two non-wrapping intervals, sorted by
// start, so intersections need no special case for midnight.
func (s Span) pieces() (p [2]interval, n int) {
	if s.From < s.To {
		p[0] = interval{s.From, s.To}
		return p, 1
	}
	if s.To == 0 {
		p[0] = interval{s.From, minutesPerDay}
		return p, 1
	}
	p[0] = interval{0, s.To}
	p[1] = interval{s.From, minutesPerDay}
	return p, 2
}

// outside gives the minutes the span does not cover, as sorted intervals.
func (s Span) outside() (p [2]interval, n int) {
	if s.From < s.To {
		if s.From > 0 {
			p[n] = interval{0, s.From}
			n++
		}
		if s.To < minutesPerDay {
			p[n] = interval{s.To, minutesPerDay}
			n++
		}
		return p, n
	}
	p[0] = interval{s.To, s.From}
	return p, 1
}
