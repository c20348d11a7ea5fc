package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"herald/channels/builtin"
	"herald/replies"
	"herald/state"
)

func repliesCommand(io stdio) *cli.Command {
	return &cli.Command{
		Name:  "replies",
		Usage: "receive replies and delivery statuses",
		Subcommands: []*cli.Command{
			{
				Name:  "serve",
				Usage: "HTTP receiver for provider webhooks and one-click unsubscribe",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "listen", Value: "127.0.0.1:8025", Usage: "`ADDRESS` to listen on (host:port)"},
					&cli.BoolFlag{Name: "insecure", Usage: "start endpoints that cannot verify their provider's signature (local testing only)"},
					&cli.StringSliceFlag{Name: "campaign", Usage: "campaign `FILE` whose templates' [unsubscribe] section words the unsubscribe page (repeatable)"},
				},
				Action: func(c *cli.Context) error { return runRepliesServe(c, io) },
			},
			{
				Name:   "fetch",
				Usage:  "read e-mail replies from the IMAP mailbox",
				Action: func(c *cli.Context) error { return runRepliesFetch(c, io) },
			},
			{
				Name:  "export",
				Usage: "append the reply log to replies.csv (the rows it does not have yet)",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "out", Usage: "the CSV `FILE` (default: replies.csv in the state directory)"},
					&cli.BoolFlag{Name: "follow", Usage: "keep appending new replies until interrupted"},
				},
				Action: func(c *cli.Context) error { return runRepliesExport(c, io) },
			},
		},
	}
}

func runRepliesServe(c *cli.Context, io stdio) error {
	if c.NArg() > 0 {
		return usagef("replies serve takes no arguments, got %q", strings.Join(c.Args().Slice(), " "))
	}
	cfg, err := loadConfig(c, "")
	if err != nil {
		return err
	}
	defer cfg.Close()
	logs := newLogBatcher(io.err)
	defer logs.Close()
	log := logger(c, logs)
	ln, err := net.Listen("tcp", c.String("listen"))
	if err != nil {
		return &hinted{err: usagef("cannot listen on %s: %v", c.String("listen"), err), hint: "pick a free address with --listen host:port"}
	}
	defer ln.Close()
	opts := replies.ServerOptions{Config: cfg, Registry: builtin.Registry(), Insecure: c.Bool("insecure"), Logger: log, CampaignFiles: c.StringSlice("campaign")}
	if opts.Insecure && cfg.PublicURL == "" {
		// Local testing: requests are signed for the address we listen on.
		opts.BaseURL = "http://" + ln.Addr().String()
	}
	srv, err := replies.NewServer(opts)
	if err != nil {
		var se *replies.StartError
		if errors.As(err, &se) {
			return &hinted{err: &usageError{fmt.Errorf("replies serve will not start an endpoint it cannot verify:\n%w", err)},
				hint: "set the option named above in herald.toml, or run with --insecure for local testing only"}
		}
		return err
	}
	log.Info("replies serve listening", "addr", ln.Addr().String(), "endpoints", strings.Join(srv.Endpoints(), ", "))
	// Serve returns nil after SIGTERM/SIGINT and a graceful shutdown: exit 0.
	return replies.Serve(c.Context, ln, srv, log)
}

func runRepliesFetch(c *cli.Context, io stdio) error {
	if c.NArg() > 0 {
		return usagef("replies fetch takes no arguments, got %q", strings.Join(c.Args().Slice(), " "))
	}
	cfg, err := loadConfig(c, "")
	if err != nil {
		return err
	}
	defer cfg.Close()
	sum, err := replies.FetchReplies(c.Context, replies.FetchOptions{Config: cfg, Logger: logger(c, io.err)})
	if errors.Is(err, replies.ErrNoMailbox) {
		return &usageError{err}
	}
	if err != nil {
		return err
	}
	line := fmt.Sprintf("%s, %d matched, %s", fetchCount(sum.New, "new reply", "new replies"), sum.Matched, fetchCount(sum.OptOuts, "opt-out", "opt-outs"))
	if sum.Auto > 0 {
		line += fmt.Sprintf(", %s (not counted as replies)", fetchCount(sum.Auto, "automatic reply", "automatic replies"))
	}
	if sum.Bounces > 0 {
		line += fmt.Sprintf(", %s (address suppressed)", fetchCount(sum.Bounces, "bounce", "bounces"))
	}
	if sum.Duplicates > 0 {
		line += fmt.Sprintf(" (%d already logged)", sum.Duplicates)
	}
	if sum.Unreadable > 0 {
		line += fmt.Sprintf("; %s skipped", fetchCount(sum.Unreadable, "unreadable message", "unreadable messages"))
	}
	fmt.Fprintln(io.out, line)
	return nil
}

func fetchCount(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// notYet stands in for commands that are not built yet.
func notYet(name string) cli.ActionFunc {
	return func(c *cli.Context) error {
		return &hinted{err: usagef("%s is not available in this build", name), hint: "see the README's command list"}
	}
}

func runRepliesExport(c *cli.Context, io stdio) error {
	if c.NArg() > 0 {
		return usagef("replies export takes no arguments, got %q", strings.Join(c.Args().Slice(), " "))
	}
	cfg, err := loadConfig(c, "")
	if err != nil {
		return err
	}
	defer cfg.Close()
	out := c.String("out")
	if out == "" {
		if _, files := cfg.Store.(*state.Files); files {
			return usagef("the state is in files: %s already is replies.csv; replies export is for a PostgreSQL state (or pass --out)", cfg.Store.Describe())
		}
		out = filepath.Join(cfg.StateDir, "replies.csv")
		if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
			return err
		}
	}
	n, err := state.ExportReplies(c.Context, cfg.Store, out, c.Bool("follow"), time.Second)
	if err != nil {
		return err
	}
	fmt.Fprintf(io.out, "appended %d replies to %s\n", n, out)
	return nil
}
