package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v2"

	"herald/campaign"
	"herald/state"
)

func sendCommand(io stdio) *cli.Command {
	return &cli.Command{
		Name:      "send",
		Usage:     "send every message that is due and not already in the journal",
		ArgsUsage: "CAMPAIGN",
		Flags: []cli.Flag{
			nowFlag, shardFlag,
			&cli.BoolFlag{Name: "dry-run", Usage: "do everything but contact a provider (nothing is journalled)"},
			&cli.BoolFlag{Name: "wait", Usage: "stay and send each scheduled message when it is due"},
			&cli.IntFlag{Name: "limit", Usage: "send at most `N` messages in this run"},
			&cli.BoolFlag{Name: "skip-invalid", Usage: "skip invalid audience rows (reported) instead of refusing to start"},
			&cli.BoolFlag{Name: "retry-in-doubt", Usage: "send again to recipients whose last send was interrupted mid-call"},
			&cli.BoolFlag{Name: "retry-failed", Usage: "send again to recipients whose last send failed permanently"},
		},
		Action: func(c *cli.Context) error {
			path, err := oneArg(c, "campaign file")
			if err != nil {
				return err
			}
			shard, err := parseShard(c)
			if err != nil {
				return err
			}
			if c.Int("limit") < 0 {
				return usagef("--limit must be 0 or more")
			}
			var clock func() time.Time
			if c.IsSet("now") {
				now, err := parseNow(c)
				if err != nil {
					return err
				}
				clock = func() time.Time { return now }
			}
			cfg, camp, err := loadCampaign(c, path)
			if err != nil {
				return err
			}
			defer cfg.Close()
			// Said on every run, --quiet or not: nothing on these channels
			// leaves the machine (SPEC 1.1).
			for _, notice := range cfg.OutboxNotices(camp.Channels) {
				fmt.Fprintf(io.err, "herald: warning: %s\n", notice)
			}
			outbox := outboxChannels(cfg, camp)
			var mu sync.Mutex // orders the bar and the log lines
			var bar *progressbar.ProgressBar
			logOut := io.err
			if isTerminal(io.err) && !c.Bool("quiet") && !c.Bool("no-color") {
				bar = newSendBar(c, cfg, camp, clock, shard, io)
				logOut = &aboveBar{bar: bar, w: io.err}
			}
			log := logger(c, logOut)
			opts := campaign.SendOptions{
				Now:          clock,
				DryRun:       c.Bool("dry-run"),
				Wait:         c.Bool("wait"),
				Limit:        c.Int("limit"),
				Shard:        shard,
				SkipInvalid:  c.Bool("skip-invalid"),
				RetryInDoubt: c.Bool("retry-in-doubt"),
				RetryFailed:  c.Bool("retry-failed"),
				Invalid: func(err error) {
					mu.Lock()
					defer mu.Unlock()
					log.Warn("skipped invalid row", "error", err.Error())
				},
				Report: func(ev campaign.Event) {
					mu.Lock()
					defer mu.Unlock()
					if bar != nil && ev.Status != "fallback" && ev.Status != "waiting" {
						if max := bar.GetMax(); max >= 0 && bar.State().CurrentNum >= int64(max) {
							bar.ChangeMax(max + 1) // a --wait pass, or a retry the count missed
						}
						_ = bar.Add(1)
					}
					switch ev.Status {
					case campaign.EventWaiting:
						log.Info("waiting", "until", ev.Err.Error())
					case campaign.EventChannelStopped:
						log.Error("channel stopped: unusable as configured; its recipients are left for a rerun", "channel", ev.Channel, "error", ev.Err.Error())
					case state.StatusInDoubt:
						log.Warn("in doubt: the provider may have the message; not resent", "recipient", ev.Recipient, "channel", ev.Channel, "attempt", ev.Attempt, "error", ev.Err.Error())
					case state.StatusFailed, campaign.EventFallback:
						log.Warn(ev.Status, "recipient", ev.Recipient, "channel", ev.Channel, "attempt", ev.Attempt, "error", ev.Err.Error())
					default:
						if bar == nil {
							log.Info(eventName(outbox, ev), "recipient", ev.Recipient, "channel", ev.Channel, "address", campaign.MaskAddress(ev.Address))
						}
					}
				},
			}
			sum, err := campaign.Send(c.Context, cfg, camp, opts)
			if bar != nil {
				_ = bar.Finish()
			}
			if sum != nil {
				// Also after a run stopped by a journal failure: what was
				// sent before it is worth knowing.
				printSummary(io, cfg, sum, opts.DryRun)
			}
			if err != nil {
				return err
			}
			switch {
			case sum.Cancelled:
				return c.Context.Err()
			case len(sum.Stopped) > 0:
				return &channelsStoppedError{stopped: sum.Stopped}
			case sum.Failed():
				return &failuresError{msg: failureMessage(sum)}
			}
			return nil
		},
	}
}

// printSummary prints the counts per channel. Messages of an outbox
// channel were written to files, not sent: their column and rows say so
// (SPEC 1.1), so an operator never reads "SENT" for mail that never left.
func printSummary(io stdio, cfg *campaign.Config, s *campaign.Summary, dryRun bool) {
	names := s.Channels()
	outbox := map[string]bool{}
	var toOutbox, toProviders int
	for _, name := range names {
		k := s.ByChannel[name]
		if ch, err := cfg.Channel(name); err == nil && ch.IsOutbox() {
			outbox[name] = true
			toOutbox += k.Sent
		} else if name != "" {
			toProviders += k.Sent
		}
	}
	first := "SENT"
	switch {
	case dryRun:
		first = "WOULD SEND"
	case len(outbox) > 0 && len(outbox) == countNamed(names):
		first = "TO OUTBOX"
	case len(outbox) > 0:
		first = "SENT/TO OUTBOX"
	}
	tw := tabwriter.NewWriter(io.out, 2, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "CHANNEL\t%s\tVIA FALLBACK\tFAILED\tIN DOUBT\tNOT SENT\tALREADY SENT\tSCHEDULED\tSKIPPED\t\n", first)
	row := func(name string, k *campaign.Counts) {
		sent := k.Sent
		if dryRun {
			sent = k.DryRun
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", name, sent, k.Fallback, k.Failed, k.InDoubt, k.NotSent, k.AlreadySent, k.Scheduled, k.Skipped)
	}
	for _, name := range names {
		label := name
		switch {
		case label == "":
			label = "(none)"
		case outbox[name] && first != "TO OUTBOX":
			label += " (outbox)"
		}
		row(label, s.ByChannel[name])
	}
	row("total", &s.Totals)
	tw.Flush()
	if !dryRun && toOutbox > 0 {
		if toProviders == 0 {
			fmt.Fprintf(io.out, "%d written to outbox in %s: nothing was sent; configure the channels in herald.toml to send for real\n", toOutbox, cfg.OutboxDir())
		} else {
			fmt.Fprintf(io.out, "%d sent, %d written to outbox in %s (not sent)\n", toProviders, toOutbox, cfg.OutboxDir())
		}
	}
	if s.Invalid > 0 {
		fmt.Fprintf(io.out, "%d invalid audience rows skipped\n", s.Invalid)
	}
	if !s.NextDue.IsZero() {
		fmt.Fprintf(io.out, "next message due at %s: run again then (cron), or use --wait\n", s.NextDue.UTC().Format(time.RFC3339))
	}
}

// failureMessage says what a run with failures left, and where to look.
func failureMessage(sum *campaign.Summary) string {
	var parts []string
	if n := sum.Totals.Failed; n > 0 {
		parts = append(parts, fmt.Sprintf("%d recipients failed", n))
	}
	if n := sum.Totals.InDoubt; n > 0 {
		parts = append(parts, fmt.Sprintf("%d are in doubt (the provider may have their message: `herald plan` shows why; `herald send --retry-in-doubt` resends them after asking providers that can tell)", n))
	}
	return strings.Join(parts, "; ") + "; the warnings above name each one"
}

// channelsStoppedError reports channels that are unusable as configured
// (exit status 3).
type channelsStoppedError struct{ stopped map[string]error }

func (e *channelsStoppedError) Error() string {
	return fmt.Sprintf("%d channel(s) stopped: unusable as configured", len(e.stopped))
}

func (e *channelsStoppedError) names() []string {
	names := make([]string, 0, len(e.stopped))
	for n := range e.stopped {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// outboxChannels names the campaign's channels that write to the outbox.
func outboxChannels(cfg *campaign.Config, camp *campaign.Campaign) map[string]bool {
	out := map[string]bool{}
	for _, name := range camp.Channels {
		if ch, err := cfg.Channel(name); err == nil && ch.IsOutbox() {
			out[name] = true
		}
	}
	return out
}

// eventName is the log message of an outcome: a message the outbox took
// was written to a file, not sent.
func eventName(outbox map[string]bool, ev campaign.Event) string {
	if ev.Status == "sent" && outbox[ev.Channel] {
		return "written to outbox"
	}
	return ev.Status
}

// countNamed counts the channel names, leaving out "" (skipped rows).
func countNamed(names []string) int {
	n := 0
	for _, name := range names {
		if name != "" {
			n++
		}
	}
	return n
}

// newSendBar is the terminal progress bar of a send, with the number of
// recipients due as its total when the audience can be read twice.
func newSendBar(c *cli.Context, cfg *campaign.Config, camp *campaign.Campaign, clock func() time.Time, shard campaign.Shard, io stdio) *progressbar.ProgressBar {
	now := time.Now()
	if clock != nil {
		now = clock()
	}
	total := -1 // a spinner when the total is unknown
	opts := campaign.SendOptions{Limit: c.Int("limit"), Shard: shard, RetryInDoubt: c.Bool("retry-in-doubt"), RetryFailed: c.Bool("retry-failed")}
	if n, ok, err := campaign.CountDue(c.Context, cfg, camp, now, opts); err == nil && ok {
		total = n
	}
	return progressbar.NewOptions(total, progressbar.OptionSetWriter(io.err), progressbar.OptionSetDescription("sending"),
		progressbar.OptionShowCount(), progressbar.OptionClearOnFinish(), progressbar.OptionSetPredictTime(true))
}

// aboveBar writes log lines above the progress bar: it clears the bar's
// line, writes, and draws the bar again below, so neither overwrites the
// other. Callers serialise writes (the send command's mutex).
type aboveBar struct {
	bar *progressbar.ProgressBar
	w   io.Writer
}

func (a *aboveBar) Write(p []byte) (int, error) {
	_ = a.bar.Clear()
	n, err := a.w.Write(p)
	_ = a.bar.RenderBlank()
	return n, err
}
