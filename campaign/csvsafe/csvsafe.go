// Package csvsafe writes CSV that a spreadsheet opens as data: a cell that
// starts with a character spreadsheets read as the start of a formula
// (=, +, -, @, tab, carriage return) is prefixed with a single quote, as
// OWASP's "CSV Injection" guidance says. Every CSV herald prints for
// people (plan, report, history, suppress list) goes through it, because
// their cells come from customer data: an id "=1+2" or a name
// "@SUM(A1)" must not run in the operator's spreadsheet.
//
// herald's own state files (suppressions.csv, replies.csv) are written
// as they are: they are read back by herald, and a phone number there
// legitimately starts with "+".
package csvsafe

import (
	"encoding/csv"
	"io"
)

// Cell returns s as it should appear in a CSV cell for spreadsheets.
func Cell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// Writer is a csv.Writer whose every cell goes through Cell.
type Writer struct {
	w   *csv.Writer
	buf []string
}

// NewWriter returns a Writer writing to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: csv.NewWriter(w)} }

// Write writes one record.
func (w *Writer) Write(record []string) error {
	w.buf = w.buf[:0]
	for _, s := range record {
		w.buf = append(w.buf, Cell(s))
	}
	return w.w.Write(w.buf)
}

// Flush writes any buffered data to the underlying writer.
func (w *Writer) Flush() { w.w.Flush() }

// Error reports any error of a previous Write or Flush.
func (w *Writer) Error() error { return w.w.Error() }
