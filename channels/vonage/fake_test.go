package vonage

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"unicode/utf16"
)

const (
	testKey    = "abcd1234"
	testSecret = "Sec-8f7e6d5c4b3a2910"
)

var vonageNumber = regexp.MustCompile(`^[1-9][0-9]{6,14}$`)

// fakeVonage implements POST /sms/json as PROVIDERS.md §2 describes it:
// form-encoded, api_key + api_secret parameters, HTTP 200 with one result
// per part and string statuses. reply, when set, replaces the answer.
type fakeVonage struct {
	*httptest.Server
	t *testing.T

	conns atomic.Int64 // connections accepted, to see keep-alive work

	mu    sync.Mutex
	form  url.Values
	reply func(w http.ResponseWriter)
}

func newFakeVonage(t testing.TB) *fakeVonage {
	f := &fakeVonage{}
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

// result writes the 200 answer for one failed message.
func result(w http.ResponseWriter, status, text string) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"message-count":"1","messages":[{"status":%q,"error-text":%q}]}`, status, text)
}

func (f *fakeVonage) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/sms/json" {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		result(w, "2", "Missing api_key")
		return
	}
	raw, _ := io.ReadAll(r.Body)
	form, err := url.ParseQuery(string(raw))
	if err != nil {
		result(w, "3", "Invalid parameters")
		return
	}
	f.mu.Lock()
	f.form = form
	reply := f.reply
	f.mu.Unlock()
	if reply != nil {
		reply(w)
		return
	}
	switch {
	case form.Get("api_key") == "" || form.Get("api_secret") == "":
		result(w, "2", "Missing api_key")
		return
	case form.Get("api_key") != testKey || form.Get("api_secret") != testSecret:
		result(w, "4", "Bad Credentials")
		return
	case form.Get("from") == "":
		result(w, "2", "Missing from param")
		return
	case form.Get("to") == "":
		result(w, "2", "Missing to param")
		return
	case !vonageNumber.MatchString(form.Get("to")):
		result(w, "3", "Invalid to address")
		return
	case form.Get("text") == "":
		result(w, "2", "Missing text param")
		return
	case len(form.Get("client-ref")) > 40:
		result(w, "3", "Invalid client-ref")
		return
	}
	typ := form.Get("type")
	if typ != "" && typ != "text" && typ != "unicode" {
		result(w, "3", "Invalid message type")
		return
	}
	// Split as the carrier would: plain septets/units, enough for tests
	// whose long texts have no extension characters or emoji.
	units, single, part := len([]rune(form.Get("text"))), 160.0, 153.0
	if typ == "unicode" {
		units, single, part = len(utf16.Encode([]rune(form.Get("text")))), 70, 67
	}
	parts := 1
	if float64(units) > single {
		parts = int(math.Ceil(float64(units) / part))
	}
	var msgs []map[string]string
	for i := range parts {
		m := map[string]string{
			"to": form.Get("to"), "message-id": fmt.Sprintf("0A000000012%dABCD1", i), "status": "0",
			"remaining-balance": "3.14159265", "message-price": "0.03330000", "network": "12345",
		}
		if ref := form.Get("client-ref"); ref != "" {
			m["client-ref"] = ref
		}
		msgs = append(msgs, m)
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"message-count": fmt.Sprint(parts), "messages": msgs})
}

func (f *fakeVonage) last() url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.form == nil {
		f.t.Fatal("the fake received no request")
	}
	return f.form
}

func (f *fakeVonage) setReply(fn func(w http.ResponseWriter)) {
	f.mu.Lock()
	f.reply = fn
	f.mu.Unlock()
}
