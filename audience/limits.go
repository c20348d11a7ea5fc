package audience

import (
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// The input limits of SPEC §1.3. They keep a hostile or broken file (a
// binary, a stream with no line ends) from taking unbounded memory: the
// reader holds at most one record, and a record is refused as soon as it
// passes a limit, without reading the rest of it.
const (
	MaxFieldBytes = 64 << 10 // one value
	MaxRowBytes   = 1 << 20  // one record, quoted line breaks included
	MaxColumns    = 1000     // fields in one record
)

// LimitKind says which limit a LimitError is about.
type LimitKind int

const (
	LimitField   LimitKind = iota + 1 // a value over MaxFieldBytes
	LimitRow                          // a record over MaxRowBytes
	LimitColumns                      // a record with more than MaxColumns fields
	LimitSpool                        // standard input over the bound given to Spool
)

// LimitError is a record, or a spooled input, that passes one of the
// limits. Reading cannot go on after it: the rest of the record was never
// read, so the Reader stops there (Next returns it wrapped in a *RowError
// naming the file and line, not in RowErrors, so callers treat it as the
// end of reading rather than one row to skip).
type LimitError struct {
	Kind   LimitKind
	Max    int64  // the limit
	Column string // the column of a field over MaxFieldBytes, when known
}

func (e *LimitError) Error() string {
	switch e.Kind {
	case LimitField:
		where := "a field"
		if e.Column != "" {
			where = "the " + quote(e.Column) + " field"
		}
		return fmt.Sprintf("%s is longer than %d KiB, the limit: check that this is an audience file and that its quotes are balanced (an unclosed quote runs on to the end of the file)", where, e.Max>>10)
	case LimitRow:
		return fmt.Sprintf("the record is longer than %d MiB, the limit: check that this is an audience file with one customer a line and that its quotes are balanced", e.Max>>20)
	case LimitColumns:
		return fmt.Sprintf("the record has more than %d fields, the limit: check the delimiter (set audience_delimiter in the campaign file) and that this is an audience file", e.Max)
	case LimitSpool:
		return fmt.Sprintf("standard input is larger than %d MiB, the limit for an audience read from \"-\": write it to a file and name that file in the campaign", e.Max>>20)
	}
	return "input limit exceeded"
}

// ErrNUL is the cause of a row error for a value with a NUL byte, which
// no text column holds: it usually means a binary file or UTF-16 without
// a byte order mark.
var ErrNUL = errors.New("contains a NUL byte: this looks like a binary file or UTF-16 text without a byte order mark; save the sheet as CSV UTF-8 or as Unicode text")

// EncodingError is the cause of a row error for bytes that are not valid
// in the file's encoding: they would reach customers as mojibake.
type EncodingError struct {
	Encoding string // the encoding the file was read in ("utf-8", "utf-16le", "windows-1252"...)
	Guess    string // the encoding the bytes look like, when a guess is confident; "" otherwise
}

func (e *EncodingError) Error() string {
	if e.Encoding != "utf-8" {
		return fmt.Sprintf("has bytes that are not valid %s: check audience_encoding in the campaign file, or save the sheet as CSV UTF-8", e.Encoding)
	}
	if e.Guess != "" {
		return fmt.Sprintf("has bytes that are not valid UTF-8; the file looks like %s: set audience_encoding = %q in the campaign file, or save the sheet as CSV UTF-8", e.Guess, e.Guess)
	}
	return "has bytes that are not valid UTF-8: set audience_encoding in the campaign file to the encoding the file was saved in (for example \"windows-1252\" or \"shift_jis\"), or save the sheet as CSV UTF-8"
}

// maxQuoted is how many characters of a value an error message shows.
const maxQuoted = 80

// clip shortens s to maxQuoted characters (not bytes, so a multi-byte
// character is never cut), marking the cut with "…".
func clip(s string) string {
	if len(s) <= maxQuoted {
		return s
	}
	n := 0
	for i := range s {
		if n == maxQuoted {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

// quote is %q of clip(s): how every value taken from the file appears in
// an error message.
func quote(s string) string {
	return fmt.Sprintf("%q", clip(s))
}

// guard sits between the decoded text and the CSV or JSON Lines parser and
// follows the record structure (fields, quoted fields, line ends) as the
// bytes go by, so a record that passes a limit is refused while it is
// still being read. It does not parse: a few malformed cases it may see
// differently from encoding/csv cost nothing but a little precision in
// where a limit is counted, because the parser holds no more than what
// passed the guard.
type guard struct {
	r       io.Reader
	delim   byte // 0 for JSON Lines: a record is a line, without quoting
	special [256]bool

	pos        int64 // offset of the next byte
	recStart   int64
	fieldStart int64
	quoteAt    int64 // offset of the last quote seen inside a quoted field
	fields     int
	state      uint8
	line       int // line of the next byte, 1-based
	recLine    int // line where the current record starts
	columns    []string
	err        error
}

const (
	gUnquoted  = iota // in a field that does not start with a quote, or at a field's start
	gQuoted           // in a quoted field
	gQuoteSeen        // a quote inside a quoted field: an escaped quote or the end of the field
)

func newGuard(r io.Reader, delim byte) *guard {
	g := &guard{r: r, delim: delim, line: 1, recLine: 1, fields: 1, quoteAt: -2}
	g.special['\n'] = true
	if delim != 0 {
		g.special[delim] = true
		g.special['"'] = true
	}
	return g
}

func (g *guard) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	n, err := g.r.Read(p)
	for i := 0; i < n; i++ {
		c := p[i]
		if !g.special[c] {
			continue
		}
		at := g.pos + int64(i)
		if g.state == gQuoteSeen {
			if c == '"' && at == g.quoteAt+1 {
				g.state = gQuoted // "" inside a quoted field
				continue
			}
			g.state = gUnquoted
		}
		switch {
		case c == '\n':
			g.line++
			if g.state == gQuoted {
				continue
			}
			if bad := g.check(at); bad != nil {
				return i, bad
			}
			g.recStart, g.fieldStart, g.fields, g.recLine = at+1, at+1, 1, g.line
		case g.state == gQuoted:
			if c == '"' {
				g.state, g.quoteAt = gQuoteSeen, at
			}
		case c == '"':
			if at == g.fieldStart {
				g.state = gQuoted
			}
		default: // the delimiter
			if bad := g.check(at); bad != nil {
				return i, bad
			}
			g.fields++
			g.fieldStart = at + 1
			if g.fields > MaxColumns {
				return i, g.fail(&LimitError{Kind: LimitColumns, Max: MaxColumns})
			}
		}
	}
	g.pos += int64(n)
	if bad := g.check(g.pos); bad != nil {
		return n, bad
	}
	return n, err
}

// check tests the field and the record that reach up to offset at.
func (g *guard) check(at int64) error {
	switch {
	case g.delim != 0 && at-g.fieldStart > MaxFieldBytes:
		col := ""
		if g.fields-1 < len(g.columns) {
			col = g.columns[g.fields-1]
		}
		return g.fail(&LimitError{Kind: LimitField, Max: MaxFieldBytes, Column: col})
	case at-g.recStart > MaxRowBytes:
		return g.fail(&LimitError{Kind: LimitRow, Max: MaxRowBytes})
	}
	return nil
}

// fail makes the error sticky: nothing after a refused record is read.
func (g *guard) fail(le *LimitError) error {
	g.err = &guardError{line: g.recLine, limit: le}
	return g.err
}

// guardError carries the line of the refused record up through the
// parser, which passes read errors on as they are.
type guardError struct {
	line  int
	limit *LimitError
}

func (e *guardError) Error() string { return e.limit.Error() }
func (e *guardError) Unwrap() error { return e.limit }

// limitRowError turns a guard's error into the *RowError Next returns.
func limitRowError(name string, ge *guardError) *RowError {
	return &RowError{File: name, Line: ge.line, Err: ge.limit}
}

// checkText reports a value that holds a NUL byte, bytes that are not
// UTF-8, or (in a file decoded from another encoding) the replacement
// character the decoder puts where the bytes were not valid.
func (in *input) checkText(s string) error {
	if indexNUL(s) >= 0 {
		return ErrNUL
	}
	if !utf8.ValidString(s) {
		// The caller fills in Guess from the whole record, which gives
		// the detector more to go on than one value.
		return &EncodingError{Encoding: "utf-8"}
	}
	if in.decoded && containsReplacement(s) {
		return &EncodingError{Encoding: in.encoding}
	}
	return nil
}
