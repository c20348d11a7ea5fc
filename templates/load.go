// Package templates loads a campaign's message templates and renders them for
// one recipient at a time.
//
// A template directory holds one TOML file per locale (en.toml, pt-BR.toml,
// zh-Hant.toml). Each file has sections, one per channel name ([sms],
// [email], [whatsapp], a configured name such as [vsms]) plus an optional
// [default] used by channels without their own. A section's values are Go
// text/template sources (html/template for `html`), executed with
// missingkey=error so a typo in a column name is an error, never "<no value>".
//
// Load parses every file once and reports every problem with the file and
// the line inside it. Render binds the locale-dependent functions (date,
// number, money, plural) for a (locale, time zone) pair on first use and
// caches the result: a campaign has few zones and many recipients, so the
// cost per message is one template execution.
package templates

import (
	"errors"
	"fmt"
	htmltemplate "html/template"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/template"
	"text/template/parse"

	"github.com/BurntSushi/toml"
	"golang.org/x/text/language"
)

// Set is a loaded template directory. It is safe for concurrent use.
type Set struct {
	dir        string
	files      map[string]*file  // by locale (the file's base name)
	broken     map[string]string // locale -> path of a file that did not load
	locales    []string          // every locale file, broken ones too
	formatters FormatterFunc

	partials     []*partial
	partialPaths map[string]string             // partial name -> its file
	layouts      map[string]map[string]*layout // ".html"/".txt" -> canonical tag ("" generic)
}

type file struct {
	locale   string
	path     string
	tag      language.Tag
	sections map[string]*section
	names    []string // section names, sorted
	dir      Direction
	// unsubscribe holds [unsubscribe]'s texts (see UnsubscribeSection);
	// it is not a message section.
	unsubscribe map[string]string

	layoutHTML, layoutText *layout // nil when the directory has none for this locale

	bound   sync.Map     // bindKey -> *boundFile
	aliases atomic.Int64 // bindKey entries stored for raw customer locales
}

// bindKey names one binding of a file's functions: a zone and either a
// customer locale as written in the audience or (the binding itself) the
// formatter's own locale, so customers of de-CH and de_CH share one.
type bindKey struct {
	zone, locale string
	resolved     bool
}

type section struct {
	name   string
	line   int // line of the [header]
	fields []*field

	subject, text, html *field
	params              []*field
	template, language  string
	templateLine        int
	languageLine        int
	paramsLine          int
	parseMode           string
}

// field is one template source: a key's string, or one element of params.
type field struct {
	label string   // "text", "params[1]": how errors name it
	size  int      // length of the source, to size the output buffer
	pos   valuePos // for lineOf
	lines []int    // file line of each template line
	text  *template.Template
	html  *htmltemplate.Template

	// The same without isolation, when parsed with keepPlain.
	textPlain *template.Template
	htmlPlain *htmltemplate.Template
}

// Error is a problem in a template file, or in rendering one. Load returns
// all of a directory's problems joined (errors.Join); Problems and
// ErrorProblems turn them into check output.
type Error struct {
	File string // path of the template file
	Line int    // line in the file, 0 when the problem is the whole file
	Msg  string // what is wrong, without the file and line
	Err  error  // the cause, for errors.Is and errors.As; may be nil
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

func (e *Error) Unwrap() error { return e.Err }

var allowedKeys = map[string]bool{
	"subject": true, "text": true, "html": true, "template": true,
	"language": true, "params": true, "parse_mode": true,
}

// Load reads every <locale>.toml file in dir and parses its templates, with
// the shared _layout files and _<name>.tmpl partials.
// formatters supplies date, number, money and plural for a template
// locale, a customer locale and a zone; it is called once per (locale,
// customer locale, zone) on first render and may be nil when the templates
// do not use those functions.
//
// The error, when not nil, joins one *Error per problem, each naming the
// file and the line: TOML syntax, unknown keys, wrong value types, template
// syntax, in the locale files, layouts and partials alike. A Set comes back
// even then, holding the files that loaded, so that `check` can still
// render them all; rendering a locale whose file did not load, or an
// e-mail whose layout did not, fails with an error wrapping ErrBroken.
func Load(dir string, formatters FormatterFunc) (*Set, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("templates directory %s does not exist; create it with one <locale>.toml file per language (en.toml, pt-BR.toml)", dir)
		}
		return nil, fmt.Errorf("reading templates directory %s: %w", dir, err)
	}
	s := &Set{dir: dir, files: map[string]*file{}, broken: map[string]string{}, formatters: formatters,
		partialPaths: map[string]string{}, layouts: map[string]map[string]*layout{}}
	var shared []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasPrefix(e.Name(), "_") {
			shared = append(shared, e.Name())
		}
	}
	errs := s.loadShared(shared)
	byTag := map[string]string{} // canonical tag -> first file name, to catch en.toml + EN.toml
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".toml") || strings.HasPrefix(name, "_") {
			continue
		}
		locale := strings.TrimSuffix(name, ".toml")
		path := filepath.Join(dir, name)
		tag, err := language.Parse(locale)
		if err != nil {
			errs = append(errs, &Error{File: path, Msg: fmt.Sprintf("file name %q is not a BCP 47 language tag (%v); name template files by locale: en.toml, pt-BR.toml, zh-Hant.toml", locale, err), Err: err})
			continue
		}
		if other, dup := byTag[tag.String()]; dup {
			errs = append(errs, &Error{File: path, Msg: fmt.Sprintf("locale %q is the same as %s.toml; keep one of the two files", locale, other)})
			continue
		}
		byTag[tag.String()] = locale
		s.locales = append(s.locales, locale)
		src, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, &Error{File: path, Msg: fmt.Sprintf("cannot read: %v", err), Err: err})
			s.broken[locale] = path
			continue
		}
		f, ferrs := s.parseFile(path, locale, tag, string(src))
		errs = append(errs, ferrs...)
		if f == nil {
			s.broken[locale] = path
			continue
		}
		f.layoutHTML, f.layoutText = s.layoutFor(".html", tag), s.layoutFor(".txt", tag)
		s.files[locale] = f
	}
	if len(s.locales) == 0 && len(errs) == 0 {
		return nil, fmt.Errorf("templates directory %s has no *.toml files; add one per locale (en.toml, pt-BR.toml)", dir)
	}
	sort.Strings(s.locales)
	if len(errs) > 0 {
		sortErrors(errs)
		return s, errors.Join(errs...)
	}
	return s, nil
}

func sortErrors(errs []error) {
	slices.SortStableFunc(errs, func(a, b error) int {
		var ea, eb *Error
		if !errors.As(a, &ea) || !errors.As(b, &eb) {
			return 0
		}
		if c := strings.Compare(ea.File, eb.File); c != 0 {
			return c
		}
		return ea.Line - eb.Line
	})
}

// parseFile decodes one locale file. It returns nil and the problems when
// the file cannot be used.
func (s *Set) parseFile(path, locale string, tag language.Tag, src string) (*file, []error) {
	var doc map[string]any
	if _, err := toml.Decode(src, &doc); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			msg := pe.Message
			if pe.Usage != "" {
				// Usage is a paragraph of guidance; its first line is enough.
				msg += " (" + strings.TrimSpace(strings.SplitN(strings.TrimSpace(pe.Usage), "\n", 2)[0]) + ")"
			}
			return nil, []error{&Error{File: path, Line: pe.Position.Line, Msg: "TOML syntax: " + msg, Err: err}}
		}
		return nil, []error{&Error{File: path, Msg: "TOML: " + err.Error(), Err: err}}
	}
	pos := scanPositions(src)
	f := &file{locale: locale, path: path, tag: tag, sections: map[string]*section{}, dir: tagDirection(tag)}
	var errs []error
	fail := func(line int, format string, args ...any) {
		errs = append(errs, &Error{File: path, Line: line, Msg: fmt.Sprintf(format, args...)})
	}
	for name, v := range doc {
		if name == UnsubscribeSection {
			var uerrs []error
			f.unsubscribe, uerrs = parseUnsubscribe(path, v, pos)
			errs = append(errs, uerrs...)
			continue
		}
		tbl, ok := v.(map[string]any)
		if !ok {
			if _, isArr := v.([]map[string]any); isArr {
				fail(pos.tables[pathKey(name)], "[[%s]] is an array of tables; write [%s] once", name, name)
				continue
			}
			fail(lineOfValue(pos, name), "key %q is outside any section; put it under a section such as [default] or [%s]", name, "sms")
			continue
		}
		sec := &section{name: name, line: pos.tables[pathKey(name)]}
		if sec.line == 0 {
			sec.line = lineOfValue(pos, name) // an inline table or dotted keys
		}
		keys := make([]string, 0, len(tbl))
		for k := range tbl {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			val := tbl[k]
			vp := pos.values[pathKey(name, k)]
			line := sec.line
			if vp != nil {
				line = vp.line
			} else if l, ok := pos.tables[pathKey(name, k)]; ok {
				line = l
			}
			if !allowedKeys[k] {
				hint := "allowed: subject, text, html, template, language, params, parse_mode"
				if _, isTable := val.(map[string]any); isTable {
					hint = "section names cannot contain dots; " + hint
				}
				fail(line, "unknown key %q in [%s] (%s)", k, name, hint)
				continue
			}
			if vp == nil {
				vp = &valuePos{line: line}
			}
			if k == "params" {
				arr, ok := val.([]any)
				if !ok {
					fail(line, "[%s] params: must be an array of strings like [\"{{.name}}\"], got %s", name, tomlType(val))
					continue
				}
				sec.paramsLine = line
				for i, el := range arr {
					str, ok := el.(string)
					if !ok {
						fail(line, "[%s] params[%d]: must be a string, got %s", name, i, tomlType(el))
						continue
					}
					var lines []int
					if i < len(vp.elems) {
						lines = vp.elems[i]
					}
					fd := &field{label: fmt.Sprintf("params[%d]", i), pos: *vp, lines: lines}
					// A param is a value a provider puts into its own approved
					// text: it goes as it is, never wrapped in isolates.
					if err := fd.parse(str, parseOpts{partials: s.partials}); err != nil {
						errs = append(errs, s.fieldErr(f, sec.name, fd, err))
					}
					sec.params = append(sec.params, fd)
				}
				continue
			}
			str, ok := val.(string)
			if !ok {
				fail(line, "[%s] %s: must be a string, got %s", name, k, tomlType(val))
				continue
			}
			switch k {
			case "template":
				sec.template, sec.templateLine = str, line
				continue
			case "language":
				sec.language, sec.languageLine = str, line
				continue
			case "parse_mode":
				if str != "" && str != "HTML" && str != "MarkdownV2" {
					fail(line, "[%s] parse_mode %q: must be \"HTML\", \"MarkdownV2\" or \"\" (plain text), spelled exactly so", name, str)
				}
				sec.parseMode = str
				continue
			}
			fd := &field{label: k, pos: *vp, lines: vp.lines}
			switch k {
			case "subject":
				sec.subject = fd
			case "text":
				sec.text = fd
			case "html":
				sec.html = fd
			}
		}
		// Parse after the loop: text's escaping depends on parse_mode,
		// which may come later in the file.
		for _, fd := range []*field{sec.subject, sec.text, sec.html} {
			if fd == nil {
				continue
			}
			escaper := ""
			if fd == sec.text {
				escaper = escaperFor(sec.parseMode)
			}
			opts := parseOpts{html: fd == sec.html, escaper: escaper, isolate: true, keepPlain: f.dir != RTL, partials: s.partials}
			if err := fd.parse(tbl[fd.label].(string), opts); err != nil {
				errs = append(errs, s.fieldErr(f, sec.name, fd, err))
			}
		}
		if sec.text == nil && sec.html == nil && sec.template == "" && tbl["text"] == nil && tbl["html"] == nil {
			fail(sec.line, "[%s] has no text, html or template; add text = \"...\"", name)
		}
		if sec.template == "" && (tbl["params"] != nil || tbl["language"] != nil) {
			fail(sec.line, "[%s] has params or language but no template; they describe a WhatsApp template: add template = \"name_at_meta\"", name)
		}
		f.sections[name] = sec
		f.names = append(f.names, name)
	}
	sort.Strings(f.names)
	if len(errs) > 0 {
		return nil, errs
	}
	return f, nil
}

func lineOfValue(pos positions, parts ...string) int {
	if vp := pos.values[pathKey(parts...)]; vp != nil {
		return vp.line
	}
	return 0
}

func tomlType(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "a table"
	}
	return fmt.Sprintf("a %T", v)
}

// parseOpts says how a template source is parsed.
type parseOpts struct {
	html      bool       // html/template, for an e-mail's html
	escaper   string     // a Telegram escaper appended to every action
	isolate   bool       // isolate values of the other direction (see bidi.go)
	keepPlain bool       // with isolate: keep a variant without it too
	partials  []*partial // made available to {{template "name" .}}
}

// parse parses src with the function names known, so that a misspelt
// function is a load error; the real functions are bound per locale and
// zone in bind.
func (fd *field) parse(src string, o parseOpts) error {
	if o.isolate && o.keepPlain {
		var plain field
		po := o
		po.isolate, po.keepPlain = false, false
		if err := plain.parse(src, po); err != nil {
			return err
		}
		fd.textPlain, fd.htmlPlain = plain.text, plain.html
	}
	fd.size = len(src)
	if o.html {
		t, err := htmltemplate.New(fd.label).Option("missingkey=error").Funcs(htmltemplate.FuncMap(protoFuncs)).Parse(src)
		if err != nil {
			return err
		}
		for _, p := range o.partials {
			if _, err := t.New(p.name).Parse(partialSource(p)); err != nil {
				return err
			}
		}
		if o.isolate {
			var trees []*parse.Tree
			for _, x := range t.Templates() {
				if x.Tree != nil {
					trees = append(trees, x.Tree)
				}
			}
			addIsolation(trees)
		}
		// html/template finds context errors (an action inside an unclosed
		// attribute, say) only when it first executes; do that on a clone
		// with no data so they surface here, with their line.
		c, err := t.Clone()
		if err != nil {
			return err
		}
		var herr *htmltemplate.Error
		if err := c.Execute(failWriter{}, nil); errors.As(err, &herr) && herr.ErrorCode != htmltemplate.ErrorCode(0) {
			return err
		}
		fd.html = t
		return nil
	}
	t, err := template.New(fd.label).Option("missingkey=error").Funcs(protoFuncs).Parse(src)
	if err != nil {
		return err
	}
	for _, p := range o.partials {
		if _, err := t.New(p.name).Parse(partialSource(p)); err != nil {
			return err
		}
	}
	if o.isolate {
		var trees []*parse.Tree
		for _, x := range t.Templates() {
			if x.Tree != nil {
				trees = append(trees, x.Tree)
			}
		}
		addIsolation(trees)
	}
	if o.escaper != "" {
		addEscaper(t, o.escaper)
	}
	fd.text = t
	return nil
}

// partialSource is what a template gets for a partial: its source, or, when
// it does not parse (Load reported it), a body that prints nothing, so the
// templates that call it are still checked.
func partialSource(p *partial) string {
	if p.broken {
		return `{{""}}`
	}
	return p.src
}

// failWriter stops the load-time execution at the first output.
type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errStop }

var errStop = errors.New("stop")

var (
	// "template: text:3: function "dat" not defined"
	parseErrRE = regexp.MustCompile(`(?s)^template: ([^:]*):(\d+): (.*)$`)
	// "template: text:1:12: executing "text" at <.order_id>: map has no entry ..."
	execErrRE = regexp.MustCompile(`(?s)^template: ([^:]*):(\d+):\d+: executing "[^"]*" at <(.*?)>: (.*)$`)
	// "template: text: ..." without a position
	bareErrRE = regexp.MustCompile(`(?s)^template: [^:]*: (.*)$`)
)

// locate finds where a text/template or html/template error is: in a
// partial's file when the failing template is one (its lines are the
// file's), else in home, whose template line n is file line homeLine(n)
// (0 when the error has no line). msg is the error in the author's terms.
func (s *Set) locate(err error, home string, homeLine func(int) int) (file string, line int, msg string) {
	msg = err.Error()
	name, tline := "", 0
	var herr *htmltemplate.Error
	switch {
	case errors.As(err, &herr) && herr.ErrorCode == htmltemplate.ErrEndContext:
		// The description dumps html/template's internal state; say it
		// in the author's terms. It has no line: the key's line it is.
		msg = "ends inside an unclosed tag, attribute value, comment or script; close it"
		name = herr.Name
	case errors.As(err, &herr) && herr.ErrorCode != htmltemplate.ErrorCode(0):
		name, tline, msg = herr.Name, herr.Line, herr.Description
	default:
		if m := execErrRE.FindStringSubmatch(msg); m != nil {
			name = m[1]
			tline, _ = strconv.Atoi(m[2])
			msg = m[4] + " (in {{" + m[3] + "}})"
		} else if m := parseErrRE.FindStringSubmatch(msg); m != nil {
			name = m[1]
			tline, _ = strconv.Atoi(m[2])
			msg = m[3]
		} else if m := bareErrRE.FindStringSubmatch(msg); m != nil {
			msg = m[1]
		}
	}
	// The isolation herald appends is not the author's: keep it out of
	// quoted actions.
	msg = strings.ReplaceAll(msg, " | "+isolateName, "")
	// html/template names the copies it makes of a template for each
	// context it is called in "name$htmltemplate_...".
	name, _, _ = strings.Cut(name, "$")
	if path, ok := s.partialPaths[name]; ok {
		return path, tline, msg
	}
	if tline == 0 {
		return home, homeLine(0), msg
	}
	return home, homeLine(tline), msg
}

// fieldErr turns a text/template or html/template error into an *Error at
// the line of the file where the failing template line is.
func (s *Set) fieldErr(f *file, sec string, fd *field, err error) *Error {
	file, line, msg := s.locate(err, f.path, func(tline int) int {
		if tline > 0 {
			return fd.pos.lineOf(fd.lines, tline)
		}
		return fd.pos.line
	})
	if file != f.path {
		return &Error{File: file, Line: line, Msg: fmt.Sprintf("partial: %s (called from [%s] %s of %s)", msg, sec, fd.label, filepath.Base(f.path)), Err: err}
	}
	return &Error{File: file, Line: line, Msg: fmt.Sprintf("[%s] %s: %s", sec, fd.label, msg), Err: err}
}
