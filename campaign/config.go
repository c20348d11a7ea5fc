// Package campaign turns a campaign into sends: it loads herald.toml and
// campaign files, chooses each recipient's channel, locale and local send
// time (the planner), keeps the shared state files (journal, suppressions)
// and runs the send loop that delivers each message exactly once.
package campaign

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
	"golang.org/x/time/rate"

	"herald/campaign/schedule"
	"herald/channels"
	"herald/state"
)

// Config is herald.toml: providers and defaults shared by all campaigns.
type Config struct {
	File      string // "" when no herald.toml was found
	StateDir  string
	Quiet     *schedule.Span
	PublicURL string
	Regions   map[string][]string // by ISO country code
	IMAP      *channels.SecretURL // [replies.imap] url, nil when not configured
	// IMAPTLS is [replies.imap]'s ca_file and tls_insecure_skip_verify.
	IMAPTLS channels.TLSOptions
	// Warnings are legal settings `herald check` warns about
	// (tls_insecure_skip_verify), as FileErrors with their line.
	Warnings []error

	// Store holds the journal, suppressions, replies and keys.
	Store state.Store
	// StateURL is herald.toml's state = "postgres://..." (password and
	// all), "" for the files store in StateDir.
	StateURL string

	channels map[string]*Channel
	registry *channels.Registry
	searched []string // where herald.toml was looked for, when it was searched
}

// Channel is a configured (or implied) channel with its built sender.
type Channel struct {
	Name        string
	Backend     string
	Kind        channels.Kind
	Columns     []string // audience columns holding the address, in order
	Sections    []string // template sections, in order of preference
	Price       float64  // per message (per segment for SMS), 0 when unknown
	MaxSegments int
	Concurrency int
	Rate        string

	// Sender is the backend itself; Call adds retries (and, for a dry run,
	// replaces the provider call with the backend's checks). Gate bounds
	// calls in flight and their rate. All are built without touching the
	// network.
	Sender channels.Sender
	Call   channels.Sender
	Gate   *channels.Gate

	// Implied is true for a kind-named channel with no [channels.X] entry:
	// it uses the outbox because nothing configures it, not by choice.
	Implied bool
}

// IsOutbox reports whether this channel writes its messages to the outbox
// directory instead of handing them to a provider: nothing sent on it
// leaves the machine, so a summary must not call them sent.
func (ch *Channel) IsOutbox() bool { return ch.Backend == "outbox" }

// OutboxNotices are the warnings herald prints on every run that would
// send (SPEC 1.1): one when no herald.toml was found, else one per channel
// of names that falls back to the outbox only because herald.toml has no
// entry for it. A channel configured with backend = "outbox" on purpose
// gets none. Unknown names are left to the campaign checks.
func (cfg *Config) OutboxNotices(names []string) []string {
	if cfg.File == "" {
		return []string{fmt.Sprintf("no herald.toml found (looked in %s): every channel writes to the outbox in %s; nothing leaves this machine",
			strings.Join(cfg.searched, ", "), cfg.OutboxDir())}
	}
	var out []string
	seen := map[string]bool{}
	for _, name := range names {
		if seen[name] {
			continue
		}
		seen[name] = true
		ch, err := cfg.Channel(name)
		if err != nil || !ch.Implied {
			continue
		}
		out = append(out, fmt.Sprintf("channel %s has no [channels.%s] in %s: it writes to the outbox in %s; nothing sent on it leaves this machine",
			name, name, cfg.File, cfg.OutboxDir()))
	}
	return out
}

// Send sends one message through the gate and the call chain.
func (ch *Channel) Send(ctx context.Context, m channels.Message) (channels.Receipt, error) {
	release, err := ch.Gate.Acquire(ctx)
	if err != nil {
		return channels.Receipt{}, err
	}
	defer release()
	return ch.Call.Send(ctx, m)
}

type rawConfig struct {
	StateDir   channels.Setting          `toml:"state_dir"`
	State      channels.SecretURL        `toml:"state"` // postgres://...: the shared store
	QuietHours string                    `toml:"quiet_hours"`
	PublicURL  channels.Setting          `toml:"public_url"`
	Regions    map[string]nameList       `toml:"regions"`
	Channels   map[string]toml.Primitive `toml:"channels"`
	Replies    struct {
		IMAP struct {
			URL      channels.SecretURL `toml:"url"`
			Username channels.Setting   `toml:"username"`
			Password channels.Secret    `toml:"password"`
			tlsKeys
		} `toml:"imap"`
	} `toml:"replies"`
}

// commonChannel holds the keys herald reads itself for every channel; the
// rest of [channels.X] belongs to the backend.
type commonChannel struct {
	Backend     string  `toml:"backend"`
	Rate        string  `toml:"rate"`
	Concurrency int     `toml:"concurrency"`
	APIURL      string  `toml:"api_url"`
	Address     string  `toml:"address"`
	Price       float64 `toml:"price"`
	MaxSegments int     `toml:"max_segments"`
	Retries     *int    `toml:"retries"`
	OnUnknown   string  `toml:"on_unknown"`
	Kind        string  `toml:"kind"` // what an outbox channel behaves as
	tlsKeys
}

// tlsKeys are the TLS keys of a channel and of [replies.imap] (SPEC 1.1).
type tlsKeys struct {
	CAFile                string `toml:"ca_file"`
	TLSInsecureSkipVerify bool   `toml:"tls_insecure_skip_verify"`
}

// load resolves ca_file (${VAR} expanded, relative to herald.toml) and reads
// it; table is the TOML table the keys are in, for the error's line and
// for check's warning about skip-verify.
func (k tlsKeys) load(cfg *Config, text []byte, table ...string) (channels.TLSOptions, error) {
	opts := channels.TLSOptions{InsecureSkipVerify: k.TLSInsecureSkipVerify}
	where := "[" + strings.Join(table, ".") + "]"
	if k.TLSInsecureSkipVerify {
		cfg.Warnings = append(cfg.Warnings, fileErrorf(cfg.File, keyLine(text, append(toml.Key(table), "tls_insecure_skip_verify")),
			"%s tls_insecure_skip_verify = true: any certificate is accepted, so anyone on the network path can read and change the traffic; trust a private CA with ca_file instead", where))
	}
	if k.CAFile == "" {
		return opts, nil
	}
	line := keyLine(text, append(toml.Key(table), "ca_file"))
	path, err := channels.ExpandEnv(k.CAFile)
	if err != nil {
		return opts, fileErrorf(cfg.File, line, "%s ca_file: %v", where, err)
	}
	opts.CAFile = resolvePath(filepath.Dir(cfg.File), path)
	if opts.RootCAs, err = channels.LoadCAFile(opts.CAFile); err != nil {
		return opts, fileErrorf(cfg.File, line, "%s %v", where, err)
	}
	return opts, nil
}

// Options say where herald.toml and the state live.
type Options struct {
	ConfigPath string             // --config; "" = $HERALD_CONFIG, ./herald.toml, then beside CampaignPath and up
	StateDir   string             // --state; overrides state_dir
	Registry   *channels.Registry // the known backends
	HTTP       *http.Client       // for provider calls; nil = a default with timeouts
	Retry      *channels.RetryPolicy
	OnRetry    func(channels.Message, channels.Attempt)

	// CampaignPath is the campaign file the command works on, if any: a
	// herald.toml in its directory or a parent is found as git finds .git.
	CampaignPath string
}

// ConfigError is a configuration problem: exit status 2. It may hold
// several FileErrors.
type ConfigError struct{ Errs []error }

func (e *ConfigError) Error() string {
	msgs := make([]string, len(e.Errs))
	for i, err := range e.Errs {
		msgs[i] = err.Error()
	}
	return strings.Join(msgs, "\n")
}

func (e *ConfigError) Unwrap() []error { return e.Errs }

func configErr(errs ...error) error {
	if len(errs) == 0 {
		return nil
	}
	return &ConfigError{Errs: errs}
}

// LoadConfig finds and reads herald.toml (SPEC 1.1): --config,
// $HERALD_CONFIG, ./herald.toml, then herald.toml in the campaign file's
// directory and each parent up to the root. With no file, every channel
// uses the outbox backend and the state lives in ./.herald; OutboxNotices
// then says so.
func LoadConfig(opts Options) (*Config, error) {
	cfg := &Config{StateDir: ".herald", channels: map[string]*Channel{}, registry: opts.Registry, Regions: map[string][]string{}}
	path, explicit, searched := findConfig(opts)
	cfg.searched = searched
	if path != "" {
		text, err := os.ReadFile(path)
		switch {
		case err == nil:
			cfg.File = path
			if err := cfg.parse(text, opts); err != nil {
				return nil, err
			}
		case errors.Is(err, os.ErrNotExist) && explicit != "":
			return nil, configErr(fmt.Errorf("config file %s not found (given by %s)", path, explicit))
		default:
			return nil, configErr(fmt.Errorf("reading config: %w", err))
		}
	}
	location := cfg.StateDir
	if opts.StateDir != "" {
		// --state wins: a directory, or a postgres:// URL
		location = opts.StateDir
		cfg.StateURL = ""
		if !state.IsDatabaseURL(location) {
			cfg.StateDir = opts.StateDir
		}
	}
	if cfg.StateURL != "" {
		location = cfg.StateURL
	}
	store, err := state.Open(location)
	if err != nil {
		return nil, configErr(err)
	}
	cfg.Store = store
	return cfg, nil
}

// configSource names who asked for a config file, for the error when it
// does not exist; "" means it was found by searching.
type configSource string

// findConfig returns the herald.toml to read, who named it, and the places
// searched (for the notice when there is none). A path named by --config or
// $HERALD_CONFIG is returned whether or not it exists: a typo there is an
// error, not a silent fall back to the outbox.
func findConfig(opts Options) (path string, explicit configSource, searched []string) {
	if opts.ConfigPath != "" {
		return opts.ConfigPath, "--config", nil
	}
	if env := os.Getenv("HERALD_CONFIG"); env != "" {
		return env, "$HERALD_CONFIG", nil
	}
	const name = "herald.toml"
	searched = append(searched, "./"+name)
	if isFile(name) {
		return name, "", searched
	}
	if opts.CampaignPath == "" || opts.CampaignPath == "-" {
		return "", "", searched
	}
	dir, err := filepath.Abs(filepath.Dir(opts.CampaignPath))
	if err != nil {
		return "", "", searched
	}
	wd, _ := os.Getwd()
	searched = append(searched, displayPath(wd, dir)+" and each parent directory")
	for {
		candidate := filepath.Join(dir, name)
		if isFile(candidate) {
			return displayPath(wd, candidate), "", searched
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", "", searched
		}
		dir = parent
	}
}

func isFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir()
}

// displayPath shows path relative to the working directory when that is
// shorter to read, else absolute.
func displayPath(wd, path string) string {
	if wd == "" {
		return path
	}
	rel, err := filepath.Rel(wd, path)
	if err != nil || strings.Count(rel, "..") > 2 {
		return path
	}
	return rel
}

func (cfg *Config) parse(text []byte, opts Options) error {
	file := cfg.File
	dir := filepath.Dir(file)
	var raw rawConfig
	md, err := toml.Decode(string(text), &raw)
	if err != nil {
		return configErr(tomlError(file, err))
	}
	var errs []error
	for _, table := range []string{"regions", "channels", "replies"} {
		if err := tableKey(file, text, md, table); err != nil {
			errs = append(errs, err)
		}
	}
	if raw.StateDir != "" {
		cfg.StateDir = resolvePath(dir, string(raw.StateDir))
	} else {
		cfg.StateDir = filepath.Join(dir, ".herald")
	}
	if opts.StateDir != "" && !state.IsDatabaseURL(opts.StateDir) {
		cfg.StateDir = opts.StateDir // --state wins; the outbox must see it
	}
	if u := raw.State.URL; u != nil {
		if !state.IsDatabaseURL(u.String()) {
			errs = append(errs, fileErrorf(file, keyLine(text, toml.Key{"state"}), "state %q: want a postgres:// URL (a state directory goes in state_dir)", raw.State.String()))
		} else {
			cfg.StateURL = u.String()
		}
	}
	if raw.QuietHours != "" {
		span, err := schedule.ParseSpan(raw.QuietHours)
		if err != nil {
			errs = append(errs, fileErrorf(file, keyLine(text, toml.Key{"quiet_hours"}), "quiet_hours: %v", err))
		} else {
			cfg.Quiet = &span
		}
	}
	cfg.PublicURL = strings.TrimRight(string(raw.PublicURL), "/")
	if cfg.PublicURL != "" && !strings.HasPrefix(cfg.PublicURL, "https://") && !strings.HasPrefix(cfg.PublicURL, "http://") {
		errs = append(errs, fileErrorf(file, keyLine(text, toml.Key{"public_url"}), "public_url %q must start with https:// (http:// only for local testing)", cfg.PublicURL))
	}
	for country, list := range raw.Regions {
		cc := strings.ToUpper(country)
		if len(cc) != 2 {
			errs = append(errs, fileErrorf(file, keyLine(text, toml.Key{"regions", country}), "regions: %q is not an ISO 3166-1 alpha-2 country code", country))
			continue
		}
		if len(list) == 0 {
			errs = append(errs, fileErrorf(file, keyLine(text, toml.Key{"regions", country}), "regions.%s = []: list the channels to try for %s in order, or remove the line", country, cc))
			continue
		}
		cfg.Regions[cc] = list
	}
	if imap := raw.Replies.IMAP; imap.URL.URL != nil {
		u := *imap.URL.URL
		// username and password take raw text, so a password with
		// URL-special characters needs no escaping; they win over the
		// URL's user-info.
		if imap.Username != "" || imap.Password != "" {
			user, pass := "", ""
			if u.User != nil {
				user = u.User.Username()
				pass, _ = u.User.Password()
			}
			if imap.Username != "" {
				user = string(imap.Username)
			}
			if imap.Password != "" {
				pass = imap.Password.Reveal()
			}
			u.User = url.UserPassword(user, pass)
		}
		cfg.IMAP = &channels.SecretURL{URL: &u}
		tlsOpts, err := imap.tlsKeys.load(cfg, text, "replies", "imap")
		if err != nil {
			errs = append(errs, err)
		}
		cfg.IMAPTLS = tlsOpts
	}
	names := make([]string, 0, len(raw.Channels))
	for name := range raw.Channels {
		names = append(names, name)
	}
	sort.Strings(names)
	var failed [][]string
	for _, name := range names {
		ch, err := cfg.buildChannel(name, raw.Channels[name], md, text, opts)
		if err != nil {
			errs = append(errs, err)
			failed = append(failed, []string{"channels", name})
			continue
		}
		cfg.channels[name] = ch
	}
	errs = append(errs, undecodedErrors(file, text, md, failed...)...)
	return configErr(errs...)
}

func (cfg *Config) buildChannel(name string, prim toml.Primitive, md toml.MetaData, text []byte, opts Options) (*Channel, error) {
	file := cfg.File
	line := keyLine(text, toml.Key{"channels", name})
	var common commonChannel
	if err := md.PrimitiveDecode(prim, &common); err != nil {
		return nil, tomlError(file, err)
	}
	if common.Backend == "" {
		return nil, fileErrorf(file, line, "[channels.%s]: backend is required (one of %s)", name, strings.Join(opts.Registry.Names(), ", "))
	}
	b, err := opts.Registry.Lookup(common.Backend)
	if err != nil {
		return nil, fileErrorf(file, keyLine(text, toml.Key{"channels", name, "backend"}), "[channels.%s]: %v", name, err)
	}
	kind := b.Kind
	if b.Name == "outbox" {
		kind = channels.Kind(common.Kind)
		if kind == "" {
			kind = channels.Kind(name)
		}
		if len(kind.AddressColumns()) == 0 {
			return nil, fileErrorf(file, line, "[channels.%s]: an outbox channel needs kind = \"email\", \"sms\", \"whatsapp\", \"telegram\" or \"line\"", name)
		}
	} else if common.Kind != "" {
		return nil, fileErrorf(file, keyLine(text, toml.Key{"channels", name, "kind"}), "[channels.%s]: kind is only for backend = \"outbox\"", name)
	}
	ch := &Channel{Name: name, Backend: b.Name, Kind: kind, Price: common.Price, MaxSegments: common.MaxSegments, Concurrency: common.Concurrency, Rate: common.Rate}
	if ch.Concurrency <= 0 {
		ch.Concurrency = 1
		if kind != channels.KindEmail {
			ch.Concurrency = 4 // HTTP APIs take parallel requests well; SMTP sessions are costly
		}
	}
	apiURL, err := channels.ExpandEnv(common.APIURL)
	if err != nil {
		return nil, fileErrorf(file, keyLine(text, toml.Key{"channels", name, "api_url"}), "[channels.%s] api_url: %v", name, err)
	}
	ch.Columns = kind.AddressColumns()
	if common.Address != "" {
		ch.Columns = []string{strings.ToLower(common.Address)}
	}
	if len(ch.Columns) == 0 {
		return nil, fileErrorf(file, line, "[channels.%s]: a %s channel needs address = \"<audience column>\"", name, b.Name)
	}
	ch.Sections = sectionsFor(name, kind)
	// A bad ca_file is reported after the backend has read its keys, so
	// they are not reported as unknown too: one mistake, one message.
	tlsOpts, tlsErr := common.tlsKeys.load(cfg, text, "channels", name)
	limit, burst, err := channels.ParseRate(common.Rate)
	if err != nil {
		return nil, fileErrorf(file, keyLine(text, toml.Key{"channels", name, "rate"}), "[channels.%s] %v", name, err)
	}
	settings := channels.Settings{
		Channel:     name,
		APIURL:      apiURL,
		PublicURL:   cfg.PublicURL,
		Concurrency: ch.Concurrency,
		MaxSegments: common.MaxSegments,
		HTTP:        opts.HTTP,
		TLS:         tlsOpts,
		StateDir:    cfg.StateDir,
		Kind:        kind,
		Decode: func(v any) error {
			if err := md.PrimitiveDecode(prim, v); err != nil {
				return tomlError(file, err)
			}
			return nil
		},
	}
	sender, err := b.New(settings)
	if err != nil {
		var fe *FileError
		if errors.As(err, &fe) {
			return nil, fe // it names the file, line and key already
		}
		return nil, fileErrorf(file, line, "[channels.%s]: %v", name, err)
	}
	if tlsErr != nil {
		return nil, tlsErr
	}
	policy := channels.DefaultRetry
	if opts.Retry != nil {
		policy = *opts.Retry
	}
	if common.Retries != nil {
		policy.Attempts = *common.Retries + 1
	}
	if policy.RetryUnknown, err = channels.RetryUnknown(sender, common.OnUnknown); err != nil {
		return nil, fileErrorf(file, keyLine(text, toml.Key{"channels", name, "on_unknown"}), "[channels.%s] %v", name, err)
	}
	ch.Sender = sender
	var lim *rate.Limiter
	if limit != rate.Inf {
		lim = rate.NewLimiter(limit, burst)
	}
	ch.Gate = channels.NewGate(ch.Concurrency, lim)
	ch.Call = channels.WithRetry(sender, policy, opts.OnRetry)
	return ch, nil
}

// sectionsFor is the template section order of SPEC 1.1: [<name>], then the
// backend's kind, then [default].
func sectionsFor(name string, kind channels.Kind) []string {
	s := []string{name}
	if kind != channels.KindWebhook && string(kind) != name {
		s = append(s, string(kind))
	}
	return append(s, "default")
}

// Channel returns the channel with that name: a configured one, or, for the
// kind names (email, sms, whatsapp, telegram, line), the outbox.
func (cfg *Config) Channel(name string) (*Channel, error) {
	if ch, ok := cfg.channels[name]; ok {
		return ch, nil
	}
	for _, k := range channels.Kinds {
		if string(k) == name {
			ch, err := cfg.outboxChannel(k)
			if err != nil {
				return nil, err
			}
			cfg.channels[name] = ch
			return ch, nil
		}
	}
	return nil, fmt.Errorf("unknown channel %q: add [channels.%s] to %s, or use one of %s", name, name, cfg.describeFile(), strings.Join(cfg.ChannelNames(), ", "))
}

func (cfg *Config) describeFile() string {
	if cfg.File == "" {
		return "herald.toml"
	}
	return cfg.File
}

// ChannelNames lists the configured channels and the implied kind names.
func (cfg *Config) ChannelNames() []string {
	seen := map[string]bool{}
	var names []string
	for n := range cfg.channels {
		seen[n] = true
		names = append(names, n)
	}
	for _, k := range channels.Kinds {
		if !seen[string(k)] {
			names = append(names, string(k))
		}
	}
	sort.Strings(names)
	return names
}

// Channels returns the configured channels, sorted by name.
func (cfg *Config) Channels() []*Channel {
	out := make([]*Channel, 0, len(cfg.channels))
	for _, ch := range cfg.channels {
		out = append(out, ch)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (cfg *Config) outboxChannel(k channels.Kind) (*Channel, error) {
	b, err := cfg.registry.Lookup("outbox")
	if err != nil {
		return nil, err
	}
	sender, err := b.New(channels.Settings{
		Channel:     string(k),
		Kind:        k,
		PublicURL:   cfg.PublicURL,
		StateDir:    cfg.StateDir,
		Concurrency: 1,
		Decode:      func(v any) error { return nil },
	})
	if err != nil {
		return nil, err
	}
	return &Channel{
		Name: string(k), Backend: "outbox", Kind: k, Columns: k.AddressColumns(),
		Sections: sectionsFor(string(k), k), Concurrency: 4, Implied: true,
		Sender: sender, Call: sender, Gate: channels.NewGate(4, nil),
	}, nil
}

// OutboxDir is where the outbox backend writes.
func (cfg *Config) OutboxDir() string { return filepath.Join(cfg.StateDir, "outbox") }

// Close releases the channels' connections.
func (cfg *Config) Close() error {
	var errs []error
	for _, ch := range cfg.channels {
		if c, ok := ch.Sender.(channels.Closer); ok {
			errs = append(errs, c.Close())
		}
	}
	if cfg.Store != nil {
		errs = append(errs, cfg.Store.Close())
	}
	return errors.Join(errs...)
}

// DryRun makes every channel's call chain check messages instead of
// sending them.
func (cfg *Config) DryRun() {
	for _, name := range cfg.ChannelNames() {
		if ch, err := cfg.Channel(name); err == nil {
			ch.Call = channels.WithDryRun(ch.Sender)
		}
	}
}

func resolvePath(dir, p string) string {
	if p == "-" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}
