package templates

import (
	"strings"
	"testing"
)

// [unsubscribe] words the unsubscribe page; it is not a message section,
// so a locale without it is not "missing a section", and its keys are
// checked like every other key.
func TestUnsubscribeSection(t *testing.T) {
	s, _ := mustLoad(t, map[string]string{
		"en.toml": "[default]\ntext = \"Hi\"\n",
		"ja.toml": "[default]\ntext = \"こんにちは\"\n\n[unsubscribe]\ntitle = \"配信停止\"\nbutton = \"配信を停止する\"\ntext = \"  \"\n",
	})
	got := s.Unsubscribe("ja")
	if len(got) != 2 || got["title"] != "配信停止" || got["button"] != "配信を停止する" {
		t.Errorf("ja [unsubscribe] = %v, want title and button (a blank text falls back to the built-in one)", got)
	}
	if s.Unsubscribe("en") != nil || s.Has("ja", UnsubscribeSection) {
		t.Error("[unsubscribe] must not be a message section, and en has none")
	}
	for _, p := range s.Problems("en") {
		t.Errorf("unexpected problem: %s", p)
	}

	dir := writeDir(t, map[string]string{
		"en.toml": "[default]\ntext = \"Hi\"\n\n[unsubscribe]\ntitle = \"Unsubscribe\"\nheading = \"Bye\"\nbutton = 3\n",
	})
	_, err := Load(dir, fakeFormatters)
	if err == nil {
		t.Fatal("bad [unsubscribe] keys loaded without error")
	}
	msg := rel(dir, err.Error())
	for _, want := range []string{
		`en.toml:6: unknown key "heading" in [unsubscribe] (allowed: title, text, button, done_title, done_text)`,
		`en.toml:7: [unsubscribe] button: must be a string, got an integer`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
}
