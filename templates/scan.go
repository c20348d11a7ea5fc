package templates

import "strings"

// BurntSushi/toml reports positions only for syntax errors, but template
// errors must point at the line inside the TOML file. This scanner walks a
// file that toml has already accepted and records, for every key, the file
// line of each line of its decoded string value, so that "line 3 of the
// template in [email] html" becomes "line 14 of it.toml". It never fails:
// on input it does not understand it records less and the caller falls back
// to the section's line.

// valuePos is where a key's value sits in the file.
type valuePos struct {
	line  int     // line of `key =`
	lines []int   // for a string: lines[i] is the file line of decoded line i+1
	elems [][]int // for an array: the lines of each element that is a string
}

// positions maps dotted paths ("sms\x00text") to where they are.
type positions struct {
	tables map[string]int       // table path -> line of its [header]
	values map[string]*valuePos // key path -> its value
}

func pathKey(parts ...string) string { return strings.Join(parts, "\x00") }

// lineOf returns the file line of template line n (1-based) of a value, or
// the key's line when the map does not reach that far.
func (p *valuePos) lineOf(lines []int, n int) int {
	if n >= 1 && n <= len(lines) {
		return lines[n-1]
	}
	if len(lines) > 0 {
		return lines[len(lines)-1]
	}
	return p.line
}

type scanner struct {
	src  string
	i    int
	line int
	pos  positions
}

func scanPositions(src string) positions {
	s := &scanner{src: src, line: 1, pos: positions{
		tables: map[string]int{},
		values: map[string]*valuePos{},
	}}
	s.document()
	return s.pos
}

func (s *scanner) peek(off int) byte {
	if s.i+off < len(s.src) {
		return s.src[s.i+off]
	}
	return 0
}

func (s *scanner) has(prefix string) bool { return strings.HasPrefix(s.src[s.i:], prefix) }

// advance moves one byte, counting lines.
func (s *scanner) advance() {
	if s.src[s.i] == '\n' {
		s.line++
	}
	s.i++
}

// blank skips spaces, tabs, newlines and comments.
func (s *scanner) blank() {
	for s.i < len(s.src) {
		switch c := s.src[s.i]; {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			s.advance()
		case c == '#':
			s.restOfLine()
		default:
			return
		}
	}
}

// spaces skips spaces and tabs only.
func (s *scanner) spaces() {
	for s.i < len(s.src) && (s.src[s.i] == ' ' || s.src[s.i] == '\t') {
		s.i++
	}
}

// restOfLine skips to the start of the next line.
func (s *scanner) restOfLine() {
	for s.i < len(s.src) && s.src[s.i] != '\n' {
		s.i++
	}
	if s.i < len(s.src) {
		s.advance()
	}
}

func (s *scanner) document() {
	var table []string
	for {
		s.blank()
		if s.i >= len(s.src) {
			return
		}
		if s.src[s.i] == '[' {
			line := s.line
			s.i++
			if s.peek(0) == '[' {
				s.i++
			}
			s.spaces()
			table = s.key()
			if _, ok := s.pos.tables[pathKey(table...)]; !ok && table != nil {
				s.pos.tables[pathKey(table...)] = line
			}
			s.restOfLine()
			continue
		}
		start := s.i
		s.keyValue(table)
		if s.i == start { // not a key: never loop on the same byte
			s.restOfLine()
		}
	}
}

// keyValue reads `key = value` and records it under prefix.
func (s *scanner) keyValue(prefix []string) {
	line := s.line
	k := s.key()
	if k == nil {
		return
	}
	s.spaces()
	if s.peek(0) != '=' {
		return
	}
	s.i++
	s.spaces()
	full := append(append([]string(nil), prefix...), k...)
	vp := &valuePos{line: line}
	if _, dup := s.pos.values[pathKey(full...)]; !dup {
		s.pos.values[pathKey(full...)] = vp
	}
	s.value(vp, full)
}

// key reads a dotted key: bare, "basic" or 'literal' parts.
func (s *scanner) key() []string {
	var parts []string
	for {
		s.spaces()
		var part string
		switch c := s.peek(0); {
		case c == '"':
			part = s.quotedKey('"')
		case c == '\'':
			part = s.quotedKey('\'')
		case isBare(c):
			start := s.i
			for s.i < len(s.src) && isBare(s.src[s.i]) {
				s.i++
			}
			part = s.src[start:s.i]
		default:
			return parts
		}
		parts = append(parts, part)
		s.spaces()
		if s.peek(0) != '.' {
			return parts
		}
		s.i++
	}
}

func isBare(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// quotedKey reads a quoted key part; escapes other than \" and \\ are kept
// as written, which is enough to match the names herald uses.
func (s *scanner) quotedKey(q byte) string {
	s.i++
	var b strings.Builder
	for s.i < len(s.src) && s.src[s.i] != q && s.src[s.i] != '\n' {
		if q == '"' && s.src[s.i] == '\\' && s.i+1 < len(s.src) && (s.src[s.i+1] == '"' || s.src[s.i+1] == '\\') {
			s.i++
		}
		b.WriteByte(s.src[s.i])
		s.i++
	}
	if s.i < len(s.src) && s.src[s.i] == q {
		s.i++
	}
	return b.String()
}

// value reads any value; strings fill vp.lines, arrays vp.elems, inline
// tables record their keys under path.
func (s *scanner) value(vp *valuePos, path []string) {
	switch c := s.peek(0); {
	case c == '"' || c == '\'':
		vp.lines = s.str()
	case c == '[':
		s.i++
		for {
			s.blank()
			if s.i >= len(s.src) {
				return
			}
			switch s.src[s.i] {
			case ']':
				s.i++
				return
			case ',':
				s.i++
				continue
			}
			elem := &valuePos{line: s.line}
			start := s.i
			s.value(elem, nil)
			vp.elems = append(vp.elems, elem.lines)
			if s.i == start {
				s.i++
			}
		}
	case c == '{':
		s.i++
		for {
			s.blank()
			if s.i >= len(s.src) {
				return
			}
			switch s.src[s.i] {
			case '}':
				s.i++
				return
			case ',':
				s.i++
				continue
			}
			start := s.i
			s.keyValue(path)
			if s.i == start {
				s.i++
			}
		}
	default:
		// A number, date or boolean: ends at a delimiter.
		for s.i < len(s.src) && !strings.ContainsRune(",]}#\n", rune(s.src[s.i])) {
			s.i++
		}
	}
}

// str reads one string of any of TOML's four kinds and returns the file line
// of each line of its decoded text.
func (s *scanner) str() []int {
	q := s.src[s.i]
	multi := s.has(strings.Repeat(string(q), 3))
	if !multi {
		s.i++
		lines := []int{s.line}
		for s.i < len(s.src) && s.src[s.i] != q && s.src[s.i] != '\n' {
			if q == '"' && s.src[s.i] == '\\' && s.i+1 < len(s.src) {
				if s.src[s.i+1] == 'n' {
					lines = append(lines, s.line) // an escaped newline adds a template line on the same file line
				}
				if s.src[s.i+1] == '\n' {
					return lines // invalid TOML; stop at the line end
				}
				s.i++
			}
			s.i++
		}
		if s.i < len(s.src) && s.src[s.i] == q {
			s.i++
		}
		return lines
	}
	s.i += 3
	// TOML trims a newline right after the opening delimiter.
	if s.has("\r\n") {
		s.i++
	}
	if s.peek(0) == '\n' {
		s.advance()
	}
	lines := []int{s.line}
	for s.i < len(s.src) {
		c := s.src[s.i]
		switch {
		case c == q && s.has(strings.Repeat(string(q), 3)):
			// Up to two extra quotes before the closing three are content.
			n := 0
			for s.i+n < len(s.src) && s.src[s.i+n] == q && n < 5 {
				n++
			}
			s.i += n
			return lines
		case c == '\\' && q == '"' && s.i+1 < len(s.src):
			next := s.src[s.i+1]
			switch {
			case next == 'n':
				lines = append(lines, s.line)
				s.i += 2
			case next == ' ' || next == '\t' || next == '\r' || next == '\n':
				// Line-ending backslash: the newline and the indentation
				// after it vanish from the decoded text.
				s.i++
				for s.i < len(s.src) && strings.IndexByte(" \t\r\n", s.src[s.i]) >= 0 {
					s.advance()
				}
			default:
				s.i += 2
			}
		case c == '\n':
			s.advance()
			lines = append(lines, s.line)
		default:
			s.i++
		}
	}
	return lines
}
