package channels

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// BaseURL returns the origin of a provider's API: defaultBase, or the
// api_url override (SPEC 1.1: it replaces scheme, host and port, and the
// backend appends its own paths). A path in the override is kept as a
// prefix, so one proxy or fake server can front several providers.
func (s Settings) BaseURL(defaultBase string) (string, error) {
	if s.APIURL == "" {
		return defaultBase, nil
	}
	u, err := url.Parse(s.APIURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("api_url %q must be an http or https URL such as http://127.0.0.1:9000", Redact(s.APIURL))
	}
	return u.Scheme + "://" + u.Host + strings.TrimRight(u.EscapedPath(), "/"), nil
}

// Client returns the HTTP client for provider calls: Settings.HTTP when
// given (tests), else one that keeps enough idle connections for the
// channel's concurrency, so steady sending reuses connections instead of
// dialling per message (net/http keeps two per host by default), and that
// bounds every call, so a hung provider becomes a retry, not a stuck run.
func (s Settings) Client() *http.Client {
	if s.HTTP != nil {
		return s.HTTP
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = max(s.Concurrency, 16)
	t.ResponseHeaderTimeout = 30 * time.Second
	return &http.Client{Transport: t, Timeout: 60 * time.Second}
}
