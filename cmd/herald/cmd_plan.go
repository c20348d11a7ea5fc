package main

import (
	"time"

	"github.com/urfave/cli/v2"

	"herald/campaign"
)

var nowFlag = &cli.StringFlag{Name: "now", Usage: "pretend the clock reads `TIME` (RFC 3339), for reproducible runs"}

var shardFlag = &cli.StringFlag{Name: "shard", Usage: "take only shard `K/N` of the audience (by a stable hash of id)"}

func parseNow(c *cli.Context) (time.Time, error) {
	s := c.String("now")
	if s == "" {
		return time.Now(), nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, usagef("--now %q: want an RFC 3339 time such as 2026-11-23T10:00:00Z", s)
}

func parseShard(c *cli.Context) (campaign.Shard, error) {
	if c.String("shard") == "" {
		return campaign.Shard{}, nil
	}
	s, err := campaign.ParseShard(c.String("shard"))
	if err != nil {
		return s, &usageError{err}
	}
	return s, nil
}

func planCommand(io stdio) *cli.Command {
	return &cli.Command{
		Name:      "plan",
		Usage:     "show, for every recipient, the channel, locale and local send time, then totals",
		ArgsUsage: "CAMPAIGN",
		Flags: []cli.Flag{
			nowFlag, shardFlag,
			&cli.StringFlag{Name: "format", Value: "table", Usage: "`table`, csv or json"},
		},
		Action: func(c *cli.Context) error {
			path, err := oneArg(c, "campaign file")
			if err != nil {
				return err
			}
			format := c.String("format")
			if format != "table" && format != "csv" && format != "json" {
				return usagef("--format %q: want table, csv or json", format)
			}
			now, err := parseNow(c)
			if err != nil {
				return err
			}
			shard, err := parseShard(c)
			if err != nil {
				return err
			}
			cfg, camp, err := loadCampaign(c, path)
			if err != nil {
				return err
			}
			defer cfg.Close()
			_, err = campaign.WritePlan(c.Context, cfg, camp, campaign.PlanOptions{Now: now, Shard: shard, Format: format}, io.out, io.err)
			return err
		},
	}
}
