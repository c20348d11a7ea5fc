package replies

import (
	"context"
	"strings"
	"testing"

	"herald/campaign/report"
	"herald/state"
)

// dsn is a bounce as Postfix writes it (RFC 3464), returning the headers of
// herald's message.
func dsn(boundary, action, status, finalRecipient, originalID string) []byte {
	return rawMail(`
From: MAILER-DAEMON@mx.example.com (Mail Delivery System)
To: bounces@acme.example
Subject: Undelivered Mail Returned to Sender
Date: Mon, 23 Nov 2026 10:00:07 +0000
Message-ID: <20261123100007.`+boundary+`@mx.example.com>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="`+boundary+`"
`, `This is a MIME-encapsulated message.

--`+boundary+`
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.example.com.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

--`+boundary+`
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.com
X-Postfix-Queue-ID: 4XyZ1
Arrival-Date: Mon, 23 Nov 2026 10:00:05 +0000

Final-Recipient: rfc822; `+finalRecipient+`
Original-Recipient: rfc822;`+finalRecipient+`
Action: `+action+`
Status: `+status+`
Remote-MTA: dns; mail.example.com
Diagnostic-Code: smtp; 550 `+status+` <`+finalRecipient+`>: Recipient address
    rejected: User unknown in virtual mailbox table

--`+boundary+`
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

From: Acme <notify@acme.example>
To: `+finalRecipient+`
Subject: Your parcel is delayed
Message-ID: `+originalID+`
Date: Mon, 23 Nov 2026 10:00:00 +0000

--`+boundary+`--
`)
}

// A permanent bounce of a herald e-mail suppresses the address it was sent
// to, with source bounce; a delay does not. Neither is a reply or an
// opt-out in report.
func TestFetchBounce(t *testing.T) {
	srv := startIMAP(t, plainText)
	srv.appendMsg(t, "INBOX", dsn("B1", "failed", "5.1.1", "dave@example.com", "<c.shipment-delay.r50.0001@notify.acme.example>"))
	srv.appendMsg(t, "INBOX", dsn("B2", "delayed", "4.4.1", "alice@example.com", "<c.shipment-delay.r42.7f3a@notify.acme.example>"))
	cfg := fetchConfig(t, srv)
	writeJournal(t, cfg.StateDir, emailSends...)

	sum, err := FetchReplies(ctxT(t), FetchOptions{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if sum.New != 2 || sum.Bounces != 1 || sum.Auto != 2 || sum.OptOuts != 0 {
		t.Errorf("summary %+v, want 2 new automatic rows, 1 bounce", sum)
	}
	supp, err := state.OpenFiles(cfg.StateDir).Suppressions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	rows := supp.Rows()
	if len(rows) != 1 || rows[0].Address != "dave@example.com" || rows[0].Channel != "mail" || rows[0].Source != state.SourceBounce ||
		!strings.HasPrefix(rows[0].Reason, "bounce 5.1.1: smtp; 550 5.1.1") {
		t.Errorf("suppressions = %+v, want dave@example.com on mail, source bounce, reason with the status", rows)
	}
	byRecipient := map[string]state.Reply{}
	for _, r := range readAllReplies(t, cfg.StateDir) {
		byRecipient[r.RecipientID] = r
	}
	if r := byRecipient["r50"]; r.Action != state.ActionAuto || !strings.HasPrefix(r.Text, "delivery to dave@example.com failed: bounce 5.1.1") {
		t.Errorf("r50's bounce logged as %+v", r)
	}
	if r := byRecipient["r42"]; r.Action != state.ActionAuto || r.Campaign != "shipment-delay" {
		t.Errorf("r42's delay notice logged as %+v", r)
	}
	rep, err := report.Build(context.Background(), report.Options{StateDirs: []string{cfg.StateDir}, Campaign: "shipment-delay"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Totals.Replied != 0 || rep.Totals.OptedOut != 0 {
		t.Errorf("report counts bounces as replies or opt-outs: %+v", rep.Totals)
	}
}

// A report about a message herald did not send suppresses nothing.
func TestFetchBounceOfAnotherMessage(t *testing.T) {
	srv := startIMAP(t, plainText)
	srv.appendMsg(t, "INBOX", dsn("B3", "failed", "5.1.1", "dave@example.com", "<someone-else@example.com>"))
	cfg := fetchConfig(t, srv)
	writeJournal(t, cfg.StateDir, emailSends...)
	sum, err := FetchReplies(ctxT(t), FetchOptions{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Bounces != 0 || sum.Auto != 1 {
		t.Errorf("summary %+v, want no bounce, one automatic row", sum)
	}
	if keys := suppressionKeys(t, cfg.StateDir); len(keys) != 0 {
		t.Errorf("suppressed %v for a message herald did not send", keys)
	}
}
