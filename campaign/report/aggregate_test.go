package report

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
)

const camp = "spring-sale"

// journalLine writes one journal.jsonl line by hand, as `herald send` does.
func journalLine(at, campaign, recipient, channel, address, locale, status, errText string) string {
	b, _ := json.Marshal(map[string]any{
		"time": at, "campaign": campaign, "recipient": recipient, "channel": channel,
		"address": address, "locale": locale, "status": status, "error": errText, "attempt": 1,
	})
	return string(b) + "\n"
}

// stateDir makes a state directory holding the given files.
func stateDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func build(t *testing.T, campaign string, dirs ...string) *Report {
	t.Helper()
	rep, err := Build(context.Background(), Options{StateDirs: dirs, Campaign: campaign})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func wantCounts(t *testing.T, what string, got *Counts, want Counts) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: no such group", what)
	}
	if *got != want {
		t.Errorf("%s = %+v, want %+v", what, *got, want)
	}
}

const replyHeader = "received_at,channel,from,recipient_id,campaign,message_id,in_reply_to,text,action\n"

// A customer whose WhatsApp failed and whose SMS went out was sent one
// message, on SMS: not a failure, not two sends.
func TestFallbackCountedOnceOnTheChannelThatSent(t *testing.T) {
	t0 := "2026-03-02T09:00:00Z"
	dir := stateDir(t, map[string]string{"journal.jsonl": "" +
		journalLine(t0, camp, "r1", "whatsapp", "+6281", "id", "attempt", "") +
		journalLine(t0, camp, "r1", "whatsapp", "+6281", "id", "failed", "not on WhatsApp") +
		journalLine(t0, camp, "r1", "sms", "+6281", "id", "attempt", "") +
		journalLine(t0, camp, "r1", "sms", "+6281", "id", "sent", "") +
		journalLine("2026-03-02T09:01:00Z", camp, "r1", "sms", "", "", "delivered", ""),
	})
	rep := build(t, "", dir)
	wantCounts(t, "totals", &rep.Totals, Counts{Sent: 1})
	wantCounts(t, "sms", rep.ByChannel["sms"], Counts{Sent: 1})
	wantCounts(t, "id", rep.ByLocale["id"], Counts{Sent: 1})
	if c := rep.ByChannel["whatsapp"]; c != nil {
		t.Errorf("whatsapp = %+v, want no group: the failure was not the final outcome", *c)
	}
}

// An attempt with no outcome is in doubt, on the channel of that attempt;
// a failure on every channel is one failure; a skip is a skip.
func TestFinalOutcomes(t *testing.T) {
	t0 := "2026-03-02T09:00:00Z"
	dir := stateDir(t, map[string]string{"journal.jsonl": "" +
		journalLine(t0, camp, "doubt", "email", "a@x.example", "en", "attempt", "") +
		journalLine(t0, camp, "doubt-after-fallback", "whatsapp", "+1", "en", "attempt", "") +
		journalLine(t0, camp, "doubt-after-fallback", "whatsapp", "+1", "en", "failed", "not on WhatsApp") +
		journalLine(t0, camp, "doubt-after-fallback", "sms", "+1", "en", "attempt", "") +
		journalLine(t0, camp, "failed", "sms", "+2", "it", "attempt", "") +
		journalLine(t0, camp, "failed", "sms", "+2", "it", "failed", "invalid number") +
		journalLine(t0, camp, "failed", "email", "b@x.example", "it", "attempt", "") +
		journalLine(t0, camp, "failed", "email", "b@x.example", "it", "failed", "550 no such user") +
		journalLine(t0, camp, "skipped", "", "", "it", "skipped", "") +
		// A later rerun with --retry-failed that got through.
		journalLine(t0, camp, "retried", "sms", "+3", "it", "attempt", "") +
		journalLine(t0, camp, "retried", "sms", "+3", "it", "failed", "timeout") +
		journalLine("2026-03-02T10:00:00Z", camp, "retried", "sms", "+3", "it", "attempt", "") +
		journalLine("2026-03-02T10:00:00Z", camp, "retried", "sms", "+3", "it", "sent", "") +
		// A torn line from a crash is skipped, not fatal.
		`{"time":"2026-03-02T09:00:00Z","campaign":"spri` + "\n",
	})
	rep := build(t, camp, dir)
	wantCounts(t, "totals", &rep.Totals, Counts{Sent: 1, Failed: 1, Skipped: 1, InDoubt: 2})
	wantCounts(t, "email", rep.ByChannel["email"], Counts{Failed: 1, InDoubt: 1})
	wantCounts(t, "sms", rep.ByChannel["sms"], Counts{Sent: 1, InDoubt: 1})
	wantCounts(t, "none", rep.ByChannel[None], Counts{Skipped: 1})
	wantCounts(t, "it", rep.ByLocale["it"], Counts{Sent: 1, Failed: 1, Skipped: 1})
	wantCounts(t, "en", rep.ByLocale["en"], Counts{InDoubt: 2})
	if rep.TornLines != 1 {
		t.Errorf("TornLines = %d, want 1", rep.TornLines)
	}
}

// Replies: a customer who wrote twice replied once, timed from the send to
// the first reply; STOP is an opt-out; a reply to another campaign or to
// nobody in the journal is not counted.
func TestRepliesAndOptOuts(t *testing.T) {
	dir := stateDir(t, map[string]string{
		"journal.jsonl": "" +
			journalLine("2026-03-02T09:00:00Z", camp, "r1", "email", "Ann@X.example", "en", "sent", "") +
			journalLine("2026-03-02T09:00:00Z", camp, "r2", "sms", "+2", "en", "sent", "") +
			journalLine("2026-03-02T09:00:00Z", camp, "r3", "sms", "+3", "id", "sent", "") +
			journalLine("2026-03-02T09:00:00Z", camp, "r4", "whatsapp", "+4", "id", "sent", "") +
			journalLine("2026-03-02T09:00:00Z", "other", "r4", "whatsapp", "+4", "id", "sent", ""),
		"replies.csv": replyHeader +
			"2026-03-02T11:00:00Z,email,ann@x.example,r1,spring-sale,m2,,thanks again,\n" +
			"2026-03-02T09:30:00Z,email,ann@x.example,r1,spring-sale,m1,,\"thanks,\nsee you\",\n" +
			"2026-03-02T09:10:00Z,sms,+2,r2,spring-sale,s1,,STOP,stop\n" +
			"2026-03-02T09:05:00Z,whatsapp,+4,r4,other,w1,,hi,\n" +
			"2026-03-02T09:05:00Z,sms,+9,r9,spring-sale,s9,,who?,\n",
		// r3 opted out by a one-click unsubscribe after the send; r4's
		// suppression is an operator's, not an opt-out.
		"suppressions.csv": "address,channel,reason,added_at,source\n" +
			"+3,all,unsubscribe link,2026-03-02T12:00:00Z,one-click\n" +
			"+4,whatsapp,manual,2026-03-02T12:00:00Z,operator\n",
	})
	rep := build(t, camp, dir)
	wantCounts(t, "totals", &rep.Totals, Counts{Sent: 4, Replied: 2, OptedOut: 2})
	wantCounts(t, "email", rep.ByChannel["email"], Counts{Sent: 1, Replied: 1})
	wantCounts(t, "sms", rep.ByChannel["sms"], Counts{Sent: 2, Replied: 1, OptedOut: 2})
	wantCounts(t, "whatsapp", rep.ByChannel["whatsapp"], Counts{Sent: 1})
	if rep.UnmatchedReplies != 1 {
		t.Errorf("UnmatchedReplies = %d, want 1 (r9)", rep.UnmatchedReplies)
	}
	// Waits: r1 30m (its first reply, not the later one), r2 10m.
	if !rep.HasMedian || rep.MedianFirstReply != 20*time.Minute {
		t.Errorf("median = %v (%v), want 20m", rep.MedianFirstReply, rep.HasMedian)
	}
	if got := rep.Totals.ReplyRate(); got != 0.5 {
		t.Errorf("reply rate = %v, want 0.5", got)
	}

	// Without a campaign, the other campaign's pair and reply count too.
	all := build(t, "", dir)
	wantCounts(t, "all totals", &all.Totals, Counts{Sent: 5, Replied: 3, OptedOut: 2})
	if strings.Join(all.Campaigns, ",") != "other,spring-sale" {
		t.Errorf("Campaigns = %v", all.Campaigns)
	}
}

// An opt-out recorded before the send did not stop it on that address, so
// it is not this send's opt-out (the send went to another channel's
// address, or the list changed since).
func TestSuppressionBeforeTheSendIsNotAnOptOut(t *testing.T) {
	dir := stateDir(t, map[string]string{
		"journal.jsonl":    journalLine("2026-03-02T09:00:00Z", camp, "r1", "sms", "+1", "en", "sent", ""),
		"suppressions.csv": "address,channel,reason,added_at\n+1,sms,stop,2026-03-01T09:00:00Z\n",
	})
	wantCounts(t, "totals", &build(t, camp, dir).Totals, Counts{Sent: 1})
}

// Shards: each state dir has its part of the audience; one report over
// both counts everyone once, and a reply logged by one shard's receiver
// matches a send journalled by the other.
func TestMergeStateDirs(t *testing.T) {
	a := stateDir(t, map[string]string{
		"journal.jsonl": "" +
			journalLine("2026-03-02T09:00:00Z", camp, "r1", "email", "a@x", "en", "attempt", "") +
			journalLine("2026-03-02T09:00:00Z", camp, "r1", "email", "a@x", "en", "sent", "") +
			// r3 failed on shard a at 09:00 ...
			journalLine("2026-03-02T09:00:00Z", camp, "r3", "sms", "+3", "pt-BR", "failed", "invalid number"),
		"replies.csv": replyHeader +
			"2026-03-02T10:00:00Z,sms,+2,r2,spring-sale,s1,,ok,\n",
	})
	b := stateDir(t, map[string]string{
		"journal.jsonl": "" +
			journalLine("2026-03-02T09:00:00Z", camp, "r2", "sms", "+2", "it", "sent", "") +
			// ... and was sent by email from shard b later: sent once.
			journalLine("2026-03-02T11:00:00Z", camp, "r3", "email", "c@x", "pt-BR", "sent", "") +
			// An in-doubt attempt older than a's outcome does not win.
			journalLine("2026-03-02T08:00:00Z", camp, "r1", "sms", "+1", "en", "attempt", ""),
	})
	rep := build(t, camp, a, b)
	wantCounts(t, "totals", &rep.Totals, Counts{Sent: 3, Replied: 1})
	wantCounts(t, "email", rep.ByChannel["email"], Counts{Sent: 2})
	wantCounts(t, "sms", rep.ByChannel["sms"], Counts{Sent: 1, Replied: 1})
	if rep.UnmatchedReplies != 0 {
		t.Errorf("UnmatchedReplies = %d, want 0", rep.UnmatchedReplies)
	}
	if !rep.HasMedian || rep.MedianFirstReply != time.Hour {
		t.Errorf("median = %v, want 1h", rep.MedianFirstReply)
	}
	// Either shard alone is a part, and says a reply has no send.
	alone := build(t, camp, a)
	wantCounts(t, "shard a", &alone.Totals, Counts{Sent: 1, Failed: 1})
	if alone.UnmatchedReplies != 1 {
		t.Errorf("shard a alone: UnmatchedReplies = %d, want 1", alone.UnmatchedReplies)
	}
}

// The median of an even count is the mean of the middle two; one reply far
// out does not drag it as a mean would.
func TestMedianTimeToFirstReply(t *testing.T) {
	var journal, replies strings.Builder
	replies.WriteString(replyHeader)
	for i, wait := range []time.Duration{40 * time.Minute, 10 * time.Minute, 20 * time.Minute, 72 * time.Hour} {
		id := fmt.Sprintf("r%d", i)
		sent := time.Date(2026, 3, 2, 9, i, 0, 0, time.UTC)
		journal.WriteString(journalLine(sent.Format(time.RFC3339), camp, id, "sms", "+1", "en", "sent", ""))
		fmt.Fprintf(&replies, "%s,sms,+1,%s,%s,x,,ok,\n", sent.Add(wait).Format(time.RFC3339), id, camp)
	}
	rep := build(t, camp, stateDir(t, map[string]string{"journal.jsonl": journal.String(), "replies.csv": replies.String()}))
	if rep.MedianFirstReply != 30*time.Minute {
		t.Errorf("median = %v, want 30m", rep.MedianFirstReply)
	}
	var out bytes.Buffer
	if err := rep.WriteJSON(&out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"median_time_to_first_reply_seconds": 1800`) {
		t.Errorf("JSON has no median of 1800 seconds:\n%s", out.String())
	}
}

func TestUnknownCampaignNamesTheKnownOnes(t *testing.T) {
	dir := stateDir(t, map[string]string{"journal.jsonl": journalLine("2026-03-02T09:00:00Z", camp, "r1", "sms", "+1", "en", "sent", "")})
	_, err := Build(context.Background(), Options{StateDirs: []string{dir}, Campaign: "spring-sael"})
	var nc *NoCampaignError
	if !errors.As(err, &nc) || strings.Join(nc.Known, ",") != camp {
		t.Fatalf("err = %v, want a NoCampaignError knowing %s", err, camp)
	}
	_, err = Build(context.Background(), Options{StateDirs: []string{filepath.Join(dir, "nope")}})
	var md *MissingDirError
	if !errors.As(err, &md) {
		t.Fatalf("err = %v, want a MissingDirError", err)
	}
}

func TestJSONHasExactlyTheSpecKeys(t *testing.T) {
	dir := stateDir(t, map[string]string{"journal.jsonl": journalLine("2026-03-02T09:00:00Z", camp, "r1", "sms", "+1", "en", "sent", "")})
	var out bytes.Buffer
	if err := build(t, camp, dir).WriteJSON(&out); err != nil {
		t.Fatal(err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range doc {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if got := strings.Join(keys, " "); got != "by_channel by_locale median_time_to_first_reply_seconds reply_rate totals" {
		t.Errorf("keys = %s", got)
	}
	if string(doc["median_time_to_first_reply_seconds"]) != "null" {
		t.Errorf("median = %s, want null without replies", doc["median_time_to_first_reply_seconds"])
	}
	var totals map[string]int
	if err := json.Unmarshal(doc["totals"], &totals); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"sent": 1, "failed": 0, "skipped": 0, "in_doubt": 0, "replied": 0, "opted_out": 0}
	if !maps.Equal(totals, want) {
		t.Errorf("totals = %v, want %v", totals, want)
	}
}

// The journal of a big campaign is streamed: memory follows the number of
// (campaign, recipient) pairs, not the number of lines. 1,000 pairs with
// 16 lines each, with provider errors a page long (a 20 MB journal), must
// not hold the journal in memory.
func TestMemoryFollowsPairsNotLines(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 20 MB journal")
	}
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "journal.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var size int64
	longError := "HTTP 503 from the provider: " + strings.Repeat("the service is temporarily unavailable, ", 50)
	for round := range 8 {
		var buf bytes.Buffer
		for r := range 1000 {
			at := time.Date(2026, 3, 2, 9, 0, round, 0, time.UTC).Format(time.RFC3339)
			id := fmt.Sprintf("customer-%06d", r)
			buf.WriteString(journalLine(at, camp, id, "sms", "+15550000000", "en", "attempt", ""))
			buf.WriteString(journalLine(at, camp, id, "sms", "+15550000000", "en", "failed", longError))
		}
		n, _ := f.Write(buf.Bytes())
		size += int64(n)
	}
	f.Close()

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // sample the heap while Build runs
		defer close(done)
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > peak.Load() {
				peak.Store(m.HeapAlloc)
			}
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	rep := build(t, camp, dir)
	close(stop)
	<-done
	wantCounts(t, "totals", &rep.Totals, Counts{Failed: 1000})
	grew := int64(peak.Load()) - int64(before.HeapAlloc)
	// Holding the lines would take more than the file's size; the garbage
	// of a streamed read stays around the runtime's 4 MB minimum heap goal.
	if grew > size/2 {
		t.Errorf("the heap grew by %d bytes reading a %d-byte journal: is it streamed?", grew, size)
	}
	t.Logf("journal %d bytes, heap grew at most %d bytes", size, grew)
}

// A million pairs must fit in tens of MB: keep the per-pair record small.
func TestPairRecordStaysSmall(t *testing.T) {
	if n := unsafe.Sizeof(pair{}) + unsafe.Sizeof(pairKey{}); n > 40 {
		t.Errorf("a pair takes %d bytes of map entry, want at most 40", n)
	}
}

// Opt-outs come from structured fields only: a suppression's source and a
// reply's action. A LINE unfollow and a Telegram block (source provider)
// are opt-outs whatever their reason says; an operator's pause whose reason
// mentions replying, a bounce, and a reply saying "will reply later" are
// not. An out-of-office (action auto) is no reply at all: not in replies,
// reply rate or time to reply.
func TestOptOutsFromStructuredFields(t *testing.T) {
	sent := "2026-03-02T09:00:00Z"
	dir := stateDir(t, map[string]string{
		"journal.jsonl": "" +
			journalLine(sent, camp, "line-unfollow", "line", "U4af4980629a0b3c1d2e3f4a5b6c7d8e9", "ja", "sent", "") +
			journalLine(sent, camp, "tg-block", "telegram", "987654321", "ru", "sent", "") +
			journalLine(sent, camp, "later", "sms", "+3", "en", "sent", "") +
			journalLine(sent, camp, "paused", "sms", "+4", "en", "sent", "") +
			journalLine(sent, camp, "bounced", "email", "gone@x.example", "en", "sent", "") +
			journalLine(sent, camp, "away", "email", "giulia@x.example", "it", "sent", "") +
			journalLine(sent, camp, "stopped", "sms", "+7", "en", "sent", ""),
		"replies.csv": replyHeader +
			"2026-03-02T09:20:00Z,sms,+3,later,spring-sale,s3,,will reply later,\n" +
			"2026-03-02T09:01:00Z,email,giulia@x.example,away,spring-sale,m6,,\"Sono fuori ufficio. Per stop urgenti chiamare.\",auto\n" +
			"2026-03-02T09:40:00Z,sms,+7,stopped,spring-sale,s7,,STOP,stop\n",
		"suppressions.csv": "address,channel,reason,added_at,source\n" +
			"U4af4980629a0b3c1d2e3f4a5b6c7d8e9,line,LINE unfollow (blocked the account),2026-03-02T10:00:00Z,provider\n" +
			"987654321,telegram,blocked the Telegram bot,2026-03-02T10:00:00Z,provider\n" +
			"+4,sms,customer will reply later: stop for now,2026-03-02T10:00:00Z,operator\n" +
			"gone@x.example,email,550 5.1.1 unsubscribe: no such user,2026-03-02T10:00:00Z,bounce\n" +
			"+7,sms,STOP reply,2026-03-02T09:40:00Z,keyword\n",
	})
	rep := build(t, camp, dir)
	wantCounts(t, "totals", &rep.Totals, Counts{Sent: 7, Replied: 2, OptedOut: 3})
	wantCounts(t, "line", rep.ByChannel["line"], Counts{Sent: 1, OptedOut: 1})
	wantCounts(t, "telegram", rep.ByChannel["telegram"], Counts{Sent: 1, OptedOut: 1})
	wantCounts(t, "sms", rep.ByChannel["sms"], Counts{Sent: 3, Replied: 2, OptedOut: 1})
	wantCounts(t, "email", rep.ByChannel["email"], Counts{Sent: 2})
	wantCounts(t, "it", rep.ByLocale["it"], Counts{Sent: 1})
	// Waits: 20m (later) and 40m (stopped); the auto-reply after 1m is no reply.
	if !rep.HasMedian || rep.MedianFirstReply != 30*time.Minute {
		t.Errorf("median = %v (%v), want 30m", rep.MedianFirstReply, rep.HasMedian)
	}
	if rep.UnmatchedReplies != 0 {
		t.Errorf("UnmatchedReplies = %d, want 0", rep.UnmatchedReplies)
	}
}
