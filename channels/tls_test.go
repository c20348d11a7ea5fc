package channels

import (
	"crypto/tls"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A password from the environment with URL-special characters reaches the
// server as written, in the user part too; the rest of the URL is expanded
// without escaping.
func TestURLUserinfoVariablesArePercentEncoded(t *testing.T) {
	const pass = "p@ss/w#rd%41:?é"
	t.Setenv("HERALD_T_PASS", pass)
	t.Setenv("HERALD_T_USER", "replies@acme.example")
	t.Setenv("HERALD_T_HOST", "mail.example.com:2525")
	cases := []struct {
		raw, user, pass, host, path string
	}{
		{"smtp://mailer:${HERALD_T_PASS}@smtp.example.com:587", "mailer", pass, "smtp.example.com:587", ""},
		{"imaps://${HERALD_T_USER}:${HERALD_T_PASS}@imap.example.com/INBOX", "replies@acme.example", pass, "imap.example.com", "/INBOX"},
		{"smtp://mailer:x${HERALD_T_PASS}y@${HERALD_T_HOST}", "mailer", "x" + pass + "y", "mail.example.com:2525", ""},
		{"imaps://replies%40acme.example:${HERALD_T_PASS}@imap.example.com/Replies", "replies@acme.example", pass, "imap.example.com", "/Replies"},
	}
	for _, c := range cases {
		var u SecretURL
		if err := u.UnmarshalText([]byte(c.raw)); err != nil {
			t.Errorf("%s: %v", c.raw, err)
			continue
		}
		pw, _ := u.URL.User.Password()
		if u.URL.User.Username() != c.user || pw != c.pass || u.URL.Host != c.host || u.URL.Path != c.path {
			t.Errorf("%s: user %q pass %q host %q path %q; want %q %q %q %q", c.raw, u.URL.User.Username(), pw, u.URL.Host, u.URL.Path, c.user, c.pass, c.host, c.path)
		}
		if strings.Contains(u.String(), "w#rd") || strings.Contains(u.String(), "w%23rd") {
			t.Errorf("%s prints its password: %s", c.raw, u)
		}
	}
	var u SecretURL
	err := u.UnmarshalText([]byte("smtp://mailer:${HERALD_T_UNSET_PASS}@h"))
	if err == nil || !strings.Contains(err.Error(), "HERALD_T_UNSET_PASS is not set") {
		t.Errorf("missing variable in the user-info: %v", err)
	}
}

func writePEM(t *testing.T, dir, name string, ders ...[]byte) string {
	t.Helper()
	var b []byte
	for _, der := range ders {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// ca_file makes an HTTP backend's client trust a private CA, and a server
// signed by nobody it trusts fails as a Channel error that names ca_file.
func TestCAFileForHTTPClients(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	defer srv.Close()
	dir := t.TempDir()
	caPath := writePEM(t, dir, "ca.pem", srv.Certificate().Raw)

	pool, err := LoadCAFile(caPath)
	if err != nil {
		t.Fatal(err)
	}
	s := Settings{TLS: TLSOptions{CAFile: caPath, RootCAs: pool}}
	req, _ := http.NewRequest("GET", srv.URL, nil)
	resp, err := Do(s.Client(), req, "webhook", "POST")
	if err != nil {
		t.Fatalf("with ca_file: %v", err)
	}
	resp.Body.Close()

	req, _ = http.NewRequest("GET", srv.URL, nil)
	_, err = Do(Settings{}.Client(), req, "webhook", "POST")
	if ClassOf(err) != Channel || !strings.Contains(HintOf(err), "ca_file") {
		t.Fatalf("without ca_file: %v (class %v, hint %q), want a Channel error naming ca_file", err, ClassOf(err), HintOf(err))
	}
	if h := s.TLS.VerifyHint(); !strings.Contains(h, caPath) {
		t.Errorf("hint with ca_file set should name it: %q", h)
	}

	insecure := Settings{TLS: TLSOptions{InsecureSkipVerify: true}}
	if got := insecure.Client().Transport.(*http.Transport).TLSClientConfig; got == nil || !got.InsecureSkipVerify || got.MinVersion < tls.VersionTLS12 {
		t.Errorf("tls_insecure_skip_verify not applied: %+v", got)
	}
}

func TestLoadCAFileErrors(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "key.txt")
	os.WriteFile(notPEM, []byte("not a certificate\n"), 0o644)
	badDER := writePEM(t, dir, "bad.pem", []byte("garbage"))
	for path, want := range map[string]string{
		filepath.Join(dir, "missing.pem"): "does not exist",
		notPEM:                            "holds no PEM certificate",
		badDER:                            "certificate 1",
	} {
		_, err := LoadCAFile(path)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "ca_file \""+path+"\"") {
			t.Errorf("%s: %v, want an error naming ca_file and %q", path, err, want)
		}
	}
}
