package main

import (
	"github.com/urfave/cli/v2"
)

func historyCommand(io stdio) *cli.Command {
	return &cli.Command{Name: "history", Usage: "a customer's timeline across channels and campaigns", ArgsUsage: "RECIPIENT_ID", Action: notYet("history")}
}
