package templates

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"

	"golang.org/x/text/language"
)

// Shared files (SPEC 1.4, "Shared layout"). A name starting with "_" is
// never a locale:
//
//   - _layout.html, _layout.txt: wrap every e-mail's HTML and text body at
//     {{.body}}; _layout.<locale>.html / .txt override them for a locale
//     and the locales under it (CLDR parent chain: _layout.pt.html serves
//     pt-BR.toml, _layout.en.html serves en-GB.toml);
//   - _<name>.tmpl: a partial, {{template "name" .}} in every locale's
//     templates, text and HTML, and in the layouts.
//
// Other files starting with "_" are left alone (notes, drafts).

// ErrBroken marks a render refused because a file it needs did not load.
// Load has reported that file's problems already, so `check` skips these.
var ErrBroken = errors.New("template file has errors")

// partial is a shared _<name>.tmpl.
type partial struct {
	name, path, src string
	broken          bool // reported by Load; it renders as nothing so its users still check
}

// layout is one _layout file, parsed once; it is bound per locale file
// like a section, with that locale's functions.
type layout struct {
	path   string
	fd     *field
	broken bool
}

var (
	partialNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
	layoutNameRE  = regexp.MustCompile(`^_layout(?:\.([^.]+))?\.(html|txt)$`)
	// Names a partial cannot take: the templates every field already has.
	reservedPartials = map[string]bool{"layout": true, "subject": true, "text": true, "html": true, "body": true}
)

// loadShared reads the "_" files of a directory: partials first, since the
// layouts and every locale file may call them.
func (s *Set) loadShared(names []string) []error {
	var errs []error
	for _, name := range names {
		if !strings.HasSuffix(name, ".tmpl") || strings.HasPrefix(name, "_layout.") {
			continue
		}
		path := filepath.Join(s.dir, name)
		pname := strings.TrimSuffix(strings.TrimPrefix(name, "_"), ".tmpl")
		switch {
		case !partialNameRE.MatchString(pname):
			errs = append(errs, &Error{File: path, Msg: fmt.Sprintf("partial name %q: use letters, digits, _, . and - (as in _footer.tmpl)", pname)})
			continue
		case reservedPartials[pname]:
			errs = append(errs, &Error{File: path, Msg: fmt.Sprintf("partial name %q is reserved; rename the file (as in _brand_%s.tmpl)", pname, pname)})
			continue
		}
		src, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, &Error{File: path, Msg: fmt.Sprintf("cannot read: %v", err), Err: err})
			continue
		}
		p := &partial{name: pname, path: path, src: string(src)}
		// Parse once on its own, so a syntax error is reported once, at its
		// own line, and not once per template that calls it.
		if _, err := template.New(pname).Funcs(protoFuncs).Parse(p.src); err != nil {
			p.broken = true
			file, line, msg := s.locate(err, path, identityLine)
			errs = append(errs, &Error{File: file, Line: line, Msg: "partial: " + msg, Err: err})
		}
		s.partials = append(s.partials, p)
		s.partialPaths[pname] = path
	}
	for _, name := range names {
		if !strings.HasPrefix(name, "_layout.") {
			continue
		}
		path := filepath.Join(s.dir, name)
		m := layoutNameRE.FindStringSubmatch(name)
		if m == nil {
			errs = append(errs, &Error{File: path, Msg: "a layout is named _layout.html, _layout.txt or _layout.<locale>.html / .txt (as in _layout.ar.html)"})
			continue
		}
		locale, kind := m[1], "."+m[2]
		key := ""
		if locale != "" {
			tag, err := language.Parse(locale)
			if err != nil {
				errs = append(errs, &Error{File: path, Msg: fmt.Sprintf("layout locale %q is not a BCP 47 language tag (%v); name it like _layout.pt-BR.html", locale, err), Err: err})
				continue
			}
			key = tag.String()
		}
		src, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, &Error{File: path, Msg: fmt.Sprintf("cannot read: %v", err), Err: err})
			continue
		}
		l := &layout{path: path}
		fd := &field{label: "layout", pos: valuePos{line: 1}, lines: identityLines(string(src))}
		if err := fd.parse(string(src), parseOpts{html: kind == ".html", isolate: true, keepPlain: true, partials: s.partials}); err != nil {
			l.broken = true
			errs = append(errs, s.layoutErr(l, err))
		} else {
			l.fd = fd
		}
		if s.layouts[kind] == nil {
			s.layouts[kind] = map[string]*layout{}
		}
		s.layouts[kind][key] = l
	}
	return errs
}

// layoutErr locates an error of a layout in the layout file, or in the
// partial it comes from.
func (s *Set) layoutErr(l *layout, err error) *Error {
	file, line, msg := s.locate(err, l.path, identityLine)
	if file != l.path {
		msg += " (called from " + filepath.Base(l.path) + ")"
	}
	return &Error{File: file, Line: line, Msg: "layout: " + msg, Err: err}
}

// layoutFor returns the most specific layout of a kind for a locale tag:
// the tag itself, then its CLDR parents, then the generic one; nil when
// there is none.
func (s *Set) layoutFor(kind string, tag language.Tag) *layout {
	byTag := s.layouts[kind]
	if len(byTag) == 0 {
		return nil
	}
	for t, i := tag, 0; t != language.Und && i < 8; t, i = t.Parent(), i+1 {
		if l := byTag[t.String()]; l != nil {
			return l
		}
	}
	return byTag[""]
}

func identityLine(n int) int { return n }

// identityLines maps each template line to the same file line: layouts and
// partials are template source from their first byte.
func identityLines(src string) []int {
	n := strings.Count(src, "\n") + 1
	lines := make([]int, n)
	for i := range lines {
		lines[i] = i + 1
	}
	return lines
}
