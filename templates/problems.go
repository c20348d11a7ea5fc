package templates

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/text/language"
)

// Problem is one finding of `herald check`.
type Problem struct {
	File     string
	Line     int    // 0 when the problem concerns the whole file
	Severity string // "error" or "warning"
	Message  string
}

// String formats the problem as check prints it: "file:line: message", or
// "file: message" without a line.
func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Message)
	}
	return fmt.Sprintf("%s: %s", p.File, p.Message)
}

// ErrorProblems turns an error from Load into problems, one per *Error it
// joins, so check can print load errors and Problems alike.
func ErrorProblems(err error) []Problem {
	if err == nil {
		return nil
	}
	var out []Problem
	var walk func(error)
	walk = func(err error) {
		var e *Error
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		if errors.As(err, &e) {
			out = append(out, Problem{File: e.File, Line: e.Line, Severity: "error", Message: e.Msg})
			return
		}
		out = append(out, Problem{Severity: "error", Message: err.Error()})
	}
	walk(err)
	return out
}

// Problems returns what is wrong with the set as a whole, with the
// campaign's default locale as the reference translation:
//
//   - a section of the default locale's file missing in another file
//     (a warning when [default] covers it, an error when nothing does);
//   - a template whose params count differs between locales: Meta approves
//     one count per template and refuses others with error 132000;
//   - a template name that is not lower-case letters, digits and _;
//   - a `language` not in Meta's form (pt-BR instead of pt_BR).
func (s *Set) Problems(defaultLocale string) []Problem {
	var out []Problem
	add := func(path string, line int, sev, format string, args ...any) {
		out = append(out, Problem{File: path, Line: line, Severity: sev, Message: fmt.Sprintf(format, args...)})
	}
	def := s.findLocale(defaultLocale)
	if def == nil && !s.isBroken(defaultLocale) {
		add(s.dir, 0, "error", "no template file for default_locale %q; add %s.toml or change default_locale to one of %s",
			defaultLocale, defaultLocale, strings.Join(s.locales, ", "))
	}

	for _, loc := range s.loaded() {
		f := s.files[loc]
		if def != nil && f != def {
			defName := filepath.Base(def.path)
			for _, name := range def.names {
				if f.sections[name] != nil {
					continue
				}
				switch {
				case name == "default":
					add(f.path, 0, "warning", "missing [default] (present in %s); channels without their own section cannot be rendered in %s", defName, loc)
				case f.sections["default"] != nil:
					add(f.path, 0, "warning", "missing [%s] (present in %s); [default] will be used", name, defName)
				default:
					add(f.path, 0, "error", "missing [%s] (present in %s) and no [default] to fall back on; add [%s] or [default]", name, defName, name)
				}
			}
		}
		for _, name := range f.names {
			sec := f.sections[name]
			if sec.template == "" {
				continue
			}
			if !templateNameRE.MatchString(sec.template) {
				add(f.path, sec.templateLine, "error", "[%s] template %q: a WhatsApp template name is lower-case letters, digits and underscores (at most 512), as in %q",
					name, sec.template, suggestTemplateName(sec.template))
			}
			if sec.language != "" {
				errMsg, warnMsg := checkMetaLanguage(sec.language)
				if errMsg != "" {
					add(f.path, sec.languageLine, "error", "[%s] language %q %s", name, sec.language, errMsg)
				}
				if warnMsg != "" {
					add(f.path, sec.languageLine, "warning", "[%s] language %q %s", name, sec.language, warnMsg)
				}
			}
		}
	}
	out = append(out, s.paramCountProblems(def)...)
	out = append(out, s.unusedLayouts()...)
	slices.SortStableFunc(out, func(a, b Problem) int {
		if c := strings.Compare(a.File, b.File); c != 0 {
			return c
		}
		return a.Line - b.Line
	})
	return out
}

// paramCountProblems compares, per section, every locale's params count
// with the default locale's (or, when it has no template there, the first
// locale's that has).
func (s *Set) paramCountProblems(def *file) []Problem {
	var out []Problem
	names := map[string]bool{}
	for _, f := range s.files {
		for name, sec := range f.sections {
			if sec.template != "" {
				names[name] = true
			}
		}
	}
	for _, name := range sortedKeys(names) {
		ref := def
		if ref == nil || ref.sections[name] == nil || ref.sections[name].template == "" {
			ref = nil
			for _, loc := range s.loaded() {
				if sec := s.files[loc].sections[name]; sec != nil && sec.template != "" {
					ref = s.files[loc]
					break
				}
			}
		}
		want := len(ref.sections[name].params)
		for _, loc := range s.loaded() {
			f := s.files[loc]
			sec := f.sections[name]
			if f == ref || sec == nil || sec.template == "" || len(sec.params) == want {
				continue
			}
			line := sec.paramsLine
			if line == 0 {
				line = sec.templateLine
			}
			out = append(out, Problem{File: f.path, Line: line, Severity: "error", Message: fmt.Sprintf(
				"[%s] params: %d parameter(s), but %s has %d; an approved WhatsApp template takes the same number in every language (Meta refuses others with error 132000)",
				name, len(sec.params), filepath.Base(ref.path), want)})
		}
	}
	return out
}

// findLocale finds the file for a locale written either as its file name
// or as an equivalent tag (pt_BR for pt-BR.toml).
func (s *Set) findLocale(locale string) *file {
	if f := s.files[locale]; f != nil {
		return f
	}
	tag, err := language.Parse(locale)
	if err != nil {
		return nil
	}
	for _, loc := range s.loaded() {
		if s.files[loc].tag == tag {
			return s.files[loc]
		}
	}
	return nil
}

// suggestTemplateName lower-cases a name and turns everything else into _.
func suggestTemplateName(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// isBroken reports whether the locale's file is there but did not load.
func (s *Set) isBroken(locale string) bool {
	if _, ok := s.broken[locale]; ok {
		return true
	}
	tag, err := language.Parse(locale)
	if err != nil {
		return false
	}
	for loc := range s.broken {
		if t, err := language.Parse(loc); err == nil && t == tag {
			return true
		}
	}
	return false
}

// loaded lists the locales whose files loaded, sorted.
func (s *Set) loaded() []string {
	out := make([]string, 0, len(s.files))
	for _, loc := range s.locales {
		if s.files[loc] != nil {
			out = append(out, loc)
		}
	}
	return out
}

// unusedLayouts warns about a per-locale layout no template file takes
// (_layout.de.html with no de*.toml): a typo in its name would otherwise
// leave the generic layout in use without a word.
func (s *Set) unusedLayouts() []Problem {
	served := map[string]bool{}
	for _, loc := range s.locales {
		tag, err := language.Parse(loc)
		if err != nil {
			continue
		}
		for t, i := tag, 0; t != language.Und && i < 8; t, i = t.Parent(), i+1 {
			served[t.String()] = true
		}
	}
	var out []Problem
	for _, kind := range sortedKeys(s.layouts) {
		for _, key := range sortedKeys(s.layouts[kind]) {
			if key == "" || served[key] {
				continue
			}
			out = append(out, Problem{File: s.layouts[kind][key].path, Severity: "warning", Message: fmt.Sprintf(
				"no template file takes this layout: there is no %s.toml, nor a locale under it (have %s)", key, strings.Join(s.locales, ", "))})
		}
	}
	return out
}
