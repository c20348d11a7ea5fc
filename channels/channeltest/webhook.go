package channeltest

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"sync"
	"testing"
)

// WebhookToken is the bearer token the generic webhook fake accepts.
const WebhookToken = "webhook-test-token-5e6f7a8b9c0d"

// WebhookPath is where the generic webhook fake takes messages.
const WebhookPath = "/v1/notify"

// Webhook fakes a typical JSON notification API for the generic webhook
// backend: POST WebhookPath with "Authorization: Bearer WebhookToken" and a
// JSON body {"to": "...", "text": "..."}; it answers 201
// {"data":{"id":"msg-N"}}, 400 {"error":{"code":"invalid_recipient",...}}
// for a bad or failing recipient, 401 for a wrong token, 403 for a refused
// account, 429 with Retry-After when throttled. Like most APIs that take
// an Idempotency-Key header, it executes a key once and answers a repeat
// with the first answer (200, the same id), accepting nothing new.
type Webhook struct {
	*server
	api *webhookAPI
}

// NewWebhook starts the generic webhook fake on loopback.
func NewWebhook(t testing.TB) *Webhook {
	f := &webhookAPI{keys: map[string]string{}}
	f.s = newServer(t, f)
	return &Webhook{server: f.s, api: f}
}

type webhookAPI struct {
	s    *server
	mu   sync.Mutex
	keys map[string]string // idempotency key -> message id
}

func webhookErr(status int, code, msg string) answer {
	b, _ := json.Marshal(map[string]any{"error": map[string]string{"code": code, "message": msg}})
	return answer{status: status, body: b, code: code}
}

func (f *webhookAPI) unavailable() answer {
	return webhookErr(http.StatusServiceUnavailable, "unavailable", "Service Unavailable")
}

func (f *webhookAPI) serverError(status int) answer {
	return webhookErr(status, "internal", http.StatusText(status))
}

func (f *webhookAPI) accountRefused() answer {
	return webhookErr(http.StatusForbidden, "account_suspended", "This account is suspended")
}

func (f *webhookAPI) handle(r *http.Request, raw []byte) answer {
	if r.URL.EscapedPath() != WebhookPath {
		return webhookErr(http.StatusNotFound, "not_found", "No route "+r.URL.EscapedPath())
	}
	if r.Method != http.MethodPost {
		return webhookErr(http.StatusMethodNotAllowed, "method_not_allowed", "Use POST")
	}
	if r.Header.Get("Authorization") != "Bearer "+WebhookToken {
		return webhookErr(http.StatusUnauthorized, "unauthorized", "Invalid API token")
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return webhookErr(http.StatusUnsupportedMediaType, "unsupported_media_type", "Send application/json")
	}
	var body struct {
		To   *string `json:"to"`
		Text *string `json:"text"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		return webhookErr(http.StatusBadRequest, "invalid_json", err.Error())
	}
	if body.To == nil || *body.To == "" || body.Text == nil || *body.Text == "" {
		return webhookErr(http.StatusBadRequest, "missing_field", "to and text are required")
	}
	to := *body.To
	if throttled, secs := f.s.takeThrottle(); throttled {
		a := webhookErr(http.StatusTooManyRequests, "rate_limited", "Too many requests")
		a.header = retryAfterHeader(secs)
		a.to = to
		return a
	}
	key := r.Header.Get("Idempotency-Key")
	if key != "" {
		f.mu.Lock()
		id, seen := f.keys[key]
		f.mu.Unlock()
		if seen {
			b, _ := json.Marshal(map[string]any{"data": map[string]string{"id": id}})
			return answer{status: http.StatusOK, body: b, to: to, code: "replayed"}
		}
	}
	if f.s.isFailing(to) {
		a := webhookErr(http.StatusBadRequest, "invalid_recipient", "The recipient "+to+" cannot receive messages")
		a.to = to
		return a
	}
	id := fmt.Sprintf("msg-%d", f.s.nextID())
	if key != "" {
		f.mu.Lock()
		f.keys[key] = id
		f.mu.Unlock()
	}
	b, _ := json.Marshal(map[string]any{"data": map[string]string{"id": id, "status": "queued"}})
	return answer{status: http.StatusCreated, body: b, to: to, accepted: true}
}
