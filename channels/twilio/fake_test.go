package twilio_test

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"unicode/utf8"
)

const (
	testSID     = "AC0123456789abcdef0123456789abcdef"
	testToken   = "tok-9f8e7d6c5b4a39281706f5e4d3c2b1a0"
	testService = "MG0123456789abcdef0123456789abcdef"
)

var e164 = regexp.MustCompile(`^(whatsapp:)?\+[1-9][0-9]{1,14}$`)

// fakeTwilio implements the Messages create endpoint as PROVIDERS.md §1
// describes it: form-encoded POST, Basic auth, the real 201 resource and the
// real error shape. reply, when set, replaces the answer (error injection).
type fakeTwilio struct {
	*httptest.Server
	t *testing.T

	conns atomic.Int64 // connections accepted, to see keep-alive work

	mu    sync.Mutex
	form  url.Values // the last request's parameters
	raw   string     // and its raw body
	reply func(w http.ResponseWriter)
}

func newFakeTwilio(t testing.TB) *fakeTwilio {
	f := &fakeTwilio{}
	if tt, ok := t.(*testing.T); ok {
		f.t = tt
	}
	f.Server = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			f.conns.Add(1)
		}
	}
	f.Start()
	t.Cleanup(f.Close)
	return f
}

func twilioError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"code": %d, "message": %q, "more_info": "https://www.twilio.com/docs/errors/%d", "status": %d}`,
		code, msg, code, status)
}

func (f *fakeTwilio) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		twilioError(w, 405, 20004, "Method not allowed")
		return
	}
	if r.URL.Path != "/2010-04-01/Accounts/"+testSID+"/Messages.json" || r.URL.RawQuery != "" {
		twilioError(w, 404, 20404, "The requested resource "+r.URL.Path+" was not found")
		return
	}
	if user, pass, ok := r.BasicAuth(); !ok || user != testSID || pass != testToken {
		twilioError(w, 401, 20003, "Authenticate")
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		// Twilio reads only form bodies: anything else has no parameters.
		twilioError(w, 400, 21604, "A 'To' phone number is required.")
		return
	}
	raw, _ := io.ReadAll(r.Body)
	form, err := url.ParseQuery(string(raw))
	if err != nil {
		twilioError(w, 400, 21604, "A 'To' phone number is required.")
		return
	}
	f.mu.Lock()
	f.form, f.raw = form, string(raw)
	reply := f.reply
	f.mu.Unlock()
	if reply != nil {
		reply(w)
		return
	}
	to, from, service, body := form.Get("To"), form.Get("From"), form.Get("MessagingServiceSid"), form.Get("Body")
	switch {
	case to == "":
		twilioError(w, 400, 21604, "A 'To' phone number is required.")
		return
	case !e164.MatchString(to): // a '+' sent literally arrives as a space
		twilioError(w, 400, 21211, "Invalid 'To' Phone Number")
		return
	case from == "" && service == "":
		twilioError(w, 400, 21603, "A 'From' phone number is required.")
		return
	case from != "" && !e164.MatchString(from):
		twilioError(w, 400, 21212, "Invalid 'From' Phone Number")
		return
	case strings.HasPrefix(to, "whatsapp:") != strings.HasPrefix(from, "whatsapp:") && service == "":
		twilioError(w, 400, 21910, "Invalid From and To pair. From and To should be of the same channel")
		return
	case body == "":
		twilioError(w, 400, 21602, "Message body is required.")
		return
	case utf8.RuneCountInString(body) > 1600:
		twilioError(w, 400, 21617, "The concatenated message body exceeds the 1600 character limit.")
		return
	}
	status, msid := "queued", any(nil)
	if service != "" {
		status, msid = "accepted", service
	}
	resource := map[string]any{
		"account_sid": testSID, "api_version": "2010-04-01", "body": body,
		"date_created": "Thu, 24 Aug 2023 05:01:45 +0000", "date_sent": nil, "date_updated": "Thu, 24 Aug 2023 05:01:45 +0000",
		"direction": "outbound-api", "error_code": nil, "error_message": nil, "from": nilIfEmpty(from),
		"messaging_service_sid": msid, "num_media": "0", "num_segments": "1", "price": nil, "price_unit": "USD",
		"sid": "SM3d7ba9a3b71ab9ff7a4c0e2d5f3b6a1c", "status": status, "subresource_uris": map[string]string{
			"media": "/2010-04-01/Accounts/" + testSID + "/Messages/SM3d7ba9a3b71ab9ff7a4c0e2d5f3b6a1c/Media.json"},
		"to": to, "uri": "/2010-04-01/Accounts/" + testSID + "/Messages/SM3d7ba9a3b71ab9ff7a4c0e2d5f3b6a1c.json",
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(resource)
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (f *fakeTwilio) last() (url.Values, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.form == nil {
		f.t.Fatal("the fake received no request")
	}
	return f.form, f.raw
}

func (f *fakeTwilio) setReply(fn func(w http.ResponseWriter)) {
	f.mu.Lock()
	f.reply = fn
	f.mu.Unlock()
}
