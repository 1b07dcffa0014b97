package app

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/lint"
	"github.com/shipgate/shipgate/helper/internal/policy"
)

// defaultPolicyDir is where `shipgate policy bundle` writes when --out is not given: the folder
// `circleci policy push` and `circleci policy decide` are pointed at in CircleCI's docs.
const defaultPolicyDir = "policies"

func policyCommand(s *streams) *cli.Command {
	return &cli.Command{
		Name:  "policy",
		Usage: "enforce the deployment rules org-wide with CircleCI config policies (docs/policies.md)",
		Subcommands: []*cli.Command{
			policyBundleCommand(s),
		},
	}
}

// policyBundleResult is the JSON result of `shipgate policy bundle`.
type policyBundleResult struct {
	Out   string           `json:"out"`
	Files []string         `json:"files"`
	Rules []policy.Enabled `json:"rules"`
}

func policyBundleCommand(s *streams) *cli.Command {
	return &cli.Command{
		Name:  "bundle",
		Usage: "write shipgate's deployment rules as a CircleCI config-policy bundle (Rego, package org)",
		Description: "Rules at or above fail_on fail hard, warnings below it soft; rules disabled in the settings stay out.\n" +
			"Check a config with `circleci policy decide DIR --input .circleci/config.yml`, upload with `circleci policy push DIR`.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Value: defaultPolicyDir, Usage: "`DIR` to write the bundle to (created; earlier shipgate rule files in it are replaced)"},
			&cli.StringFlag{Name: "settings", Usage: "lint settings `FILE` (default " + lint.SettingsFile + " when it exists)"},
			&cli.BoolFlag{Name: "soft", Usage: "enable every rule as a soft failure (a first rollout: violations are recorded, pipelines still run)"},
			outputFlag(),
		},
		Action: func(c *cli.Context) error {
			format, err := outputFormat(c)
			if err != nil {
				return err
			}
			if c.NArg() > 0 {
				return failure.New(failure.Usage, "policy bundle takes no arguments (got %q)", c.Args().First())
			}
			opts, err := policySettings(c.String("settings"), c.IsSet("settings"))
			if err != nil {
				return err
			}
			b, err := policy.Generate(policy.Options{Lint: opts, Soft: c.Bool("soft")})
			if err != nil {
				return err
			}
			out := c.String("out")
			if err := b.Write(out); err != nil {
				return err
			}
			result := policyBundleResult{Out: out, Rules: b.Rules}
			for name := range b.Files {
				result.Files = append(result.Files, name)
			}
			sort.Strings(result.Files)
			return s.printResult(format, result, func() string { return policyBundleText(result) })
		},
	}
}

// policySettings reads the lint settings file: the named one, else .shipgate-lint.yml when it
// exists, else the defaults.
func policySettings(path string, explicit bool) (lint.Options, error) {
	if path == "" {
		path = lint.SettingsFile
	}
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		return lint.ParseSettings(path, data)
	case explicit || !errors.Is(err, fs.ErrNotExist):
		return lint.Options{}, failure.New(failure.Usage, "reading lint settings %s: %w", path, pathCause(err))
	}
	return lint.Options{}, nil
}

func policyBundleText(r policyBundleResult) string {
	var hard, soft []string
	for _, rule := range r.Rules {
		if rule.Hard {
			hard = append(hard, rule.ID)
		} else {
			soft = append(soft, rule.ID)
		}
	}
	return fmt.Sprintf("wrote %d files to %s\nhard: %s\nsoft: %s\n", len(r.Files), r.Out,
		ruleList(strings.Join(hard, " ")), ruleList(strings.Join(soft, " ")))
}

func ruleList(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
