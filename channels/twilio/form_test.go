package twilio

import (
	"net/url"
	"reflect"
	"testing"
)

// The form parser behind signature checks reads a body exactly as
// url.ParseQuery does: the same parameters, and an error for the same
// bodies (a body refused by one and accepted by the other would be signed
// or parsed differently).
func FuzzParseForm(f *testing.F) {
	for _, seed := range []string{
		"", "a=1", "a=1&b=2", "a=1&a=0", "&&a=&=b&", "a%3D=b%26c", "From=%2B6281234567890&Body=Bisa+diantar+besok%3F",
		"a=1;b=2", "a=%zz", "a=%4", "%=1", "a==b", "caf%C3%A9=%E2%82%AC", "a=%00",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		want, werr := url.ParseQuery(body)
		got, gerr := parseForm(nil, []byte(body), &verifyScratch{})
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("%q: url.ParseQuery error %v, parseForm error %v", body, werr, gerr)
		}
		if werr != nil {
			return
		}
		values := url.Values{}
		for _, kv := range got {
			values[kv.name] = append(values[kv.name], kv.value)
		}
		if !reflect.DeepEqual(values, want) {
			t.Fatalf("%q: parseForm %v, url.ParseQuery %v", body, values, want)
		}
		for name, vs := range want {
			if got.Get(name) != vs[0] {
				t.Fatalf("%q: Get(%q) = %q, want the first value %q", body, name, got.Get(name), vs[0])
			}
		}
	})
}
