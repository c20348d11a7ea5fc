package templates

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzLoad writes arbitrary bytes as a template file: Load must not panic,
// every error must name the file, and a set that loads must render or fail
// cleanly.
func FuzzLoad(f *testing.F) {
	f.Add([]byte("[sms]\ntext = \"{{.name}}\"\n"))
	f.Add([]byte("[email]\nhtml = \"\"\"\n<a href=\"{{.u}}\">x</a>\n\"\"\"\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, body []byte) {
		path := filepath.Join(dir, "en.toml")
		if err := os.WriteFile(path, body, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := Load(dir, fakeFormatters)
		if err != nil {
			for _, p := range ErrorProblems(err) {
				if p.File != path {
					t.Fatalf("problem %q names %q, want the file %q", p.Message, p.File, path)
				}
				if p.Line < 0 || p.Line > strings.Count(string(body), "\n")+1 {
					t.Fatalf("problem %q at line %d; the file has %d lines", p.Message, p.Line, strings.Count(string(body), "\n")+1)
				}
			}
			return
		}
		s.Problems("en")
		if strings.Contains(string(body), "range") {
			return // {{range 1000000000}} is slow by design, not broken
		}
		for _, sec := range s.Sections("en") {
			// Without data most renders fail on a missing key; that must
			// be an *Error naming the file, never a panic.
			_, err := s.Render("en", []string{sec}, map[string]any{}, time.UTC)
			var e *Error
			if err != nil && (!errors.As(err, &e) || e.File != path) {
				t.Errorf("render error %v is not an *Error naming %s", err, path)
			}
		}
	})
}

// FuzzMayHoldRTL holds the byte prefilter to the bidi tables: a string it
// clears has no right-to-left letter.
func FuzzMayHoldRTL(f *testing.F) {
	for _, s := range []string{"Sunita", "सुनिता", "محمد", "שלום", "山田", "Ünïcødé", "ࡀ", "ﭐ", "𐤀", "𞤀", "\xef", "\xe0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if _, rtl := strongDirections(s); rtl && !mayHoldRTL(s) {
			t.Fatalf("%q has a right-to-left letter the prefilter clears", s)
		}
	})
}
