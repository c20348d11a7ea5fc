package channels

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
)

// TLSOptions are the TLS keys of every network channel and of
// [replies.imap]: `ca_file` and `tls_insecure_skip_verify` (SPEC 1.1).
type TLSOptions struct {
	// CAFile is the PEM file named by ca_file (resolved to a path), ""
	// when not set. It is kept for messages: a certificate error names it.
	CAFile string
	// RootCAs trusts the system's roots plus the CAs of CAFile; nil means
	// the system's roots (and SSL_CERT_FILE) alone.
	RootCAs *x509.CertPool
	// InsecureSkipVerify accepts any certificate; `herald check` warns.
	InsecureSkipVerify bool
}

// LoadCAFile reads a PEM file of CA certificates and returns them added to
// the system's roots: a private CA is trusted without distrusting the
// public ones. The error says what is wrong with the file.
func LoadCAFile(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("ca_file %q does not exist", path)
		}
		return nil, fmt.Errorf("ca_file %q: %v", path, err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	n := 0
	for rest := b; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue // a key or parameters next to the certificate
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("ca_file %q: certificate %d: %v", path, n+1, err)
		}
		pool.AddCert(cert)
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("ca_file %q holds no PEM certificate (want -----BEGIN CERTIFICATE-----)", path)
	}
	return pool, nil
}

// Config returns a tls.Config for serverName with these options, never
// below TLS 1.2.
func (o TLSOptions) Config(serverName string) *tls.Config {
	return &tls.Config{
		ServerName:         serverName,
		MinVersion:         tls.VersionTLS12,
		RootCAs:            o.RootCAs,
		InsecureSkipVerify: o.InsecureSkipVerify, //nolint:gosec // opt-in, and `herald check` warns about it
	}
}

// VerifyHint is the operator hint for a certificate that did not verify:
// with ca_file set it names the file that did not vouch for the server,
// otherwise it says to set one.
func (o TLSOptions) VerifyHint() string {
	if o.CAFile != "" {
		return fmt.Sprintf("the server's certificate is not signed by a CA in ca_file %q (or it names another host): check ca_file and the server's certificate", o.CAFile)
	}
	return HintTLS
}
