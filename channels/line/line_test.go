package line

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"herald/channels"
	"herald/channels/channeltest"
)

const (
	token         = "lineChannelAccessToken+abc/def=="
	channelSecret = "8c570fa6dd201bb328f1c1eac23a96d8"
	userID        = "U4af4980629a0f8f6b2bb6a1c3f3b2c71"
)

func settings(src, apiURL string) channels.Settings {
	return channeltest.Settings("line", src, apiURL)
}

func newSender(t testing.TB, apiURL string) *Sender {
	t.Helper()
	s, err := New(settings(`token = "`+token+`"`+"\n"+`channel_secret = "`+channelSecret+`"`, apiURL))
	if err != nil {
		t.Fatal(err)
	}
	return s.(*Sender)
}

func noSecret(t *testing.T, s string) {
	t.Helper()
	for _, sec := range []string{token, channelSecret} {
		if strings.Contains(s, sec) {
			t.Errorf("secret leaked in %q", s)
		}
	}
}

func TestConformance(t *testing.T) {
	opts := `token = "` + channeltest.LINEToken + `"` + "\n" + `channel_secret = "` + channelSecret + `"`
	channeltest.Run(t, channeltest.Subject{
		Backend: Backend, Options: opts, WrongCredentials: strings.Replace(opts, channeltest.LINEToken, "wrong-token", 1),
		Message: channels.Message{Campaign: "c", Recipient: "r1", To: userID, Text: "ご注文 C-3001 は遅れています",
			IdempotencyKey: channels.IdempotencyKey("c", "r1")},
		Secrets: []string{channeltest.LINEToken, channelSecret}, RetryAfter: true,
		CheckRequest: func(t *testing.T, r channeltest.Request) {
			want := `{"to":"` + userID + `","messages":[{"type":"text","text":"ご注文 C-3001 は遅れています"}]}`
			if r.Method != http.MethodPost || r.Path != "/v2/bot/message/push" || string(r.Body) != want {
				t.Errorf("request %s %s %s\nwant POST /v2/bot/message/push %s", r.Method, r.Path, r.Body, want)
			}
			if k := r.Header.Get("X-Line-Retry-Key"); k != channels.IdempotencyKey("c", "r1") {
				t.Errorf("X-Line-Retry-Key %q", k)
			}
			if r.Header.Get("Authorization") != "Bearer "+channeltest.LINEToken || r.Header.Get("Content-Type") != "application/json" {
				t.Errorf("headers %v", r.Header)
			}
		},
	}, func(t testing.TB) channeltest.Fake { return channeltest.NewLINE(t) })
}

// fakeSender is a sender with the fake's token, pointed at the fake.
func fakeSender(t testing.TB, f *channeltest.LINE) *Sender {
	t.Helper()
	s, err := New(settings(`token = "`+channeltest.LINEToken+`"`, f.URL()))
	if err != nil {
		t.Fatal(err)
	}
	return s.(*Sender)
}

// sentID is the id of the first message in an answer's sentMessages.
func sentID(t *testing.T, answer []byte) string {
	t.Helper()
	var r response
	if err := json.Unmarshal(answer, &r); err != nil || len(r.SentMessages) == 0 {
		t.Fatalf("answer %s has no sentMessages", answer)
	}
	return r.SentMessages[0].ID
}

func TestSend(t *testing.T) {
	f := channeltest.NewLINE(t)
	s := fakeSender(t, f)
	m := channels.Message{Campaign: "delay", Recipient: "r42", To: userID, Text: "お届けが遅れています <A-17> & more"}
	rc, err := s.Send(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	reqs := f.Requests()
	if rc.ProviderID != sentID(t, reqs[0].Answer) {
		t.Errorf("ProviderID = %q", rc.ProviderID)
	}
	if want := `{"to":"` + userID + `","messages":[{"type":"text","text":"お届けが遅れています <A-17> & more"}]}`; string(reqs[0].Body) != want {
		t.Errorf("body = %s\nwant %s", reqs[0].Body, want)
	}
	// With no IdempotencyKey the key is derived from campaign and recipient.
	m.IdempotencyKey = "0F8FAD5B-D9CB-469F-A165-70867728950E"
	if _, err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if keys := f.RetryKeys(); keys[0] != channels.IdempotencyKey("delay", "r42") || keys[1] != "0f8fad5b-d9cb-469f-a165-70867728950e" {
		t.Errorf("retry keys %q", keys)
	}
}

// A 500 after LINE stored the push: the retry reuses the key, LINE answers
// 409, and the message counts as sent once, with the first push's id.
func TestRetryAfter500ReusesTheRetryKey(t *testing.T) {
	f := channeltest.NewLINE(t)
	f.FailAfterStoring(1, 500)
	retryUnknown, _ := channels.RetryUnknown(fakeSender(t, f), "")
	policy := channels.RetryPolicy{Attempts: 3, RetryUnknown: retryUnknown, Sleep: func(context.Context, time.Duration) error { return nil }}
	s := channels.WithRetry(fakeSender(t, f), policy, nil)
	key := channels.IdempotencyKey("delay", "r42")
	rc, err := s.Send(context.Background(), channels.Message{To: userID, Text: "hi", IdempotencyKey: key})
	if err != nil {
		t.Fatalf("rc = %+v err = %v", rc, err)
	}
	reqs := f.Requests()
	if len(reqs) != 2 || reqs[1].Status != http.StatusConflict || f.Accepted() != 1 {
		t.Fatalf("%d requests, accepted %d; want a 409 for the retry and one message", len(reqs), f.Accepted())
	}
	if rc.ProviderID != sentID(t, reqs[1].Answer) {
		t.Errorf("ProviderID %q, want the stored message's id", rc.ProviderID)
	}
	if keys := f.RetryKeys(); !reflect.DeepEqual(keys, []string{key, key}) {
		t.Errorf("keys = %v, want the same key twice", keys)
	}
}

// LINE accepts the push but the connection closes before the answer; the
// retry with the same key gets 409 and counts as sent.
func TestConflictAfterLostAnswerCountsAsSent(t *testing.T) {
	f := channeltest.NewLINE(t)
	f.HangUp(1)
	var retries []channels.Attempt
	policy := channels.RetryPolicy{Attempts: 3, RetryUnknown: true, Sleep: func(context.Context, time.Duration) error { return nil }}
	s := channels.WithRetry(fakeSender(t, f), policy, func(_ channels.Message, a channels.Attempt) { retries = append(retries, a) })
	rc, err := s.Send(context.Background(), channels.Message{Campaign: "c", Recipient: "r", To: userID, Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	if rc.ProviderID == "" || len(retries) != 1 || f.Accepted() != 1 {
		t.Fatalf("rc = %+v, retries = %v, accepted = %d", rc, retries, f.Accepted())
	}
	if channels.ClassOf(retries[0].Err) != channels.Unknown {
		t.Errorf("the lost answer was %v, want Unknown", retries[0].Err)
	}
	noSecret(t, retries[0].Err.Error())
}

func TestConflictWithoutBodyUsesAcceptedRequestID(t *testing.T) {
	f := channeltest.NewLINE(t)
	f.RespondWith(http.StatusConflict, map[string]string{"Content-Type": "application/json",
		"X-Line-Accepted-Request-Id": "c7f4a1e0-1b2c-4d5e-8f90-abcdef012345"}, `{"message":"The retry key is already accepted"}`)
	rc, err := fakeSender(t, f).Send(context.Background(), channels.Message{To: userID, Text: "hi"})
	if err != nil || rc.ProviderID != "c7f4a1e0-1b2c-4d5e-8f90-abcdef012345" {
		t.Errorf("rc = %+v err = %v", rc, err)
	}
}

func TestSendErrors(t *testing.T) {
	for _, c := range []struct {
		name  string
		arm   func(f *channeltest.LINE)
		to    string
		class channels.Class
		wait  time.Duration
		want  string
	}{
		{"invalid recipient", nil, "alice", channels.Permanent, 0,
			"line: HTTP 400: The property, 'to', in the request body is invalid (line: -, column: -)"},
		{"refused recipient", func(f *channeltest.LINE) { f.FailAddress(userID) }, userID, channels.Permanent, 0,
			"line: HTTP 400: Failed to send messages"},
		{"bad token", func(f *channeltest.LINE) {
			f.Respond(401, "application/json", `{"message":"Authentication failed. Confirm that the access token in the authorization header is valid."}`)
		}, userID, channels.Channel, 0,
			"line: HTTP 401: Authentication failed. Confirm that the access token in the authorization header is valid."},
		{"no permission", func(f *channeltest.LINE) { f.RefuseAccount(1) }, userID, channels.Channel, 0,
			"line: HTTP 403: Access to this API is not available for your account"},
		{"rate limit", func(f *channeltest.LINE) { f.Throttle(1, 2) }, userID, channels.Temporary, 2 * time.Second,
			"line: HTTP 429: The API rate limit has been exceeded. Try again later."},
		{"bad gateway", func(f *channeltest.LINE) { f.Respond(502, "application/json", `{"message":"Bad gateway"}`) }, userID,
			channels.Unknown, 0, "line: HTTP 502: Bad gateway"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := channeltest.NewLINE(t)
			if c.arm != nil {
				c.arm(f)
			}
			_, err := fakeSender(t, f).Send(context.Background(), channels.Message{To: c.to, Text: "hi"})
			if err == nil || err.Error() != c.want || channels.ClassOf(err) != c.class || channels.RetryAfter(err) != c.wait {
				t.Fatalf("err = %v (class %s, wait %v)", err, channels.ClassOf(err), channels.RetryAfter(err))
			}
			noSecret(t, err.Error())
		})
	}
}

func TestRefusedBeforeSending(t *testing.T) {
	f := channeltest.NewLINE(t)
	s := fakeSender(t, f)
	for name, m := range map[string]channels.Message{
		"too long":     {To: userID, Text: strings.Repeat("😀", MaxTextLength/2+1)},
		"empty":        {To: userID, Text: " "},
		"no recipient": {Text: "hi"},
		"bad key":      {To: userID, Text: "hi", IdempotencyKey: "delay/r42"},
	} {
		_, err := s.Send(context.Background(), m)
		if err == nil || !channels.IsPermanent(err) || !strings.HasPrefix(err.Error(), "line: ") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	if n := f.Count(); n != 0 {
		t.Errorf("%d requests sent", n)
	}
	if _, err := s.Send(context.Background(), channels.Message{To: userID, Text: strings.Repeat("あ", MaxTextLength)}); err != nil {
		t.Errorf("5000 characters refused: %v", err)
	}
	ps := s.Check(channels.Message{To: "alice", Text: "hi"})
	if len(ps) != 1 || ps[0].Severity != "warning" {
		t.Errorf("Check = %+v", ps)
	}
}

func TestNetworkErrorAndEncodeHideSecrets(t *testing.T) {
	f := channeltest.NewLINE(t)
	addr := f.URL()
	f.Close()
	s := newSender(t, addr)
	_, err := s.Send(context.Background(), channels.Message{To: userID, Text: "hi"})
	if channels.ClassOf(err) != channels.Temporary || !strings.HasPrefix(err.Error(), "line: sending failed: ") {
		t.Fatalf("err = %v, want a temporary failure", err)
	}
	noSecret(t, err.Error())
	b, ext, err := s.Encode(channels.Message{To: userID, Text: "a & b"})
	if err != nil || ext != "json" || string(b) != `{"to":"`+userID+`","messages":[{"type":"text","text":"a & b"}]}` {
		t.Errorf("Encode = %s %q %v", b, ext, err)
	}
	noSecret(t, fmt.Sprintf("%s %v %+v %#v", b, s, s, s))
}

func TestNew(t *testing.T) {
	if _, err := New(settings(``, "")); err == nil || !strings.Contains(err.Error(), "token is required") {
		t.Errorf("err = %v", err)
	}
	if _, err := New(settings(`token = "${LINE_UNSET_VAR}"`, "")); err == nil || !strings.Contains(err.Error(), "LINE_UNSET_VAR is not set") {
		t.Errorf("err = %v", err)
	}
	if _, err := New(settings(`token = "x"`, "127.0.0.1:9000")); err == nil || !strings.Contains(err.Error(), "api_url") {
		t.Errorf("err = %v", err)
	}
	s, err := New(settings(`token = "x"`, ""))
	if err != nil || s.(*Sender).endpoint != "https://api.line.me/v2/bot/message/push" {
		t.Errorf("s = %v err = %v", s, err)
	}
}

func TestSignatureVector(t *testing.T) {
	if got := Signature("SECRET", []byte("{}")); got != "3q8QXTAGaey18yL8FWTqdVlbMr6hcuNvM4tefa0o9nA=" {
		t.Errorf("Signature = %s", got)
	}
}

const webhookBody = `{"destination":"Uxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx","events":[
 {"type":"message","mode":"active","timestamp":1462629479859,"webhookEventId":"01FZ74A0TDDPYRVKNK77XKC3ZR","deliveryContext":{"isRedelivery":false},
  "source":{"type":"user","userId":"` + userID + `"},"replyToken":"nHuyWiB7yP5Zw52FIkcQobQuGDXCTA",
  "message":{"type":"text","id":"444573844083572737","text":"配信停止","quoteToken":"q3Plxr4AgKd...","quotedMessageId":"468789577898262530"}},
 {"type":"follow","mode":"active","timestamp":1462629479860,"webhookEventId":"01FZ74A0TDDPYRVKNK77XKC3ZS","source":{"type":"user","userId":"` + userID + `"}},
 {"type":"message","mode":"active","timestamp":1462629479861,"webhookEventId":"01FZ74A0TDDPYRVKNK77XKC3ZT","source":{"type":"group","groupId":"Ca56f94637c0a0f8f6b2bb6a1c3f3b2c7","userId":"` + userID + `"},
  "message":{"type":"sticker","id":"1501597916","packageId":"446","stickerId":"1988"}},
 {"type":"unfollow","mode":"active","timestamp":1462629479862,"webhookEventId":"01FZ74A0TDDPYRVKNK77XKC3ZU","source":{"type":"user","userId":"` + userID + `"}}]}`

func TestParseInbound(t *testing.T) {
	s := newSender(t, "")
	body := []byte(webhookBody)
	got, err := s.ParseInbound(channels.InboundRequest{Method: "POST", Body: body, Header: http.Header{"X-Line-Signature": {Signature(channelSecret, body)}}})
	if err != nil {
		t.Fatal(err)
	}
	dest := "Uxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	want := []channels.Inbound{
		{Kind: channels.InboundReply, Time: time.UnixMilli(1462629479859).UTC(), From: userID, To: dest, Text: "配信停止", ProviderID: "01FZ74A0TDDPYRVKNK77XKC3ZR", InReplyTo: "468789577898262530"},
		{Kind: channels.InboundReply, Time: time.UnixMilli(1462629479861).UTC(), From: "Ca56f94637c0a0f8f6b2bb6a1c3f3b2c7", To: dest, ProviderID: "01FZ74A0TDDPYRVKNK77XKC3ZT"},
		{Kind: channels.InboundOptOut, Time: time.UnixMilli(1462629479862).UTC(), From: userID, To: dest, ProviderID: "01FZ74A0TDDPYRVKNK77XKC3ZU"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}

	empty := []byte(`{"destination":"` + dest + `","events":[]}`)
	got, err = s.ParseInbound(channels.InboundRequest{Body: empty, Header: http.Header{"X-Line-Signature": {Signature(channelSecret, empty)}}})
	if err != nil || len(got) != 0 {
		t.Errorf("connectivity check: %v %v", got, err)
	}
}

func TestParseInboundRejectsBadSignatures(t *testing.T) {
	s := newSender(t, "")
	body := []byte(webhookBody)
	for name, sig := range map[string]string{
		"missing":      "",
		"wrong secret": Signature("other", body),
		"token as key": Signature(token, body),
		"not base64":   "!!!",
		"other body":   Signature(channelSecret, []byte("{}")),
		"hex not b64":  fmt.Sprintf("%x", Signature(channelSecret, body)),
	} {
		_, err := s.ParseInbound(channels.InboundRequest{Body: body, Header: http.Header{"X-Line-Signature": {sig}}})
		if !errors.Is(err, channels.ErrBadSignature) {
			t.Errorf("%s: err = %v", name, err)
		}
		if err != nil {
			noSecret(t, err.Error())
		}
	}
	noSecretCfg, _ := New(settings(`token = "t"`, ""))
	if _, err := noSecretCfg.(channels.InboundParser).ParseInbound(channels.InboundRequest{Body: body, Header: http.Header{"X-Line-Signature": {Signature("", body)}}}); !errors.Is(err, channels.ErrBadSignature) {
		t.Errorf("without channel_secret: %v", err)
	}
}

func BenchmarkSend(b *testing.B) {
	f := channeltest.NewLINE(b)
	f.Discard()
	s := fakeSender(b, f)
	var n atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			// A new recipient each time: a repeated retry key would only
			// measure LINE's 409.
			m := channels.Message{Campaign: "delay", Recipient: fmt.Sprint(n.Add(1)), To: userID,
				Text: "お届けが遅れています。ご注文 A-17 は 2026年11月23日 に到着予定です。"}
			if _, err := s.Send(context.Background(), m); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(f.Conns()), "conns")
}
