package schedule

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// dstZones are the zones whose 2026 transitions the tests lean on.
var dstZones = []string{
	"Europe/Rome", "America/New_York", "America/Santiago",
	"Australia/Sydney", "Australia/Lord_Howe", "Pacific/Chatham",
}

// transitions2026 asks the zone database for the zone's offset changes in
// 2026.
func transitions2026(t testing.TB, zone *time.Location) []time.Time {
	t.Helper()
	var out []time.Time
	for at := time.Date(2026, 1, 1, 0, 0, 0, 0, zone); ; {
		_, end := at.ZoneBounds()
		if end.IsZero() || end.Year() > 2026 {
			return out
		}
		out = append(out, end)
		at = end
	}
}

// The SendTime cases below assume these dates; if a zone database update
// moves one, this test says which, instead of a DST case failing obscurely.
func TestTransitionDates2026(t *testing.T) {
	want := map[string][]string{
		"Europe/Rome":         {"2026-03-29T01:59:59+01:00 -> 03:00:00+02:00", "2026-10-25T02:59:59+02:00 -> 02:00:00+01:00"},
		"America/New_York":    {"2026-03-08T01:59:59-05:00 -> 03:00:00-04:00", "2026-11-01T01:59:59-04:00 -> 01:00:00-05:00"},
		"America/Santiago":    {"2026-04-04T23:59:59-03:00 -> 23:00:00-04:00", "2026-09-05T23:59:59-04:00 -> 01:00:00-03:00"},
		"Australia/Sydney":    {"2026-04-05T02:59:59+11:00 -> 02:00:00+10:00", "2026-10-04T01:59:59+10:00 -> 03:00:00+11:00"},
		"Australia/Lord_Howe": {"2026-04-05T01:59:59+11:00 -> 01:30:00+10:30", "2026-10-04T01:59:59+10:30 -> 02:30:00+11:00"},
		"Pacific/Chatham":     {"2026-04-05T03:44:59+13:45 -> 02:45:00+12:45", "2026-09-27T02:44:59+12:45 -> 03:45:00+13:45"},
		"America/Sao_Paulo":   nil, // no DST since 2019
		"Asia/Kathmandu":      nil,
		"Asia/Kolkata":        nil,
	}
	for name, want := range want {
		var got []string
		for _, tr := range transitions2026(t, loadZone(t, name)) {
			got = append(got, tr.Add(-time.Second).Format(time.RFC3339)+" -> "+tr.Format("15:04:05Z07:00"))
		}
		if strings.Join(got, "; ") != strings.Join(want, "; ") {
			t.Errorf("%s 2026 transitions:\n got %q\nwant %q", name, got, want)
		}
	}
}

type sendCase struct {
	name    string
	zone    string
	start   string
	window  string // "" = any time
	quiet   string // "" = none
	days    []string
	expire  string // "" = never
	want    string // RFC 3339 in the recipient's zone
	expired bool
}

func (c sendCase) rules(t testing.TB) Rules {
	t.Helper()
	var r Rules
	var err error
	if r.Start, err = ParseStart(c.start); err != nil {
		t.Fatal(err)
	}
	if c.window != "" {
		w, err := ParseSpan(c.window)
		if err != nil {
			t.Fatal(err)
		}
		r.Window = &w
	}
	if c.quiet != "" {
		q, err := ParseSpan(c.quiet)
		if err != nil {
			t.Fatal(err)
		}
		r.Quiet = &q
	}
	if r.Days, err = ParseDays(c.days); err != nil {
		t.Fatal(err)
	}
	if c.expire != "" {
		if r.Expire, err = ParseDuration(c.expire); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

var weekdays = []string{"mon", "tue", "wed", "thu", "fri"}

func TestSendTime(t *testing.T) {
	tests := []sendCase{
		// Europe/Rome: spring forward 2026-03-29 02:00 -> 03:00.
		{name: "Rome start in spring gap moves forward by the gap", zone: "Europe/Rome", start: "2026-03-29T02:30", want: "2026-03-29T03:30:00+02:00"},
		{name: "Rome window starting in the gap opens at the first existing minute", zone: "Europe/Rome", start: "2026-03-29T00:00", window: "02:30-05:00", want: "2026-03-29T03:00:00+02:00"},
		{name: "Rome overnight wait into the 23-hour day", zone: "Europe/Rome", start: "2026-03-28T21:00", window: "09:00-20:00", want: "2026-03-29T09:00:00+02:00"},
		// Europe/Rome: fall back 2026-10-25 03:00 -> 02:00.
		{name: "Rome repeated time takes the first occurrence", zone: "Europe/Rome", start: "2026-10-25T02:30", want: "2026-10-25T02:30:00+02:00"},
		{name: "Rome window inside the repeated hour opens again in the repeat", zone: "Europe/Rome", start: "2026-10-25T02:50", window: "02:15-02:45", want: "2026-10-25T02:15:00+01:00"},
		{name: "Rome quiet hours through the 25-hour night", zone: "Europe/Rome", start: "2026-10-24T23:00", quiet: "21:00-08:00", want: "2026-10-25T08:00:00+01:00"},

		// America/New_York: 2026-03-08 02:00 -> 03:00, 2026-11-01 02:00 -> 01:00.
		{name: "New York start in spring gap", zone: "America/New_York", start: "2026-03-08T02:00", want: "2026-03-08T03:00:00-04:00"},
		{name: "New York spring day: 8 real hours to 09:00, expire 8h is not passed", zone: "America/New_York", start: "2026-03-08T00:00", window: "09:00-20:00", expire: "8h", want: "2026-03-08T09:00:00-04:00"},
		{name: "New York spring day: expire 7h is passed", zone: "America/New_York", start: "2026-03-08T00:00", window: "09:00-20:00", expire: "7h", want: "2026-03-08T09:00:00-04:00", expired: true},
		{name: "New York repeated time takes the first occurrence", zone: "America/New_York", start: "2026-11-01T01:30", want: "2026-11-01T01:30:00-04:00"},
		{name: "New York fall day: 10 real hours to 09:00, expire 9h is passed", zone: "America/New_York", start: "2026-11-01T00:00", window: "09:00-20:00", expire: "9h", want: "2026-11-01T09:00:00-05:00", expired: true},
		{name: "New York fall day: expire 10h is not passed", zone: "America/New_York", start: "2026-11-01T00:00", window: "09:00-20:00", expire: "10h", want: "2026-11-01T09:00:00-05:00"},

		// America/Santiago (southern): 2026-04-04 24:00 -> 23:00, 2026-09-06 00:00 -> 01:00.
		{name: "Santiago midnight does not exist on the spring day", zone: "America/Santiago", start: "2026-09-06T00:00", want: "2026-09-06T01:00:00-03:00"},
		{name: "Santiago window from midnight opens at 01:00", zone: "America/Santiago", start: "2026-09-05T22:00", window: "00:00-06:00", want: "2026-09-06T01:00:00-03:00"},
		{name: "Santiago repeated hour takes the first occurrence", zone: "America/Santiago", start: "2026-04-04T23:30", want: "2026-04-04T23:30:00-03:00"},
		{name: "Santiago repeated Saturday hour is still Saturday", zone: "America/Santiago", start: "2026-04-04T23:10", days: []string{"sun"}, want: "2026-04-05T00:00:00-04:00"},
		{name: "Santiago Saturday window opens again in the repeat", zone: "America/Santiago", start: "2026-04-04T23:50", window: "23:15-23:45", days: []string{"sat"}, want: "2026-04-04T23:15:00-04:00"},

		// America/Sao_Paulo: no DST today; its old DST dates are plain days.
		{name: "Sao Paulo control: old DST day has 24 hours", zone: "America/Sao_Paulo", start: "2026-11-01T00:00", window: "09:00-20:00", expire: "9h", want: "2026-11-01T09:00:00-03:00"},

		// Australia/Sydney (southern): 2026-04-05 03:00 -> 02:00, 2026-10-04 02:00 -> 03:00.
		{name: "Sydney start in spring gap", zone: "Australia/Sydney", start: "2026-10-04T02:15", want: "2026-10-04T03:15:00+11:00"},
		{name: "Sydney quiet hours end on the spring day", zone: "Australia/Sydney", start: "2026-10-03T22:00", quiet: "21:00-08:00", want: "2026-10-04T08:00:00+11:00"},
		{name: "Sydney window inside the repeated hour opens in the repeat", zone: "Australia/Sydney", start: "2026-04-05T02:40", window: "02:00-02:30", want: "2026-04-05T02:00:00+10:00"},

		// Australia/Lord_Howe: 30-minute shifts, 2026-04-05 02:00 -> 01:30, 2026-10-04 02:00 -> 02:30.
		{name: "Lord Howe start in the 30-minute gap", zone: "Australia/Lord_Howe", start: "2026-10-04T02:10", want: "2026-10-04T02:40:00+11:00"},
		{name: "Lord Howe window entirely in the gap waits a day", zone: "Australia/Lord_Howe", start: "2026-10-04T00:00", window: "02:00-02:20", want: "2026-10-05T02:00:00+11:00"},
		{name: "Lord Howe window across the gap opens at 02:30", zone: "Australia/Lord_Howe", start: "2026-10-04T00:00", window: "02:00-02:45", want: "2026-10-04T02:30:00+11:00"},
		{name: "Lord Howe repeated half hour takes the first occurrence", zone: "Australia/Lord_Howe", start: "2026-04-05T01:45", want: "2026-04-05T01:45:00+11:00"},
		{name: "Lord Howe window in the repeated half hour", zone: "Australia/Lord_Howe", start: "2026-04-05T01:50", window: "01:30-01:40", want: "2026-04-05T01:30:00+10:30"},
		{name: "Lord Howe fall day is 24.5 hours: expire 9h is passed", zone: "Australia/Lord_Howe", start: "2026-04-05T00:00", window: "09:00-20:00", expire: "9h", want: "2026-04-05T09:00:00+10:30", expired: true},
		{name: "Lord Howe fall day: expire 9h30m is not passed", zone: "Australia/Lord_Howe", start: "2026-04-05T00:00", window: "09:00-20:00", expire: "9h30m", want: "2026-04-05T09:00:00+10:30"},

		// Pacific/Chatham: +12:45/+13:45, 2026-04-05 03:45 -> 02:45, 2026-09-27 02:45 -> 03:45.
		{name: "Chatham start in spring gap", zone: "Pacific/Chatham", start: "2026-09-27T03:00", want: "2026-09-27T04:00:00+13:45"},
		{name: "Chatham quiet hours end on the spring day", zone: "Pacific/Chatham", start: "2026-09-26T22:00", quiet: "21:00-08:00", want: "2026-09-27T08:00:00+13:45"},
		{name: "Chatham repeated time takes the first occurrence", zone: "Pacific/Chatham", start: "2026-04-05T03:00", want: "2026-04-05T03:00:00+13:45"},
		{name: "Chatham window in the repeated hour", zone: "Pacific/Chatham", start: "2026-04-05T03:40", window: "03:00-03:30", want: "2026-04-05T03:00:00+12:45"},

		// 45- and 30-minute offsets without DST.
		{name: "Kathmandu wall start", zone: "Asia/Kathmandu", start: "2026-11-23T10:00", window: "09:00-20:00", want: "2026-11-23T10:00:00+05:45"},
		{name: "Kathmandu absolute start inside the window", zone: "Asia/Kathmandu", start: "2026-11-23T10:00:00Z", window: "09:00-20:00", want: "2026-11-23T15:45:00+05:45"},
		{name: "Kathmandu absolute start after the window", zone: "Asia/Kathmandu", start: "2026-11-23T10:00:00Z", window: "09:00-15:30", want: "2026-11-24T09:00:00+05:45"},
		{name: "Kolkata absolute start at the window end is outside", zone: "Asia/Kolkata", start: "2026-11-23T14:30:00Z", window: "09:00-20:00", want: "2026-11-24T09:00:00+05:30"},
		{name: "Kolkata absolute start a minute before the end", zone: "Asia/Kolkata", start: "2026-11-23T14:29:00Z", window: "09:00-20:00", want: "2026-11-23T19:59:00+05:30"},

		// Wall versus absolute start.
		{name: "wall start is 10:00 in Jakarta", zone: "Asia/Jakarta", start: "2026-11-23T10:00", window: "09:00-20:00", want: "2026-11-23T10:00:00+07:00"},
		{name: "wall start is 10:00 in Milan", zone: "Europe/Rome", start: "2026-11-23T10:00", window: "09:00-20:00", want: "2026-11-23T10:00:00+01:00"},
		{name: "absolute start is 10:00 in Jakarta", zone: "Asia/Jakarta", start: "2026-11-23T10:00:00+07:00", window: "09:00-20:00", want: "2026-11-23T10:00:00+07:00"},
		{name: "absolute start is 04:00 in Milan, so it waits for 09:00", zone: "Europe/Rome", start: "2026-11-23T10:00:00+07:00", window: "09:00-20:00", want: "2026-11-23T09:00:00+01:00"},

		// Half-open windows (2026-11-23 is a Monday).
		{name: "start at the window start sends at once", zone: "Europe/Rome", start: "2026-11-23T09:00", window: "09:00-20:00", want: "2026-11-23T09:00:00+01:00"},
		{name: "start at the window end waits for tomorrow", zone: "Europe/Rome", start: "2026-11-23T20:00", window: "09:00-20:00", want: "2026-11-24T09:00:00+01:00"},
		{name: "start a second before the window end sends at once", zone: "Europe/Rome", start: "2026-11-23T19:59:59", window: "09:00-20:00", want: "2026-11-23T19:59:59+01:00"},
		{name: "start before the window waits for it", zone: "Europe/Rome", start: "2026-11-23T07:00", window: "09:00-20:00", want: "2026-11-23T09:00:00+01:00"},
		{name: "window to 24:00 includes 23:59", zone: "Europe/Rome", start: "2026-11-23T23:59", window: "22:00-24:00", want: "2026-11-23T23:59:00+01:00"},

		// Windows wrapping midnight.
		{name: "wrapping window waits for the evening", zone: "Europe/Rome", start: "2026-11-23T10:00", window: "21:00-08:00", want: "2026-11-23T21:00:00+01:00"},
		{name: "wrapping window open in the early morning", zone: "Europe/Rome", start: "2026-11-23T07:59", window: "21:00-08:00", want: "2026-11-23T07:59:00+01:00"},
		{name: "wrapping window closed at its end", zone: "Europe/Rome", start: "2026-11-23T08:00", window: "21:00-08:00", want: "2026-11-23T21:00:00+01:00"},

		// Quiet hours win over the window.
		{name: "quiet hours delay the window's early part", zone: "Europe/Rome", start: "2026-11-23T07:30", window: "07:00-22:00", quiet: "21:00-08:00", want: "2026-11-23T08:00:00+01:00"},
		{name: "quiet hours move an evening send to next morning", zone: "Europe/Rome", start: "2026-11-23T21:00", window: "07:00-22:00", quiet: "21:00-08:00", want: "2026-11-24T08:00:00+01:00"},
		{name: "quiet hours alone move a late send to next morning", zone: "Europe/Rome", start: "2026-11-23T23:30", quiet: "21:00-08:00", want: "2026-11-24T08:00:00+01:00"},

		// Days.
		{name: "weekend skipped to Monday", zone: "Europe/Rome", start: "2026-11-21T10:00", window: "09:00-20:00", days: weekdays, want: "2026-11-23T09:00:00+01:00"},
		{name: "Friday after hours waits to Monday and expires after 48h", zone: "Europe/Rome", start: "2026-11-27T20:30", window: "09:00-20:00", days: weekdays, expire: "48h", want: "2026-11-30T09:00:00+01:00", expired: true},
		{name: "Friday after hours to Monday within 3d", zone: "Europe/Rome", start: "2026-11-27T20:30", window: "09:00-20:00", days: weekdays, expire: "3d", want: "2026-11-30T09:00:00+01:00"},
		{name: "days judge the calendar day of the send, not of the window's evening", zone: "Europe/Rome", start: "2026-11-28T01:00", window: "21:00-08:00", days: []string{"fri"}, want: "2026-12-04T00:00:00+01:00"},
		{name: "Friday late evening inside a wrapping window", zone: "Europe/Rome", start: "2026-11-27T23:00", window: "21:00-08:00", days: []string{"fri"}, want: "2026-11-27T23:00:00+01:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			zone := loadZone(t, tt.zone)
			at, expired, err := tt.rules(t).SendTime(zone)
			if err != nil {
				t.Fatalf("SendTime: %v", err)
			}
			if got := at.Format(time.RFC3339); got != tt.want {
				t.Errorf("SendTime = %s, want %s", got, tt.want)
			}
			if at.Location() != zone {
				t.Errorf("SendTime is in %v, want the recipient's zone %v", at.Location(), zone)
			}
			if expired != tt.expired {
				t.Errorf("expired = %v, want %v (start %s, send %s, expire %s)", expired, tt.expired, tt.rules(t).Start.In(zone).Format(time.RFC3339), at.Format(time.RFC3339), tt.expire)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	span := func(s string) *Span {
		sp, err := ParseSpan(s)
		if err != nil {
			t.Fatal(err)
		}
		return &sp
	}
	tests := []struct {
		name      string
		rules     Rules
		wantErr   string // "" = valid
		noOpening bool
	}{
		{name: "no settings", rules: Rules{}},
		{name: "window overlapping quiet hours", rules: Rules{Window: span("07:00-22:00"), Quiet: span("21:00-08:00")}},
		{name: "window touching quiet hours", rules: Rules{Window: span("20:00-21:00"), Quiet: span("21:00-08:00")}},
		{name: "window inside quiet hours", rules: Rules{Window: span("22:00-23:00"), Quiet: span("21:00-08:00")},
			wantErr: "schedule never opens: window 22:00-23:00 lies entirely inside quiet hours 21:00-08:00", noOpening: true},
		{name: "wrapping window inside quiet hours", rules: Rules{Window: span("23:00-06:00"), Quiet: span("21:00-08:00")},
			wantErr: "window 23:00-06:00 lies entirely inside quiet hours 21:00-08:00", noOpening: true},
		{name: "window equal to quiet hours", rules: Rules{Window: span("01:00-05:00"), Quiet: span("01:00-05:00")},
			wantErr: "lies entirely inside quiet hours", noOpening: true},
		{name: "quiet hours all day", rules: Rules{Quiet: span("00:00-24:00")},
			wantErr: "quiet hours 00:00-24:00 cover the whole day", noOpening: true},
		{name: "no weekday", rules: Rules{Days: Days(1 << 7)},
			wantErr: "days allow no weekday", noOpening: true},
		{name: "negative expire", rules: Rules{Expire: -time.Hour},
			wantErr: "expire -1h0m0s is negative"},
		{name: "hand-built window out of range", rules: Rules{Window: &Span{From: 0, To: 1500}},
			wantErr: "window: time span {From: 0, To: 1500} is out of range"},
		{name: "hand-built empty quiet hours", rules: Rules{Quiet: &Span{From: 60, To: 60}},
			wantErr: "quiet hours: time span 01:00-01:00 is an empty span"},
	}
	rome := loadZone(t, "Europe/Rome")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.rules.Validate()
			_, _, sendErr := tt.rules.SendTime(rome)
			if tt.wantErr == "" {
				if err != nil || sendErr != nil {
					t.Fatalf("Validate() = %v, SendTime error %v; want both nil", err, sendErr)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate() = %v, want error containing %q", err, tt.wantErr)
			}
			if sendErr == nil || sendErr.Error() != err.Error() {
				t.Errorf("SendTime error = %v, want the same as Validate's", sendErr)
			}
			if errors.Is(err, ErrNoOpening) != tt.noOpening {
				t.Errorf("errors.Is(err, ErrNoOpening) = %v, want %v", !tt.noOpening, tt.noOpening)
			}
		})
	}
}

// TestSendTimeAgainstScan compares SendTime with the definition read
// literally: step through real instants minute by minute from the start and
// take the first whose local wall clock is allowed. Starts are drawn around
// every 2026 transition of the DST zones, with random windows, quiet hours
// and days on a 15-minute grid so that boundaries line up with transitions.
func TestSendTimeAgainstScan(t *testing.T) {
	cases := 400
	if testing.Short() {
		cases = 60
	}
	rng := rand.New(rand.NewPCG(2026, 11))
	zones := append([]string{"Asia/Kathmandu", "Asia/Kolkata", "America/Sao_Paulo"}, dstZones...)
	randSpan := func() *Span {
		if rng.IntN(4) == 0 {
			return nil
		}
		for {
			s := Span{From: rng.IntN(96) * 15, To: rng.IntN(97) * 15}
			if s.check() == nil {
				return &s
			}
		}
	}
	for i := range cases {
		zone := loadZone(t, zones[i%len(zones)])
		around := time.Date(2026, time.Month(1+rng.IntN(12)), 1+rng.IntN(28), 0, 0, 0, 0, zone)
		if trs := transitions2026(t, zone); len(trs) > 0 {
			around = trs[rng.IntN(len(trs))]
		}
		startAt := around.Add(time.Duration(rng.IntN(4*24*60)-2*24*60) * time.Minute)
		r := Rules{Window: randSpan(), Quiet: randSpan(), Days: Days(rng.IntN(128))}
		if rng.IntN(2) == 0 {
			r.Start = At(startAt)
		} else {
			w := startAt.In(zone)
			r.Start = WallClock(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), 0)
		}
		got, _, err := r.SendTime(zone)
		want, found := scanOpening(r, zone)
		desc := func() string {
			return r.Start.String() + " in " + zone.String() + " window " + fmtSpan(r.Window) + " quiet " + fmtSpan(r.Quiet) + " days " + r.Days.String()
		}
		if err != nil {
			if found {
				t.Errorf("%s: SendTime error %v, but %s is open", desc(), err, want.Format(time.RFC3339))
			}
			continue
		}
		if !found {
			t.Errorf("%s: SendTime = %s, but nothing is open within 9 days", desc(), got.Format(time.RFC3339))
			continue
		}
		if !got.Equal(want) {
			t.Errorf("%s: SendTime = %s, scan says %s", desc(), got.Format(time.RFC3339), want.Format(time.RFC3339))
		}
	}
}

func fmtSpan(s *Span) string {
	if s == nil {
		return "none"
	}
	return s.String()
}

func scanOpening(r Rules, zone *time.Location) (time.Time, bool) {
	open := func(t time.Time) bool {
		l := t.In(zone)
		m := l.Hour()*60 + l.Minute()
		return r.Days.Has(l.Weekday()) &&
			(r.Window == nil || r.Window.Contains(m)) &&
			(r.Quiet == nil || !r.Quiet.Contains(m))
	}
	start := r.Start.In(zone)
	if open(start) {
		return start, true
	}
	for t := start.Truncate(time.Minute).Add(time.Minute); t.Sub(start) < 9*24*time.Hour; t = t.Add(time.Minute) {
		if open(t) {
			return t, true
		}
	}
	return time.Time{}, false
}

// SendTime runs once per recipient; a million recipients must not mean a
// million garbage allocations.
func TestSendTimeDoesNotAllocate(t *testing.T) {
	c := sendCase{start: "2026-03-28T21:00", window: "09:00-20:00", quiet: "21:00-08:00", days: weekdays, expire: "48h"}
	r := c.rules(t)
	zone := loadZone(t, "Europe/Rome")
	abs := r
	abs.Start = At(time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC))
	if n := testing.AllocsPerRun(200, func() {
		_, _, _ = r.SendTime(zone)
		_, _, _ = abs.SendTime(zone)
	}); n != 0 {
		t.Errorf("SendTime allocates %v times per call, want 0", n)
	}
}

func BenchmarkSendTime(b *testing.B) {
	zones := []*time.Location{}
	for _, name := range append([]string{"Asia/Jakarta", "Asia/Kolkata", "Asia/Kathmandu", "America/Sao_Paulo"}, dstZones...) {
		zones = append(zones, loadZone(b, name))
	}
	for _, bc := range []sendCase{
		{name: "wall start", start: "2026-11-23T10:00", window: "09:00-20:00", quiet: "21:00-08:00", days: weekdays, expire: "48h"},
		{name: "absolute start", start: "2026-11-23T10:00:00Z", window: "09:00-20:00", quiet: "21:00-08:00", days: weekdays, expire: "48h"},
		{name: "wall start on a DST day", start: "2026-10-25T02:30", window: "09:00-20:00", quiet: "21:00-08:00"},
		{name: "wait over a weekend", start: "2026-11-27T20:30", window: "09:00-20:00", days: weekdays},
	} {
		r := bc.rules(b)
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, _, err := r.SendTime(zones[i%len(zones)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
