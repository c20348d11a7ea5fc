package audience

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

// readAll reads every row and returns the recipients and the error texts.
func readAll(t *testing.T, name, data string, opts Options) ([]*Recipient, []string) {
	t.Helper()
	r, err := NewReader(strings.NewReader(data), name, opts)
	if err != nil {
		return nil, strings.Split(err.Error(), "\n")
	}
	var got []*Recipient
	var msgs []string
	for {
		rcp, err := r.Next()
		if err == io.EOF {
			return got, msgs
		}
		if err != nil {
			var re RowErrors
			if !errors.As(err, &re) {
				t.Fatalf("Next returned %T %v, want RowErrors", err, err)
			}
			msgs = append(msgs, strings.Split(err.Error(), "\n")...)
			continue
		}
		got = append(got, rcp)
	}
}

const hdr = "id,email,phone,whatsapp,telegram,line,locale,timezone,country,channels,opt_out\n"

func TestRowRules(t *testing.T) {
	tests := []struct {
		name, row string
		opts      Options
		want      []string
	}{
		{"valid row", "c1,a@example.com,+6281234567890,,,,id,Asia/Jakarta,ID,whatsapp,", Options{}, nil},
		{"empty id", ",a@example.com,,,,,,,,,", Options{}, []string{`customers.csv:2: id "": empty: every row needs a unique id`}},
		{"bad email", "c1,bob@,,,,,,,,,", Options{}, []string{`customers.csv:2: email "bob@": not a valid e-mail address (missing '@' or angle-addr): write it like name@example.com`}},
		{"email with name", "c1,Bob <bob@example.com>,,,,,,,,,", Options{}, []string{`customers.csv:2: email "Bob <bob@example.com>": write the address alone, without a display name or angle brackets`}},
		{"email domain without dot", "c1,bob@gmail,,,,,,,,,", Options{}, []string{`customers.csv:2: email "bob@gmail": the domain "gmail" has no dot: check for a missing ".com" or similar`}},
		{"national phone without country", "c1,,081234567890,,,,,,,,", Options{}, []string{`customers.csv:2: phone "081234567890": a national number needs a country: fill the country column or write the number in international form (+6281234567890)`}},
		{"national phone with bad country", "c1,,081234567890,,,,,,XX,,", Options{}, []string{
			`customers.csv:2: country "XX": unknown ISO 3166-1 alpha-2 country code: use an assigned code like ID, IT or BR`,
			`customers.csv:2: phone "081234567890": a national number needs a valid country: fix the country column or write the number in international form (+6281234567890)`}},
		{"invalid phone", "c1,,+62123,,,,,,,,", Options{}, []string{`customers.csv:2: phone "+62123": not a valid phone number: check the country code and the digits`}},
		{"invalid national phone", "c1,,0812,,,,,,ID,,", Options{}, []string{`customers.csv:2: phone "0812": not a valid phone number in ID: check the digits, or write it in international form if it is from another country`}},
		{"not a number", "c1,,call me,,,,,,,,", Options{}, []string{`customers.csv:2: phone "call me": not a phone number (the phone number supplied is not a number): write it as +6281234567890, or nationally with the country column filled`}},
		{"bad whatsapp", "c1,,,+39123,,,,,,,", Options{}, []string{`customers.csv:2: whatsapp "+39123": not a valid phone number: check the country code and the digits`}},
		{"bad telegram", "c1,,,,abc,,,,,,", Options{}, []string{`customers.csv:2: telegram "abc": not a Telegram chat id: use the integer chat id (like 123456789 or -1001234567890) or @channelname`}},
		{"short telegram channel", "c1,,,,@ab,,,,,,", Options{}, []string{`customers.csv:2: telegram "@ab": not a Telegram @channelname: it has 5 to 32 letters, digits or underscores and starts with a letter`}},
		{"bad line id", "c1,,,,,U123,,,,,", Options{}, []string{`customers.csv:2: line "U123": not a LINE id: it is U (user), C (group) or R (room) followed by 32 lower-case hex digits`}},
		{"bad locale", "c1,,,,,,pt_BRR_x,,,,", Options{}, []string{`customers.csv:2: locale "pt_BRR_x": not a BCP 47 language tag: use one like "id", "pt-BR" or "zh-Hant-TW"`}},
		{"unknown language", "c1,,,,,,xx,,,,", Options{}, []string{`customers.csv:2: locale "xx": unknown language subtag "xx": use a BCP 47 tag like "id", "pt-BR" or "zh-Hant-TW"`}},
		{"unknown zone", "c1,,,,,,,Asia/Jakarat,,,", Options{}, []string{`customers.csv:2: timezone "Asia/Jakarat": unknown time zone`}},
		{"host zone refused", "c1,,,,,,,Local,,,", Options{}, []string{`customers.csv:2: timezone "Local": unknown time zone`}},
		{"three-letter country", "c1,,,,,,,,IDN,,", Options{}, []string{`customers.csv:2: country "IDN": use the 2-letter ISO 3166-1 code "ID"`}},
		{"reserved country", "c1,,,,,,,,UK,,", Options{}, []string{`customers.csv:2: country "UK": not an ISO 3166-1 code in use: use "GB"`}},
		{"unknown channel", "c1,,,,,,,,,whatsapp;fax,", Options{KnownChannels: []string{"email", "whatsapp", "sms"}},
			[]string{`customers.csv:2: channels "whatsapp;fax": unknown channel "fax": use email, sms, whatsapp`}},
		{"unknown opt-out", "c1,,,,,,,,,,pigeon|fax", Options{KnownChannels: []string{"email"}},
			[]string{`customers.csv:2: opt_out "pigeon|fax": unknown channels "pigeon", "fax": use email, all`}},
		{"any channel name without a list", "c1,,,,,,,,,fax,pigeon", Options{}, nil},
		{"every problem of a row", ",bob@,+62123,,,,,Mars/Base,,,", Options{}, []string{
			`customers.csv:2: id "": empty: every row needs a unique id`,
			`customers.csv:2: email "bob@": not a valid e-mail address (missing '@' or angle-addr): write it like name@example.com`,
			`customers.csv:2: phone "+62123": not a valid phone number: check the country code and the digits`,
			`customers.csv:2: timezone "Mars/Base": unknown time zone`}},
		{"field count", "c1,a@example.com", Options{}, []string{`customers.csv:2: the row has 2 fields but the header has 11: quote values that contain commas, or add the missing fields`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, msgs := readAll(t, "customers.csv", hdr+tt.row+"\n", tt.opts)
			if !reflect.DeepEqual(msgs, tt.want) {
				t.Errorf("errors:\n got %q\nwant %q", msgs, tt.want)
			}
		})
	}
}

func TestNormalisation(t *testing.T) {
	tests := []struct {
		name, row string
		check     func(r *Recipient) string // returns "" when fine
		want      string
	}{
		{"email domain lower-cased, local part kept", "c1,Bob.Smith@Example.COM,,,,,,,,,", func(r *Recipient) string { return r.Email }, "Bob.Smith@example.com"},
		{"national phone with country", "c1,,0812-3456-7890,,,,,,id,,", func(r *Recipient) string { return r.Phone + " " + r.Country }, "+6281234567890 ID"},
		{"grouped international phone, country inferred", "c1,,+39 320 123 4567,,,,,,,,", func(r *Recipient) string { return r.Phone + " " + r.Country }, "+393201234567 IT"},
		{"whatsapp read in the country inferred from phone", "c1,,+6281234567890,0813 1234 5678,,,,,,,", func(r *Recipient) string { return r.WhatsApp }, "+6281312345678"},
		{"non-geographic number leaves country empty", "c1,,+800 1234 5678,,,,,,,,", func(r *Recipient) string { return r.Phone + "|" + r.Country }, "+80012345678|"},
		{"locale with underscore", "c1,,,,,,pt_BR,,,,", func(r *Recipient) string { return r.Locale }, "pt-BR"},
		{"legacy in", "c1,,,,,,in,,,,", func(r *Recipient) string { return r.Locale }, "id"},
		{"legacy iw", "c1,,,,,,iw-IL,,,,", func(r *Recipient) string { return r.Locale }, "he-IL"},
		{"script tag", "c1,,,,,,zh-hant-tw,,,,", func(r *Recipient) string { return r.Locale }, "zh-Hant-TW"},
		{"zone", "c1,,,,,,,Asia/Kathmandu,,,", func(r *Recipient) string { return r.Zone.String() }, "Asia/Kathmandu"},
		{"channels split and lower-cased", "c1,,,,,,,,,\"WhatsApp, email|sms;whatsapp  line\",", func(r *Recipient) string { return strings.Join(r.Channels, "/") }, "whatsapp/email/sms/line"},
		{"opt out all", "c1,,,,,,,,,,\"sms,ALL\"", func(r *Recipient) string { return strings.Join(r.OptOut, "/") }, "all"},
		{"negative telegram id", "c1,,,,-1001234567890,,,,,,", func(r *Recipient) string { return r.Telegram }, "-1001234567890"},
		{"telegram channel", "c1,,,,@herald_news,,,,,,", func(r *Recipient) string { return r.Telegram }, "@herald_news"},
		{"line id", "c1,,,,,U4af4980629aaaaaaaaaaaaaaaaaaaaaa,,,,,", func(r *Recipient) string { return r.LineID }, "U4af4980629aaaaaaaaaaaaaaaaaaaaaa"},
		{"empty optional columns", "c1,,,,,,,,,,", func(r *Recipient) string {
			if r.Zone != nil || r.Locale != "" || r.Channels != nil || r.Country != "" {
				return "not empty"
			}
			return "ok"
		}, "ok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, msgs := readAll(t, "customers.csv", hdr+tt.row+"\n", Options{})
			if len(msgs) > 0 || len(got) != 1 {
				t.Fatalf("row rejected: %q", msgs)
			}
			if v := tt.check(got[0]); v != tt.want {
				t.Errorf("got %q, want %q", v, tt.want)
			}
		})
	}
}

func TestHeader(t *testing.T) {
	tests := []struct {
		name, data string
		want       []string
	}{
		{"empty file", "", []string{`c.csv:1: the file is empty: it needs a header row naming the columns, with at least an id column`}},
		{"no id column", "name,email\nBob,b@example.com\n", []string{`c.csv:1: the header has no id column (columns: name, email): add one with each customer's unique key`}},
		{"duplicate header ignoring case", "id,Email,email\n", []string{`c.csv:1: header "email": column 3 duplicates column 2 "Email" (names are compared ignoring case): rename or remove one`}},
		{"nameless column", "id,,name\n", []string{`c.csv:1: header "": column 2 has no name: name it or delete the empty column`}},
		{"broken quoting in header", "id,\"name\n", []string{`c.csv:1: malformed CSV at line 1, column 10: extraneous or missing " in quoted-field: quote fields that contain commas, quotes or line breaks, and double every quote inside a quoted field`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewReader(strings.NewReader(tt.data), "c.csv", Options{})
			var re RowErrors
			if !errors.As(err, &re) {
				t.Fatalf("got %v, want RowErrors", err)
			}
			if got := strings.Split(err.Error(), "\n"); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestHeadersIgnoreCaseAndFieldsKeepThem(t *testing.T) {
	data := "ID, Email ,TimeZone,Phone,Country,Order_ID\nc1,a@EXAMPLE.com,Europe/Rome,320 123 4567,it,A-7\n"
	got, msgs := readAll(t, "c.csv", data, Options{})
	if len(msgs) > 0 {
		t.Fatal(msgs)
	}
	r := got[0]
	want := map[string]string{"ID": "c1", "Email": "a@example.com", "TimeZone": "Europe/Rome", "Phone": "+393201234567", "Country": "IT", "Order_ID": "A-7"}
	if !reflect.DeepEqual(r.Fields.Map(), want) {
		t.Errorf("Fields = %v, want %v", r.Fields.Map(), want)
	}
	for col, v := range map[string]string{"phone": "+393201234567", "EMAIL": "a@example.com", "order_id": "A-7", "timezone": "Europe/Rome", "missing": ""} {
		if a := r.Address(col); a != v {
			t.Errorf("Address(%q) = %q, want %q", col, a, v)
		}
	}
}

func TestFileShapes(t *testing.T) {
	tests := []struct {
		name, data string
		lines      []int // Line of each valid recipient
		ids        []string
		errs       []string
	}{
		{"BOM and CRLF", "\uFEFFid,name\r\nc1,Ann\r\nc2,Bob\r\n", []int{2, 3}, []string{"c1", "c2"}, nil},
		{"multi-line quoted field keeps the start line",
			"id,note\nc1,\"line one\r\nline two\nline three\"\nc2,x\n\"c3\",\"a\nb\"\n", []int{2, 5, 6}, []string{"c1", "c2", "c3"}, nil},
		{"blank lines skipped", "id\n\nc1\n\n\nc2\n", []int{3, 6}, []string{"c1", "c2"}, nil},
		{"broken quoting is reported and reading goes on",
			"id,name\nc1,Ann\nc2,Bo\"b\nc3,Cy\n", []int{2, 4}, []string{"c1", "c3"},
			[]string{`c.csv:3: malformed CSV at line 3, column 6: bare " in non-quoted-field: quote fields that contain commas, quotes or line breaks, and double every quote inside a quoted field`}},
		{"duplicate id names the first line", "id\nc-17\nc-2\n\"c-17\"\n", []int{2, 3}, []string{"c-17", "c-2"},
			[]string{`c.csv:4: id "c-17": duplicate of line 2`}},
		{"id is trimmed before the duplicate check", "id\nc1\n c1 \n", []int{2}, []string{"c1"}, []string{`c.csv:3: id "c1": duplicate of line 2`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, msgs := readAll(t, "c.csv", tt.data, Options{})
			var lines []int
			var ids []string
			for _, r := range got {
				lines = append(lines, r.Line)
				ids = append(ids, r.ID)
			}
			if !reflect.DeepEqual(lines, tt.lines) || !reflect.DeepEqual(ids, tt.ids) || !reflect.DeepEqual(msgs, tt.errs) {
				t.Errorf("got lines %v ids %v errs %q\nwant lines %v ids %v errs %q", lines, ids, msgs, tt.lines, tt.ids, tt.errs)
			}
		})
	}
}

func TestJSONL(t *testing.T) {
	data := "\uFEFF{\"id\":\"c1\",\"Phone\":\"+6281234567890\",\"locale\":\"in\",\"order\":1234.50,\"vip\":true,\"note\":null}\r\n" +
		"\n" +
		"{\"id\":7,\"email\":\"x@Example.com\",\"extra\":\"y\"}\n" +
		"{\"id\":\"c3\",\"tags\":[\"a\"],\"timezone\":\"Nowhere/Zone\"}\n" +
		"not json\n" +
		"{\"id\":\"c5\",\"ID\":\"c6\"}\n" +
		"{\"id\":\"c1\"}\n" +
		"{\"id\":\"c8\"} {\"id\":\"c9\"}\n"
	r, err := NewReader(strings.NewReader(data), "people.jsonl", Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []*Recipient
	var msgs []string
	for {
		rcp, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			msgs = append(msgs, strings.Split(err.Error(), "\n")...)
			continue
		}
		got = append(got, rcp)
	}
	wantMsgs := []string{
		`people.jsonl:4: tags "[…]": the value is an array: use a string, number or boolean`,
		`people.jsonl:4: timezone "Nowhere/Zone": unknown time zone`,
		`people.jsonl:5: not a JSON object: each line must be one object like {"id":"c-1","email":"a@example.com"}`,
		`people.jsonl:6: id "c6": key "ID" repeats key "id" (keys are compared ignoring case): keep one`,
		`people.jsonl:7: id "c1": duplicate of line 1`,
		`people.jsonl:8: unexpected text after the object, which ends at column 11: put one object on each line`,
	}
	if !reflect.DeepEqual(msgs, wantMsgs) {
		t.Errorf("errors:\n got %q\nwant %q", msgs, wantMsgs)
	}
	if len(got) != 2 {
		t.Fatalf("got %d recipients, want 2", len(got))
	}
	wantFields := map[string]string{"id": "c1", "Phone": "+6281234567890", "locale": "id", "order": "1234.50", "vip": "true", "note": ""}
	if got[0].Line != 1 || got[0].Country != "ID" || !reflect.DeepEqual(got[0].Fields.Map(), wantFields) {
		t.Errorf("first = line %d country %q fields %v", got[0].Line, got[0].Country, got[0].Fields.Map())
	}
	if got[1].Line != 3 || got[1].ID != "7" || got[1].Email != "x@example.com" {
		t.Errorf("second = %+v", got[1])
	}
	if cols := r.Columns(); !reflect.DeepEqual(cols, []string{"id", "Phone", "locale", "order", "vip", "note", "email", "extra", "timezone"}) {
		t.Errorf("Columns = %q", cols)
	}
}

func TestFormatSelection(t *testing.T) {
	tests := []struct {
		name, file, format, data string
		wantErr                  string
	}{
		{"jsonl by extension", "a.JSONL", "", `{"id":"c1"}`, ""},
		{"ndjson by extension", "a.ndjson", "", `{"id":"c1"}`, ""},
		{"csv by default", "a.txt", "", "id\nc1\n", ""},
		{"explicit jsonl", "stdin", "jsonl", `{"id":"c1"}`, ""},
		{"unknown format", "a.csv", "xml", "", `audience: unknown format "xml" for a.csv: use "csv" or "jsonl"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewReader(strings.NewReader(tt.data), tt.file, Options{Format: tt.format})
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			rcp, err := r.Next()
			if err != nil || rcp.ID != "c1" {
				t.Fatalf("Next = %v, %v", rcp, err)
			}
		})
	}
}
