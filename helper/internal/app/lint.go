package app

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/inputfile"
	"github.com/shipgate/shipgate/helper/internal/lint"
)

// defaultLintFile is the config `shipgate lint` checks when no file is named.
const defaultLintFile = ".circleci/config.yml"

func lintCommand(s *streams) *cli.Command {
	return &cli.Command{
		Name:      "lint",
		Usage:     "check a CircleCI config against shipgate's deployment rules (docs/lint.md)",
		ArgsUsage: "[FILE|FOLDER]... (default " + defaultLintFile + "; - reads stdin; a folder: its .yml files)",
		Description: "Exit code 0 when no rule fails, 6 when an enabled rule fails, 2 when a file cannot be read or parsed.\n" +
			"Settings come from " + lint.SettingsFile + " in the working directory (or --config); flags override them.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Value: "text", Usage: "report format: `text`, json, sarif or junit"},
			&cli.StringFlag{Name: "config", Usage: "lint settings `FILE` (default " + lint.SettingsFile + " when it exists)"},
			&cli.StringFlag{Name: "release-branch", Usage: "the only `BRANCH` production may deploy from (default " + lint.DefaultReleaseBranch + ")"},
			&cli.StringFlag{Name: "staging-branch", Usage: "the only `BRANCH` staging may deploy from (default " + lint.DefaultStagingBranch + ")"},
			&cli.StringSliceFlag{Name: "deploy-job", Usage: "treat workflow job `NAME[=ENV]` as a deploy job (repeatable)"},
			&cli.StringSliceFlag{Name: "not-deploy-job", Usage: "never treat workflow job `NAME` as a deploy job (repeatable)"},
			&cli.StringSliceFlag{Name: "disable", Usage: "turn off rule `ID` for every file (repeatable, e.g. SG012)"},
			&cli.StringFlag{Name: "fail-on", Usage: "least `SEVERITY` that fails the lint: error, warning or note (default error)"},
		},
		Action: func(c *cli.Context) error {
			format := c.String("output")
			if !validLintFormat(format) {
				return failure.New(failure.Usage, "--output %q: want one of %s", format, strings.Join(lint.Formats, ", "))
			}
			opts, err := lintOptions(c)
			if err != nil {
				return err
			}
			inputs, err := readLintInputs(c.Args().Slice(), s.deps.stdin)
			if err != nil {
				return err
			}
			report, err := lint.Lint(inputs, opts)
			if err != nil {
				return err
			}
			if err := lint.Write(s.stdout, report, format, Version); err != nil {
				return failure.Wrap(failure.Internal, err, "writing the report")
			}
			if report.Failed {
				return failure.New(failure.Unhealthy, "lint: %s", report.FailureLine(format))
			}
			return nil
		},
	}
}

func validLintFormat(format string) bool {
	for _, f := range lint.Formats {
		if f == format {
			return true
		}
	}
	return false
}

// lintOptions reads the settings file, then applies flags on top.
func lintOptions(c *cli.Context) (lint.Options, error) {
	var base lint.Options
	path, explicit := c.String("config"), c.IsSet("config")
	if path == "" {
		path = lint.SettingsFile
	}
	if _, statErr := os.Stat(path); explicit || !errors.Is(statErr, fs.ErrNotExist) {
		data, err := inputfile.Read(path, "lint settings", inputfile.SmallLimit)
		if err != nil {
			return lint.Options{}, err
		}
		if base, err = lint.ParseSettings(path, data); err != nil {
			return lint.Options{}, err
		}
	}
	flags := lint.Options{
		ReleaseBranch: c.String("release-branch"),
		StagingBranch: c.String("staging-branch"),
		Disable:       c.StringSlice("disable"),
		NotDeployJobs: c.StringSlice("not-deploy-job"),
	}
	if v := c.String("fail-on"); v != "" {
		sev, err := lint.ParseSeverity(v)
		if err != nil {
			return lint.Options{}, failure.Wrap(failure.Usage, err, "--fail-on")
		}
		flags.FailOn = sev
	}
	for _, spec := range c.StringSlice("deploy-job") {
		name, env, _ := strings.Cut(spec, "=")
		if name == "" {
			return lint.Options{}, failure.New(failure.Usage, "--deploy-job %q: want NAME or NAME=ENV", spec)
		}
		if flags.DeployJobs == nil {
			flags.DeployJobs = map[string]string{}
		}
		flags.DeployJobs[name] = env
	}
	opts := base.Merge(flags)
	if err := opts.Validate(); err != nil {
		return lint.Options{}, err
	}
	return opts, nil
}

// readLintInputs reads every named file (default .circleci/config.yml; - is stdin; a folder
// stands for the .yml and .yaml files directly in it, e.g. the orb's src/examples).
func readLintInputs(args []string, stdin io.Reader) ([]lint.Input, error) {
	if len(args) == 0 {
		args = []string{defaultLintFile}
	}
	var inputs []lint.Input
	for _, name := range args {
		if name == "-" {
			// Bounded like a file: a pipe that never ends is not a config.
			in, err := lint.ReadInput("<stdin>", io.LimitReader(stdin, inputfile.ConfigLimit))
			if err != nil {
				return nil, err
			}
			inputs = append(inputs, in)
			continue
		}
		files, err := expandLintArg(name)
		if err != nil {
			return nil, err
		}
		for _, file := range files {
			in, err := readLintFile(file)
			if err != nil {
				return nil, err
			}
			inputs = append(inputs, in)
		}
	}
	return inputs, nil
}

// expandLintArg returns name, or the YAML files in it when it is a folder.
func expandLintArg(name string) ([]string, error) {
	info, err := os.Stat(name)
	if err != nil {
		return nil, failure.New(failure.Usage, "reading %s: %w", name, pathCause(err))
	}
	if !info.IsDir() {
		return []string{name}, nil
	}
	entries, err := os.ReadDir(name)
	if err != nil {
		return nil, failure.New(failure.Usage, "reading %s: %w", name, pathCause(err))
	}
	var files []string
	for _, e := range entries {
		if ext := filepath.Ext(e.Name()); !e.IsDir() && (ext == ".yml" || ext == ".yaml") {
			files = append(files, filepath.Join(name, e.Name()))
		}
	}
	if len(files) == 0 {
		return nil, failure.New(failure.Usage, "reading %s: no .yml or .yaml files in the folder", name)
	}
	return files, nil
}

func readLintFile(name string) (lint.Input, error) {
	f, err := inputfile.Open(name, "lint config", inputfile.ConfigLimit)
	if err != nil {
		return lint.Input{}, err
	}
	defer f.Close()
	in, err := lint.ReadInput(name, f)
	if err != nil {
		return lint.Input{}, err
	}
	in.RollbackPipeline = rollbackPipelineBeside(name)
	return in, nil
}

// rollbackPipelineBeside returns the CircleCI rollback pipeline config (rollback.yml) in the
// same folder as the config at path, or "" when there is none (or path is that file).
func rollbackPipelineBeside(path string) string {
	candidate := filepath.Join(filepath.Dir(path), "rollback.yml")
	if filepath.Clean(path) == candidate {
		return ""
	}
	if info, err := os.Stat(candidate); err == nil && info.Mode().IsRegular() {
		return candidate
	}
	return ""
}

// pathCause drops the path an *fs.PathError repeats, so the message names the file once.
func pathCause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
