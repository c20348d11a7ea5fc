package schedule

import (
	"strings"
	"testing"
	"time"
)

func loadZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load zone %s: %v", name, err)
	}
	return loc
}

func TestParseStart(t *testing.T) {
	utc := time.UTC
	tests := []struct {
		in       string
		absolute bool
		inZone   string // Start.In(zone) for zone below, RFC 3339
		zone     string
		wantErr  string
	}{
		{in: "2026-11-23T10:00", zone: "Asia/Jakarta", inZone: "2026-11-23T10:00:00+07:00"},
		{in: "2026-11-23T10:00:30", zone: "Europe/Rome", inZone: "2026-11-23T10:00:30+01:00"},
		{in: "2026-11-23T10:00:00Z", absolute: true, zone: "Asia/Jakarta", inZone: "2026-11-23T17:00:00+07:00"},
		{in: "2026-11-23T10:00+07:00", absolute: true, zone: "Europe/Rome", inZone: "2026-11-23T04:00:00+01:00"},
		{in: "2026-11-23T10:00:00-03:00", absolute: true, zone: "UTC", inZone: "2026-11-23T13:00:00Z"},
		{in: "2026-11-23 10:00", wantErr: `start "2026-11-23 10:00" is not a date and time; write 2026-11-23T10:00`},
		{in: "2026-02-30T10:00", wantErr: `start "2026-02-30T10:00": day out of range`},
		{in: "2026-13-01T10:00", wantErr: `month out of range`},
		{in: "2026-11-23T25:00", wantErr: `hour out of range`},
		{in: "tomorrow", wantErr: `start "tomorrow" is not a date and time`},
		{in: "", wantErr: "is not a date and time"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseStart(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseStart(%q) = %v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), "or add Z or an offset") {
					t.Errorf("error %q does not show both forms", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseStart(%q): %v", tt.in, err)
			}
			if got.IsAbsolute() != tt.absolute {
				t.Errorf("IsAbsolute() = %v, want %v", got.IsAbsolute(), tt.absolute)
			}
			if s := got.In(loadZone(t, tt.zone)).Format(time.RFC3339); s != tt.inZone {
				t.Errorf("In(%s) = %s, want %s", tt.zone, s, tt.inZone)
			}
			back, err := ParseStart(got.String())
			if err != nil || back.In(utc) != got.In(utc) || back.IsAbsolute() != got.IsAbsolute() {
				t.Errorf("String() %q does not read back as the same start: %v, %v", got.String(), back, err)
			}
		})
	}
}

// A wall start means the same local hour everywhere, hence different
// instants; an absolute start is one instant, hence different local hours.
func TestStartWallVersusAbsolute(t *testing.T) {
	jakarta, milan := loadZone(t, "Asia/Jakarta"), loadZone(t, "Europe/Rome")
	wall, err := ParseStart("2026-11-23T10:00")
	if err != nil {
		t.Fatal(err)
	}
	j, m := wall.In(jakarta), wall.In(milan)
	if j.Format("15:04") != "10:00" || m.Format("15:04") != "10:00" {
		t.Errorf("wall start: Jakarta %s, Milan %s; want 10:00 local in both", j, m)
	}
	if got := m.Sub(j); got != 6*time.Hour {
		t.Errorf("wall start: Milan sends %v after Jakarta, want 6h", got)
	}

	abs, err := ParseStart("2026-11-23T10:00:00+07:00")
	if err != nil {
		t.Fatal(err)
	}
	j, m = abs.In(jakarta), abs.In(milan)
	if !j.Equal(m) {
		t.Errorf("absolute start: Jakarta %s and Milan %s are different instants", j, m)
	}
	if j.Format("15:04") != "10:00" || m.Format("15:04") != "04:00" {
		t.Errorf("absolute start: Jakarta %s, Milan %s; want 10:00 and 04:00 local", j.Format("15:04"), m.Format("15:04"))
	}
}

func TestLocalTime(t *testing.T) {
	tests := []struct {
		name string
		zone string
		wall string // local wall time asked for, 2006-01-02T15:04:05
		want string // RFC 3339, in the zone
	}{
		// Spring forward: missing times move forward by the gap.
		{"Rome gap", "Europe/Rome", "2026-03-29T02:30:00", "2026-03-29T03:30:00+02:00"},
		{"Rome gap start", "Europe/Rome", "2026-03-29T02:00:00", "2026-03-29T03:00:00+02:00"},
		{"Rome before gap", "Europe/Rome", "2026-03-29T01:59:59", "2026-03-29T01:59:59+01:00"},
		{"Rome after gap", "Europe/Rome", "2026-03-29T03:00:00", "2026-03-29T03:00:00+02:00"},
		{"New York gap", "America/New_York", "2026-03-08T02:30:00", "2026-03-08T03:30:00-04:00"},
		{"Santiago midnight missing", "America/Santiago", "2026-09-06T00:00:00", "2026-09-06T01:00:00-03:00"},
		{"Santiago gap end", "America/Santiago", "2026-09-06T00:59:00", "2026-09-06T01:59:00-03:00"},
		{"Sydney gap", "Australia/Sydney", "2026-10-04T02:30:00", "2026-10-04T03:30:00+11:00"},
		{"Lord Howe 30-minute gap", "Australia/Lord_Howe", "2026-10-04T02:10:00", "2026-10-04T02:40:00+11:00"},
		{"Lord Howe gap last minute", "Australia/Lord_Howe", "2026-10-04T02:29:00", "2026-10-04T02:59:00+11:00"},
		{"Lord Howe after gap", "Australia/Lord_Howe", "2026-10-04T02:30:00", "2026-10-04T02:30:00+11:00"},
		{"Chatham gap", "Pacific/Chatham", "2026-09-27T03:00:00", "2026-09-27T04:00:00+13:45"},
		{"Chatham gap start", "Pacific/Chatham", "2026-09-27T02:45:00", "2026-09-27T03:45:00+13:45"},
		// Fall back: repeated times take the first occurrence.
		{"Rome overlap", "Europe/Rome", "2026-10-25T02:30:00", "2026-10-25T02:30:00+02:00"},
		{"Rome overlap start", "Europe/Rome", "2026-10-25T02:00:00", "2026-10-25T02:00:00+02:00"},
		{"Rome after overlap", "Europe/Rome", "2026-10-25T03:00:00", "2026-10-25T03:00:00+01:00"},
		{"New York overlap", "America/New_York", "2026-11-01T01:30:00", "2026-11-01T01:30:00-04:00"},
		{"Santiago overlap", "America/Santiago", "2026-04-04T23:30:00", "2026-04-04T23:30:00-03:00"},
		{"Santiago after overlap", "America/Santiago", "2026-04-05T00:00:00", "2026-04-05T00:00:00-04:00"},
		{"Sydney overlap", "Australia/Sydney", "2026-04-05T02:30:00", "2026-04-05T02:30:00+11:00"},
		{"Lord Howe overlap", "Australia/Lord_Howe", "2026-04-05T01:45:00", "2026-04-05T01:45:00+11:00"},
		{"Lord Howe overlap start", "Australia/Lord_Howe", "2026-04-05T01:30:00", "2026-04-05T01:30:00+11:00"},
		{"Lord Howe after overlap", "Australia/Lord_Howe", "2026-04-05T02:00:00", "2026-04-05T02:00:00+10:30"},
		{"Chatham overlap", "Pacific/Chatham", "2026-04-05T03:00:00", "2026-04-05T03:00:00+13:45"},
		{"Chatham after overlap", "Pacific/Chatham", "2026-04-05T03:45:00", "2026-04-05T03:45:00+12:45"},
		// No DST: plain offsets, including the half- and three-quarter hours.
		{"Sao Paulo, no DST since 2019", "America/Sao_Paulo", "2026-11-01T00:00:00", "2026-11-01T00:00:00-03:00"},
		{"Kathmandu", "Asia/Kathmandu", "2026-06-01T10:00:00", "2026-06-01T10:00:00+05:45"},
		{"Kolkata", "Asia/Kolkata", "2026-06-01T10:00:00", "2026-06-01T10:00:00+05:30"},
		{"UTC", "UTC", "2026-06-01T10:00:00", "2026-06-01T10:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := time.Parse("2006-01-02T15:04:05", tt.wall)
			if err != nil {
				t.Fatal(err)
			}
			got := LocalTime(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), loadZone(t, tt.zone))
			if got.Format(time.RFC3339) != tt.want {
				t.Errorf("LocalTime(%s in %s) = %s, want %s", tt.wall, tt.zone, got.Format(time.RFC3339), tt.want)
			}
		})
	}
	// Out-of-range fields roll over as in time.Date.
	if got := LocalTime(2026, time.February, 30, 10, 0, 0, time.UTC); got.Format(time.RFC3339) != "2026-03-02T10:00:00Z" {
		t.Errorf("LocalTime(2026-02-30T10:00) = %s, want 2026-03-02T10:00:00Z", got)
	}
	if got := LocalTime(2026, time.June, 1, 10, 0, 0, nil); got.Format(time.RFC3339) != "2026-06-01T10:00:00Z" {
		t.Errorf("LocalTime with a nil zone = %s, want UTC", got)
	}
}

// TestLocalTimeAgainstScan checks LocalTime around every 2026 transition of
// the DST zones against a plain scan of instants, minute by minute: the
// first instant whose wall clock reads the wall time, or, when none does,
// the transition plus however far into the gap the wall time was.
func TestLocalTimeAgainstScan(t *testing.T) {
	for _, name := range dstZones {
		zone := loadZone(t, name)
		for _, tr := range transitions2026(t, zone) {
			// Every 5 minutes from 3 hours before to 3 hours after, on the
			// wall clock of the old offset.
			_, off := tr.Add(-time.Second).Zone()
			base := tr.Unix() + int64(off) - 3*3600
			for ws := base; ws <= base+6*3600; ws += 300 {
				want := scanLocal(zone, ws)
				w := time.Unix(ws, 0).UTC()
				got := LocalTime(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), 0, zone)
				if !got.Equal(want) {
					t.Errorf("%s: LocalTime(%s) = %s, scan says %s", name, w.Format("2006-01-02T15:04"), got.Format(time.RFC3339), want.In(zone).Format(time.RFC3339))
				}
			}
		}
	}
}

func scanLocal(zone *time.Location, ws int64) time.Time {
	wallOf := func(u int64) int64 {
		_, off := time.Unix(u, 0).In(zone).Zone()
		return u + int64(off)
	}
	for u := ws - 16*3600; u <= ws+16*3600; u += 60 {
		switch w := wallOf(u); {
		case w == ws:
			return time.Unix(u, 0)
		case w > ws:
			// The clock jumped over ws: u is the transition. The wall
			// time u would have had at the old offset tells how far into
			// the gap ws lies.
			oldWall := wallOf(u-60) + 60
			return time.Unix(u+(ws-oldWall), 0)
		}
	}
	panic("no instant found within 16 hours")
}
