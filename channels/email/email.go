// Package email is herald's SMTP backend ("smtp" in herald.toml).
//
// It has two halves. Composer builds the RFC 5322 message (multipart
// text + HTML, RFC 2047 headers, a Message-ID herald recognises in replies,
// Reply-To with an optional plus-address token, RFC 8058 one-click
// unsubscribe headers) and is shared with the outbox backend and preview,
// so what they show is byte for byte what the server gets. The sender keeps
// `concurrency` SMTP sessions open and sends message after message over
// them, pipelining MAIL, RCPT and DATA when the server allows it: dialling,
// TLS and AUTH happen once per session, not once per message, which is where
// an SMTP sender's speed goes.
//
// Options of [channels.<name>] with backend = "smtp":
//
//	url          smtp://user:pass@host:587 (STARTTLS) or smtps://user:pass@host:465
//	             (implicit TLS); user and password are URL-decoded, ${VAR} expanded
//	             (and percent-encoded when it is in the user-info)
//	username, password
//	             the login as raw text (${VAR} allowed); each wins over the
//	             url's user-info, so no escaping is needed
//	from         "Name <addr>", required; also the envelope sender
//	reply_to     where replies go; never a no-reply address
//	reply_plus   true: Reply-To is local+<token>@domain
//	starttls     "required" (default) or "off"; to loopback hosts STARTTLS is
//	             used when offered but not required
//	ca_file, tls_insecure_skip_verify
//	             read by herald for every channel (channels.TLSOptions): a
//	             PEM of a private CA to trust, or accepting any certificate
//	helo         the name sent in EHLO (default: the domain of from; a bare
//	             host name is what spam filters score)
//	message_id_domain
//	             right-hand side of Message-IDs (default: the From domain)
//	timeout      per-command I/O deadline, default "30s"
package email

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strings"
	"time"

	"herald/channels"
)

// Backend is the "smtp" backend.
var Backend = channels.Backend{Name: "smtp", Kind: channels.KindEmail, New: New}

type options struct {
	URL             channels.SecretURL `toml:"url"`
	From            channels.Setting   `toml:"from"`
	ReplyTo         channels.Setting   `toml:"reply_to"`
	ReplyPlus       bool               `toml:"reply_plus"`
	Username        channels.Setting   `toml:"username"`
	Password        channels.Secret    `toml:"password"`
	StartTLS        string             `toml:"starttls"`
	HELO            channels.Setting   `toml:"helo"`
	MessageIDDomain channels.Setting   `toml:"message_id_domain"`
	Timeout         string             `toml:"timeout"`
}

// New validates the options and builds the sender; it does not touch the
// network (it runs for `herald check`), sessions are opened on first use.
func New(s channels.Settings) (channels.Sender, error) {
	var o options
	if s.Decode != nil {
		if err := s.Decode(&o); err != nil {
			return nil, err
		}
	}
	cfg, err := o.config(s)
	if err != nil {
		return nil, fmt.Errorf("channel %s (smtp): %w", s.Channel, err)
	}
	return newSender(cfg), nil
}

// config is the validated form of the options.
type config struct {
	channel    string
	implicit   bool   // smtps://
	host, port string // dial target
	user, pass string
	starttls   tlsPolicy
	tls        *tls.Config
	tlsOpts    channels.TLSOptions // for the hint of a certificate error
	helo       string
	timeout    time.Duration
	envFrom    string
	composer   *compiled
	conns      int
}

func (o options) config(s channels.Settings) (*config, error) {
	c := &config{channel: s.Channel, conns: max(s.Concurrency, 1)}
	if o.URL.URL == nil || o.URL.URL.Host == "" {
		return nil, errors.New(`url is required, e.g. "smtp://user:${SMTP_PASSWORD}@smtp.example.com:587"`)
	}
	u := *o.URL.URL
	if s.APIURL != "" {
		// api_url points the channel at another server (a local test
		// sink) while keeping the credentials of url.
		api, err := url.Parse(s.APIURL)
		if err != nil || api.Host == "" {
			return nil, fmt.Errorf("api_url %q is not a URL like smtp://127.0.0.1:2525", channels.Redact(s.APIURL))
		}
		u.Scheme, u.Host = api.Scheme, api.Host
	}
	switch strings.ToLower(u.Scheme) {
	case "smtp":
		c.port = "587"
	case "smtps":
		c.implicit, c.port = true, "465"
	default:
		return nil, fmt.Errorf("url %s: scheme must be smtp:// (STARTTLS) or smtps:// (implicit TLS)", u.Redacted())
	}
	c.host = u.Hostname()
	if p := u.Port(); p != "" {
		c.port = p
	}
	if u.User != nil {
		c.user = u.User.Username()
		c.pass, _ = u.User.Password()
	}
	if o.Username != "" {
		c.user = string(o.Username)
	}
	if o.Password != "" {
		c.pass = o.Password.Reveal()
	}
	if c.pass != "" && c.user == "" {
		return nil, errors.New("password is set but no user name: set username (or the user in url)")
	}

	switch strings.ToLower(o.StartTLS) {
	case "", "required":
		c.starttls = tlsRequired
	case "off":
		c.starttls = tlsOff
	default:
		return nil, fmt.Errorf(`starttls = %q: want "required" or "off"`, o.StartTLS)
	}
	if c.starttls == tlsOff && !c.implicit && c.user != "" && !isLoopback(c.host) {
		return nil, fmt.Errorf("starttls = \"off\" with a password in url would send it in clear text to %s; use STARTTLS or smtps://", c.host)
	}
	c.tlsOpts = s.TLS
	c.tls = s.TLS.Config(c.host)

	if o.From == "" {
		return nil, errors.New(`from is required, e.g. "Acme Support <support@acme.example>"`)
	}
	from, err := mail.ParseAddress(string(o.From))
	if err != nil {
		return nil, fmt.Errorf("from %q is not an address like \"Acme Support <support@acme.example>\"", string(o.From))
	}
	c.envFrom = from.Address
	replyTo := strings.TrimSpace(string(o.ReplyTo))
	if replyTo != "" {
		ra, err := mail.ParseAddress(replyTo)
		if err != nil {
			return nil, fmt.Errorf("reply_to %q is not an address", replyTo)
		}
		replyTo = ra.Address
	}
	replyAddr := replyTo
	if replyAddr == "" {
		replyAddr = from.Address
	}
	if looksNoReply(replyAddr) {
		which := "reply_to"
		if replyTo == "" {
			which = "from (no reply_to is set)"
		}
		return nil, fmt.Errorf("%s %q looks like a no-reply address: replies are the point of herald, set reply_to to a monitored mailbox", which, replyAddr)
	}

	c.helo = string(o.HELO)
	if c.helo == "" {
		// The from domain, not this machine's name: a container's or
		// laptop's bare host name in EHLO is what spam filters score.
		c.helo = strings.ToLower(from.Address[strings.LastIndexByte(from.Address, '@')+1:])
	}
	if c.helo == "" || strings.ContainsAny(c.helo, " \r\n<>@") {
		return nil, fmt.Errorf("helo %q must be a host name", c.helo)
	}
	c.timeout = 30 * time.Second
	if o.Timeout != "" {
		d, err := time.ParseDuration(o.Timeout)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("timeout %q: want a duration such as \"30s\"", o.Timeout)
		}
		c.timeout = d
	}
	c.composer = Composer{
		From:            from.String(),
		ReplyTo:         replyTo,
		ReplyPlus:       o.ReplyPlus,
		MessageIDDomain: strings.ToLower(string(o.MessageIDDomain)),
	}.compile()
	if strings.ContainsAny(c.composer.MessageIDDomain, "<>@ \r\n") {
		return nil, fmt.Errorf("message_id_domain %q must be a domain name", string(o.MessageIDDomain))
	}
	return c, nil
}

// looksNoReply catches "noreply@", "no-reply@", "do_not_reply@" and the
// like: replies sent there are lost, and herald exists to have them.
func looksNoReply(addr string) bool {
	local := strings.ToLower(addr)
	if at := strings.LastIndexByte(local, '@'); at >= 0 {
		local = local[:at]
	}
	if plus := strings.IndexByte(local, '+'); plus >= 0 {
		local = local[:plus]
	}
	local = strings.NewReplacer("-", "", "_", "", ".", "").Replace(local)
	for _, bad := range []string{"noreply", "donotreply", "dontreply", "donotrespond", "noresponse"} {
		if strings.Contains(local, bad) {
			return true
		}
	}
	return false
}

// tlsPolicy is the starttls option.
type tlsPolicy int

const (
	tlsRequired tlsPolicy = iota
	tlsOff
)

// startTLSDecision says whether to issue STARTTLS on a plain session to
// host, given whether the server offered it. An error means the session
// must not go on: a non-loopback server that does not offer STARTTLS while
// it is required, since sending mail and a password in clear across a
// network is what the requirement prevents. Loopback servers (a local relay
// or test sink) often have no certificate, so there STARTTLS is used when
// offered and skipped otherwise.
func startTLSDecision(policy tlsPolicy, host string, offered bool) (use bool, err error) {
	switch {
	case policy == tlsOff:
		return false, nil
	case offered:
		return true, nil
	case isLoopback(host):
		return false, nil
	default:
		return false, fmt.Errorf("server %s does not offer STARTTLS and starttls is required (set starttls = \"off\" to send without TLS)", host)
	}
}

// isLoopback reports whether host is 127.0.0.0/8, ::1 or localhost.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
