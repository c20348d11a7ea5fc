package audiencetest_test

import (
	"bytes"
	"io"
	"testing"

	"herald/audience"
	"herald/audience/audiencetest"
)

func TestGenerateIsDeterministicAndValid(t *testing.T) {
	tests := []struct {
		n    int
		seed int64
	}{{0, 1}, {1, 1}, {5000, 42}}
	for _, tt := range tests {
		var a, b bytes.Buffer
		if err := audiencetest.Generate(&a, tt.n, tt.seed); err != nil {
			t.Fatal(err)
		}
		audiencetest.Generate(&b, tt.n, tt.seed)
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Fatalf("n=%d seed=%d: two runs differ", tt.n, tt.seed)
		}
		r, err := audience.NewReader(&a, "gen.csv", audience.Options{KnownChannels: []string{"email", "sms", "whatsapp"}})
		if err != nil {
			t.Fatal(err)
		}
		rows, countries := 0, map[string]bool{}
		for {
			rcp, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("generated row invalid: %v", err)
			}
			rows++
			countries[rcp.Country] = true
		}
		if rows != tt.n {
			t.Errorf("n=%d: read %d rows", tt.n, rows)
		}
		if tt.n >= 5000 && len(countries) != 9 {
			t.Errorf("countries = %v, want all 9", countries)
		}
	}
	var c bytes.Buffer
	audiencetest.Generate(&c, 50, 2)
	var d bytes.Buffer
	audiencetest.Generate(&d, 50, 3)
	if bytes.Equal(c.Bytes(), d.Bytes()) {
		t.Error("different seeds gave the same file")
	}
}
