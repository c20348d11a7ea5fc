package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
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

// The real-server tests run stock Debian daemons nobody on this project
// wrote: Postfix, Dovecot and SpamAssassin. Outside CI (CI unset) they skip
// when the programs are missing; in CI (.ci/run installs them) a server
// that cannot start fails the test.

// needPrograms returns the paths of the named programs, or skips (outside
// CI) or fails (in CI) when one is missing or the test cannot run them.
func needPrograms(t *testing.T, needRoot bool, names ...string) map[string]string {
	t.Helper()
	paths := map[string]string{}
	var missing []string
	for _, n := range names {
		p, err := exec.LookPath(n)
		if err != nil {
			for _, dir := range []string{"/usr/sbin", "/usr/bin"} {
				if _, serr := os.Stat(filepath.Join(dir, n)); serr == nil {
					p, err = filepath.Join(dir, n), nil
				}
			}
		}
		if err != nil {
			missing = append(missing, n)
			continue
		}
		paths[n] = p
	}
	var why string
	switch {
	case len(missing) > 0:
		why = "not installed: " + strings.Join(missing, ", ") + " (apt-get install postfix dovecot-imapd dovecot-core spamassassin, as .ci/run does)"
	case needRoot && os.Geteuid() != 0:
		// Postfix's master refuses to start for anyone but root; its
		// daemons and Dovecot's then run as their unprivileged users.
		why = "Postfix's master must be started by root"
	}
	if why != "" {
		if os.Getenv("CI") == "" {
			t.Skip(why)
		}
		t.Fatalf("CI is set and the real-server test cannot run: %s", why)
	}
	return paths
}

// freePort returns a loopback TCP port nobody listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// testPKI is a private CA and a server certificate for 127.0.0.1 it signed,
// as PEM files: what an operator with an internal mail server has.
type testPKI struct {
	caFile, certFile, keyFile string
}

func newTestPKI(t *testing.T, dir string) testPKI {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "herald test private CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, BasicConstraintsValid: true, IsCA: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "mx.herald.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost", "mx.herald.test"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	p := testPKI{caFile: filepath.Join(dir, "private-ca.pem"), certFile: filepath.Join(dir, "server.pem"), keyFile: filepath.Join(dir, "server.key")}
	writeFile(t, p.caFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})), 0o644)
	writeFile(t, p.certFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), 0o644)
	// Read by Postfix and Dovecot while still root; nobody else needs it.
	writeFile(t, p.keyFile, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})), 0o600)
	return p
}

func writeFile(t *testing.T, path, text string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), mode); err != nil {
		t.Fatal(err)
	}
}

// systemUser looks up a user the Debian packages create.
func systemUser(t *testing.T, name string) (uid, gid int) {
	t.Helper()
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatalf("system user %s: %v (installed with the postfix and dovecot packages)", name, err)
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	return uid, gid
}

// daemon is a server process started by the test in its own process group.
type daemon struct {
	name string
	cmd  *exec.Cmd
	log  string // where its log goes, shown when it fails
}

func startDaemon(t *testing.T, name, logPath string, argv ...string) *daemon {
	t.Helper()
	return startDaemonAs(t, name, logPath, nil, argv...)
}

// startDaemonAs starts the daemon as the given user (nil: as the test).
func startDaemonAs(t *testing.T, name, logPath string, cred *syscall.Credential, argv ...string) *daemon {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	out, err := os.Create(logPath + ".out")
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: cred}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	d := &daemon{name: name, cmd: cmd, log: logPath}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		out.Close()
	})
	return d
}

// logs returns what the daemon wrote, for a failure message.
func (d *daemon) logs() string {
	var b strings.Builder
	for _, p := range []string{d.log, d.log + ".out"} {
		if raw, err := os.ReadFile(p); err == nil {
			s := string(raw)
			if len(s) > 4000 {
				s = "…" + s[len(s)-4000:]
			}
			fmt.Fprintf(&b, "--- %s\n%s", p, s)
		}
	}
	return b.String()
}

// waitGreeting waits until the daemon answers on port with a line starting
// with prefix ("220 ", "* OK").
func (d *daemon) waitGreeting(t *testing.T, port int, prefix string, tlsWrap func(net.Conn) net.Conn) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			c := conn
			if tlsWrap != nil {
				c = tlsWrap(conn)
			}
			c.SetDeadline(time.Now().Add(3 * time.Second))
			line, rerr := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if rerr == nil && strings.HasPrefix(line, prefix) {
				return
			}
			last = fmt.Errorf("greeting %q, %v", line, rerr)
		} else {
			last = err
		}
		if d.cmd.ProcessState != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s did not start on 127.0.0.1:%d: %v\n%s", d.name, port, last, d.logs())
}
