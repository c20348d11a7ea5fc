package main

import (
	"os"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"herald/campaign"
)

func checkCommand(io stdio) *cli.Command {
	return &cli.Command{
		Name:      "check",
		Usage:     "validate config, campaigns, templates and every audience row; render every message the plan needs",
		ArgsUsage: "CAMPAIGN...",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Value: "text", Usage: "`text`, json, or github (GitHub Actions annotations)"},
			&cli.BoolFlag{Name: "strict", Usage: "warnings fail too"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return usagef("check needs at least one campaign file")
			}
			format := c.String("format")
			if !slices.Contains(campaign.FindingFormats, format) {
				return usagef("--format %q: want %s", format, strings.Join(campaign.FindingFormats, ", "))
			}
			var findings []campaign.Finding
			var stats campaign.CheckStats
			for _, path := range c.Args().Slice() {
				// Each campaign finds its own herald.toml (SPEC 1.1).
				cfg, err := loadConfig(c, path)
				if err != nil {
					for _, f := range campaign.FindingsOf(err) {
						if !slices.Contains(findings, f) {
							findings = append(findings, f)
						}
					}
					continue
				}
				f, s, err := campaign.Check(c.Context, cfg, path)
				cfg.Close()
				if err != nil {
					return err
				}
				findings = append(findings, f...)
				stats.Recipients += s.Recipients
				stats.Messages += s.Messages
			}
			if wd, err := os.Getwd(); err == nil {
				campaign.RelativeTo(wd, findings)
			}
			if err := campaign.WriteFindings(io.out, format, findings, stats); err != nil {
				return err
			}
			errs, warnings := campaign.CountFindings(findings)
			if errs > 0 || (c.Bool("strict") && warnings > 0) {
				return &failuresError{}
			}
			return nil
		},
	}
}
