package main

import (
	"encoding/json"
	"fmt"

	"github.com/urfave/cli/v2"

	"herald/campaign"
)

func checkCommand(io stdio) *cli.Command {
	return &cli.Command{
		Name:      "check",
		Usage:     "validate config, campaigns, templates and every audience row; render every message the plan needs",
		ArgsUsage: "CAMPAIGN...",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Value: "text", Usage: "`text` or json"},
			&cli.BoolFlag{Name: "strict", Usage: "warnings fail too"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return usagef("check needs at least one campaign file")
			}
			format := c.String("format")
			if format != "text" && format != "json" {
				return usagef("--format %q: want text or json", format)
			}
			cfg, err := loadConfig(c)
			var findings []campaign.Finding
			stats := campaign.CheckStats{}
			if err != nil {
				findings = campaign.FindingsOf(err)
			} else {
				for _, path := range c.Args().Slice() {
					f, s := campaign.Check(cfg, path)
					findings = append(findings, f...)
					stats.Recipients += s.Recipients
					stats.Messages += s.Messages
				}
			}
			errs, warnings := campaign.CountFindings(findings)
			if format == "json" {
				if findings == nil {
					findings = []campaign.Finding{}
				}
				enc := json.NewEncoder(io.out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(findings); err != nil {
					return err
				}
			} else {
				for _, f := range findings {
					fmt.Fprintln(io.out, f)
				}
				fmt.Fprintf(io.out, "check: %d errors, %d warnings (%d recipients, %d messages rendered)\n", errs, warnings, stats.Recipients, stats.Messages)
			}
			if errs > 0 || (c.Bool("strict") && warnings > 0) {
				return &failuresError{}
			}
			return nil
		},
	}
}
