package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Credentials of the real-server test. The SMTP password has every
// character that breaks a URL's user-info (SPEC 1.1); ':' is left out
// because Dovecot's passwd-file uses it as the field separator.
const (
	realSMTPUser     = "mailer@acme.example"
	realSMTPPassword = "S3nd@/#%?only-Ünïcode"
	realIMAPUser     = "replies@acme.example"
	realIMAPPassword = "R3ad#/@%replies"
)

// mailServers is a Postfix and a Dovecot of the test's own, on loopback:
// Postfix takes mail on smtpPort (STARTTLS required, SASL AUTH through
// Dovecot's auth socket) and delivers every address of every domain to a
// Maildir (replies@acme.example and its plus-addresses to their own);
// Dovecot serves that replies Maildir over IMAPS on imapsPort.
type mailServers struct {
	dir                 string
	pki                 testPKI
	smtpPort, imapsPort int
	customers, replies  string // Maildirs
	postfix, dovecot    *daemon
	roots               *x509.CertPool
}

// startMailServers configures and starts both servers in a fresh
// directory. Postfix's master runs as root (it refuses anything else) and
// its daemons as the postfix user; Dovecot runs entirely as nobody, the
// user mail is delivered and read as.
func startMailServers(t *testing.T, progs map[string]string) *mailServers {
	t.Helper()
	dir, err := os.MkdirTemp("", "herald-realmail-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if os.Getenv("HERALD_KEEP_MAILDIR") == "" {
			os.RemoveAll(dir)
		}
	})
	// The unprivileged daemons walk into it.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	m := &mailServers{dir: dir, pki: newTestPKI(t, filepath.Join(dir, "tls")), smtpPort: freePort(t), imapsPort: freePort(t)}
	pem, _ := os.ReadFile(m.pki.caFile)
	m.roots = x509.NewCertPool()
	m.roots.AppendCertsFromPEM(pem)
	const vmailUser = "nobody"
	vmailUID, vmailGID := systemUser(t, vmailUser)
	g, err := user.LookupGroupId(strconv.Itoa(vmailGID))
	if err != nil {
		t.Fatal(err)
	}
	vmailGroup := g.Name

	mail := filepath.Join(dir, "mail")
	m.customers, m.replies = filepath.Join(mail, "customers"), filepath.Join(mail, "replies")
	for _, md := range []string{m.customers, m.replies} {
		for _, sub := range []string{"new", "cur", "tmp"} {
			if err := os.MkdirAll(filepath.Join(md, sub), 0o700); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := chownTree(mail, vmailUID, vmailGID); err != nil {
		t.Fatal(err)
	}

	// Dovecot: IMAPS for the replies mailbox, and the SASL socket Postfix
	// authenticates its SMTP clients through.
	dv := filepath.Join(dir, "dovecot")
	writeFile(t, filepath.Join(dv, "users"), fmt.Sprintf(
		"%s:{PLAIN}%s:%d:%d::%s::userdb_mail=maildir:%s\n%s:{PLAIN}%s:%d:%d::%s::\n",
		realIMAPUser, realIMAPPassword, vmailUID, vmailGID, m.replies, m.replies,
		realSMTPUser, realSMTPPassword, vmailUID, vmailGID, filepath.Join(mail, "nohome")), 0o644)
	authSocket := filepath.Join(dv, "run", "auth-postfix")
	writeFile(t, filepath.Join(dv, "dovecot.conf"), fmt.Sprintf(`
base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/dovecot.log
protocols = imap
listen = 127.0.0.1
# Dovecot runs entirely as the mail user: no privilege to drop, no chroot.
default_internal_user = %[5]s
default_login_user = %[5]s
default_internal_group = %[6]s
first_valid_uid = 1
auth_failure_delay = 0
ssl = required
ssl_cert = <%[2]s
ssl_key = <%[3]s
ssl_min_protocol = TLSv1.2
auth_mechanisms = plain login
disable_plaintext_auth = yes
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%%u %[1]s/users
}
userdb {
  driver = passwd-file
  args = username_format=%%u %[1]s/users
}
service imap-login {
  chroot =
  inet_listener imap {
    port = 0
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = %[4]d
    ssl = yes
  }
}
service auth {
  unix_listener auth-postfix {
    mode = 0666
  }
}
service anvil {
  chroot =
}
service stats {
  unix_listener stats-reader {
    mode = 0600
  }
  unix_listener stats-writer {
    mode = 0600
  }
}
`, dv, m.pki.certFile, m.pki.keyFile, m.imapsPort, vmailUser, vmailGroup), 0o644)
	if err := chownTree(dv, vmailUID, vmailGID); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(m.pki.keyFile, vmailUID, vmailGID); err != nil {
		t.Fatal(err)
	}
	m.dovecot = startDaemonAs(t, "dovecot", filepath.Join(dv, "dovecot.log"), &syscall.Credential{Uid: uint32(vmailUID), Gid: uint32(vmailGID)},
		progs["dovecot"], "-F", "-c", filepath.Join(dv, "dovecot.conf"))
	m.dovecot.waitGreeting(t, m.imapsPort, "* OK", func(c net.Conn) net.Conn {
		return tls.Client(c, &tls.Config{RootCAs: m.roots, ServerName: "127.0.0.1"})
	})
	waitFile(t, authSocket, m.dovecot)

	// Postfix: a submission-style SMTP on a loopback port that requires
	// STARTTLS, authenticates through Dovecot, and delivers every domain
	// to Maildirs with the virtual delivery agent.
	pf := filepath.Join(dir, "postfix")
	writeFile(t, filepath.Join(pf, "mailboxes"), "/^replies(\\+.*)?@acme\\.example$/ replies/\n/./ customers/\n", 0o644)
	writeFile(t, filepath.Join(pf, "domains"), "/./ OK\n", 0o644)
	writeFile(t, filepath.Join(pf, "main.cf"), fmt.Sprintf(`
compatibility_level = 3.6
queue_directory = %[1]s/spool
data_directory = %[1]s/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.herald.test
mydomain = herald.test
myorigin = $myhostname
mydestination =
mynetworks = 127.0.0.0/8
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
smtputf8_enable = no
maillog_file = %[1]s/postfix.log
maillog_file_prefixes = %[1]s
alias_maps =
alias_database =
local_recipient_maps =
biff = no
smtpd_banner = $myhostname ESMTP
# No tarpit after the wrong-password case: the test wants it fast.
smtpd_error_sleep_time = 0
smtpd_soft_error_limit = 1000
smtpd_hard_error_limit = 1000
smtpd_tls_cert_file = %[2]s
smtpd_tls_key_file = %[3]s
smtpd_tls_security_level = encrypt
smtpd_tls_auth_only = yes
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = %[4]s
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
smtpd_recipient_restrictions = permit_sasl_authenticated, reject_unauth_destination
smtpd_sender_restrictions =
smtpd_client_restrictions =
smtpd_helo_restrictions =
virtual_mailbox_domains = regexp:%[1]s/domains
virtual_mailbox_base = %[5]s
virtual_mailbox_maps = regexp:%[1]s/mailboxes
virtual_uid_maps = static:%[6]d
virtual_gid_maps = static:%[7]d
virtual_minimum_uid = 1
virtual_mailbox_limit = 0
recipient_delimiter = +
`, pf, m.pki.certFile, m.pki.keyFile, authSocket, mail, vmailUID, vmailGID), 0o644)
	// Only what this test needs, nothing chrooted (the chroot would need
	// a copy of /etc and the SASL socket inside the queue directory).
	writeFile(t, filepath.Join(pf, "master.cf"), fmt.Sprintf(`
127.0.0.1:%d inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
`, m.smtpPort), 0o644)
	// The queue is created by postfix itself; its parent must exist, and
	// the data directory belongs to the mail owner.
	postfixUID, postfixGID := systemUser(t, "postfix")
	for _, d := range []string{filepath.Join(pf, "spool"), filepath.Join(pf, "data")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chown(filepath.Join(pf, "data"), postfixUID, postfixGID); err != nil {
		t.Fatal(err)
	}
	m.postfix = startDaemon(t, "postfix", filepath.Join(pf, "postfix.log"), progs["postfix"], "-c", pf, "start-fg")
	t.Cleanup(func() {
		// start-fg's master stops on SIGTERM to its group (startDaemon);
		// this is the polite way first.
		cmdStop := []string{progs["postfix"], "-c", pf, "stop"}
		_ = runQuiet(cmdStop...)
	})
	m.postfix.waitGreeting(t, m.smtpPort, "220 ", nil)
	return m
}

func chownTree(dir string, uid, gid int) error {
	return filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Chown(p, uid, gid)
	})
}

// waitFile waits for a file (a socket) the daemon creates.
func waitFile(t *testing.T, path string, d *daemon) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(path); err == nil {
			return
		}
	}
	t.Fatalf("%s did not create %s\n%s", d.name, path, d.logs())
}

// maildirFiles lists the messages delivered to a Maildir.
func maildirFiles(t *testing.T, md string) []string {
	t.Helper()
	var out []string
	for _, sub := range []string{"new", "cur"} {
		entries, err := os.ReadDir(filepath.Join(md, sub))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			out = append(out, filepath.Join(md, sub, e.Name()))
		}
	}
	return out
}

// waitDelivered waits until the Maildir holds n messages (Postfix delivers
// a moment after it accepted), then a little longer to see no more come.
func (m *mailServers) waitDelivered(t *testing.T, md string, n int) []string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		files := maildirFiles(t, md)
		if len(files) >= n {
			time.Sleep(500 * time.Millisecond)
			return maildirFiles(t, md)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s holds %d messages after 60s, want %d\n%s", md, len(files), n, m.postfix.logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func runQuiet(argv ...string) error {
	return exec.Command(argv[0], argv[1:]...).Run()
}

// tlsConfig trusts the test's private CA only.
func (m *mailServers) tlsConfig() *tls.Config {
	return &tls.Config{RootCAs: m.roots, ServerName: "127.0.0.1"}
}

func (m *mailServers) String() string {
	return strings.Join([]string{m.dovecot.logs(), m.postfix.logs()}, "\n")
}
