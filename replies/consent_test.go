package replies

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"herald/campaign/report"
	"herald/state"
)

// The consent rules (SPEC 3 "Replies and opt-out"), as a table over who
// made a suppression and what the customer then sent. Only a STOP keyword's
// own suppression is lifted, only by START on that channel, and never by an
// e-mail. The webhook inputs go through the real server with Twilio's
// signature; the e-mail inputs through `replies fetch` against an
// in-process IMAP server.
func TestConsentRules(t *testing.T) {
	const phone = "+6281234567890"       // c-001 on sms in the journal
	const mailAddr = "alice@example.com" // r42 on mail in the journal
	sources := []string{state.SourceKeyword, state.SourceOneClick, state.SourceOperator, state.SourceProvider, state.SourceBounce}

	type input struct {
		name    string
		channel string // where the suppression is and the reply arrives
		address string
		action  string                                                      // replies.csv action expected
		lifts   func(source string) bool                                    // whether the suppression goes
		stops   bool                                                        // a keyword suppression of its own is added
		deliver func(t *testing.T, stateSetup func(stateDir string)) string // returns the state dir
	}
	never := func(string) bool { return false }
	inputs := []input{
		{
			name: "START by signed Twilio webhook", channel: "sms", address: phone, action: "start",
			lifts:   func(source string) bool { return source == state.SourceKeyword },
			deliver: smsReply("SMc1", phone, "START"),
		},
		{
			name: "UNSTOP by signed Twilio webhook", channel: "sms", address: phone, action: "start",
			lifts:   func(source string) bool { return source == state.SourceKeyword },
			deliver: smsReply("SMc2", phone, "unstop"),
		},
		{
			name: "STOP by signed Twilio webhook", channel: "sms", address: phone, action: "stop",
			lifts: never, stops: true,
			deliver: smsReply("SMc3", phone, "STOP"),
		},
		{
			name: "START in an e-mail", channel: "mail", address: mailAddr, action: "",
			lifts:   never,
			deliver: mailReply(mailAddr, "<start-1@example.com>", "START"),
		},
		{
			name: "Yes in an e-mail", channel: "mail", address: mailAddr, action: "",
			lifts:   never,
			deliver: mailReply(mailAddr, "<yes-1@example.com>", "Yes"),
		},
	}
	for _, in := range inputs {
		for _, source := range sources {
			t.Run(in.name+"/"+source, func(t *testing.T) {
				before := state.Suppression{Address: in.address, Channel: in.channel, Reason: "set up by the test", AddedAt: sentAt.Add(-time.Hour), Source: source}
				// Another channel's keyword suppression of the same address
				// is never touched by a reply on this one.
				other := state.Suppression{Address: in.address, Channel: "whatsapp", Reason: "STOP reply", AddedAt: sentAt.Add(-time.Hour), Source: state.SourceKeyword}
				dir := in.deliver(t, func(stateDir string) {
					for _, s := range []state.Suppression{before, other} {
						if err := addSuppression(stateDir, s); err != nil {
							t.Fatal(err)
						}
					}
				})
				want := []string{supKey(other)}
				if !in.lifts(source) {
					want = append(want, supKey(before))
				}
				if in.stops && source != state.SourceKeyword {
					// The STOP is recorded in its own right, so a later
					// START lifts it and leaves the other source's row.
					want = append(want, in.address+" "+in.channel+" "+state.SourceKeyword)
				}
				slices.Sort(want)
				if got := suppressionKeys(t, dir); !slices.Equal(got, want) {
					t.Errorf("suppressions.csv afterwards:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
				}
				rows := readAllReplies(t, dir)
				if len(rows) != 1 || rows[0].Action != in.action || rows[0].Channel != in.channel {
					t.Errorf("replies.csv = %+v, want one row on %s with action %q", rows, in.channel, in.action)
				}
			})
		}
	}
}

// smsReply delivers text from `from` to the server's Twilio endpoint,
// signed as Twilio signs it.
func smsReply(sid, from, text string) func(*testing.T, func(string)) string {
	return func(t *testing.T, setup func(string)) string {
		h := newHarness(t, fullConfig, sends...)
		setup(h.state) // suppressions are read per request
		h.mustSend(twilioReq(twilioToken, "/webhooks/twilio", twilioSMS(sid, from, text)))
		return h.state
	}
}

// mailReply puts a reply from `from` to r42's e-mail into a fresh IMAP
// mailbox and runs `replies fetch` once.
func mailReply(from, messageID, text string) func(*testing.T, func(string)) string {
	return func(t *testing.T, setup func(string)) string {
		srv := startIMAP(t, plainText)
		srv.appendMsg(t, "INBOX", rawMail(fmt.Sprintf(`
From: Alice <%s>
To: replies@acme.example
Subject: Re: Your parcel is delayed
Date: Mon, 23 Nov 2026 12:00:00 +0000
Message-ID: %s
In-Reply-To: <c.shipment-delay.r42.7f3a@notify.acme.example>
Content-Type: text/plain; charset=utf-8
`, from, messageID), text+"\n\nOn Mon, Nov 23, 2026 at 10:00 AM Acme <notify@acme.example> wrote:\n> Your parcel is delayed.\n"))
		cfg := fetchConfig(t, srv)
		writeJournal(t, cfg.StateDir, emailSends...)
		setup(cfg.StateDir)
		if _, err := FetchReplies(ctxT(t), FetchOptions{Config: cfg}); err != nil {
			t.Fatal(err)
		}
		return cfg.StateDir
	}
}

func supKey(s state.Suppression) string { return s.Address + " " + s.Channel + " " + s.Source }

func suppressionKeys(t *testing.T, stateDir string) []string {
	t.Helper()
	s, err := state.OpenFiles(stateDir).Suppressions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range s.Rows() {
		out = append(out, supKey(r))
	}
	slices.Sort(out)
	return out
}

// An out-of-office is logged with action auto and changes nothing: its
// text here is exactly a keyword ("Stop", the rest is below the signature
// line), so only its Auto-Submitted header keeps it from unsubscribing
// Giulia. `report` does not count it as a reply.
func TestOutOfOfficeIsNotAReply(t *testing.T) {
	srv := startIMAP(t, plainText)
	srv.appendMsg(t, "INBOX", rawMail(`
From: Giulia Rossi <giulia.rossi@example.it>
To: replies@acme.example
Subject: =?UTF-8?Q?Risposta_automatica:_La_tua_spedizione_=C3=A8_in_ritardo?=
Date: Mon, 23 Nov 2026 10:00:05 +0100
Message-ID: <ooo-1@example.it>
In-Reply-To: <c.intro.r45.0001@notify.acme.example>
Auto-Submitted: auto-replied
Content-Type: text/plain; charset=utf-8
`, "Stop\n-- \nSono fuori ufficio fino al 10 dicembre, con accesso limitato alla posta. Per urgenze scrivete a ufficio@example.it.\n"))
	cfg := fetchConfig(t, srv)
	writeJournal(t, cfg.StateDir, emailSends...)

	sum, err := FetchReplies(ctxT(t), FetchOptions{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if sum.New != 1 || sum.Auto != 1 || sum.OptOuts != 0 {
		t.Errorf("summary %+v, want one new row, automatic, no opt-out", sum)
	}
	rows := readAllReplies(t, cfg.StateDir)
	if len(rows) != 1 || rows[0].Action != state.ActionAuto || rows[0].RecipientID != "r45" || rows[0].Text != "Stop" {
		t.Fatalf("replies.csv = %+v, want Giulia's row (r45, text Stop) with action auto", rows)
	}
	if keys := suppressionKeys(t, cfg.StateDir); len(keys) != 0 {
		t.Errorf("an out-of-office suppressed %v", keys)
	}
	rep, err := report.Build(context.Background(), report.Options{StateDirs: []string{cfg.StateDir}, Campaign: "intro"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Totals.Sent != 1 || rep.Totals.Replied != 0 || rep.Totals.OptedOut != 0 || rep.HasMedian {
		t.Errorf("report counts the out-of-office: %+v (median %v %v)", rep.Totals, rep.MedianFirstReply, rep.HasMedian)
	}
}

func TestAutoReplyHeaders(t *testing.T) {
	tests := []struct {
		header string
		auto   bool
	}{
		{"Auto-Submitted: auto-replied", true},
		{"Auto-Submitted: auto-generated", true},
		{"Auto-Submitted: Auto-Replied; owner-email=\"giulia@example.it\"", true},
		{"Auto-Submitted: no", false},
		{"Auto-Submitted: No (a person wrote this)", false},
		{"X-Autoreply: yes", true},
		{"X-Autorespond: Out of office", true},
		{"Precedence: bulk", true},
		{"Precedence: JUNK", true},
		{"Precedence: auto_reply", true},
		{"Precedence: list", false},
		{"X-Mailer: Apple Mail", false},
	}
	for _, tt := range tests {
		raw := rawMail("From: a@example.com\nTo: replies@acme.example\nSubject: Re: x\n"+tt.header+"\nContent-Type: text/plain\n", "STOP\n")
		e, err := ExtractReply(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := e.Auto != ""; got != tt.auto {
			t.Errorf("%s: automatic = %v (%q), want %v", tt.header, got, e.Auto, tt.auto)
		}
		want := ActionStop
		if tt.auto {
			want = ActionAuto
		}
		if got := emailAction(e); got != want {
			t.Errorf("%s with text STOP: action %q, want %q", tt.header, got, want)
		}
	}
}

// The case: a customer texts STOP, an operator then puts the same
// number on a legal hold, and the customer texts START. The START lifts
// the STOP, and the hold stays.
func TestStartLeavesAnOperatorHoldOverAStop(t *testing.T) {
	const phone = "+6281234567890"
	h := newHarness(t, fullConfig, sends...)
	h.mustSend(twilioReq(twilioToken, "/webhooks/twilio", twilioSMS("SMh1", phone, "STOP")))
	if err := addSuppression(h.state, state.Suppression{Address: phone, Channel: "sms", Reason: "legal hold: complaint", Source: state.SourceOperator}); err != nil {
		t.Fatal(err)
	}
	h.mustSend(twilioReq(twilioToken, "/webhooks/twilio", twilioSMS("SMh2", phone, "START")))
	if got, want := suppressionKeys(t, h.state), []string{phone + " sms operator"}; !slices.Equal(got, want) {
		t.Errorf("suppressions after STOP, hold, START: %v, want %v", got, want)
	}
	if !h.suppressed(phone, "sms") {
		t.Error("the number is sendable again despite the legal hold")
	}
}
