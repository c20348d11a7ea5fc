package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"herald/state"
	"herald/state/pgtest"
)

func dumpStore(t *testing.T, st state.Store) (journal []state.Entry, supp []state.Suppression, replies []state.Reply) {
	t.Helper()
	ctx := context.Background()
	if err := st.ReadJournal(ctx, func(e state.Entry) error { journal = append(journal, e); return nil }); err != nil {
		t.Fatal(err)
	}
	s, err := st.Suppressions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	supp = s.Rows()
	if err := st.ReadReplies(ctx, func(r state.Reply) error { replies = append(replies, r); return nil }); err != nil {
		t.Fatal(err)
	}
	return
}

// state migrate: files -> PostgreSQL -> files gives the same journal,
// suppressions (with source), replies and unsubscribe key; and a send on
// the database afterwards sends nobody who was sent before the move.
func TestStateMigrateRoundTrip(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := state.OpenFiles(filepath.Join(dir, "a"))
	at := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	var entries []state.Entry
	for i := range 300 {
		r := fmt.Sprintf("c-%03d", i)
		entries = append(entries,
			state.Entry{Time: at, Campaign: "delay", Recipient: r, Channel: "sms", Address: "+1555" + r, Locale: "en", Status: state.StatusAttempt, Attempt: 1},
			state.Entry{Time: at.Add(time.Second), Campaign: "delay", Recipient: r, Channel: "sms", Address: "+1555" + r, Locale: "en", Status: state.StatusSent, ProviderID: "SM" + r, Attempt: 1})
	}
	entries = append(entries, state.Entry{Time: at, Campaign: "delay", Recipient: "c-999", Channel: "email", Address: "x@example.com", Status: state.StatusFailed, Error: "550 5.1.1 no such user", Attempt: 1})
	if err := src.AppendJournal(ctx, entries...); err != nil {
		t.Fatal(err)
	}
	for _, s := range []state.Suppression{
		{Address: "+15550001", Channel: "sms", Reason: "STOP reply", Source: state.SourceKeyword, AddedAt: at},
		{Address: "a@example.com", Channel: "email", Reason: "one-click", Source: state.SourceOneClick, AddedAt: at},
		{Address: "+15550002", Channel: "all", Reason: "asked by phone", Source: state.SourceOperator, AddedAt: at},
	} {
		if _, err := src.AddSuppression(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if err := src.AppendReplies(ctx,
		state.Reply{ReceivedAt: at, Channel: "sms", From: "+15550001", RecipientID: "c-001", Campaign: "delay", MessageID: "SMin1", Text: "STOP", Action: state.ActionStop},
		state.Reply{ReceivedAt: at.Add(time.Minute), Channel: "email", From: "b@example.com", MessageID: "<r1@example.com>", Text: "Thanks,\n\"see you\"", Action: ""}); err != nil {
		t.Fatal(err)
	}
	key, err := src.UnsubscribeKey(ctx)
	if err != nil {
		t.Fatal(err)
	}

	url := pgtest.URL(t)
	back := filepath.Join(dir, "b")
	for _, step := range [][2]string{{filepath.Join(dir, "a"), url}, {url, back}} {
		code, out, errOut := herald(t, "state", "migrate", "--from", step[0], "--to", step[1])
		if code != 0 {
			t.Fatalf("state migrate %s -> %s: exit %d: %s %s", step[0], step[1], code, out, errOut)
		}
		if !strings.Contains(out, "copied 601 journal entries, 3 suppressions, 2 replies and the unsubscribe key") {
			t.Errorf("summary: %q", out)
		}
	}
	j1, s1, r1 := dumpStore(t, src)
	dst := state.OpenFiles(back)
	j2, s2, r2 := dumpStore(t, dst)
	if !reflect.DeepEqual(j1, j2) {
		t.Errorf("journal differs after the round trip: %d vs %d entries", len(j1), len(j2))
	}
	if !reflect.DeepEqual(s1, s2) {
		t.Errorf("suppressions differ:\n%+v\n%+v", s1, s2)
	}
	if !reflect.DeepEqual(r1, r2) {
		t.Errorf("replies differ:\n%+v\n%+v", r1, r2)
	}
	k2, _ := dst.UnsubscribeKey(ctx)
	if !bytes.Equal(key, k2) {
		t.Error("the unsubscribe key changed: links already sent would stop working")
	}
	// the database knows who was sent: no claim for them
	pg, _ := state.Open(url)
	defer pg.Close()
	j, err := pg.Journal(ctx, "delay", state.JournalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if err := j.Attempt(ctx, state.Entry{Campaign: "delay", Recipient: "c-007", Channel: "sms", Address: "+1555c-007", Attempt: 1}); err == nil {
		t.Error("a recipient sent before the move could be claimed again")
	}
	// a second migration on top is refused
	code, _, errOut := herald(t, "state", "migrate", "--from", filepath.Join(dir, "a"), "--to", url)
	if code != 1 || !strings.Contains(errOut, "already has journal entries") {
		t.Errorf("migrating into a non-empty database: exit %d: %s", code, errOut)
	}

	// report and history read the database
	code, rep, errOut := herald(t, "--state", url, "report", "--format", "json", "delay")
	if code != 0 || !strings.Contains(strings.Join(strings.Fields(rep), ""), `"totals":{"sent":300,"failed":1`) {
		t.Errorf("report on the database: exit %d: %s %s", code, rep, errOut)
	}
	code, hist, errOut := herald(t, "--state", url, "history", "c-001")
	if code != 0 || !strings.Contains(hist, "STOP") || !strings.Contains(hist, "sent") || strings.Contains(hist+errOut, "s3cr3t") {
		t.Errorf("history on the database: exit %d: %s %s", code, hist, errOut)
	}

	// replies export appends what the file lacks, same columns
	out := filepath.Join(dir, "export.csv")
	for range 2 {
		if code, o, e := herald(t, "--state", url, "replies", "export", "--out", out); code != 0 {
			t.Fatalf("replies export: %d %s %s", code, o, e)
		}
	}
	f, _ := os.Open(out)
	recs, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(recs) != 3 || strings.Join(recs[0], ",") != strings.Join(state.ReplyColumns, ",") || recs[2][7] != "Thanks,\n\"see you\"" {
		t.Errorf("export: %v %q", err, recs)
	}
}
