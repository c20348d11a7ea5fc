package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/urfave/cli/v2"

	"herald/campaign/report"
)

// stateDirFlag lets report and history merge the state of several shards
// (SPEC 5): each `send --shard K/N` keeps its own state dir.
var stateDirFlag = &cli.StringSliceFlag{
	Name:  "state-dir",
	Usage: "read this state `DIR` too (repeat, or separate with commas, to merge shards' state dirs)",
}

func reportCommand(io stdio) *cli.Command {
	return &cli.Command{
		Name:      "report",
		Usage:     "sent, failed, replied and opted out, by channel and locale",
		ArgsUsage: "[CAMPAIGN name or file]",
		Description: "Counts every recipient once, by the final outcome of their sends (a fallback that\n" +
			"was sent counts as sent, on the channel that sent it), with replies and opt-outs,\n" +
			"by channel and by locale. Without CAMPAIGN, every campaign in the journal.",
		Flags: []cli.Flag{
			stateDirFlag,
			&cli.StringFlag{Name: "format", Value: "table", Usage: "`table`, csv, json or html"},
			&cli.StringFlag{Name: "out", Usage: "write to `FILE` instead of standard output (html: default report.html)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return usagef("report takes at most one campaign (name or file), got %d arguments", c.NArg())
			}
			format := c.String("format")
			if !slices.Contains(report.Formats, format) {
				return usagef("--format %q: want %s", format, strings.Join(report.Formats, ", "))
			}
			name, err := campaignName(c.Args().First())
			if err != nil {
				return err
			}
			dirs, err := stateDirs(c, campaignFile(c.Args().First()))
			if err != nil {
				return err
			}
			rep, err := report.Build(c.Context, report.Options{StateDirs: dirs, Campaign: name})
			if err != nil {
				return stateError(err)
			}
			out := c.String("out")
			if out == "" && format == "html" {
				out = "report.html"
			}
			if out == "" {
				return rep.Write(io.out, format)
			}
			var buf bytes.Buffer
			if err := rep.Write(&buf, format); err != nil {
				return err
			}
			if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
				return fmt.Errorf("writing the report: %w", err)
			}
			fmt.Fprintln(io.out, out)
			return nil
		},
	}
}

// campaignName takes the report's argument: a campaign name as the journal
// has it, or a campaign file whose `name` is read. Only the name is read,
// so a report needs neither the audience nor the templates.
func campaignName(arg string) (string, error) {
	if arg == "" {
		return "", nil
	}
	st, err := os.Stat(arg)
	isFile := err == nil && !st.IsDir()
	if !isFile {
		if strings.HasSuffix(arg, ".toml") || strings.ContainsRune(arg, filepath.Separator) {
			return "", usagef("campaign file %s not found; give an existing campaign file or a campaign name", arg)
		}
		return arg, nil
	}
	var f struct {
		Name string `toml:"name"`
	}
	if _, err := toml.DecodeFile(arg, &f); err != nil {
		return "", usagef("reading the campaign name from %s: %v", arg, err)
	}
	if f.Name == "" {
		return "", usagef("%s has no name = \"...\": is it a campaign file?", arg)
	}
	return f.Name, nil
}

// campaignFile returns arg when it names an existing file: then herald.toml
// is searched for beside it, as for the other commands.
func campaignFile(arg string) string {
	if arg == "" {
		return ""
	}
	if st, err := os.Stat(arg); err == nil && !st.IsDir() {
		return arg
	}
	return ""
}

// stateDirs are the state directories to read: --state and every
// --state-dir; with neither, herald.toml's state_dir. Only the last case
// loads herald.toml, so a report over state copied from shards needs no
// config and none of its secrets.
func stateDirs(c *cli.Context, campaignPath string) ([]string, error) {
	var dirs []string
	for _, d := range append([]string{c.String("state")}, c.StringSlice("state-dir")...) {
		if d = strings.TrimSpace(d); d != "" && !slices.Contains(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	if len(dirs) > 0 {
		return dirs, nil
	}
	cfg, err := loadConfig(c, campaignPath)
	if err != nil {
		return nil, err
	}
	defer cfg.Close()
	if cfg.StateURL != "" {
		return []string{cfg.StateURL}, nil // the shared database
	}
	return []string{cfg.StateDir}, nil
}

// stateError turns the report package's errors into the CLI's: a missing
// state directory is a usage error (exit 2), an unknown campaign or
// recipient means there is nothing to show (exit 1); both with a hint.
func stateError(err error) error {
	var md *report.MissingDirError
	var nc *report.NoCampaignError
	var ur *report.UnknownRecipientError
	switch {
	case errors.As(err, &md):
		return &hinted{err: &usageError{err}, hint: "nothing was sent with this state yet, or it lives elsewhere: pass the send's state dir with --state, or several with --state-dir"}
	case errors.As(err, &nc):
		hint := "the journal is empty: nothing has been sent from this state yet"
		if len(nc.Known) > 0 {
			hint = "campaigns in the journal: " + strings.Join(nc.Known, ", ")
		}
		return &hinted{err: err, hint: hint}
	case errors.As(err, &ur):
		return &hinted{err: err, hint: "the id is the audience's id column; with shards, pass every shard's state dir with --state-dir"}
	}
	return err
}
