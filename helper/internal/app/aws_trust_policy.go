package app

import (
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/shipgate/shipgate/helper/internal/awsrole"
	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/oidctoken"
	"github.com/shipgate/shipgate/helper/internal/safetext"
)

func awsTrustPolicyCommand(s *streams) *cli.Command {
	return &cli.Command{
		Name:  "trust-policy",
		Usage: "print a least-privilege IAM trust policy for CircleCI's OIDC provider, or --check a token against it",
		Description: "aud must equal the org ID; sub must match org/ORG/project/PROJECT/user/* and, with --branch or\n" +
			"--vcs-origin, the v2 form .../vcs-origin/ORIGIN/vcs-ref/refs/heads/BRANCH ($CIRCLE_OIDC_TOKEN_V2).\n" +
			"--check decodes the job's token (no signature check) and says whether its claims match, and why not\n" +
			"(exit 3 when they do not).",
		Flags: append(tokenFlags(),
			&cli.StringFlag{Name: "account-id", Usage: "AWS account ID holding the OIDC provider and the role (required)"},
			&cli.StringFlag{Name: "org-id", Usage: "CircleCI organization ID (required)"},
			&cli.StringFlag{Name: "project-id", Usage: "CircleCI project ID (required)"},
			&cli.StringFlag{Name: "branch", Usage: "allow only this branch (or full ref such as refs/tags/v1)"},
			&cli.StringFlag{Name: "vcs-origin", Usage: "allow only this repository, for example github.com/acme/app"},
			&cli.StringFlag{Name: "issuer", Usage: "OIDC issuer (default https://oidc.circleci.com/org/ORG)"},
			&cli.StringFlag{Name: "partition", Value: "aws", Usage: "AWS partition of the account"},
			&cli.BoolFlag{Name: "check", Usage: "check the job's OIDC token against the policy instead of printing it"},
			outputFlag(),
		),
		Action: func(c *cli.Context) error {
			format, err := outputFormat(c)
			if err != nil {
				return err
			}
			if err := requireFlags(c, [2]string{"account-id", "the 12-digit AWS account ID holding the OIDC provider"},
				[2]string{"org-id", "the CircleCI organization ID (Organization Settings > Overview)"},
				[2]string{"project-id", "the CircleCI project ID (Project Settings > Overview)"}); err != nil {
				return err
			}
			o := awsrole.TrustPolicyOptions{
				AccountID: c.String("account-id"), OrgID: c.String("org-id"), ProjectID: c.String("project-id"),
				Branch: c.String("branch"), VCSOrigin: c.String("vcs-origin"), Issuer: c.String("issuer"), Partition: c.String("partition"),
			}
			policy, norm, err := awsrole.BuildTrustPolicy(o)
			if err != nil {
				return err
			}
			if !c.Bool("check") {
				return s.printResult(format, policy, policy.JSON)
			}
			if c.String("token-env") != "" && c.String("token-file") != "" {
				return failure.New(failure.Usage, "--token-env and --token-file are alternatives: give one")
			}
			var src oidctoken.Source = oidctoken.EnvSource{Getenv: s.getenv, Name: c.String("token-env")}
			if f := c.String("token-file"); f != "" {
				src = oidctoken.FileSource{Path: f}
			}
			raw, err := src.Token(c.Context)
			if err != nil {
				return err
			}
			claims, err := oidctoken.Decode(raw)
			if err != nil {
				return failure.Wrap(failure.KindOf(err), err, "%s", src.Describe())
			}
			mismatches, err := awsrole.CheckToken(norm, claims)
			if err != nil {
				return err
			}
			expiry := claims.CheckExpiry(s.deps.aws.now(), 0)
			result := struct {
				Match      bool               `json:"match"`
				Expired    bool               `json:"expired"`
				Mismatches []awsrole.Mismatch `json:"mismatches"`
				Subject    string             `json:"subject"`
				Audience   []string           `json:"audience"`
				Issuer     string             `json:"issuer"`
				Pattern    string             `json:"subPattern"`
			}{len(mismatches) == 0, expiry != nil, mismatches, claims.Subject, claims.Audience, claims.Issuer, norm.SubjectPattern()}
			if result.Mismatches == nil {
				result.Mismatches = []awsrole.Mismatch{}
			}
			err = s.printResult(format, result, func() string {
				if result.Match {
					return safetext.Sprintf("the token from %s matches: sub %q is like %q, aud %q\n", src.Describe(), claims.Subject, norm.SubjectPattern(), norm.OrgID)
				}
				var b strings.Builder
				safetext.Fprintf(&b, "the token from %s does not match the policy:\n", src.Describe())
				for _, m := range mismatches {
					safetext.Fprintf(&b, "  %s: token has %q, policy needs %q\n", m.Claim, m.Got, m.Want)
				}
				return b.String()
			})
			if err != nil {
				return err
			}
			if !result.Match {
				claimsNames := make([]string, 0, len(mismatches))
				for _, m := range mismatches {
					claimsNames = append(claimsNames, m.Claim)
				}
				return failure.New(failure.Auth, "the token's %s would not satisfy the trust policy", strings.Join(claimsNames, ", "))
			}
			if expiry != nil {
				s.progress("note: the claims match, but %v", expiry)
			}
			return nil
		},
	}
}
