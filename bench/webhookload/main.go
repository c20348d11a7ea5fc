// Command webhookload drives `herald replies serve` with signed Twilio
// inbound-SMS webhooks over keep-alive HTTP/1.1 connections and reports
// requests per second; with -replies it then checks that every request it
// sent is a row of replies.csv. Two helpers measure this machine's ceilings
// for comparison: `webhookload hello` serves a bare net/http handler, and
// `webhookload fsync` times small appends each followed by an fsync.
//
//	webhookload -url http://127.0.0.1:8025 -path /webhooks/sms -n 100000 -c 64 -replies state/replies.csv
//	webhookload hello -listen 127.0.0.1:8026
//	webhookload fsync -dir state -n 2000
//	webhookload journal -dir state -n 100000
//
// `webhookload journal` writes the `sent` entries the load's replies answer
// (one per sender number), so every reply is attributed through the
// journal index as in production, not an unknown sender's cheap miss.
//
// Requests are built and signed before the clock starts, so the client's
// CPU during the run is writing requests and reading responses only. The
// default client writes the prepared bytes and reads each response with
// net/http's parser (http.ReadResponse); -client nethttp uses http.Client
// instead, which costs the shared CPU more.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"herald/channels/twilio"
	"herald/state"
)

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "hello":
			exit(hello(os.Args[2:]))
			return
		case "fsync":
			exit(fsyncRate(os.Args[2:]))
			return
		case "journal":
			exit(journal(os.Args[2:]))
			return
		}
	}
	exit(load(os.Args[1:]))
}

func exit(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "webhookload:", err)
		os.Exit(1)
	}
}

func load(args []string) error {
	fs := flag.NewFlagSet("webhookload", flag.ExitOnError)
	base := fs.String("url", "http://127.0.0.1:8025", "`URL` of the server (scheme, host and port)")
	path := fs.String("path", "/webhooks/sms", "webhook `PATH`")
	public := fs.String("public-url", "", "public_url the server verifies against (default: -url)")
	n := fs.Int("n", 100000, "number of requests")
	c := fs.Int("c", 64, "concurrent connections, one request in flight on each")
	client := fs.String("client", "raw", "raw (prepared bytes, net/http's response parser) or nethttp (http.Client)")
	replies := fs.String("replies", "", "replies.csv to check for one row per request afterwards")
	unsigned := fs.Bool("unsigned", false, "plain GETs of -path (for the hello server)")
	fs.Parse(args)

	token := os.Getenv("TWILIO_AUTH_TOKEN")
	if token == "" && !*unsigned {
		return errors.New("TWILIO_AUTH_TOKEN is not set: it signs the requests")
	}
	u, err := url.Parse(*base)
	if err != nil || u.Host == "" {
		return fmt.Errorf("-url %q is not an http://host:port URL", *base)
	}
	if *public == "" {
		*public = *base
	}
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	prefix := "SMload" + run
	reqs, bodies := build(*n, u.Host, strings.TrimRight(*public, "/")+*path, *path, token, prefix, *unsigned)

	var next atomic.Int64
	var failed atomic.Int64
	var firstErr error
	var errOnce sync.Once
	fail := func(err error) {
		failed.Add(1)
		errOnce.Do(func() { firstErr = err })
	}
	lat := make([][]time.Duration, *c)
	var wg sync.WaitGroup
	cpuBefore := cpuTime()
	start := time.Now()
	for w := 0; w < *c; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			var do func(i int) error
			if *client == "nethttp" {
				do = netHTTPClient(*base+*path, bodies, token, *public+*path, *unsigned)
			} else {
				conn, err := net.Dial("tcp", u.Host)
				if err != nil {
					fail(err)
					return
				}
				defer conn.Close()
				do = rawClient(conn, reqs)
			}
			for {
				i := int(next.Add(1)) - 1
				if i >= *n {
					return
				}
				t := time.Now()
				if err := do(i); err != nil {
					fail(fmt.Errorf("request %d: %w", i, err))
					if !errors.Is(err, errStatus) {
						return // the connection is unusable
					}
					continue
				}
				lat[w] = append(lat[w], time.Since(t))
			}
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(start)
	all := slices.Concat(lat...)
	slices.Sort(all)
	ok := len(all)
	fmt.Printf("requests: %d ok, %d failed, concurrency %d, %s client\n", ok, failed.Load(), *c, *client)
	if ok > 0 {
		fmt.Printf("latency: p50 %s, p99 %s, max %s\n", all[ok/2].Round(time.Microsecond), all[ok*99/100].Round(time.Microsecond), all[ok-1].Round(time.Microsecond))
	}
	fmt.Printf("rate: %.0f requests/s (%s)\n", float64(ok)/elapsed.Seconds(), elapsed.Round(time.Millisecond))
	if ok > 0 {
		cpu := cpuTime() - cpuBefore
		fmt.Printf("client CPU: %.2f s, %.0f µs per request\n", cpu.Seconds(), float64(cpu.Microseconds())/float64(ok))
	}
	if firstErr != nil {
		return fmt.Errorf("%d requests failed, the first: %w", failed.Load(), firstErr)
	}
	if *replies != "" {
		rows, err := countRows(*replies, prefix)
		if err != nil {
			return err
		}
		fmt.Printf("replies.csv: %d rows of this run (want %d)\n", rows, *n)
		if rows != *n {
			return fmt.Errorf("%s has %d rows with message ids %s*, want %d", *replies, rows, prefix, *n)
		}
	}
	return nil
}

// cpuTime is the user and system CPU this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

var errStatus = errors.New("status is not 200")

// build prepares every request: a distinct MessageSid each, signed as
// Twilio signs (channels/twilio.Signature, whose tests pin Twilio's
// published example). reqs are whole HTTP/1.1 requests; bodies the forms.
func build(n int, host, signedURL, path, token, prefix string, unsigned bool) (reqs, bodies [][]byte) {
	reqs = make([][]byte, n)
	bodies = make([][]byte, n)
	for i := range n {
		if unsigned {
			reqs[i] = []byte("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n")
			continue
		}
		sid := fmt.Sprintf("%s%08d", prefix, i)
		form := url.Values{
			"ToCountry": {"US"}, "ToState": {"CA"}, "SmsMessageSid": {sid}, "NumMedia": {"0"},
			"ToCity": {""}, "FromZip": {""}, "SmsSid": {sid}, "FromState": {""}, "SmsStatus": {"received"},
			"FromCity": {""}, "Body": {"Bisa diantar besok sore? " + strconv.Itoa(i)}, "FromCountry": {"ID"},
			"To": {"+15550001111"}, "MessagingServiceSid": {""}, "ToZip": {""}, "NumSegments": {"1"},
			"MessageSid": {sid}, "AccountSid": {"AC0123456789abcdef0123456789abcdef"},
			"From": {sender(i)}, "ApiVersion": {"2010-04-01"},
		}
		body := form.Encode()
		sig := twilio.Signature(token, signedURL, form)
		bodies[i] = []byte(body)
		reqs[i] = []byte("POST " + path + " HTTP/1.1\r\nHost: " + host +
			"\r\nUser-Agent: TwilioProxy/1.1\r\nContent-Type: application/x-www-form-urlencoded" +
			"\r\nX-Twilio-Signature: " + sig + "\r\nContent-Length: " + strconv.Itoa(len(body)) +
			"\r\n\r\n" + body)
	}
	return reqs, bodies
}

// rawClient writes prepared requests on one keep-alive connection and
// parses each response with net/http.
func rawClient(conn net.Conn, reqs [][]byte) func(int) error {
	br := bufio.NewReaderSize(conn, 4096)
	return func(i int) error {
		if _, err := conn.Write(reqs[i]); err != nil {
			return err
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%w: %s", errStatus, resp.Status)
		}
		if resp.Close {
			return errors.New("the server closed the connection")
		}
		return nil
	}
}

func netHTTPClient(target string, bodies [][]byte, token, signedURL string, unsigned bool) func(int) error {
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}}
	return func(i int) error {
		method := http.MethodPost
		if unsigned {
			method = http.MethodGet
		}
		req, err := http.NewRequest(method, target, bytes.NewReader(bodies[i]))
		if err != nil {
			return err
		}
		if !unsigned {
			form, _ := url.ParseQuery(string(bodies[i]))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Twilio-Signature", twilio.Signature(token, signedURL, form))
		}
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%w: %s", errStatus, resp.Status)
		}
		return nil
	}
}

// countRows counts replies.csv rows whose message_id starts with prefix.
func countRows(path, prefix string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReaderSize(f, 1<<20))
	r.ReuseRecord = true
	col, rows := -1, 0
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return rows, fmt.Errorf("%s: %w", path, err)
		}
		if col < 0 {
			col = slices.Index(rec, "message_id")
			if col < 0 {
				return 0, fmt.Errorf("%s: no message_id column in the header %q", path, strings.Join(rec, ","))
			}
			continue
		}
		if col < len(rec) && strings.HasPrefix(rec[col], prefix) {
			rows++
		}
	}
}

// sender is the number request i comes from; journal sends to the same.
func sender(i int) string { return fmt.Sprintf("+62812%07d", i%10000000) }

func journal(args []string) error {
	fs := flag.NewFlagSet("journal", flag.ExitOnError)
	dir := fs.String("dir", "state", "state `DIR`")
	n := fs.Int("n", 100000, "sends, one per sender number of a load of this size")
	fs.Parse(args)
	at := time.Now().Add(-time.Hour)
	entries := make([]state.Entry, *n)
	for i := range entries {
		entries[i] = state.Entry{Time: at, Campaign: "delay", Recipient: fmt.Sprintf("c-%07d", i), Channel: "sms",
			Address: sender(i), Locale: "id", Status: state.StatusSent, ProviderID: fmt.Sprintf("SM%032d", i), Attempt: 1}
	}
	return state.OpenFiles(*dir).AppendJournal(context.Background(), entries...)
}

// hello serves the smallest net/http handler: the ceiling of any Go HTTP
// server on this machine with this client.
func hello(args []string) error {
	fs := flag.NewFlagSet("hello", flag.ExitOnError)
	listen := fs.String("listen", "127.0.0.1:8026", "`ADDRESS` to listen on")
	fs.Parse(args)
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	fmt.Println("listening", ln.Addr())
	return http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "ok\n")
	}))
}

// fsyncRate appends a 200-byte line and fsyncs, n times, in dir: the most
// batches per second any durable log can commit on this disk.
func fsyncRate(args []string) error {
	fs := flag.NewFlagSet("fsync", flag.ExitOnError)
	dir := fs.String("dir", os.TempDir(), "`DIR` on the disk to measure")
	n := fs.Int("n", 2000, "appends")
	fs.Parse(args)
	path := filepath.Join(*dir, "fsync-probe.csv")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer os.Remove(path)
	defer f.Close()
	line := append(bytes.Repeat([]byte("x"), 199), '\n')
	start := time.Now()
	for range *n {
		if _, err := f.Write(line); err != nil {
			return err
		}
		if err := f.Sync(); err != nil {
			return err
		}
	}
	el := time.Since(start)
	fmt.Printf("fsync: %d appends in %s, %.0f fsyncs/s, %s each\n", *n, el.Round(time.Millisecond), float64(*n)/el.Seconds(), (el / time.Duration(*n)).Round(time.Microsecond))
	return nil
}
