package audience

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
)

// utf16File encodes text as UTF-16 with a byte order mark, the way Excel's
// and LibreOffice's "Unicode text" export writes it.
func utf16File(t *testing.T, order unicode.Endianness, text string) []byte {
	t.Helper()
	b, err := unicode.UTF16(order, unicode.UseBOM).NewEncoder().Bytes([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func cp1252(t *testing.T, text string) []byte {
	t.Helper()
	b, err := charmap.Windows1252.NewEncoder().Bytes([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readRows reads every row and returns the recipients and the errors.
func readRows(t *testing.T, data []byte, name string, opts Options) ([]*Recipient, []error) {
	t.Helper()
	r, err := NewReader(bytes.NewReader(data), name, opts)
	if err != nil {
		return nil, []error{err}
	}
	defer r.Close()
	var rcps []*Recipient
	var errs []error
	for range 1000 {
		rcp, err := r.Next()
		if err == io.EOF {
			return rcps, errs
		}
		if err != nil {
			errs = append(errs, err)
			var re RowErrors
			if !errors.As(err, &re) {
				return rcps, errs // reading cannot go on
			}
			continue
		}
		rcps = append(rcps, rcp)
	}
	t.Fatal("Next did not end")
	return nil, nil
}

// Files as spreadsheet programs save them: the values must come out as
// the customer's names were typed, whatever the delimiter and encoding.
func TestSpreadsheetExports(t *testing.T) {
	const excelSemicolon = "\uFEFFid;name;email;phone;country\r\n" +
		"c1;Jürgen Müller;j@example.de;+49 1512 3456789;DE\r\n" +
		"c2;\"Dupont; Marie-Hélène\";m@example.fr;;FR\r\n"
	const tabText = "id\tname\temail\r\nc1\tJürgen Müller\tj@example.de\r\nc2\t山田 太郎\tt@example.jp\r\n"
	tests := []struct {
		name  string
		data  []byte
		opts  Options
		names []string
	}{
		{"Excel CSV UTF-8, semicolons, BOM and CRLF", []byte(excelSemicolon), Options{}, []string{"Jürgen Müller", "Dupont; Marie-Hélène"}},
		{"semicolons declared", []byte(excelSemicolon), Options{Delimiter: ';'}, []string{"Jürgen Müller", "Dupont; Marie-Hélène"}},
		{"Unicode text: UTF-16LE with BOM, tabs", utf16File(t, unicode.LittleEndian, tabText), Options{}, []string{"Jürgen Müller", "山田 太郎"}},
		{"UTF-16BE with BOM, tabs", utf16File(t, unicode.BigEndian, tabText), Options{}, []string{"Jürgen Müller", "山田 太郎"}},
		{"windows-1252 declared", cp1252(t, "id,name\r\nc1,Jürgen Müller\r\nc2,François\r\n"), Options{Encoding: "windows-1252"}, []string{"Jürgen Müller", "François"}},
		{"latin1 label reads as windows-1252", cp1252(t, "id;name\r\nc1;Müller € 5\r\n"), Options{Encoding: "latin1"}, []string{"Müller € 5"}},
		{"BOM wins over a declared encoding", []byte("\uFEFFid,name\nc1,Müller\n"), Options{Encoding: "windows-1252"}, []string{"Müller"}},
		{"pipes", []byte("id|name|channels\nc1|Ana|email,sms\n"), Options{}, []string{"Ana"}},
		{"one column has no delimiter", []byte("id\nc1\n"), Options{}, []string{""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rcps, errs := readRows(t, tc.data, "export.csv", tc.opts)
			if errs != nil {
				t.Fatalf("errors: %v", errs)
			}
			var got []string
			for _, r := range rcps {
				got = append(got, r.Name)
			}
			if strings.Join(got, "|") != strings.Join(tc.names, "|") {
				t.Errorf("names %q, want %q", got, tc.names)
			}
			if rcps[0].ID != "c1" {
				t.Errorf("first id %q, want c1 (BOM or delimiter left in the header?)", rcps[0].ID)
			}
		})
	}
}

// An undeclared Windows-1252 file is refused row by row with the line, the
// column and the likely encoding, and the message shows no mojibake.
func TestUndeclaredLegacyEncoding(t *testing.T) {
	data := cp1252(t, "id;name;email;country\r\n"+
		"c1;Anna Schmidt;anna@example.de;DE\r\n"+
		"c2;Jürgen Müller;juergen.mueller@example.de;DE\r\n"+
		"c3;Françoise Lefèvre;francoise@example.fr;FR\r\n")
	rcps, errs := readRows(t, data, "kunden.csv", Options{})
	if len(rcps) != 1 || rcps[0].ID != "c1" {
		t.Fatalf("recipients %v, want only c1", rcps)
	}
	if len(errs) != 2 {
		t.Fatalf("errors %v, want one for line 3 and one for line 4", errs)
	}
	for i, err := range errs {
		var re RowErrors
		var ee *EncodingError
		if !errors.As(err, &re) || !errors.As(err, &ee) {
			t.Fatalf("error %v is not RowErrors with an EncodingError", err)
		}
		if re[0].Line != 3+i || re[0].Column != "name" {
			t.Errorf("error at line %d column %q, want line %d column name", re[0].Line, re[0].Column, 3+i)
		}
		if ee.Guess != "windows-1252" {
			t.Errorf("guess %q, want windows-1252", ee.Guess)
		}
		msg := err.Error()
		if !strings.Contains(msg, `set audience_encoding = "windows-1252"`) || strings.Contains(msg, "\uFFFD") {
			t.Errorf("message %q: want the hint and no replacement character", msg)
		}
	}
	if !strings.HasPrefix(errs[0].Error(), `kunden.csv:3: name "J\xfcrgen M\xfcller"`) {
		t.Errorf("message %q does not start with the file, line, column and the bytes as they are", errs[0])
	}
}

// Declared encodings that do not fit the bytes, and a wrong delimiter.
func TestEncodingAndDelimiterMistakes(t *testing.T) {
	if _, err := NewReader(strings.NewReader("id\nc1\n"), "a.csv", Options{Encoding: "klingon-8"}); err == nil || !strings.Contains(err.Error(), `"klingon-8": unknown encoding`) {
		t.Errorf("unknown encoding: %v", err)
	}
	// Invalid surrogates in a UTF-16 file come out of the decoder as
	// U+FFFD, which must not reach a message.
	bad := append(utf16File(t, unicode.LittleEndian, "id,name\nc1,"), 0x00, 0xD8, 'x', 0, '\n', 0)
	_, errs := readRows(t, bad, "u.txt", Options{})
	var ee *EncodingError
	if len(errs) != 1 || !errors.As(errs[0], &ee) || ee.Encoding != "utf-16le" || !strings.HasPrefix(errs[0].Error(), "u.txt:2: name") {
		t.Errorf("bad UTF-16: %v", errs)
	}
	// UTF-16 without a byte order mark is full of NUL bytes.
	noBOM, _ := unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM).NewEncoder().Bytes([]byte("id,name\nc1,Ana\n"))
	_, errs = readRows(t, noBOM, "n.txt", Options{})
	if len(errs) != 1 || !errors.Is(errs[0], ErrNUL) || !strings.HasPrefix(errs[0].Error(), "n.txt:1: header") {
		t.Errorf("UTF-16 without BOM: %v", errs)
	}
	// audience_delimiter says "," but the file uses ";".
	_, errs = readRows(t, []byte("id;name\nc1;Ana\n"), "d.csv", Options{Delimiter: ','})
	var de *DelimiterError
	if len(errs) != 1 || !errors.As(errs[0], &de) || de.Want != ';' || !strings.Contains(errs[0].Error(), `set audience_delimiter = ";"`) {
		t.Errorf("wrong delimiter: %v", errs)
	}
	if _, err := NewReader(strings.NewReader("id\n"), "d.csv", Options{Delimiter: 'x'}); err == nil {
		t.Error("delimiter x accepted")
	}
}

// Every limit of SPEC §1.3 as a typed error at the right line; the rows
// before it are read, and reading stops at a record that passes a size
// limit (its rest was never read).
func TestInputLimits(t *testing.T) {
	long := strings.Repeat("a", MaxFieldBytes+1)
	var wide strings.Builder // a row of 20 fields of 60 KiB: 1.2 MiB
	wide.WriteString("c2")
	for range 20 {
		wide.WriteString("," + strings.Repeat("b", 60<<10))
	}
	manyCols := "id" + strings.Repeat(",x", MaxColumns) + "\n"
	var cols20 strings.Builder
	cols20.WriteString("id")
	for i := range 20 {
		cols20.WriteString(",c" + string(rune('a'+i)))
	}
	tests := []struct {
		name   string
		file   string
		data   string
		kind   LimitKind
		line   int
		before int // rows read before the error
	}{
		{"field over 64 KiB", "c.csv", "id,name\nc1,ok\nc2," + long + "\nc3,x\n", LimitField, 3, 1},
		{"quoted field over 64 KiB across lines", "c.csv", "id,name\nc1,\"" + strings.Repeat("ab\n", MaxFieldBytes/3+1) + "\"\n", LimitField, 2, 0},
		{"row over 1 MiB", "c.csv", cols20.String() + "\nc1" + strings.Repeat(",y", 20) + "\n" + wide.String() + "\n", LimitRow, 3, 1},
		{"more than 1,000 columns in a row", "c.csv", "id,name\nc1" + strings.Repeat(",z", MaxColumns) + "\n", LimitColumns, 2, 0},
		{"JSON Lines line over 1 MiB", "c.jsonl", `{"id":"c1"}` + "\n" + `{"id":"c2","x":"` + strings.Repeat("q", MaxRowBytes) + `"}` + "\n", LimitRow, 2, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rcps, errs := readRows(t, []byte(tc.data), tc.file, Options{})
			if len(rcps) != tc.before || len(errs) != 1 {
				t.Fatalf("%d recipients and errors %.300v, want %d and one error", len(rcps), errs, tc.before)
			}
			var row *RowError
			var le *LimitError
			if !errors.As(errs[0], &row) || !errors.As(errs[0], &le) {
				t.Fatalf("error %T %.200v is not a *RowError with a *LimitError", errs[0], errs[0])
			}
			var re RowErrors
			if errors.As(errs[0], &re) {
				t.Error("a size limit must end reading, not be a row to skip")
			}
			if le.Kind != tc.kind || row.Line != tc.line || row.File != tc.file {
				t.Errorf("got kind %v at %s:%d, want kind %v at line %d", le.Kind, row.File, row.Line, tc.kind, tc.line)
			}
			if len(errs[0].Error()) > 400 {
				t.Errorf("message of %d bytes: %.200s", len(errs[0].Error()), errs[0])
			}
		})
	}
	// In the header, more than 1,000 columns stops NewReader.
	_, err := NewReader(strings.NewReader(manyCols), "h.csv", Options{})
	var le *LimitError
	if !errors.As(err, &le) || le.Kind != LimitColumns || !strings.HasPrefix(err.Error(), "h.csv:1: ") {
		t.Errorf("header with 1,001 columns: %v", err)
	}
}

// Values that are refused row by row: reading goes on after them.
func TestRowTextRules(t *testing.T) {
	tests := []struct {
		name, file, data string
		line             int
		want             error
	}{
		{"NUL byte in CSV", "c.csv", "id,name\nc1,a\x00b\nc2,ok\n", 2, ErrNUL},
		{"NUL escaped in JSON", "c.jsonl", `{"id":"c1","name":"a\u0000b"}` + "\n" + `{"id":"c2"}` + "\n", 1, ErrNUL},
		{"invalid UTF-8 in JSON", "c.jsonl", "{\"id\":\"c1\",\"name\":\"M\xfcller\"}\n{\"id\":\"c2\"}\n", 1, &EncodingError{}},
		{"value over 64 KiB in JSON", "c.jsonl", `{"id":"c1","n":"` + strings.Repeat("a", MaxFieldBytes+1) + `"}` + "\n" + `{"id":"c2"}` + "\n", 1, &LimitError{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rcps, errs := readRows(t, []byte(tc.data), tc.file, Options{})
			if len(errs) != 1 || len(rcps) != 1 || rcps[0].ID != "c2" {
				t.Fatalf("recipients %v errors %.300v: want c2 and one error", rcps, errs)
			}
			var re RowErrors
			if !errors.As(errs[0], &re) || re.Line() != tc.line {
				t.Fatalf("error %.200v is not RowErrors at line %d", errs[0], tc.line)
			}
			switch want := tc.want.(type) {
			case *EncodingError:
				var ee *EncodingError
				if !errors.As(errs[0], &ee) {
					t.Errorf("error %v is not an EncodingError", errs[0])
				}
			case *LimitError:
				var le *LimitError
				if !errors.As(errs[0], &le) || le.Kind != LimitField {
					t.Errorf("error %.200v is not a field LimitError", errs[0])
				}
			default:
				if !errors.Is(errs[0], want) {
					t.Errorf("error %v is not %v", errs[0], want)
				}
			}
		})
	}
}

// No error message quotes more than 80 characters of a value.
func TestMessagesClipValues(t *testing.T) {
	huge := strings.Repeat("x", 5000)
	data := "id,email,channels,timezone\nc1," + huge + "@nowhere," + huge + "," + huge + "\n" + "c1,a@example.com,,\n" + huge[:3000] + ",b@example.com,,\n" + huge[:3000] + ",c@example.com,,\n"
	_, errs := readRows(t, []byte(data), "c.csv", Options{KnownChannels: []string{"email"}})
	if len(errs) != 3 {
		t.Fatalf("errors %.500v", errs)
	}
	for _, err := range errs {
		for _, line := range strings.Split(err.Error(), "\n") {
			if strings.Contains(line, strings.Repeat("x", 81)) {
				t.Errorf("message quotes more than 80 characters: %.300s", line)
			}
			if len(line) > 400 {
				t.Errorf("message of %d bytes: %.300s", len(line), line)
			}
		}
	}
	if msg := errs[2].Error(); !strings.HasSuffix(msg, "x…\": duplicate of line 4") {
		t.Errorf("third error %.300s: want the duplicate id, clipped", msg)
	}
}

func TestManyUnknownChannelsMessage(t *testing.T) {
	data := "id,channels\nc1," + strings.Repeat("fax ", 10000) + strings.Repeat("pigeon ", 3) + "\n"
	_, errs := readRows(t, []byte(data), "c.csv", Options{KnownChannels: []string{"email"}})
	if len(errs) != 1 || !strings.HasSuffix(errs[0].Error(), `unknown channels "fax", "pigeon": use email`) {
		t.Errorf("errors %.400v", errs)
	}
	data = "id,channels\nc1,a b c d e f g h\n"
	_, errs = readRows(t, []byte(data), "c.csv", Options{KnownChannels: []string{"email"}})
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), `"e", and 3 more: use email`) {
		t.Errorf("errors %.400v", errs)
	}
}
