package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
	"github.com/xrash/smetrics"
)

// interspersed moves a command's flags in front of its positional
// arguments. urfave/cli v2 stops reading flags at the first positional one,
// but the SPEC (and every user) writes `herald plan CAMPAIGN --now TIME`.
// It needs the command's flag definitions to know which flags take a value.
// Knowing them, it also refuses an unknown command or flag (exit 2, with a
// "did you mean" hint) before urfave/cli would show help and exit 0.
func interspersed(app *cli.App, args []string) ([]string, error) {
	if len(args) < 2 {
		return args, nil
	}
	if slices.Contains(args, "--generate-bash-completion") {
		// Shell completion passes the partial word being typed
		// (`send --dr`): urfave/cli answers from it; it is no mistake.
		return args, nil
	}
	out := []string{args[0]}
	i := 1
	// Global flags, then the command path.
	flags := app.Flags
	cmds := app.Commands
	var path []string // the command path so far, for messages
	for i < len(args) {
		a := args[i]
		if strings.HasPrefix(a, "-") {
			if err := knownFlag(path, a, flags, nil); err != nil {
				return nil, err
			}
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
			if len(cmds) > 0 && a != "help" && a != "h" {
				return nil, unknownCommand(path, a, cmds)
			}
			break
		}
		path = append(path, cmd.Name)
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
			if err := knownFlag(path, a, flags, app.Flags); err != nil {
				return nil, err
			}
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
	return append(append(out, opts...), positional...), nil
}

// builtinFlags are the flags urfave/cli adds itself.
var builtinFlags = []string{"help", "h", "version", "v", "generate-bash-completion"}

// knownFlag returns a usage error for a flag that neither flags nor
// globals define, with the closest defined name as a hint.
func knownFlag(path []string, arg string, flags, globals []cli.Flag) error {
	name, _, _ := strings.Cut(strings.TrimLeft(arg, "-"), "=")
	if defines(flags, arg) || defines(globals, arg) {
		return nil
	}
	for _, b := range builtinFlags {
		if name == b {
			return nil
		}
	}
	var names []string
	for _, f := range append(append([]cli.Flag(nil), flags...), globals...) {
		names = append(names, f.Names()...)
	}
	where := "herald"
	if len(path) > 0 {
		where = "herald " + strings.Join(path, " ")
	}
	err := usagef("%s: unknown flag %s", where, arg)
	if s := closest(name, names); s != "" {
		dashes := "--"
		if len(s) == 1 {
			dashes = "-"
		}
		return &hinted{err: err, hint: fmt.Sprintf("did you mean %s%s? (see `%s --help`)", dashes, s, where)}
	}
	return &hinted{err: err, hint: fmt.Sprintf("see `%s --help`", where)}
}

// unknownCommand is the usage error for a command name that is not one of
// cmds, with the closest name as a hint.
func unknownCommand(path []string, name string, cmds []*cli.Command) error {
	var names []string
	for _, c := range cmds {
		if !c.Hidden {
			names = append(names, c.Names()...)
		}
	}
	parent := strings.Join(append([]string{"herald"}, path...), " ")
	err := usagef("unknown command %q", strings.TrimSpace(strings.Join(path, " ")+" "+name))
	if s := closest(name, names); s != "" {
		return &hinted{err: err, hint: fmt.Sprintf("did you mean `%s %s`? (see `%s help`)", parent, s, parent)}
	}
	return &hinted{err: err, hint: fmt.Sprintf("the commands are %s (see `%s help`)", strings.Join(names, ", "), parent)}
}

// closest returns the candidate most like s, if it is like enough to be
// the likely intent (a typo or a transposition), else "". Jaro-Winkler,
// as urfave/cli uses, rates the shared prefix typos usually keep.
func closest(s string, candidates []string) string {
	const likeEnough = 0.8
	best, score := "", likeEnough
	for _, c := range candidates {
		if v := smetrics.JaroWinkler(s, c, 0.7, 4); v >= score {
			best, score = c, v
		}
	}
	return best
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
