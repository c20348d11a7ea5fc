package audience

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/jszwec/csvutil"
)

// stdRow receives the standard columns from csvutil, which matches them
// against the header (lower-cased beforehand, so "TimeZone" works).
type stdRow struct {
	ID       string `csv:"id"`
	Name     string `csv:"name"`
	Email    string `csv:"email"`
	Phone    string `csv:"phone"`
	WhatsApp string `csv:"whatsapp"`
	Telegram string `csv:"telegram"`
	Line     string `csv:"line"`
	Locale   string `csv:"locale"`
	Timezone string `csv:"timezone"`
	Country  string `csv:"country"`
	Channels string `csv:"channels"`
	OptOut   string `csv:"opt_out"`
}

type csvSource struct {
	name   string
	in     *input
	cr     *csv.Reader
	dec    *csvutil.Decoder
	header []string // trimmed, as written
	has    [numStd]bool
	row    stdRow
}

func newCSVSource(in *input, name string) (*csvSource, error) {
	cr := csv.NewReader(in.text)
	cr.Comma = in.delim
	// Field counts are checked by csvutil, which still hands over the
	// record, so the message can say how many fields the row has.
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	dec, err := csvutil.NewDecoder(cr)
	if err != nil {
		if err == io.EOF {
			return nil, RowErrors{{File: name, Line: 1,
				Err: errors.New("the file is empty: it needs a header row naming the columns, with at least an id column")}}
		}
		return nil, csvReadError(name, err, in.delim)
	}
	s := &csvSource{name: name, in: in, cr: cr, dec: dec}
	line, _ := cr.FieldPos(0)
	raw := dec.Header()
	s.header = make([]string, len(raw))
	var errs RowErrors
	first := make(map[string]int, len(raw))
	for i, h := range raw {
		h = strings.TrimSpace(h)
		s.header[i] = h
		if err := in.checkText(h); err != nil {
			errs = append(errs, &RowError{File: name, Line: line, Column: "header", Value: h,
				Err: fmt.Errorf("column %d %w", i+1, err)})
			continue
		}
		if h == "" {
			errs = append(errs, &RowError{File: name, Line: line, Column: "header", Value: h,
				Err: fmt.Errorf("column %d has no name: name it or delete the empty column", i+1)})
			continue
		}
		key := strings.ToLower(h)
		if j, dup := first[key]; dup {
			errs = append(errs, &RowError{File: name, Line: line, Column: "header", Value: h,
				Err: fmt.Errorf("column %d duplicates column %d %s (names are compared ignoring case): rename or remove one", i+1, j+1, quote(s.header[j]))})
			continue
		}
		first[key] = i
		if k, ok := stdIndex[key]; ok {
			s.has[k] = true
		}
	}
	if !s.has[colID] && errs == nil {
		cols := clip(strings.Join(s.header, ", "))
		if d := otherDelimiter(s.header, in.delim); d != 0 {
			errs = append(errs, &RowError{File: name, Line: line, Err: &DelimiterError{Used: in.delim, Want: d, Columns: cols}})
		} else {
			errs = append(errs, &RowError{File: name, Line: line,
				Err: fmt.Errorf("the header has no id column (columns: %s): add one with each customer's unique key", cols)})
		}
	}
	if errs != nil {
		return nil, errs
	}
	// Cannot fail: duplicates were rejected above.
	if err := dec.NormalizeHeader(func(h string) string { return strings.ToLower(strings.TrimSpace(h)) }); err != nil {
		return nil, RowErrors{{File: name, Line: line, Err: err}}
	}
	in.guard.columns = s.header
	return s, nil
}

// DelimiterError is a header with no id column that has one when split on
// another delimiter: the file uses a delimiter other than the one
// detected or set in audience_delimiter.
type DelimiterError struct {
	Used, Want rune
	Columns    string // the header as split, clipped
}

func (e *DelimiterError) Error() string {
	return fmt.Sprintf("the header has no id column when split on %s (columns: %s), but has one when split on %s: set audience_delimiter = %s in the campaign file",
		delimiterName(e.Used), e.Columns, delimiterName(e.Want), delimiterName(e.Want))
}

func (s *csvSource) next(rec *record) error {
	s.row = stdRow{}
	err := s.dec.Decode(&s.row)
	if err != nil {
		if err == io.EOF {
			return io.EOF
		}
		if errors.Is(err, csvutil.ErrFieldCount) {
			line, _ := s.cr.FieldPos(0)
			return RowErrors{{File: s.name, Line: line,
				Err: fmt.Errorf("the row has %d fields but the header has %d: quote values that contain %s, or add the missing fields", len(s.dec.Record()), len(s.header), delimiterPlural(s.in.delim))}}
		}
		return csvReadError(s.name, err, s.in.delim)
	}
	rec.line, _ = s.cr.FieldPos(0)
	// A value with a NUL byte or bytes invalid in the file's encoding
	// would reach customers garbled: the row is refused as a whole.
	var bad RowErrors
	for i, v := range s.dec.Record() {
		if err := s.in.checkText(v); err != nil {
			var ee *EncodingError
			if errors.As(err, &ee) && ee.Encoding == "utf-8" {
				ee.Guess = s.in.guess(func() string { return strings.Join(s.dec.Record(), " ") })
			}
			bad = append(bad, &RowError{File: s.name, Line: rec.line, Column: columnName(s.header[i]), Value: v, Err: err})
		}
	}
	if bad != nil {
		return bad
	}
	r := &s.row
	rec.std = [numStd]string{
		strings.TrimSpace(r.ID), strings.TrimSpace(r.Name), strings.TrimSpace(r.Email),
		strings.TrimSpace(r.Phone), strings.TrimSpace(r.WhatsApp), strings.TrimSpace(r.Telegram),
		strings.TrimSpace(r.Line), strings.TrimSpace(r.Locale), strings.TrimSpace(r.Timezone),
		strings.TrimSpace(r.Country), strings.TrimSpace(r.Channels), strings.TrimSpace(r.OptOut),
	}
	rec.has = s.has
	rec.keys, rec.sharedKeys = s.header, true
	// The csv.Reader reuses its record slice (ReuseRecord) while the
	// record may wait in a batch for a worker: copy the field strings'
	// headers into the record's own slice, reused from batch to batch.
	rec.vals = append(rec.vals[:0], s.dec.Record()...)
	return nil
}

// csvReadError turns a CSV syntax error into a RowError at the line where
// the broken record starts (the reader can go on with the next one); any
// other error is a failure to read the file at all.
func csvReadError(name string, err error, delim rune) error {
	var ge *guardError
	if errors.As(err, &ge) {
		return limitRowError(name, ge)
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return RowErrors{{File: name, Line: max(pe.StartLine, 1),
			Err: fmt.Errorf("malformed CSV at line %d, column %d: %v: quote fields that contain %s, quotes or line breaks, and double every quote inside a quoted field", pe.Line, pe.Column, pe.Err, delimiterPlural(delim))}}
	}
	return fmt.Errorf("audience: reading %s: %w", name, err)
}

// delimiterPlural names the delimiter in advice about quoting.
func delimiterPlural(d rune) string {
	switch d {
	case ',':
		return "commas"
	case ';':
		return "semicolons"
	case '\t':
		return "tabs"
	}
	return fmt.Sprintf("the delimiter %q", string(d))
}
