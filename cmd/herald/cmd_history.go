package main

import (
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"herald/campaign/report"
)

func historyCommand(io stdio) *cli.Command {
	return &cli.Command{
		Name:      "history",
		Usage:     "a customer's timeline across channels and campaigns",
		ArgsUsage: "RECIPIENT_ID",
		Description: "Every send, failure, delivery receipt and reply for one recipient id, oldest\n" +
			"first, so whoever answers the customer next has the context. Addresses are shown\n" +
			"in full: this is for people with access to the state.",
		Flags: []cli.Flag{
			stateDirFlag,
			&cli.StringFlag{Name: "format", Value: "table", Usage: "`table`, csv or json"},
		},
		Action: func(c *cli.Context) error {
			id, err := oneArg(c, "recipient id")
			if err != nil {
				return err
			}
			format := c.String("format")
			if !slices.Contains(report.HistoryFormats, format) {
				return usagef("--format %q: want %s", format, strings.Join(report.HistoryFormats, ", "))
			}
			dirs, err := stateDirs(c, "")
			if err != nil {
				return err
			}
			events, err := report.History(c.Context, dirs, id)
			if err != nil {
				return stateError(err)
			}
			return report.WriteHistory(io.out, events, format)
		},
	}
}
