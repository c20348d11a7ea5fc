package audience

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// jsonlSource reads one JSON object per line. It has no header: the columns
// are the keys, met in order of first appearance, which the Reader tracks
// as it hands rows out (record.lkeys), so that Columns describes the rows
// returned so far and not those a pipeline worker has read ahead.
type jsonlSource struct {
	name string
	in   *input
	br   *bufio.Reader
	line int // number of the last line read
	buf  []byte
}

func newJSONLSource(in *input, name string) *jsonlSource {
	return &jsonlSource{name: name, in: in, br: in.text}
}

// readLine returns the next line without its end of line; long lines are
// gathered in s.buf.
func (s *jsonlSource) readLine() ([]byte, error) {
	s.buf = s.buf[:0]
	for {
		chunk, err := s.br.ReadSlice('\n')
		s.buf = append(s.buf, chunk...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF && len(s.buf) > 0 {
			return s.buf, nil
		}
		if err != nil {
			return nil, err
		}
		return s.buf, nil
	}
}

func (s *jsonlSource) next(rec *record) error {
	var text []byte
	for {
		b, err := s.readLine()
		if err == io.EOF {
			return io.EOF
		}
		if err != nil {
			var ge *guardError
			if errors.As(err, &ge) {
				return limitRowError(s.name, ge)
			}
			return fmt.Errorf("audience: reading %s: %w", s.name, err)
		}
		s.line++
		text = bytes.TrimSpace(b)
		if len(text) > 0 {
			break
		}
	}
	*rec = record{line: s.line, keys: rec.keys[:0], vals: rec.vals[:0], lkeys: rec.lkeys[:0], problems: rec.problems[:0]}
	// encoding/json would quietly turn bytes that are not UTF-8 into
	// U+FFFD: look at the line as it is first.
	if err := s.in.checkText(string(text)); err != nil {
		var ee *EncodingError
		if errors.As(err, &ee) && ee.Encoding == "utf-8" {
			ee.Guess = s.in.guess(func() string { return string(text) })
		}
		return RowErrors{{File: s.name, Line: s.line, Err: fmt.Errorf("the line %w", err)}}
	}
	if errs := s.parseObject(text, rec); errs != nil {
		return errs
	}
	if len(rec.keys) > MaxColumns {
		return RowErrors{{File: s.name, Line: s.line, Err: &LimitError{Kind: LimitColumns, Max: MaxColumns}}}
	}
	for i, k := range rec.keys {
		v := rec.vals[i]
		if len(v) > MaxFieldBytes {
			return RowErrors{{File: s.name, Line: s.line, Err: &LimitError{Kind: LimitField, Max: MaxFieldBytes, Column: k}}}
		}
		// An escaped \u0000 decodes to a NUL byte.
		if indexNUL(k) >= 0 || indexNUL(v) >= 0 {
			return RowErrors{{File: s.name, Line: s.line, Column: columnName(k), Value: v, Err: ErrNUL}}
		}
	}
	for i, k := range rec.keys {
		lk := strings.ToLower(k)
		rec.lkeys = append(rec.lkeys, lk)
		if c, ok := stdIndex[lk]; ok {
			rec.std[c] = strings.TrimSpace(rec.vals[i])
			rec.has[c] = true
		}
	}
	return nil
}

// parseObject decodes one line into keys and text values. A line that is
// not one JSON object is returned as an error; values that cannot be used
// (arrays, objects, repeated keys) go to rec.problems so the rest of the
// row is still checked. Strings stay as
// they are, numbers keep their JSON spelling (so "0812..." and 62812... both
// survive), booleans become "true"/"false" and null an empty value; arrays
// and objects have no single text value and are errors.
func (s *jsonlSource) parseObject(text []byte, rec *record) RowErrors {
	bad := func(column, value string, err error) RowErrors {
		return RowErrors{{File: s.name, Line: s.line, Column: column, Value: value, Err: err}}
	}
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return bad("", "", errors.New("not a JSON object: each line must be one object like {\"id\":\"c-1\",\"email\":\"a@example.com\"}"))
	}
	seen := make(map[string]string)
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return bad("", "", fmt.Errorf("malformed JSON at column %d: %v", dec.InputOffset()+1, err))
		}
		key, _ := t.(string)
		v, err := dec.Token()
		if err != nil {
			return bad("", "", fmt.Errorf("malformed JSON at column %d: %v", dec.InputOffset()+1, err))
		}
		var val string
		switch v := v.(type) {
		case string:
			val = v
		case json.Number:
			val = v.String()
		case bool:
			if v {
				val = "true"
			} else {
				val = "false"
			}
		case nil:
			val = ""
		case json.Delim:
			if err := skipNested(dec); err != nil {
				return bad("", "", fmt.Errorf("malformed JSON at column %d: %v", dec.InputOffset()+1, err))
			}
			kind, shown := "an object", "{…}"
			if v == '[' {
				kind, shown = "an array", "[…]"
			}
			rec.problems = append(rec.problems, &RowError{File: s.name, Line: s.line, Column: columnName(key), Value: shown,
				Err: fmt.Errorf("the value is %s: use a string, number or boolean", kind)})
			continue
		}
		lk := strings.ToLower(key)
		if prev, dup := seen[lk]; dup {
			rec.problems = append(rec.problems, &RowError{File: s.name, Line: s.line, Column: columnName(key), Value: val,
				Err: fmt.Errorf("key %s repeats key %s (keys are compared ignoring case): keep one", quote(key), quote(prev))})
			continue
		}
		seen[lk] = key
		rec.keys = append(rec.keys, key)
		rec.vals = append(rec.vals, val)
	}
	if _, err := dec.Token(); err != nil {
		return bad("", "", fmt.Errorf("malformed JSON at column %d: %v", dec.InputOffset()+1, err))
	}
	end := dec.InputOffset()
	if _, err := dec.Token(); err != io.EOF {
		return bad("", "", fmt.Errorf("unexpected text after the object, which ends at column %d: put one object on each line", end))
	}
	return nil
}

// skipNested consumes the rest of an array or object whose opening
// delimiter was just read.
func skipNested(dec *json.Decoder) error {
	depth := 1
	for depth > 0 {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		switch t {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
	return nil
}

// columnName is how a column is named in errors: standard columns by their
// lower-case name, others as written.
func columnName(header string) string {
	if _, ok := stdIndex[strings.ToLower(header)]; ok {
		return strings.ToLower(header)
	}
	return header
}
