package app

import (
	"github.com/urfave/cli/v2"

	"github.com/shipgate/shipgate/helper/internal/gcpauth"
)

func gcpProviderConfigCommand(s *streams) *cli.Command {
	return &cli.Command{
		Name:  "provider-config",
		Usage: "print the issuer, audience, attribute mapping and attribute condition a workload identity provider needs for CircleCI",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "org-id", Usage: "CircleCI organisation `ID` (required)"},
			&cli.StringSliceFlag{Name: "project-id", Usage: "CircleCI project `ID` allowed by the condition (required; repeatable)"},
			&cli.StringFlag{Name: "vcs-ref", Usage: "also require this git `REF` (e.g. refs/heads/main)"},
			&cli.StringFlag{Name: "provider", Usage: "print gcloud commands for this provider (projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER)"},
			&cli.StringFlag{Name: "service-account", Usage: "with --provider: print the binding that lets the projects impersonate this service account `EMAIL`"},
			outputFlag(),
		},
		Action: func(c *cli.Context) error {
			format, err := outputFormat(c)
			if err != nil {
				return err
			}
			if err := requireFlags(c, [2]string{"org-id", "the CircleCI organisation ID (Organization Settings > Overview)"},
				[2]string{"project-id", "a CircleCI project ID the condition allows (repeatable)"}); err != nil {
				return err
			}
			o := gcpauth.ProviderConfigOptions{OrgID: c.String("org-id"), ProjectIDs: splitIDs(c.StringSlice("project-id")), VCSRef: c.String("vcs-ref"), ServiceAccount: c.String("service-account")}
			if p := c.String("provider"); p != "" {
				provider, err := gcpauth.ParseProvider(p)
				if err != nil {
					return err
				}
				o.Provider = &provider
			}
			cfg, err := gcpauth.NewProviderConfig(o)
			if err != nil {
				return err
			}
			return s.printResult(format, cfg, cfg.Text)
		},
	}
}
