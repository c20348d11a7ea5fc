package campaign

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"herald/audience"
	"herald/campaign/schedule"
)

// Campaign is a campaign file.
type Campaign struct {
	File          string
	Name          string
	Audience      string // path, or "-" for standard input
	Templates     string // directory
	DefaultLocale string
	Channels      []string
	Fallback      bool
	Schedule      schedule.Rules // Quiet comes from herald.toml
	DefaultZone   *time.Location
	Frequency     *schedule.Frequency
	// HasStart is false when [schedule] start is not set: then a message is
	// due as soon as the window allows.
	HasStart bool

	// Lines of keys that check's warnings point at.
	channelsLine, defaultLocaleLine int
	// AudienceDelimiter and AudienceEncoding are audience_delimiter
	// (0: detect) and audience_encoding ("": UTF-8 or a BOM's).
	AudienceDelimiter rune
	AudienceEncoding  string

	// audienceName names a spooled standard input ("stdin") in errors.
	audienceName string
}

type rawCampaign struct {
	Name          string   `toml:"name"`
	Audience      string   `toml:"audience"`
	AudDelimiter  string   `toml:"audience_delimiter"`
	AudEncoding   string   `toml:"audience_encoding"`
	Templates     string   `toml:"templates"`
	DefaultLocale string   `toml:"default_locale"`
	Channels      nameList `toml:"channels"`
	Fallback      *bool    `toml:"fallback"`
	Schedule      struct {
		Start           string   `toml:"start"`
		Window          string   `toml:"window"`
		Days            nameList `toml:"days"`
		Expire          string   `toml:"expire"`
		DefaultTimezone string   `toml:"default_timezone"`
	} `toml:"schedule"`
	Limits struct {
		Frequency string `toml:"frequency"`
	} `toml:"limits"`
}

var campaignName = regexp.MustCompile(`^[a-z0-9._-]+$`)

// LoadCampaign reads a campaign file. Every problem found is returned, each
// naming the file and line. Channel names are checked against cfg.
func LoadCampaign(path string, cfg *Config) (*Campaign, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, configErr(fmt.Errorf("reading campaign: %w", err))
	}
	var raw rawCampaign
	md, err := toml.Decode(string(text), &raw)
	if err != nil {
		return nil, configErr(tomlError(path, err))
	}
	errs := undecodedErrors(path, text, md)
	at := func(key ...string) int { return keyLine(text, toml.Key(key)) }
	bad := func(line int, format string, args ...any) {
		errs = append(errs, fileErrorf(path, line, format, args...))
	}
	dir := filepath.Dir(path)
	c := &Campaign{File: path, Name: raw.Name, DefaultLocale: raw.DefaultLocale, Channels: raw.Channels, Fallback: true,
		channelsLine: at("channels"), defaultLocaleLine: at("default_locale")}
	if raw.Fallback != nil {
		c.Fallback = *raw.Fallback
	}
	switch {
	case raw.Name == "":
		bad(1, "name is required (the journal key: same name = same campaign)")
	case !campaignName.MatchString(raw.Name):
		bad(at("name"), "name %q: use only lower-case letters, digits, '.', '_' and '-'", raw.Name)
	}
	if raw.Audience == "" {
		bad(1, "audience is required (a .csv or .jsonl file, or \"-\" for standard input)")
	} else {
		c.Audience = resolvePath(dir, raw.Audience)
	}
	if raw.AudDelimiter != "" {
		d, err := audience.ParseDelimiter(raw.AudDelimiter)
		if err != nil {
			bad(at("audience_delimiter"), "%v", err)
		}
		c.AudienceDelimiter = d
	}
	if raw.AudEncoding != "" {
		if _, canon, err := audience.LookupEncoding(raw.AudEncoding); err != nil {
			bad(at("audience_encoding"), "%v", err)
		} else {
			c.AudienceEncoding = canon
		}
	}
	if raw.Templates == "" {
		bad(1, "templates is required (a directory with one <locale>.toml per language)")
	} else {
		c.Templates = resolvePath(dir, raw.Templates)
	}
	if raw.DefaultLocale == "" {
		bad(1, "default_locale is required (used when no template locale matches the customer)")
	}
	switch {
	case md.IsDefined("channels") && len(raw.Channels) == 0:
		bad(at("channels"), "channels = []: list the channels this campaign may use, e.g. [\"email\", \"sms\"]")
	case len(raw.Channels) == 0:
		bad(1, "channels is required: the channels this campaign may use, e.g. [\"email\", \"sms\"]")
	}
	seen := map[string]bool{}
	for _, name := range raw.Channels {
		if seen[name] {
			bad(at("channels"), "channels: %q is listed twice", name)
		}
		seen[name] = true
		if _, err := cfg.Channel(name); err != nil {
			bad(at("channels"), "channels: %v", err)
		}
	}
	for country, list := range cfg.Regions {
		for _, name := range list {
			if _, err := cfg.Channel(name); err != nil {
				errs = append(errs, fileErrorf(cfg.describeFile(), 0, "regions.%s: %v", country, err))
			}
		}
	}

	s := raw.Schedule
	c.DefaultZone = time.UTC
	if s.DefaultTimezone != "" {
		z, err := time.LoadLocation(s.DefaultTimezone)
		if err != nil || s.DefaultTimezone == "Local" {
			bad(at("schedule", "default_timezone"), "default_timezone %q: unknown time zone (use an IANA name such as \"Asia/Jakarta\")", s.DefaultTimezone)
		} else {
			c.DefaultZone = z
		}
	}
	if s.Start != "" {
		st, err := schedule.ParseStart(s.Start)
		if err != nil {
			bad(at("schedule", "start"), "start: %v", err)
		} else {
			c.Schedule.Start = st
			c.HasStart = true
		}
	}
	if s.Window != "" {
		w, err := schedule.ParseSpan(s.Window)
		if err != nil {
			bad(at("schedule", "window"), "window: %v", err)
		} else {
			c.Schedule.Window = &w
		}
	}
	if md.IsDefined("schedule", "days") && len(s.Days) == 0 {
		// An empty list would mean "every day" to the schedule: say so
		// rather than guess which the author meant.
		bad(at("schedule", "days"), "days = []: list the days to send on, e.g. [\"mon\", \"tue\"], or remove the key to send on any day")
	}
	if len(s.Days) > 0 {
		d, err := schedule.ParseDays(s.Days)
		if err != nil {
			bad(at("schedule", "days"), "days: %v", err)
		} else {
			c.Schedule.Days = d
		}
	}
	if s.Expire != "" {
		d, err := schedule.ParseDuration(s.Expire)
		if err != nil {
			bad(at("schedule", "expire"), "expire: %v", err)
		} else {
			c.Schedule.Expire = d
		}
	}
	if raw.Limits.Frequency != "" {
		f, err := schedule.ParseFrequency(raw.Limits.Frequency)
		if err != nil {
			bad(at("limits", "frequency"), "frequency: %v", err)
		} else {
			c.Frequency = &f
		}
	}
	c.Schedule.Quiet = cfg.Quiet
	if err := c.Schedule.Validate(); err != nil {
		bad(at("schedule"), "schedule: %v", err)
	}
	if c.Schedule.Expire > 0 && !c.HasStart {
		bad(at("schedule", "expire"), "expire needs a start to count from")
	}
	return c, configErr(errs...)
}

// AudienceOptions are the options to read this campaign's audience with,
// given the channel names herald.toml defines.
func (c *Campaign) AudienceOptions(knownChannels []string) audience.Options {
	return audience.Options{KnownChannels: knownChannels, Delimiter: c.AudienceDelimiter, Encoding: c.AudienceEncoding, Name: c.audienceName}
}

// String names the campaign and its channels, for messages.
func (c *Campaign) String() string {
	return fmt.Sprintf("%s (%s)", c.Name, strings.Join(c.Channels, ", "))
}
