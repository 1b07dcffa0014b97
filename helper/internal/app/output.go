package app

import (
	"encoding/json"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/shipgate/shipgate/helper/internal/exportenv"
	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/safetext"
)

// outputFlag is the shared --output flag (docs/interface.md): text for people, json for machines.
func outputFlag() cli.Flag {
	return &cli.StringFlag{Name: "output", Value: "text", Usage: "result format: `text` or json"}
}

// exportToFlag is the shared --export-to flag: append `export NAME='value'` lines to FILE.
func exportToFlag() cli.Flag {
	return &cli.StringFlag{Name: "export-to", Usage: "append export lines for later steps to `FILE` (the orb passes $BASH_ENV)"}
}

// outputFormat validates --output before any work is attempted.
func outputFormat(c *cli.Context) (string, error) {
	switch format := c.String("output"); format {
	case "text", "json":
		return format, nil
	default:
		return "", failure.New(failure.Usage, "--output %q: want text or json", format)
	}
}

// printResult writes the command's result to stdout: JSON as one object followed by a newline,
// or the text rendering.
func (s *streams) printResult(format string, value any, text func() string) error {
	if format == "json" {
		data, err := json.Marshal(value)
		if err != nil {
			return failure.Wrap(failure.Internal, err, "encoding result")
		}
		_, err = fmt.Fprintf(s.stdout, "%s\n", data)
		return err
	}
	out := text()
	if out == "" {
		return nil
	}
	if out[len(out)-1] != '\n' {
		out += "\n"
	}
	_, err := fmt.Fprint(s.stdout, out)
	return err
}

// exportVars appends vars to the --export-to file when one was given and reports the names
// (never the values) on stderr.
func (s *streams) exportVars(c *cli.Context, vars map[string]string) error {
	path := c.String("export-to")
	if path == "" {
		return nil
	}
	if err := exportenv.Append(path, vars); err != nil {
		return err
	}
	safetext.Fprintf(s.stderr, "shipgate: %s\n", exportenv.Describe(path, vars))
	return nil
}

// nonNil makes an empty list print as [] in JSON, never null (issue 18 point 10): consumers
// iterate over it without a null check.
func nonNil(list []string) []string {
	if list == nil {
		return []string{}
	}
	return list
}

// progress prints a progress or diagnostic line on stderr.
func (s *streams) progress(format string, args ...any) {
	// Arguments are often a registry's or a file's words: escaped (issue 14 class 3).
	safetext.Fprintf(s.stderr, "shipgate: "+format+"\n", args...)
}
