package schedule

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Start is when a campaign begins: either a wall time applied in each
// recipient's own zone ("10:00 wherever you are") or one absolute instant.
// The zero Start is the absolute zero instant; build one with ParseStart,
// WallClock or At.
type Start struct {
	wall bool
	at   time.Time // the instant, when !wall
	// The wall clock, when wall. Kept as fields rather than a time.Time so
	// no zone is implied until a recipient's zone is given.
	year                int
	month               time.Month
	day, hour, min, sec int
}

// WallClock is a start at the given local wall time in every recipient's
// zone.
func WallClock(year int, month time.Month, day, hour, min, sec int) Start {
	return Start{wall: true, year: year, month: month, day: day, hour: hour, min: min, sec: sec}
}

// At is a start at one instant for everyone, e.g. the --now of a run.
func At(t time.Time) Start { return Start{at: t} }

const startForm = `write 2026-11-23T10:00 for 10:00 in each recipient's own zone, or add Z or an offset (2026-11-23T10:00:00Z, 2026-11-23T10:00+07:00) for one instant for everyone`

// ParseStart reads a start. Without an offset ("2026-11-23T10:00", seconds
// optional) it is wall time in each recipient's zone; with Z or an offset
// ("2026-11-23T10:00:00Z", "2026-11-23T10:00+07:00") it is one instant.
func ParseStart(s string) (Start, error) {
	in := strings.TrimSpace(s)
	var firstErr error
	for _, layout := range [...]string{"2006-01-02T15:04", "2006-01-02T15:04:05"} {
		t, err := time.Parse(layout, in)
		if err == nil {
			return WallClock(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second()), nil
		}
		firstErr = keepRangeError(firstErr, err)
	}
	// RFC 3339 also accepts fractional seconds.
	for _, layout := range [...]string{"2006-01-02T15:04Z07:00", time.RFC3339} {
		t, err := time.Parse(layout, in)
		if err == nil {
			return At(t), nil
		}
		firstErr = keepRangeError(firstErr, err)
	}
	if firstErr != nil {
		return Start{}, fmt.Errorf("start %q: %v; %s", s, firstErr, startForm)
	}
	return Start{}, fmt.Errorf("start %q is not a date and time; %s", s, startForm)
}

// keepRangeError remembers the first error that says which field is wrong
// ("month out of range"): that one names the mistake, whereas layout
// mismatches only say that some other layout did not fit.
func keepRangeError(kept, err error) error {
	if kept != nil {
		return kept
	}
	var pe *time.ParseError
	if errors.As(err, &pe) && pe.Message != "" {
		return errors.New(strings.TrimPrefix(pe.Message, ": "))
	}
	return nil
}

// IsAbsolute reports whether the start is one instant for everyone.
func (s Start) IsAbsolute() bool { return !s.wall }

// IsZero reports whether s is the zero Start, i.e. was never set.
func (s Start) IsZero() bool { return !s.wall && s.at.IsZero() }

// In gives the start as an instant for a recipient in zone, shown in zone.
// A wall start is resolved with LocalTime's rules for DST gaps and overlaps.
// A nil zone means UTC.
func (s Start) In(zone *time.Location) time.Time {
	if zone == nil {
		zone = time.UTC
	}
	if s.wall {
		return LocalTime(s.year, s.month, s.day, s.hour, s.min, s.sec, zone)
	}
	return s.at.In(zone)
}

// String writes the start the way ParseStart reads it.
func (s Start) String() string {
	if s.wall {
		return fmt.Sprintf("%04d-%02d-%02dT%02d:%02d:%02d", s.year, int(s.month), s.day, s.hour, s.min, s.sec)
	}
	return s.at.Format(time.RFC3339Nano)
}

// maxOffset bounds how far any zone's wall clock has ever been from UTC
// (today's extremes are -12 and +14 hours; local mean times before
// standard time reach about ±16). The instant for a wall time lies within
// this of the wall time read as UTC.
const maxOffset = 26 * 60 * 60

// LocalTime resolves a wall time in zone to an instant, shown in zone.
//
// A wall time that does not exist, because the clocks sprang forward over
// it, moves forward by the length of the gap: 02:30 in a one-hour gap becomes
// 03:30 at the new offset, 02:10 in Lord Howe's 30-minute gap becomes 02:40.
// A wall time that happens twice, because the clocks fell back, takes the
// first occurrence (the earlier instant, still at the summer offset).
//
// time.Date leaves both choices unspecified, so this walks the zone's
// offset periods itself: a wall time w exists in a period with offset o
// exactly when w-o falls inside that period. Out-of-range fields are
// normalised as time.Date does (February 30 is March 2). A nil zone means
// UTC.
func LocalTime(year int, month time.Month, day, hour, min, sec int, zone *time.Location) time.Time {
	if zone == nil {
		zone = time.UTC
	}
	wall := time.Date(year, month, day, hour, min, sec, 0, time.UTC).Unix()
	// The earliest period that could hold the answer; walking forward from
	// it, the first period that holds the wall time holds its first
	// occurrence.
	t := time.Unix(wall-maxOffset, 0).In(zone)
	for {
		_, off := t.Zone()
		_, end := t.ZoneBounds()
		// at is never before this period's start: the first period
		// contains wall-maxOffset, and a later one is entered only when
		// the check below found the wall time is not in a gap before it.
		at := wall - int64(off)
		if end.IsZero() || at < end.Unix() {
			return time.Unix(at, 0).In(zone)
		}
		// The wall time, read with this period's offset, lands after the
		// period ends. If reading it with the next period's offset lands
		// before that period starts, it lies in the gap between them: keep
		// this period's reading, which shown at the new offset is the wall
		// time moved forward by the gap.
		_, next := end.Zone()
		if wall-int64(next) < end.Unix() {
			return time.Unix(at, 0).In(zone)
		}
		t = end
	}
}
