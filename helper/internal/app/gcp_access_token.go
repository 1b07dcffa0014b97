package app

import (
	"context"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/shipgate/shipgate/helper/internal/gcpauth"
)

func gcpAccessTokenCommand(s *streams) *cli.Command {
	return &cli.Command{
		Name:  "access-token",
		Usage: "print a Google access token obtained through Google's library from the credentials file",
		Description: "For tools that need a bearer token (curl, docker login -u oauth2accesstoken --password-stdin).\n" +
			"The token goes to stdout and nowhere else; transient failures are retried a bounded number of times.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "credentials", Usage: "external_account credentials `FILE` (default $GOOGLE_APPLICATION_CREDENTIALS)"},
			&cli.StringSliceFlag{Name: "scopes", Usage: "OAuth scopes (default https://www.googleapis.com/auth/cloud-platform)"},
			&cli.DurationFlag{Name: "timeout", Value: 2 * time.Minute, Usage: "deadline for the whole exchange, retries included"},
			outputFlag(),
		},
		Action: func(c *cli.Context) error {
			format, err := outputFormat(c)
			if err != nil {
				return err
			}
			ctx := c.Context
			if d := c.Duration("timeout"); d > 0 {
				var cancel func()
				ctx, cancel = context.WithTimeout(ctx, d)
				defer cancel()
			}
			tok, err := gcpauth.GetAccessToken(ctx, gcpAccessOptions(c, s))
			if err != nil {
				return err
			}
			s.progress("got a %s", tok)
			return s.printResult(format, tok, func() string { return fmt.Sprintln(tok.Token) })
		},
	}
}

// gcpAccessOptions are the options of everything that reads a credentials file.
func gcpAccessOptions(c *cli.Context, s *streams) gcpauth.AccessOptions {
	file := c.String("credentials")
	if file == "" {
		file = s.getenv("GOOGLE_APPLICATION_CREDENTIALS")
	}
	return gcpauth.AccessOptions{
		CredentialsFile:    file,
		Scopes:             splitIDs(c.StringSlice("scopes")),
		ExecutablesAllowed: s.getenv("GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES"),
		Retry:              s.deps.gcp.retry,
		HTTPClient:         s.deps.gcp.httpClient,
	}
}
