package replies

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"herald/state"
)

// A send line longer than the first read of a lookup (a Vonage long SMS
// lists many part ids) is read back whole, and the lines around it too.
func TestIndexReadsBackLongLines(t *testing.T) {
	dir := t.TempDir()
	parts := make([]string, 300)
	for i := range parts {
		parts[i] = "0A00000001" + strings.Repeat("7", 6) + string(rune('A'+i%26))
	}
	longIDs := strings.Join(parts, ",")
	writeJournal(t, dir,
		state.Entry{Campaign: "before", Recipient: "r-1", Channel: "vsms", Address: "+393401111111", Status: state.StatusSent, ProviderID: "short-1"},
		state.Entry{Campaign: "long", Recipient: "r-2", Channel: "vsms", Address: "+393402222222", Status: state.StatusSent, ProviderID: longIDs},
		state.Entry{Campaign: "after", Recipient: "r-3", Channel: "vsms", Address: "+393403333333", Status: state.StatusSent, ProviderID: "short-3"},
	)
	if len(longIDs) < 4000 {
		t.Fatalf("the long line is only %d bytes", len(longIDs))
	}
	ix := newJournalIndex(dir)
	defer ix.close()
	if err := ix.refresh(); err != nil {
		t.Fatal(err)
	}
	if ix.mapped.data == nil {
		t.Error("the journal is not mapped")
	}
	// Lines come back from the mapping, and with pread where the journal
	// cannot be mapped.
	for _, how := range []string{"mapped", "pread"} {
		if how == "pread" {
			ix.mapped.unmap()
		}
		for _, tt := range []struct{ from, campaign string }{
			{"+393401111111", "before"}, {"+393402222222", "long"}, {"+393403333333", "after"},
		} {
			if got := attributed(ix, "vsms", tt.from); got.Campaign != tt.campaign {
				t.Errorf("%s: reply from %s attributed to %+v, want campaign %q", how, tt.from, got, tt.campaign)
			}
		}
		if ref := ix.forProviderID("vsms", parts[299]); ref == nil || ref.Recipient != "r-2" {
			t.Errorf("%s: status for the last part id attributed to %+v, want r-2", how, ref)
		}
	}
}

// A journal cut short in place under the mapping (herald never does it)
// makes its lost lines misses, not a crash; the next refresh starts over.
func TestIndexSurvivesJournalTruncatedUnderIt(t *testing.T) {
	dir := t.TempDir()
	var sends []state.Entry
	for i := range 200 {
		sends = append(sends, state.Entry{Campaign: "c", Recipient: fmt.Sprintf("r-%d", i), Channel: "sms",
			Address: fmt.Sprintf("+1555000%04d", i), Status: state.StatusSent, ProviderID: fmt.Sprintf("SM%d", i)})
	}
	writeJournal(t, dir, sends...)
	ix := newJournalIndex(dir)
	defer ix.close()
	if err := ix.refresh(); err != nil {
		t.Fatal(err)
	}
	if ix.mapped.data == nil {
		t.Fatal("the journal is not mapped")
	}
	if err := os.Truncate(state.OpenFiles(dir).JournalPath(), 0); err != nil {
		t.Fatal(err)
	}
	if got := attributed(ix, "sms", "+15550000199"); got.Campaign != "" {
		t.Errorf("a send of a truncated journal was found: %+v", got)
	}
	writeJournal(t, dir, state.Entry{Campaign: "new", Recipient: "r-new", Channel: "sms", Address: "+15550000199", Status: state.StatusSent})
	if err := ix.refresh(); err != nil {
		t.Fatal(err)
	}
	if got := attributed(ix, "sms", "+15550000199"); got.Campaign != "new" {
		t.Errorf("after the journal was written again: %+v, want campaign new", got)
	}
}

// attributed is a reply from address on channel as the index attributes it.
func attributed(ix *journalIndex, channel, from string) state.Reply {
	rows := []state.Reply{{Channel: channel, From: from}}
	ix.attribute(rows)
	return rows[0]
}
