package schedule

import (
	"strings"
	"testing"
	"time"
)

func TestParseDays(t *testing.T) {
	weekdays := Days(0)
	for w := time.Monday; w <= time.Friday; w++ {
		weekdays |= 1 << w
	}
	tests := []struct {
		name    string
		in      []string
		want    Days
		str     string
		wantErr string
	}{
		{name: "absent means every day", in: nil, want: 0, str: "every day"},
		{name: "short names", in: []string{"mon", "tue", "wed", "thu", "fri"}, want: weekdays, str: "mon,tue,wed,thu,fri"},
		{name: "full names any case", in: []string{"Monday", "TUESDAY", "wednesday", " Thu ", "FRI"}, want: weekdays, str: "mon,tue,wed,thu,fri"},
		{name: "sunday listed last", in: []string{"sun", "sat"}, want: 1<<time.Saturday | 1<<time.Sunday, str: "sat,sun"},
		{name: "all seven", in: []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}, want: everyDay, str: "every day"},
		{name: "duplicates are harmless", in: []string{"mon", "monday"}, want: 1 << time.Monday, str: "mon"},
		{name: "typo", in: []string{"mon", "tuseday"}, wantErr: `unknown day "tuseday"; use mon, tue`},
		{name: "empty name", in: []string{""}, wantErr: `unknown day ""`},
		{name: "empty list", in: []string{}, wantErr: "days is an empty list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDays(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseDays(%q) = %v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseDays(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParseDays(%q) = %07b, want %07b", tt.in, got, tt.want)
			}
			if got.String() != tt.str {
				t.Errorf("String() = %q, want %q", got.String(), tt.str)
			}
		})
	}
}

func TestDaysHas(t *testing.T) {
	weekend, _ := ParseDays([]string{"sat", "sun"})
	tests := []struct {
		days Days
		day  time.Weekday
		want bool
	}{
		{0, time.Wednesday, true},
		{weekend, time.Saturday, true},
		{weekend, time.Sunday, true},
		{weekend, time.Monday, false},
		{weekend, time.Friday, false},
		{Days(1 << 7), time.Monday, false}, // no weekday bit: nothing allowed
	}
	for _, tt := range tests {
		if got := tt.days.Has(tt.day); got != tt.want {
			t.Errorf("%v.Has(%v) = %v, want %v", tt.days, tt.day, got, tt.want)
		}
	}
}
