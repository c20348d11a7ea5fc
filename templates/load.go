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
	"text/template"

	"github.com/BurntSushi/toml"
	"golang.org/x/text/language"
)

// Set is a loaded template directory. It is safe for concurrent use.
type Set struct {
	dir        string
	files      map[string]*file // by locale (the file's base name)
	locales    []string
	formatters FormatterFunc
}

type file struct {
	locale   string
	path     string
	tag      language.Tag
	sections map[string]*section
	names    []string // section names, sorted
	// unsubscribe holds [unsubscribe]'s texts (see UnsubscribeSection);
	// it is not a message section.
	unsubscribe map[string]string

	bound sync.Map // zone name -> *boundFile
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

// Load reads every <locale>.toml file in dir and parses its templates.
// formatters supplies date, number, money and plural for a locale and zone;
// it is called once per (locale, zone) on first render and may be nil when
// the templates do not use those functions.
//
// The error, when not nil, joins one *Error per problem, each naming the
// file and the line: TOML syntax, unknown keys, wrong value types, template
// syntax.
func Load(dir string, formatters FormatterFunc) (*Set, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("templates directory %s does not exist; create it with one <locale>.toml file per language (en.toml, pt-BR.toml)", dir)
		}
		return nil, fmt.Errorf("reading templates directory %s: %w", dir, err)
	}
	s := &Set{dir: dir, files: map[string]*file{}, formatters: formatters}
	var errs []error
	byTag := map[string]string{} // canonical tag -> first file name, to catch en.toml + EN.toml
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".toml") {
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
		src, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, &Error{File: path, Msg: fmt.Sprintf("cannot read: %v", err), Err: err})
			continue
		}
		f, ferrs := parseFile(path, locale, tag, string(src))
		errs = append(errs, ferrs...)
		if f != nil {
			s.files[locale] = f
			s.locales = append(s.locales, locale)
		}
	}
	if len(s.files) == 0 && len(errs) == 0 {
		return nil, fmt.Errorf("templates directory %s has no *.toml files; add one per locale (en.toml, pt-BR.toml)", dir)
	}
	if len(errs) > 0 {
		sortErrors(errs)
		return nil, errors.Join(errs...)
	}
	sort.Strings(s.locales)
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
func parseFile(path, locale string, tag language.Tag, src string) (*file, []error) {
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
	f := &file{locale: locale, path: path, tag: tag, sections: map[string]*section{}}
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
					if err := fd.parse(str, false, ""); err != nil {
						errs = append(errs, f.fieldErr(sec.name, fd, err))
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
			if err := fd.parse(tbl[fd.label].(string), fd == sec.html, escaper); err != nil {
				errs = append(errs, f.fieldErr(sec.name, fd, err))
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

// parse parses src with the function names known, so that a misspelt
// function is a load error; the real functions are bound per locale and
// zone in bind.
func (fd *field) parse(src string, html bool, escaper string) error {
	fd.size = len(src)
	if html {
		t, err := htmltemplate.New(fd.label).Option("missingkey=error").Funcs(htmltemplate.FuncMap(protoFuncs)).Parse(src)
		if err != nil {
			return err
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
	if escaper != "" {
		addEscaper(t, escaper)
	}
	fd.text = t
	return nil
}

// failWriter stops the load-time execution at the first output.
type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errStop }

var errStop = errors.New("stop")

var (
	// "template: text:3: function "dat" not defined"
	parseErrRE = regexp.MustCompile(`(?s)^template: [^:]*:(\d+): (.*)$`)
	// "template: text:1:12: executing "text" at <.order_id>: map has no entry ..."
	execErrRE = regexp.MustCompile(`(?s)^template: [^:]*:(\d+):\d+: executing "[^"]*" at <(.*?)>: (.*)$`)
	// "template: text: ..." without a position
	bareErrRE = regexp.MustCompile(`(?s)^template: [^:]*: (.*)$`)
)

// fieldErr turns a text/template or html/template error into an *Error at
// the line of the file where the failing template line is.
func (f *file) fieldErr(sec string, fd *field, err error) *Error {
	msg := err.Error()
	tline := 0
	var herr *htmltemplate.Error
	switch {
	case errors.As(err, &herr) && herr.ErrorCode == htmltemplate.ErrEndContext:
		// The description dumps html/template's internal state; say it
		// in the author's terms. It has no line: the key's line it is.
		msg = "ends inside an unclosed tag, attribute value, comment or script; close it"
	case errors.As(err, &herr) && herr.ErrorCode != htmltemplate.ErrorCode(0):
		tline, msg = herr.Line, herr.Description
	default:
		if m := execErrRE.FindStringSubmatch(msg); m != nil {
			tline, _ = strconv.Atoi(m[1])
			msg = m[3] + " (in {{" + m[2] + "}})"
		} else if m := parseErrRE.FindStringSubmatch(msg); m != nil {
			tline, _ = strconv.Atoi(m[1])
			msg = m[2]
		} else if m := bareErrRE.FindStringSubmatch(msg); m != nil {
			msg = m[1]
		}
	}
	line := fd.pos.line
	if tline > 0 {
		line = fd.pos.lineOf(fd.lines, tline)
	}
	return &Error{File: f.path, Line: line, Msg: fmt.Sprintf("[%s] %s: %s", sec, fd.label, msg), Err: err}
}
