package state

import (
	"bytes"
	"os"
	"testing"
	"time"
)

// FuzzReadJournal feeds the journal reader arbitrary file contents (torn
// lines, garbage, binary, huge lines): reading never fails or panics, every
// whole entry is read back, and an entry appended afterwards is read back
// too, whatever was before it.
func FuzzReadJournal(f *testing.F) {
	whole, _ := Entry{Campaign: "c", Recipient: "seed", Status: StatusSent, Time: time.Unix(1700000000, 0)}.marshal()
	f.Add(append(append([]byte{}, whole...), '\n'))
	f.Add([]byte(`{"campaign":"c","recipient":"torn","sta`))
	f.Add([]byte("garbage\n\x00\xff\n{}\n{\"status\":\"\"}\n"))
	f.Add(append([]byte("\n\n"), whole...))
	f.Fuzz(func(t *testing.T, content []byte) {
		dir := t.TempDir()
		st := OpenFiles(dir)
		if err := os.WriteFile(st.JournalPath(), content, 0o600); err != nil {
			t.Fatal(err)
		}
		var before []Entry
		if err := st.ReadJournal(bg, func(e Entry) error { before = append(before, e); return nil }); err != nil {
			t.Fatalf("reading: %v", err)
		}
		// Every line the reader returned is a whole line of the file.
		for _, e := range before {
			if e.Status == "" {
				t.Fatalf("an entry without a status was returned: %+v", e)
			}
		}
		marker := Entry{Campaign: "fuzz", Recipient: "marker", Status: StatusSent, Time: time.Unix(1700000001, 0)}
		if err := OpenFiles(dir).AppendJournal(bg, marker); err != nil {
			t.Fatalf("appending: %v", err)
		}
		var after []Entry
		if err := st.ReadJournal(bg, func(e Entry) error { after = append(after, e); return nil }); err != nil {
			t.Fatalf("reading after the append: %v", err)
		}
		if len(after) == 0 || after[len(after)-1].Recipient != "marker" || after[len(after)-1].Campaign != "fuzz" {
			t.Fatalf("the appended entry was not read back last: %d entries before, %d after", len(before), len(after))
		}
		// The repair newline may complete a last line that was a whole
		// entry but lost its newline; nothing else becomes an entry. (Such
		// an attempt then counts as in doubt: conservative, since a call
		// starts only after its attempt's write returned.)
		extra := len(after) - len(before) - 1
		lastLine := content[bytes.LastIndexByte(content, '\n')+1:]
		_, lastWhole := parseEntry(lastLine)
		if extra < 0 || extra > 1 || (extra == 1 && !lastWhole) {
			t.Fatalf("%d entries before the append, %d after: want one more, or two when the unterminated last line was a whole entry", len(before), len(after))
		}
	})
}
