package channeltest

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

// Vonage fakes the legacy SMS API (PROVIDERS.md §2): POST /sms/json with an
// application/x-www-form-urlencoded (or JSON) body, credentials as api_key +
// api_secret parameters or HTTP Basic. Like Vonage it answers HTTP 200 for
// message-level results, with string statuses:
// {"message-count":"N","messages":[{"to","message-id","status":"0",...}]};
// a refusal is a non-zero status with error-text. A long text is split into
// parts, one entry each.
//
// Throttle answers status 1 "Throttled" (Vonage's rate limit, inside a 200);
// FailAddress answers status 6 (an unroutable number).
type Vonage struct{ *server }

// NewVonage starts a Vonage SMS API fake on loopback.
func NewVonage(t testing.TB) *Vonage {
	f := &vonageAPI{}
	f.s = newServer(t, f)
	return &Vonage{f.s}
}

type vonageAPI struct{ s *server }

// Vonage takes numbers as digits only, country code first: no '+', no 00,
// no trunk 0.
var vonageNumber = regexp.MustCompile(`^[1-9][0-9]{6,14}$`)

func vonageStatus(to, status, text string) answer {
	m := map[string]string{"status": status, "error-text": text}
	if to != "" {
		m["to"] = to
	}
	b, _ := json.Marshal(map[string]any{"message-count": "1", "messages": []map[string]string{m}})
	return answer{status: http.StatusOK, body: b, code: status, to: to}
}

func (f *vonageAPI) unavailable() answer {
	return answer{status: http.StatusServiceUnavailable, code: "503",
		header: map[string]string{"Content-Type": "text/html"},
		body:   []byte("<html><body><h1>503 Service Unavailable</h1></body></html>\n")}
}

func (f *vonageAPI) handle(r *http.Request, raw []byte) answer {
	if r.URL.EscapedPath() != "/sms/json" {
		return answer{status: http.StatusNotFound, code: "404", header: map[string]string{"Content-Type": "text/plain"}, body: []byte("Not Found\n")}
	}
	if r.Method != http.MethodPost {
		return answer{status: http.StatusMethodNotAllowed, code: "405", header: map[string]string{"Content-Type": "text/plain"}, body: []byte("Method Not Allowed\n")}
	}
	p := url.Values{}
	switch mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt {
	case "application/x-www-form-urlencoded":
		form, err := url.ParseQuery(string(raw))
		if err != nil {
			return vonageStatus("", "2", "Missing api_key")
		}
		p = form
	case "application/json":
		var m map[string]any
		if json.Unmarshal(raw, &m) != nil {
			return vonageStatus("", "2", "Missing api_key")
		}
		for k, v := range m {
			p.Set(k, fmt.Sprint(v))
		}
	}
	key, secret := p.Get("api_key"), p.Get("api_secret")
	if u, pw, ok := r.BasicAuth(); ok {
		key, secret = u, pw
	}
	switch {
	case key == "":
		return vonageStatus("", "2", "Missing api_key")
	case p.Get("sig") != "" && p.Get("api_secret") != "":
		return vonageStatus("", "32", "Signature and API secret disallowed")
	case secret == "" && p.Get("sig") == "":
		return vonageStatus("", "2", "Missing api_secret")
	case key != VonageAPIKey || secret != VonageAPISecret:
		return vonageStatus("", "4", "Bad Credentials")
	}
	if throttled, secs := f.s.takeThrottle(); throttled {
		return vonageStatus(p.Get("to"), "1", fmt.Sprintf("Throughput Rate Exceeded - please wait [ %d ] and retry", secs*1000))
	}
	from, to, text, typ := p.Get("from"), p.Get("to"), p.Get("text"), p.Get("type")
	if typ == "" {
		typ = "text"
	}
	switch {
	case from == "":
		return vonageStatus(to, "2", "Missing from param")
	case to == "":
		return vonageStatus("", "2", "Missing to param")
	case text == "" && typ != "binary":
		return vonageStatus(to, "2", "Missing text param")
	case !vonageNumber.MatchString(to):
		return vonageStatus(to, "3", "Invalid to address")
	case typ != "text" && typ != "unicode" && typ != "binary":
		return vonageStatus(to, "3", "Invalid message type")
	case len(p.Get("client-ref")) > 40:
		return vonageStatus(to, "3", "Invalid client-ref, must be 40 characters or less")
	}
	if cb := p.Get("callback"); cb != "" {
		if u, err := url.Parse(cb); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return vonageStatus(to, "23", "Invalid callback url")
		}
	}
	if f.s.isFailing(to) {
		return vonageStatus(to, "6", "Unroutable message - rejected")
	}
	parts := vonageParts(text, typ)
	if parts > 10 {
		return vonageStatus(to, "12", "Message too long")
	}
	msgs := make([]map[string]string, parts)
	for i := range msgs {
		msgs[i] = map[string]string{
			"to": to, "message-id": fmt.Sprintf("%016X", 0x0A00000000000000+f.s.nextID()), "status": "0",
			"remaining-balance": "3.14159265", "message-price": "0.03330000", "network": "12345",
		}
		if ref := p.Get("client-ref"); ref != "" {
			msgs[i]["client-ref"] = ref
		}
	}
	b, _ := json.Marshal(map[string]any{"message-count": fmt.Sprint(parts), "messages": msgs})
	return answer{status: http.StatusOK, body: b, to: to, accepted: true}
}

// vonageParts is the number of SMS parts: 160/153 characters for text,
// 70/67 UTF-16 units for unicode (extension characters are not counted
// twice here: the fake only needs the shape of a split).
func vonageParts(text, typ string) int {
	n, single, multi := utf8.RuneCountInString(text), 160, 153
	if typ == "unicode" {
		n, single, multi = len(utf16.Encode([]rune(text))), 70, 67
	}
	if n <= single {
		return 1
	}
	return (n + multi - 1) / multi
}

func (f *vonageAPI) serverError(status int) answer {
	return answer{status: status, code: strconv.Itoa(status),
		header: map[string]string{"Content-Type": "text/html"},
		body:   []byte(fmt.Sprintf("<html><body><h1>%d %s</h1></body></html>\n", status, http.StatusText(status)))}
}

// accountRefused is status 8 "Partner account barred", inside a 200 like
// every message-level result.
func (f *vonageAPI) accountRefused() answer {
	return vonageStatus("", "8", "Partner account barred")
}
