// Command herald sends multilingual campaigns and proactive notifications
// across e-mail, SMS, WhatsApp, Telegram, LINE and webhooks, each in the
// customer's language, channel and local hours, exactly once.
//
// This package only parses flags and calls the library packages; every
// error comes back to run, which maps it to an exit status in one place.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"herald/campaign"
	"herald/channels"
	"herald/channels/builtin"
	"herald/state"
)

// Exit statuses (SPEC 2).
const (
	exitOK        = 0
	exitFailures  = 1 // some recipients could not be sent, or check found problems
	exitUsage     = 2 // usage or configuration error
	exitChannel   = 3 // a channel is unusable as configured
	exitLocked    = 75
	exitCancelled = 130
)

func main() { os.Exit(mainRun()) }

// mainRun is main without the exit, shared with the tests that run this
// binary as herald.
func mainRun() int {
	ctx, stop := interruptible(context.Background(), os.Stderr)
	defer stop()
	stopProfiles, err := startProfiles(os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "herald: error: %v\n", err)
		return exitUsage
	}
	tuneGC()
	code := run(ctx, os.Args, stdio{in: os.Stdin, out: os.Stdout, err: os.Stderr})
	if err := stopProfiles(); err != nil {
		fmt.Fprintf(os.Stderr, "herald: error: %v\n", err)
	}
	return code
}

// interruptible returns a context cancelled by the first SIGINT or
// SIGTERM, which every command takes as "stop cleanly now" (exit 130). A
// second signal means the operator does not want to wait for the clean
// stop: exit at once.
func interruptible(parent context.Context, stderr io.Writer) (context.Context, func()) {
	ctx, cancel := context.WithCancel(parent)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-sigs:
			cancel()
		case <-done:
			return
		}
		select {
		case <-sigs:
			fmt.Fprintln(stderr, "herald: second signal: exiting at once")
			os.Exit(exitCancelled)
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		close(done)
		cancel()
	}
}

type stdio struct {
	in       io.Reader
	out, err io.Writer
}

// failuresError means the command ran but something it reports failed
// (exit 1), the message is already printed.
type failuresError struct{ msg string }

func (e *failuresError) Error() string { return e.msg }

// usageError is a command-line mistake (exit 2).
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return &usageError{fmt.Errorf(format, args...)} }

// hinted is an error with advice for the user.
type hinted struct {
	err  error
	hint string
}

func (h *hinted) Error() string { return h.err.Error() }
func (h *hinted) Unwrap() error { return h.err }

func run(ctx context.Context, args []string, io stdio) int {
	app := newApp(io)
	args, err := interspersed(app, args)
	if err == nil {
		err = app.RunContext(ctx, args)
	}
	return exitCode(err, io.err)
}

func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	var fe *failuresError
	var ue *usageError
	var ce *campaign.ConfigError
	var ire *campaign.InvalidRowsError
	var le *state.LockedError
	var cse *channelsStoppedError
	code := exitFailures
	switch {
	case errors.As(err, &le):
		fmt.Fprintf(stderr, "herald: error: %v\n", le)
		return exitLocked
	case errors.As(err, &cse):
		for _, name := range cse.names() {
			cerr := cse.stopped[name]
			fmt.Fprintf(stderr, "herald: error: channel %s stopped: %v\n", name, cerr)
			if hint := channels.HintOf(cerr); hint != "" {
				fmt.Fprintf(stderr, "herald: hint: %s\n", hint)
			}
		}
		fmt.Fprintln(stderr, "herald: its recipients were not sent and are not marked failed: fix the configuration and run the same command again")
		return exitChannel
	case errors.As(err, &fe):
		if fe.msg != "" {
			fmt.Fprintf(stderr, "herald: %s\n", fe.msg)
		}
		return exitFailures
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(stderr, "herald: interrupted; run the same command again to resume")
		return exitCancelled
	case errors.As(err, &ce):
		for _, e := range ce.Errs {
			fmt.Fprintf(stderr, "herald: error: %v\n", e)
		}
		return exitUsage
	case errors.As(err, &ire):
		for _, e := range ire.Rows {
			fmt.Fprintln(stderr, e)
		}
		code = exitFailures
	case errors.As(err, &ue):
		code = exitUsage
	}
	fmt.Fprintf(stderr, "herald: error: %v\n", err)
	var h *hinted
	if errors.As(err, &h) && h.hint != "" {
		fmt.Fprintf(stderr, "herald: hint: %s\n", h.hint)
	}
	return code
}

var globalFlags = []cli.Flag{
	&cli.StringFlag{Name: "config", Usage: "herald.toml to use (default $HERALD_CONFIG, then ./herald.toml)"},
	&cli.StringFlag{Name: "state", Usage: "state directory (journal, replies, suppressions, outbox); overrides state_dir"},
	&cli.StringFlag{Name: "log-format", Value: "text", Usage: "log lines as `text` or json"},
	&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only errors and the summary"},
	&cli.BoolFlag{Name: "no-color", Usage: "no colours or progress bar"},
}

func newApp(io stdio) *cli.App {
	app := &cli.App{
		Name:                 "herald",
		Usage:                "multilingual campaigns and proactive notifications, sent once, in each customer's language, channel and hours",
		Version:              versionString(),
		Flags:                globalFlags,
		Reader:               io.in,
		Writer:               io.out,
		ErrWriter:            io.err,
		EnableBashCompletion: true,
		// Errors come back to run, which picks the exit status.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return &usageError{err}
		},
		Before: func(c *cli.Context) error {
			switch c.String("log-format") {
			case "text", "json":
				return nil
			}
			return usagef("--log-format %q: want text or json", c.String("log-format"))
		},
		Commands: []*cli.Command{
			checkCommand(io),
			previewCommand(io),
			planCommand(io),
			sendCommand(io),
			repliesCommand(io),
			historyCommand(io),
			reportCommand(io),
			suppressCommand(io),
			stateCommand(io),
			{
				Name:  "version",
				Usage: "print herald's version",
				Action: func(c *cli.Context) error {
					fmt.Fprintln(io.out, versionLine())
					return nil
				},
			},
		},
		CommandNotFound: func(c *cli.Context, name string) {
			fmt.Fprintf(io.err, "herald: error: unknown command %q; see `herald help`\n", name)
		},
	}
	for _, cmd := range app.Commands {
		cmd.OnUsageError = app.OnUsageError
	}
	return app
}

// loadConfig finds and reads herald.toml with the global flags; a
// campaign file, when the command has one, is where the search ends.
func loadConfig(c *cli.Context, campaignPath string) (*campaign.Config, error) {
	return campaign.LoadConfig(campaign.Options{
		ConfigPath:   c.String("config"),
		CampaignPath: campaignPath,
		StateDir:     c.String("state"),
		Registry:     builtin.Registry(),
	})
}

// loadCampaign reads herald.toml and one campaign file.
func loadCampaign(c *cli.Context, path string) (*campaign.Config, *campaign.Campaign, error) {
	cfg, err := loadConfig(c, path)
	if err != nil {
		return nil, nil, err
	}
	camp, err := campaign.LoadCampaign(path, cfg)
	if err != nil {
		return nil, nil, err
	}
	return cfg, camp, nil
}

// oneArg returns the single positional argument a command needs.
func oneArg(c *cli.Context, what string) (string, error) {
	if c.NArg() != 1 {
		return "", usagef("%s needs exactly one %s (see `herald %s --help`)", c.Command.Name, what, c.Command.Name)
	}
	return c.Args().First(), nil
}

// logger returns the slog logger the global flags ask for.
func logger(c *cli.Context, w io.Writer) *slog.Logger {
	level := slog.LevelInfo
	if c.Bool("quiet") {
		level = slog.LevelError
	}
	opts := &slog.HandlerOptions{Level: level}
	if c.String("log-format") == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// isTerminal reports whether w is an interactive terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
