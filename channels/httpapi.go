package channels

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
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
// It trusts the channel's ca_file (SPEC 1.1).
func (s Settings) Client() *http.Client {
	if s.HTTP != nil {
		return s.HTTP
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	if s.TLS.RootCAs != nil || s.TLS.InsecureSkipVerify {
		t.TLSClientConfig = s.TLS.Config("")
	}
	t.MaxIdleConnsPerHost = max(s.Concurrency, 16)
	t.ResponseHeaderTimeout = 30 * time.Second
	return &http.Client{Transport: t, Timeout: 60 * time.Second}
}

// Scrub replaces every secret in text, as written or URL-escaped (a token in
// a request path), with "***": provider errors and transport errors can
// echo a request, and errors end up in logs and journals.
func Scrub(text string, secrets ...string) string {
	for _, sec := range secrets {
		if sec == "" {
			continue
		}
		text = strings.ReplaceAll(text, sec, "***")
		if esc := url.PathEscape(sec); esc != sec {
			text = strings.ReplaceAll(text, esc, "***")
		}
	}
	return text
}

// Do sends req with client and classifies a failed round trip (SPEC 3):
// a request that was not fully written is Temporary, one that was written
// and got no answer (timeout, reset, EOF, a call cut off by the shutdown
// grace) is Unknown, and a certificate the client cannot verify is a Channel
// error naming ca_file. The message says "<backend>: <what> failed: ..."
// without the request URL, which url.Error prints and which may hold a
// token or key.
func Do(client *http.Client, req *http.Request, backend, what string, secrets ...string) (*http.Response, error) {
	var wrote atomic.Bool
	trace := &httptrace.ClientTrace{WroteRequest: func(info httptrace.WroteRequestInfo) {
		if info.Err == nil {
			wrote.Store(true)
		}
	}}
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
	resp, err := client.Do(req)
	if err == nil {
		return resp, nil
	}
	return nil, TransportError(req.Context(), backend, what, err, wrote.Load(), secrets...)
}

// TransportError classifies err from a round trip whose request was, or
// was not, fully written (see Do). When the caller's context ended, the
// error also wraps ctx.Err(), so the caller can tell an interrupt.
func TransportError(ctx context.Context, backend, what string, err error, written bool, secrets ...string) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if IsTLSVerification(err) {
		return ChannelError(fmt.Errorf("%s: %s failed: %s", backend, what, Scrub(err.Error(), secrets...)), HintTLS)
	}
	var cause error
	if ctx.Err() != nil {
		cause = fmt.Errorf("%s: %s interrupted: %w", backend, what, ctx.Err())
	} else {
		cause = fmt.Errorf("%s: %s failed: %s", backend, what, Scrub(err.Error(), secrets...))
	}
	if written {
		return UnknownError(fmt.Errorf("%w (the request was sent; the provider may have the message)", cause))
	}
	return TemporaryError(cause, 0)
}

// MaxResponse bounds what is read of a provider's answer: theirs are a few
// KB, and a misconfigured api_url must not make herald buffer a web page.
const MaxResponse = 1 << 20

// ReadBody reads a provider's answer (at most MaxResponse bytes) and drains
// a little more, so the connection can go back to the pool. A read error
// after the status line is the caller's to judge: a 2xx status may already
// say the message was accepted.
func ReadBody(resp *http.Response) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponse))
	if err == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, MaxResponse))
	}
	return data, err
}

// Snippet is the start of a provider's non-JSON error body, on one line,
// for error messages.
func Snippet(body []byte) string {
	s := strings.Join(strings.Fields(string(body)), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
