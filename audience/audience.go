// Package audience streams the audience file of a campaign (CSV with a header
// row, or JSON Lines) and turns every row into a validated Recipient.
//
// The reader holds one row at a time, so a million-row audience is read with
// flat memory; the only state that grows is the set of ids already seen, which
// duplicate detection needs. Invalid rows do not stop the reader: Next returns
// every problem of the row as RowErrors and moves on, so `herald check` can
// list all bad rows in one run and `send --skip-invalid` can skip them.
//
// Standard columns (SPEC §1.3) are normalised: e-mail domains lower-cased,
// phone numbers turned into E.164, locales into canonical BCP 47 tags, country
// codes upper-cased or inferred from the phone number. Every column, standard
// or not, is also kept in Recipient.Fields for the templates.
package audience

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	// The zone database is embedded so a recipient's local time does not
	// depend on the host the binary runs on (SPEC §3 "Time").
	_ "time/tzdata"
)

// Indexes of the standard columns in stdNames and in record.std.
const (
	colID = iota
	colName
	colEmail
	colPhone
	colWhatsApp
	colTelegram
	colLine
	colLocale
	colTimezone
	colCountry
	colChannels
	colOptOut
	numStd
)

// stdNames are the standard column names of SPEC §1.3, lower-case.
var stdNames = [numStd]string{
	"id", "name", "email", "phone", "whatsapp", "telegram", "line",
	"locale", "timezone", "country", "channels", "opt_out",
}

// stdIndex maps a lower-cased header to its standard column index.
var stdIndex = func() map[string]int {
	m := make(map[string]int, numStd)
	for i, n := range stdNames {
		m[n] = i
	}
	return m
}()

// Recipient is one validated audience row.
type Recipient struct {
	Line     int            // 1-based line in the file where this record starts
	ID, Name string         // id is unique in the file and never empty
	Email    string         // validated, domain lower-cased
	Phone    string         // E.164 with '+'
	WhatsApp string         // E.164; empty when the column is empty (the planner falls back to Phone)
	Telegram string         // chat id (integer, may be negative) or @channelname
	LineID   string         // LINE user, group or room id
	Locale   string         // canonical BCP 47 ("pt-BR"); "" when empty
	Zone     *time.Location // nil when empty
	Country  string         // ISO 3166-1 alpha-2, upper-case; inferred from the phone number when empty
	Channels []string       // the customer's channel order, lower-cased, duplicates dropped
	OptOut   []string       // channels refused; ["all"] for all
	// Fields holds every column of the row by its header name as written in
	// the file (surrounding spaces removed): custom attributes with their raw
	// values and standard columns with their normalised values. It is the
	// data templates see.
	Fields map[string]string
}

// Address returns the value of a column by its header name, ignoring case:
// standard columns normalised ("phone" gives E.164, "timezone" the zone name,
// "channels" the order joined by commas), custom columns as written. It is
// how the planner finds the address a channel kind needs
// (channels.Kind.AddressColumns) without knowing the columns.
func (r *Recipient) Address(column string) string {
	switch strings.ToLower(strings.TrimSpace(column)) {
	case "id":
		return r.ID
	case "name":
		return r.Name
	case "email":
		return r.Email
	case "phone":
		return r.Phone
	case "whatsapp":
		return r.WhatsApp
	case "telegram":
		return r.Telegram
	case "line":
		return r.LineID
	case "locale":
		return r.Locale
	case "timezone":
		if r.Zone == nil {
			return ""
		}
		return r.Zone.String()
	case "country":
		return r.Country
	case "channels":
		return strings.Join(r.Channels, ",")
	case "opt_out":
		return strings.Join(r.OptOut, ",")
	}
	if v, ok := r.Fields[column]; ok {
		return v
	}
	for k, v := range r.Fields {
		if strings.EqualFold(strings.TrimSpace(column), k) {
			return v
		}
	}
	return ""
}

// Options change how a file is read.
type Options struct {
	// KnownChannels, when non-nil, are the channel names `channels` and
	// `opt_out` may use ("all" is always allowed in opt_out); any other
	// name is an error. Matching ignores case.
	KnownChannels []string
	// Format is "csv", "jsonl" or "" to decide by the file name's
	// extension (.jsonl and .ndjson are JSON Lines, anything else CSV;
	// standard input is CSV).
	Format string
}

// Reader streams validated recipients from one audience file.
type Reader struct {
	name   string
	src    source
	closer io.Closer
	known  map[string]bool // lower-cased KnownChannels; nil when any name goes
	seen   idSet
	cache  valueCache
	rec    record
	fatal  error // sticky: io.EOF or a read error
}

// record is one raw row as a source delivers it.
type record struct {
	line int
	std  [numStd]string // trimmed values of the standard columns
	has  [numStd]bool   // whether the row has the standard column
	keys []string       // every column name as written, aligned with vals
	vals []string
	// problems found while decoding that do not stop the other columns
	// from being checked (JSON Lines only)
	problems RowErrors
}

// source is a file format: it fills a record per call. It returns io.EOF at
// the end, RowErrors for a malformed record it could step over, and any other
// error when reading cannot go on.
type source interface {
	next(rec *record) error
	columns() []string
}

// Open opens an audience file. The format comes from Options.Format or the
// extension; "-" reads standard input. Header problems (no id column, a
// duplicated column) are returned as RowErrors. Close the Reader when done.
func Open(path string, opts Options) (*Reader, error) {
	if path == "-" {
		return NewReader(os.Stdin, "stdin", opts)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("audience: %w", err)
	}
	r, err := NewReader(f, path, opts)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.closer = f
	return r, nil
}

// NewReader reads an audience from r; name is the file name used in errors
// and, when Options.Format is empty, to pick the format by extension.
func NewReader(r io.Reader, name string, opts Options) (*Reader, error) {
	format := strings.ToLower(opts.Format)
	if format == "" {
		switch strings.ToLower(filepath.Ext(name)) {
		case ".jsonl", ".ndjson":
			format = "jsonl"
		default:
			format = "csv"
		}
	}
	br := bufio.NewReaderSize(r, 64<<10)
	// Spreadsheet programs start UTF-8 exports with a byte order mark;
	// left in place it would become part of the first header name.
	if b, err := br.Peek(3); err == nil && string(b) == "\uFEFF" {
		br.Discard(3)
	}
	rd := &Reader{name: name, cache: newValueCache()}
	rd.seen.init()
	if opts.KnownChannels != nil {
		rd.known = make(map[string]bool, len(opts.KnownChannels))
		for _, c := range opts.KnownChannels {
			rd.known[strings.ToLower(strings.TrimSpace(c))] = true
		}
	}
	var err error
	switch format {
	case "csv":
		rd.src, err = newCSVSource(br, name)
	case "jsonl":
		rd.src = newJSONLSource(br, name)
	default:
		return nil, fmt.Errorf("audience: unknown format %q for %s: use \"csv\" or \"jsonl\"", opts.Format, name)
	}
	if err != nil {
		return nil, err
	}
	return rd, nil
}

// Columns returns the header as written in the file. For JSON Lines, which
// has no header, it is the keys met so far in order of first appearance.
func (r *Reader) Columns() []string {
	return append([]string(nil), r.src.columns()...)
}

// Next returns the next valid recipient, io.EOF at the end of the file, or
// RowErrors listing every problem of an invalid or malformed row; after
// RowErrors the next call goes on with the following row.
func (r *Reader) Next() (*Recipient, error) {
	if r.fatal != nil {
		return nil, r.fatal
	}
	err := r.src.next(&r.rec)
	if err != nil {
		var re RowErrors
		if errors.As(err, &re) {
			return nil, re
		}
		r.fatal = err
		return nil, err
	}
	rcp, errs := r.build(&r.rec)
	if errs != nil {
		return nil, errs
	}
	return rcp, nil
}

// Close closes the file opened by Open; it does nothing for NewReader or
// standard input.
func (r *Reader) Close() error {
	if r.closer == nil {
		return nil
	}
	c := r.closer
	r.closer = nil
	return c.Close()
}
