package schedule

import (
	"testing"
)

// Seeds live in testdata/fuzz/FuzzParseSpan; any input must either be
// refused or give a span that reads back the same through String.
func FuzzParseSpan(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		span, err := ParseSpan(s)
		if err != nil {
			return
		}
		if err := span.check(); err != nil {
			t.Fatalf("ParseSpan(%q) = %+v, which is not a valid span: %v", s, span, err)
		}
		back, err := ParseSpan(span.String())
		if err != nil || back != span {
			t.Fatalf("ParseSpan(%q) = %+v; its String %q reads back as %+v, %v", s, span, span.String(), back, err)
		}
		// Half-open: the first minute is in, the minute at the end is out
		// (unless the span is the whole day, where the end is midnight).
		if !span.Contains(span.From) {
			t.Errorf("%v does not contain its start", span)
		}
		if end := span.To % minutesPerDay; span.Contains(end) && !(span.From == 0 && span.To == minutesPerDay) {
			t.Errorf("%v contains its end", span)
		}
	})
}

// Seeds live in testdata/fuzz/FuzzParseDuration; any input must either be
// refused or give a positive duration that FormatDuration writes back in a
// form ParseDuration reads as the same duration.
func FuzzParseDuration(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			return
		}
		if d <= 0 {
			t.Fatalf("ParseDuration(%q) = %v, want a positive duration or an error", s, d)
		}
		back, err := ParseDuration(FormatDuration(d))
		if err != nil || back != d {
			t.Fatalf("ParseDuration(%q) = %v; FormatDuration gives %q, which reads back as %v, %v", s, d, FormatDuration(d), back, err)
		}
	})
}
