package channeltest_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	"herald/channels"
	"herald/channels/channeltest"
	"herald/channels/email"
	"herald/channels/line"
)

// build makes a backend's sender from TOML options, pointed at apiURL.
func build(t *testing.T, b channels.Backend, apiURL, options string) channels.Sender {
	t.Helper()
	s, err := b.New(channels.Settings{
		Channel: "test", APIURL: apiURL, Concurrency: 4, Kind: b.Kind,
		Decode: func(v any) error { _, err := toml.Decode(options, v); return err },
	})
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := s.(channels.Closer); ok {
		t.Cleanup(func() { c.Close() })
	}
	return s
}

// post sends a hand-made request to a fake.
func post(t *testing.T, url, contentType, body string, hdr map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range hdr {
		if k == "basic" {
			u, p, _ := strings.Cut(v, ":")
			req.SetBasicAuth(u, p)
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestFakesRefuseWhatTheAPIRefuses checks the fakes' strictness with
// hand-made requests: each one is a mistake a backend could make.
func TestFakesRefuseWhatTheAPIRefuses(t *testing.T) {
	tw := channeltest.NewTwilio(t)
	twPath := tw.URL() + "/2010-04-01/Accounts/" + channeltest.TwilioAccountSID + "/Messages.json"
	twAuth := map[string]string{"basic": channeltest.TwilioAccountSID + ":" + channeltest.TwilioAuthToken}
	form := "application/x-www-form-urlencoded"
	wa := channeltest.NewWhatsApp(t)
	wa.ApproveTemplate("shipment_delay", 3, "en", "pt_BR")
	waPath := wa.URL() + "/v21.0/" + channeltest.WhatsAppPhoneNumberID + "/messages"
	waAuth := map[string]string{"Authorization": "Bearer " + channeltest.WhatsAppToken}
	tg := channeltest.NewTelegram(t)
	tgPath := tg.URL() + "/bot" + channeltest.TelegramToken + "/sendMessage"
	ln := channeltest.NewLINE(t)
	lnPath := ln.URL() + "/v2/bot/message/push"
	lnAuth := map[string]string{"Authorization": "Bearer " + channeltest.LINEToken}
	vo := channeltest.NewVonage(t)
	voPath := vo.URL() + "/sms/json"
	wh := channeltest.NewWebhook(t)
	whPath := wh.URL() + channeltest.WebhookPath
	whAuth := map[string]string{"Authorization": "Bearer " + channeltest.WebhookToken}
	creds := "api_key=" + channeltest.VonageAPIKey + "&api_secret=" + channeltest.VonageAPISecret + "&"
	tpl := func(lang string, params int) string {
		ps := strings.Repeat(`{"type":"text","text":"x"},`, params)
		return `{"messaging_product":"whatsapp","to":"15551234567","type":"template","template":{"name":"shipment_delay","language":` + lang +
			`,"components":[{"type":"body","parameters":[` + strings.TrimSuffix(ps, ",") + `]}]}}`
	}
	for _, c := range []struct {
		name       string
		url, ctype string
		body       string
		hdr        map[string]string
		status     int
		contains   string
	}{
		{"twilio ok", twPath, form, "To=%2B15551234567&From=%2B15550001111&Body=hi", twAuth, 201, `"status":"queued"`},
		{"twilio literal plus", twPath, form, "To=+15551234567&From=%2B15550001111&Body=hi", twAuth, 400, `"code":21211`},
		{"twilio json body", twPath, "application/json", `{"To":"+15551234567","From":"+15550001111","Body":"hi"}`, twAuth, 400, `"code":21604`},
		{"twilio wrong token", twPath, form, "To=%2B15551234567&From=%2B15550001111&Body=hi", map[string]string{"basic": channeltest.TwilioAccountSID + ":nope"}, 401, `"code":20003`},
		{"twilio wrong path", tw.URL() + "/2010-04-01/Accounts/" + channeltest.TwilioAccountSID + "/Messages", form, "To=%2B15551234567&From=%2B15550001111&Body=hi", twAuth, 404, `"code":20404`},
		{"twilio no body", twPath, form, "To=%2B15551234567&From=%2B15550001111", twAuth, 400, `"code":21602`},
		{"whatsapp ok", waPath, "application/json", tpl(`{"code":"pt_BR"}`, 3), waAuth, 200, `"wa_id":"15551234567"`},
		{"whatsapp language string", waPath, "application/json", tpl(`"pt_BR"`, 3), waAuth, 400, `"code":100`},
		{"whatsapp BCP 47 code", waPath, "application/json", tpl(`{"code":"pt-BR"}`, 3), waAuth, 404, `"code":132001`},
		{"whatsapp param count", waPath, "application/json", tpl(`{"code":"en"}`, 2), waAuth, 400, `"code":132000`},
		{"whatsapp bad token", waPath, "application/json", tpl(`{"code":"en"}`, 3), map[string]string{"Authorization": "Bearer x"}, 401, `"code":190`},
		{"whatsapp no product", waPath, "application/json", `{"to":"15551234567","type":"text","text":{"body":"hi"}}`, waAuth, 400, `"code":100`},
		{"telegram ok", tgPath, "application/json", `{"chat_id":42,"text":"a &lt; b"}`, nil, 200, `"ok":true`},
		{"telegram html unescaped", tgPath, "application/json", `{"chat_id":42,"text":"a < b","parse_mode":"HTML"}`, nil, 400, `can't parse entities`},
		{"telegram markdown dot", tgPath, "application/json", `{"chat_id":42,"text":"costs 5.00","parse_mode":"MarkdownV2"}`, nil, 400, `Character '.' is reserved`},
		{"telegram bad token", tg.URL() + "/bot1:x/sendMessage", "application/json", `{"chat_id":42,"text":"hi"}`, nil, 401, `"Unauthorized"`},
		{"telegram empty text", tgPath, "application/json", `{"chat_id":42,"text":""}`, nil, 400, `message text is empty`},
		{"line ok", lnPath, "application/json", `{"to":"U4af4980629a0b1c2d3e4f5a6b7c8d9e0","messages":[{"type":"text","text":"hi"}]}`, lnAuth, 200, `"sentMessages"`},
		{"line bad to", lnPath, "application/json", `{"to":"alice","messages":[{"type":"text","text":"hi"}]}`, lnAuth, 400, `'to'`},
		{"line retry key not uuid", lnPath, "application/json", `{"to":"U4af4980629a0b1c2d3e4f5a6b7c8d9e0","messages":[{"type":"text","text":"hi"}]}`, map[string]string{"Authorization": "Bearer " + channeltest.LINEToken, "X-Line-Retry-Key": "abc"}, 400, `X-Line-Retry-Key`},
		{"line no token", lnPath, "application/json", `{"to":"U4af4980629a0b1c2d3e4f5a6b7c8d9e0","messages":[{"type":"text","text":"hi"}]}`, nil, 401, `Authentication failed`},
		{"webhook ok", whPath, "application/json", `{"to":"device-7","text":"hi"}`, whAuth, 201, `"id":"msg-`},
		{"webhook wrong token", whPath, "application/json", `{"to":"device-7","text":"hi"}`, map[string]string{"Authorization": "Bearer x"}, 401, `"unauthorized"`},
		{"webhook form body", whPath, form, `to=device-7&text=hi`, whAuth, 415, `"unsupported_media_type"`},
		{"webhook no text", whPath, "application/json", `{"to":"device-7"}`, whAuth, 400, `"missing_field"`},
		{"vonage ok", voPath, form, creds + "from=Acme&to=447700900000&text=hi", nil, 200, `"status":"0"`},
		{"vonage plus", voPath, form, creds + "from=Acme&to=%2B447700900000&text=hi", nil, 200, `"status":"3"`},
		{"vonage bad secret", voPath, form, "api_key=" + channeltest.VonageAPIKey + "&api_secret=x&from=Acme&to=447700900000&text=hi", nil, 200, `"status":"4"`},
		{"vonage long text", voPath, form, creds + "from=Acme&to=447700900000&text=" + strings.Repeat("a", 200), nil, 200, `"message-count":"2"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, body := post(t, c.url, c.ctype, c.body, c.hdr)
			if status != c.status || !strings.Contains(body, c.contains) {
				t.Errorf("got %d %s\nwant %d with %s", status, body, c.status, c.contains)
			}
			if !json.Valid([]byte(body)) {
				t.Errorf("answer is not JSON: %s", body)
			}
		})
	}
}

// TestLINERetryKeyIsExecutedOnce: a second push with an accepted key is not
// executed and gets 409 with the accepted request's id, which the line
// backend reports as success.
func TestLINERetryKeyIsExecutedOnce(t *testing.T) {
	f := channeltest.NewLINE(t)
	s := build(t, line.Backend, f.URL(), `token = "`+channeltest.LINEToken+`"`)
	m := channels.Message{Campaign: "c", Recipient: "r1", To: "U4af4980629a0b1c2d3e4f5a6b7c8d9e0", Text: "hi"}
	for i := range 2 {
		if _, err := s.Send(context.Background(), m); err != nil {
			t.Fatalf("send %d: %v", i+1, err)
		}
	}
	reqs := f.Requests()
	if len(reqs) != 2 || reqs[0].Status != 200 || reqs[1].Status != 409 || f.Accepted() != 1 {
		t.Fatalf("statuses %d, %d, accepted %d; want 200, 409 and one accepted", reqs[0].Status, reqs[1].Status, f.Accepted())
	}
	if keys := f.RetryKeys(); keys[0] != keys[1] || keys[0] != channels.IdempotencyKey("c", "r1") {
		t.Errorf("retry keys %q, want both %s", keys, channels.IdempotencyKey("c", "r1"))
	}
}

// TestSMTPFake sends through herald's SMTP backend: messages arrive with
// the headers a receiver checks, a rejected recipient is a permanent error,
// and the session is reused.
func TestSMTPFake(t *testing.T) {
	f := channeltest.NewSMTP(t)
	f.Reject("gone@example.com")
	s := build(t, email.Backend, "", `url = "`+f.URL()+`"
from = "Acme Support <support@acme.example>"
reply_to = "replies@acme.example"`)
	m := channels.Message{Campaign: "c", Recipient: "r1", To: "chloe@example.fr", Name: "Chloé Dubois",
		Subject: "Votre commande est retardée", Text: "Bonjour,\n.une ligne avec un point\n",
		UnsubscribeURL: "https://notify.example.com/unsubscribe/tok"}
	rc, err := s.Send(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(rc.ProviderID, "4Q") {
		t.Errorf("provider id %q, want the queue id from the 250 reply", rc.ProviderID)
	}
	m2 := m
	m2.Recipient, m2.To = "r2", "gone@example.com"
	if _, err := s.Send(context.Background(), m2); !channels.IsPermanent(err) || !strings.Contains(err.Error(), "550") {
		t.Errorf("err = %v, want a permanent 550", err)
	}
	m3 := m
	m3.Recipient, m3.To = "r3", "other@example.com"
	if _, err := s.Send(context.Background(), m3); err != nil {
		t.Fatal(err)
	}
	msgs := f.Messages()
	if len(msgs) != 2 || f.Conns() != 1 {
		t.Fatalf("%d messages over %d connections, want 2 over 1", len(msgs), f.Conns())
	}
	got := msgs[0]
	if got.From != "support@acme.example" || got.To[0] != "chloe@example.fr" {
		t.Errorf("envelope %s -> %v", got.From, got.To)
	}
	if got.Header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" ||
		got.Header.Get("List-Unsubscribe") != "<https://notify.example.com/unsubscribe/tok>" {
		t.Errorf("unsubscribe headers %q / %q", got.Header.Get("List-Unsubscribe"), got.Header.Get("List-Unsubscribe-Post"))
	}
	if got.Header.Get("Message-Id") != rc.MessageID {
		t.Errorf("Message-ID %q, receipt says %q", got.Header.Get("Message-Id"), rc.MessageID)
	}
}
