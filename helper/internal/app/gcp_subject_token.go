package app

import (
	"github.com/urfave/cli/v2"

	"github.com/shipgate/shipgate/helper/internal/gcpauth"
)

func gcpSubjectTokenCommand(s *streams) *cli.Command {
	return &cli.Command{
		Name:  "subject-token",
		Usage: "print a CircleCI OIDC token in Google's executable-response format (the credential source of `gcp credentials`)",
		Description: "Google's auth libraries run this command when they need a subject token. It mints a fresh token\n" +
			"with `circleci run oidc get` where available, else hands out the injected one while it is valid.\n" +
			"Stdout carries the response (the token, on success; code and message, on failure); the exit code\n" +
			"is non-zero on failure, as Google's format requires.",
		Flags: gcpSubjectFlags(),
		Action: func(c *cli.Context) error {
			opts, err := gcpSubjectOptions(c, s)
			if err == nil {
				var subject gcpauth.Subject
				subject, err = gcpauth.SubjectToken(c.Context, opts)
				if err == nil {
					_, err = s.stdout.Write(subject.Response().JSON())
					return err
				}
			}
			_, _ = s.stdout.Write(gcpauth.ErrorResponse(err).JSON())
			return err
		},
	}
}
