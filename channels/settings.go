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

// UnmarshalText implements encoding.TextUnmarshaler.
func (u *SecretURL) UnmarshalText(b []byte) error {
	v, err := ExpandEnv(string(b))
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
