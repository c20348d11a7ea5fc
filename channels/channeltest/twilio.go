package channeltest

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// Twilio fakes Twilio's Programmable Messaging create endpoint
// (PROVIDERS.md §1): POST /2010-04-01/Accounts/{TwilioAccountSID}/Messages.json,
// HTTP Basic auth with TwilioAccountSID and TwilioAuthToken, an
// application/x-www-form-urlencoded body. It answers 201 with the Message
// resource, or Twilio's error shape {"code","message","more_info","status"}.
//
// GET on the same path lists the messages it created, newest first, as
// Twilio's message list does: filtered by To, From and DateSent (exact
// date, or "DateSent>"/"DateSent<" for on-or-after and on-or-before, a
// YYYY-MM-DD day in GMT), paged by PageSize (at most 1,000) with
// next_page_uri.
type Twilio struct {
	*server
	api *twilioAPI
}

// NewTwilio starts a Twilio fake on loopback, closed when the test ends.
func NewTwilio(t testing.TB) *Twilio {
	f := &twilioAPI{}
	f.s = newServer(t, f)
	return &Twilio{server: f.s, api: f}
}

// AddMessage puts a message in the account's history as if it had been
// sent at created (an earlier campaign, another program).
func (t *Twilio) AddMessage(to, from, body string, created time.Time) {
	t.api.store(twilioMessage{sid: fmt.Sprintf("SM%032x", t.nextID()), to: to, from: from, body: body, created: created.UTC()})
}

type twilioAPI struct {
	s    *server
	mu   sync.Mutex
	msgs []twilioMessage // every message created, oldest first
}

type twilioMessage struct {
	sid, to, from, service, body string
	created                      time.Time
}

func (f *twilioAPI) store(m twilioMessage) {
	f.mu.Lock()
	f.msgs = append(f.msgs, m)
	f.mu.Unlock()
}

func (m twilioMessage) resource() map[string]any {
	date := m.created.Format(time.RFC1123Z)
	var from, svc any
	status := "sent"
	if m.from != "" {
		from = m.from
	}
	if m.service != "" {
		svc = m.service
	}
	return map[string]any{
		"account_sid": TwilioAccountSID, "api_version": "2010-04-01", "body": m.body,
		"date_created": date, "date_updated": date, "date_sent": date,
		"direction": "outbound-api", "error_code": nil, "error_message": nil,
		"from": from, "to": m.to, "messaging_service_sid": svc,
		"num_media": "0", "num_segments": "1", "price": nil, "price_unit": "USD", "sid": m.sid, "status": status,
		"uri": "/2010-04-01/Accounts/" + TwilioAccountSID + "/Messages/" + m.sid + ".json",
	}
}

// list answers GET Messages.json.
func (f *twilioAPI) list(r *http.Request) answer {
	q := r.URL.Query()
	day := func(key string) (time.Time, bool, bool) {
		v := q.Get(key)
		if v == "" {
			return time.Time{}, false, true
		}
		d, err := time.Parse(time.DateOnly, v)
		return d, true, err == nil
	}
	exact, hasExact, ok1 := day("DateSent")
	after, hasAfter, ok2 := day("DateSent>")
	before, hasBefore, ok3 := day("DateSent<")
	if !ok1 || !ok2 || !ok3 {
		return twilioErr(http.StatusBadRequest, 20001, "Invalid DateSent: use YYYY-MM-DD")
	}
	size := 50
	if v := q.Get("PageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return twilioErr(http.StatusBadRequest, 20001, "Invalid PageSize")
		}
		size = n
	}
	page, _ := strconv.Atoi(q.Get("Page"))
	f.mu.Lock()
	var hits []twilioMessage
	for i := len(f.msgs) - 1; i >= 0; i-- {
		m := f.msgs[i]
		d := m.created.Truncate(24 * time.Hour)
		switch {
		case q.Has("To") && m.to != q.Get("To"),
			q.Has("From") && m.from != q.Get("From"),
			hasExact && !d.Equal(exact),
			hasAfter && d.Before(after),
			hasBefore && d.After(before):
			continue
		}
		hits = append(hits, m)
	}
	f.mu.Unlock()
	start := min(page*size, len(hits))
	end := min(start+size, len(hits))
	msgs := []map[string]any{}
	for _, m := range hits[start:end] {
		msgs = append(msgs, m.resource())
	}
	base := "/2010-04-01/Accounts/" + TwilioAccountSID + "/Messages.json"
	pageURI := func(p int) string {
		v := url.Values{}
		for k, vs := range q {
			if k != "Page" && k != "PageToken" {
				v[k] = vs
			}
		}
		v.Set("PageSize", strconv.Itoa(size))
		v.Set("Page", strconv.Itoa(p))
		if p > 0 {
			v.Set("PageToken", fmt.Sprintf("PA%s", hits[p*size-1].sid))
		}
		return base + "?" + v.Encode()
	}
	var next any
	if end < len(hits) {
		next = pageURI(page + 1)
	}
	b, _ := json.Marshal(map[string]any{
		"messages": msgs, "end": max(end-1, 0), "start": start, "page": page, "page_size": size,
		"first_page_uri": pageURI(0), "next_page_uri": next, "previous_page_uri": nil, "uri": r.URL.RequestURI(),
	})
	return answer{status: http.StatusOK, body: b}
}

// E.164, or a WhatsApp channel address. A '+' sent unencoded in the form
// decodes as a space and fails here, as it does at Twilio (21211).
var twilioAddr = regexp.MustCompile(`^(whatsapp:)?\+[1-9][0-9]{1,14}$`)

// Twilio's From may also be a short code or an alphanumeric sender ID.
var twilioSender = regexp.MustCompile(`^(whatsapp:\+[1-9][0-9]{1,14}|\+[1-9][0-9]{1,14}|[0-9]{5,6}|[A-Za-z0-9 ]{1,11})$`)

var twilioServiceSID = regexp.MustCompile(`^MG[0-9a-fA-F]{32}$`)

func twilioErr(status, code int, msg string) answer {
	b, _ := json.Marshal(map[string]any{
		"code": code, "message": msg,
		"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code),
		"status":    status,
	})
	return answer{status: status, body: b, code: fmt.Sprint(code)}
}

func (f *twilioAPI) unavailable() answer {
	return twilioErr(http.StatusServiceUnavailable, 20503, "Service Unavailable")
}

func (f *twilioAPI) handle(r *http.Request, raw []byte) answer {
	path := "/2010-04-01/Accounts/" + TwilioAccountSID + "/Messages.json"
	if r.URL.EscapedPath() != path {
		return twilioErr(http.StatusNotFound, 20404, "The requested resource "+r.URL.EscapedPath()+" was not found")
	}
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		return twilioErr(http.StatusMethodNotAllowed, 20004, "Method not allowed")
	}
	if user, pass, ok := r.BasicAuth(); !ok || user != TwilioAccountSID || pass != TwilioAuthToken {
		a := twilioErr(http.StatusUnauthorized, 20003, "Authenticate")
		a.header = map[string]string{"WWW-Authenticate": `Basic realm="Twilio API"`}
		return a
	}
	if r.Method == http.MethodGet {
		return f.list(r)
	}
	// Twilio reads parameters only from a form body: JSON or anything else
	// arrives as "no parameters", so the first complaint is the missing To.
	// (A throttled request gets 429 whatever its body; the fake reads the
	// form first only to record the recipient.)
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		return twilioErr(http.StatusBadRequest, 21604, "A 'To' phone number is required.")
	}
	form, err := url.ParseQuery(string(raw))
	if err != nil {
		return twilioErr(http.StatusBadRequest, 21604, "A 'To' phone number is required.")
	}
	to, from, service := form.Get("To"), form.Get("From"), form.Get("MessagingServiceSid")
	if throttled, secs := f.s.takeThrottle(); throttled {
		a := twilioErr(http.StatusTooManyRequests, 20429, "Too Many Requests")
		a.header = retryAfterHeader(secs)
		a.to = to // for the record only
		return a
	}
	body, media, content := form.Get("Body"), form["MediaUrl"], form.Get("ContentSid")
	switch {
	case to == "":
		return twilioErr(http.StatusBadRequest, 21604, "A 'To' phone number is required.")
	case !twilioAddr.MatchString(to):
		a := twilioErr(http.StatusBadRequest, 21211, fmt.Sprintf("Invalid 'To' Phone Number: %s", to))
		a.to = to
		return a
	case from == "" && service == "":
		return twilioErr(http.StatusBadRequest, 21603, "A 'From' phone number is required.")
	case service != "" && !twilioServiceSID.MatchString(service):
		return twilioErr(http.StatusBadRequest, 21701, "The Messaging Service Sid "+service+" is invalid.")
	case from != "" && !twilioSender.MatchString(from):
		return twilioErr(http.StatusBadRequest, 21212, fmt.Sprintf("Invalid 'From' Phone Number: %s", from))
	case from != "" && strings.HasPrefix(to, "whatsapp:") != strings.HasPrefix(from, "whatsapp:"):
		return twilioErr(http.StatusBadRequest, 21910, "Invalid From and To pair. From and To should be of the same channel")
	case body == "" && len(media) == 0 && content == "":
		return twilioErr(http.StatusBadRequest, 21602, "Message body is required.")
	case utf8.RuneCountInString(body) > 1600:
		return twilioErr(http.StatusBadRequest, 21617, "The concatenated message body exceeds the 1600 character limit.")
	case len(media) > 10:
		return twilioErr(http.StatusBadRequest, 21623, "Number of media files exceeds allowed limit of 10.")
	}
	if cb := form.Get("StatusCallback"); cb != "" {
		if u, err := url.Parse(cb); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return twilioErr(http.StatusBadRequest, 21609, "Invalid StatusCallback")
		}
	}
	if f.s.isFailing(to) {
		a := twilioErr(http.StatusBadRequest, 21211, fmt.Sprintf("Invalid 'To' Phone Number: %s", to))
		a.to = to
		return a
	}
	sid := fmt.Sprintf("SM%032x", f.s.nextID())
	created := time.Now().UTC()
	f.store(twilioMessage{sid: sid, to: to, from: from, service: service, body: body, created: created})
	now := created.Format(time.RFC1123Z)
	status, svc, segments := "queued", any(nil), "1"
	if service != "" {
		// With a Messaging Service the sender is picked later.
		status, svc, segments = "accepted", service, "0"
	} else if n := utf8.RuneCountInString(body); n > 160 {
		segments = fmt.Sprint((n + 152) / 153)
	}
	var fromV any
	if from != "" {
		fromV = from
	}
	res, _ := json.Marshal(map[string]any{
		"account_sid": TwilioAccountSID, "api_version": "2010-04-01", "body": body,
		"date_created": now, "date_updated": now, "date_sent": nil,
		"direction": "outbound-api", "error_code": nil, "error_message": nil,
		"from": fromV, "to": to, "messaging_service_sid": svc,
		"num_media": fmt.Sprint(len(media)), "num_segments": segments,
		"price": nil, "price_unit": "USD", "sid": sid, "status": status,
		"uri": "/2010-04-01/Accounts/" + TwilioAccountSID + "/Messages/" + sid + ".json",
		"subresource_uris": map[string]string{
			"media": "/2010-04-01/Accounts/" + TwilioAccountSID + "/Messages/" + sid + "/Media.json",
		},
	})
	return answer{status: http.StatusCreated, body: res, to: to, accepted: true}
}

// Form parses the form body of a recorded request.
func (r Request) Form() url.Values {
	v, _ := url.ParseQuery(string(r.Body))
	return v
}

func (f *twilioAPI) serverError(status int) answer {
	return twilioErr(status, 20500, http.StatusText(status))
}

// accountRefused is a suspended account: 403 "Account not active" [U].
func (f *twilioAPI) accountRefused() answer {
	return twilioErr(http.StatusForbidden, 20005, "Account not active")
}
