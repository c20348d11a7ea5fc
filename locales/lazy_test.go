package locales

import (
	"os"
	"testing"
)

// TestMain checks, before any test formats anything, that loading the
// package decoded no locale data: the table is static and each record is
// decoded on first use (`herald version` must stay small).
func TestMain(m *testing.M) {
	for i := range cldrDecoded {
		if cldrDecoded[i] != nil {
			println("locales: CLDR record", i, "was decoded at start-up; data must load on first use")
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}

// TestDataLoadsPerLocale: formatting for one locale decodes its record and
// no other.
func TestDataLoadsPerLocale(t *testing.T) {
	i, ok := cldrIndex("gsw")
	if !ok {
		t.Fatal("no gsw in the table")
	}
	r := cldrRecordOf[i]
	before := decodedCount()
	if cldrDecoded[r] != nil {
		t.Skip("gsw's record was decoded by an earlier test")
	}
	f, err := NewFormatter("gsw", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Date("2026-11-05", "long"); err != nil {
		t.Fatal(err)
	}
	if cldrDecoded[r] == nil {
		t.Fatal("gsw's record was not decoded")
	}
	if got := decodedCount(); got != before+1 {
		t.Errorf("formatting gsw decoded %d records; want 1", got-before)
	}
}

func decodedCount() int {
	n := 0
	for i := range cldrDecoded {
		if cldrDecoded[i] != nil {
			n++
		}
	}
	return n
}
