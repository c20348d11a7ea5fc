package channeltest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"unicode/utf16"
)

// LINE fakes the Messaging API push endpoint (PROVIDERS.md §5):
// POST /v2/bot/message/push with Authorization: Bearer LINEToken and a JSON
// body {"to","messages":[1..5]}. It answers 200 {"sentMessages":[...]} with
// an X-Line-Request-Id header, or {"message","details"}.
//
// X-Line-Retry-Key works as at LINE: it must be a UUID; once a request with
// a key has been accepted, every later request with that key is not executed
// and gets 409 with X-Line-Accepted-Request-Id and the original
// sentMessages. A request refused with 4xx, 429 or 503 does not use up its
// key.
type LINE struct {
	*server
	api *lineAPI
}

// NewLINE starts a LINE Messaging API fake on loopback.
func NewLINE(t testing.TB) *LINE {
	f := &lineAPI{keys: map[string]lineAccepted{}}
	f.s = newServer(t, f)
	return &LINE{server: f.s, api: f}
}

// RetryKeys returns the X-Line-Retry-Key of every request, in order ("" for
// requests without one).
func (l *LINE) RetryKeys() []string {
	var keys []string
	for _, r := range l.Requests() {
		keys = append(keys, r.Header.Get("X-Line-Retry-Key"))
	}
	return keys
}

type lineAPI struct {
	s    *server
	mu   sync.Mutex
	keys map[string]lineAccepted // accepted retry keys
}

type lineAccepted struct {
	requestID string
	body      []byte
}

var (
	lineID   = regexp.MustCompile(`^[UCR][0-9a-f]{32}$`)
	lineUUID = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
)

type lineDetail struct {
	Message  string `json:"message"`
	Property string `json:"property"`
}

func lineErr(status int, msg string, details ...lineDetail) answer {
	m := map[string]any{"message": msg}
	if len(details) > 0 {
		m["details"] = details
	}
	b, _ := json.Marshal(m)
	return answer{status: status, body: b, code: fmt.Sprint(status), header: map[string]string{
		"Content-Type": "application/json", "X-Line-Request-Id": newLineRequestID()}}
}

func badBody(details ...lineDetail) answer {
	return lineErr(http.StatusBadRequest, fmt.Sprintf("The request body has %d error(s)", len(details)), details...)
}

var lineReqSeq struct {
	sync.Mutex
	n int
}

func newLineRequestID() string {
	lineReqSeq.Lock()
	defer lineReqSeq.Unlock()
	lineReqSeq.n++
	return fmt.Sprintf("%08x-0000-4000-8000-%012x", 0x1f2e3d4c, lineReqSeq.n)
}

func (f *lineAPI) unavailable() answer {
	return lineErr(http.StatusServiceUnavailable, "Service Unavailable")
}

func (f *lineAPI) handle(r *http.Request, raw []byte) answer {
	if r.URL.EscapedPath() != "/v2/bot/message/push" {
		return lineErr(http.StatusNotFound, "Not found")
	}
	if r.Method != http.MethodPost {
		return lineErr(http.StatusMethodNotAllowed, "Method Not Allowed")
	}
	if r.Header.Get("Authorization") != "Bearer "+LINEToken {
		return lineErr(http.StatusUnauthorized, "Authentication failed. Confirm that the access token in the authorization header is valid.")
	}
	key := r.Header.Get("X-Line-Retry-Key")
	if _, has := r.Header["X-Line-Retry-Key"]; has && !lineUUID.MatchString(key) {
		return lineErr(http.StatusBadRequest, "The value for the 'X-Line-Retry-Key' header is invalid")
	}
	if key != "" {
		// Check and record the key atomically: two concurrent requests with
		// one key must not both be executed.
		f.mu.Lock()
		defer f.mu.Unlock()
		if prev, done := f.keys[strings.ToLower(key)]; done {
			var sent struct {
				SentMessages json.RawMessage `json:"sentMessages"`
			}
			json.Unmarshal(prev.body, &sent)
			b, _ := json.Marshal(map[string]any{
				"message":      "The retry key is already accepted",
				"sentMessages": sent.SentMessages,
			})
			return answer{status: http.StatusConflict, body: b, code: "409", header: map[string]string{
				"Content-Type": "application/json", "X-Line-Request-Id": newLineRequestID(),
				"X-Line-Accepted-Request-Id": prev.requestID}}
		}
	}
	if throttled, secs := f.s.takeThrottle(); throttled {
		a := lineErr(http.StatusTooManyRequests, "The API rate limit has been exceeded. Try again later.")
		a.header["Retry-After"] = fmt.Sprint(secs)
		a.to = peekTo(raw) // for the record only
		return a
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return lineErr(http.StatusUnsupportedMediaType, "Content-Type must be application/json")
	}
	var req struct {
		To                   *string           `json:"to"`
		Messages             []json.RawMessage `json:"messages"`
		NotificationDisabled *bool             `json:"notificationDisabled"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&req); err != nil {
		return lineErr(http.StatusBadRequest, "The request body could not be parsed as JSON")
	}
	to := ""
	if req.To != nil {
		to = *req.To
	}
	var details []lineDetail
	switch {
	case req.To == nil:
		details = append(details, lineDetail{"must be specified", "to"})
	case !lineID.MatchString(to):
		a := lineErr(http.StatusBadRequest, "The property, 'to', in the request body is invalid (line: -, column: -)")
		a.to = to
		return a
	}
	switch n := len(req.Messages); {
	case n == 0:
		details = append(details, lineDetail{"must be specified", "messages"})
	case n > 5:
		details = append(details, lineDetail{"Size must be between 1 and 5", "messages"})
	}
	for i, m := range req.Messages {
		var msg struct {
			Type string  `json:"type"`
			Text *string `json:"text"`
		}
		if json.Unmarshal(m, &msg) != nil || msg.Type == "" {
			details = append(details, lineDetail{"must be specified", fmt.Sprintf("messages[%d].type", i)})
			continue
		}
		if msg.Type != "text" {
			continue // other types are not checked by the fake
		}
		switch {
		case msg.Text == nil || *msg.Text == "":
			details = append(details, lineDetail{"must be specified", fmt.Sprintf("messages[%d].text", i)})
		case len(utf16.Encode([]rune(*msg.Text))) > 5000:
			details = append(details, lineDetail{"Length must be between 0 and 5000", fmt.Sprintf("messages[%d].text", i)})
		}
	}
	if len(details) > 0 {
		a := badBody(details...)
		a.to = to
		return a
	}
	if f.s.isFailing(to) {
		a := lineErr(http.StatusBadRequest, "Failed to send messages")
		a.to = to
		return a
	}
	var sent []map[string]string
	for range req.Messages {
		id := f.s.nextID()
		sent = append(sent, map[string]string{
			"id":         fmt.Sprintf("%018d", 460000000000000000+id),
			"quoteToken": fmt.Sprintf("q%031x", id),
		})
	}
	b, _ := json.Marshal(map[string]any{"sentMessages": sent})
	reqID := newLineRequestID()
	if key != "" {
		f.keys[strings.ToLower(key)] = lineAccepted{requestID: reqID, body: b}
	}
	return answer{status: http.StatusOK, body: b, to: to, accepted: true,
		header: map[string]string{"Content-Type": "application/json", "X-Line-Request-Id": reqID}}
}

func (f *lineAPI) serverError(status int) answer {
	return lineErr(status, http.StatusText(status))
}

func (f *lineAPI) accountRefused() answer {
	return lineErr(http.StatusForbidden, "Access to this API is not available for your account")
}
