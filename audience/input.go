package audience

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/gogs/chardet"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// input is the text of an audience file on its way to the parser: the
// bytes as read (with the caller's context), decoded to UTF-8, and
// guarded by the limits.
type input struct {
	text     *bufio.Reader // decoded text, guarded; what the parser reads
	guard    *guard
	delim    rune   // CSV only
	encoding string // the encoding the file is read in, by its WHATWG name
	decoded  bool   // the text was converted from another encoding

	guessOnce sync.Once
	guessed   string

	src io.Reader // the bytes as read, through the context
}

// close ends the goroutine a cancellable context reads with, if any.
func (in *input) close() {
	if c, ok := in.src.(*ctxReader); ok {
		c.close()
	}
}

// Delimiters are the field delimiters an audience file may use: detected
// from the header line in this order of preference, or named by
// audience_delimiter in the campaign file.
var Delimiters = []rune{',', ';', '\t', '|'}

// ParseDelimiter reads the audience_delimiter setting: one of , ; | or a
// tab, written as the character itself or as "tab".
func ParseDelimiter(s string) (rune, error) {
	if strings.EqualFold(s, "tab") || s == `\t` {
		return '\t', nil
	}
	for _, d := range Delimiters {
		if s == string(d) {
			return d, nil
		}
	}
	return 0, fmt.Errorf("audience_delimiter %s: use \",\", \";\", \"|\" or \"\\t\" (tab)", quote(s))
}

// LookupEncoding finds a legacy encoding by any name the WHATWG Encoding
// Standard knows ("windows-1252", "latin1", "shift_jis", "gbk"...), for
// audience_encoding. It returns the standard name.
func LookupEncoding(name string) (encoding.Encoding, string, error) {
	enc, err := htmlindex.Get(name)
	if err == nil && enc != encoding.Replacement {
		if canon, err := htmlindex.Name(enc); err == nil {
			return enc, canon, nil
		}
	}
	return nil, "", fmt.Errorf("audience_encoding %s: unknown encoding: use a name like \"windows-1252\", \"iso-8859-2\", \"shift_jis\" or \"gbk\" (the WHATWG Encoding Standard's names)", quote(name))
}

// openInput prepares r for parsing: a byte order mark decides the
// encoding (UTF-8, UTF-16LE or UTF-16BE) and is dropped; without one the
// declared encoding applies, UTF-8 when none is. For CSV the delimiter is
// opts.Delimiter or the one the header line uses most.
func openInput(ctx context.Context, r io.Reader, opts Options, csvFormat bool) (*input, error) {
	in := &input{encoding: "utf-8"}
	src := newCtxReader(ctx, r)
	in.src = src
	var head [3]byte
	n, err := io.ReadFull(src, head[:])
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return nil, err
	}
	rest := head[:n]
	var dec *encoding.Decoder
	switch {
	case bytes.HasPrefix(rest, []byte("\xEF\xBB\xBF")):
		rest = rest[3:]
	case bytes.HasPrefix(rest, []byte("\xFF\xFE")):
		rest, in.encoding = rest[2:], "utf-16le"
		dec = unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM).NewDecoder()
	case bytes.HasPrefix(rest, []byte("\xFE\xFF")):
		rest, in.encoding = rest[2:], "utf-16be"
		dec = unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM).NewDecoder()
	case opts.Encoding != "":
		enc, canon, err := LookupEncoding(opts.Encoding)
		if err != nil {
			return nil, err
		}
		in.encoding = canon
		if canon != "utf-8" {
			dec = enc.NewDecoder()
		}
	}
	var text io.Reader = io.MultiReader(bytes.NewReader(rest), src)
	if dec != nil {
		in.decoded = true
		text = transform.NewReader(text, dec)
	}
	var delim byte
	if csvFormat {
		// The header line is looked at before the guard sees it, so the
		// guard can count fields with the delimiter chosen here.
		peek := bufio.NewReaderSize(text, 64<<10)
		in.delim = opts.Delimiter
		if in.delim == 0 {
			in.delim = detectDelimiter(headerLine(peek))
		}
		delim = byte(in.delim)
		text = peek
	}
	in.guard = newGuard(text, delim)
	in.text = bufio.NewReaderSize(in.guard, 64<<10)
	return in, nil
}

// headerLine returns the first line as far as the buffer holds it. It
// reads no more than it must: on a pipe that delivers the header and then
// waits, it returns as soon as the line end has arrived.
func headerLine(br *bufio.Reader) []byte {
	n := 1
	for {
		if _, err := br.Peek(n); err != nil && err != bufio.ErrBufferFull {
			b, _ := br.Peek(br.Buffered())
			return b
		}
		b, _ := br.Peek(br.Buffered())
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			return b[:i]
		}
		if len(b) == br.Size() {
			return b
		}
		n = len(b) + 1
	}
}

// detectDelimiter picks the delimiter found most often outside quotes in
// the header line; a header of one column has none, and gets ",".
func detectDelimiter(line []byte) rune {
	counts := map[byte]int{}
	quoted := false
	for _, c := range line {
		switch {
		case c == '"':
			quoted = !quoted
		case !quoted:
			counts[c]++
		}
	}
	best, bestN := ',', 0
	for _, d := range Delimiters {
		if n := counts[byte(d)]; n > bestN {
			best, bestN = d, n
		}
	}
	return best
}

// otherDelimiter is for a header without an id column: the delimiter that
// would give one, or 0.
func otherDelimiter(header []string, used rune) rune {
	line := strings.Join(header, string(used))
	for _, d := range Delimiters {
		if d == used {
			continue
		}
		for _, h := range strings.Split(line, string(d)) {
			if strings.EqualFold(strings.Trim(strings.TrimSpace(h), `"`), "id") {
				return d
			}
		}
	}
	return 0
}

// delimiterName is how a message names a delimiter, as it is written in
// the campaign file.
func delimiterName(d rune) string {
	if d == '\t' {
		return `"\t" (tab)`
	}
	return fmt.Sprintf("%q", string(d))
}

// guess names the encoding a value that is not UTF-8 looks like, when the
// detector is confident; the first such value of a file decides for all
// of them, as a file has one encoding.
func (in *input) guess(sample func() string) string {
	in.guessOnce.Do(func() {
		results, err := chardet.NewTextDetector().DetectAll([]byte(sample()))
		if err != nil {
			return
		}
		// The detector lists equal scores in no fixed order: among the
		// best, windows-1252 (the usual case) wins, then the first name,
		// so the same file always gets the same hint. The WHATWG name is
		// given: ISO-8859-1 is read as windows-1252, its superset.
		best, bestConf := "", 50
		for _, r := range results {
			_, canon, err := LookupEncoding(r.Charset)
			if err != nil || r.Confidence < bestConf {
				continue
			}
			if r.Confidence > bestConf || best == "" || canon == "windows-1252" || best != "windows-1252" && canon < best {
				best, bestConf = canon, r.Confidence
			}
		}
		in.guessed = best
	})
	return in.guessed
}

func indexNUL(s string) int { return strings.IndexByte(s, 0) }

func containsReplacement(s string) bool { return strings.Contains(s, "\uFFFD") }

// ctxReader makes reading stop when ctx is cancelled, even while the
// underlying Read is blocked (a slow pipe, a terminal, a stalled network
// file): the Read runs on a goroutine of its own and ctxReader stops
// waiting for it. That goroutine stays blocked until the underlying Read
// returns, then exits; closing the reader (as Reader.Close does for files
// it opened) makes that happen at once.
type ctxReader struct {
	ctx  context.Context
	r    io.Reader
	buf  []byte
	req  chan int
	res  chan ctxResult
	quit chan struct{} // closed by close: the goroutine exits
	stop sync.Once
	done bool  // the context ended: every Read fails from now on
	err  error // the underlying reader's final error, once seen
}

type ctxResult struct {
	n   int
	err error
}

// newCtxReader wraps r; with a context that cannot be cancelled it
// returns r itself.
func newCtxReader(ctx context.Context, r io.Reader) io.Reader {
	if ctx == nil || ctx.Done() == nil {
		return r
	}
	return &ctxReader{ctx: ctx, r: r, quit: make(chan struct{})}
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if c.done {
		return 0, c.ctx.Err()
	}
	if c.err != nil {
		return 0, c.err
	}
	if err := c.ctx.Err(); err != nil {
		c.done = true
		return 0, err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if c.req == nil {
		c.buf = make([]byte, 64<<10)
		c.req, c.res = make(chan int), make(chan ctxResult, 1)
		go c.pump()
	}
	// The goroutine reads into its own buffer, never into p: p may be
	// reused by the caller once this Read has returned on cancellation.
	select {
	case c.req <- min(len(p), len(c.buf)):
	case <-c.ctx.Done():
		c.done = true
		return 0, c.ctx.Err()
	case <-c.quit:
		c.err = os.ErrClosed
		return 0, c.err
	}
	select {
	case r := <-c.res:
		copy(p, c.buf[:r.n])
		c.err = r.err
		return r.n, r.err
	case <-c.ctx.Done():
		c.done = true
		return 0, c.ctx.Err()
	case <-c.quit:
		c.err = os.ErrClosed
		return 0, c.err
	}
}

// pump serves Reads until the underlying reader fails or ends, the
// context ends, or the Reader is closed, so it never outlives them.
func (c *ctxReader) pump() {
	for {
		select {
		case n := <-c.req:
			m, err := c.r.Read(c.buf[:n])
			c.res <- ctxResult{m, err}
			if err != nil {
				return
			}
		case <-c.ctx.Done():
			return
		case <-c.quit:
			return
		}
	}
}

// close lets the goroutine go when the Reader is closed before the end.
func (c *ctxReader) close() {
	c.stop.Do(func() { close(c.quit) })
}
