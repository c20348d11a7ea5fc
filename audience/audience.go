// Package audience streams the audience file of a campaign (CSV with a header
// row, or JSON Lines) and turns every row into a validated Recipient.
//
// The reader holds a bounded window of rows (a few batches of 256), so a
// million-row audience is read with flat memory; the only state that grows
// is the set of ids already seen, which duplicate detection needs (about 28
// MB for a million ids, see idSet). Checking rows is spread over
// GOMAXPROCS goroutines while Next returns them in file order (see
// pipeline.go). Invalid rows do not stop the reader: Next returns every
// problem of the row as RowErrors and moves on, so `herald check` can list
// all bad rows in one run and `send --skip-invalid` can skip them.
//
// Standard columns (SPEC §1.3) are normalised: e-mail domains lower-cased,
// phone numbers turned into E.164, locales into canonical BCP 47 tags, country
// codes upper-cased or inferred from the phone number. Every column, standard
// or not, is also kept in Recipient.Fields for the templates.
package audience

import (
	"context"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"runtime"
	"slices"
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
	Fields Fields
}

// Fields are a row's columns by header name, in file order. The names are
// the file's header, shared by its rows, so a row carries only its values
// (a map per row was most of what reading a million rows allocated).
type Fields struct {
	names, values []string // aligned; a column with no name ("") is left out
}

// Get returns the value of the column named name (exactly as written).
func (f Fields) Get(name string) (string, bool) {
	for i, n := range f.names {
		if n == name && n != "" {
			return f.values[i], true
		}
	}
	return "", false
}

// All yields every named column and its value, in file order.
func (f Fields) All() iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for i, n := range f.names {
			if n != "" && !yield(n, f.values[i]) {
				return
			}
		}
	}
}

// Map returns the columns as a map.
func (f Fields) Map() map[string]string {
	m := make(map[string]string, len(f.names))
	for k, v := range f.All() {
		m[k] = v
	}
	return m
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
	if v, ok := r.Fields.Get(column); ok {
		return v
	}
	for k, v := range r.Fields.All() {
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
	// Delimiter separates CSV fields: one of Delimiters, or 0 to detect
	// it from the header line (audience_delimiter in the campaign file).
	Delimiter rune
	// Encoding is the file's legacy encoding by a WHATWG name
	// ("windows-1252"; see LookupEncoding), or "" for UTF-8
	// (audience_encoding in the campaign file). A byte order mark
	// overrides it: UTF-8 and UTF-16 files with one are read as they are.
	Encoding string
	// Name, when set, is the file name errors give instead of the path
	// (for example "stdin" for standard input spooled by Spool).
	Name string
}

// Reader streams validated recipients from one audience file.
//
// Checking a row (phone numbers above all) costs several microseconds, so
// from the second batch of rows on the Reader spreads that work over
// GOMAXPROCS goroutines (see pipeline.go) while Next still hands rows back
// one at a time in file order. Only a bounded number of rows is read ahead,
// and the goroutines exit by themselves when the caller stops calling Next
// and that read-ahead is full; Close stops them at once. A Reader is not
// safe for concurrent use: one goroutine calls Next, Columns and Close.
type Reader struct {
	name   string
	in     *input
	src    source
	closer io.Closer
	vr     *validator // the calling goroutine's, for batches not given to the pipeline
	shared *sharedValues
	seen   idSet
	closed bool // Close was called: the id set is freed

	// cols are the columns of the rows handed out so far: the header for
	// CSV, the keys in order of first appearance for JSON Lines, which
	// colIndex (lower-cased key -> position) tracks; nil for CSV.
	cols     []string
	colIndex map[string]int

	cur  *batch // the batch Next hands rows from
	pos  int    // index in cur of the next row to hand out
	pipe *pipeline
	// sequential keeps every batch on the calling goroutine; tests set it
	// to compare the pipeline with the plain reading it must match, and
	// set batchRows (batchSize otherwise) small so short inputs already
	// span many batches.
	sequential bool
	batchRows  int
	end        error // sticky: io.EOF, a read error, or the Reader closed
}

// record is one raw row as a source delivers it. Records live in batches
// and are reused, slices included, from one batch to the next.
type record struct {
	line int
	std  [numStd]string // trimmed values of the standard columns
	has  [numStd]bool   // whether the row has the standard column
	keys []string       // every column name as written, aligned with vals
	// sharedKeys says keys is the file's header, which no row changes
	// (CSV); otherwise (JSON Lines) it is the row's own buffer.
	sharedKeys bool
	vals       []string
	// lkeys are the keys lower-cased, for the Reader to track the columns
	// of JSON Lines (nil for CSV, whose columns are the header)
	lkeys []string
	// problems found while decoding that do not stop the other columns
	// from being checked (JSON Lines only)
	problems RowErrors
}

// source is a file format: it fills a record per call. It returns io.EOF at
// the end, RowErrors for a malformed record it could step over, and any other
// error when reading cannot go on.
type source interface {
	next(rec *record) error
}

// Open opens an audience file. The format comes from Options.Format or the
// extension; "-" reads standard input. Header problems (no id column, a
// duplicated column) are returned as RowErrors. Close the Reader when done.
func Open(path string, opts Options) (*Reader, error) {
	return OpenContext(context.Background(), path, opts)
}

// OpenContext is Open with a context: when ctx is cancelled, reading
// stops (Next returns an error that wraps ctx.Err()), even in the middle
// of a Read blocked on a pipe or a terminal.
func OpenContext(ctx context.Context, path string, opts Options) (*Reader, error) {
	if path == "-" {
		if opts.Name == "" {
			opts.Name = "stdin"
		}
		return NewReaderContext(ctx, os.Stdin, opts.Name, opts)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("audience: %w", err)
	}
	name := path
	if opts.Name != "" {
		name = opts.Name
	}
	if opts.Format == "" {
		// The format follows the file's own name, not the one shown.
		opts.Format = formatOf(path)
	}
	r, err := NewReaderContext(ctx, f, name, opts)
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
	return NewReaderContext(context.Background(), r, name, opts)
}

// NewReaderContext is NewReader with a context, as OpenContext.
func NewReaderContext(ctx context.Context, r io.Reader, name string, opts Options) (*Reader, error) {
	format := strings.ToLower(opts.Format)
	if format == "" {
		format = formatOf(name)
	}
	if format != "csv" && format != "jsonl" {
		return nil, fmt.Errorf("audience: unknown format %q for %s: use \"csv\" or \"jsonl\"", opts.Format, name)
	}
	if opts.Delimiter != 0 {
		if _, err := ParseDelimiter(string(opts.Delimiter)); err != nil {
			return nil, fmt.Errorf("audience: %w", err)
		}
	}
	in, err := openInput(ctx, r, opts, format == "csv")
	if err != nil {
		return nil, fmt.Errorf("audience: reading %s: %w", name, err)
	}
	rd := &Reader{name: name, in: in, shared: newSharedValues(), batchRows: batchSize}
	rd.seen.init()
	var known map[string]bool
	if opts.KnownChannels != nil {
		known = make(map[string]bool, len(opts.KnownChannels))
		for _, c := range opts.KnownChannels {
			known[strings.ToLower(strings.TrimSpace(c))] = true
		}
	}
	rd.vr = &validator{name: name, known: known, cache: newValueCache(rd.shared)}
	if format == "csv" {
		src, err := newCSVSource(in, name)
		if err != nil {
			in.close()
			return nil, err
		}
		rd.src, rd.cols = src, src.header
	} else {
		rd.src, rd.colIndex = newJSONLSource(in, name), make(map[string]int)
	}
	return rd, nil
}

// formatOf picks the format by a file name's extension.
func formatOf(name string) string {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".jsonl", ".ndjson":
		return "jsonl"
	}
	return "csv"
}

// Columns returns the header as written in the file. For JSON Lines, which
// has no header, it is the keys met so far in order of first appearance.
func (r *Reader) Columns() []string {
	return append([]string(nil), r.cols...)
}

// Next returns the next valid recipient, io.EOF at the end of the file, or
// RowErrors listing every problem of an invalid or malformed row; after
// RowErrors the next call goes on with the following row. A record past a
// size limit (MaxFieldBytes, MaxRowBytes, MaxColumns) ends reading: Next
// returns a *RowError wrapping a *LimitError, not RowErrors, then the same
// error on every later call, like any other error that ends reading.
func (r *Reader) Next() (*Recipient, error) {
	if r.closed {
		return nil, r.end
	}
	for r.cur == nil || r.pos == r.cur.n {
		if r.end != nil {
			return nil, r.end
		}
		if r.cur != nil && r.cur.end != nil {
			// Reading is over: the goroutines have nothing left to do,
			// and waiting for them here means none outlives the Reader.
			r.end = r.cur.end
			r.stop()
			return nil, r.end
		}
		r.advance()
	}
	s := &r.cur.slots[r.pos]
	r.pos++
	return r.emit(s)
}

// advance makes the next batch current. The first batch is read and
// checked on the calling goroutine: a small file is done before any
// goroutine would have started, and a large one starts the pipeline right
// after, which reads on while this goroutine checks the first rows.
func (r *Reader) advance() {
	prev := r.cur
	r.cur, r.pos = nil, 0
	if prev != nil {
		prev.release()
	}
	if r.pipe != nil {
		r.cur = r.pipe.next(prev)
		return
	}
	b := prev
	if b == nil {
		b = newBatch(r.batchRows)
	}
	fill(r.src, b)
	if b.end == nil && !r.sequential && runtime.GOMAXPROCS(0) > 1 {
		// From here on only the pipeline touches r.src.
		r.pipe = startPipeline(r.src, r.batchRows, r.vr.name, r.vr.known, r.shared)
	}
	check(r.vr, b, nil)
	r.cur = b
}

// emit finishes a checked row in file order: it tracks the columns and
// the ids seen, which depend on every row before this one, and returns the
// row's recipient or its problems.
func (r *Reader) emit(s *slot) (*Recipient, error) {
	if s.bad != nil {
		return nil, s.bad
	}
	rec := &s.rec
	if r.colIndex != nil {
		for i, lk := range rec.lkeys {
			if _, ok := r.colIndex[lk]; !ok {
				r.colIndex[lk] = len(r.cols)
				r.cols = append(r.cols, rec.keys[i])
			}
		}
	}
	rcp, errs := s.rcp, s.errs
	// Every row with an id counts, valid or not: a later row with the
	// same id is a duplicate of this line either way.
	if id := rec.std[colID]; id != "" {
		first, dup, err := r.seen.add(id, rec.line)
		if err != nil {
			return nil, err
		}
		if dup {
			e := &RowError{File: r.name, Line: rec.line, Column: stdNames[colID], Value: id,
				Err: fmt.Errorf("duplicate of line %d", first)}
			errs = slices.Insert(errs, len(rec.problems), e)
			rcp = nil
		}
	}
	if errs != nil {
		return nil, errs
	}
	return rcp, nil
}

// stop ends the pipeline, if any, and waits for its goroutines.
func (r *Reader) stop() {
	if r.pipe != nil {
		r.pipe.stop()
		r.pipe = nil
	}
	r.cur, r.pos = nil, 0
}

// Close stops the goroutines reading ahead and closes the file opened by
// Open (not the io.Reader given to NewReader, nor standard input). A Read
// of the source that is under way when Close is called is waited for: an
// io.Reader given to NewReader that can block for good should be closed by
// its owner first, or read through NewReaderContext, whose context ends
// such a Read at once. Next after Close returns an error.
func (r *Reader) Close() error {
	if r.end == nil {
		r.end = fmt.Errorf("audience: reading %s: %w", r.name, os.ErrClosed)
	}
	r.closed = true
	// Closing the file first makes a read blocked on a pipe or FIFO return,
	// so stop does not wait for data that may never come.
	var err error
	if r.closer != nil {
		err = r.closer.Close()
		r.closer = nil
	}
	if r.in != nil {
		r.in.close()
	}
	r.stop()
	r.seen.free()
	return err
}
