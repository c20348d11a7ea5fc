package replies

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"herald/state"
)

// The unsubscribe page speaks the recipient's language: the token names
// only channel and address, so the language comes from the last send to
// that address on that channel, then the browser's Accept-Language, then
// English; a campaign's [unsubscribe] section words it in its own way.
func TestUnsubscribePageLanguage(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"delay.toml": `name = "delay"
audience = "people.csv"
templates = "t"
default_locale = "en"
channels = ["mail"]
`,
		"t/en.toml": "[email]\nsubject = \"Delayed\"\ntext = \"Your parcel is delayed.\"\n",
		"t/ja.toml": "[email]\nsubject = \"遅延\"\ntext = \"お荷物が遅れています。\"\n\n[unsubscribe]\ntitle = \"アクメ便のお知らせの配信停止\"\nbutton = \"お知らせを止める\"\n",
		"t/ar.toml": "[email]\nsubject = \"تأخير\"\ntext = \"شحنتك متأخرة.\"\n",
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := loadTestConfig(t, fullConfig)
	writeJournal(t, cfg.StateDir,
		// Taro got a Japanese e-mail of "delay", whose ja.toml words the page.
		state.Entry{Campaign: "delay", Recipient: "c-010", Channel: "mail", Address: "taro@example.jp", Locale: "ja", Status: state.StatusSent, MessageID: "<c.delay.c010@notify.acme.example>", Attempt: 1},
		// Layla got an Arabic e-mail of "delay" (ar.toml has no [unsubscribe])...
		state.Entry{Campaign: "delay", Recipient: "c-011", Channel: "mail", Address: "layla@example.eg", Locale: "ar", Status: state.StatusSent, MessageID: "<c.delay.c011@notify.acme.example>", Attempt: 1},
		// ... and Hana a Japanese one of a campaign replies serve was not given.
		state.Entry{Campaign: "intro", Recipient: "c-012", Channel: "mail", Address: "hana@example.jp", Locale: "ja", Status: state.StatusSent, MessageID: "<c.intro.c012@notify.acme.example>", Attempt: 1},
	)
	srv, err := NewServer(ServerOptions{Registry: testRegistry(), Config: cfg, CampaignFiles: []string{filepath.Join(dir, "delay.toml")}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	key, err := state.OpenFiles(cfg.StateDir).UnsubscribeKey(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	signer := state.UnsubscribeSigner{Key: key}

	page := func(method, token, acceptLanguage string) (int, string, http.Header) {
		t.Helper()
		var body *strings.Reader
		if method == http.MethodPost {
			body = strings.NewReader("List-Unsubscribe=One-Click")
		} else {
			body = strings.NewReader("")
		}
		req, _ := http.NewRequest(method, ts.URL+"/unsubscribe/"+token, body)
		if method == http.MethodPost {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if acceptLanguage != "" {
			req.Header.Set("Accept-Language", acceptLanguage)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return resp.StatusCode, b.String(), resp.Header
	}

	tests := []struct {
		name, method, address, accept string
		status                        int
		has                           []string
		lacks                         []string
	}{
		{
			name: "ja from the campaign's [unsubscribe], text built in", method: http.MethodGet, address: "taro@example.jp", accept: "en-US,en;q=0.9",
			status: 200,
			has: []string{`<html lang="ja" dir="ltr">`, "<title>アクメ便のお知らせの配信停止</title>", "<h1>アクメ便のお知らせの配信停止</h1>",
				"<p>下のボタンを押すと、今後このメッセージは届かなくなります。</p>", `<button type="submit">お知らせを止める</button>`},
			lacks: []string{">Unsubscribe<"},
		},
		{
			name: "ja confirmation after the POST", method: http.MethodPost, address: "taro@example.jp",
			status: 200,
			has:    []string{`<html lang="ja" dir="ltr">`, "<h1>配信を停止しました</h1>", "<p>今後、このメッセージは届きません。</p>"},
			lacks:  []string{"<form"},
		},
		{
			name: "ja built in for a campaign replies serve was not given", method: http.MethodGet, address: "hana@example.jp",
			status: 200,
			has:    []string{`<html lang="ja" dir="ltr">`, "<h1>配信停止</h1>", `<button type="submit">配信を停止する</button>`},
		},
		{
			name: "ar built in, right to left", method: http.MethodGet, address: "layla@example.eg", accept: "fr",
			status: 200,
			has:    []string{`<html lang="ar" dir="rtl">`, "<h1>إلغاء الاشتراك</h1>", "<p>اضغط على الزر لإيقاف تلقي هذه الرسائل.</p>", `<button type="submit">إلغاء الاشتراك</button>`},
		},
		{
			name: "ar confirmation", method: http.MethodPost, address: "layla@example.eg",
			status: 200,
			has:    []string{`<html lang="ar" dir="rtl">`, "<h1>تم إلغاء الاشتراك</h1>", "<p>لن تصلك هذه الرسائل بعد الآن.</p>"},
		},
		{
			name: "never sent to: the browser's language", method: http.MethodGet, address: "nobody@example.fr", accept: "fr-CA,fr;q=0.9,en;q=0.5",
			status: 200,
			has:    []string{`<html lang="fr" dir="ltr">`, "<h1>Se désabonner</h1>", `<button type="submit">Se désabonner</button>`},
		},
		{
			name: "Brazilian browser", method: http.MethodGet, address: "nobody@example.br", accept: "pt-BR",
			status: 200,
			has:    []string{`<html lang="pt-BR" dir="ltr">`, "<h1>Cancelar inscrição</h1>"},
		},
		{
			name: "no clue: English", method: http.MethodGet, address: "nobody@example.com", accept: "ko-KR",
			status: 200,
			has:    []string{`<html lang="en" dir="ltr">`, "<h1>Unsubscribe</h1>", `<button type="submit">Unsubscribe</button>`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body, header := page(tt.method, signer.Token("mail", tt.address), tt.accept)
			if code != tt.status {
				t.Fatalf("status %d, want %d:\n%s", code, tt.status, body)
			}
			for _, s := range tt.has {
				if !strings.Contains(body, s) {
					t.Errorf("page lacks %q:\n%s", s, body)
				}
			}
			for _, s := range tt.lacks {
				if strings.Contains(body, s) {
					t.Errorf("page has %q:\n%s", s, body)
				}
			}
			if lang := header.Get("Content-Language"); !strings.Contains(body, `lang="`+lang+`"`) {
				t.Errorf("Content-Language %q differs from the page's lang", lang)
			}
		})
	}

	// A link that does not verify names no recipient: the browser decides.
	forged := signer.Token("mail", "layla@example.eg")
	forged = forged[:len(forged)-3] + "AAA"
	code, body, _ := page(http.MethodGet, forged, "ar-EG,ar;q=0.9")
	if code != http.StatusForbidden || !strings.Contains(body, `<html lang="ar" dir="rtl">`) || !strings.Contains(body, "<h1>الرابط غير صالح</h1>") || strings.Contains(body, "<form") {
		t.Errorf("forged link: %d\n%s", code, body)
	}
}

// A campaign file that cannot be read stops replies serve from starting,
// naming the file.
func TestServeBadCampaignFile(t *testing.T) {
	cfg := loadTestConfig(t, fullConfig)
	missing := filepath.Join(t.TempDir(), "nope.toml")
	_, err := NewServer(ServerOptions{Registry: testRegistry(), Config: cfg, CampaignFiles: []string{missing}})
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("err = %v, want one naming %s", err, missing)
	}
}
