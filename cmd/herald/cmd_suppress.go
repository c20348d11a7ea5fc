package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"herald/campaign"
	"herald/state"

	"github.com/urfave/cli/v2"
)

func suppressCommand(io stdio) *cli.Command {
	channelFlag := &cli.StringFlag{Name: "channel", Value: "all", Usage: "the `CHANNEL` to suppress, or all"}
	return &cli.Command{
		Name:  "suppress",
		Usage: "manage the suppression list every campaign honours",
		Subcommands: []*cli.Command{
			{
				Name:      "add",
				Usage:     "never send to ADDRESS on a channel (or any)",
				ArgsUsage: "ADDRESS",
				Flags:     []cli.Flag{channelFlag, &cli.StringFlag{Name: "reason", Value: "manual", Usage: "why, for the record"}},
				Action: func(c *cli.Context) error {
					addr, err := oneArg(c, "address")
					if err != nil {
						return err
					}
					cfg, err := loadConfig(c, "")
					if err != nil {
						return err
					}
					defer cfg.Close()
					added, err := cfg.Store.AddSuppression(c.Context, state.Suppression{Address: addr, Channel: c.String("channel"), Reason: c.String("reason"), AddedAt: time.Now(), Source: state.SourceOperator})
					switch {
					case err != nil:
						return err
					case added:
						fmt.Fprintf(io.out, "suppressed %s on %s\n", addr, c.String("channel"))
					default:
						fmt.Fprintf(io.out, "%s was already suppressed on %s\n", addr, c.String("channel"))
					}
					return nil
				},
			},
			{
				Name:      "remove",
				Usage:     "allow ADDRESS again on a channel (all: every channel)",
				ArgsUsage: "ADDRESS",
				Flags:     []cli.Flag{channelFlag},
				Action: func(c *cli.Context) error {
					addr, err := oneArg(c, "address")
					if err != nil {
						return err
					}
					cfg, err := loadConfig(c, "")
					if err != nil {
						return err
					}
					defer cfg.Close()
					n, err := cfg.Store.RemoveSuppressions(c.Context, addr, c.String("channel"))
					if err != nil {
						return err
					}
					if n == 0 {
						return &failuresError{msg: fmt.Sprintf("%s was not suppressed on %s", addr, c.String("channel"))}
					}
					fmt.Fprintf(io.out, "removed %d suppression(s) of %s\n", n, addr)
					return nil
				},
			},
			{
				Name:  "list",
				Usage: "print the suppression list",
				Flags: []cli.Flag{&cli.StringFlag{Name: "format", Value: "table", Usage: "`table` or csv"}},
				Action: func(c *cli.Context) error {
					format := c.String("format")
					if !slices.Contains(campaign.SuppressionFormats, format) {
						return usagef("--format %q: want %s", format, strings.Join(campaign.SuppressionFormats, ", "))
					}
					cfg, err := loadConfig(c, "")
					if err != nil {
						return err
					}
					defer cfg.Close()
					supp, err := cfg.Store.Suppressions(c.Context)
					if err != nil {
						return err
					}
					return campaign.WriteSuppressions(io.out, supp.Rows(), format)
				},
			},
		},
	}
}
