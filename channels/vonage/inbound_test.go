package vonage

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"hash"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"herald/channels"
)

const (
	sigSecret = "sig-4b3a29180f1e2d3c"
	hookURL   = "https://notify.example.com/webhooks/vsms"
)

// webhookTime is the signed timestamp of the test webhooks.
var webhookTime = time.Date(2024, 5, 12, 9, 30, 0, 0, time.UTC)

func TestSignatureVector(t *testing.T) {
	// The SDK test vector quoted in PROVIDERS.md §2.
	got, err := Signature("md5hash", "secret", url.Values{"a": {"1"}, "b": {"2"}, "timestamp": {"1461605396"}})
	if err != nil || got != "6af838ef94998832dbfc29020b564830" {
		t.Errorf("md5hash vector: %s, %v", got, err)
	}
	// sig itself is never part of the signed string.
	got, _ = Signature("md5hash", "secret", url.Values{"a": {"1"}, "b": {"2"}, "timestamp": {"1461605396"}, "sig": {"x"}})
	if got != "6af838ef94998832dbfc29020b564830" {
		t.Errorf("sig included in its own signature: %s", got)
	}

	// HMAC variants over the documented string; '&' and '=' in values
	// become '_'.
	params := url.Values{"text": {"a=b&c"}, "msisdn": {"447700900001"}, "timestamp": {"1461605396"}}
	signed := "&msisdn=447700900001&text=a_b_c&timestamp=1461605396"
	for method, h := range map[string]func() hash.Hash{"md5": md5.New, "sha1": sha1.New, "sha256": sha256.New, "sha512": sha512.New} {
		mac := hmac.New(h, []byte("secret"))
		mac.Write([]byte(signed))
		if got, err := Signature(method, "secret", params); err != nil || got != hex.EncodeToString(mac.Sum(nil)) {
			t.Errorf("%s: %s, %v", method, got, err)
		}
	}
	sum := md5.Sum([]byte(signed + "secret"))
	if got, _ := Signature("md5hash", "secret", params); got != hex.EncodeToString(sum[:]) {
		t.Errorf("md5hash with escaped values: %s", got)
	}
}

// inboundParams is an inbound SMS as Vonage sends it, signed.
func inboundParams(method string) url.Values {
	p := url.Values{
		"msisdn": {"447700900001"}, "to": {"447700900000"}, "messageId": {"0A0000000123ABCD1"},
		"text": {"Hello & goodbye = STOP?"}, "type": {"text"}, "keyword": {"HELLO"}, "api-key": {testKey},
		"message-timestamp": {"2024-05-12 09:29:58"},
		"timestamp":         {strconv.FormatInt(webhookTime.Unix(), 10)},
		"nonce":             {"aaaaaaaa-bbbb-cccc-dddd-0123456789ab"},
	}
	sig, _ := Signature(method, sigSecret, p)
	p.Set("sig", sig)
	return p
}

func formPost(p url.Values) channels.InboundRequest {
	h := http.Header{}
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	return channels.InboundRequest{URL: hookURL, Method: http.MethodPost, Header: h, Body: []byte(p.Encode())}
}

func inboundSender(t *testing.T, method string) *sender {
	src := config + `signature_secret = "` + sigSecret + `"` + "\n"
	if method != "" {
		src += `signature_method = "` + method + `"` + "\n"
	}
	snd := newTestSender(t, src, nil)
	snd.now = func() time.Time { return webhookTime.Add(time.Minute) }
	return snd
}

func TestInboundSMS(t *testing.T) {
	snd := inboundSender(t, "")
	want := []channels.Inbound{{
		Kind: channels.InboundReply, Time: time.Date(2024, 5, 12, 9, 29, 58, 0, time.UTC),
		From: "+447700900001", To: "+447700900000", Text: "Hello & goodbye = STOP?", ProviderID: "0A0000000123ABCD1",
	}}
	p := inboundParams("md5hash")

	got, err := snd.ParseInbound(formPost(p))
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("form POST: %+v, %v\nwant %+v", got, err, want)
	}

	getURL := hookURL + "?" + p.Encode()
	got, err = snd.ParseInbound(channels.InboundRequest{URL: getURL, Method: http.MethodGet, Header: http.Header{}, Query: p})
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("GET: %+v, %v", got, err)
	}

	obj := map[string]string{}
	for k := range p {
		obj[k] = p.Get(k)
	}
	body, _ := json.Marshal(obj)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	got, err = snd.ParseInbound(channels.InboundRequest{URL: hookURL, Method: http.MethodPost, Header: h, Body: body})
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("JSON POST: %+v, %v", got, err)
	}

	// Vonage's examples show upper-case hex: compare case-insensitively.
	upper := inboundParams("md5hash")
	upper.Set("sig", strings.ToUpper(upper.Get("sig")))
	if _, err := snd.ParseInbound(formPost(upper)); err != nil {
		t.Errorf("upper-case sig: %v", err)
	}

	sha := inboundSender(t, "sha256")
	if _, err := sha.ParseInbound(formPost(inboundParams("sha256"))); err != nil {
		t.Errorf("sha256: %v", err)
	}
	if _, err := sha.ParseInbound(formPost(inboundParams("md5hash"))); !errors.Is(err, channels.ErrBadSignature) {
		t.Errorf("md5hash sig accepted by a sha256 channel: %v", err)
	}
}

func TestInboundRefusals(t *testing.T) {
	snd := inboundSender(t, "")
	bad := func(name string, req channels.InboundRequest) {
		t.Helper()
		_, err := snd.ParseInbound(req)
		if !errors.Is(err, channels.ErrBadSignature) {
			t.Errorf("%s: accepted or wrong error: %v", name, err)
		}
		if err != nil {
			assertNoSecret(t, name, err.Error())
		}
	}
	p := inboundParams("md5hash")
	p.Set("text", "Hello & goodbye = START?")
	bad("tampered text", formPost(p))

	p = inboundParams("md5hash")
	p.Del("sig")
	bad("unsigned", formPost(p))

	p = inboundParams("md5hash")
	p.Set("sig", strings.Repeat("0", 32))
	bad("wrong sig", formPost(p))

	p = inboundParams("md5hash")
	p.Del("timestamp")
	sig, _ := Signature("md5hash", sigSecret, p)
	p.Set("sig", sig)
	bad("no timestamp", formPost(p))

	wrongKey, _ := Signature("md5hash", "not-the-secret", inboundParams("md5hash"))
	p = inboundParams("md5hash")
	p.Set("sig", wrongKey)
	bad("other secret", formPost(p))

	// Freshness: the clock is the sender's, and 5 minutes either way pass.
	for offset, ok := range map[time.Duration]bool{
		-4*time.Minute - 59*time.Second: true, 5 * time.Minute: true,
		5*time.Minute + time.Second: false, -6 * time.Minute: false, 24 * time.Hour: false,
	} {
		snd.now = func() time.Time { return webhookTime.Add(offset) }
		_, err := snd.ParseInbound(formPost(inboundParams("md5hash")))
		if ok && err != nil {
			t.Errorf("now = timestamp%+v: refused: %v", offset, err)
		}
		if !ok && !errors.Is(err, channels.ErrBadSignature) {
			t.Errorf("now = timestamp%+v: replay accepted: %v", offset, err)
		}
	}

	// No signature_secret: refuse, saying why, unless the server chooses the
	// unverified path.
	open := newTestSender(t, config, nil)
	_, err := open.ParseInbound(formPost(inboundParams("md5hash")))
	if !errors.Is(err, channels.ErrNoSecret) || !errors.Is(err, channels.ErrBadSignature) || !strings.Contains(err.Error(), "signature_secret") {
		t.Errorf("without signature_secret: %v", err)
	}
	if got, err := open.ParseInboundUnverified(formPost(inboundParams("md5hash"))); err != nil || len(got) != 1 {
		t.Errorf("unverified: %+v, %v", got, err)
	}
}

func TestDeliveryReceipts(t *testing.T) {
	snd := inboundSender(t, "")
	dlr := func(status, errCode string) url.Values {
		p := url.Values{
			"msisdn": {"447700900000"}, "to": {"Acme"}, "network-code": {"23410"}, "messageId": {"0A0000000120ABCD1"},
			"price": {"0.03330000"}, "status": {status}, "scts": {"2405120931"}, "err-code": {errCode},
			"api-key": {testKey}, "client-ref": {"r42"}, "message-timestamp": {"2024-05-12 09:31:00"},
			"timestamp": {strconv.FormatInt(webhookTime.Unix(), 10)}, "nonce": {"11111111-2222-3333-4444-555555555555"},
		}
		sig, _ := Signature("md5hash", sigSecret, p)
		p.Set("sig", sig)
		return p
	}
	at := time.Date(2024, 5, 12, 9, 31, 0, 0, time.UTC)
	event := func(status, vonageStatus, errCode string) []channels.Inbound {
		return []channels.Inbound{{Kind: channels.InboundStatus, Time: at, From: "+447700900000", To: "Acme",
			ProviderID: "0A0000000120ABCD1/" + vonageStatus, StatusFor: "0A0000000120ABCD1", Status: status, Error: errCode}}
	}
	tests := []struct {
		status, errCode string
		want            []channels.Inbound
	}{
		{"delivered", "0", event("delivered", "delivered", "")},
		{"failed", "2", event("failed", "failed", "2")},
		{"rejected", "6", event("failed", "rejected", "6")},
		{"expired", "5", event("undelivered", "expired", "5")},
		{"accepted", "0", event("sent", "accepted", "")},
		{"buffered", "0", nil},
	}
	for _, tt := range tests {
		got, err := snd.ParseInbound(formPost(dlr(tt.status, tt.errCode)))
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %+v, %v\nwant %+v", tt.status, got, err, tt.want)
		}
	}
}
