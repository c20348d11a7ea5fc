package audience

import (
	"bytes"
	"encoding/csv"
	"testing"

	"herald/audience/audiencetest"
)

// BenchmarkPhones validates the phone numbers of a generated audience
// (four in five international, one in five national with the country,
// nine countries): the part of reading that issue 11 found to be 38% of
// `plan`'s CPU.
func BenchmarkPhones(b *testing.B) {
	var buf bytes.Buffer
	if err := audiencetest.Generate(&buf, 20_000, 3); err != nil {
		b.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		b.Fatal(err)
	}
	rows = rows[1:] // phone is column 3, country column 6
	normPhone(rows[0][3], rows[0][6], true)
	b.ResetTimer()
	for b.Loop() {
		for _, r := range rows {
			if _, _, err := normPhone(r[3], r[6], true); err != nil {
				b.Fatalf("%q %q: %v", r[3], r[6], err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(rows)), "ns/phone")
}
