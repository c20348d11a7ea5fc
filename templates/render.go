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

// Locales returns the locales (file base names) in sorted order, those
// whose file did not load included: a customer is matched to the file
// meant for them whether or not it is broken.
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
	sections               map[string]*boundSection
	layoutHTML, layoutText exec

	// plain is the same without isolation, for a left-to-right file whose
	// data has no right-to-left letter (nearly every message): it spares
	// one function call per action. nil for a right-to-left file.
	plain *boundFile
}

type boundSection struct {
	subject, text, html exec
	params              []exec
}

type exec interface {
	Execute(w io.Writer, data any) error
}

// Request is one message to render.
type Request struct {
	Locale   string         // the template locale: a file's base name
	Sections []string       // the channel's sections in order of preference, e.g. ["vsms", "sms", "default"]
	Data     map[string]any // audience columns and the message's fields (.locale, .unsubscribe_url, ...)
	Zone     *time.Location // dates are shown in it; nil means UTC

	// Email wraps the text and HTML bodies in the directory's layouts.
	Email bool
	// CustomerLocale is the recipient's own locale (BCP 47, "de-CH"): dates,
	// numbers and money are formatted for its region in the template's
	// language (see FormatterFunc). When it or the template locale is
	// right-to-left, the HTML is marked with the template's direction and
	// language (see RenderMessage).
	CustomerLocale string
	// DataChecked says DataRTL holds NeedsIsolation(Data), worked out by
	// the caller once for several messages that share their data (a row's
	// channel and its fallbacks) instead of once per message.
	DataChecked, DataRTL bool
}

// Render renders the first section of sections (the channel's preference
// order, e.g. ["vsms", "sms", "default"]) present in the locale's file, with
// dates shown in zone (nil means UTC). It is RenderMessage without layouts.
func (s *Set) Render(locale string, sections []string, data map[string]any, zone *time.Location) (Content, error) {
	return s.RenderMessage(Request{Locale: locale, Sections: sections, Data: data, Zone: zone})
}

// RenderFor is Render for a customer whose own locale is customer ("de-CH"):
// the words come from the template locale's file, dates, numbers and money
// are formatted for the customer's region (see FormatterFunc).
func (s *Set) RenderFor(locale, customer string, sections []string, data map[string]any, zone *time.Location) (Content, error) {
	return s.RenderMessage(Request{Locale: locale, CustomerLocale: customer, Sections: sections, Data: data, Zone: zone})
}

// RenderMessage renders a message.
//
// Values of the direction opposite to the template's are isolated: FSI ...
// PDI in the subject and text, <bdi> in the HTML. The HTML of a right-to-left
// template, or of any template read by a right-to-left customer, gets dir
// and lang on its root element (<html>, else <body>, else a wrapping
// <div>): dir is the template's own direction, because that is the
// direction of the words in it. An English file read by a Hebrew customer
// is marked dir="ltr" lang="en" so that a right-to-left mail client does not
// turn it around, and the customer's Hebrew name in it is isolated.
//
// Errors name the file, the line of the failing template line and the
// failing action; errors from the Formatter are wrapped, so errors.Is and
// errors.As reach them.
func (s *Set) RenderMessage(r Request) (Content, error) {
	return s.render(r, false)
}

// Validate reports the error RenderMessage would return for r, without
// keeping the output: the templates run into a discarding writer, so a
// pass that only has to prove every message renders (send's check before
// the first message leaves) allocates no text. An e-mail through layouts is
// rendered in full, because a layout sees the rendered body.
func (s *Set) Validate(r Request) error {
	_, err := s.render(r, true)
	return err
}

func (s *Set) render(r Request, discard bool) (Content, error) {
	locale, customer, sections, data, zone := r.Locale, r.CustomerLocale, r.Sections, r.Data, r.Zone
	f := s.files[locale]
	if f == nil {
		if path, ok := s.broken[locale]; ok {
			return Content{}, &Error{File: path, Msg: "did not load (its problems are reported on their own)", Err: ErrBroken}
		}
		return Content{}, fmt.Errorf("no template file for locale %q in %s (have %s)", locale, s.dir, strings.Join(s.locales, ", "))
	}
	name, ok := s.Pick(locale, sections)
	if !ok {
		return Content{}, &Error{File: f.path, Msg: fmt.Sprintf("none of the sections %s is present; add one of them", bracketed(sections))}
	}
	if r.Email {
		for _, l := range []*layout{f.layoutHTML, f.layoutText} {
			if l != nil && l.broken {
				return Content{}, &Error{File: l.path, Msg: "did not load (its problems are reported on their own)", Err: ErrBroken}
			}
		}
	}
	if zone == nil {
		zone = time.UTC
	}
	b, err := s.bound(f, customer, zone)
	if err != nil {
		return Content{}, err
	}
	if b.plain != nil && !r.needsIsolation() {
		b = b.plain
	}
	sec, bs := f.sections[name], b.sections[name]
	c := Content{Section: name, ParseMode: sec.parseMode}
	if discard && !(r.Email && (b.layoutHTML != nil || b.layoutText != nil)) {
		return c, s.discardSection(f, name, sec, bs, data)
	}
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
			return s.fieldErr(f, name, fd, err)
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
	if r.Email {
		if err := s.applyLayouts(f, b, &c, data); err != nil {
			return Content{}, err
		}
	}
	if c.HTML != "" {
		c.HTML = isolatesToBDI(c.HTML)
		if f.dir == RTL || LocaleDirection(r.CustomerLocale) == RTL {
			c.HTML = markDirection(c.HTML, f.dir, f.tag.String())
		}
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

// discardSection executes every template of a section, output dropped.
func (s *Set) discardSection(f *file, name string, sec *section, bs *boundSection, data map[string]any) error {
	fields := []*field{sec.subject, sec.text, sec.html}
	execs := []exec{bs.subject, bs.text, bs.html}
	if sec.template != "" {
		fields = append(fields, sec.params...)
		execs = append(execs, bs.params...)
	}
	for i, t := range execs {
		if t == nil {
			continue
		}
		if err := t.Execute(io.Discard, data); err != nil {
			return s.fieldErr(f, name, fields[i], err)
		}
	}
	return nil
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
	b, err := bindFile(f, funcs, false)
	if err != nil {
		return nil, err
	}
	if f.dir != RTL {
		if b.plain, err = bindFile(f, funcs, true); err != nil {
			return nil, err
		}
	}
	// Two goroutines may build the same binding at once; keep the first.
	got, _ := f.bound.LoadOrStore(key, b)
	if key != raw {
		f.alias(raw, got)
	}
	return got.(*boundFile), nil
}

// bindFile binds every template of a file, and of its layouts, to funcs:
// the isolating variants, or the plain ones.
func bindFile(f *file, funcs template.FuncMap, plain bool) (*boundFile, error) {
	b := &boundFile{sections: make(map[string]*boundSection, len(f.sections))}
	var err error
	for name, sec := range f.sections {
		bs := &boundSection{}
		if bs.subject, err = bindField(sec.subject, funcs, plain); err != nil {
			return nil, err
		}
		if bs.text, err = bindField(sec.text, funcs, plain); err != nil {
			return nil, err
		}
		if bs.html, err = bindField(sec.html, funcs, plain); err != nil {
			return nil, err
		}
		for _, p := range sec.params {
			t, err := bindField(p, funcs, plain)
			if err != nil {
				return nil, err
			}
			bs.params = append(bs.params, t)
		}
		b.sections[name] = bs
	}
	for _, l := range []struct {
		layout *layout
		dst    *exec
	}{{f.layoutHTML, &b.layoutHTML}, {f.layoutText, &b.layoutText}} {
		if l.layout == nil || l.layout.fd == nil {
			continue
		}
		if *l.dst, err = bindField(l.layout.fd, funcs, plain); err != nil {
			return nil, err
		}
	}
	return b, nil
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
func bindField(fd *field, funcs template.FuncMap, plain bool) (exec, error) {
	if fd != nil && plain && (fd.textPlain != nil || fd.htmlPlain != nil) {
		fd = &field{text: fd.textPlain, html: fd.htmlPlain}
	}
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
		c = c.Funcs(funcs)
		if prog := compile(c, funcs); prog != nil {
			return &fastTemplate{t: c, prog: prog}, nil
		}
		return c, nil
	}
	return nil, nil
}

// funcsFor builds the function map for a file's locale, a customer locale
// and a zone.
func (s *Set) funcsFor(f *file, customer string, zone *time.Location) (template.FuncMap, Formatter, error) {
	m := localeFuncs(f.tag)
	m[isolateName] = isolateFunc(f.dir)
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

// applyLayouts wraps the rendered bodies in the file's layouts. The layout
// sees the message's data with the body at .body: as HTML for the html
// layout (it is html/template's output already), as text for the text one.
// A body the section does not have gets no layout: the html layout does
// not invent an HTML part for a text-only e-mail.
func (s *Set) applyLayouts(f *file, b *boundFile, c *Content, data map[string]any) error {
	if (b.layoutHTML == nil || c.HTML == "") && (b.layoutText == nil || c.Text == "") {
		return nil
	}
	ld := make(map[string]any, len(data)+1)
	for k, v := range data {
		ld[k] = v
	}
	var buf strings.Builder
	run := func(l *layout, t exec, body any, dst *string) error {
		ld["body"] = body
		buf.Reset()
		buf.Grow(len(*dst) + l.fd.size)
		if err := t.Execute(&buf, ld); err != nil {
			return s.layoutErr(l, err)
		}
		*dst = buf.String()
		return nil
	}
	if b.layoutHTML != nil && c.HTML != "" {
		if err := run(f.layoutHTML, b.layoutHTML, htmltemplate.HTML(c.HTML), &c.HTML); err != nil {
			return err
		}
	}
	if b.layoutText != nil && c.Text != "" {
		if err := run(f.layoutText, b.layoutText, bodyText(c.Text), &c.Text); err != nil {
			return err
		}
	}
	return nil
}

func (r Request) needsIsolation() bool {
	if r.DataChecked {
		return r.DataRTL
	}
	return NeedsIsolation(r.Data)
}

// NeedsIsolation reports whether the data of a message to a left-to-right
// file may print a right-to-left letter, so that its values need
// isolation. Only the data can bring one in: the file's own text and its
// locale's formats are left-to-right. Values of other types than plain
// strings and numbers are taken to need it.
func NeedsIsolation(data map[string]any) bool {
	for _, v := range data {
		switch x := v.(type) {
		case string:
			if HasRTL(x) {
				return true
			}
		case nil, bool, int, int64, float64, time.Time:
		default:
			return true
		}
	}
	return false
}
