package replies

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"herald/channels/channeltest"
)

const (
	testUser = "replies@acme.example"
	testPass = "s3cret:p@ss/word"
)

var fixtureNames = []string{"gmail.eml", "outlook.eml", "html-only.eml", "italian.eml", "japanese.eml", "signature.eml"}

// testIMAP is an in-process IMAP server from go-imap's own memory backend,
// reached over real TCP on 127.0.0.1.
type testIMAP struct {
	user   *imapmemserver.User
	addr   string
	client *tls.Config // trusts the server's certificate
	cert   []byte      // the server's certificate (self-signed: its own CA), DER
}

type serverKind int

const (
	implicitTLS serverKind = iota // imaps
	startTLS                      // plain port that offers and requires STARTTLS
	plainText                     // no TLS at all
)

func startIMAP(t *testing.T, kind serverKind) *testIMAP {
	t.Helper()
	serverTLS, clientTLS := testCert(t)

	mem := imapmemserver.New()
	user := imapmemserver.NewUser(testUser, testPass)
	if err := user.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	mem.AddUser(user)

	opts := &imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:   imap.CapSet{imap.CapIMAP4rev1: {}},
		Logger: log.New(io.Discard, "", 0),
	}
	var ln net.Listener
	var err error
	switch kind {
	case implicitTLS:
		ln, err = tls.Listen("tcp", "127.0.0.1:0", serverTLS)
	case startTLS:
		opts.TLSConfig = serverTLS // offers STARTTLS; LOGIN is refused before it
		opts.Caps[imap.CapStartTLS] = struct{}{}
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	case plainText:
		opts.InsecureAuth = true
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	srv := imapserver.New(opts)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return &testIMAP{user: user, addr: ln.Addr().String(), client: clientTLS, cert: serverTLS.Certificates[0].Certificate[0]}
}

// testCert returns server and client TLS configs around the shared test
// certificate.
func testCert(t *testing.T) (server, client *tls.Config) {
	cert, pool := channeltest.TLSCert(t)
	return &tls.Config{Certificates: []tls.Certificate{cert}}, &tls.Config{RootCAs: pool}
}

func (s *testIMAP) appendMsg(t *testing.T, mailbox string, raw []byte) uint32 {
	t.Helper()
	d, err := s.user.Append(mailbox, bytes.NewReader(raw), &imap.AppendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return uint32(d.UID)
}

// config builds the URL the way a user writes it in herald.toml: the user
// name and password percent-encoded in the userinfo.
func (s *testIMAP) config(scheme, pass, path string) IMAPConfig {
	u := &url.URL{Scheme: scheme, User: url.UserPassword(testUser, pass), Host: s.addr, Path: path}
	parsed, err := url.Parse(u.String()) // round-trip through text, as from a config file
	if err != nil {
		panic(err)
	}
	return IMAPConfig{URL: parsed, TLSConfig: s.client}
}

func uidsOf(f []Fetched) []uint32 {
	var out []uint32
	for _, m := range f {
		out = append(out, m.UID)
	}
	return out
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestFetchIncremental(t *testing.T) {
	srv := startIMAP(t, implicitTLS)
	var raws [][]byte
	for _, name := range fixtureNames {
		raw := readFixture(t, name)
		raws = append(raws, raw)
		srv.appendMsg(t, "INBOX", raw)
	}
	cfg := srv.config("imaps", testPass, "/INBOX")
	if !strings.Contains(cfg.URL.String(), "replies%40acme.example") {
		t.Fatalf("test URL %s does not percent-encode the user name", cfg.URL.Redacted())
	}

	// First run: everything, in UID order, byte for byte.
	got, uv, err := Fetch(ctxT(t), cfg, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if uv == 0 {
		t.Fatal("UIDVALIDITY = 0")
	}
	if want := []uint32{1, 2, 3, 4, 5, 6}; !slices.Equal(uidsOf(got), want) {
		t.Fatalf("UIDs = %v, want %v", uidsOf(got), want)
	}
	for i, m := range got {
		if !bytes.Equal(m.Raw, raws[i]) {
			t.Errorf("message UID %d differs from %s", m.UID, fixtureNames[i])
		}
		if m.UIDValidity != uv {
			t.Errorf("message UID %d has UIDVALIDITY %d, want %d", m.UID, m.UIDValidity, uv)
		}
	}
	if e, err := ExtractReply(got[0].Raw); err != nil || !strings.HasPrefix(e.Text, "Yes, Tuesday") {
		t.Errorf("fetched gmail.eml extracts to %q, %v", e.Text, err)
	}

	// Second run from the last UID: nothing new.
	again, uv2, err := Fetch(ctxT(t), cfg, uv, 6, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != 0 || uv2 != uv {
		t.Fatalf("refetch returned UIDs %v (UIDVALIDITY %d), want none (%d)", uidsOf(again), uv2, uv)
	}

	// A new reply arrives: only it comes back.
	srv.appendMsg(t, "INBOX", []byte("From: late@example.com\r\nSubject: Re: x\r\n\r\nSTOP\r\n"))
	more, _, err := Fetch(ctxT(t), cfg, uv, 6, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(uidsOf(more), []uint32{7}) || !bytes.Contains(more[0].Raw, []byte("late@example.com")) {
		t.Fatalf("after one append got UIDs %v, want [7]", uidsOf(more))
	}

	// Reading must not mark the customer's mail as read.
	if seen := seenUIDs(t, srv); len(seen) != 0 {
		t.Fatalf("messages %v were marked \\Seen by Fetch", seen)
	}
}

// seenUIDs asks the server, over its own connection, which messages have
// the \Seen flag.
func seenUIDs(t *testing.T, srv *testIMAP) []imap.UID {
	t.Helper()
	c, err := imapclient.DialTLS(srv.addr, &imapclient.Options{TLSConfig: srv.client})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(testUser, testPass).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Flags: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var seen []imap.UID
	for _, m := range msgs {
		if slices.Contains(m.Flags, imap.FlagSeen) {
			seen = append(seen, m.UID)
		}
	}
	return seen
}

func TestFetchLimit(t *testing.T) {
	srv := startIMAP(t, implicitTLS)
	for _, name := range fixtureNames {
		srv.appendMsg(t, "INBOX", readFixture(t, name))
	}
	cfg := srv.config("imaps", testPass, "")
	var after, uv uint32
	var pages [][]uint32
	for range 4 {
		got, cur, err := Fetch(ctxT(t), cfg, uv, after, 4)
		if err != nil {
			t.Fatal(err)
		}
		uv = cur
		pages = append(pages, uidsOf(got))
		if len(got) > 0 {
			after = got[len(got)-1].UID
		}
	}
	want := [][]uint32{{1, 2, 3, 4}, {5, 6}, nil, nil}
	if !slices.EqualFunc(pages, want, slices.Equal) {
		t.Fatalf("pages of 4 = %v, want %v", pages, want)
	}
}

// When the server renumbers the mailbox (here: it was deleted and created
// again), a stored position means nothing any more and Fetch starts over.
func TestFetchUIDValidityChanged(t *testing.T) {
	srv := startIMAP(t, implicitTLS)
	for _, name := range fixtureNames[:3] {
		srv.appendMsg(t, "INBOX", readFixture(t, name))
	}
	cfg := srv.config("imaps", testPass, "/INBOX")
	_, oldUV, err := Fetch(ctxT(t), cfg, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}

	if err := srv.user.Delete("INBOX"); err != nil {
		t.Fatal(err)
	}
	if err := srv.user.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	srv.appendMsg(t, "INBOX", readFixture(t, "italian.eml"))
	srv.appendMsg(t, "INBOX", readFixture(t, "japanese.eml"))

	got, newUV, err := Fetch(ctxT(t), cfg, oldUV, 3, 0)
	if err != nil {
		t.Fatal(err)
	}
	if newUV == oldUV {
		t.Fatalf("UIDVALIDITY stayed %d after the mailbox was re-created", newUV)
	}
	if !slices.Equal(uidsOf(got), []uint32{1, 2}) || got[0].UIDValidity != newUV {
		t.Fatalf("after renumbering got UIDs %v, want [1 2] from the start", uidsOf(got))
	}
}

func TestFetchOtherMailbox(t *testing.T) {
	srv := startIMAP(t, implicitTLS)
	if err := srv.user.Create("Replies/Acme", nil); err != nil {
		t.Fatal(err)
	}
	srv.appendMsg(t, "INBOX", readFixture(t, "gmail.eml"))
	srv.appendMsg(t, "Replies/Acme", readFixture(t, "signature.eml"))

	got, _, err := Fetch(ctxT(t), srv.config("imaps", testPass, "/Replies/Acme"), 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !bytes.Contains(got[0].Raw, []byte("carla@example.co.uk")) {
		t.Fatalf("fetched %d messages from Replies/Acme, want the one appended there", len(got))
	}

	_, _, err = Fetch(ctxT(t), srv.config("imaps", testPass, "/Nope"), 0, 0, 0)
	if err == nil || !strings.Contains(err.Error(), `"Nope"`) {
		t.Fatalf("missing mailbox: err = %v, want one naming the mailbox", err)
	}
}

func TestFetchWrongPassword(t *testing.T) {
	srv := startIMAP(t, implicitTLS)
	wrong := "hunter2-Wrong!"
	_, _, err := Fetch(ctxT(t), srv.config("imaps", wrong, "/INBOX"), 0, 0, 0)
	if err == nil {
		t.Fatal("login with a wrong password succeeded")
	}
	msg := err.Error()
	for _, secret := range []string{wrong, url.QueryEscape(wrong), url.PathEscape(wrong), testPass} {
		if strings.Contains(msg, secret) {
			t.Fatalf("error %q contains the password", msg)
		}
	}
	if !strings.Contains(msg, "login") || !strings.Contains(msg, testUser) {
		t.Fatalf("error %q should say the login as %s failed", msg, testUser)
	}
}

func TestFetchUntrustedCertificate(t *testing.T) {
	srv := startIMAP(t, implicitTLS)
	cfg := srv.config("imaps", testPass, "")
	cfg.TLSConfig = nil // system roots do not know the test certificate
	_, _, err := Fetch(ctxT(t), cfg, 0, 0, 0)
	if err == nil || strings.Contains(err.Error(), testPass) {
		t.Fatalf("err = %v, want a certificate error without the password", err)
	}
}

// A plain imap:// URL to a loopback address may skip TLS (a local bridge).
func TestFetchPlainLoopback(t *testing.T) {
	srv := startIMAP(t, plainText)
	srv.appendMsg(t, "INBOX", readFixture(t, "gmail.eml"))
	got, _, err := Fetch(ctxT(t), srv.config("imap", testPass, "/INBOX"), 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("got %d messages, want 1", len(got))
	}
}

// imap:// to any other host upgrades with STARTTLS before sending the
// password. The server here refuses LOGIN without TLS, so success proves the
// upgrade happened.
func TestFetchStartTLS(t *testing.T) {
	srv := startIMAP(t, startTLS)
	srv.appendMsg(t, "INBOX", readFixture(t, "outlook.eml"))
	cfg := srv.config("imap", testPass, "/INBOX")
	got, _, err := fetch(ctxT(t), cfg, modeStartTLS, srv.addr, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("got %d messages, want 1", len(got))
	}

	// The same server reached without STARTTLS refuses the login.
	if _, _, err := fetch(ctxT(t), cfg, modePlain, srv.addr, 0, 0, 0); err == nil {
		t.Fatal("plain-text login to a server requiring STARTTLS succeeded")
	}
}

func TestConnModeFor(t *testing.T) {
	tests := []struct {
		url  string
		mode connMode
		addr string
	}{
		{"imaps://u:p@imap.example.com/INBOX", modeTLS, "imap.example.com:993"},
		{"imaps://u:p@imap.example.com:1993", modeTLS, "imap.example.com:1993"},
		{"imap://u:p@imap.example.com/INBOX", modeStartTLS, "imap.example.com:143"},
		{"imap://u:p@10.0.0.5:143", modeStartTLS, "10.0.0.5:143"},
		{"imap://u:p@127.0.0.1:1143", modePlain, "127.0.0.1:1143"},
		{"imap://u:p@[::1]:1143", modePlain, "[::1]:1143"},
		{"imap://u:p@localhost", modePlain, "localhost:143"},
	}
	for _, tt := range tests {
		u, _ := url.Parse(tt.url)
		mode, addr, err := connModeFor(u)
		if err != nil || mode != tt.mode || addr != tt.addr {
			t.Errorf("connModeFor(%s) = %v, %s, %v; want %v, %s", tt.url, mode, addr, err, tt.mode, tt.addr)
		}
	}
	for _, bad := range []string{"pop3://u:topsecret@mail.example.com", "imaps://u:topsecret@/INBOX"} {
		u, _ := url.Parse(bad)
		_, _, err := Fetch(context.Background(), IMAPConfig{URL: u}, 0, 0, 0)
		if err == nil || strings.Contains(err.Error(), "topsecret") {
			t.Errorf("Fetch(%s) err = %v, want an error without the password", bad, err)
		}
	}
}

func TestFetchCancelled(t *testing.T) {
	srv := startIMAP(t, implicitTLS)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := Fetch(ctx, srv.config("imaps", testPass, ""), 0, 0, 0)
	if err == nil {
		t.Fatal("Fetch with a cancelled context succeeded")
	}
}
