package campaign

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"regexp"
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

// undecodedErrors reports every key of md that nothing decoded, with its line.
func undecodedErrors(file string, text []byte, md toml.MetaData) []error {
	var errs []error
	for _, k := range md.Undecoded() {
		errs = append(errs, fileErrorf(file, keyLine(text, k), "unknown key %q", k.String()))
	}
	return errs
}
