package main

import (
	"fmt"
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
			log := logger(c, io.err)
			var bar *progressbar.ProgressBar
			if isTerminal(io.err) && !c.Bool("quiet") && !c.Bool("no-color") {
				bar = progressbar.NewOptions(-1, progressbar.OptionSetWriter(io.err), progressbar.OptionSetDescription("sending"), progressbar.OptionShowCount(), progressbar.OptionClearOnFinish())
			}
			var mu sync.Mutex
			opts := campaign.SendOptions{
				Now:          clock,
				DryRun:       c.Bool("dry-run"),
				Wait:         c.Bool("wait"),
				Limit:        c.Int("limit"),
				Shard:        shard,
				SkipInvalid:  c.Bool("skip-invalid"),
				RetryInDoubt: c.Bool("retry-in-doubt"),
				RetryFailed:  c.Bool("retry-failed"),
				Invalid:      func(err error) { log.Warn("skipped invalid row", "error", err.Error()) },
				Report: func(ev campaign.Event) {
					mu.Lock()
					defer mu.Unlock()
					if bar != nil && ev.Status != "fallback" && ev.Status != "waiting" {
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
							log.Info(ev.Status, "recipient", ev.Recipient, "channel", ev.Channel, "address", campaign.MaskAddress(ev.Address))
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
				printSummary(io, sum, opts.DryRun)
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

func printSummary(io stdio, s *campaign.Summary, dryRun bool) {
	tw := tabwriter.NewWriter(io.out, 2, 8, 2, ' ', tabwriter.AlignRight)
	first := "SENT"
	if dryRun {
		first = "WOULD SEND"
	}
	fmt.Fprintf(tw, "CHANNEL\t%s\tVIA FALLBACK\tFAILED\tIN DOUBT\tNOT SENT\tALREADY SENT\tSCHEDULED\tSKIPPED\t\n", first)
	row := func(name string, k *campaign.Counts) {
		sent := k.Sent
		if dryRun {
			sent = k.DryRun
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", name, sent, k.Fallback, k.Failed, k.InDoubt, k.NotSent, k.AlreadySent, k.Scheduled, k.Skipped)
	}
	for _, name := range s.Channels() {
		label := name
		if label == "" {
			label = "(none)"
		}
		row(label, s.ByChannel[name])
	}
	row("total", &s.Totals)
	tw.Flush()
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
