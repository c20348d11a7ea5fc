package csvsafe

import (
	"bytes"
	"encoding/csv"
	"testing"
)

func TestCellDefusesFormulaStarts(t *testing.T) {
	for in, want := range map[string]string{
		"=1+2":           "'=1+2",
		"@SUM(A1)":       "'@SUM(A1)",
		"+1":             "'+1",
		"-2":             "'-2",
		"\tx":            "'\tx",
		"\rx":            "'\rx",
		"":               "",
		"c-001":          "c-001",
		"a=b":            "a=b",
		"'already":       "'already",
		"+62*******890":  "'+62*******890",
		"a***@ex.com":    "a***@ex.com",
		"2026-11-23T10Z": "2026-11-23T10Z",
	} {
		if got := Cell(in); got != want {
			t.Errorf("Cell(%q) = %q, want %q", in, got, want)
		}
	}
}

// What a spreadsheet reads back: the cell text with the quote in front,
// never a formula; the CSV itself stays valid and quoted where needed.
func TestWriterQuotesEveryCell(t *testing.T) {
	var b bytes.Buffer
	w := NewWriter(&b)
	if err := w.Write([]string{"=HYPERLINK(\"http://x\",\"a,b\")", "ok", "-2"}); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
	rec, err := csv.NewReader(&b).Read()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"'=HYPERLINK(\"http://x\",\"a,b\")", "ok", "'-2"}
	for i := range want {
		if rec[i] != want[i] {
			t.Errorf("cell %d = %q, want %q", i, rec[i], want[i])
		}
	}
}
