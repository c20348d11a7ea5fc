package schedule

import (
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		{in: "48h", want: 48 * time.Hour},
		{in: "2d", want: 48 * time.Hour},
		{in: "1d12h", want: 36 * time.Hour},
		{in: "1.5d", want: 36 * time.Hour},
		{in: "90m", want: 90 * time.Minute},
		{in: "1h30m", want: 90 * time.Minute},
		{in: "7d", want: 7 * 24 * time.Hour},
		{in: " 30s ", want: 30 * time.Second},
		{in: "+2d", want: 48 * time.Hour},
		{in: "-48h", wantErr: `duration "-48h" is negative`},
		{in: "0", wantErr: `duration "0" is zero`},
		{in: "0d", wantErr: `duration "0d" is zero`},
		{in: "0h0m", wantErr: "is zero"},
		{in: "", wantErr: "duration is empty"},
		{in: "48", wantErr: `duration "48": "48" has no unit`},
		{in: "2w", wantErr: `unknown unit "w"`},
		{in: "d", wantErr: `expected a number before "d"`},
		{in: "1..5h", wantErr: `"1..5h" is not a usable number of h`},
		{in: "9999999999999d", wantErr: "not a usable number of days"},
		{in: "106751d106751d", wantErr: "too long"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDuration(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseDuration(%q) = %v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), `"48h"`) && !strings.Contains(tt.wantErr, "too long") {
					t.Errorf("error %q shows no example of the expected form", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseDuration(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParseDuration(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{48 * time.Hour, "2d"},
		{36 * time.Hour, "1d12h"},
		{24 * time.Hour, "1d"},
		{90 * time.Minute, "1h30m"},
		{10 * time.Hour, "10h"},
		{10 * time.Minute, "10m"},
		{25*time.Hour + 30*time.Second, "1d1h0m30s"},
		{1500 * time.Millisecond, "1.5s"},
	}
	for _, tt := range tests {
		got := FormatDuration(tt.in)
		if got != tt.want {
			t.Errorf("FormatDuration(%v) = %q, want %q", tt.in, got, tt.want)
		}
		if back, err := ParseDuration(got); err != nil || back != tt.in {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", got, back, err, tt.in)
		}
	}
}

func TestParseFrequency(t *testing.T) {
	tests := []struct {
		in      string
		want    Frequency
		str     string
		wantErr string
	}{
		{in: "1/24h", want: Frequency{1, 24 * time.Hour}, str: "1/1d"},
		{in: "3/7d", want: Frequency{3, 7 * 24 * time.Hour}, str: "3/7d"},
		{in: " 2 / 90m ", want: Frequency{2, 90 * time.Minute}, str: "2/1h30m"},
		{in: "24h", wantErr: `frequency "24h" has no "/"`},
		{in: "0/24h", wantErr: `count "0" is not a whole number of at least 1`},
		{in: "x/24h", wantErr: `count "x"`},
		{in: "1/-24h", wantErr: `frequency "1/-24h": duration "-24h" is negative`},
		{in: "1/day", wantErr: `duration "day": expected a number before "day"`},
		{in: "1/24hours", wantErr: `unknown unit "hours"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseFrequency(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseFrequency(%q) = %v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseFrequency(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParseFrequency(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			if got.String() != tt.str {
				t.Errorf("String() = %q, want %q", got.String(), tt.str)
			}
		})
	}
}
