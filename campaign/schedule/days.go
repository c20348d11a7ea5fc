package schedule

import (
	"fmt"
	"strings"
	"time"
)

// Days is a set of weekdays, one bit per time.Weekday (bit 0 = Sunday).
// The zero value means every day, so a campaign without a days setting sends
// on any day. A non-zero value with none of the seven bits set allows no day
// at all; Rules.Validate reports it.
type Days uint8

// everyDay has the seven weekday bits set.
const everyDay Days = 1<<7 - 1

var dayNames = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// ParseDays reads weekday names: "mon".."sun" or full names ("monday"), in
// any case. A nil list means every day (the setting is absent); an empty,
// non-nil list is an error, because `days = []` would otherwise silently
// mean either "never" or "always".
func ParseDays(days []string) (Days, error) {
	if days == nil {
		return 0, nil
	}
	if len(days) == 0 {
		return 0, fmt.Errorf("days is an empty list, so no day is allowed; list weekdays such as [\"mon\", \"tue\"], or remove days to send on any day")
	}
	var d Days
	for _, name := range days {
		w, ok := parseWeekday(name)
		if !ok {
			return 0, fmt.Errorf("unknown day %q; use mon, tue, wed, thu, fri, sat, sun (or full names such as \"monday\")", name)
		}
		d |= 1 << w
	}
	return d, nil
}

func parseWeekday(name string) (time.Weekday, bool) {
	n := strings.ToLower(strings.TrimSpace(name))
	for w := time.Sunday; w <= time.Saturday; w++ {
		if n == dayNames[w] || n == strings.ToLower(w.String()) {
			return w, true
		}
	}
	return 0, false
}

// Has reports whether weekday w is allowed.
func (d Days) Has(w time.Weekday) bool {
	return d == 0 || d&(1<<w) != 0
}

// String lists the allowed days Monday first, the way people write a week,
// in the form ParseDays reads; the zero value is "every day".
func (d Days) String() string {
	if d == 0 || d&everyDay == everyDay {
		return "every day"
	}
	if d&everyDay == 0 {
		return "no day"
	}
	var b strings.Builder
	for i := 1; i <= 7; i++ {
		w := time.Weekday(i % 7)
		if d&(1<<w) != 0 {
			if b.Len() > 0 {
				b.WriteByte(',')
			}
			b.WriteString(dayNames[w])
		}
	}
	return b.String()
}
