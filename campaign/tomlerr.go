package campaign

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// FileError is a problem at a line of a file the user wrote.
type FileError struct {
	File string
	Line int // 0 when the line is not known
	Msg  string
}

func (e *FileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

func fileErrorf(file string, line int, format string, args ...any) *FileError {
	return &FileError{File: file, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// BurntSushi/toml reports decode type errors as plain strings of this form.
var tomlLinePrefix = regexp.MustCompile(`^toml: line (\d+)(?: \(last key "([^"]*)"\))?: (.*)$`)

// tomlError turns a BurntSushi/toml error into a FileError with the line.
func tomlError(file string, err error) *FileError {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		msg := pe.Message
		if pe.LastKey != "" {
			msg = fmt.Sprintf("%s: %s", pe.LastKey, msg)
		}
		return &FileError{File: file, Line: pe.Position.Line, Msg: msg}
	}
	if m := tomlLinePrefix.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		msg := m[3]
		if m[2] != "" {
			msg = fmt.Sprintf("%s: %s", m[2], msg)
		}
		return &FileError{File: file, Line: line, Msg: msg}
	}
	return &FileError{File: file, Msg: err.Error()}
}

// keyLine finds the line of a key in TOML text. BurntSushi/toml gives no
// positions for decoded keys, and an unknown-key error without a line sends
// the user hunting, so we scan: track the current [table] header and look
// for `key =` inside the table the key belongs to. Returns 0 if not found.
func keyLine(text []byte, key toml.Key) int {
	if len(key) == 0 {
		return 0
	}
	table := strings.Join(key[:len(key)-1], ".")
	last := key[len(key)-1]
	current := ""
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") {
			h := strings.Trim(line, "[] \t")
			if i := strings.Index(h, "#"); i >= 0 {
				h = strings.TrimSpace(strings.TrimRight(h[:i], "] \t"))
			}
			current = normalizeKeyPath(h)
			if current == strings.Join(key, ".") {
				return n // the key is itself a table: [channels.emial]
			}
			continue
		}
		eq := strings.Index(line, "=")
		if eq <= 0 {
			continue
		}
		name := normalizeKeyPath(strings.TrimSpace(line[:eq]))
		full := name
		if current != "" {
			full = current + "." + name
		}
		if full == strings.Join(key, ".") || (current == table && name == last) {
			return n
		}
		if strings.HasPrefix(strings.Join(key, "."), full+".") {
			return n // an inline table holds the key: headers = { ... }
		}
	}
	return 0
}

func normalizeKeyPath(s string) string {
	parts := strings.Split(s, ".")
	for i, p := range parts {
		parts[i] = strings.Trim(strings.TrimSpace(p), `"'`)
	}
	return strings.Join(parts, ".")
}

// undecodedErrors reports every key of md that nothing decoded, with its
// line, except under the tables named in failed (see undecodedOutside).
func undecodedErrors(file string, text []byte, md toml.MetaData, failed ...[]string) []error {
	var errs []error
	for _, k := range undecodedOutside(md.Undecoded(), failed) {
		errs = append(errs, fileErrorf(file, keyLine(text, k), "unknown key %q", k.String()))
	}
	return errs
}

// nameList is a TOML list of strings (channels, days, a region's channel
// order) that says what it wants when given something else: `channels =
// 5` or `days = "mon"` is an error at its line, never a silent default.
type nameList []string

// UnmarshalTOML implements toml.Unmarshaler.
func (l *nameList) UnmarshalTOML(v any) error {
	items, ok := v.([]any)
	if !ok {
		return fmt.Errorf("want a list of names such as [\"a\", \"b\"], got %s", describeTOML(v))
	}
	out := make(nameList, 0, len(items))
	for i, item := range items {
		s, ok := item.(string)
		if !ok {
			return fmt.Errorf("item %d: want a quoted name, got %s", i+1, describeTOML(item))
		}
		out = append(out, s)
	}
	*l = out
	return nil
}

// describeTOML names a decoded TOML value for an error message, quoting at
// most 80 characters of it.
func describeTOML(v any) string {
	switch v := v.(type) {
	case string:
		if len(v) > 80 {
			v = v[:80] + "..."
		}
		return fmt.Sprintf("the string %q", v)
	case int64, float64:
		return fmt.Sprintf("the number %v", v)
	case bool:
		return fmt.Sprintf("%v", v)
	case map[string]any:
		return "a table"
	case []any, []map[string]any:
		return "a list"
	}
	return fmt.Sprintf("a %T", v)
}

// tableKey reports a key of md that is defined but is not a table, as
// `regions = 5` would be (the TOML decoder lets that pass into a map).
func tableKey(file string, text []byte, md toml.MetaData, key ...string) error {
	if !md.IsDefined(key...) {
		return nil
	}
	// An implicit table ([channels.sms] without [channels]) has no type.
	if t := md.Type(key...); t != "Hash" && t != "" {
		return fileErrorf(file, keyLine(text, toml.Key(key)), "%s must be a table ([%s] with one key per line), got %s",
			strings.Join(key, "."), strings.Join(key, "."), strings.ToLower(t))
	}
	return nil
}

// undecodedOutside leaves out the keys under a table whose decoding
// already failed: they were never read, and calling them unknown would
// give one mistake several messages.
func undecodedOutside(keys []toml.Key, failed [][]string) []toml.Key {
	var out []toml.Key
next:
	for _, k := range keys {
		for _, prefix := range failed {
			if len(k) > len(prefix) && slices.Equal([]string(k[:len(prefix)]), prefix) {
				continue next
			}
		}
		out = append(out, k)
	}
	return out
}
