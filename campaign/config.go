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
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

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

	// Store holds the journal, suppressions, replies and keys.
	Store state.Store
	// StateURL is herald.toml's state = "postgres://..." (password and
	// all), "" for the files store in StateDir.
	StateURL string

	channels map[string]*Channel
	registry *channels.Registry
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
	Regions    map[string][]string       `toml:"regions"`
	Channels   map[string]toml.Primitive `toml:"channels"`
	Replies    struct {
		IMAP struct {
			URL channels.SecretURL `toml:"url"`
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
	Kind        string  `toml:"kind"` // what an outbox channel behaves as
}

// Options say where herald.toml and the state live.
type Options struct {
	ConfigPath string             // --config; "" = $HERALD_CONFIG, then ./herald.toml, else none
	StateDir   string             // --state; overrides state_dir
	Registry   *channels.Registry // the known backends
	HTTP       *http.Client       // for provider calls; nil = a default with timeouts
	Retry      *channels.RetryPolicy
	OnRetry    func(channels.Message, channels.Attempt)
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

// LoadConfig finds and reads herald.toml. With no file, every channel uses
// the outbox backend and the state lives in ./.herald.
func LoadConfig(opts Options) (*Config, error) {
	path := opts.ConfigPath
	if path == "" {
		path = os.Getenv("HERALD_CONFIG")
	}
	explicit := path != ""
	if path == "" {
		path = "herald.toml"
	}
	cfg := &Config{StateDir: ".herald", channels: map[string]*Channel{}, registry: opts.Registry, Regions: map[string][]string{}}
	text, err := os.ReadFile(path)
	switch {
	case err == nil:
		cfg.File = path
	case errors.Is(err, os.ErrNotExist) && !explicit:
		text = nil
	default:
		return nil, configErr(fmt.Errorf("reading config: %w", err))
	}
	if cfg.File != "" {
		if err := cfg.parse(text, opts); err != nil {
			return nil, err
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
	cfg.Store, err = state.Open(location)
	if err != nil {
		return nil, configErr(err)
	}
	return cfg, nil
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
		cfg.Regions[cc] = list
	}
	if raw.Replies.IMAP.URL.URL != nil {
		u := raw.Replies.IMAP.URL
		cfg.IMAP = &u
	}
	names := make([]string, 0, len(raw.Channels))
	for name := range raw.Channels {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		ch, err := cfg.buildChannel(name, raw.Channels[name], md, text, opts)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		cfg.channels[name] = ch
	}
	errs = append(errs, undecodedErrors(file, text, md)...)
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
			return nil, err
		}
		return nil, fileErrorf(file, line, "[channels.%s]: %v", name, err)
	}
	policy := channels.DefaultRetry
	if opts.Retry != nil {
		policy = *opts.Retry
	}
	if common.Retries != nil {
		policy.Attempts = *common.Retries + 1
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
		Sections: sectionsFor(string(k), k), Concurrency: 4,
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

// Duration is a TOML string duration that accepts days ("48h", "2d").
type Duration time.Duration

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := schedule.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}
