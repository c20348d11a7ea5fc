package campaign

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
)

// FindingFormats are the values of `herald check --format`.
var FindingFormats = []string{"text", "json", "github"}

// RelativeTo rewrites each finding's file relative to dir (the working
// directory), so editors, CI annotations and people all see the path as
// they would type it. A file that cannot be made relative stays as it is.
func RelativeTo(dir string, fs []Finding) {
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return
	}
	for i := range fs {
		if fs[i].File == "" {
			continue
		}
		abs, err := filepath.Abs(fs[i].File)
		if err != nil {
			continue
		}
		if rel, err := filepath.Rel(absDir, abs); err == nil {
			fs[i].File = filepath.ToSlash(rel)
		}
	}
}

// WriteFindings prints findings in one of FindingFormats, with the
// summary line for text and github (json is the array alone, for scripts).
func WriteFindings(w io.Writer, format string, fs []Finding, stats CheckStats) error {
	errs, warnings := CountFindings(fs)
	summary := fmt.Sprintf("check: %d errors, %d warnings (%d recipients, %d messages rendered)\n", errs, warnings, stats.Recipients, stats.Messages)
	switch format {
	case "json":
		if fs == nil {
			fs = []Finding{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(fs)
	case "github":
		var b strings.Builder
		for _, f := range fs {
			b.WriteString(f.GitHub())
			b.WriteByte('\n')
		}
		b.WriteString(summary)
		_, err := io.WriteString(w, b.String())
		return err
	case "text":
		var b strings.Builder
		for _, f := range fs {
			b.WriteString(f.String())
			b.WriteByte('\n')
		}
		b.WriteString(summary)
		_, err := io.WriteString(w, b.String())
		return err
	}
	return fmt.Errorf("unknown format %q: want %s", format, strings.Join(FindingFormats, ", "))
}

// GitHub formats the finding as a GitHub Actions workflow command, which
// the Actions runner turns into an annotation on the file's line:
// ::error file=F,line=N::message (or ::warning).
func (f Finding) GitHub() string {
	cmd := "error"
	if f.Severity == "warning" {
		cmd = "warning"
	}
	var props []string
	if f.File != "" {
		props = append(props, "file="+escapeGitHubProperty(f.File))
		if f.Line > 0 {
			props = append(props, "line="+strconv.Itoa(f.Line))
		}
	}
	head := "::" + cmd
	if len(props) > 0 {
		head += " " + strings.Join(props, ",")
	}
	return head + "::" + escapeGitHubData(f.Message)
}

// escapeGitHubData escapes a workflow command's message: the runner reads
// %, CR and LF as percent-encoded, and an unescaped newline would end the
// command.
func escapeGitHubData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// escapeGitHubProperty escapes a property value: as data, plus ':' and
// ',' which separate the command's parts.
func escapeGitHubProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
