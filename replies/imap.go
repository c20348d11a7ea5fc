package replies

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"herald/channels"
)

// IMAPConfig says where the reply mailbox is.
type IMAPConfig struct {
	// URL is imaps://user:pass@host:993/INBOX (implicit TLS) or
	// imap://user:pass@host:143/INBOX (STARTTLS, required unless the host is
	// a loopback address, where plain text is allowed for local bridges).
	// User and password are percent-decoded ("replies%40acme.example"); the
	// path names the mailbox, INBOX when empty.
	URL *url.URL
	// TLSConfig overrides the TLS settings (ca_file, skip-verify; tests
	// use it to trust their own certificate); nil means the system roots
	// and the URL's host name.
	TLSConfig *tls.Config
	// CAFile is the ca_file TLSConfig trusts, named in certificate errors.
	CAFile string
}

// Fetched is one message read from the mailbox.
type Fetched struct {
	UID         uint32
	UIDValidity uint32
	Raw         []byte // the full RFC 5322 message
}

// dialTimeout bounds connecting when ctx has no earlier deadline.
const dialTimeout = 30 * time.Second

type connMode int

const (
	modeTLS      connMode = iota // imaps: TLS from the first byte
	modeStartTLS                 // imap: upgrade with STARTTLS before LOGIN
	modePlain                    // imap to a loopback address
)

// Fetch returns the messages with UID > afterUID in the mailbox named in the
// URL path (default INBOX), in UID order, at most limit of them (0 = all),
// and the mailbox's current UIDVALIDITY. If that differs from uidValidity the
// server has renumbered the mailbox, so Fetch starts from the beginning and
// the caller's de-duplication by Message-ID keeps it from logging a reply
// twice.
//
// The mailbox is only read: it is opened with EXAMINE and messages are
// fetched with BODY.PEEK[], so herald never marks the customer's replies as
// read or changes any flag a person working the same inbox relies on.
func Fetch(ctx context.Context, cfg IMAPConfig, uidValidity, afterUID uint32, limit int) ([]Fetched, uint32, error) {
	if cfg.URL == nil {
		return nil, 0, errors.New("imap: no mailbox URL configured")
	}
	mode, addr, err := connModeFor(cfg.URL)
	if err != nil {
		return nil, 0, err
	}
	return fetch(ctx, cfg, mode, addr, uidValidity, afterUID, limit)
}

// fetch is Fetch once the connection mode is decided.
func fetch(ctx context.Context, cfg IMAPConfig, mode connMode, addr string, uidValidity, afterUID uint32, limit int) ([]Fetched, uint32, error) {
	user := cfg.URL.User.Username()
	pass, _ := cfg.URL.User.Password()
	if user == "" {
		return nil, 0, fmt.Errorf("imap: %s: the URL has no user name", addr)
	}
	mailbox := strings.TrimPrefix(cfg.URL.Path, "/")
	if mailbox == "" {
		mailbox = "INBOX"
	}

	c, stop, err := dial(ctx, addr, mode, cfg.TLSConfig)
	if err != nil {
		if channels.IsTLSVerification(err) {
			// A certificate error is fixed by configuration: say where.
			return nil, 0, fmt.Errorf("%w\n  hint: %s", err, channels.TLSOptions{CAFile: cfg.CAFile}.VerifyHint())
		}
		return nil, 0, err
	}
	defer c.Close()
	defer stop()
	wrap := func(what string, err error) error {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return fmt.Errorf("imap: %s: %s: %w", addr, what, err)
	}

	if err := c.Login(user, pass).Wait(); err != nil {
		// The server's answer never contains the password, and neither
		// does this message: only the user name is named.
		return nil, 0, wrap(fmt.Sprintf("login as %q failed", user), err)
	}
	sel, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		return nil, 0, wrap(fmt.Sprintf("opening mailbox %q", mailbox), err)
	}
	current := sel.UIDValidity
	if current != uidValidity {
		afterUID = 0
	}
	if sel.NumMessages == 0 || afterUID == math.MaxUint32 {
		_ = c.Logout().Wait()
		return nil, current, nil
	}

	// Search first, fetch second: with a limit, only the bodies that will be
	// returned are downloaded.
	crit := &imap.SearchCriteria{UID: []imap.UIDSet{{{Start: imap.UID(afterUID + 1), Stop: 0}}}}
	found, err := c.UIDSearch(crit, nil).Wait()
	if err != nil {
		return nil, 0, wrap("searching for new messages", err)
	}
	var uids []imap.UID
	for _, u := range found.AllUIDs() {
		// "N:*" also matches the highest UID when it is below N (RFC 3501
		// §6.4.8), so the range alone does not prove a message is new.
		if uint32(u) > afterUID {
			uids = append(uids, u)
		}
	}
	slices.Sort(uids)
	if limit > 0 && len(uids) > limit {
		uids = uids[:limit]
	}
	if len(uids) == 0 {
		_ = c.Logout().Wait()
		return nil, current, nil
	}

	section := &imap.FetchItemBodySection{Peek: true}
	msgs, err := c.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{
		UID:         true,
		BodySection: []*imap.FetchItemBodySection{section},
	}).Collect()
	if err != nil {
		return nil, 0, wrap("fetching messages", err)
	}
	byUID := make(map[imap.UID][]byte, len(msgs))
	for _, m := range msgs {
		if b := m.FindBodySection(section); b != nil {
			byUID[m.UID] = b
		}
	}
	out := make([]Fetched, 0, len(uids))
	for _, u := range uids {
		// A message expunged between SEARCH and FETCH is simply absent.
		if b, ok := byUID[u]; ok {
			out = append(out, Fetched{UID: uint32(u), UIDValidity: current, Raw: b})
		}
	}
	_ = c.Logout().Wait()
	return out, current, nil
}

// connModeFor decides how to connect from the URL: the scheme picks implicit
// TLS or STARTTLS, and only a loopback host may skip TLS.
func connModeFor(u *url.URL) (connMode, string, error) {
	host := u.Hostname()
	if host == "" {
		return 0, "", fmt.Errorf("imap: URL %s has no host", u.Redacted())
	}
	port := u.Port()
	var mode connMode
	switch strings.ToLower(u.Scheme) {
	case "imaps":
		mode = modeTLS
		if port == "" {
			port = "993"
		}
	case "imap":
		mode = modeStartTLS
		if isLoopback(host) {
			mode = modePlain
		}
		if port == "" {
			port = "143"
		}
	default:
		return 0, "", fmt.Errorf("imap: URL %s: scheme must be imaps or imap", u.Redacted())
	}
	return mode, net.JoinHostPort(host, port), nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// dial connects and waits for the greeting. The connection is closed when
// ctx ends (imapclient has no context support of its own), which makes any
// pending command fail at once; the returned stop undoes that hook.
func dial(ctx context.Context, addr string, mode connMode, tlsConfig *tls.Config) (c *imapclient.Client, stop func() bool, err error) {
	host, _, _ := net.SplitHostPort(addr)
	tc := &tls.Config{}
	if tlsConfig != nil {
		tc = tlsConfig.Clone()
	}
	if tc.ServerName == "" {
		tc.ServerName = host
	}
	nd := &net.Dialer{Timeout: dialTimeout}
	var conn net.Conn
	if mode == modeTLS {
		if tc.NextProtos == nil {
			tc.NextProtos = []string{"imap"}
		}
		conn, err = (&tls.Dialer{NetDialer: nd, Config: tc}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = nd.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("imap: connecting to %s: %w", addr, err)
	}
	stop = context.AfterFunc(ctx, func() { conn.Close() })
	fail := func(what string, err error) (*imapclient.Client, func() bool, error) {
		stop()
		conn.Close()
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return nil, nil, fmt.Errorf("imap: %s: %s: %w", addr, what, err)
	}
	opts := &imapclient.Options{TLSConfig: tc}
	if mode == modeStartTLS {
		if c, err = imapclient.NewStartTLS(conn, opts); err != nil {
			return fail("STARTTLS", err)
		}
	} else {
		c = imapclient.New(conn, opts)
	}
	if err := c.WaitGreeting(); err != nil {
		return fail("no greeting", err)
	}
	return c, stop, nil
}
