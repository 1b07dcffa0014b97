package app

import (
	"errors"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/smoke"
)

// repeated is a flag value that may be given several times; unlike cli.StringSliceFlag it
// never splits a value at commas (header values and JSON values contain them).
type repeated []string

func (r *repeated) Set(value string) error { *r = append(*r, value); return nil }
func (r *repeated) String() string         { return strings.Join(*r, " ") }

// urlExpectationFlags describe the --url checks only; a checks file carries its own.
var urlExpectationFlags = []string{"method", "header", "status", "body", "json", "expect-header", "follow-redirects"}

func smokeTestCommand(s *streams) *cli.Command {
	return &cli.Command{
		Name:      "smoke-test",
		Usage:     "request URLs until they answer as the new version, N times in a row, within a deadline",
		UsageText: "shipgate smoke-test --url URL [--url URL]... [expectations] [--checks smoke.yml] [timing] [--junit FILE] [--output text|json]",
		Description: "Exit codes: 0 healthy, 6 unhealthy, 2 bad usage (found before any request).\n" +
			"Expectations (--status, --body, --json, --expect-header, --header, --method) apply to the --url checks;\n" +
			"each check of a --checks file carries its own. The expected version (--expect-version, default\n" +
			"$SHIPGATE_VERSION) applies to every check unless a check says `version: false`.\n" +
			"Header values come from environment variables only: --header 'Authorization=env:SMOKE_TOKEN'.\n" +
			"Redirects are not followed unless --follow-redirects (or followRedirects: true in the file).",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "url", Usage: "check `URL` (repeatable)"},
			&cli.StringFlag{Name: "checks", Usage: "YAML `FILE` of named checks with their own expectations"},
			&cli.StringFlag{Name: "method", Value: "GET", Usage: "request `METHOD` for --url checks"},
			&cli.GenericFlag{Name: "header", Value: &repeated{}, Usage: "request header `NAME=env:VARIABLE`, its value read from that environment variable (repeatable; literal values only for non-credential headers)"},
			&cli.StringFlag{Name: "status", Value: smoke.DefaultStatus, Usage: "accepted `STATUS`: a code (200), a class (2xx) or a list (200,204)"},
			&cli.StringFlag{Name: "body", Usage: "regular expression the body must match (`REGEXP`)"},
			&cli.GenericFlag{Name: "json", Value: &repeated{}, Usage: "JSON field equality `PATH=VALUE`, e.g. .build.version=1.2.3 or .items[0].name=x (repeatable)"},
			&cli.GenericFlag{Name: "expect-header", Value: &repeated{}, Usage: "response header `NAME=VALUE` (exact value; repeatable)"},
			&cli.StringFlag{Name: "expect-version", Usage: "`VERSION` the service must report in a header, a JSON field or the body (default: $SHIPGATE_VERSION)"},
			&cli.BoolFlag{Name: "no-expect-version", Usage: "check no version, even when SHIPGATE_VERSION is set"},
			&cli.BoolFlag{Name: "follow-redirects", Usage: "follow redirects (at most 10, never https to http) for --url checks"},
			&cli.StringFlag{Name: "ca-file", Usage: "trust the PEM CA certificates in `FILE` as well as the system roots"},
			&cli.BoolFlag{Name: "insecure", Usage: "do not verify TLS certificates (explicit only; never the default)"},
			&cli.DurationFlag{Name: "timeout", Value: smoke.DefaultTimeout, Usage: "deadline for the whole run"},
			&cli.DurationFlag{Name: "interval", Value: smoke.DefaultInterval, Usage: "time between the starts of two attempts of a check"},
			&cli.DurationFlag{Name: "request-timeout", Value: smoke.DefaultRequestTimeout, Usage: "bound on one request (at most 30s)"},
			&cli.IntFlag{Name: "successes", Value: smoke.DefaultSuccesses, Usage: "passes in a row each check needs"},
			&cli.IntFlag{Name: "max-failures", Usage: "stop as unhealthy once a check failed `N` attempts (0: only the deadline stops)"},
			&cli.StringFlag{Name: "junit", Usage: "write a JUnit XML report (one test case per check) to `FILE`"},
			outputFlag(),
		},
		Action: func(c *cli.Context) error {
			format, err := outputFormat(c)
			if err != nil {
				return err
			}
			opts, err := smokeOptions(c, s)
			if err != nil {
				return err
			}
			res, err := smoke.Run(c.Context, opts)
			var usage *smoke.UsageError
			switch {
			case errors.As(err, &usage):
				return failure.New(failure.Usage, "smoke-test: %v", usage.Err)
			case err != nil:
				return failure.Wrap(failure.Internal, err, "smoke-test stopped before a verdict")
			}
			if path := c.String("junit"); path != "" {
				if err := smoke.WriteJUnit(path, res); err != nil {
					return failure.Wrap(failure.Internal, err, "smoke-test")
				}
			}
			if err := s.printResult(format, res, res.Text); err != nil {
				return err
			}
			if !res.Healthy {
				return failure.New(failure.Unhealthy, "smoke-test: unhealthy: %s", res.Reason)
			}
			return nil
		},
	}
}

// smokeOptions turns the flags into smoke.Options.
func smokeOptions(c *cli.Context, s *streams) (smoke.Options, error) {
	// Zero in smoke.Options means "the default"; on the command line it is a mistake.
	for _, name := range []string{"timeout", "interval", "request-timeout"} {
		if c.Duration(name) <= 0 {
			return smoke.Options{}, failure.New(failure.Usage, "smoke-test: --%s %s: want a positive duration such as 5s", name, c.Duration(name))
		}
	}
	if c.Int("successes") < 1 {
		return smoke.Options{}, failure.New(failure.Usage, "smoke-test: --successes %d: want 1 or more", c.Int("successes"))
	}
	urls := c.StringSlice("url")
	if len(urls) == 0 {
		for _, name := range urlExpectationFlags {
			if c.IsSet(name) {
				return smoke.Options{}, failure.New(failure.Usage, "smoke-test: --%s describes --url checks, and no --url was given (a checks file carries its own expectations)", name)
			}
		}
	}
	expect := smoke.ExpectSpec{Status: smoke.StatusText(c.String("status")), Body: c.String("body")}
	var headers smoke.Pairs
	for _, text := range *c.Generic("header").(*repeated) {
		pair, err := smoke.ParsePair("--header", text)
		if err != nil {
			return smoke.Options{}, failure.New(failure.Usage, "smoke-test: %v", err)
		}
		headers = append(headers, pair)
	}
	for _, text := range *c.Generic("json").(*repeated) {
		pair, err := smoke.ParseJSONPair(text)
		if err != nil {
			return smoke.Options{}, failure.New(failure.Usage, "smoke-test: --json: %v", err)
		}
		expect.JSON = append(expect.JSON, pair)
	}
	for _, text := range *c.Generic("expect-header").(*repeated) {
		pair, err := smoke.ParsePair("--expect-header", text)
		if err != nil {
			return smoke.Options{}, failure.New(failure.Usage, "smoke-test: %v", err)
		}
		expect.Headers = append(expect.Headers, pair)
	}
	var checks []smoke.CheckSpec
	for _, u := range urls {
		checks = append(checks, smoke.CheckSpec{
			URL: u, Method: c.String("method"), Headers: headers, Expect: expect,
			FollowRedirects: c.Bool("follow-redirects"),
		})
	}
	// The version of the digest being deployed, as record-artifact/rollback exported it;
	// never the pipeline's own commit, which is wrong after a rollback.
	version := c.String("expect-version")
	if version == "" {
		version = s.getenv("SHIPGATE_VERSION")
	}
	if c.Bool("no-expect-version") {
		if c.IsSet("expect-version") {
			return smoke.Options{}, failure.New(failure.Usage, "smoke-test: --expect-version and --no-expect-version: choose one")
		}
		version = ""
	}
	return smoke.Options{
		Checks: checks, ChecksFile: c.String("checks"), Version: version, Getenv: s.getenv,
		CAFile: c.String("ca-file"), Insecure: c.Bool("insecure"),
		Timeout: c.Duration("timeout"), Interval: c.Duration("interval"), RequestTimeout: c.Duration("request-timeout"),
		Successes: c.Int("successes"), MaxFailures: c.Int("max-failures"),
		UserAgent: "shipgate/" + Version + " smoke-test", Progress: s.stderr,
	}, nil
}
