package main

import (
	"bytes"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/smtp"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// runHeraldProcess runs this test binary as the herald command in dir,
// with extra environment, and returns its exit status and output.
func runHeraldProcess(t *testing.T, dir string, env []string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "HERALD_TEST_AS_MAIN=1", "HERALD_CONFIG="), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running herald %s: %v", strings.Join(args, " "), err)
	}
	return code, out.String()
}

// setupRealCampaign is the demo campaign sent by e-mail only, through the
// test's Postfix, with replies read from its Dovecot: credentials in
// username/password keys and ${VAR}, the private CA in ca_file.
func setupRealCampaign(t *testing.T, m *mailServers) string {
	t.Helper()
	dir := t.TempDir()
	if err := copyDir("../../testdata/demo", dir); err != nil {
		t.Fatal(err)
	}
	campPath := filepath.Join(dir, "campaign.toml")
	camp, err := os.ReadFile(campPath)
	if err != nil {
		t.Fatal(err)
	}
	const from = `channels = ["whatsapp", "line", "sms", "email"]`
	if !bytes.Contains(camp, []byte(from)) {
		t.Fatalf("demo campaign.toml no longer has %s", from)
	}
	writeFile(t, campPath, string(bytes.Replace(camp, []byte(from), []byte(`channels = ["email"]`), 1)), 0o644)
	writeFile(t, filepath.Join(dir, "herald.toml"), fmt.Sprintf(`state_dir = "state"
public_url = "https://notify.acme.example"

[channels.email]
backend = "smtp"
url = "smtp://127.0.0.1:%d"
username = %q
password = "${SMTP_PASSWORD}"
ca_file = %q
from = "Acme Support <support@acme.example>"
reply_to = "replies@acme.example"
reply_plus = true
concurrency = 2
retries = 1

[replies.imap]
url = "imaps://${IMAP_USER}:${IMAP_PASSWORD}@127.0.0.1:%d/INBOX"
ca_file = %q
`, m.smtpPort, realSMTPUser, m.pki.caFile, m.imapsPort, m.pki.caFile), 0o644)
	return dir
}

// TestRealMailServers sends the multilingual demo through a stock Postfix
// (STARTTLS with a private CA trusted through ca_file, SASL through
// Dovecot), checks every delivered message strictly, fetches two replies
// written the way Gmail and Outlook write them from Dovecot over IMAPS, and
// shows that a wrong password stops the channel (exit 3) without costing
// any recipient: the rerun with the right one delivers everyone.
func TestRealMailServers(t *testing.T) {
	progs := needPrograms(t, true, "postfix", "dovecot")
	began := time.Now()
	m := startMailServers(t, progs)
	t.Logf("Postfix and Dovecot up in %v", time.Since(began).Round(time.Millisecond))
	dir := setupRealCampaign(t, m)
	imapEnv := []string{"IMAP_USER=" + realIMAPUser, "IMAP_PASSWORD=" + realIMAPPassword}

	// Without ca_file the server's certificate cannot be verified: the
	// channel stops (exit 3) with a message that names ca_file, and no
	// message leaves.
	cfg, err := os.ReadFile(filepath.Join(dir, "herald.toml"))
	if err != nil {
		t.Fatal(err)
	}
	noCA := strings.Replace(string(cfg), fmt.Sprintf("ca_file = %q\nfrom", m.pki.caFile), "from", 1)
	if noCA == string(cfg) {
		t.Fatal("could not drop ca_file from the channel")
	}
	writeFile(t, filepath.Join(dir, "noca.toml"), noCA, 0o644)
	step := time.Now()
	code, out := runHeraldProcess(t, dir, append(imapEnv, "SMTP_PASSWORD="+realSMTPPassword), "--config", "noca.toml", "send", "--now", e2eNow, "campaign.toml")
	t.Logf("send without ca_file: exit %d in %v", code, time.Since(step).Round(time.Millisecond))
	if code != 3 || !strings.Contains(out, "ca_file") || !strings.Contains(out, "certificate") {
		t.Errorf("send without ca_file exited %d, want 3 and a message naming ca_file\n%s", code, out)
	}

	// A wrong password: the channel stops at once, exit 3, the answer and
	// the hint are printed, nothing is delivered, nobody is failed.
	wrong := "Wr0ng@/#%pass"
	step = time.Now()
	code, out = runHeraldProcess(t, dir, append(imapEnv, "SMTP_PASSWORD="+wrong), "send", "--now", e2eNow, "campaign.toml")
	t.Logf("send with a wrong password: exit %d in %v", code, time.Since(step).Round(time.Millisecond))
	if code != 3 {
		t.Errorf("send with a wrong password exited %d, want 3\n%s", code, out)
	}
	for _, want := range []string{"email", "535", "check the user and password"} {
		if !strings.Contains(out, want) {
			t.Errorf("output does not contain %q:\n%s", want, out)
		}
	}
	for _, secret := range []string{wrong, realSMTPPassword, realIMAPPassword} {
		if strings.Contains(out, secret) {
			t.Errorf("output shows a password:\n%s", out)
		}
	}
	time.Sleep(time.Second) // anything Postfix took would be delivered by now
	if n := len(maildirFiles(t, m.customers)); n != 0 {
		t.Fatalf("%d messages delivered with a wrong password", n)
	}
	code, out = runHeraldProcess(t, dir, append(imapEnv, "SMTP_PASSWORD="+wrong), "plan", "--now", e2eNow, "--format", "json", "campaign.toml")
	if code != 0 {
		t.Fatalf("plan exited %d\n%s", code, out)
	}
	var rows []struct{ ID, Channel, State string }
	if err := json.Unmarshal([]byte(out[strings.Index(out, "["):]), &rows); err != nil {
		t.Fatalf("plan json: %v\n%s", err, out)
	}
	due := 0
	for _, r := range rows {
		if r.State == "failed" || r.State == "sent" || r.State == "in-doubt" {
			t.Errorf("after the refused login %s is %s, want it still due", r.ID, r.State)
		}
		if r.Channel == "email" {
			due++ // everyone the campaign reaches by e-mail
		}
	}
	if due < 20 {
		t.Fatalf("only %d recipients due by e-mail in the demo, want at least 20", due)
	}

	// The right password: a plain rerun delivers everyone.
	sendStart := time.Now()
	code, out = runHeraldProcess(t, dir, append(imapEnv, "SMTP_PASSWORD="+realSMTPPassword), "send", "--now", e2eNow, "campaign.toml")
	if code != 0 {
		t.Fatalf("send with the right password exited %d\n%s\n%s", code, out, m.postfix.logs())
	}
	sent := 0
	for _, l := range readJournal(t, filepath.Join(dir, "state")) {
		if l.Channel == "email" && l.Status == "sent" {
			sent++
		}
	}
	if sent != due {
		t.Errorf("journal has %d e-mails sent, %d were due", sent, due)
	}
	files := m.waitDelivered(t, m.customers, due)
	t.Logf("%d messages sent and delivered to Maildir in %v", len(files), time.Since(sendStart).Round(time.Millisecond))
	if len(files) != due {
		t.Errorf("Maildir holds %d messages, want exactly %d", len(files), due)
	}
	scripts := map[string]bool{}
	byLocale := map[string]deliveredMessage{}
	for _, f := range files {
		dm := checkDelivered(t, f)
		for _, r := range dm.subject + dm.text {
			switch {
			case unicode.In(r, unicode.Hiragana, unicode.Katakana):
				scripts["ja"] = true
				byLocale["ja"] = dm
			case unicode.Is(unicode.Arabic, r):
				scripts["ar"] = true
				byLocale["ar"] = dm
			}
		}
	}
	if !scripts["ja"] || !scripts["ar"] {
		t.Errorf("delivered mail has Japanese %v and Arabic %v text, want both", scripts["ja"], scripts["ar"])
	}
	checkWithPythonStrict(t, files)

	// Two customers answer, one from Gmail, one from Outlook, through the
	// same Postfix, into the replies mailbox.
	gmail, outlook := byLocale["ja"], byLocale["ar"]
	deliverReply(t, m, gmail.to, gmail.replyTo, gmailReply(gmail))
	deliverReply(t, m, outlook.to, outlook.replyTo, outlookReply(outlook))
	m.waitDelivered(t, m.replies, 2)
	step = time.Now()
	code, out = runHeraldProcess(t, dir, append(imapEnv, "SMTP_PASSWORD="+realSMTPPassword), "replies", "fetch")
	t.Logf("replies fetch: exit %d in %v", code, time.Since(step).Round(time.Millisecond))
	if code != 0 {
		t.Fatalf("replies fetch exited %d\n%s\n%s", code, out, m.dovecot.logs())
	}
	if strings.Contains(out, "UIDVALIDITY") || strings.Contains(out, realIMAPPassword) {
		t.Errorf("first fetch output:\n%s", out)
	}
	replies := readRepliesCSV(t, filepath.Join(dir, "state", "replies.csv"))
	if len(replies) != 2 {
		t.Fatalf("replies.csv has %d rows, want 2: %v", len(replies), replies)
	}
	want := map[string]struct{ recipient, text string }{
		gmail.to:   {gmail.recipientID(t, dir), "承知しました"},
		outlook.to: {outlook.recipientID(t, dir), "شكرا"},
	}
	for _, r := range replies {
		w, ok := want[r["from"]]
		if !ok {
			t.Errorf("reply from %q, want one of the two customers", r["from"])
			continue
		}
		if r["recipient_id"] != w.recipient || r["campaign"] != demoCampaign || !strings.HasPrefix(r["text"], w.text) {
			t.Errorf("reply row %v, want recipient %s, campaign %s, text starting %q", r, w.recipient, demoCampaign, w.text)
		}
		if strings.Contains(r["text"], "wrote:") || strings.Contains(r["text"], "From:") {
			t.Errorf("quoted history kept in %q", r["text"])
		}
	}
	// No password in any state file (journal, replies, checkpoint).
	filepath.WalkDir(filepath.Join(dir, "state"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, _ := os.ReadFile(p)
		for _, secret := range []string{wrong, realSMTPPassword, realIMAPPassword} {
			if bytes.Contains(raw, []byte(secret)) {
				t.Errorf("%s holds a password", p)
			}
		}
		return nil
	})
	t.Logf("real-server test took %v", time.Since(began).Round(time.Millisecond))
}

// deliveredMessage is what the test needs of a delivered campaign e-mail.
type deliveredMessage struct {
	messageID, to, replyTo, subject, text string
}

// recipientID finds the audience id of the message's address in the
// journal.
func (d deliveredMessage) recipientID(t *testing.T, dir string) string {
	t.Helper()
	for _, l := range readJournal(t, filepath.Join(dir, "state")) {
		if l.Status == "sent" && l.Address == d.to {
			return l.Recipient
		}
	}
	t.Fatalf("no journal line sent to %s", d.to)
	return ""
}

// checkDelivered parses a delivered message strictly: ASCII headers,
// lines of at most 998 bytes, RFC 2047 words that decode, the addresses,
// the date, the campaign headers herald promises, and a multipart body
// whose parts decode to valid UTF-8.
func checkDelivered(t *testing.T, path string) deliveredMessage {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Base(path)
	head, _, ok := bytes.Cut(raw, []byte("\n\n"))
	if !ok {
		t.Fatalf("%s: no blank line after the header", name)
	}
	for i, c := range head {
		if c >= 0x80 || c == 0 {
			t.Fatalf("%s: header byte %d is not ASCII (0x%02x)", name, i, c)
		}
	}
	for i, line := range bytes.Split(raw, []byte("\n")) {
		if len(bytes.TrimSuffix(line, []byte("\r"))) > 998 {
			t.Errorf("%s: line %d is %d bytes, RFC 5322 allows 998", name, i+1, len(line))
		}
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	h := msg.Header
	dec := new(mime.WordDecoder)
	decode := func(field string) string {
		v, err := dec.DecodeHeader(h.Get(field))
		if err != nil || !utf8.ValidString(v) {
			t.Errorf("%s: %s %q does not decode: %v", name, field, h.Get(field), err)
		}
		return v
	}
	for field, want := range map[string]string{
		"List-Id":               "<" + demoCampaign + ".acme.example>",
		"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
		"Mime-Version":          "1.0",
	} {
		if got := h.Get(field); got != want {
			t.Errorf("%s: %s %q, want %q", name, field, got, want)
		}
	}
	if lu := h.Get("List-Unsubscribe"); !strings.HasPrefix(lu, "<https://notify.acme.example/") || !strings.HasSuffix(lu, ">") {
		t.Errorf("%s: List-Unsubscribe %q", name, lu)
	}
	id := h.Get("Message-Id")
	if !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@acme.example>") {
		t.Errorf("%s: Message-ID %q", name, id)
	}
	if _, err := mail.ParseDate(h.Get("Date")); err != nil {
		t.Errorf("%s: Date: %v", name, err)
	}
	for _, field := range []string{"From", "To", "Reply-To"} {
		if _, err := (&mail.AddressParser{WordDecoder: dec}).Parse(h.Get(field)); err != nil {
			t.Errorf("%s: %s %q: %v", name, field, h.Get(field), err)
		}
	}
	to, _ := mail.ParseAddress(h.Get("To"))
	replyTo, _ := mail.ParseAddress(h.Get("Reply-To"))
	subject := decode("Subject")
	if strings.TrimSpace(subject) == "" {
		t.Errorf("%s: empty subject", name)
	}
	// A template with HTML gives multipart/alternative, one without a
	// single text/plain part; either way every part decodes to UTF-8.
	var text string
	types := map[string]bool{}
	checkPart := func(header map[string][]string, body io.Reader) {
		hdr := mail.Header(header)
		pct, pp, err := mime.ParseMediaType(hdr.Get("Content-Type"))
		if err != nil || !strings.EqualFold(pp["charset"], "utf-8") {
			t.Errorf("%s: part Content-Type %q: %v", name, hdr.Get("Content-Type"), err)
		}
		types[pct] = true
		r := body
		switch cte := strings.ToLower(hdr.Get("Content-Transfer-Encoding")); cte {
		case "quoted-printable":
			r = quotedprintable.NewReader(body)
		case "base64":
			r = base64.NewDecoder(base64.StdEncoding, body)
		case "", "7bit":
		default:
			t.Errorf("%s: Content-Transfer-Encoding %q", name, cte)
		}
		b, err := io.ReadAll(r)
		if err != nil || !utf8.Valid(b) || len(bytes.TrimSpace(b)) == 0 {
			t.Errorf("%s: %s part does not decode to UTF-8 text: %v", name, pct, err)
		}
		if pct == "text/plain" {
			text = string(b)
		}
	}
	ct, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	switch {
	case err != nil:
		t.Fatalf("%s: Content-Type %q: %v", name, h.Get("Content-Type"), err)
	case ct == "multipart/alternative" && params["boundary"] != "":
		mr := multipart.NewReader(msg.Body, params["boundary"])
		for {
			part, err := mr.NextRawPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			checkPart(part.Header, part)
		}
		if !types["text/plain"] || !types["text/html"] {
			t.Errorf("%s: parts %v, want text/plain and text/html", name, types)
		}
	case ct == "text/plain":
		checkPart(h, msg.Body)
	default:
		t.Fatalf("%s: Content-Type %q, want multipart/alternative or text/plain", name, h.Get("Content-Type"))
	}
	d := deliveredMessage{messageID: id, subject: subject, text: text}
	if to != nil {
		d.to = to.Address
	}
	if replyTo != nil {
		d.replyTo = replyTo.Address
	}
	return d
}

// checkWithPythonStrict parses every message with Python's e-mail package
// under policy.strict, which raises on any defect, and also looks at the
// defects lists of every part.
func checkWithPythonStrict(t *testing.T, files []string) {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Log("python3 not found: the Go parser's checks stand alone")
		return
	}
	const script = `
import sys, email, email.policy
bad = 0
for path in sys.argv[1:]:
    with open(path, "rb") as f:
        try:
            msg = email.message_from_binary_file(f, policy=email.policy.strict)
            for part in msg.walk():
                for h, v in part.items():
                    _ = str(v)
                    if getattr(v, "defects", None):
                        print(path, h, v.defects); bad += 1
                if part.defects:
                    print(path, part.defects); bad += 1
                if not part.is_multipart():
                    part.get_content()
        except Exception as e:
            print(path, type(e).__name__, e); bad += 1
sys.exit(1 if bad else 0)
`
	out, err := exec.Command(py, append([]string{"-c", script}, files...)...).CombinedOutput()
	if err != nil {
		t.Errorf("python email.policy.strict found defects: %v\n%s", err, out)
	}
}

// deliverReply submits a reply to Postfix as a customer's mail server
// would: STARTTLS, no login (the replies domain is Postfix's own).
func deliverReply(t *testing.T, m *mailServers, from, to string, msg []byte) {
	t.Helper()
	c, err := smtp.Dial(fmt.Sprintf("127.0.0.1:%d", m.smtpPort))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("mail.customer.example"); err != nil {
		t.Fatal(err)
	}
	if err := c.StartTLS(m.tlsConfig()); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail(from); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt(to); err != nil {
		t.Fatalf("RCPT TO %s: %v", to, err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(msg); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
}

// gmailReply is a reply as Gmail writes it: In-Reply-To and References,
// multipart/alternative with base64 UTF-8 text, the original quoted under
// an attribution line in the customer's language.
func gmailReply(orig deliveredMessage) []byte {
	quoted := "> " + strings.ReplaceAll(strings.TrimSpace(orig.text), "\n", "\n> ")
	text := "承知しました。火曜日の午後なら受け取れます。\r\n\r\n" +
		"2026年11月23日(月) 10:00 Acme Support <support@acme.example>:\r\n\r\n" +
		strings.ReplaceAll(quoted, "\n", "\r\n") + "\r\n"
	html := `<div dir="ltr">承知しました。火曜日の午後なら受け取れます。</div><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">2026年11月23日(月) 10:00 Acme Support &lt;<a href="mailto:support@acme.example">support@acme.example</a>&gt;:<br></div><blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex">` + orig.subject + `</blockquote></div>`
	var b strings.Builder
	fmt.Fprintf(&b, "MIME-Version: 1.0\r\nDate: Mon, 23 Nov 2026 11:02:13 +0900\r\n")
	fmt.Fprintf(&b, "References: %s\r\nIn-Reply-To: %s\r\n", orig.messageID, orig.messageID)
	fmt.Fprintf(&b, "Message-ID: <CAJq8m+3xYz-gmail-reply-1@mail.gmail.com>\r\n")
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.BEncoding.Encode("UTF-8", "Re: "+orig.subject))
	fmt.Fprintf(&b, "From: %s\r\n", (&mail.Address{Name: "山田 太郎", Address: orig.to}).String())
	fmt.Fprintf(&b, "To: Acme Support <%s>\r\n", orig.replyTo)
	fmt.Fprintf(&b, "Content-Type: multipart/alternative; boundary=\"000000000000b1c2d305f4a1e9c7\"\r\n\r\n")
	for _, p := range []struct{ ct, body string }{{"text/plain", text}, {"text/html", html}} {
		fmt.Fprintf(&b, "--000000000000b1c2d305f4a1e9c7\r\nContent-Type: %s; charset=\"UTF-8\"\r\nContent-Transfer-Encoding: base64\r\n\r\n", p.ct)
		enc := base64.StdEncoding.EncodeToString([]byte(p.body))
		for len(enc) > 76 {
			b.WriteString(enc[:76] + "\r\n")
			enc = enc[76:]
		}
		b.WriteString(enc + "\r\n")
	}
	b.WriteString("--000000000000b1c2d305f4a1e9c7--\r\n")
	return []byte(b.String())
}

// outlookReply is a reply as Outlook writes it: no In-Reply-To (a
// forward-and-reply from another device often drops it), a Thread-Index,
// the plus-addressed Reply-To herald set, and the original under a
// From:/Sent:/To:/Subject: block.
func outlookReply(orig deliveredMessage) []byte {
	text := "شكرا، سأنتظر الطلب.\r\n\r\n" +
		"________________________________\r\n" +
		"From: Acme Support <support@acme.example>\r\n" +
		"Sent: Monday, November 23, 2026 10:00 AM\r\n" +
		"To: " + orig.to + "\r\n" +
		"Subject: " + orig.subject + "\r\n\r\n" +
		strings.ReplaceAll(strings.TrimSpace(orig.text), "\n", "\r\n") + "\r\n"
	html := `<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"></head><body dir="rtl"><div class="WordSection1"><p class="MsoNormal">شكرا، سأنتظر الطلب.</p><div id="divRplyFwdMsg"><hr><b>From:</b> Acme Support &lt;support@acme.example&gt;<br><b>Sent:</b> Monday, November 23, 2026 10:00 AM</div></div></body></html>`
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\n", (&mail.Address{Name: "محمد", Address: orig.to}).String())
	fmt.Fprintf(&b, "To: \"%s\" <%s>\r\n", orig.replyTo, orig.replyTo)
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.BEncoding.Encode("UTF-8", "RE: "+orig.subject))
	fmt.Fprintf(&b, "Thread-Topic: %s\r\nThread-Index: AQHZ1n3k2b7c8d9e0f1g2h3i4j5k6l7m8n9o\r\n", mime.BEncoding.Encode("UTF-8", orig.subject))
	fmt.Fprintf(&b, "Date: Mon, 23 Nov 2026 09:15:02 +0000\r\nMessage-ID: <AM0PR07MB1234ABCD9999@AM0PR07MB1234.eurprd07.prod.outlook.com>\r\n")
	fmt.Fprintf(&b, "Content-Language: ar-EG\r\nContent-Type: multipart/alternative;\r\n\tboundary=\"_000_AM0PR07MB1234ABCD9999_\"\r\nMIME-Version: 1.0\r\n\r\n")
	for _, p := range []struct{ ct, body string }{{"text/plain", text}, {"text/html", html}} {
		var qp bytes.Buffer
		w := quotedprintable.NewWriter(&qp)
		w.Write([]byte(p.body))
		w.Close()
		fmt.Fprintf(&b, "--_000_AM0PR07MB1234ABCD9999_\r\nContent-Type: %s; charset=\"utf-8\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n%s\r\n\r\n", p.ct, qp.String())
	}
	b.WriteString("--_000_AM0PR07MB1234ABCD9999_--\r\n")
	return []byte(b.String())
}

// readRepliesCSV reads replies.csv by its header names.
func readRepliesCSV(t *testing.T, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil || len(recs) == 0 {
		t.Fatalf("%s: %v", path, err)
	}
	var out []map[string]string
	for _, rec := range recs[1:] {
		row := map[string]string{}
		for i, k := range recs[0] {
			if i < len(rec) {
				row[k] = rec[i]
			}
		}
		out = append(out, row)
	}
	return out
}
