package schedule

import (
	"strings"
	"testing"
)

func TestParseSpan(t *testing.T) {
	tests := []struct {
		in      string
		want    Span
		wantErr string // substring; "" = must parse
	}{
		{in: "09:00-20:00", want: Span{540, 1200}},
		{in: "9:00-17:30", want: Span{540, 1050}},
		{in: "21:00-08:00", want: Span{1260, 480}},
		{in: " 21:00 - 08:00 ", want: Span{1260, 480}},
		{in: "00:00-24:00", want: Span{0, 1440}},
		{in: "22:00-24:00", want: Span{1320, 1440}},
		{in: "22:00-00:00", want: Span{1320, 0}},
		{in: "23:59-00:00", want: Span{1439, 0}},
		{in: "24:00-08:00", wantErr: `"24:00" can only end a span`},
		{in: "09:00-09:00", wantErr: "empty span"},
		{in: "00:00-00:00", wantErr: "empty span"},
		{in: "25:00-08:00", wantErr: "hour 25, which is over 23"},
		{in: "09:60-10:00", wantErr: "minute 60, which is over 59"},
		{in: "09:00-24:30", wantErr: "hour 24, which is over 23"},
		{in: "0900-2000", wantErr: `start "0900" is not a time of day`},
		{in: "09:00", wantErr: `no "-" between start and end`},
		{in: "9-17", wantErr: `"9" is not a time of day`},
		{in: "09:0-17:00", wantErr: "not a time of day"},
		{in: "-9:00-17:00", wantErr: "not a time of day"},
		{in: "+9:00-17:00", wantErr: "not a time of day"},
		{in: "", wantErr: `no "-"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSpan(tt.in)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("ParseSpan(%q) = %v, want error containing %q", tt.in, got, tt.wantErr)
				}
				msg := err.Error()
				if !strings.Contains(msg, tt.wantErr) {
					t.Errorf("ParseSpan(%q) error %q does not contain %q", tt.in, msg, tt.wantErr)
				}
				// Every error names the value and shows a form that works.
				if !strings.Contains(msg, `"`+tt.in+`"`) {
					t.Errorf("ParseSpan(%q) error %q does not name the value", tt.in, msg)
				}
				if !strings.Contains(msg, "HH:MM-HH:MM") && !strings.Contains(msg, `"00:00-24:00"`) {
					t.Errorf("ParseSpan(%q) error %q shows no expected form", tt.in, msg)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseSpan(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParseSpan(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestSpanContains(t *testing.T) {
	at := func(h, m int) int { return h*60 + m }
	tests := []struct {
		span   string
		minute int
		want   bool
	}{
		// Half-open: the start is in, the end is out.
		{"09:00-20:00", at(9, 0), true},
		{"09:00-20:00", at(8, 59), false},
		{"09:00-20:00", at(19, 59), true},
		{"09:00-20:00", at(20, 0), false},
		// Wrapping past midnight.
		{"21:00-08:00", at(21, 0), true},
		{"21:00-08:00", at(23, 59), true},
		{"21:00-08:00", at(0, 0), true},
		{"21:00-08:00", at(7, 59), true},
		{"21:00-08:00", at(8, 0), false},
		{"21:00-08:00", at(20, 59), false},
		{"21:00-08:00", at(12, 0), false},
		// Ending at midnight, written either way.
		{"22:00-24:00", at(23, 59), true},
		{"22:00-24:00", at(0, 0), false},
		{"22:00-00:00", at(23, 59), true},
		{"22:00-00:00", at(0, 0), false},
		{"00:00-24:00", at(0, 0), true},
		{"00:00-24:00", at(23, 59), true},
		// Not a minute of a day.
		{"00:00-24:00", -1, false},
		{"00:00-24:00", 1440, false},
	}
	for _, tt := range tests {
		s, err := ParseSpan(tt.span)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Contains(tt.minute); got != tt.want {
			t.Errorf("%s.Contains(%02d:%02d) = %v, want %v", tt.span, tt.minute/60, tt.minute%60, got, tt.want)
		}
	}
}

func TestSpanString(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"9:00-17:30", "09:00-17:30"},
		{"21:00-08:00", "21:00-08:00"},
		{"00:00-24:00", "00:00-24:00"},
		{"22:00-00:00", "22:00-00:00"},
	}
	for _, tt := range tests {
		s, err := ParseSpan(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.String(); got != tt.want {
			t.Errorf("ParseSpan(%q).String() = %q, want %q", tt.in, got, tt.want)
		}
	}
}
