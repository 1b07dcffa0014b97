package app

import (
	"github.com/urfave/cli/v2"

	"github.com/shipgate/shipgate/helper/internal/awsrole"
)

func awsCredentialProcessCommand(s *streams) *cli.Command {
	return &cli.Command{
		Name:  "credential-process",
		Usage: "print AWS credentials in the credential_process format, from a freshly minted token",
		Description: "Use in an AWS profile, so the AWS CLI and SDKs refresh credentials by themselves in jobs that\n" +
			"outlive the one-hour token:\n" +
			"  [profile deploy]\n" +
			"  credential_process = shipgate aws credential-process --role-arn ARN --region REGION\n" +
			"Each call mints a new token with `circleci run oidc get` when the circleci CLI is available\n" +
			"(for --audience, or the audience of $CIRCLE_OIDC_TOKEN_V2); otherwise it reads the token as\n" +
			"assume-role does. Only the credentials go to stdout.",
		Flags: exchangeFlags(),
		Action: func(c *cli.Context) error {
			opts, err := exchangeOptions(c, s)
			if err != nil {
				return err
			}
			// A fresh token on every call: the whole point of credential_process.
			if opts.Mint != nil {
				opts.Token = opts.Mint
			}
			res, err := awsrole.Assume(c.Context, opts)
			if err != nil {
				return err
			}
			data, err := awsrole.CredentialProcessJSON(res.Credentials)
			if err != nil {
				return err
			}
			_, err = s.stdout.Write(data)
			return err
		},
	}
}
