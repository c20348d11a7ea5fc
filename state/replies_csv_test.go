package state

import (
	"bytes"
	"encoding/csv"
	"testing"
	"time"
)

// replies.csv lines are encoded by hand for speed; they must be exactly
// what encoding/csv writes for the row's Record.
func FuzzReplyCSV(f *testing.F) {
	f.Add("sms", "+6281234567890", "Bisa diantar besok sore?", "c-1", "", int64(1767225600))
	f.Add("wa", " leading space", "a,b \"quoted\"\nline two\r\n", `\.`, "\u00a0nbsp", int64(-62135596800))
	f.Add("", "", "", "", "", int64(0))
	f.Fuzz(func(t *testing.T, channel, from, text, campaign, action string, at int64) {
		r := Reply{ReceivedAt: time.Unix(at, 0), Channel: channel, From: from, RecipientID: campaign + from,
			Campaign: campaign, MessageID: text + channel, InReplyTo: action, Text: text, Action: action}
		var want bytes.Buffer
		w := csv.NewWriter(&want)
		if err := w.Write(r.Record()); err != nil {
			t.Skip(err)
		}
		w.Flush()
		if got := r.appendCSV(nil); !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("appendCSV %q\nencoding/csv %q", got, want.Bytes())
		}
	})
}
