package app

import (
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/shipgate/shipgate/helper/internal/awsrole"
	"github.com/shipgate/shipgate/helper/internal/exportenv"
	"github.com/shipgate/shipgate/helper/internal/failure"
)

func awsAssumeRoleCommand(s *streams) *cli.Command {
	return &cli.Command{
		Name:  "assume-role",
		Usage: "exchange the job's OIDC token for AWS credentials and hand them to later steps",
		Description: "--write env (default) appends export lines for AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,\n" +
			"AWS_SESSION_TOKEN and AWS_REGION to --export-to (the orb passes $BASH_ENV) and unsets AWS_PROFILE;\n" +
			"--write profile stores them as --profile in the AWS shared files (0600, atomic);\n" +
			"--write json prints them in the credential_process format on stdout.",
		Flags: append(exchangeFlags(),
			&cli.StringFlag{Name: "write", Value: "env", Usage: "where the credentials go: env, profile or json"},
			&cli.StringFlag{Name: "profile", Value: "default", Usage: "profile name for --write profile"},
			exportToFlag(),
			outputFlag(),
		),
		Action: func(c *cli.Context) error {
			format, err := outputFormat(c)
			if err != nil {
				return err
			}
			// The required flag first: a bare `aws assume-role` names it, not an option's detail.
			if err := requireFlags(c, [2]string{"role-arn", "the IAM role ARN to assume"}); err != nil {
				return err
			}
			write, exportTo, profile := c.String("write"), c.String("export-to"), c.String("profile")
			var files awsrole.ProfileFiles
			switch write {
			case "env":
				if exportTo == "" {
					return failure.New(failure.Usage, "--write env needs --export-to FILE (the orb passes $BASH_ENV)")
				}
			case "profile":
				if files, err = profileFiles(s); err != nil {
					return err
				}
			case "json":
				if exportTo != "" {
					return failure.New(failure.Usage, "--export-to does not apply to --write json, which prints the credentials on stdout")
				}
			default:
				return failure.New(failure.Usage, "--write %q: want env, profile or json", write)
			}
			opts, err := exchangeOptions(c, s)
			if err != nil {
				return err
			}
			res, err := awsrole.Assume(c.Context, opts)
			if err != nil {
				return err
			}
			summary := awsSummary{
				RoleARN: res.RoleARN, AssumedRoleARN: res.AssumedRoleARN, Account: res.Account, Region: res.Region,
				SessionName: opts.SessionName, Expiration: res.Credentials.Expiration.UTC().Format(time.RFC3339),
				Subject: res.Claims.Subject, Audience: res.Claims.Audience, TokenSource: res.TokenSource, Write: write,
			}
			switch write {
			case "json":
				data, err := awsrole.CredentialProcessJSON(res.Credentials)
				if err != nil {
					return err
				}
				s.progress("%s", strings.TrimSpace(summary.text()))
				_, err = s.stdout.Write(data)
				return err
			case "env":
				lines, err := awsrole.EnvLines(res.Credentials, res.Region)
				if err != nil {
					return err
				}
				if err := exportenv.AppendLines(exportTo, lines); err != nil {
					return err
				}
				summary.Exported, summary.ExportTo = awsrole.EnvNames, exportTo
				if key := s.getenv("AWS_ACCESS_KEY_ID"); len(key) >= 4 && key[:4] == "AKIA" {
					s.progress("note: this job's environment holds a long-term AWS key (AKIA…): the exported session replaces it in later steps")
				}
				s.progress("exported %d AWS variables to %s; unset %v", len(awsrole.EnvNames), exportTo, awsrole.ConflictingVariables)
			case "profile":
				if err := awsrole.WriteProfile(files, profile, res.Credentials, res.Region); err != nil {
					return err
				}
				summary.Profile = profile
				s.progress("wrote profile %q to %s and %s", profile, files.Credentials, files.Config)
				if exportTo != "" {
					lines, err := awsrole.ProfileEnvLines(profile)
					if err != nil {
						return err
					}
					if err := exportenv.AppendLines(exportTo, lines); err != nil {
						return err
					}
					summary.Exported, summary.ExportTo = []string{"AWS_PROFILE"}, exportTo
				}
			}
			return s.printResult(format, summary, summary.text)
		},
	}
}

// profileFiles are the AWS shared files, as the AWS CLI finds them.
func profileFiles(s *streams) (awsrole.ProfileFiles, error) {
	files := awsrole.ProfileFiles{Credentials: s.getenv("AWS_SHARED_CREDENTIALS_FILE"), Config: s.getenv("AWS_CONFIG_FILE")}
	home := s.getenv("HOME")
	if home == "" && (files.Credentials == "" || files.Config == "") {
		return files, failure.New(failure.Usage, "--write profile: $HOME is not set (or set $AWS_SHARED_CREDENTIALS_FILE and $AWS_CONFIG_FILE)")
	}
	if files.Credentials == "" {
		files.Credentials = filepath.Join(home, ".aws", "credentials")
	}
	if files.Config == "" {
		files.Config = filepath.Join(home, ".aws", "config")
	}
	return files, nil
}
