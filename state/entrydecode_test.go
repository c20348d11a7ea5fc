package state

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// DecodeEntry must agree with json.Unmarshal on every input: the same
// entry when both succeed, an error when json's is one.
func FuzzDecodeEntry(f *testing.F) {
	e := Entry{Time: time.Date(2026, 3, 4, 5, 6, 7, 8e6, time.UTC), Campaign: "delay", Recipient: "c-0000001", Channel: "sms",
		Address: "+6281234567890", Locale: "id", Status: StatusSent, ProviderID: "SM0123", MessageID: "<a@b>", Attempt: 2}
	line, _ := e.marshal()
	f.Add(string(line) + "\n")
	e.Temporary, e.Error, e.Campaign = true, "timeout: \"quoted\" ünïcode", "kampanye-Ω"
	line, _ = e.marshal()
	f.Add(string(line))
	for _, seed := range []string{
		`{}`, ` { "status" : "sent" , "attempt" : -0 } `, `{"attempt":01}`, `{"attempt":1.0}`, `{"attempt":1e2}`,
		`{"attempt":99999999999999999999}`, `{"temporary":tru}`, `{"temporary":false,"temporary":true}`,
		`{"Status":"sent"}`, `{"status":null}`, `{"status":"a\u0041"}`, `{"status":"` + "\xff" + `"}`,
		`{"time":"2026-01-02T03:04:05+07:00"}`, `{"time":"2026-01-02T03:04:05,5Z"}`, `{"time":"24:00"}`,
		`{"status":"sent",}`, `{"status":"sent"}x`, `{"other":{"a":[1]}}`, `[]`, `{"status":"sent"`, `{"status":1}`,
		`{"campaign":"a","campaign":"b"}`, "{\"status\":\"a\tb\"}",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, line string) {
		var want, got Entry
		werr := json.Unmarshal([]byte(line), &want)
		gerr := DecodeEntry([]byte(line), &got)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("%q: json.Unmarshal error %v, DecodeEntry error %v", line, werr, gerr)
		}
		if werr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\nDecodeEntry    %+v\njson.Unmarshal %+v", line, got, want)
		}
	})
}

// The lines herald writes take the fast path.
func TestDecodeEntryFastPath(t *testing.T) {
	e := Entry{Time: time.Date(2026, 3, 4, 5, 6, 7, 8e6, time.UTC), Campaign: "kampanye-Ω", Recipient: "c-1", Channel: "sms",
		Address: "+6281234567890", Locale: "id", Status: StatusFailed, Error: "rate limited", Attempt: 3, Temporary: true}
	line, err := e.marshal()
	if err != nil {
		t.Fatal(err)
	}
	var got Entry
	if !decodeEntryFast(append(line, '\n'), &got) {
		t.Fatalf("%s: not decoded by the fast path", line)
	}
	if !reflect.DeepEqual(got, e) {
		t.Errorf("got %+v, want %+v", got, e)
	}
}
