package replies

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"herald/state"
)

// The signing helpers reproduce the providers' published test vectors, so
// the requests below are signed as the providers sign them.
func TestSigningHelpersMatchProviderVectors(t *testing.T) {
	twilioParams := url.Values{"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+12349013030"}, "Digits": {"1234"}, "From": {"+12349013030"}, "To": {"+18005551212"}}
	if got := twilioSign("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", twilioParams); got != "0/KCTR6DLpKmkAf8muzZqo1nDgQ=" {
		t.Errorf("Twilio vector: %s", got)
	}
	if got := vonageSign("secret", url.Values{"a": {"1"}, "b": {"2"}, "timestamp": {"1461605396"}}); got != "6af838ef94998832dbfc29020b564830" {
		t.Errorf("Vonage vector: %s", got)
	}
	if got := lineSign("SECRET", []byte("{}")); got != "3q8QXTAGaey18yL8FWTqdVlbMr6hcuNvM4tefa0o9nA=" {
		t.Errorf("LINE vector: %s", got)
	}
	got := metaSign("Jefe", []byte("what do ya want for nothing?"))
	if !strings.HasPrefix(got, "sha256=5bdcc146") || !strings.HasSuffix(got, "64ec3843") {
		t.Errorf("Meta vector (RFC 4231 case 2): %s", got)
	}
}

func TestServeRepliesMatchedToTheSend(t *testing.T) {
	h := newHarness(t, fullConfig, sends...)
	cases := []struct {
		name string
		req  wreq
		want state.Reply
	}{
		{"twilio", twilioReq(twilioToken, "/webhooks/twilio", twilioSMS("SMa1", "+6281234567890", "Bisa diantar besok?")),
			state.Reply{Channel: "sms", From: "+6281234567890", RecipientID: "c-001", Campaign: "delay", MessageID: "SMa1", Text: "Bisa diantar besok?"}},
		{"twilio by channel name", twilioReq(twilioToken, "/webhooks/sms", twilioSMS("SMa2", "+6281234567890", "Terima kasih")),
			state.Reply{Channel: "sms", From: "+6281234567890", RecipientID: "c-001", Campaign: "delay", MessageID: "SMa2", Text: "Terima kasih"}},
		{"vonage", vonageReq(vonageSecret, vonageSMS("0B00000000000001", "393401234567", "Va bene, grazie & a presto")),
			state.Reply{Channel: "vsms", From: "+393401234567", RecipientID: "c-002", Campaign: "delay", MessageID: "0B00000000000001", Text: "Va bene, grazie & a presto"}},
		{"whatsapp quoting the intro", metaReq(metaAppSecret, waMessage("wamid.IN1", "16315551234", "Which parcel? “A-17” 📦", "wamid.INTRO")),
			state.Reply{Channel: "whatsapp", From: "+16315551234", RecipientID: "c-003", Campaign: "intro", MessageID: "wamid.IN1", InReplyTo: "wamid.INTRO", Text: "Which parcel? “A-17” 📦"}},
		{"whatsapp", metaReq(metaAppSecret, waMessage("wamid.IN2", "16315551234", "ok", "")),
			state.Reply{Channel: "whatsapp", From: "+16315551234", RecipientID: "c-003", Campaign: "delay", MessageID: "wamid.IN2", Text: "ok"}},
		{"telegram", telegramReq(telegramSecret, tgMessage(700001, 987654321, "Спасибо,\nжду")),
			state.Reply{Channel: "telegram", From: "987654321", RecipientID: "c-004", Campaign: "delay", MessageID: "700001", Text: "Спасибо,\nжду"}},
		{"line", lineReq(lineSecret, lineEvent("01HZEVENT0000000000000001", "message", lineUser, "明日でお願いします")),
			state.Reply{Channel: "line", From: lineUser, RecipientID: "c-005", Campaign: "delay", MessageID: "01HZEVENT0000000000000001", Text: "明日でお願いします"}},
		{"stranger", twilioReq(twilioToken, "/webhooks/twilio", twilioSMS("SMa3", "+15559998888", "who is this?")),
			state.Reply{Channel: "sms", From: "+15559998888", MessageID: "SMa3", Text: "who is this?"}},
	}
	for _, c := range cases {
		h.mustSend(c.req)
	}
	rows := h.replies()
	if len(rows) != len(cases) {
		t.Fatalf("replies.csv has %d rows, want %d: %+v", len(rows), len(cases), rows)
	}
	for i, c := range cases {
		got := rows[i]
		if got.ReceivedAt.IsZero() {
			t.Errorf("%s: no received_at", c.name)
		}
		got.ReceivedAt = time.Time{}
		if got != c.want {
			t.Errorf("%s:\n got %+v\nwant %+v", c.name, got, c.want)
		}
	}
	// The request log names what happened, never the text or a secret.
	logs := h.logs.String()
	for _, secret := range []string{twilioToken, vonageSecret, metaAppSecret, telegramSecret, lineSecret, "Bisa diantar", "明日"} {
		if strings.Contains(logs, secret) {
			t.Errorf("log contains %q:\n%s", secret, logs)
		}
	}
	if n := strings.Count(logs, "msg=request"); n != len(cases) {
		t.Errorf("%d request log lines for %d requests:\n%s", n, len(cases), logs)
	}
}

func TestServeRefusesBadSignatures(t *testing.T) {
	h := newHarness(t, fullConfig, sends...)
	tamper := func(r wreq) wreq {
		// Change one byte of the signed body: the customer's text.
		i := bytes.LastIndex(r.body, []byte("ok"))
		if i < 0 {
			t.Fatalf("no 'ok' in %s", r.body)
		}
		r.body = append([]byte(nil), r.body...)
		r.body[i] = 'O'
		return r
	}
	without := func(r wreq, header string) wreq {
		r.header = r.header.Clone()
		r.header.Del(header)
		return r
	}
	vonageNoSig := func() wreq {
		r := vonageReq(vonageSecret, vonageSMS("0B02", "393401234567", "ok"))
		p, _ := url.ParseQuery(string(r.body))
		p.Del("sig")
		r.body = []byte(p.Encode())
		return r
	}
	cases := map[string]wreq{
		"twilio forged":        tamper(twilioReq(twilioToken, "/webhooks/twilio", twilioSMS("SMf1", "+6281234567890", "ok"))),
		"twilio unsigned":      without(twilioReq(twilioToken, "/webhooks/twilio", twilioSMS("SMf2", "+6281234567890", "ok")), "X-Twilio-Signature"),
		"twilio wrong token":   twilioReq("another-account-token", "/webhooks/twilio", twilioSMS("SMf3", "+6281234567890", "ok")),
		"vonage forged":        tamper(vonageReq(vonageSecret, vonageSMS("0B01", "393401234567", "ok"))),
		"vonage unsigned":      vonageNoSig(),
		"vonage wrong secret":  vonageReq("not-the-secret", vonageSMS("0B03", "393401234567", "ok")),
		"whatsapp forged":      tamper(metaReq(metaAppSecret, waMessage("wamid.F1", "16315551234", "ok", ""))),
		"whatsapp unsigned":    without(metaReq(metaAppSecret, waMessage("wamid.F2", "16315551234", "ok", "")), "X-Hub-Signature-256"),
		"whatsapp wrong key":   metaReq("meta-access-token", waMessage("wamid.F3", "16315551234", "ok", "")),
		"telegram no token":    telegramReq("", tgMessage(1, 987654321, "ok")),
		"telegram wrong token": telegramReq("tg_secret-Token-43", tgMessage(2, 987654321, "ok")),
		"line forged":          tamper(lineReq(lineSecret, lineEvent("01F1", "message", lineUser, "ok"))),
		"line unsigned":        without(lineReq(lineSecret, lineEvent("01F2", "message", lineUser, "ok")), "X-Line-Signature"),
		"line wrong secret":    lineReq("line-channel-secret-xyZ", lineEvent("01F3", "message", lineUser, "ok")),
		// Signed for the URL the request reached (the Host header), not for
		// public_url: a proxy or attacker chooses the Host.
		"twilio signed for host": func() wreq {
			p := twilioSMS("SMf4", "+6281234567890", "ok")
			r := twilioReq(twilioToken, "/webhooks/twilio", p)
			r.header.Set("X-Twilio-Signature", twilioSign(twilioToken, h.url+"/webhooks/twilio", p))
			return r
		}(),
		// A STOP that would suppress, and a status that would be journaled.
		"forged STOP":   twilioReq("another-account-token", "/webhooks/twilio", twilioSMS("SMf5", "+6281234567890", "STOP")),
		"forged status": tamper(metaReq(metaAppSecret, strings.Replace(waStatus("wamid.DELAY", "delivered", "16315551234"), "delivered", "ok", 1))),
	}
	files := []string{state.OpenFiles(h.state).RepliesPath(), state.OpenFiles(h.state).SuppressionsPath(), state.OpenFiles(h.state).JournalPath()}
	before := make([]string, len(files))
	for i, f := range files {
		before[i] = fileBytes(t, f)
	}
	for name, r := range cases {
		code, body := h.send(r)
		if code != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403 (%s)", name, code, body)
		}
		if strings.Contains(body, "ok") && strings.Contains(body, "Response") {
			t.Errorf("%s: answered like an accepted webhook: %s", name, body)
		}
	}
	for i, f := range files {
		if after := fileBytes(t, f); after != before[i] {
			t.Errorf("%s changed after refused requests:\n%s", f, after)
		}
	}
}

func TestServeStopAndStartKeywords(t *testing.T) {
	h := newHarness(t, fullConfig, sends...)
	h.mustSend(twilioReq(twilioToken, "/webhooks/twilio", twilioSMS("SMs1", "+6281234567890", "BERHENTI")))
	h.mustSend(vonageReq(vonageSecret, vonageSMS("0B10", "393401234567", "Basta!")))
	h.mustSend(lineReq(lineSecret, lineEvent("01S1", "message", lineUser, "「停止」")))
	h.mustSend(telegramReq(telegramSecret, tgMessage(700010, 987654321, "ＳＴＯＰ")))
	h.mustSend(metaReq(metaAppSecret, waMessage("wamid.S1", "16315551234", "stop ", "")))

	for _, s := range []struct{ addr, channel string }{
		{"+6281234567890", "sms"}, {"+393401234567", "vsms"}, {lineUser, "line"}, {"987654321", "telegram"}, {"+16315551234", "whatsapp"},
	} {
		if !h.suppressed(s.addr, s.channel) {
			t.Errorf("%s not suppressed on %s", s.addr, s.channel)
		}
	}
	// Only on the channel the STOP came from.
	if h.suppressed("+6281234567890", "whatsapp") {
		t.Error("a STOP by SMS suppressed WhatsApp too")
	}
	supp, _ := state.OpenFiles(h.state).Suppressions(context.Background())
	rows := supp.Rows()
	for _, r := range rows {
		if r.Reason != "STOP reply" {
			t.Errorf("suppression reason %q, want STOP reply", r.Reason)
		}
	}
	for _, r := range h.replies() {
		if r.Action != "stop" {
			t.Errorf("reply %q logged with action %q, want stop", r.Text, r.Action)
		}
	}

	// STOP PLEASE is a conversation, not a keyword.
	h.mustSend(twilioReq(twilioToken, "/webhooks/twilio", twilioSMS("SMs2", "+15551230000", "stop please, wrong number")))
	if h.suppressed("+15551230000", "sms") {
		t.Error("'stop please, wrong number' suppressed the number")
	}

	h.mustSend(twilioReq(twilioToken, "/webhooks/twilio", twilioSMS("SMs3", "+6281234567890", "start")))
	if h.suppressed("+6281234567890", "sms") {
		t.Error("START did not lift the suppression")
	}
	if !h.suppressed("+393401234567", "vsms") {
		t.Error("START on sms lifted another number's suppression")
	}
	h.mustSend(telegramReq(telegramSecret, tgMessage(700011, 987654321, "help")))
	rowsAfter := h.replies()
	if last := rowsAfter[len(rowsAfter)-1]; last.Action != "help" || last.RecipientID != "c-004" {
		t.Errorf("HELP logged as %+v", last)
	}
}

func TestServePlatformOptOuts(t *testing.T) {
	h := newHarness(t, fullConfig, sends...)
	h.mustSend(lineReq(lineSecret, lineEvent("01U1", "unfollow", lineUser, "")))
	h.mustSend(telegramReq(telegramSecret, `{"update_id":800001,"my_chat_member":{"chat":{"id":987654321,"type":"private"},"from":{"id":987654321,"is_bot":false,"first_name":"Ivan"},"date":1795428000,"old_chat_member":{"user":{"id":1,"is_bot":true,"first_name":"AcmeBot"},"status":"member"},"new_chat_member":{"user":{"id":1,"is_bot":true,"first_name":"AcmeBot"},"status":"kicked","until_date":0}}}`))
	p := twilioSMS("SMo1", "+6281234567890", "ARRET")
	p.Set("OptOutType", "STOP")
	h.mustSend(twilioReq(twilioToken, "/webhooks/twilio", p))

	supp, _ := state.OpenFiles(h.state).Suppressions(context.Background())
	rows := supp.Rows()
	got := map[string]string{}
	for _, r := range rows {
		got[r.Channel+" "+r.Address] = r.Reason
	}
	want := map[string]string{
		"line " + lineUser:   "LINE unfollow (blocked the account)",
		"telegram 987654321": "blocked the Telegram bot",
		"sms +6281234567890": "opted out at Twilio (OptOutType=STOP)",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("suppression %s: reason %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
	// The Twilio opt-out was a message from the customer: it is logged.
	replies := h.replies()
	if len(replies) != 1 || replies[0].Text != "ARRET" || replies[0].Action != "stop" || replies[0].RecipientID != "c-001" {
		t.Errorf("replies.csv: %+v", replies)
	}
}

func TestServeWhatsAppVerificationChallenge(t *testing.T) {
	h := newHarness(t, fullConfig)
	q := url.Values{"hub.mode": {"subscribe"}, "hub.challenge": {"1158201444"}, "hub.verify_token": {metaVerify}}
	code, body := h.send(wreq{method: http.MethodGet, path: "/webhooks/whatsapp?" + q.Encode()})
	if code != http.StatusOK || body != "1158201444" {
		t.Errorf("challenge: %d %q, want 200 with the raw challenge", code, body)
	}
	q.Set("hub.verify_token", "guess")
	if code, body := h.send(wreq{method: http.MethodGet, path: "/webhooks/whatsapp?" + q.Encode()}); code != http.StatusForbidden || strings.Contains(body, "1158201444") {
		t.Errorf("wrong verify token: %d %q, want 403 without the challenge", code, body)
	}
	if strings.Contains(h.logs.String(), metaVerify) {
		t.Errorf("the verify token reached the log:\n%s", h.logs)
	}
}

func TestServeDeliveryStatuses(t *testing.T) {
	h := newHarness(t, fullConfig, sends...)
	h.mustSend(twilioReq(twilioToken, "/webhooks/sms", twilioStatus("SM00000000000000000000000000000002", "sent")))
	h.mustSend(twilioReq(twilioToken, "/webhooks/sms", twilioStatus("SM00000000000000000000000000000002", "delivered")))
	h.mustSend(twilioReq(twilioToken, "/webhooks/sms", twilioStatus("SM00000000000000000000000000000002", "delivered"))) // redelivered
	h.mustSend(metaReq(metaAppSecret, waStatus("wamid.DELAY", "failed", "16315551234")))
	h.mustSend(metaReq(metaAppSecret, waStatus("wamid.INTRO", "delivered", "16315551234")))
	h.mustSend(metaReq(metaAppSecret, waStatus("wamid.INTRO", "read", "16315551234"))) // read implies delivered: no second entry
	// A delivery receipt for the second part of a long Vonage SMS.
	dlr := url.Values{"msisdn": {"393401234567"}, "to": {"Acme"}, "network-code": {"22201"}, "messageId": {"0A0000000123ABCD2"},
		"price": {"0.0333"}, "status": {"delivered"}, "scts": {"2611231005"}, "err-code": {"0"}, "api-key": {"abcd1234"},
		"message-timestamp": {"2026-11-23 10:05:00"}}
	h.mustSend(vonageReq(vonageSecret, dlr))
	h.mustSend(metaReq(metaAppSecret, waStatus("wamid.UNKNOWN", "delivered", "16315550000")))

	var got []string
	for _, e := range h.journal()[len(sends):] {
		got = append(got, fmt.Sprintf("%s %s %s %s %s %s", e.Channel, e.Campaign, e.Recipient, e.Status, e.ProviderID, e.Error))
	}
	want := []string{
		"sms delay c-001 delivered SM00000000000000000000000000000002 ",
		"whatsapp delay c-003 undelivered wamid.DELAY 131026 Message undeliverable",
		"whatsapp intro c-003 delivered wamid.INTRO ",
		"vsms delay c-002 delivered 0A0000000123ABCD1,0A0000000123ABCD2 ",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("journal statuses:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if rows := h.replies(); len(rows) != 0 {
		t.Errorf("statuses were logged as replies: %+v", rows)
	}
	// A restarted server remembers the statuses already journaled.
	srv, err := NewServer(ServerOptions{Registry: testRegistry(), Config: h.cfg})
	if err != nil {
		t.Fatal(err)
	}
	req := twilioReq(twilioToken, "/webhooks/sms", twilioStatus("SM00000000000000000000000000000002", "delivered"))
	r, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1/webhooks/sms", bytes.NewReader(req.body))
	r.Header = req.header
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, r)
	if rec.Code != http.StatusOK || len(h.journal()) != len(sends)+len(want) {
		t.Errorf("redelivery after restart: status %d, journal %d lines", rec.Code, len(h.journal()))
	}
}

func TestServeRedeliveryLogsOnce(t *testing.T) {
	h := newHarness(t, fullConfig, sends...)
	reqs := []wreq{
		twilioReq(twilioToken, "/webhooks/twilio", twilioSMS("SMd1", "+6281234567890", "halo")),
		metaReq(metaAppSecret, waMessage("wamid.D1", "16315551234", "hello", "")),
		lineReq(lineSecret, lineEvent("01D1", "message", lineUser, "こんにちは")),
		telegramReq(telegramSecret, tgMessage(700100, 987654321, "привет")),
	}
	// Concurrent redeliveries of the same events, as providers retry.
	var wg sync.WaitGroup
	for range 5 {
		for _, r := range reqs {
			wg.Go(func() { h.mustSend(r) })
		}
	}
	wg.Wait()
	if rows := h.replies(); len(rows) != len(reqs) {
		t.Fatalf("%d rows for %d distinct messages: %+v", len(rows), len(reqs), rows)
	}
	// After a restart the set is rebuilt from replies.csv.
	h2 := &harness{t: t, state: h.state}
	srv, err := NewServer(ServerOptions{Registry: testRegistry(), Config: h.cfg})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reqs {
		hr, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1"+r.path, bytes.NewReader(r.body))
		hr.Header = r.header
		srv.ServeHTTP(httptest.NewRecorder(), hr)
	}
	if rows := h2.replies(); len(rows) != len(reqs) {
		t.Errorf("after restart: %d rows, want %d", len(rows), len(reqs))
	}
}

func TestServeBodyLimit(t *testing.T) {
	h := newHarness(t, fullConfig, sends...)
	big := lineEvent("01B1", "message", lineUser, strings.Repeat("a", MaxBody))
	code, _ := h.send(lineReq(lineSecret, big))
	if code != http.StatusRequestEntityTooLarge {
		t.Errorf("body of %d bytes: status %d, want 413", len(big), code)
	}
	// Just under the limit is fine.
	ok := lineEvent("01B2", "message", lineUser, "x")
	ok = strings.Replace(ok, `"x"`, `"`+strings.Repeat("x", MaxBody-len(ok)+1)+`"`, 1)
	if len(ok) != MaxBody {
		t.Fatalf("test body is %d bytes", len(ok))
	}
	h.mustSend(lineReq(lineSecret, ok))
	if rows := h.replies(); len(rows) != 1 || rows[0].MessageID != "01B2" {
		t.Errorf("replies.csv has %d rows, want only the one under the limit", len(rows))
	}
}

func TestServeOneClickUnsubscribe(t *testing.T) {
	h := newHarness(t, fullConfig, sends...)
	key, err := state.OpenFiles(h.state).UnsubscribeKey(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	token := state.UnsubscribeSigner{Key: key}.Token("mail", "alice@example.com")
	path := "/unsubscribe/" + token

	// A GET (link scanners, previews) must not unsubscribe.
	code, body := h.send(wreq{method: http.MethodGet, path: path})
	if code != http.StatusOK || !strings.Contains(body, `<form method="post"`) || !strings.Contains(body, `name="List-Unsubscribe" value="One-Click"`) {
		t.Errorf("GET: %d, want 200 with a form that POSTs One-Click:\n%s", code, body)
	}
	if h.suppressed("alice@example.com", "mail") {
		t.Fatal("GET unsubscribed")
	}

	// A forged token (its MAC changed) is refused and changes nothing.
	forged := token[:len(token)-2] + map[bool]string{true: "AA", false: "BB"}[!strings.HasSuffix(token, "AA")]
	code, _ = h.send(wreq{path: "/unsubscribe/" + forged, header: formHeader(), body: []byte("List-Unsubscribe=One-Click")})
	if code != http.StatusForbidden {
		t.Errorf("forged token: status %d, want 403", code)
	}
	// Another address under the same MAC.
	other := state.UnsubscribeSigner{Key: key}.Token("mail", "bob@example.com")
	payload, _, _ := strings.Cut(other, ".")
	_, mac, _ := strings.Cut(token, ".")
	code, _ = h.send(wreq{path: "/unsubscribe/" + payload + "." + mac, header: formHeader(), body: []byte("List-Unsubscribe=One-Click")})
	if code != http.StatusForbidden {
		t.Errorf("swapped payload: status %d, want 403", code)
	}
	if fileBytes(t, state.OpenFiles(h.state).SuppressionsPath()) != "" {
		t.Fatal("a refused unsubscribe wrote suppressions.csv")
	}

	// The RFC 8058 POST, as a mailbox provider sends it.
	code, body = h.send(wreq{path: path, header: formHeader(), body: []byte("List-Unsubscribe=One-Click")})
	if code != http.StatusOK {
		t.Fatalf("POST: %d %s", code, body)
	}
	supp, _ := state.OpenFiles(h.state).Suppressions(context.Background())
	rows := supp.Rows()
	if len(rows) != 1 || rows[0].Address != "alice@example.com" || rows[0].Channel != "mail" || rows[0].Reason != "one-click unsubscribe" {
		t.Errorf("suppressions: %+v", rows)
	}
	// Twice is harmless.
	h.send(wreq{path: path, header: formHeader(), body: []byte("List-Unsubscribe=One-Click")})
	if supp, _ := state.OpenFiles(h.state).Suppressions(context.Background()); len(supp.Rows()) != 1 {
		rows := supp.Rows()
		t.Errorf("second POST added a row: %+v", rows)
	}
	if strings.Contains(h.logs.String(), token) {
		t.Error("the unsubscribe token reached the log")
	}
}

func TestServeRouting(t *testing.T) {
	two := fullConfig + `
[channels.sms2]
backend = "twilio"
account_sid = "AC0123456789abcdef0123456789abcdee"
auth_token = "${TWILIO_AUTH_TOKEN}"
from = "+15550002222"
`
	h := newHarness(t, two, sends...)
	code, body := h.send(twilioReq(twilioToken, "/webhooks/twilio", twilioSMS("SMr1", "+6281234567890", "hi")))
	if code != http.StatusNotFound || !strings.Contains(body, "/webhooks/sms") || !strings.Contains(body, "/webhooks/sms2") {
		t.Errorf("ambiguous /webhooks/twilio: %d %q, want 404 naming /webhooks/sms and /webhooks/sms2", code, body)
	}
	h.mustSend(twilioReq(twilioToken, "/webhooks/sms2", twilioSMS("SMr2", "+6281234567890", "hi")))
	if rows := h.replies(); len(rows) != 1 || rows[0].Channel != "sms2" {
		t.Errorf("replies: %+v", rows)
	}
	if code, body := h.send(wreq{path: "/webhooks/mail"}); code != http.StatusNotFound || !strings.Contains(body, "/webhooks/line") {
		t.Errorf("/webhooks/mail: %d %q", code, body)
	}
	if code, body := h.send(wreq{method: http.MethodGet, path: "/healthz"}); code != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	if code, _ := h.send(wreq{method: http.MethodDelete, path: "/webhooks/line"}); code != http.StatusMethodNotAllowed {
		t.Errorf("DELETE: %d", code)
	}
}

// Each endpoint that cannot verify its provider keeps the server from
// starting, with a message naming the channel and the missing option.
func TestServeRefusesWithoutSecrets(t *testing.T) {
	cfg := loadTestConfig(t, `
state_dir = "state"
[channels.sms]
backend = "twilio"
account_sid = "AC0123456789abcdef0123456789abcdef"
auth_token = "tok"
from = "+15550001111"
[channels.vsms]
backend = "vonage"
api_key = "k"
api_secret = "s"
from = "Acme"
[channels.wa]
backend = "whatsapp"
phone_number_id = "1"
token = "t"
[channels.tg]
backend = "telegram"
token = "1:a"
[channels.ln]
backend = "line"
token = "t"
`)
	_, err := NewServer(ServerOptions{Registry: testRegistry(), Config: cfg})
	var se *StartError
	if !errors.As(err, &se) {
		t.Fatalf("NewServer: %v, want a StartError", err)
	}
	for _, want := range []string{
		`channel "sms" (backend twilio): public_url is not set`,
		`channel "vsms" (backend vonage): signature_secret is not set in [channels.vsms]`,
		`channel "wa" (backend whatsapp): app_secret is not set in [channels.wa]`,
		`channel "tg" (backend telegram): secret_token is not set in [channels.tg]`,
		`channel "ln" (backend line): channel_secret is not set in [channels.ln]`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if len(se.Problems) != 5 {
		t.Errorf("%d problems, want 5", len(se.Problems))
	}

	// --insecure starts; Vonage then parses unsigned webhooks, and Twilio is
	// verified against the base URL the command passes (the listen address).
	srv, err := NewServer(ServerOptions{Registry: testRegistry(), Config: cfg, Insecure: true, BaseURL: "http://127.0.0.1:8025"})
	if err != nil {
		t.Fatalf("--insecure: %v", err)
	}
	p := vonageSMS("0B99", "393401234567", "ciao")
	r, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:8025/webhooks/vsms", strings.NewReader(p.Encode()))
	r.Header = formHeader()
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, r)
	if rec.Code != http.StatusOK {
		t.Errorf("unsigned Vonage webhook under --insecure: %d", rec.Code)
	}
	tp := twilioSMS("SMi1", "+6281234567890", "hi")
	r, _ = http.NewRequest(http.MethodPost, "http://127.0.0.1:8025/webhooks/sms", strings.NewReader(tp.Encode()))
	r.Header = formHeader()
	r.Header.Set("X-Twilio-Signature", twilioSign("tok", "http://127.0.0.1:8025/webhooks/sms", tp))
	rec = httptest.NewRecorder()
	srv.ServeHTTP(rec, r)
	if rec.Code != http.StatusOK {
		t.Errorf("Twilio under --insecure, signed for the listen address: %d", rec.Code)
	}
	// Telegram has nothing to verify with and still refuses.
	r, _ = http.NewRequest(http.MethodPost, "http://127.0.0.1:8025/webhooks/tg", strings.NewReader(tgMessage(1, 5, "hi")))
	rec = httptest.NewRecorder()
	srv.ServeHTTP(rec, r)
	if rec.Code != http.StatusForbidden {
		t.Errorf("Telegram without secret_token under --insecure: %d, want 403", rec.Code)
	}
}

// The index follows the journal as a concurrent `send` appends to it, and
// never reads a line that is still being written.
func TestServeSeesNewSends(t *testing.T) {
	h := newHarness(t, fullConfig, sends...)
	h.mustSend(telegramReq(telegramSecret, tgMessage(900001, 111222333, "hello?")))

	f, err := os.OpenFile(state.OpenFiles(h.state).JournalPath(), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	line := `{"time":"2026-11-23T11:00:00Z","campaign":"later","recipient":"c-077","channel":"telegram","address":"111222333","status":"sent","provider_id":"111222333:9"}` + "\n"
	half := len(line) / 2
	if _, err := f.WriteString(line[:half]); err != nil {
		t.Fatal(err)
	}
	h.mustSend(telegramReq(telegramSecret, tgMessage(900002, 111222333, "anyone?")))
	if _, err := f.WriteString(line[half:]); err != nil {
		t.Fatal(err)
	}
	h.mustSend(telegramReq(telegramSecret, tgMessage(900003, 111222333, "got it")))

	var got []string
	for _, r := range h.replies() {
		got = append(got, r.Text+"="+r.RecipientID+"/"+r.Campaign)
	}
	want := "hello?=/, anyone?=/, got it=c-077/later"
	if strings.Join(got, ", ") != want {
		t.Errorf("rows: %s\nwant: %s", strings.Join(got, ", "), want)
	}
}

// SIGTERM (a cancelled context) lets a request in flight finish, then
// Serve returns nil.
func TestServeGracefulShutdown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	entered, release := make(chan struct{}), make(chan struct{})
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		io.WriteString(w, "done")
	})
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, ln, slow, nil) }()
	got := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/")
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- string(b)
	}()
	<-entered
	cancel()
	time.Sleep(50 * time.Millisecond)
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Error("still accepting connections after shutdown began")
	}
	close(release)
	if body := <-got; body != "done" {
		t.Errorf("request in flight: %q", body)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
}
