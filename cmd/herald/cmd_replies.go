package main

import (
	"github.com/urfave/cli/v2"
)

func repliesCommand(io stdio) *cli.Command {
	return &cli.Command{
		Name:  "replies",
		Usage: "receive replies and delivery statuses",
		Subcommands: []*cli.Command{
			{Name: "serve", Usage: "HTTP receiver for provider webhooks and one-click unsubscribe", Action: notYet("replies serve")},
			{Name: "fetch", Usage: "read e-mail replies from the IMAP mailbox", Action: notYet("replies fetch")},
		},
	}
}

func notYet(name string) cli.ActionFunc {
	return func(c *cli.Context) error {
		return &hinted{err: usagef("%s is not available in this build", name), hint: "see the README's command list"}
	}
}
