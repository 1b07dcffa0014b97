// Package app is shipgate's command line: the only package that imports urfave/cli. Each
// command lives in its own file, turns flags into options, calls one function of a domain
// package and prints the result. Exit codes are decided in exit.go, nowhere else.
package app

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/urfave/cli/v2"

	"github.com/shipgate/shipgate/helper/internal/exportenv"
)

// Version is the helper's version, set at link time by the release build
// (-ldflags "-X github.com/shipgate/shipgate/helper/internal/app.Version=v1.2.3").
var Version = "dev"

// env is the process environment as commands see it; tests replace it.
type env func(string) string

// streams carries a run's output sinks, environment and dependencies to the command files.
type streams struct {
	stdout io.Writer
	stderr io.Writer
	getenv env
	deps   deps
}

// deps are the outside world a run depends on beyond its environment: passed in, never patched
// into package variables, so tests run in parallel with their own (issue 12 point 5).
type deps struct {
	stdin io.Reader
	aws   awsDeps
	gcp   gcpDeps
}

func defaultDeps() deps {
	return deps{stdin: os.Stdin, aws: defaultAWSDeps(), gcp: defaultGCPDeps()}
}

// Run executes shipgate with args (args[0] is the program name) and returns the exit code.
// It never calls os.Exit, so tests can run the whole CLI in-process.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return run(ctx, args, stdout, stderr, os.Getenv)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv env) int {
	return runWith(ctx, args, stdout, stderr, getenv, defaultDeps())
}

func runWith(ctx context.Context, args []string, stdout, stderr io.Writer, getenv env, d deps) int {
	// Progress comes from several goroutines at once (blob copies, heartbeats): one line per
	// write, never interleaved, whatever stderr is.
	stderr = &lockedWriter{w: stderr}
	s := &streams{stdout: stdout, stderr: stderr, getenv: getenv, deps: d}
	application := newApp(s)
	err := application.RunContext(ctx, args)
	if sig, ok := interruptedBy(ctx); ok && err != nil {
		// Whatever the command was doing when the signal came, it stopped because of it.
		reportError(stderr, fmt.Errorf("%s: %w", sig, err))
		return sig.exitCode()
	}
	return reportError(stderr, err)
}

func newApp(s *streams) *cli.App {
	application := &cli.App{
		Name:    "shipgate",
		Usage:   "promote container images by digest, keep a known-good ledger in the registry, roll back to it",
		Version: Version,
		Description: "shipgate is the helper behind the shipgate CircleCI orb. Every command also runs standalone.\n" +
			"Exit codes: 0 done, 1 internal error, 2 bad usage, 3 refused (auth), 4 not found,\n" +
			"5 refused by a safety rule, 6 unhealthy, 7 dependency unavailable, 130/143 interrupted (SIGINT/SIGTERM).\n" +
			"Every flag can also be set as SHIPGATE_FLAG_<FLAG_NAME> (an empty value counts as unset).\n\n" +
			"Examples:\n" +
			"  shipgate record-artifact --image registry.example.com/app:$CIRCLE_SHA1 --export-to $BASH_ENV\n" +
			"  shipgate promote --release release.json --to registry.example.com/prod/app --env production\n" +
			"  shipgate releases --repo registry.example.com/prod/app --env production\n" +
			"  shipgate rollback --repo registry.example.com/prod/app --env production --export-to $BASH_ENV\n" +
			"  shipgate promote --help   (every command's flags and examples)",
		Writer:          s.stdout,
		ErrWriter:       s.stderr,
		HideHelpCommand: true,
		// Errors are printed and mapped to exit codes by reportError; urfave/cli must not exit.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return usageError(err)
		},
		Commands: commands(s),
		Metadata: map[string]any{"streams": s},
		// Shell completion: `source <(shipgate completion bash)`-style scripts call the binary with
		// --generate-bash-completion (urfave/cli's autocomplete/ scripts; docs/interface.md).
		EnableBashCompletion: true,
		Suggest:              true,
		// urfave/cli's own --help and --version are package globals that every run writes to
		// (BoolFlag.Apply); runs in one process (the tests, in parallel) would race on them.
		// Each app gets its own instances instead; urfave still recognises them by name.
		HideHelp:    true,
		HideVersion: true,
		Flags:       []cli.Flag{newHelpFlag(), &cli.BoolFlag{Name: "version", Aliases: []string{"v"}, Usage: "print the version", DisableDefaultText: true}},
	}
	application.Action = func(ctx *cli.Context) error {
		if ctx.Bool("version") { // HideVersion turned urfave's own check off (see above)
			cli.ShowVersion(ctx)
			return nil
		}
		return unknownSubcommand(ctx, application.Commands)
	}
	for _, c := range application.Commands {
		prepareCommand(c, "")
	}
	return application
}

// commands lists every command; each is built in its own file.
func commands(s *streams) []*cli.Command {
	cmds := []*cli.Command{
		recordArtifactCommand(s),
		promoteCommand(s),
	}
	cmds = append(cmds, markCommands(s)...)
	cmds = append(cmds,
		releasesCommand(s),
		findCommand(s),
		rollbackCommand(s),
		ledgerCommand(s),
		awsCommand(s),
		smokeTestCommand(s),
		lintCommand(s),
		policyCommand(s),
		gcpCommand(s),
		versionCommand(s),
		completionCommand(s),
		referenceCommand(s),
	)
	return cmds
}

// prepareCommand applies the conventions every command shares: SHIPGATE_FLAG_<NAME> environment
// variables for flags (empty counts as unset), and usage errors mapped to exit code 2.
func prepareCommand(c *cli.Command, parent string) {
	path := strings.TrimSpace(parent + " " + c.Name)
	addExamples(c, path)
	// urfave/cli adds a "help" subcommand to every command at run time; decide now.
	leaf := len(c.Subcommands) == 0
	c.HideHelp = true // its global --help flag: see newApp
	c.Flags = append(c.Flags, newHelpFlag())
	if leaf {
		// `promote help` would otherwise be a subcommand; --help stays.
		c.HideHelpCommand = true
	} else if c.Action == nil {
		c.Action = func(ctx *cli.Context) error { return unknownSubcommand(ctx, c.Subcommands) }
	}
	before := c.Before
	c.Before = func(ctx *cli.Context) error {
		if leaf {
			// First: a stray word means later flags were not parsed (issue 18 point 1).
			if err := checkArguments(ctx, c); err != nil {
				return err
			}
		}
		if err := applyFlagEnvironment(ctx, withoutHelp(c.Flags)); err != nil {
			return err
		}
		// A bad --export-to is bad usage: refuse it before anything is attempted, not after a
		// promotion has already copied the image.
		if hasFlag(c.Flags, "export-to") && ctx.String("export-to") != "" {
			if err := exportenv.Check(ctx.String("export-to")); err != nil {
				return err
			}
		}
		if before != nil {
			return before(ctx)
		}
		return nil
	}
	c.OnUsageError = func(_ *cli.Context, err error, _ bool) error { return usageError(err) }
	applyTimeout(c)
	for _, sub := range c.Subcommands {
		prepareCommand(sub, path)
	}
}

// applyFlagEnvironment sets each flag not given on the command line from SHIPGATE_FLAG_<NAME>
// when that variable is non-empty. urfave/cli's own EnvVars would let a set-but-empty variable
// (which every orb `environment:` entry is) override defaults and satisfy Required; this
// treats "" as unset instead. Slice flags take a comma- or newline-separated list.
//
// Inputs and outputs have separate names (docs/interface.md, "Refinements"): no variable a
// command exports (ExportedNames) is ever read back as a flag, so no list of exceptions is
// needed. A variable of the old input spelling, SHIPGATE_<NAME>, is not read; when one is set
// for a flag and is not an exported name, a note says what to rename it to.
func applyFlagEnvironment(ctx *cli.Context, flags []cli.Flag) error {
	getenv := os.Getenv
	var stderr io.Writer = io.Discard
	if s, ok := ctx.App.Metadata["streams"].(*streams); ok {
		getenv, stderr = s.getenv, s.stderr
	}
	for _, flag := range flags {
		names := flag.Names()
		if len(names) == 0 || ctx.IsSet(names[0]) {
			continue
		}
		variable := FlagEnvName(names[0])
		value := getenv(variable)
		if value == "" {
			if legacy := legacyFlagEnvName(names[0]); getenv(legacy) != "" && !isHandOverName(legacy) {
				fmt.Fprintf(stderr, "shipgate: note: %s is not read any more; set %s for --%s\n", legacy, variable, names[0])
			}
			continue
		}
		values := []string{value}
		if _, isSlice := flag.(*cli.StringSliceFlag); isSlice {
			values = splitList(value)
		}
		for _, v := range values {
			if err := ctx.Set(names[0], v); err != nil {
				return usageError(fmt.Errorf("%s: %w", variable, err))
			}
		}
	}
	return nil
}

// FlagEnvPrefix starts the name of every variable that sets a flag.
const FlagEnvPrefix = "SHIPGATE_FLAG_"

// ExportedNames are the variables commands append to --export-to files: results for later
// steps, never read as flags. A command reads one only where its documentation says so
// (smoke-test's expected version from SHIPGATE_VERSION, mark-*'s release file from
// SHIPGATE_RELEASE).
var ExportedNames = []string{
	"SHIPGATE_IMAGE", "SHIPGATE_DIGEST", "SHIPGATE_REPOSITORY", "SHIPGATE_ENV",
	"SHIPGATE_VERSION", "SHIPGATE_ROLLBACK_FROM", "SHIPGATE_RELEASE",
}

// handedOver is the flag's value or, when it is not given, the exported variable that the
// command documents as the flag's default: an explicit hand-over from an earlier step, chosen per
// command (mark-* reads SHIPGATE_IMAGE, _RELEASE, _VERSION, _ROLLBACK_FROM), never the general
// SHIPGATE_FLAG_ mechanism.
func handedOver(c *cli.Context, s *streams, flag, exported string) string {
	if v := c.String(flag); v != "" || c.IsSet(flag) {
		return v
	}
	return s.getenv(exported)
}

// HandOverNames are the other variables read by name: the orb passes `<< pipeline.number >>` as
// SHIPGATE_PIPELINE_NUMBER to every step (the release file's pipeline, the default AWS session
// name).
var HandOverNames = []string{"SHIPGATE_PIPELINE_NUMBER"}

// isHandOverName: an exported or handed-over name is meant as itself, not as a flag input of the
// old spelling.
func isHandOverName(name string) bool {
	for _, n := range append(append([]string(nil), ExportedNames...), HandOverNames...) {
		if n == name {
			return true
		}
	}
	return false
}

// FlagEnvName is the environment variable that sets flag name: SHIPGATE_FLAG_ plus the name in
// upper case with dashes as underscores.
func FlagEnvName(flagName string) string {
	return FlagEnvPrefix + envSuffix(flagName)
}

// legacyFlagEnvName is the spelling flags were read from before 2026-12 (SHIPGATE_<NAME>).
func legacyFlagEnvName(flagName string) string {
	return "SHIPGATE_" + envSuffix(flagName)
}

func envSuffix(flagName string) string {
	return strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func splitList(value string) []string {
	var out []string
	for _, part := range strings.FieldsFunc(value, func(r rune) bool { return r == ',' || r == '\n' }) {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

func versionCommand(s *streams) *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the helper's version",
		Action: func(*cli.Context) error {
			_, err := fmt.Fprintln(s.stdout, Version)
			return err
		},
	}
}

// lockedWriter serialises writes to w.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// newHelpFlag is a command's own --help (see newApp).
func newHelpFlag() cli.Flag {
	return &cli.BoolFlag{Name: "help", Aliases: []string{"h"}, Usage: "show help", DisableDefaultText: true}
}

// withoutHelp is flags without --help, which is never read from the environment.
func withoutHelp(flags []cli.Flag) []cli.Flag {
	out := make([]cli.Flag, 0, len(flags))
	for _, f := range flags {
		if f.Names()[0] != "help" {
			out = append(out, f)
		}
	}
	return out
}

func hasFlag(flags []cli.Flag, name string) bool {
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				return true
			}
		}
	}
	return false
}
