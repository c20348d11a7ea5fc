package audience

import (
	"fmt"
	"strings"
)

// RowError is one problem found in the audience file. Its text is what
// `herald check` prints, so it always names the file, the line where the
// record starts, the column and the value the user has to fix.
type RowError struct {
	File   string // the file name as given to Open or NewReader
	Line   int    // 1-based line where the record starts
	Column string // standard columns by their lower-case name, others by their header; "" for problems of the whole record
	Value  string // the offending value as written
	Err    error  // what is wrong and how to fix it
}

// Error formats the problem as `customers.csv:42: timezone "Asia/Jakarat":
// unknown time zone`, or `customers.csv:42: message` when no single column is
// at fault. Values show at most 80 characters: a hostile file must not
// turn into a megabyte of error message.
func (e *RowError) Error() string {
	if e.Column == "" {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s:%d: %s %s: %v", e.File, e.Line, clip(e.Column), quote(e.Value), e.Err)
}

// Unwrap gives errors.Is and errors.As access to the cause.
func (e *RowError) Unwrap() error { return e.Err }

// RowErrors is every problem found in one record (or in the header), in
// column order, so a single run of `check` lists them all.
type RowErrors []*RowError

// Error joins the problems one per line.
func (es RowErrors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap gives errors.Is and errors.As access to every problem's cause.
func (es RowErrors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// Line is the line of the record the problems belong to (0 when empty).
func (es RowErrors) Line() int {
	if len(es) == 0 {
		return 0
	}
	return es[0].Line
}
