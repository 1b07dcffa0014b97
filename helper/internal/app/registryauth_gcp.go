package app

import (
	"encoding/json"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/urfave/cli/v2"

	"github.com/shipgate/shipgate/helper/internal/gcpauth"
	"github.com/shipgate/shipgate/helper/internal/inputfile"
)

// gcpRegistryAuth: Artifact Registry and GCR through the workload identity credentials file,
// in-process: no docker-credential-gcr, no gcloud.
var gcpRegistryAuth = registryAuthProvider{
	flags: func() []cli.Flag {
		return []cli.Flag{
			&cli.StringFlag{Name: "gcp-credentials", Usage: "authenticate to *-docker.pkg.dev and gcr.io with this external_account `FILE` (default $GOOGLE_APPLICATION_CREDENTIALS when it is one)"},
		}
	},
	keychain: func(c *cli.Context, s *streams) (authn.Keychain, error) {
		o := gcpAccessOptions(c, s)
		o.CredentialsFile = c.String("gcp-credentials")
		if o.CredentialsFile == "" {
			// Only an external_account file from the environment is used; anything else (a
			// service account key, a user's file) is left to the Docker config's helpers.
			env := s.getenv("GOOGLE_APPLICATION_CREDENTIALS")
			if env == "" || !isExternalAccount(env) {
				return nil, nil
			}
			o.CredentialsFile = env
		}
		return &gcpauth.Keychain{Options: o}, nil
	},
}

func isExternalAccount(path string) bool {
	data, err := inputfile.Read(path, "$GOOGLE_APPLICATION_CREDENTIALS", inputfile.SmallLimit)
	if err != nil {
		return false
	}
	var f struct {
		Type string `json:"type"`
	}
	return json.Unmarshal(data, &f) == nil && f.Type == "external_account"
}
