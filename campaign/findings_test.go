package campaign

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"testing"
)

func TestGitHubAnnotationEscaping(t *testing.T) {
	for _, tc := range []struct {
		f    Finding
		want string
	}{
		{Finding{File: "c.csv", Line: 3, Severity: "error", Message: "plain"}, "::error file=c.csv,line=3::plain"},
		{Finding{File: "a,b:c.csv", Line: 1, Severity: "warning", Message: "100% sure"}, "::warning file=a%2Cb%3Ac.csv,line=1::100%25 sure"},
		// A newline would end the command; the runner decodes %0A back.
		{Finding{File: "t.toml", Severity: "error", Message: "line one\r\nline two: a, b"}, "::error file=t.toml::line one%0D%0Aline two: a, b"},
		{Finding{Severity: "error", Message: "no file"}, "::error::no file"},
	} {
		if got := tc.f.GitHub(); got != tc.want {
			t.Errorf("GitHub() = %q, want %q", got, tc.want)
		}
	}
}

func TestFindingPathsAreRelativeToTheWorkingDirectory(t *testing.T) {
	wd := t.TempDir()
	fs := []Finding{
		{File: filepath.Join(wd, "campaigns", "spring.toml")},
		{File: filepath.Join(filepath.Dir(wd), "herald.toml")},
		{File: ""},
	}
	RelativeTo(wd, fs)
	want := []string{"campaigns/spring.toml", "../herald.toml", ""}
	for i := range want {
		if fs[i].File != want[i] {
			t.Errorf("finding %d: file %q, want %q", i, fs[i].File, want[i])
		}
	}
	var b bytes.Buffer
	if err := WriteFindings(&b, "json", nil, CheckStats{}); err != nil {
		t.Fatal(err)
	}
	var arr []Finding
	if err := json.Unmarshal(b.Bytes(), &arr); err != nil || arr == nil {
		t.Errorf("json with no findings = %q, want []", b.String())
	}
}
