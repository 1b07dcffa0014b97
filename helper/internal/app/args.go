package app

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/shipgate/shipgate/helper/internal/failure"
)

// urfave/cli v2 parses flags with Go's flag package, which stops at the first positional
// argument: `promote --to R oops --env production` used to run with --env silently dropped
// (issue 18 point 1). Every command therefore refuses what it cannot have meant, before anything
// is read or written:
//   - a command without ArgsUsage takes no positional argument at all;
//   - a command with ArgsUsage (lint's files) refuses a flag-like word after its first
//     positional, since that flag was not parsed.
//
// Commands with subcommands refuse an unknown subcommand name, with urfave's "did you mean".

// checkArguments is run first in every leaf command's Before.
func checkArguments(ctx *cli.Context, c *cli.Command) error {
	args := ctx.Args().Slice()
	if len(args) == 0 {
		return nil
	}
	path := commandPath(ctx)
	if c.ArgsUsage == "" {
		msg := fmt.Sprintf("%s: unexpected argument %q: this command takes no arguments", path, args[0])
		if flags := flagWords(args[1:]); len(flags) > 0 {
			msg += fmt.Sprintf(" (and %s after it would have been ignored)", strings.Join(flags, ", "))
		}
		hint := "a flag takes one value: repeat it for several (--to A --to B), and quote a value with spaces"
		if args[0] == "help" {
			hint = helpCommandLine(path) + " shows this command's flags"
		}
		return failure.WithHint(failure.New(failure.Usage, "%s", msg), hint)
	}
	if flags := flagWords(args[1:]); len(flags) > 0 {
		return failure.WithHint(
			failure.New(failure.Usage, "%s: flag %s after the argument %q would be read as another argument, not as a flag", path, flags[0], args[0]),
			fmt.Sprintf("put flags before the arguments: shipgate %s %s ... %s", path, flags[0], args[0]))
	}
	return nil
}

// flagWords are the words of args that look like flags ("-" alone is stdin, not a flag).
func flagWords(args []string) []string {
	var out []string
	for _, a := range args {
		if len(a) > 1 && a[0] == '-' {
			out = append(out, a)
		}
	}
	return out
}

// unknownSubcommand is the Action of the root and of every command that only groups
// subcommands: without arguments it shows help; with one it refuses the unknown name (exit 2)
// with urfave's closest-name suggestion.
func unknownSubcommand(ctx *cli.Context, subcommands []*cli.Command) error {
	if !ctx.Args().Present() || ctx.Args().Len() == 1 && ctx.Args().First() == "help" {
		return cli.ShowSubcommandHelp(ctx)
	}
	word := ctx.Args().First()
	path := commandPath(ctx)
	what := "command"
	if path != "" {
		what = path + " command"
	}
	err := failure.New(failure.Usage, "unknown %s %q", what, word)
	if suggestion := closestCommand(subcommands, word); suggestion != "" {
		return failure.WithHint(err, fmt.Sprintf("did you mean %q? (%s lists them)", strings.TrimSpace(path+" "+suggestion), helpCommandLine(path)))
	}
	return failure.WithHint(err, helpCommandLine(path)+" lists the commands")
}

// closestCommand is urfave/cli's own suggestion (Jaro-Winkler over the visible names), or ""
// when nothing is close.
func closestCommand(cmds []*cli.Command, word string) string {
	var visible []*cli.Command
	for _, c := range cmds {
		if !c.Hidden {
			visible = append(visible, c)
		}
	}
	if cli.SuggestCommand == nil || len(visible) == 0 {
		return ""
	}
	s := cli.SuggestCommand(visible, word)
	// SuggestCommand formats with SuggestDidYouMeanTemplate ("Did you mean %q?"); keep the name.
	start, end := strings.IndexByte(s, '"'), strings.LastIndexByte(s, '"')
	if start < 0 || end <= start {
		return ""
	}
	name := s[start+1 : end]
	if name == "help" || name == "h" {
		return ""
	}
	return name
}

// commandPath is the command as typed without the program name: "aws assume-role".
func commandPath(ctx *cli.Context) string {
	var names []string
	for _, c := range ctx.Lineage() {
		// The root command carries the program's own name.
		if c.Command != nil && c.Command.Name != "" && c.Command.Name != ctx.App.Name {
			names = append([]string{c.Command.Name}, names...)
		}
	}
	return strings.Join(names, " ")
}

func helpCommandLine(path string) string {
	return strings.Join(strings.Fields("shipgate "+path+" --help"), " ")
}

// missingFlag is the one style of every "required flag not given" error (issue 18 point 6):
// `--NAME is required: WHAT IT IS`. Required flags are checked by the command, not by
// urfave/cli's Required, because a flag may also come from SHIPGATE_<NAME> (applied in Before,
// after urfave's own check).
func missingFlag(name, what string) error {
	return failure.New(failure.Usage, "--%s is required: %s", name, what)
}

// requireFlags returns missingFlag for the first of pairs (flag name, what it is) not given.
func requireFlags(c *cli.Context, pairs ...[2]string) error {
	for _, p := range pairs {
		given := c.String(p[0]) != ""
		for _, f := range c.Command.Flags {
			if _, slice := f.(*cli.StringSliceFlag); slice && f.Names()[0] == p[0] {
				given = len(c.StringSlice(p[0])) > 0
			}
		}
		if !given {
			return missingFlag(p[0], p[1])
		}
	}
	return nil
}
