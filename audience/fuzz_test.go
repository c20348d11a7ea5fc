package audience

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"slices"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

// FuzzReader feeds arbitrary bytes as a CSV audience: reading must never
// panic or loop, every error must be a RowErrors whose entries name a line,
// and every recipient handed out must satisfy the invariants callers rely on.
func FuzzReader(f *testing.F) {
	f.Add([]byte(hdr + "c1,a@example.com,+6281234567890,,,,id,Asia/Jakarta,ID,whatsapp,\n"))
	f.Add([]byte("\uFEFFid,Name\r\nc1,\"multi\r\nline\"\r\n"))
	f.Add([]byte("id\nc1\nc1\n"))
	f.Add([]byte("id,phone,country\nc1,0812 3456 7890,ID\nc2,\"+39 (320) 123-4567\",\n"))
	f.Add([]byte("id,a\nc1,\"broken\nc2,x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		opts := Options{KnownChannels: []string{"email", "sms"}}
		r, err := NewReader(bytes.NewReader(data), "f.csv", opts)
		if err != nil {
			checkRowErrors(t, err)
			return
		}
		// The worker goroutines, with batches of two rows so that short
		// inputs cross many batch boundaries, must give exactly what
		// reading on the calling goroutine gives.
		seq := readTrace(data, opts, func(r *Reader) { r.sequential = true })
		par := readTrace(data, opts, func(r *Reader) { r.batchRows = 2 })
		if !slices.Equal(seq, par) {
			t.Fatalf("pipeline and sequential reading differ:\n%q\n%q", par, seq)
		}
		ids := map[string]bool{}
		for range len(data) + 2 {
			rcp, err := r.Next()
			if err == io.EOF {
				return
			}
			if err != nil {
				if checkRowErrors(t, err) {
					continue
				}
				return // a record past a limit ends reading
			}
			if rcp.ID == "" || ids[rcp.ID] || rcp.Line < 1 {
				t.Fatalf("bad recipient: id %q (seen %v) line %d", rcp.ID, ids[rcp.ID], rcp.Line)
			}
			ids[rcp.ID] = true
			if rcp.Phone != "" && rcp.Phone[0] != '+' {
				t.Fatalf("phone %q is not E.164", rcp.Phone)
			}
		}
		t.Fatalf("Next did not reach io.EOF after %d calls", len(data)+2)
	})
}

// readTrace reads data to the end (or len(data)+2 calls) after set has
// adjusted the Reader, and lists what every call returned.
func readTrace(data []byte, opts Options, set func(*Reader)) []string {
	r, err := NewReader(bytes.NewReader(data), "f.csv", opts)
	if err != nil {
		return []string{err.Error()}
	}
	defer r.Close()
	set(r)
	var out []string
	for range len(data) + 2 {
		rcp, err := r.Next()
		if err != nil {
			out = append(out, err.Error())
			var re RowErrors
			if !errors.As(err, &re) {
				break // io.EOF, or a record past a limit: reading is over
			}
			continue
		}
		zone := ""
		if rcp.Zone != nil {
			zone = rcp.Zone.String()
		}
		out = append(out, fmt.Sprintf("%d %q %q %q %q %q %q %q %q %q %q %q %v", rcp.Line, rcp.ID, rcp.Name, rcp.Email,
			rcp.Phone, rcp.WhatsApp, rcp.Telegram, rcp.LineID, rcp.Locale, zone, rcp.Country, rcp.Channels, rcp.OptOut)+
			fmt.Sprint(rcp.Fields.Map()))
	}
	return out
}

// checkRowErrors checks that err names the file and a line: RowErrors for
// rows reading steps over (it returns true), or a *RowError with a
// LimitError for a record past a limit, which ends reading.
func checkRowErrors(t *testing.T, err error) bool {
	t.Helper()
	var re RowErrors
	isRows := errors.As(err, &re)
	if !isRows {
		var one *RowError
		var le *LimitError
		if !errors.As(err, &one) || !errors.As(err, &le) {
			t.Fatalf("error %T %q is neither RowErrors nor a limit", err, err)
		}
		re = RowErrors{one}
	}
	if len(re) == 0 {
		t.Fatal("empty RowErrors")
	}
	for _, e := range re {
		if e.Line < 1 || e.File != "f.csv" || e.Err == nil {
			t.Fatalf("row error without file or line: %+v", e)
		}
		if len(e.Error()) > 1000 {
			t.Fatalf("message of %d bytes", len(e.Error()))
		}
	}
	return isRows
}

// FuzzPhone checks the fast path against the library: whenever fastE164
// accepts a number, phonenumbers.Parse must accept it too and agree on the
// E.164 form and the region.
func FuzzPhone(f *testing.F) {
	for _, s := range []string{"+6281234567890", "+1 202 555 0143", "+39 06 1234 5678", "+44 (0) 20 7946 0958",
		"+7 800 555 35 35", "+55 11 91234-5678", "+977 984 1234567", "+1 268 464 1234", "+3906", "+00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e164, region, ok := fastE164(s)
		if !ok {
			return
		}
		num, err := phonenumbers.Parse(s, "")
		if err != nil {
			t.Fatalf("fast path accepted %q, library refuses it: %v", s, err)
		}
		libRegion := phonenumbers.GetRegionCodeForNumber(num)
		if !phonenumbers.IsValidNumberForRegion(num, libRegion) {
			t.Fatalf("fast path accepted %q, library says invalid", s)
		}
		if want := phonenumbers.Format(num, phonenumbers.E164); e164 != want || region != libRegion {
			t.Fatalf("fast path gives %s %s for %q, library %s %s", e164, region, s, want, libRegion)
		}
	})
}

// FuzzPlainAddress holds the e-mail fast path to net/mail: whatever it
// accepts, net/mail accepts as the same address with no display name, so
// skipping the parser never changes a result.
func FuzzPlainAddress(f *testing.F) {
	for _, s := range []string{"customer1@example.com", "a.b+tag@mail.example.co.id", "x@y", "a..b@example.com",
		".a@example.com", "a@example.com.", "\"q\"@example.com", "a@[127.0.0.1]", "Name <a@example.com>", "a@b@c.com",
		"ünï@example.com", "a@-x.example", "!#$%&'*+-/=?^_`{|}~@example.com", "@example.com", "a@"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		at, ok := plainAddress(s)
		if !ok {
			return
		}
		a, err := mail.ParseAddress(s)
		if err != nil {
			t.Fatalf("fast path accepts %q, net/mail refuses it: %v", s, err)
		}
		if a.Name != "" || a.Address != s || s[at] != '@' {
			t.Fatalf("fast path accepts %q as itself, net/mail reads name %q address %q", s, a.Name, a.Address)
		}
	})
}
