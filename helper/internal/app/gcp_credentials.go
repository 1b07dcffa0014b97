package app

import (
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/gcpauth"
	"github.com/shipgate/shipgate/helper/internal/safetext"
)

func gcpCredentialsCommand(s *streams) *cli.Command {
	return &cli.Command{
		Name:  "credentials",
		Usage: "write a GCP external_account credentials file whose credential source stays valid for the whole job",
		Description: "The file holds no secret. Its executable credential source runs `shipgate gcp subject-token`,\n" +
			"which hands Google's libraries (and gcloud) a fresh CircleCI OIDC token whenever they refresh.\n" +
			"With --export-to, GOOGLE_APPLICATION_CREDENTIALS, GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES=1 and\n" +
			"CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE are exported for later steps.",
		Flags: withFlags(gcpSubjectFlags(), []cli.Flag{
			&cli.StringFlag{Name: "provider", Usage: "workload identity provider: projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER"},
			&cli.StringFlag{Name: "project-number", Usage: "instead of --provider: the project `NUMBER` (as text; a YAML float such as 1.23456789012e+11 is normalised when exact)"},
			&cli.StringFlag{Name: "pool", Usage: "instead of --provider: the workload identity pool `ID`"},
			&cli.StringFlag{Name: "provider-id", Usage: "instead of --provider: the provider `ID`"},
			&cli.StringFlag{Name: "service-account", Usage: "impersonate this service account `EMAIL` (default: use the federated identity directly)"},
			&cli.DurationFlag{Name: "lifetime", Usage: "lifetime of impersonated access tokens, 10m to 12h (default: Google's, one hour)"},
			&cli.StringFlag{Name: "out", Usage: "write the credentials file to `FILE` (default $HOME/.config/shipgate/gcp-credentials.json)"},
			&cli.StringFlag{Name: "token-url", Usage: "STS token endpoint (default https://sts.googleapis.com/v1/token; only that host or loopback)"},
			&cli.StringFlag{Name: "iam-credentials-url", Usage: "IAM Credentials base URL (default https://iamcredentials.googleapis.com; only that host or loopback)"},
			exportToFlag(),
			outputFlag(),
		}),
		Action: func(c *cli.Context) error {
			format, err := outputFormat(c)
			if err != nil {
				return err
			}
			provider, err := gcpProvider(c)
			if err != nil {
				return err
			}
			sa := c.String("service-account")
			if sa != "" {
				if err := gcpauth.ValidateServiceAccount(sa); err != nil {
					return err
				}
			}
			out := c.String("out")
			if out == "" {
				home := s.getenv("HOME")
				if home == "" {
					return missingFlag("out", "where to write the credentials file ($HOME is not set)")
				}
				out = filepath.Join(home, ".config", "shipgate", "gcp-credentials.json")
			}
			if out, err = filepath.Abs(out); err != nil {
				return failure.Wrap(failure.Usage, err, "--out")
			}
			self, err := s.deps.gcp.executable()
			if err != nil {
				return failure.Wrap(failure.Internal, err, "finding the shipgate executable")
			}
			subjectOpts, err := gcpSubjectOptions(c, s)
			if err != nil {
				return err
			}
			// The token the credential source will present now: checked before anything is
			// written, so a too-long sub or an expired token fails here, plainly.
			subject, err := gcpauth.SubjectToken(c.Context, subjectOpts)
			if err != nil {
				return err
			}
			if subject.Note != "" {
				s.progress("note: using %s (%s)", subject.Source, subject.Note)
			}
			data, err := gcpauth.CredentialsJSON(gcpauth.CredentialsOptions{
				Provider:          provider,
				ServiceAccount:    sa,
				Lifetime:          c.Duration("lifetime"),
				Executable:        self,
				Args:              gcpauth.SubjectTokenArgs(c.String("token-env"), c.String("audience"), c.Int("subject-limit")),
				TokenURL:          c.String("token-url"),
				IAMCredentialsURL: c.String("iam-credentials-url"),
			})
			if err != nil {
				return err
			}
			if err := gcpauth.WriteCredentials(out, data); err != nil {
				return err
			}
			s.progress("wrote %s (external_account, executable credential source)", out)
			vars := gcpauth.ExecutableEnv(out)
			if err := s.exportVars(c, vars); err != nil {
				return err
			}
			summary := gcpCredentialsSummary{
				CredentialsFile: out, Provider: provider.Name(), Audience: provider.Audience(), ServiceAccount: sa,
				Subject: subject.Claims.Subject, SubjectBytes: len(subject.Claims.Subject), TokenSource: subject.Source,
			}
			return s.printResult(format, summary, func() string {
				who := "the federated identity"
				if sa != "" {
					who = sa
				}
				return safetext.Sprintf("wrote %s: %s via %s (sub %d bytes)\n", out, who, provider.Name(), summary.SubjectBytes)
			})
		},
	}
}

type gcpCredentialsSummary struct {
	CredentialsFile string `json:"credentialsFile"`
	Provider        string `json:"provider"`
	Audience        string `json:"audience"`
	ServiceAccount  string `json:"serviceAccount,omitempty"`
	Subject         string `json:"subject"`
	SubjectBytes    int    `json:"subjectBytes"`
	TokenSource     string `json:"tokenSource"`
}

// gcpProvider reads --provider, or --project-number, --pool and --provider-id.
func gcpProvider(c *cli.Context) (gcpauth.Provider, error) {
	full := c.String("provider")
	parts := c.String("project-number") != "" || c.String("pool") != "" || c.String("provider-id") != ""
	switch {
	case full != "" && parts:
		return gcpauth.Provider{}, failure.New(failure.Usage, "give --provider or --project-number/--pool/--provider-id, not both")
	case full != "":
		return gcpauth.ParseProvider(full)
	case parts:
		for _, f := range []string{"project-number", "pool", "provider-id"} {
			if c.String(f) == "" {
				return gcpauth.Provider{}, missingFlag(f, "with --project-number/--pool/--provider-id, all three")
			}
		}
		return gcpauth.NewProvider(c.String("project-number"), c.String("pool"), c.String("provider-id"))
	}
	return gcpauth.Provider{}, missingFlag("provider", "projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER")
}
