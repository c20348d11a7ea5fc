package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// interspersed moves a command's flags in front of its positional
// arguments. urfave/cli v2 stops reading flags at the first positional one,
// but the SPEC (and every user) writes `herald plan CAMPAIGN --now TIME`.
// It needs the command's flag definitions to know which flags take a value.
func interspersed(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	out := []string{args[0]}
	i := 1
	// Global flags, then the command path.
	flags := app.Flags
	cmds := app.Commands
	for i < len(args) {
		a := args[i]
		if strings.HasPrefix(a, "-") {
			out = append(out, a)
			if takesValue(flags, a) && i+1 < len(args) {
				out = append(out, args[i+1])
				i++
			}
			i++
			continue
		}
		cmd := findCommand(cmds, a)
		if cmd == nil {
			break
		}
		out = append(out, a)
		i++
		flags, cmds = cmd.Flags, cmd.Subcommands
		if len(cmds) == 0 {
			break
		}
	}
	var globals, opts, positional []string
	for ; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			positional = append(positional, args[i:]...)
			i = len(args)
		case strings.HasPrefix(a, "-") && a != "-" && !defines(flags, a) && defines(app.Flags, a):
			// A global flag written after the command (`send --quiet`).
			globals = append(globals, a)
			if takesValue(app.Flags, a) && i+1 < len(args) {
				globals = append(globals, args[i+1])
				i++
			}
		case strings.HasPrefix(a, "-") && a != "-":
			opts = append(opts, a)
			if takesValue(flags, a) && i+1 < len(args) {
				opts = append(opts, args[i+1])
				i++
			}
		default:
			positional = append(positional, a)
		}
	}
	out = append(out[:1], append(globals, out[1:]...)...)
	return append(append(out, opts...), positional...)
}

// defines reports whether a flag as written ("--now", "-q", "--now=x") is
// one of flags.
func defines(flags []cli.Flag, arg string) bool {
	name, _, _ := strings.Cut(strings.TrimLeft(arg, "-"), "=")
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				return true
			}
		}
	}
	return false
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.Name == name || c.HasName(name) {
			return c
		}
	}
	return nil
}

// takesValue reports whether a flag (as written, "--now" or "-now") needs
// the next argument as its value.
func takesValue(flags []cli.Flag, arg string) bool {
	name := strings.TrimLeft(arg, "-")
	if strings.Contains(name, "=") {
		return false
	}
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				_, isBool := f.(*cli.BoolFlag)
				return !isBool
			}
		}
	}
	return false
}
