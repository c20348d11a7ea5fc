package twilio_test

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"herald/channels"
	"herald/channels/twilio"
)

const hookURL = "https://notify.example.com/webhooks/sms"

func parser(t *testing.T, b channels.Backend, token string) channels.InboundParser {
	t.Helper()
	src := strings.Replace(smsConfig, testToken, token, 1)
	return newSender(t, b, src, nil).(channels.InboundParser)
}

// post builds a form POST webhook signed for signedURL with token.
func post(token, publicURL, signedURL string, params url.Values) channels.InboundRequest {
	h := http.Header{}
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	h.Set("X-Twilio-Signature", twilio.Signature(token, signedURL, params))
	return channels.InboundRequest{URL: publicURL, Method: http.MethodPost, Header: h, Body: []byte(params.Encode())}
}

// Twilio's documented example and the twilio-go test vector (PROVIDERS.md §1).
func TestSignatureVectors(t *testing.T) {
	u := "https://mycompany.com/myapp.php?foo=1&bar=2"
	params := url.Values{
		"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+12349013030"}, "Digits": {"1234"},
		"From": {"+12349013030"}, "To": {"+18005551212"},
	}
	if got := twilio.Signature("12345", u, params); got != "0/KCTR6DLpKmkAf8muzZqo1nDgQ=" {
		t.Errorf("docs example: %s", got)
	}
	params.Set("Caller", "+14158675309")
	params.Set("From", "+14158675309")
	if got := twilio.Signature("12345", u, params); got != "RSOYDt4T1cUTdK1PDd93/VVr8B8=" {
		t.Errorf("twilio-go vector: %s", got)
	}

	// The real request: ParseInbound accepts the signature (it then finds no
	// MessageSid, since this is a voice call, which is not a signature error).
	p := parser(t, twilio.Backend, "12345")
	req := post("12345", u, u, params)
	req.Header.Set("X-Twilio-Signature", "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
	_, err := p.ParseInbound(req)
	if err == nil || errors.Is(err, channels.ErrBadSignature) || !strings.Contains(err.Error(), "MessageSid") {
		t.Errorf("valid signature refused: %v", err)
	}
	req.Header.Set("X-Twilio-Signature", "0/KCTR6DLpKmkAf8muzZqo1nDgQ=") // right for other params
	if _, err := p.ParseInbound(req); !errors.Is(err, channels.ErrBadSignature) {
		t.Errorf("stale signature accepted: %v", err)
	}
}

// Sorting by name differs from sorting name+value when one name prefixes
// another: the docs' rule must win.
func TestSignatureSortsByName(t *testing.T) {
	params := url.Values{"To": {"whatsapp:+15551234567"}, "ToCity": {"Jakarta"}, "Media": {"b", "a"}}
	mac := hmac.New(sha1.New, []byte("12345"))
	mac.Write([]byte(hookURL + "MediaaMediab" + "Towhatsapp:+15551234567" + "ToCityJakarta"))
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if got := twilio.Signature("12345", hookURL, params); got != want {
		t.Errorf("Signature = %s, want %s (names sorted, repeated values sorted)", got, want)
	}
}

func TestInboundSignatureChecks(t *testing.T) {
	p := parser(t, twilio.Backend, testToken)
	params := url.Values{"MessageSid": {"SM1"}, "From": {"+15552229999"}, "To": {"+15550001111"}, "Body": {"STOP"}}

	ok := func(name string, req channels.InboundRequest) {
		t.Helper()
		if _, err := p.ParseInbound(req); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	bad := func(name string, req channels.InboundRequest) {
		t.Helper()
		_, err := p.ParseInbound(req)
		if !errors.Is(err, channels.ErrBadSignature) {
			t.Errorf("%s: accepted or wrong error: %v", name, err)
		}
		if err != nil {
			assertNoSecret(t, name, err.Error())
		}
	}

	ok("plain", post(testToken, hookURL, hookURL, params))
	ok("query in URL", post(testToken, hookURL+"?a=1&b=2", hookURL+"?a=1&b=2", params))
	// Port variants the SDKs accept.
	ok("signed with :443", post(testToken, hookURL, "https://notify.example.com:443/webhooks/sms", params))
	ok("signed without :443", post(testToken, "https://notify.example.com:443/webhooks/sms", hookURL, params))
	ok("signed without :8443", post(testToken, "https://notify.example.com:8443/webhooks/sms", hookURL, params))
	ok("http with :80", post(testToken, "http://notify.example.com/webhooks/sms", "http://notify.example.com:80/webhooks/sms", params))

	bad("other port", post(testToken, hookURL, "https://notify.example.com:8443/webhooks/sms", params))
	bad("wrong token", post("not-the-token", hookURL, hookURL, params))
	bad("other path", post(testToken, hookURL, "https://notify.example.com/webhooks/vsms", params))
	bad("query dropped", post(testToken, hookURL+"?a=1", hookURL, params))
	tampered := post(testToken, hookURL, hookURL, params)
	tampered.Body = []byte(strings.Replace(string(tampered.Body), "STOP", "HELLO", 1))
	bad("tampered body", tampered)
	extra := post(testToken, hookURL, hookURL, params)
	extra.Body = append(extra.Body, "&Injected=1"...)
	bad("extra parameter", extra)
	missing := post(testToken, hookURL, hookURL, params)
	missing.Header.Del("X-Twilio-Signature")
	bad("missing header", missing)
	bad("no public URL", post(testToken, "", hookURL, params))

	// GET webhooks: everything is in the signed URL.
	getURL := hookURL + "?" + params.Encode()
	get := channels.InboundRequest{URL: getURL, Method: http.MethodGet, Header: http.Header{}}
	get.Header.Set("X-Twilio-Signature", twilio.Signature(testToken, getURL, nil))
	ok("GET", get)
	get.URL = strings.Replace(getURL, "STOP", "HELLO", 1)
	bad("GET with changed query", get)

	// JSON bodies: the URL carries bodySHA256 and the body is not appended.
	body := []byte(`{"MessageSid":"SM2","From":"+15552229999","To":"+15550001111","Body":"hi"}`)
	sum := sha256.Sum256(body)
	jsonURL := hookURL + "?bodySHA256=" + hex.EncodeToString(sum[:])
	js := channels.InboundRequest{URL: jsonURL, Method: http.MethodPost, Header: http.Header{}, Body: body}
	js.Header.Set("Content-Type", "application/json; charset=utf-8")
	js.Header.Set("X-Twilio-Signature", twilio.Signature(testToken, jsonURL, nil))
	events, err := p.ParseInbound(js)
	if err != nil || len(events) != 1 || events[0].Text != "hi" || events[0].ProviderID != "SM2" {
		t.Errorf("JSON webhook: %+v, %v", events, err)
	}
	js.Body = []byte(strings.Replace(string(body), "hi", "ho", 1))
	bad("JSON body not matching bodySHA256", js)
}

func TestInboundParse(t *testing.T) {
	sms := parser(t, twilio.Backend, testToken)
	wa := parser(t, twilio.WhatsAppBackend, testToken)
	tests := []struct {
		name   string
		p      channels.InboundParser
		params url.Values
		want   []channels.Inbound
	}{
		{"SMS reply", sms, url.Values{
			"MessageSid": {"SM9a"}, "SmsSid": {"SM9a"}, "AccountSid": {testSID}, "From": {"+15552229999"},
			"To": {"+15550001111"}, "Body": {"Can I change the address?"}, "NumMedia": {"0"}, "NumSegments": {"1"},
			"FromCity": {"SAN FRANCISCO"}, "FromCountry": {"US"}, "SmsStatus": {"received"}, "ApiVersion": {"2010-04-01"},
		}, []channels.Inbound{{Kind: channels.InboundReply, From: "+15552229999", To: "+15550001111",
			Text: "Can I change the address?", ProviderID: "SM9a"}}},
		{"WhatsApp reply", wa, url.Values{
			"MessageSid": {"SMwa"}, "From": {"whatsapp:+6281234567890"}, "To": {"whatsapp:+14155238886"},
			"Body": {"Terima kasih"}, "ProfileName": {"Budi"}, "WaId": {"6281234567890"},
		}, []channels.Inbound{{Kind: channels.InboundReply, From: "+6281234567890", To: "+14155238886",
			Text: "Terima kasih", ProviderID: "SMwa"}}},
		{"Advanced Opt-Out STOP", sms, url.Values{
			"MessageSid": {"SMstop"}, "From": {"+15552229999"}, "To": {"+15550001111"}, "Body": {"BAJA"}, "OptOutType": {"STOP"},
		}, []channels.Inbound{{Kind: channels.InboundOptOut, From: "+15552229999", To: "+15550001111",
			Text: "BAJA", ProviderID: "SMstop"}}},
		{"Advanced Opt-Out HELP stays a reply", sms, url.Values{
			"MessageSid": {"SMhelp"}, "From": {"+15552229999"}, "To": {"+15550001111"}, "Body": {"HELP"}, "OptOutType": {"HELP"},
		}, []channels.Inbound{{Kind: channels.InboundReply, From: "+15552229999", To: "+15550001111",
			Text: "HELP", ProviderID: "SMhelp"}}},
		{"delivered", sms, url.Values{
			"MessageSid": {"SM3d"}, "SmsSid": {"SM3d"}, "MessageStatus": {"delivered"}, "SmsStatus": {"delivered"},
			"To": {"+15552229999"}, "From": {"+15550001111"}, "AccountSid": {testSID}, "ApiVersion": {"2010-04-01"},
		}, []channels.Inbound{{Kind: channels.InboundStatus, From: "+15552229999", To: "+15550001111",
			ProviderID: "SM3d/delivered", StatusFor: "SM3d", Status: "delivered"}}},
		{"undelivered with code", sms, url.Values{
			"MessageSid": {"SM3d"}, "MessageStatus": {"undelivered"}, "ErrorCode": {"30003"},
			"To": {"+15552229999"}, "From": {"+15550001111"},
		}, []channels.Inbound{{Kind: channels.InboundStatus, From: "+15552229999", To: "+15550001111",
			ProviderID: "SM3d/undelivered", StatusFor: "SM3d", Status: "undelivered", Error: "30003"}}},
		{"WhatsApp read", wa, url.Values{
			"MessageSid": {"SMwa"}, "MessageStatus": {"read"}, "To": {"whatsapp:+6281234567890"}, "From": {"whatsapp:+14155238886"},
		}, []channels.Inbound{{Kind: channels.InboundStatus, From: "+6281234567890", To: "+14155238886",
			ProviderID: "SMwa/read", StatusFor: "SMwa", Status: "read"}}},
		{"queued is not reported", sms, url.Values{"MessageSid": {"SM3d"}, "MessageStatus": {"queued"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.p.ParseInbound(post(testToken, hookURL, hookURL, tt.params))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}

	_, err := sms.ParseInbound(post(testToken, hookURL, hookURL, url.Values{"Body": {"no sid"}}))
	if err == nil || errors.Is(err, channels.ErrBadSignature) {
		t.Errorf("webhook without MessageSid: %v", err)
	}
	assertNoSecret(t, "error", fmt.Sprint(err))
}

// Verifying reuses keyed HMACs across requests: concurrent webhooks to two
// channels with different auth tokens each verify with their own token.
func TestInboundConcurrentChannels(t *testing.T) {
	const otherToken = "0123456789abcdef0123456789abcdef"
	a := parser(t, twilio.Backend, testToken)
	b := parser(t, twilio.Backend, otherToken)
	done := make(chan error)
	for w := range 8 {
		go func() {
			for i := range 200 {
				params := url.Values{"MessageSid": {fmt.Sprintf("SM%d-%d", w, i)}, "From": {"+15552229999"}, "Body": {"hi"}}
				var err error
				switch {
				case i%2 == 0:
					_, err = a.ParseInbound(post(testToken, hookURL, hookURL, params))
				case i%4 == 1:
					_, err = b.ParseInbound(post(otherToken, hookURL, hookURL, params))
				default:
					if _, e := b.ParseInbound(post(testToken, hookURL, hookURL, params)); !errors.Is(e, channels.ErrBadSignature) {
						err = fmt.Errorf("a request signed with another channel's token: %v", e)
					}
				}
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
