package main

import (
	"github.com/urfave/cli/v2"
)

func reportCommand(io stdio) *cli.Command {
	return &cli.Command{Name: "report", Usage: "sent, failed, replied and opted out, by channel and locale", ArgsUsage: "[CAMPAIGN]", Action: notYet("report")}
}
