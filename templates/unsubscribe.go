package templates

import (
	"fmt"
	"sort"
	"strings"
)

// UnsubscribeSection is the reserved section of a locale file that words
// the one-click unsubscribe page `replies serve` shows. It is plain text,
// not a template: the page knows nothing about the recipient but the
// language.
const UnsubscribeSection = "unsubscribe"

// UnsubscribeKeys are the keys [unsubscribe] may hold: the page before the
// button (title, text, button) and after it (done_title, done_text). A key
// left out is taken from herald's built-in wording for the language.
var UnsubscribeKeys = []string{"title", "text", "button", "done_title", "done_text"}

// parseUnsubscribe checks an [unsubscribe] table: known keys, string values.
func parseUnsubscribe(path string, v any, pos positions) (map[string]string, []error) {
	line := pos.tables[pathKey(UnsubscribeSection)]
	tbl, ok := v.(map[string]any)
	if !ok {
		return nil, []error{&Error{File: path, Line: line, Msg: "[unsubscribe] must be a table of texts: title, text, button, done_title, done_text"}}
	}
	allowed := map[string]bool{}
	for _, k := range UnsubscribeKeys {
		allowed[k] = true
	}
	keys := make([]string, 0, len(tbl))
	for k := range tbl {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	texts := map[string]string{}
	var errs []error
	for _, k := range keys {
		kl := line
		if vp := pos.values[pathKey(UnsubscribeSection, k)]; vp != nil {
			kl = vp.line
		}
		if !allowed[k] {
			errs = append(errs, &Error{File: path, Line: kl, Msg: fmt.Sprintf("unknown key %q in [unsubscribe] (allowed: %s)", k, strings.Join(UnsubscribeKeys, ", "))})
			continue
		}
		s, ok := tbl[k].(string)
		if !ok {
			errs = append(errs, &Error{File: path, Line: kl, Msg: fmt.Sprintf("[unsubscribe] %s: must be a string, got %s", k, tomlType(tbl[k]))})
			continue
		}
		if strings.TrimSpace(s) != "" {
			texts[k] = s
		}
	}
	return texts, errs
}

// Unsubscribe returns the [unsubscribe] texts of a locale's file, by key;
// nil when the file has no such section.
func (s *Set) Unsubscribe(locale string) map[string]string {
	f := s.files[locale]
	if f == nil || f.unsubscribe == nil {
		return nil
	}
	out := make(map[string]string, len(f.unsubscribe))
	for k, v := range f.unsubscribe {
		out[k] = v
	}
	return out
}
