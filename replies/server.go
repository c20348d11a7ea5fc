package replies

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"herald/campaign"
	"herald/channels"
	"herald/state"
	"herald/templates"
)

// MaxBody is the largest webhook or unsubscribe body replies serve reads;
// providers send a few kilobytes, so more is refused with 413.
const MaxBody = 1 << 20

// ShutdownGrace is how long requests in flight may take to finish after
// SIGTERM before the server closes their connections.
const ShutdownGrace = 10 * time.Second

// ServerOptions configure NewServer.
type ServerOptions struct {
	Config *campaign.Config
	// Registry holds the backends herald knows (builtin.Registry()); each
	// declares whether it receives webhooks, at which route, with which
	// secret, and whether its signature covers the URL.
	Registry *channels.Registry
	// Insecure starts endpoints whose provider secret is not configured, or
	// whose signature covers a URL when public_url is not set. It is for
	// local testing: an unverifiable endpoint either refuses every request
	// or, where the backend can parse without verifying (Vonage), accepts
	// forged ones.
	Insecure bool
	// BaseURL replaces public_url as the base of the URL a provider signed.
	// The command sets it to the listen address under --insecure when
	// public_url is empty, so local tests can sign requests; it is never
	// taken from a request's Host header, which the client chooses.
	BaseURL string
	Logger  *slog.Logger     // nil: discard
	Now     func() time.Time // nil: time.Now
	// CampaignFiles are campaign files whose templates' [unsubscribe]
	// sections word the unsubscribe page for their recipients.
	CampaignFiles []string
}

// Server is the HTTP receiver of `herald replies serve`: provider webhooks
// become rows of replies.csv, suppressions and journal statuses, and
// one-click unsubscribe POSTs become suppressions. It is an http.Handler;
// Serve runs it with timeouts and a graceful shutdown.
type Server struct {
	stateDir string
	base     string
	log      *slog.Logger
	now      func() time.Time

	byChannel map[string]*endpoint
	byBackend map[string][]*endpoint

	index  *journalIndex
	store  state.Store
	seen   *seenSet
	signer state.UnsubscribeSigner
	pages  map[string]*templates.Set // campaign name -> templates with [unsubscribe]

	refresh sharedRefresh // of index, shared by concurrent webhooks
	replies replyBatcher

	// publicURLs are the URLs providers sign, by webhook path, made once
	// rather than per request.
	publicURLs map[string]string
}

// endpoint is one channel's webhook.
type endpoint struct {
	channel   string
	backend   string
	parse     func(channels.InboundRequest) ([]channels.Inbound, error)
	challenge channels.ChallengeResponder // nil when the provider has no GET challenge
}

// unverifiedParser is implemented by backends that can parse a webhook
// without checking its signature (Vonage without signature_secret), used
// only under Insecure.
type unverifiedParser interface {
	ParseInboundUnverified(channels.InboundRequest) ([]channels.Inbound, error)
}

// NewServer builds the receiver for every configured channel whose backend
// receives webhooks, loads the journal's correlation index and the replies
// already logged. Without Insecure it refuses, naming each channel and the
// missing option, when an endpoint could not verify its provider's
// signature: a receiver that cannot tell forged requests from real ones
// must not start by accident.
func NewServer(opts ServerOptions) (*Server, error) {
	cfg := opts.Config
	if cfg == nil {
		return nil, errors.New("replies: NewServer needs a Config")
	}
	if opts.Registry == nil {
		return nil, errors.New("replies: NewServer needs the backend registry")
	}
	s := &Server{
		stateDir:  cfg.StateDir,
		base:      strings.TrimRight(cfg.PublicURL, "/"),
		log:       opts.Logger,
		now:       opts.Now,
		byChannel: map[string]*endpoint{},
		byBackend: map[string][]*endpoint{},
		index:     newStoreIndex(cfg.Store, cfg.StateDir),
		store:     cfg.Store,
	}
	if opts.BaseURL != "" {
		s.base = strings.TrimRight(opts.BaseURL, "/")
	}
	s.refresh.refresh = s.index.refresh
	s.replies = replyBatcher{index: s.index, refresh: &s.refresh, store: s.store}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}

	var problems []error
	for _, ch := range cfg.Channels() {
		b, err := opts.Registry.Lookup(ch.Backend)
		if err != nil {
			return nil, fmt.Errorf("channel %q: %w", ch.Name, err)
		}
		parser, ok := channels.Unwrap(ch.Sender).(channels.InboundParser)
		if b.Webhook == nil || !ok {
			continue // e-mail, outbox, generic webhook: nothing arrives here
		}
		ep := &endpoint{channel: ch.Name, backend: ch.Backend, parse: parser.ParseInbound}
		ep.challenge, _ = parser.(channels.ChallengeResponder)
		option := b.Webhook.SecretOption
		if option == "" {
			option = "its webhook secret"
		}
		if b.Webhook.SignsURL && s.base == "" {
			err := fmt.Errorf("channel %q (backend %s): public_url is not set in herald.toml, and %s signs the public URL it calls, so its webhooks cannot be verified", ch.Name, ch.Backend, ch.Backend)
			if !opts.Insecure {
				problems = append(problems, err)
				continue
			}
			s.log.Warn("--insecure: every request to this endpoint will fail its signature check", "channel", ch.Name, "problem", err.Error())
		}
		if missingSecret(parser, s.base+"/webhooks/"+url.PathEscape(ch.Name)) {
			err := fmt.Errorf("channel %q (backend %s): %s is not set in [channels.%s], so its webhooks cannot be verified", ch.Name, ch.Backend, option, ch.Name)
			if !opts.Insecure {
				problems = append(problems, err)
				continue
			}
			if u, ok := parser.(unverifiedParser); ok {
				ep.parse = u.ParseInboundUnverified
				s.log.Warn("--insecure: accepting UNSIGNED webhooks; anyone who can reach this endpoint can forge replies and opt-outs", "channel", ch.Name)
			} else {
				s.log.Warn("--insecure: this endpoint will refuse every request until "+option+" is set", "channel", ch.Name)
			}
		}
		s.byChannel[ch.Name] = ep
		route := b.Webhook.Route
		if route == "" {
			route = b.Name
		}
		s.byBackend[route] = append(s.byBackend[route], ep)
	}
	s.publicURLs = map[string]string{}
	for _, name := range slices.Concat(slices.Collect(maps.Keys(s.byChannel)), slices.Collect(maps.Keys(s.byBackend))) {
		path := "/webhooks/" + url.PathEscape(name)
		s.publicURLs[path] = s.base + path
	}
	if len(problems) > 0 {
		return nil, &StartError{Problems: problems}
	}

	pages, err := loadPages(cfg, opts.CampaignFiles)
	if err != nil {
		return nil, err
	}
	s.pages = pages

	key, err := s.store.UnsubscribeKey(context.Background())
	if err != nil {
		return nil, err
	}
	s.signer = state.UnsubscribeSigner{Key: key}
	if s.seen, err = loadSeen(cfg.Store); err != nil {
		return nil, fmt.Errorf("reading the reply log: %w", err)
	}
	if err := s.index.refresh(); err != nil {
		return nil, err
	}
	if s.index.skipped > 0 {
		s.log.Warn("skipped unreadable journal lines", "lines", s.index.skipped)
	}
	return s, nil
}

// missingSecret reports whether a backend has no key to verify webhooks
// with. Backends do not expose their options, so it asks the parser itself:
// an empty request is refused either way, and a parser without its key
// says so by wrapping channels.ErrNoSecret.
func missingSecret(p channels.InboundParser, u string) bool {
	_, err := p.ParseInbound(channels.InboundRequest{URL: u, Method: http.MethodPost, Header: http.Header{}, Query: url.Values{}})
	return errors.Is(err, channels.ErrNoSecret)
}

// StartError lists why NewServer refused to start.
type StartError struct{ Problems []error }

func (e *StartError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Error()
	}
	return strings.Join(msgs, "\n")
}

func (e *StartError) Unwrap() []error { return e.Problems }

// Endpoints lists the webhook paths the server answers, with their
// channel and backend, for the startup log.
func (s *Server) Endpoints() []string {
	var out []string
	for name, ep := range s.byChannel {
		out = append(out, "/webhooks/"+name+" ("+ep.backend+")")
	}
	for backend, eps := range s.byBackend {
		if len(eps) == 1 && eps[0].channel != backend {
			if _, taken := s.byChannel[backend]; !taken {
				out = append(out, "/webhooks/"+backend+" (channel "+eps[0].channel+")")
			}
		}
	}
	slices.Sort(out)
	return out
}

// route finds the endpoint for /webhooks/<name>: a channel of that name
// first (Twilio's status callbacks use it), else the one channel with that
// backend. With several channels on one backend the backend's name is
// ambiguous; the hint says which names to use instead.
func (s *Server) route(name string) (*endpoint, string) {
	if ep := s.byChannel[name]; ep != nil {
		return ep, ""
	}
	eps := s.byBackend[name]
	switch len(eps) {
	case 1:
		return eps[0], ""
	case 0:
		known := make([]string, 0, len(s.byChannel))
		for n := range s.byChannel {
			known = append(known, "/webhooks/"+n)
		}
		slices.Sort(known)
		if len(known) == 0 {
			return nil, fmt.Sprintf("no configured channel receives webhooks at /webhooks/%s (none of the configured channels has a backend that receives webhooks)", name)
		}
		return nil, fmt.Sprintf("no configured channel receives webhooks at /webhooks/%s; use one of %s", name, strings.Join(known, ", "))
	default:
		names := make([]string, len(eps))
		for i, ep := range eps {
			names[i] = "/webhooks/" + ep.channel
		}
		slices.Sort(names)
		return nil, fmt.Sprintf("several channels use backend %s, so /webhooks/%s is ambiguous; point each provider at its channel's URL: %s", name, name, strings.Join(names, ", "))
	}
}

// reqInfo collects what a request did, for its log line.
type reqInfo struct {
	channel                                string
	replies, statuses, optouts, duplicates int
	err                                    error
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// request is what ServeHTTP keeps for one request; requests reuse them, as
// a webhook's own allocations are much of its cost under load.
type request struct {
	w    statusWriter
	info reqInfo
}

var requests = sync.Pool{New: func() any { return new(request) }}

// Response headers set on every webhook, shared rather than allocated per
// response (net/http only reads them).
var (
	textPlain = []string{"text/plain; charset=utf-8"}
	textXML   = []string{"text/xml"}
	// Twilio wants TwiML; an empty Response sends nothing back.
	emptyTwiML = []byte(`<?xml version="1.0" encoding="UTF-8"?><Response></Response>`)
	okBody     = []byte("ok\n")
)

// ServeHTTP routes a request and logs one line for it: method, path (an
// unsubscribe token is a capability and is not logged), status, channel,
// what was recorded and, on failure, why. Never the body or the query,
// which hold customer text and verify tokens.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rq := requests.Get().(*request)
	defer func() {
		*rq = request{}
		requests.Put(rq)
	}()
	sw, info := &rq.w, &rq.info
	sw.ResponseWriter = w
	path := r.URL.Path
	logPath := path
	switch {
	case path == "/healthz":
		sw.Header()["Content-Type"] = textPlain
		sw.Write(okBody)
	case strings.HasPrefix(path, "/webhooks/"):
		s.webhook(sw, r, strings.TrimPrefix(path, "/webhooks/"), start, info)
	case strings.HasPrefix(path, "/unsubscribe/"):
		logPath = "/unsubscribe/…"
		s.unsubscribe(sw, r, strings.TrimPrefix(path, "/unsubscribe/"), info)
	default:
		http.Error(sw, "not found: herald replies serve answers /webhooks/<channel>, /unsubscribe/<token> and /healthz", http.StatusNotFound)
	}
	var attrBuf [10]slog.Attr
	attrs := append(attrBuf[:0],
		slog.String("method", r.Method),
		slog.String("path", logPath),
		slog.Int("status", sw.status),
		slog.Duration("took", time.Since(start)),
	)
	if info.channel != "" {
		attrs = append(attrs, slog.String("channel", info.channel))
	}
	for _, c := range [...]struct {
		name string
		n    int
	}{{"replies", info.replies}, {"statuses", info.statuses}, {"optouts", info.optouts}, {"duplicates", info.duplicates}} {
		if c.n > 0 {
			attrs = append(attrs, slog.Int(c.name, c.n))
		}
	}
	level := slog.LevelInfo
	if info.err != nil {
		attrs = append(attrs, slog.String("error", info.err.Error()))
		level = slog.LevelWarn
		if sw.status >= 500 {
			level = slog.LevelError
		}
	}
	// The record is made here rather than by LogAttrs, which also records
	// the caller's program counter: a stack walk per request, for a source
	// position herald's log handlers do not print.
	if ctx := r.Context(); s.log.Enabled(ctx, level) {
		rec := slog.NewRecord(time.Now(), level, "request", 0)
		rec.AddAttrs(attrs...)
		s.log.Handler().Handle(ctx, rec)
	}
}

// sharedRefresh lets concurrent webhooks share the journal index's
// refresh (a stat, and a read when the journal grew). A request must see
// every send journaled before it arrived; any refresh that began after it
// arrived does, so a request that finds one finished needs none of its own.
// Under load one stat serves the requests that queued behind it.
type sharedRefresh struct {
	refresh func() error

	mu    sync.Mutex
	began time.Time // when the last successful refresh began
}

func (r *sharedRefresh) since(arrived time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.began.After(arrived) {
		return nil
	}
	began := time.Now()
	if err := r.refresh(); err != nil {
		return err
	}
	r.began = began
	return nil
}

// readBody reads at most MaxBody bytes; more is answered with 413. A body
// of announced length is read into a buffer from the pool, which pooled
// says; the caller hands it back with releaseBody once nothing reads the
// body any more (parsers copy what they keep).
func readBody(w http.ResponseWriter, r *http.Request) (body []byte, pooled *[]byte, ok bool) {
	var err error
	if n := r.ContentLength; n >= 0 && n <= MaxBody {
		// net/http reads no more than Content-Length, so the limit holds.
		pooled = bodyBuffer(int(n))
		body = (*pooled)[:n]
		_, err = io.ReadFull(r.Body, body)
	} else {
		body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	}
	if err != nil {
		releaseBody(pooled)
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, fmt.Sprintf("request body is larger than %d bytes", MaxBody), http.StatusRequestEntityTooLarge)
		} else {
			http.Error(w, "could not read the request body", http.StatusBadRequest)
		}
		return nil, nil, false
	}
	return body, pooled, true
}

// bodies holds request body buffers of up to maxPooledBody bytes: a
// webhook's body is a few hundred bytes to a few kilobytes.
var bodies sync.Pool

const maxPooledBody = 64 << 10

func bodyBuffer(n int) *[]byte {
	if n <= maxPooledBody {
		if b, _ := bodies.Get().(*[]byte); b != nil && cap(*b) >= n {
			return b
		}
		b := make([]byte, max(n, 4<<10))
		return &b
	}
	b := make([]byte, n)
	return &b
}

func releaseBody(b *[]byte) {
	if b != nil && cap(*b) <= maxPooledBody {
		bodies.Put(b)
	}
}

func (s *Server) webhook(w http.ResponseWriter, r *http.Request, name string, arrived time.Time, info *reqInfo) {
	ep, hint := s.route(name)
	if ep == nil {
		info.err = errors.New(hint)
		http.Error(w, hint, http.StatusNotFound)
		return
	}
	info.channel = ep.channel
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "webhooks are POST (or GET for verification)", http.StatusMethodNotAllowed)
		return
	}
	body, pooled, ok := readBody(w, r)
	if !ok {
		return
	}
	defer releaseBody(pooled)
	query := r.URL.Query()
	if r.Method == http.MethodGet && ep.challenge != nil && query.Has("hub.mode") {
		answer, ok := ep.challenge.Challenge(query)
		if !ok {
			info.err = errors.New("verification challenge refused: hub.mode is not subscribe or hub.verify_token does not match verify_token")
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, answer)
		return
	}

	// The URL the provider signed is the public one, never one rebuilt
	// from the Host header, which whoever sends the request controls.
	path := r.URL.EscapedPath()
	u, known := s.publicURLs[path]
	if !known {
		u = s.base + path
	}
	if r.URL.RawQuery != "" {
		u += "?" + r.URL.RawQuery
	}
	events, err := ep.parse(channels.InboundRequest{URL: u, Method: r.Method, Header: r.Header, Query: query, Body: body})
	if err != nil {
		info.err = err
		if errors.Is(err, channels.ErrBadSignature) {
			// The detail goes to the log for the operator, not to whoever
			// is probing the endpoint.
			http.Error(w, "forbidden: the webhook signature does not verify", http.StatusForbidden)
			return
		}
		http.Error(w, "bad request: the webhook could not be parsed", http.StatusBadRequest)
		return
	}
	for _, ev := range events {
		if err := s.apply(ep, ev, arrived, info); err != nil {
			// 5xx makes the provider deliver again; what was recorded
			// before the failure is de-duplicated then.
			info.err = err
			var journal *journalReadError
			if errors.As(err, &journal) {
				http.Error(w, "internal error: the journal cannot be read", http.StatusInternalServerError)
				return
			}
			http.Error(w, "internal error: the event could not be recorded", http.StatusInternalServerError)
			return
		}
	}
	if ep.backend == "twilio" || ep.backend == "twilio-whatsapp" {
		w.Header()["Content-Type"] = textXML
		w.Write(emptyTwiML)
		return
	}
	w.Header()["Content-Type"] = textPlain
	w.Write(okBody)
}

// apply records one verified event of a webhook that arrived at arrived.
func (s *Server) apply(ep *endpoint, ev channels.Inbound, arrived time.Time, info *reqInfo) error {
	switch ev.Kind {
	case channels.InboundReply:
		return s.reply(ep, ev, Classify(ev.Text), "STOP reply", info)
	case channels.InboundOptOut:
		reason := optOutReason(ep.backend)
		if ev.Text != "" {
			// A message that the provider already treated as an opt-out
			// (Twilio Advanced Opt-Out): log it as the customer's reply.
			return s.reply(ep, ev, ActionStop, reason, info)
		}
		if ev.From == "" {
			return nil
		}
		info.optouts++
		_, err := s.store.AddSuppression(writeCtx, state.Suppression{Address: ev.From, Channel: ep.channel, Reason: reason, AddedAt: s.at(ev.Time), Source: state.SourceProvider})
		return err
	case channels.InboundStatus:
		// A status must find every send journaled before it arrived.
		if err := s.refresh.since(arrived); err != nil {
			return &journalReadError{err}
		}
		return s.status(ep, ev, info)
	}
	return nil
}

func optOutReason(backend string) string {
	switch backend {
	case "line":
		return "LINE unfollow (blocked the account)"
	case "telegram":
		return "blocked the Telegram bot"
	case "twilio", "twilio-whatsapp":
		return "opted out at Twilio (OptOutType=STOP)"
	}
	return backend + " opt-out"
}

func (s *Server) at(t time.Time) time.Time {
	if t.IsZero() {
		return s.now()
	}
	return t
}

func (s *Server) reply(ep *endpoint, ev channels.Inbound, action Action, reason string, info *reqInfo) error {
	k := key(ep.channel, ev.ProviderID)
	if ev.ProviderID != "" && !s.seen.claim(k) {
		info.duplicates++
		return nil
	}
	at := s.at(ev.Time)
	row := state.Reply{
		ReceivedAt: at,
		Channel:    ep.channel,
		From:       ev.From,
		MessageID:  ev.ProviderID,
		InReplyTo:  ev.InReplyTo,
		Text:       ev.Text,
		Action:     string(action),
	}
	// The suppression goes first: if it fails the provider retries and
	// nothing is logged yet; if the row then fails, the retry repeats an
	// idempotent suppression.
	err := act(s.store, ep.channel, ev.From, action, reason, at)
	added := false
	if err == nil {
		added, err = s.replies.add(row)
	}
	if err != nil {
		if ev.ProviderID != "" {
			s.seen.release(k)
		}
		return err
	}
	if !added {
		// another replica of replies serve logged it first
		info.duplicates++
		return nil
	}
	info.replies++
	if action == ActionStop {
		info.optouts++
	}
	return nil
}

// act carries out a keyword: STOP suppresses the address on the channel it
// came from; START lifts only a suppression a STOP keyword made on that
// channel (as carriers do: an operator's, a provider's or a one-click
// suppression is never lifted by a reply); HELP only gets logged.
func act(store state.Store, channel, address string, action Action, reason string, at time.Time) error {
	if address == "" {
		return nil
	}
	switch action {
	case ActionStop:
		_, err := store.AddSuppression(writeCtx, state.Suppression{Address: address, Channel: channel, Reason: reason, AddedAt: at, Source: state.SourceKeyword})
		return err
	case ActionStart:
		_, err := store.RemoveSuppressions(writeCtx, address, channel, state.SourceKeyword)
		return err
	}
	return nil
}

// writeCtx is the context of state writes made for a request: a client
// that goes away must not leave a suppression half recorded, so writes are
// not tied to the request's context.
var writeCtx = context.Background()

// deliveryStatus maps a provider status to the journal's: only final
// outcomes are journaled ("sent" and "queued" say nothing new).
func deliveryStatus(s string) string {
	switch s {
	case "delivered", "read":
		return state.StatusDelivered
	case "failed", "undelivered":
		return state.StatusUndelivered
	}
	return ""
}

func (s *Server) status(ep *endpoint, ev channels.Inbound, info *reqInfo) error {
	status := deliveryStatus(ev.Status)
	if status == "" {
		return nil
	}
	ref := s.index.forProviderID(ep.channel, ev.StatusFor)
	if ref == nil {
		// Not a message this state directory sent (another shard, or a
		// message sent outside herald): nothing to attribute it to.
		s.log.Info("delivery status for a message not in the journal", "channel", ep.channel, "status", status)
		return nil
	}
	// One entry per outcome of a message: redeliveries, a "read" after a
	// "delivered", and the parts of a long Vonage SMS count once.
	if !s.index.claimStatus(ep.channel, ref.ProviderID, status) {
		info.duplicates++
		return nil
	}
	err := s.store.AppendJournal(writeCtx, state.Entry{
		Time:       s.at(ev.Time),
		Campaign:   ref.Campaign,
		Recipient:  ref.Recipient,
		Channel:    ep.channel,
		Address:    ref.Address,
		Locale:     ref.Locale,
		Status:     status,
		ProviderID: ref.ProviderID,
		MessageID:  ref.MessageID,
		Error:      ev.Error,
		Attempt:    ref.Attempt,
	})
	if err != nil {
		s.index.releaseStatus(ep.channel, ref.ProviderID, status)
		return err
	}
	info.statuses++
	return nil
}

// unsubscribe serves /unsubscribe/<token> (RFC 8058). Only a POST with
// List-Unsubscribe=One-Click unsubscribes; a GET, which link scanners and
// previews make, shows a page whose button sends that POST.
func (s *Server) unsubscribe(w http.ResponseWriter, r *http.Request, token string, info *reqInfo) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "use POST to unsubscribe", http.StatusMethodNotAllowed)
		return
	}
	channel, address, err := s.signer.Verify(token)
	if err != nil {
		info.err = err
		pl := s.unsubscribeLang("", "", r)
		writePage(w, http.StatusForbidden, pageData{Lang: pl.Lang, Dir: pl.Dir, Title: pl.Texts.InvalidTitle, Text: pl.Texts.InvalidText})
		return
	}
	info.channel = channel
	pl := s.unsubscribeLang(channel, address, r)
	if r.Method != http.MethodPost {
		writePage(w, http.StatusOK, pageData{Lang: pl.Lang, Dir: pl.Dir, Title: pl.Texts.Title, Text: pl.Texts.Text, Button: pl.Texts.Button})
		return
	}
	if !readForm(w, r) {
		return
	}
	if r.PostForm.Get("List-Unsubscribe") != "One-Click" {
		info.err = errors.New("POST without List-Unsubscribe=One-Click")
		http.Error(w, "bad request: the body must be List-Unsubscribe=One-Click (RFC 8058)", http.StatusBadRequest)
		return
	}
	if _, err := s.store.AddSuppression(writeCtx, state.Suppression{Address: address, Channel: channel, Reason: "one-click unsubscribe", AddedAt: s.now(), Source: state.SourceOneClick}); err != nil {
		info.err = err
		http.Error(w, "internal error: the unsubscribe could not be recorded; please try again", http.StatusInternalServerError)
		return
	}
	info.optouts++
	writePage(w, http.StatusOK, pageData{Lang: pl.Lang, Dir: pl.Dir, Title: pl.Texts.DoneTitle, Text: pl.Texts.DoneText})
}

// readForm parses a form POST (urlencoded or multipart, as RFC 8058
// allows) of at most MaxBody bytes.
func readForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
	var err error
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		err = r.ParseMultipartForm(MaxBody)
	} else {
		err = r.ParseForm()
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, fmt.Sprintf("request body is larger than %d bytes", MaxBody), http.StatusRequestEntityTooLarge)
		} else {
			http.Error(w, "bad request: the body is not a form", http.StatusBadRequest)
		}
		return false
	}
	return true
}

// Serve answers requests on ln with h until ctx is cancelled (SIGTERM or
// SIGINT in the command), then shuts down gracefully: no new connections,
// requests in flight get ShutdownGrace to finish. It returns nil after a
// clean shutdown.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	srv := &http.Server{
		Handler: h,
		// Timeouts keep slow or stalled clients (slowloris) from holding
		// connections: a header must arrive within 5 s, a 1 MiB body in 30.
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "grace", ShutdownGrace)
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
	defer cancel()
	err := srv.Shutdown(sctx)
	<-done
	if err != nil {
		srv.Close()
		return fmt.Errorf("requests still running after %s were cut off: %w", ShutdownGrace, err)
	}
	return nil
}
