package report

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestHistoryIsOneCustomersTimelineInOrder(t *testing.T) {
	longErr := "whatsapp: 131026 Message undeliverable: " + strings.Repeat("the recipient's phone number is not a WhatsApp number ", 4)
	shard0 := stateDir(t, map[string]string{
		"journal.jsonl": "" +
			// Same instant (send --now): the written order is the order.
			journalLine("2026-03-02T09:00:00Z", camp, "r1", "whatsapp", "+6281", "id", "attempt", "") +
			journalLine("2026-03-02T09:00:00Z", camp, "r2", "email", "other@x", "en", "attempt", "") +
			journalLine("2026-03-02T09:00:00Z", camp, "r1", "whatsapp", "+6281", "id", "failed", longErr) +
			journalLine("2026-03-02T09:00:00Z", camp, "r1", "sms", "+6281", "id", "attempt", "") +
			journalLine("2026-03-02T09:00:00Z", camp, "r1", "sms", "+6281", "id", "sent", ""),
		"replies.csv": replyHeader +
			"2026-03-02T09:45:00Z,sms,+6281,r1,spring-sale,s2,,STOP,stop\n" +
			"2026-03-02T09:00:00Z,sms,+6281,r1,spring-sale,s1,,\"Kapan\ndatang?\",\n",
	})
	// A later campaign, sent from another shard's state dir.
	shard1 := stateDir(t, map[string]string{
		"journal.jsonl": journalLine("2026-03-01T08:00:00Z", "winter", "r1", "email", "budi@x", "id", "sent", ""),
	})
	events, err := History(context.Background(), []string{shard0, shard1}, "r1")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range events {
		got = append(got, e.Campaign+" "+e.Channel+" "+eventName(e))
	}
	want := []string{
		"winter email sent",
		"spring-sale whatsapp attempt",
		"spring-sale whatsapp failed",
		"spring-sale sms attempt",
		"spring-sale sms sent",
		"spring-sale sms reply",
		"spring-sale sms reply (stop)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("timeline:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	var table bytes.Buffer
	if err := WriteHistory(&table, events, "table"); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(table.String()), "\n")
	if len(lines) != 1+len(want) {
		t.Fatalf("a reply's newline broke the table into %d lines:\n%s", len(lines), table.String())
	}
	for _, frag := range []string{
		"2026-03-02 09:00:00  spring-sale  whatsapp  failed",
		"to +6281, whatsapp: 131026 Message undeliverable: the recipient's phone number…",
		"from +6281: \u201cKapan datang?\u201d",
	} {
		if !strings.Contains(table.String(), frag) {
			t.Errorf("table lacks %q:\n%s", frag, table.String())
		}
	}

	// JSON keeps the whole error and the text as written.
	var js bytes.Buffer
	if err := WriteHistory(&js, events, "json"); err != nil {
		t.Fatal(err)
	}
	var decoded []Event
	if err := json.Unmarshal(js.Bytes(), &decoded); err != nil {
		t.Fatal(err)
	}
	if decoded[2].Error != longErr || decoded[5].Text != "Kapan\ndatang?" || decoded[6].Action != "stop" {
		t.Errorf("JSON lost detail: %+v", decoded)
	}
}

func TestHistoryOfAnUnknownRecipient(t *testing.T) {
	dir := stateDir(t, map[string]string{"journal.jsonl": journalLine("2026-03-02T09:00:00Z", camp, "r1", "sms", "+1", "en", "sent", "")})
	_, err := History(context.Background(), []string{dir}, "R1")
	var ur *UnknownRecipientError
	if !errors.As(err, &ur) || ur.Recipient != "R1" {
		t.Fatalf("err = %v, want an UnknownRecipientError (ids are exact)", err)
	}
}

// An out-of-office is in the timeline, marked as automatic so whoever
// answers next does not take it for the customer.
func TestHistoryShowsAutoReplies(t *testing.T) {
	dir := stateDir(t, map[string]string{
		"journal.jsonl": journalLine("2026-03-02T09:00:00Z", camp, "r1", "email", "giulia@x.example", "it", "sent", ""),
		"replies.csv": replyHeader +
			"2026-03-02T09:01:00Z,email,giulia@x.example,r1,spring-sale,m1,,Sono fuori ufficio fino al 10 marzo.,auto\n",
	})
	events, err := History(context.Background(), []string{dir}, "r1")
	if err != nil {
		t.Fatal(err)
	}
	var table bytes.Buffer
	if err := WriteHistory(&table, events, "table"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "auto-reply  from giulia@x.example: \u201cSono fuori ufficio") {
		t.Errorf("the out-of-office is not shown as an auto-reply:\n%s", table.String())
	}
}

// An interrupted report or history (SIGINT) stops reading the journal and
// says so with the context's error, not with a partial result.
func TestReportAndHistoryStopWhenCancelled(t *testing.T) {
	var journal strings.Builder
	for i := range 1000 {
		journal.WriteString(journalLine("2026-03-02T09:00:00Z", camp, fmt.Sprintf("r%d", i), "sms", "+1", "en", "sent", ""))
	}
	dir := stateDir(t, map[string]string{"journal.jsonl": journal.String()})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := History(ctx, []string{dir}, "r999"); !errors.Is(err, context.Canceled) {
		t.Errorf("History after cancel: err = %v, want context.Canceled", err)
	}
	if _, err := Build(ctx, Options{StateDirs: []string{dir}}); !errors.Is(err, context.Canceled) {
		t.Errorf("Build after cancel: err = %v, want context.Canceled", err)
	}
	if _, err := History(context.Background(), []string{dir}, "r999"); err != nil {
		t.Errorf("History without cancel: %v", err)
	}
}
