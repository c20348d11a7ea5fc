package templates

import (
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io"
	"sort"
	"strings"
	"text/template"
	"time"

	"herald/channels"
)

// Formatter formats values for one locale and time zone. The locales
// package implements it; templates only consumes it.
type Formatter interface {
	Date(v any, style string) (string, error)
	Number(v any) (string, error)
	Money(v any, currency string) (string, error)
	Plural(n any, forms ...string) (string, error)
}

// FormatterFunc returns the Formatter for a template locale (a file's base
// name, "pt-BR"), the recipient's own locale as the audience gives it
// ("pt-PT", possibly empty or malformed: formats follow the customer's
// region) and the recipient's zone.
type FormatterFunc func(locale, customer string, zone *time.Location) (Formatter, error)

// localeNamer is implemented by Formatters that can name the locale they
// format for; bindings are then shared by every customer locale that
// resolves to it.
type localeNamer interface{ Locale() string }

// maxAliases bounds, per file, the customer locale strings remembered: an
// audience column of distinct junk must not grow memory with its size.
const maxAliases = 4096

// Content is one rendered section.
type Content struct {
	Section   string // the section used ("sms", or "default" when the channel has none)
	Subject   string
	Text      string
	HTML      string
	ParseMode string // Telegram: "HTML", "MarkdownV2" or ""; data in Text is already escaped for it

	// Template is set when the section names a provider template
	// (WhatsApp); Params are rendered, Language is the section's `language`
	// or MetaLanguage of the file's locale.
	Template *channels.ProviderTemplate
}

// Dir returns the directory the set was loaded from.
func (s *Set) Dir() string { return s.dir }

// Locales returns the locales (file base names) in sorted order.
func (s *Set) Locales() []string { return append([]string(nil), s.locales...) }

// Sections returns the section names of a locale's file, sorted; nil when
// there is no such file.
func (s *Set) Sections(locale string) []string {
	f := s.files[locale]
	if f == nil {
		return nil
	}
	return append([]string(nil), f.names...)
}

// Has reports whether the locale's file has the section.
func (s *Set) Has(locale, section string) bool {
	f := s.files[locale]
	return f != nil && f.sections[section] != nil
}

// File returns the path of the locale's file, or "" when there is none.
func (s *Set) File(locale string) string {
	if f := s.files[locale]; f != nil {
		return f.path
	}
	return ""
}

// Pick returns the first of sections present in the locale's file, the one
// Render would use, and false when none is.
func (s *Set) Pick(locale string, sections []string) (string, bool) {
	f := s.files[locale]
	if f == nil {
		return "", false
	}
	for _, name := range sections {
		if f.sections[name] != nil {
			return name, true
		}
	}
	return "", false
}

// boundFile holds a file's templates with the functions of one (locale,
// zone) bound. Executing a template is safe for concurrent use.
type boundFile struct {
	sections map[string]*boundSection
}

type boundSection struct {
	subject, text, html exec
	params              []exec
}

type exec interface {
	Execute(w io.Writer, data any) error
}

// Render renders the first section of sections (the channel's preference
// order, e.g. ["vsms", "sms", "default"]) present in the locale's file, with
// dates shown in zone (nil means UTC).
//
// Errors name the file, the line of the failing template line and the
// failing action; errors from the Formatter are wrapped, so errors.Is and
// errors.As reach them.
func (s *Set) Render(locale string, sections []string, data map[string]any, zone *time.Location) (Content, error) {
	return s.RenderFor(locale, "", sections, data, zone)
}

// RenderFor is Render for a customer whose own locale is customer ("de-CH"):
// the words come from the template locale's file, dates, numbers and money
// are formatted for the customer's region (see FormatterFunc).
func (s *Set) RenderFor(locale, customer string, sections []string, data map[string]any, zone *time.Location) (Content, error) {
	f := s.files[locale]
	if f == nil {
		return Content{}, fmt.Errorf("no template file for locale %q in %s (have %s)", locale, s.dir, strings.Join(s.locales, ", "))
	}
	name, ok := s.Pick(locale, sections)
	if !ok {
		return Content{}, &Error{File: f.path, Msg: fmt.Sprintf("none of the sections %s is present; add one of them", bracketed(sections))}
	}
	if zone == nil {
		zone = time.UTC
	}
	b, err := s.bound(f, customer, zone)
	if err != nil {
		return Content{}, err
	}
	sec, bs := f.sections[name], b.sections[name]
	c := Content{Section: name, ParseMode: sec.parseMode}
	var buf strings.Builder
	run := func(fd *field, t exec, dst *string) error {
		if t == nil {
			return nil
		}
		buf.Reset()
		// The output is usually about as long as the source: one
		// allocation instead of a doubling series.
		buf.Grow(fd.size + fd.size/2)
		if err := t.Execute(&buf, data); err != nil {
			return f.fieldErr(name, fd, err)
		}
		*dst = buf.String()
		return nil
	}
	if err := run(sec.subject, bs.subject, &c.Subject); err != nil {
		return Content{}, err
	}
	if err := run(sec.text, bs.text, &c.Text); err != nil {
		return Content{}, err
	}
	if err := run(sec.html, bs.html, &c.HTML); err != nil {
		return Content{}, err
	}
	if sec.template != "" {
		pt := &channels.ProviderTemplate{Name: sec.template, Language: sec.language}
		if pt.Language == "" {
			pt.Language = MetaLanguage(locale)
		}
		if len(bs.params) > 0 {
			pt.Params = make([]string, len(bs.params))
			for i, t := range bs.params {
				if err := run(sec.params[i], t, &pt.Params[i]); err != nil {
					return Content{}, err
				}
			}
		}
		c.Template = pt
	}
	return c, nil
}

func bracketed(names []string) string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = "[" + n + "]"
	}
	return strings.Join(out, ", ")
}

// bound returns the file's templates bound for a customer locale and a
// zone, building them on first use. Zones are told apart by name
// (Location.String), which is what IANA zones from the audience are.
func (s *Set) bound(f *file, customer string, zone *time.Location) (*boundFile, error) {
	raw := bindKey{zone: zone.String(), locale: customer}
	if b, ok := f.bound.Load(raw); ok {
		return b.(*boundFile), nil
	}
	funcs, fm, err := s.funcsFor(f, customer, zone)
	if err != nil {
		return nil, err
	}
	key := raw
	if n, ok := fm.(localeNamer); ok {
		key = bindKey{zone: raw.zone, locale: n.Locale(), resolved: true}
		if b, ok := f.bound.Load(key); ok {
			f.alias(raw, b)
			return b.(*boundFile), nil
		}
	}
	b := &boundFile{sections: make(map[string]*boundSection, len(f.sections))}
	for name, sec := range f.sections {
		bs := &boundSection{}
		var err error
		if bs.subject, err = bindField(sec.subject, funcs); err != nil {
			return nil, err
		}
		if bs.text, err = bindField(sec.text, funcs); err != nil {
			return nil, err
		}
		if bs.html, err = bindField(sec.html, funcs); err != nil {
			return nil, err
		}
		for _, p := range sec.params {
			t, err := bindField(p, funcs)
			if err != nil {
				return nil, err
			}
			bs.params = append(bs.params, t)
		}
		b.sections[name] = bs
	}
	// Two goroutines may build the same binding at once; keep the first.
	got, _ := f.bound.LoadOrStore(key, b)
	if key != raw {
		f.alias(raw, got)
	}
	return got.(*boundFile), nil
}

// alias remembers which binding a raw customer locale resolved to.
func (f *file) alias(raw bindKey, b any) {
	if f.aliases.Load() < maxAliases {
		if _, loaded := f.bound.LoadOrStore(raw, b); !loaded {
			f.aliases.Add(1)
		}
	}
}

// bindField clones the parsed template and binds the real functions. The
// parsed original is never executed, which html/template requires for
// Clone.
func bindField(fd *field, funcs template.FuncMap) (exec, error) {
	switch {
	case fd == nil:
		return nil, nil
	case fd.html != nil:
		c, err := fd.html.Clone()
		if err != nil {
			return nil, err
		}
		return c.Funcs(htmltemplate.FuncMap(funcs)), nil
	case fd.text != nil:
		c, err := fd.text.Clone()
		if err != nil {
			return nil, err
		}
		return c.Funcs(funcs), nil
	}
	return nil, nil
}

// funcsFor builds the function map for a file's locale, a customer locale
// and a zone.
func (s *Set) funcsFor(f *file, customer string, zone *time.Location) (template.FuncMap, Formatter, error) {
	m := localeFuncs(f.tag)
	if s.formatters == nil {
		return m, nil, nil
	}
	fm, err := s.formatters(f.locale, customer, zone)
	if err != nil {
		return nil, nil, &Error{File: f.path, Msg: fmt.Sprintf("no formatter for locale %q in zone %s: %v", f.locale, zone, err), Err: err}
	}
	m["date"] = fm.Date
	m["number"] = fm.Number
	m["money"] = fm.Money
	m["plural"] = fm.Plural
	return m, fm, nil
}

// sortedKeys returns a map's keys in order, for deterministic output.
func sortedKeys[M ~map[string]V, V any](m M) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

var errNoFormatter = errors.New("no locale formatter configured (pass a FormatterFunc to templates.Load)")
