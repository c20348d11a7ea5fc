package channels

import (
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
)

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// LookupEnv is how ${NAME} references are resolved; tests may replace it.
var LookupEnv = os.LookupEnv

// ExpandEnv replaces every ${NAME} in s with the environment variable NAME.
// A variable that is not set is an error naming it: herald never runs with an
// empty secret by accident.
func ExpandEnv(s string) (string, error) {
	var missing []string
	out := envRef.ReplaceAllStringFunc(s, func(ref string) string {
		name := envRef.FindStringSubmatch(ref)[1]
		v, ok := LookupEnv(name)
		if !ok {
			missing = append(missing, name)
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("environment variable %s is not set (referenced as ${%s})", missing[0], missing[0])
	}
	return out, nil
}

// Setting is a string option whose ${NAME} references are expanded from the
// environment when it is decoded.
type Setting string

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Setting) UnmarshalText(b []byte) error {
	v, err := ExpandEnv(string(b))
	if err != nil {
		return err
	}
	*s = Setting(v)
	return nil
}

// Secret is a Setting that never prints: String and fmt verbs show "***".
type Secret string

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Secret) UnmarshalText(b []byte) error {
	v, err := ExpandEnv(string(b))
	if err != nil {
		return err
	}
	*s = Secret(v)
	return nil
}

// Reveal returns the secret's value, for the one place that needs it.
func (s Secret) Reveal() string { return string(s) }

// String hides the value.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "***"
}

// GoString hides the value from %#v too.
func (s Secret) GoString() string { return s.String() }

// MarshalText hides the value from encoders.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// SecretURL is a URL that may hold a password (smtp://user:pass@host).
// It prints with the password replaced by "***".
type SecretURL struct {
	URL *url.URL
}

// UnmarshalText implements encoding.TextUnmarshaler. A ${NAME} inside the
// user-info (scheme://user:${PASSWORD}@host) is percent-encoded as it is
// put in, so a password holding "@", "/", "#" or "%" reaches the server as
// written instead of breaking the URL.
func (u *SecretURL) UnmarshalText(b []byte) error {
	v, err := ExpandURL(string(b))
	if err != nil {
		return err
	}
	parsed, err := url.Parse(v)
	if err != nil {
		// url.Parse quotes the input, which may hold the password.
		return fmt.Errorf("invalid URL %q", Redact(string(b)))
	}
	u.URL = parsed
	return nil
}

// String prints the URL without its password.
func (u SecretURL) String() string {
	if u.URL == nil {
		return ""
	}
	return u.URL.Redacted()
}

// GoString hides the password from %#v too.
func (u SecretURL) GoString() string { return u.String() }

// MarshalText hides the password from encoders.
func (u SecretURL) MarshalText() ([]byte, error) { return []byte(u.String()), nil }

// Redact replaces the password of a URL-looking string with "***".
func Redact(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		if _, has := u.User.Password(); has {
			return u.Redacted()
		}
	}
	if i := strings.Index(s, "://"); i >= 0 {
		rest := s[i+3:]
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			if colon := strings.Index(rest[:at], ":"); colon >= 0 {
				return s[:i+3] + rest[:colon] + ":***" + rest[at:]
			}
		}
	}
	return s
}

// ExpandURL is ExpandEnv for a URL: references in the user-info are
// percent-encoded, so a password holding "@", ":", "/" or "%" still leaves
// a URL that parses, the rest are put in as they are (an api_url-style host
// from the environment). The user-info is found in the text as written,
// before expansion, where "/", "?", "#" and "@" can only be the URL's own.
func ExpandURL(raw string) (string, error) {
	scheme := strings.Index(raw, "://")
	if scheme < 0 {
		return ExpandEnv(raw)
	}
	start := scheme + 3
	authority := raw[start:]
	if end := strings.IndexAny(authority, "/?#"); end >= 0 {
		authority = authority[:end]
	}
	at := strings.LastIndexByte(authority, '@')
	if at < 0 {
		return ExpandEnv(raw)
	}
	userinfo, err := expandWith(raw[start:start+at], escapeUserinfo)
	if err != nil {
		return "", err
	}
	rest, err := ExpandEnv(raw[start+at:])
	if err != nil {
		return "", err
	}
	return raw[:start] + userinfo + rest, nil
}

// expandWith is ExpandEnv with each value passed through escape.
func expandWith(s string, escape func(string) string) (string, error) {
	var missing string
	out := envRef.ReplaceAllStringFunc(s, func(ref string) string {
		name := envRef.FindStringSubmatch(ref)[1]
		v, ok := LookupEnv(name)
		if !ok && missing == "" {
			missing = name
		}
		return escape(v)
	})
	if missing != "" {
		return "", fmt.Errorf("environment variable %s is not set (referenced as ${%s})", missing, missing)
	}
	return out, nil
}

// escapeUserinfo percent-encodes everything but RFC 3986's unreserved
// characters: safe in both the user and the password part.
func escapeUserinfo(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
