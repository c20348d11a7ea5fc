package replies

import (
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
	for _, tt := range []struct{ from, campaign string }{
		{"+393401111111", "before"}, {"+393402222222", "long"}, {"+393403333333", "after"},
	} {
		ref := ix.forReply("vsms", tt.from, "")
		if ref == nil || ref.Campaign != tt.campaign {
			t.Errorf("reply from %s attributed to %+v, want campaign %q", tt.from, ref, tt.campaign)
		}
	}
	if ref := ix.forProviderID("vsms", parts[299]); ref == nil || ref.Recipient != "r-2" {
		t.Errorf("status for the last part id attributed to %+v, want r-2", ref)
	}
}
