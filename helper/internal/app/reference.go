package app

import (
	"fmt"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"
)

// referenceCommand prints the command reference (docs/commands.md) from the CLI's own
// definitions, so the documentation cannot drift from the flags; a test checks the file.
func referenceCommand(s *streams) *cli.Command {
	return &cli.Command{
		Name:   "reference",
		Usage:  "print the command reference as Markdown (docs/commands.md)",
		Hidden: true,
		Action: func(c *cli.Context) error {
			_, err := fmt.Fprint(s.stdout, CommandReference())
			return err
		},
	}
}

// CommandReference renders every visible command, its subcommands and flags as Markdown.
func CommandReference() string {
	application := newApp(&streams{getenv: func(string) string { return "" }})
	var b strings.Builder
	b.WriteString("# shipgate command reference\n\n")
	b.WriteString("Generated from the CLI's own definitions by `make docs` (`shipgate reference`); a test fails when\n")
	b.WriteString("this file is stale. Every flag can also be set as `SHIPGATE_FLAG_<FLAG_NAME>` (an empty value counts as\n")
	b.WriteString("unset). Exit codes: see the README.\n\n")
	var walk func(prefix string, cmds []*cli.Command)
	walk = func(prefix string, cmds []*cli.Command) {
		for _, c := range cmds {
			if c.Hidden {
				continue
			}
			full := strings.TrimSpace(prefix + " " + c.Name)
			fmt.Fprintf(&b, "## `shipgate %s`\n\n%s.\n\n", full, strings.TrimSuffix(c.Usage, "."))
			desc, examples, _ := strings.Cut(c.Description, examplesHeading)
			if desc = strings.TrimSpace(desc); desc != "" {
				fmt.Fprintf(&b, "%s\n\n", desc)
			}
			if examples = strings.TrimSpace(examples); examples != "" {
				b.WriteString("```sh\n")
				for _, line := range strings.Split(examples, "\n") {
					b.WriteString(strings.TrimSpace(line) + "\n")
				}
				b.WriteString("```\n\n")
			}
			if len(withoutHelp(c.Flags)) > 0 {
				b.WriteString("| flag | environment | default | meaning |\n|---|---|---|---|\n")
				flags := withoutHelp(c.Flags)
				sort.SliceStable(flags, func(i, j int) bool { return flags[i].Names()[0] < flags[j].Names()[0] })
				for _, f := range flags {
					name := f.Names()[0]
					usage, def := "", ""
					if df, ok := f.(cli.DocGenerationFlag); ok {
						usage = df.GetUsage()
						def = df.GetDefaultText()
						if def == "" {
							def = df.GetValue()
						}
					}
					usage = strings.ReplaceAll(strings.ReplaceAll(usage, "`", ""), "|", "\\|")
					if def == "" || def == "false" || def == "[]" {
						def = "–"
					} else {
						def = "`" + def + "`"
					}
					env := "`" + FlagEnvName(name) + "`"
					fmt.Fprintf(&b, "| `--%s` | %s | %s | %s |\n", name, env, def, usage)
				}
				b.WriteString("\n")
			}
			walk(full, c.Subcommands)
		}
	}
	walk("", application.Commands)
	return b.String()
}
