package app

import (
	"context"
	"net/http"
	"net/url"
	"os/exec"
	"strconv"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/shipgate/shipgate/helper/internal/awsrole"
	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/oidctoken"
	"github.com/shipgate/shipgate/helper/internal/safetext"
)

// awsDeps are what the AWS commands need from the outside world: the program runner used to
// mint tokens, whether minting is possible, the retry backoff, the clock, the HTTP client and
// where the ECR API is. newApp passes them in (defaultDeps); tests pass their own, so they can
// run in parallel.
type awsDeps struct {
	runner     oidctoken.Runner
	canMint    func(s *streams) bool
	retry      awsrole.Retry
	now        func() time.Time
	httpClient *http.Client
	// ecrEndpoint returns the ECR API URL for a region; nil is AWS's own.
	ecrEndpoint func(region string) string
}

func defaultAWSDeps() awsDeps {
	return awsDeps{runner: oidctoken.ExecRunner, canMint: circleciAvailable, now: time.Now}
}

// circleciAvailable reports whether `circleci run oidc get` can mint a token: inside a CircleCI
// job with the circleci CLI on PATH.
func circleciAvailable(s *streams) bool {
	if s.getenv("CIRCLECI") != "true" {
		return false
	}
	_, err := exec.LookPath("circleci")
	return err == nil
}

func awsCommand(s *streams) *cli.Command {
	return &cli.Command{
		Name:  "aws",
		Usage: "exchange a CircleCI OIDC token for AWS credentials; print and check trust policies",
		Subcommands: []*cli.Command{
			awsAssumeRoleCommand(s),
			awsCredentialProcessCommand(s),
			awsTrustPolicyCommand(s),
		},
	}
}

// tokenFlags choose where the OIDC token comes from. There is deliberately no flag taking a
// token itself: command lines end up in logs and process lists.
func tokenFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "token-env", Usage: "read the OIDC token from environment variable `NAME` (default $CIRCLE_OIDC_TOKEN_V2, else $CIRCLE_OIDC_TOKEN)"},
		&cli.StringFlag{Name: "token-file", Usage: "read the OIDC token from `FILE`"},
	}
}

// exchangeFlags are the flags of every command that assumes a role.
func exchangeFlags() []cli.Flag {
	return append(tokenFlags(),
		&cli.StringFlag{Name: "role-arn", Usage: "IAM role to assume with the OIDC token (required)"},
		&cli.StringFlag{Name: "region", Usage: "AWS region: the STS endpoint and the exported region (default $AWS_REGION, else $AWS_DEFAULT_REGION)"},
		&cli.StringFlag{Name: "session-name", Usage: "role session name (default: built from the CircleCI project, build number and job, sanitised)"},
		&cli.StringFlag{Name: "pipeline-number", Usage: "pipeline number for the default session name (the orb passes << pipeline.number >>; default $CIRCLE_BUILD_NUM)"},
		&cli.StringFlag{Name: "duration", Value: "3600", Usage: "session duration in seconds or as 1h; 900 to 43200, at most 3600 when chaining roles"},
		&cli.StringFlag{Name: "audience", Usage: "mint a fresh token for `AUD` with `circleci run oidc get` instead of reading one"},
		&cli.StringSliceFlag{Name: "allowed-account-ids", Usage: "refuse credentials for accounts not in this comma-separated list"},
		&cli.StringFlag{Name: "sts-endpoint", Usage: "STS endpoint `URL` (default https://sts.REGION.amazonaws.com); only AWS STS hosts or loopback"},
		&cli.BoolFlag{Name: "allow-custom-endpoint", Usage: "allow an --sts-endpoint that is neither an AWS STS host nor loopback"},
		&cli.StringSliceFlag{Name: "chain-role-arn", Usage: "after the web identity role, assume this role with it (repeatable, in order)"},
		&cli.DurationFlag{Name: "timeout", Value: awsrole.DefaultTimeout, Usage: "deadline for the whole exchange, retries included"},
	)
}

// tokenSource builds the token source from the flags, and a minting source for refreshing an
// expired token when the circleci CLI is available.
func tokenSource(c *cli.Context, s *streams) (token, mint oidctoken.Source, err error) {
	envName, file, audience := c.String("token-env"), c.String("token-file"), c.String("audience")
	set := 0
	for _, v := range []string{envName, file, audience} {
		if v != "" {
			set++
		}
	}
	if set > 1 {
		return nil, nil, failure.New(failure.Usage, "--token-env, --token-file and --audience are alternatives: give one")
	}
	if envName != "" && !validEnvName(envName) {
		return nil, nil, failure.New(failure.Usage, "--token-env %q: want an environment variable name", envName)
	}
	if audience != "" {
		m := oidctoken.MintSource{Audience: audience, Run: s.deps.aws.runner}
		return m, m, nil
	}
	if file != "" {
		token = oidctoken.FileSource{Path: file}
	} else {
		token = oidctoken.EnvSource{Getenv: s.getenv, Name: envName}
	}
	if s.deps.aws.canMint(s) {
		mint = refreshSource(c.Context, s, token)
	}
	return token, mint, nil
}

// refreshSource mints tokens for the audience of the token src holds (CircleCI's default
// audience is the org ID), or nil when src has no readable token.
func refreshSource(ctx context.Context, s *streams, src oidctoken.Source) oidctoken.Source {
	raw, err := src.Token(ctx)
	if err != nil {
		return nil
	}
	claims, err := oidctoken.Decode(raw)
	if claims == nil || len(claims.Audience) == 0 || err != nil && failure.KindOf(err) != failure.Usage {
		return nil
	}
	return oidctoken.MintSource{Audience: claims.Audience[0], Run: s.deps.aws.runner}
}

func validEnvName(name string) bool {
	for i, r := range name {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return name != ""
}

// parseDuration reads --duration as whole seconds or a Go duration.
func parseDuration(v string) (time.Duration, error) {
	if n, err := strconv.Atoi(v); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, failure.New(failure.Usage, "--duration %q: want seconds (3600) or a duration (1h)", v)
	}
	return d, nil
}

// defaultSessionName is built from the CircleCI context: project, pipeline number (which
// CircleCI does not put in the environment: the orb passes << pipeline.number >> as
// --pipeline-number / SHIPGATE_PIPELINE_NUMBER; else the job's build number) and job,
// sanitised for STS (aws-cli orb #104, #140, #166, #172, #186).
func defaultSessionName(s *streams, pipelineNumber string) string {
	number := pipelineNumber
	if number == "" {
		number = s.getenv("CIRCLE_BUILD_NUM")
	}
	project, job := s.getenv("CIRCLE_PROJECT_REPONAME"), s.getenv("CIRCLE_JOB")
	if project == "" && number == "" && job == "" {
		return awsrole.SessionName("shipgate", strconv.FormatInt(s.deps.aws.now().Unix(), 10))
	}
	return awsrole.SessionName(project, number, job)
}

// exchangeOptions turns the flags into awsrole.Options, validating everything before a token
// is read or sent.
func exchangeOptions(c *cli.Context, s *streams) (awsrole.Options, error) {
	var o awsrole.Options
	o.RoleARN = c.String("role-arn")
	if o.RoleARN == "" {
		return o, missingFlag("role-arn", "the IAM role ARN to assume")
	}
	o.Region = firstNonEmpty(c.String("region"), s.getenv("AWS_REGION"), s.getenv("AWS_DEFAULT_REGION"))
	if o.Region == "" {
		return o, missingFlag("region", "the AWS region (or set $AWS_REGION)")
	}
	o.ChainRoleARNs = c.StringSlice("chain-role-arn")
	o.AllowedAccountIDs = splitIDs(c.StringSlice("allowed-account-ids"))
	d, err := parseDuration(c.String("duration"))
	if err != nil {
		return o, err
	}
	o.Duration = d
	o.SessionName = c.String("session-name")
	if o.SessionName == "" {
		o.SessionName = defaultSessionName(s, firstNonEmpty(c.String("pipeline-number"), s.getenv("SHIPGATE_PIPELINE_NUMBER")))
	}
	endpoint, err := awsrole.ResolveEndpoint(o.Region, c.String("sts-endpoint"), c.Bool("allow-custom-endpoint"))
	if err != nil {
		return o, err
	}
	o.Endpoint = endpoint
	o.Token, o.Mint, err = tokenSource(c, s)
	if err != nil {
		return o, err
	}
	if err := o.Validate(); err != nil {
		return o, err
	}
	o.Timeout = c.Duration("timeout")
	o.Retry = s.deps.aws.retry
	o.Now = s.deps.aws.now
	o.HTTPClient = s.deps.aws.httpClient
	o.Progress = s.progress
	warnEndpointOverride(s, o.Endpoint)
	return o, nil
}

// warnEndpointOverride says when AWS_ENDPOINT_URL_STS (or AWS_ENDPOINT_URL) would send STS
// calls, and with them the OIDC token, somewhere else in later AWS CLI/SDK calls. shipgate
// itself never reads them.
func warnEndpointOverride(s *streams, endpoint string) {
	for _, name := range []string{"AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL"} {
		v := s.getenv(name)
		if v == "" {
			continue
		}
		host := "an unparsable URL"
		if u, err := url.Parse(v); err == nil && u.Host != "" {
			host = u.Host
			if awsrole.IsAWSSTSEndpoint(u) || awsrole.IsLoopback(u) {
				s.progress("note: $%s points at %s; shipgate ignores it and uses %s", name, host, endpoint)
				continue
			}
		}
		s.progress("warning: $%s points at %s, which is not an AWS STS host: AWS CLI/SDK calls in this job would send web identity tokens there; shipgate ignores it and uses %s", name, host, endpoint)
	}
}

func splitIDs(values []string) []string {
	var out []string
	for _, v := range values {
		out = append(out, splitList(v)...)
	}
	return out
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// awsSummary is the JSON result of assume-role (never a secret).
type awsSummary struct {
	RoleARN        string   `json:"roleArn"`
	AssumedRoleARN string   `json:"assumedRoleArn"`
	Account        string   `json:"account"`
	Region         string   `json:"region"`
	SessionName    string   `json:"sessionName"`
	Expiration     string   `json:"expiration"`
	Subject        string   `json:"subject"`
	Audience       []string `json:"audience"`
	TokenSource    string   `json:"tokenSource"`
	Write          string   `json:"write"`
	Profile        string   `json:"profile,omitempty"`
	Exported       []string `json:"exported,omitempty"`
	ExportTo       string   `json:"exportTo,omitempty"`
}

func (a awsSummary) text() string {
	return safetext.Sprintf("assumed %s (account %s, region %s) until %s\n", a.AssumedRoleARN, a.Account, a.Region, a.Expiration)
}
