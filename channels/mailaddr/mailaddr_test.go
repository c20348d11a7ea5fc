package mailaddr

import "testing"

func TestIsDotAtom(t *testing.T) {
	for s, want := range map[string]bool{
		"customer1": true, "a.b+tag": true, "mail.example.co.id": true, "!#$%&'*+-/=?^_`{|}~": true,
		"": false, ".a": false, "a.": false, "a..b": false, `"q"`: false, "a b": false, "a@b": false,
		"[127.0.0.1]": false, "ünï": false, "a,b": false, "a\\b": false,
	} {
		if got := IsDotAtom(s); got != want {
			t.Errorf("IsDotAtom(%q) = %v, want %v", s, got, want)
		}
	}
}
