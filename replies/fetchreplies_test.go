package replies

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"herald/campaign"
	"herald/channels"
	"herald/state"
)

// emailSends are the e-mails the fixtures in testdata/mail answer, as the
// journal records them (message_id is herald's Message-ID).
var emailSends = []state.Entry{
	{Campaign: "shipment-delay", Recipient: "r42", Channel: "mail", Address: "alice@example.com", Status: state.StatusSent, MessageID: "<c.shipment-delay.r42.7f3a@notify.acme.example>"},
	{Campaign: "shipment-delay", Recipient: "r43", Channel: "mail", Address: "bob@example.org", Status: state.StatusSent, MessageID: "<c.shipment-delay.r43.9b1c@notify.acme.example>"},
	{Campaign: "shipment-delay", Recipient: "r44", Channel: "mail", Address: "renee@example.net", Status: state.StatusSent, MessageID: "<c.shipment-delay.r44.2d6e@notify.acme.example>"},
	// Only the older intro is in this journal: the Italian reply's
	// In-Reply-To is unknown, and its References lead to the intro.
	{Campaign: "intro", Recipient: "r45", Channel: "mail", Address: "giulia.rossi@example.it", Status: state.StatusSent, MessageID: "<c.intro.r45.0001@notify.acme.example>"},
	{Campaign: "shipment-delay", Recipient: "r46", Channel: "mail", Address: "taro.yamada@example.jp", Status: state.StatusSent, MessageID: "<c.shipment-delay.r46.5e5e@notify.acme.example>"},
	{Campaign: "shipment-delay", Recipient: "r47", Channel: "mail", Address: "carla@example.co.uk", Status: state.StatusSent, MessageID: "<c.shipment-delay.r47.77aa@notify.acme.example>"},
	{Campaign: "promo", Recipient: "r48", Channel: "mail", Address: "erin@example.com", Status: state.StatusSent, MessageID: "<c.promo.r48@notify.acme.example>"},
	{Campaign: "shipment-delay", Recipient: "r50", Channel: "mail", Address: "dave@example.com", Status: state.StatusSent, MessageID: "<c.shipment-delay.r50.0001@notify.acme.example>"},
	// An SMS send to an address that also writes e-mail must not match.
	{Campaign: "shipment-delay", Recipient: "r99", Channel: "sms", Address: "zed@example.net", Status: state.StatusSent, ProviderID: "SM1"},
}

func rawMail(headers, body string) []byte {
	return []byte(strings.ReplaceAll(strings.TrimLeft(headers, "\n"), "\n", "\r\n") + "\r\n" + strings.ReplaceAll(body, "\n", "\r\n"))
}

// extraMails cover what the fixtures do not: only the plus-address token,
// a STOP, a stranger, and a message without Message-ID.
var extraMails = [][]byte{
	rawMail(`
From: Erin <erin.alias@example.com>
To: Acme <replies+`+channels.ReplyToken("promo", "r48")+`@acme.example>
Subject: Re: Our autumn offer
Date: Mon, 23 Nov 2026 12:00:00 +0000
Message-ID: <erin-1@example.com>
Content-Type: text/plain; charset=utf-8
`, "Forwarded from my other address: how much is it?\n"),
	rawMail(`
From: dave@example.com
To: replies@acme.example
Subject: Re: Your parcel is delayed
Date: Mon, 23 Nov 2026 12:01:00 +0000
Message-ID: <dave-1@example.com>
In-Reply-To: <c.shipment-delay.r50.0001@notify.acme.example>
Content-Type: text/plain; charset=utf-8
`, "STOP\n\nOn Mon, Nov 23, 2026 at 10:00 AM Acme <notify@acme.example> wrote:\n> Your parcel is delayed.\n"),
	rawMail(`
From: Zed <zed@example.net>
To: replies@acme.example
Subject: hello
Date: Mon, 23 Nov 2026 12:02:00 +0000
Message-ID: <zed-1@example.net>
Content-Type: text/plain; charset=utf-8
`, "Is this the right address for complaints?\n"),
	rawMail(`
From: frank@example.com
To: replies@acme.example
Subject: no id
Date: Mon, 23 Nov 2026 12:03:00 +0000
Content-Type: text/plain; charset=utf-8
`, "My client sends no Message-ID.\n"),
}

func fetchConfig(t *testing.T, srv *testIMAP) *campaign.Config {
	u := url.URL{Scheme: "imap", User: url.UserPassword(testUser, testPass), Host: srv.addr, Path: "/INBOX"}
	return loadTestConfig(t, fmt.Sprintf(`
state_dir = "state"
[channels.mail]
backend = "outbox"
kind = "email"
[channels.sms]
backend = "outbox"
kind = "sms"
[replies.imap]
url = %q
`, u.String()))
}

func TestFetchRepliesMatchesAndLogsOnce(t *testing.T) {
	srv := startIMAP(t, plainText)
	for _, name := range fixtureNames {
		srv.appendMsg(t, "INBOX", readFixture(t, name))
	}
	for _, m := range extraMails {
		srv.appendMsg(t, "INBOX", m)
	}
	cfg := fetchConfig(t, srv)
	writeJournal(t, cfg.StateDir, emailSends...)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	now := func() time.Time { return time.Date(2026, 11, 23, 13, 0, 0, 0, time.UTC) }

	sum, err := FetchReplies(ctx, FetchOptions{Config: cfg, Now: now, BatchSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	want := FetchSummary{Fetched: 10, New: 10, Matched: 8, OptOuts: 1}
	if sum != want {
		t.Errorf("summary %+v, want %+v", sum, want)
	}

	rows := map[string]state.Reply{}
	for _, r := range readAllReplies(t, cfg.StateDir) {
		rows[r.From] = r
	}
	expect := []struct{ from, recipient, campaign, inReplyTo, textStart, action string }{
		{"alice@example.com", "r42", "shipment-delay", "<c.shipment-delay.r42.7f3a@notify.acme.example>", "Yes, Tuesday afternoon", ""},
		{"bob@example.org", "r43", "shipment-delay", "<c.shipment-delay.r43.9b1c@notify.acme.example>", "Hi,\n\nPlease cancel", ""},
		{"renee@example.net", "r44", "shipment-delay", "<c.shipment-delay.r44.2d6e@notify.acme.example>", "Thursday morning", ""},
		{"giulia.rossi@example.it", "r45", "intro", "<c.intro.r45.0001@notify.acme.example>", "Va bene, grazie", ""},
		{"taro.yamada@example.jp", "r46", "shipment-delay", "<c.shipment-delay.r46.5e5e@notify.acme.example>", "承知しました", ""},
		{"carla@example.co.uk", "r47", "shipment-delay", "<c.shipment-delay.r47.77aa@notify.acme.example>", "Got it, thanks!", ""},
		{"erin.alias@example.com", "r48", "promo", "<c.promo.r48@notify.acme.example>", "Forwarded from my other", ""},
		{"dave@example.com", "r50", "shipment-delay", "<c.shipment-delay.r50.0001@notify.acme.example>", "STOP", "stop"},
		{"zed@example.net", "", "", "", "Is this the right address", ""},
		{"frank@example.com", "", "", "", "My client sends no Message-ID.", ""},
	}
	for _, e := range expect {
		r, ok := rows[e.from]
		if !ok {
			t.Errorf("no row from %s", e.from)
			continue
		}
		if r.Channel != "mail" || r.RecipientID != e.recipient || r.Campaign != e.campaign || r.InReplyTo != e.inReplyTo ||
			!strings.HasPrefix(r.Text, e.textStart) || r.Action != e.action || r.MessageID == "" {
			t.Errorf("row from %s: %+v\nwant recipient %q campaign %q in_reply_to %q text %q… action %q", e.from, r, e.recipient, e.campaign, e.inReplyTo, e.textStart, e.action)
		}
	}
	if r := rows["dave@example.com"]; strings.Contains(r.Text, "Your parcel is delayed") {
		t.Errorf("quoted history kept: %q", r.Text)
	}
	supp, err := state.OpenFiles(cfg.StateDir).Suppressions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !supp.Suppressed("dave@example.com", "mail") || supp.Suppressed("alice@example.com", "mail") {
		t.Error("the STOP reply did not suppress exactly dave@example.com on mail")
	}

	// The checkpoint: UIDVALIDITY and the last UID, no password.
	raw, err := os.ReadFile(IMAPStatePath(cfg.StateDir))
	if err != nil {
		t.Fatal(err)
	}
	var st imapState
	if err := json.Unmarshal(raw, &st); err != nil || st.LastUID != 10 || st.UIDValidity == 0 {
		t.Errorf("imap.state = %s (%v)", raw, err)
	}
	if strings.Contains(string(raw), testPass) || strings.Contains(string(raw), url.QueryEscape(testPass)) {
		t.Errorf("imap.state holds the password: %s", raw)
	}

	// Nothing new: nothing added.
	if sum, err := FetchReplies(ctx, FetchOptions{Config: cfg, Now: now}); err != nil || sum != (FetchSummary{}) {
		t.Errorf("second fetch: %+v, %v; want nothing", sum, err)
	}
	// One new message: only it.
	srv.appendMsg(t, "INBOX", rawMail(`
From: alice@example.com
To: replies@acme.example
Subject: Re: Your parcel is delayed
Message-ID: <alice-2@example.com>
In-Reply-To: <c.shipment-delay.r42.7f3a@notify.acme.example>
`, "Unsubscribe\n"))
	sum, err = FetchReplies(ctx, FetchOptions{Config: cfg, Now: now})
	if err != nil || sum != (FetchSummary{Fetched: 1, New: 1, Matched: 1, OptOuts: 1}) {
		t.Errorf("third fetch: %+v, %v", sum, err)
	}
	// A lost checkpoint (or a renumbered mailbox) reads everything again,
	// and still logs nothing twice.
	if err := os.Remove(IMAPStatePath(cfg.StateDir)); err != nil {
		t.Fatal(err)
	}
	sum, err = FetchReplies(ctx, FetchOptions{Config: cfg, Now: now})
	if err != nil || sum.New != 0 || sum.Duplicates != 11 {
		t.Errorf("fetch without checkpoint: %+v, %v; want 11 duplicates, nothing new", sum, err)
	}
	if n := len(readAllReplies(t, cfg.StateDir)); n != 11 {
		t.Errorf("replies.csv has %d rows, want 11", n)
	}
}

func TestFetchRepliesWithoutMailbox(t *testing.T) {
	cfg := loadTestConfig(t, `state_dir = "state"`)
	_, err := FetchReplies(context.Background(), FetchOptions{Config: cfg})
	if err != ErrNoMailbox || !strings.Contains(err.Error(), "[replies.imap]") {
		t.Errorf("err = %v, want ErrNoMailbox naming [replies.imap]", err)
	}
}

func readAllReplies(t *testing.T, stateDir string) []state.Reply {
	t.Helper()
	var rows []state.Reply
	if err := state.OpenFiles(stateDir).ReadReplies(context.Background(), func(r state.Reply) error {
		rows = append(rows, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return rows
}
