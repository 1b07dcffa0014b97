package app

import (
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/gcpauth"
	"github.com/shipgate/shipgate/helper/internal/oidctoken"
)

// gcpDeps are what the GCP commands need from the outside world: the running binary's path
// (written into the credentials file), the program runner and availability check used to mint
// tokens, the retry policy, the clock and the HTTP client. newApp passes them in.
type gcpDeps struct {
	executable func() (string, error)
	runner     oidctoken.Runner
	canMint    func(s *streams) bool
	retry      gcpauth.Retry
	now        func() time.Time
	httpClient *http.Client
}

func defaultGCPDeps() gcpDeps {
	return gcpDeps{
		executable: func() (string, error) {
			path, err := os.Executable()
			if err != nil {
				return "", err
			}
			return filepath.EvalSymlinks(path)
		},
		runner:  oidctoken.ExecRunner,
		canMint: circleciAvailable,
		now:     time.Now,
	}
}

func gcpCommand(s *streams) *cli.Command {
	return &cli.Command{
		Name:  "gcp",
		Usage: "Google Cloud workload identity federation from CircleCI OIDC tokens",
		Subcommands: []*cli.Command{
			gcpCredentialsCommand(s),
			gcpSubjectTokenCommand(s),
			gcpAccessTokenCommand(s),
			gcpProviderConfigCommand(s),
		},
	}
}

// gcpDefaultTokenEnv is the v1 token: its sub (127 bytes) fits google.subject; the v2 sub does
// not (FACTS.md §1).
const gcpDefaultTokenEnv = oidctoken.EnvV1

// gcpSubjectOptions builds the subject token sources from --token-env, --audience and
// --subject-limit: minting with `circleci run oidc get` where available (for --audience, or
// the audience of the injected token), else the injected token.
func gcpSubjectOptions(c *cli.Context, s *streams) (gcpauth.SubjectOptions, error) {
	envName := c.String("token-env")
	if envName == "" {
		envName = gcpDefaultTokenEnv
	}
	if !validEnvName(envName) {
		return gcpauth.SubjectOptions{}, failure.New(failure.Usage, "--token-env %q: want an environment variable name", envName)
	}
	injected := oidctoken.EnvSource{Getenv: s.getenv, Name: envName}
	o := gcpauth.SubjectOptions{Injected: injected, SubjectLimit: c.Int("subject-limit"), Now: s.deps.gcp.now}
	if s.deps.gcp.canMint(s) {
		if aud := c.String("audience"); aud != "" {
			o.Mint = oidctoken.MintSource{Audience: aud, Run: s.deps.gcp.runner}
		} else if m, ok := refreshSourceWith(c, s, injected); ok {
			o.Mint = m
		}
	}
	return o, nil
}

// refreshSourceWith mints for the audience of the injected token (CircleCI's default audience
// is the organisation ID, which a CircleCI provider allows).
func refreshSourceWith(c *cli.Context, s *streams, src oidctoken.Source) (oidctoken.Source, bool) {
	raw, err := src.Token(c.Context)
	if err != nil {
		return nil, false
	}
	claims, _ := oidctoken.Decode(raw)
	if claims == nil || len(claims.Audience) == 0 {
		return nil, false
	}
	return oidctoken.MintSource{Audience: claims.Audience[0], Run: s.deps.gcp.runner}, true
}

func gcpSubjectFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "token-env", Usage: "read the injected OIDC token from environment variable `NAME` (default CIRCLE_OIDC_TOKEN: the v1 sub fits google.subject's 127 bytes)"},
		&cli.StringFlag{Name: "audience", Usage: "mint fresh tokens for `AUD` with `circleci run oidc get` (default: the audience of the injected token, CircleCI's organisation ID)"},
		&cli.IntFlag{Name: "subject-limit", Value: gcpauth.SubjectLimit, Usage: "refuse tokens whose sub is longer than `BYTES` (google.subject's limit); 0 when the provider maps google.subject from something shorter"},
	}
}
