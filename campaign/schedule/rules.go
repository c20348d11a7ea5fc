package schedule

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// ErrNoOpening is wrapped by errors about rules under which nothing can
// ever be sent, so callers can tell a schedule that never opens from other
// failures with errors.Is.
var ErrNoOpening = errors.New("schedule never opens")

// Rules is a campaign's schedule together with herald.toml's quiet hours.
type Rules struct {
	Start  Start
	Window *Span // nil = any time of day
	Days   Days  // zero = every day
	Quiet  *Span // quiet_hours: never send inside them, whatever the window says
	// Expire is how long after the start (in the recipient's zone) a send
	// is still worth making; 0 = never expires.
	Expire time.Duration
}

// Validate reports rules that are malformed or can never open, for any
// zone: a window entirely inside quiet hours, quiet hours covering the
// whole day, or days that allow no weekday. It needs no zone, so `herald
// check` can report a broken schedule once rather than once per recipient;
// SendTime repeats the same test.
func (r Rules) Validate() error {
	_, err := r.openings()
	return err
}

// SendTime returns the first instant at or after the start (taken in zone)
// that is inside the window, on an allowed day and outside quiet hours, all
// judged on the wall clock in zone, and shown in zone. expired is true when
// that instant is later than the start plus Expire. err is non-nil, and
// wraps ErrNoOpening when that is the cause, only for rules that Validate
// rejects. A nil zone means UTC.
//
// The search walks the zone's offset periods: inside one period the wall
// clock is the instant plus a fixed offset, so the next opening is plain
// arithmetic on wall-clock seconds. A window inside a spring-forward gap
// therefore opens at the first minute that exists, and a window inside the
// hour repeated at fall back opens again in the repeat.
func (r Rules) SendTime(zone *time.Location) (at time.Time, expired bool, err error) {
	if zone == nil {
		zone = time.UTC
	}
	open, err := r.openings()
	if err != nil {
		return time.Time{}, false, err
	}
	start := r.Start.In(zone)
	at, ok := open.next(start)
	if !ok {
		return time.Time{}, false, fmt.Errorf("%w: no opening found in zone %s after %s", ErrNoOpening, zone, start.Format(time.RFC3339))
	}
	expired = r.Expire > 0 && at.Sub(start) > r.Expire
	return at, expired, nil
}

// openings is the part of a day in which sending is allowed (window minus
// quiet hours, as sorted non-wrapping intervals) and the allowed days.
type openings struct {
	iv   [4]interval
	n    int
	days Days
}

func (r Rules) openings() (openings, error) {
	o := openings{days: r.Days}
	if r.Days != 0 && r.Days&everyDay == 0 {
		return o, fmt.Errorf("%w: days allow no weekday (value %#x); list at least one of mon, tue, wed, thu, fri, sat, sun", ErrNoOpening, uint8(r.Days))
	}
	if r.Expire < 0 {
		return o, fmt.Errorf("expire %v is negative; use a positive duration, or 0 for never", r.Expire)
	}
	window, nw := [2]interval{{0, minutesPerDay}}, 1
	if r.Window != nil {
		if err := r.Window.check(); err != nil {
			return o, fmt.Errorf("window: %w", err)
		}
		window, nw = r.Window.pieces()
	}
	allowed, na := [2]interval{{0, minutesPerDay}}, 1
	if r.Quiet != nil {
		if err := r.Quiet.check(); err != nil {
			return o, fmt.Errorf("quiet hours: %w", err)
		}
		allowed, na = r.Quiet.outside()
	}
	// Both lists are sorted and disjoint, so the pairwise intersections
	// come out sorted too.
	for _, w := range window[:nw] {
		for _, a := range allowed[:na] {
			lo, hi := max(w.from, a.from), min(w.to, a.to)
			if lo < hi {
				o.iv[o.n] = interval{lo, hi}
				o.n++
			}
		}
	}
	if o.n == 0 {
		switch {
		case r.Window == nil:
			return o, fmt.Errorf("%w: quiet hours %s cover the whole day; shorten quiet_hours", ErrNoOpening, *r.Quiet)
		default:
			return o, fmt.Errorf("%w: window %s lies entirely inside quiet hours %s, so nothing can be sent; widen the window or shorten quiet_hours", ErrNoOpening, *r.Window, *r.Quiet)
		}
	}
	return o, nil
}

// maxPeriods caps the walk over offset periods. Any period of eight days or
// more contains an opening (the open set repeats weekly); real zones change
// offset at most a few times a year, so the cap is only a guard against a
// malformed zone.
const maxPeriods = 64

// next finds the first open instant at or after t.
func (o *openings) next(t time.Time) (time.Time, bool) {
	for range maxPeriods {
		_, off := t.Zone()
		_, end := t.ZoneBounds()
		limit := int64(math.MaxInt64)
		if !end.IsZero() {
			limit = end.Unix() + int64(off)
		}
		wall := t.Unix() + int64(off)
		if w, ok := o.nextWall(wall, limit); ok {
			if w == wall {
				return t, true // open already; keep t's sub-second part
			}
			return time.Unix(w-int64(off), 0).In(t.Location()), true
		}
		if end.IsZero() {
			return time.Time{}, false
		}
		t = end
	}
	return time.Time{}, false
}

// nextWall returns the first open wall-clock second at or after wall and
// before limit, in seconds since 1970-01-01 00:00 on the local clock.
func (o *openings) nextWall(wall, limit int64) (int64, bool) {
	const secPerDay = 24 * 60 * 60
	d := floorDiv(wall, secPerDay)
	minute := int((wall - d*secPerDay) / 60)
	// Eight days reach the same weekday again, plus the rest of today.
	for k := int64(0); k <= 7; k++ {
		if !o.days.Has(weekday(d + k)) {
			continue
		}
		for _, iv := range o.iv[:o.n] {
			if k == 0 {
				if minute >= iv.to {
					continue
				}
				if minute >= iv.from {
					return wall, wall < limit
				}
			}
			w := (d+k)*secPerDay + int64(iv.from)*60
			return w, w < limit
		}
	}
	return 0, false
}

// weekday of a day counted from 1970-01-01, a Thursday.
func weekday(d int64) time.Weekday {
	return time.Weekday(((d % 7) + 7 + int64(time.Thursday)) % 7)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
