package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"herald/channels"
	"herald/state"
)

func stateCommand(io stdio) *cli.Command {
	return &cli.Command{
		Name:  "state",
		Usage: "move herald's state between a state directory and PostgreSQL",
		Subcommands: []*cli.Command{
			{
				Name:  "migrate",
				Usage: "copy the journal, suppressions, replies and unsubscribe key from one store to another (empty) one",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "from", Required: true, Usage: "a state `DIR` or a postgres:// URL (${VAR} is expanded: keep passwords out of the command line)"},
					&cli.StringFlag{Name: "to", Required: true, Usage: "a state `DIR` or a postgres:// URL (${VAR} is expanded)"},
				},
				Action: func(c *cli.Context) error {
					if c.NArg() > 0 {
						return usagef("state migrate takes no arguments, got %q", strings.Join(c.Args().Slice(), " "))
					}
					from, err := openStateFlag(c, "from")
					if err != nil {
						return err
					}
					defer from.Close()
					to, err := openStateFlag(c, "to")
					if err != nil {
						return err
					}
					defer to.Close()
					sum, err := state.Migrate(c.Context, from, to)
					if err != nil {
						return err
					}
					key := "no unsubscribe key yet"
					if sum.Key {
						key = "the unsubscribe key"
					}
					fmt.Fprintf(io.out, "copied %d journal entries, %d suppressions, %d replies and %s from %s to %s\n",
						sum.Journal, sum.Suppressions, sum.Replies, key, from.Describe(), to.Describe())
					return nil
				},
			},
		},
	}
}

// openStateFlag opens the store a flag names.
func openStateFlag(c *cli.Context, name string) (state.Store, error) {
	expand := channels.ExpandEnv
	if state.IsDatabaseURL(c.String(name)) {
		// a password from ${VAR} may hold "@", ":" or "/"
		expand = channels.ExpandURL
	}
	v, err := expand(c.String(name))
	if err != nil {
		return nil, usagef("--%s: %v", name, err)
	}
	if v == "" {
		return nil, usagef("--%s needs a state directory or a postgres:// URL", name)
	}
	st, err := state.Open(v)
	if err != nil {
		return nil, &usageError{err}
	}
	return st, nil
}
