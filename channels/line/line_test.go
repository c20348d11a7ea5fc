package line

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

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

// fakeLINE is the push endpoint: it validates the request as LINE does,
// executes each retry key once and answers repeats with 409. before, when
// set, may answer first (return true) to inject failures; accepted-but-lost
// answers are simulated with lose.
type fakeLINE struct {
	mu       sync.Mutex
	accepted map[string]string // retry key -> sent message id
	keys     []string          // the X-Line-Retry-Key of every request
	bodies   []map[string]any
	calls    atomic.Int32
	before   func(w http.ResponseWriter, n int) bool
	lose     func(n int) bool // accept, then drop the connection without answering
	discard  bool
}

func lineError(w http.ResponseWriter, status int, msg string, details ...string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Line-Request-Id", "req-err")
	w.WriteHeader(status)
	var ds []string
	for i := 0; i+1 < len(details); i += 2 {
		ds = append(ds, fmt.Sprintf(`{"message":%q,"property":%q}`, details[i], details[i+1]))
	}
	if len(ds) > 0 {
		fmt.Fprintf(w, `{"message":%q,"details":[%s]}`, msg, strings.Join(ds, ","))
		return
	}
	fmt.Fprintf(w, `{"message":%q}`, msg)
}

func (f *fakeLINE) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := int(f.calls.Add(1))
	if r.Method != http.MethodPost || r.URL.Path != "/v2/bot/message/push" {
		lineError(w, 404, "Not found")
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+token {
		lineError(w, 401, "Authentication failed. Confirm that the access token in the authorization header is valid.")
		return
	}
	if r.Header.Get("Content-Type") != "application/json" {
		lineError(w, 415, "Unsupported Media Type")
		return
	}
	key := r.Header.Get("X-Line-Retry-Key")
	if _, err := uuid.Parse(key); err != nil || len(key) != 36 {
		lineError(w, 400, "The value for the 'X-Line-Retry-Key' header is invalid")
		return
	}
	if !f.discard {
		f.mu.Lock()
		f.keys = append(f.keys, key)
		f.mu.Unlock()
	}
	if f.before != nil && f.before(w, n) {
		return
	}
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		lineError(w, 400, "The request body has 1 error(s)", "Invalid JSON", "")
		return
	}
	if msg, prop := validate(body); msg != "" {
		lineError(w, 400, "The request body has 1 error(s)", msg, prop)
		return
	}
	if !f.discard {
		f.mu.Lock()
		f.bodies = append(f.bodies, body)
		f.mu.Unlock()
	}
	f.mu.Lock()
	if f.accepted == nil {
		f.accepted = map[string]string{}
	}
	id, seen := f.accepted[key]
	if !seen && !f.discard {
		id = fmt.Sprintf("48178904873%d", len(f.accepted)+1)
		f.accepted[key] = id
	}
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if seen {
		w.Header().Set("X-Line-Accepted-Request-Id", "req-accepted-"+id)
		w.WriteHeader(http.StatusConflict)
		fmt.Fprintf(w, `{"message":"The retry key is already accepted","sentMessages":[{"id":%q,"quoteToken":"q"}]}`, id)
		return
	}
	if f.lose != nil && f.lose(n) {
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close()
		return
	}
	w.Header().Set("X-Line-Request-Id", "req-ok")
	fmt.Fprintf(w, `{"sentMessages":[{"id":%q,"quoteToken":"IStG5h1Tz7b..."}]}`, id)
}

func validate(b map[string]any) (string, string) {
	for k := range b {
		if k != "to" && k != "messages" && k != "notificationDisabled" && k != "customAggregationUnits" {
			return "Unrecognized field", k
		}
	}
	if to, ok := b["to"].(string); !ok || to == "" {
		return "May not be empty", "to"
	}
	msgs, ok := b["messages"].([]any)
	if !ok || len(msgs) < 1 || len(msgs) > 5 {
		return "Size must be between 1 and 5", "messages"
	}
	for i, m := range msgs {
		mm, _ := m.(map[string]any)
		if mm["type"] != "text" {
			return "Must be one of the following values: [text, ...]", fmt.Sprintf("messages[%d].type", i)
		}
		if len(mm) != 2 {
			return "Unrecognized field", fmt.Sprintf("messages[%d]", i)
		}
		if s, ok := mm["text"].(string); !ok || s == "" || len(s) > 5000*4 {
			return "May not be empty", fmt.Sprintf("messages[%d].text", i)
		}
	}
	return "", ""
}

func TestSend(t *testing.T) {
	f := &fakeLINE{}
	srv := httptest.NewServer(f)
	defer srv.Close()
	s := newSender(t, srv.URL)
	m := channels.Message{Campaign: "delay", Recipient: "r42", To: userID, Text: "お届けが遅れています <A-17> & more"}
	rc, err := s.Send(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	if rc.ProviderID != "481789048731" {
		t.Errorf("ProviderID = %q", rc.ProviderID)
	}
	var want map[string]any
	_ = json.Unmarshal([]byte(`{"to":"`+userID+`","messages":[{"type":"text","text":"お届けが遅れています <A-17> & more"}]}`), &want)
	if !reflect.DeepEqual(f.bodies[0], want) {
		t.Errorf("body = %v\nwant %v", f.bodies[0], want)
	}
	// With no IdempotencyKey the key is derived from campaign and recipient.
	if f.keys[0] != channels.IdempotencyKey("delay", "r42") {
		t.Errorf("retry key %q", f.keys[0])
	}
	m.IdempotencyKey = "0F8FAD5B-D9CB-469F-A165-70867728950E"
	if _, err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if f.keys[1] != "0f8fad5b-d9cb-469f-a165-70867728950e" {
		t.Errorf("retry key %q", f.keys[1])
	}
}

func TestRetryAfter500ReusesTheRetryKey(t *testing.T) {
	f := &fakeLINE{before: func(w http.ResponseWriter, n int) bool {
		if n == 1 {
			lineError(w, 500, "Internal server error")
			return true
		}
		return false
	}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	policy := channels.RetryPolicy{Attempts: 3, Sleep: func(context.Context, time.Duration) error { return nil }}
	s := channels.WithRetry(newSender(t, srv.URL), policy, nil)
	key := channels.IdempotencyKey("delay", "r42")
	rc, err := s.Send(context.Background(), channels.Message{To: userID, Text: "hi", IdempotencyKey: key})
	if err != nil || rc.ProviderID != "481789048731" {
		t.Fatalf("rc = %+v err = %v", rc, err)
	}
	if !reflect.DeepEqual(f.keys, []string{key, key}) {
		t.Errorf("keys = %v, want the same key twice", f.keys)
	}
}

func TestConflictAfterLostAnswerCountsAsSent(t *testing.T) {
	// LINE accepts the push but the answer is lost; the retry with the same
	// key gets 409 and must count as sent, with the first message's id.
	f := &fakeLINE{lose: func(n int) bool { return n == 1 }}
	srv := httptest.NewServer(f)
	defer srv.Close()
	var retries []channels.Attempt
	policy := channels.RetryPolicy{Attempts: 3, Sleep: func(context.Context, time.Duration) error { return nil }}
	s := channels.WithRetry(newSender(t, srv.URL), policy, func(_ channels.Message, a channels.Attempt) { retries = append(retries, a) })
	rc, err := s.Send(context.Background(), channels.Message{Campaign: "c", Recipient: "r", To: userID, Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	if rc.ProviderID != "481789048731" || len(retries) != 1 || len(f.accepted) != 1 {
		t.Errorf("rc = %+v, retries = %v, accepted = %v", rc, retries, f.accepted)
	}
	noSecret(t, retries[0].Err.Error())
}

func TestConflictWithoutBodyUsesAcceptedRequestID(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Line-Accepted-Request-Id", "c7f4a1e0-1b2c-4d5e-8f90-abcdef012345")
		w.WriteHeader(http.StatusConflict)
		fmt.Fprint(w, `{"message":"The retry key is already accepted"}`)
	}))
	defer srv.Close()
	rc, err := newSender(t, srv.URL).Send(context.Background(), channels.Message{To: userID, Text: "hi"})
	if err != nil || rc.ProviderID != "c7f4a1e0-1b2c-4d5e-8f90-abcdef012345" {
		t.Errorf("rc = %+v err = %v", rc, err)
	}
}

func TestSendErrors(t *testing.T) {
	for _, c := range []struct {
		status     int
		msg        string
		details    []string
		retryAfter string
		permanent  bool
		wait       time.Duration
		want       string
	}{
		{400, "The request body has 1 error(s)", []string{"Size must be between 1 and 5", "messages"}, "", true, 0,
			"line: HTTP 400: The request body has 1 error(s); messages: Size must be between 1 and 5"},
		{401, "Authentication failed. Confirm that the access token in the authorization header is valid.", nil, "", true, 0,
			"line: HTTP 401: Authentication failed. Confirm that the access token in the authorization header is valid."},
		{403, "Access to this API is not available for your account", nil, "", true, 0,
			"line: HTTP 403: Access to this API is not available for your account"},
		{429, "The API rate limit has been exceeded. Try again later.", nil, "2", false, 2 * time.Second,
			"line: HTTP 429: The API rate limit has been exceeded. Try again later."},
		{502, "Bad gateway", nil, "", false, 0, "line: HTTP 502: Bad gateway"},
	} {
		srv := httptest.NewServer(&fakeLINE{before: func(w http.ResponseWriter, _ int) bool {
			if c.retryAfter != "" {
				w.Header().Set("Retry-After", c.retryAfter)
			}
			lineError(w, c.status, c.msg, c.details...)
			return true
		}})
		_, err := newSender(t, srv.URL).Send(context.Background(), channels.Message{To: userID, Text: "hi"})
		srv.Close()
		if err == nil || err.Error() != c.want || channels.IsPermanent(err) != c.permanent || channels.RetryAfter(err) != c.wait {
			t.Errorf("%d: err = %v (permanent %v, wait %v)", c.status, err, channels.IsPermanent(err), channels.RetryAfter(err))
			continue
		}
		noSecret(t, err.Error())
	}
}

func TestRefusedBeforeSending(t *testing.T) {
	f := &fakeLINE{}
	srv := httptest.NewServer(f)
	defer srv.Close()
	s := newSender(t, srv.URL)
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
	if n := f.calls.Load(); n != 0 {
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
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close()
	s := newSender(t, addr)
	_, err := s.Send(context.Background(), channels.Message{To: userID, Text: "hi"})
	if err == nil || channels.IsPermanent(err) || !strings.HasPrefix(err.Error(), "line: request failed: ") {
		t.Fatalf("err = %v", err)
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
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(&fakeLINE{discard: true})
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	s := newSender(b, srv.URL)
	m := channels.Message{Campaign: "delay", Recipient: "r42", To: userID, Text: "お届けが遅れています。ご注文 A-17 は 2026年11月23日 に到着予定です。"}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Send(context.Background(), m); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(conns.Load()), "conns")
}
