package app

import (
	"fmt"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/urfave/cli/v2"

	"github.com/shipgate/shipgate/helper/internal/ledger"
	"github.com/shipgate/shipgate/helper/internal/registry"
)

// registryAuthProvider adds credentials for some registries (ECR through an assumed role,
// Artifact Registry through workload identity) in front of the Docker config keychain.
type registryAuthProvider struct {
	flags    func() []cli.Flag
	keychain func(c *cli.Context, s *streams) (authn.Keychain, error)
}

// registryAuthProviders is filled by the cloud files of this package.
var registryAuthProviders []registryAuthProvider

// registryFlags are the flags every command that talks to a registry shares.
func registryFlags() []cli.Flag {
	flags := []cli.Flag{
		&cli.BoolFlag{Name: "insecure", Usage: "allow plain HTTP to non-loopback registries (loopback registries always use HTTP)"},
	}
	for _, p := range registryAuthProviders {
		flags = append(flags, p.flags()...)
	}
	return flags
}

// newRegistryClient builds the registry client from the shared flags: cloud keychains first,
// then the Docker config and its credential helpers.
func newRegistryClient(c *cli.Context, s *streams) (*registry.Client, error) {
	keychains := []authn.Keychain{}
	for _, p := range registryAuthProviders {
		k, err := p.keychain(c, s)
		if err != nil {
			return nil, err
		}
		if k != nil {
			keychains = append(keychains, k)
		}
	}
	keychains = append(keychains, authn.DefaultKeychain)
	return registry.New(registry.Options{
		Keychain:  authn.NewMultiKeychain(keychains...),
		Insecure:  c.Bool("insecure"),
		Log:       s.stderr,
		UserAgent: "shipgate/" + Version,
	}), nil
}

// newLedger opens the ledger of repo with the command's registry client.
func newLedger(c *cli.Context, s *streams, repo registry.Repository) (*ledger.Ledger, error) {
	client, err := newRegistryClient(c, s)
	if err != nil {
		return nil, err
	}
	l := ledger.New(client, repo)
	l.Log = s.stderr
	return l, nil
}

// withFlags concatenates flag lists.
func withFlags(lists ...[]cli.Flag) []cli.Flag {
	var out []cli.Flag
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

func short(digest fmt.Stringer) string {
	s := digest.String()
	if len(s) > 19 {
		return s[:19]
	}
	return s
}
