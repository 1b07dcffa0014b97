package app

import (
	"context"
	"sort"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/urfave/cli/v2"

	"github.com/shipgate/shipgate/helper/internal/awsrole"
	"github.com/shipgate/shipgate/helper/internal/ecrauth"
	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/oidctoken"
)

// awsRegistryFlags are the flags a registry command (promote, mark-good, rollback ...) adds to
// authenticate to ECR registries with assumed roles. Use with awsRegistryKeychain.
func awsRegistryFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "registry-role", Usage: "authenticate to ECR registry `HOST=ROLE_ARN` with that role, assumed from the job's OIDC token (repeatable; one role per registry)"},
		&cli.StringFlag{Name: "aws-token-env", Usage: "for --registry-role: read the OIDC token from environment variable `NAME` (default $CIRCLE_OIDC_TOKEN_V2, else $CIRCLE_OIDC_TOKEN)"},
		&cli.StringFlag{Name: "aws-token-file", Usage: "for --registry-role: read the OIDC token from `FILE`"},
		&cli.StringFlag{Name: "aws-audience", Usage: "for --registry-role: mint a fresh token for `AUD` with `circleci run oidc get`"},
		&cli.StringFlag{Name: "aws-sts-endpoint", Usage: "for --registry-role: STS endpoint `URL` (default the registry region's); only AWS STS hosts or loopback"},
	}
}

// awsRegistryKeychain returns a keychain that authenticates the --registry-role hosts in-process
// (ECR GetAuthorizationToken with each host's assumed role; nothing on disk, no docker login)
// and resolves every other host to authn.Anonymous, so callers combine it with
// authn.NewMultiKeychain(kc, authn.DefaultKeychain). It returns nil when no --registry-role
// is set. Roles are assumed lazily, on the first request to each host, from the same token.
func awsRegistryKeychain(c *cli.Context, s *streams) (authn.Keychain, error) {
	pairs := c.StringSlice("registry-role")
	if len(pairs) == 0 {
		return nil, nil
	}
	roles, err := ecrauth.ParseRoles(splitIDs(pairs))
	if err != nil {
		return nil, err
	}
	envName, file, audience := c.String("aws-token-env"), c.String("aws-token-file"), c.String("aws-audience")
	var token, mint oidctoken.Source
	switch {
	case audience != "" && (envName != "" || file != ""), envName != "" && file != "":
		return nil, failure.New(failure.Usage, "--aws-token-env, --aws-token-file and --aws-audience are alternatives: give one")
	case audience != "":
		token = oidctoken.MintSource{Audience: audience, Run: s.deps.aws.runner}
		mint = token
	case file != "":
		token = oidctoken.FileSource{Path: file}
	default:
		if envName != "" && !validEnvName(envName) {
			return nil, failure.New(failure.Usage, "--aws-token-env %q: want an environment variable name", envName)
		}
		token = oidctoken.EnvSource{Getenv: s.getenv, Name: envName}
	}
	if mint == nil && s.deps.aws.canMint(s) {
		mint = refreshSource(c.Context, s, token)
	}
	stsEndpoint := c.String("aws-sts-endpoint")
	if stsEndpoint != "" {
		// Checked now, so a bad endpoint fails before any registry work.
		if _, err := awsrole.ResolveEndpoint("us-east-1", stsEndpoint, false); err != nil {
			return nil, failure.New(failure.Usage, "--aws-sts-endpoint: %v", err)
		}
	}
	session := defaultSessionName(s, s.getenv("SHIPGATE_PIPELINE_NUMBER"))
	for _, host := range sortedKeys(roles) {
		s.progress("registry %s: role %s", host, roles[host])
	}
	return ecrauth.New(ecrauth.Options{
		Roles: roles,
		Assume: func(ctx context.Context, role, region string) (awsrole.Credentials, error) {
			endpoint, err := awsrole.ResolveEndpoint(region, stsEndpoint, false)
			if err != nil {
				return awsrole.Credentials{}, err
			}
			res, err := awsrole.Assume(ctx, awsrole.Options{
				RoleARN: role, Region: region, SessionName: session, Endpoint: endpoint,
				Token: token, Mint: mint, Retry: s.deps.aws.retry, Now: s.deps.aws.now,
				HTTPClient: s.deps.aws.httpClient, Progress: s.progress,
			})
			if err != nil {
				return awsrole.Credentials{}, err
			}
			return res.Credentials, nil
		},
		Endpoint:   s.deps.aws.ecrEndpoint,
		HTTPClient: s.deps.aws.httpClient,
		Progress:   s.progress,
	}), nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// awsRegistryAuth: ECR registries authenticate with roles assumed from the job's OIDC token
// (--registry-role).
var awsRegistryAuth = registryAuthProvider{flags: awsRegistryFlags, keychain: awsRegistryKeychain}
