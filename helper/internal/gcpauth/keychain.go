package gcpauth

import (
	"context"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"golang.org/x/oauth2"
)

// IsGoogleRegistry reports whether host is Artifact Registry (REGION-docker.pkg.dev) or
// Container Registry (gcr.io and its regional hosts).
func IsGoogleRegistry(host string) bool {
	host = strings.ToLower(host)
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	return strings.HasSuffix(host, "-docker.pkg.dev") || host == "gcr.io" || strings.HasSuffix(host, ".gcr.io")
}

// Keychain authenticates to Google registries with access tokens from an external_account file,
// in-process: the registry gets "oauth2accesstoken" and a token, as with gcloud's credential
// helper. Other registries resolve to anonymous, so a multi-keychain moves on to the next.
type Keychain struct {
	Options AccessOptions

	once sync.Once
	ts   oauth2.TokenSource
	err  error
}

// Resolve implements authn.Keychain.
func (k *Keychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if !IsGoogleRegistry(r.RegistryStr()) {
		return authn.Anonymous, nil
	}
	return &tokenAuthenticator{k: k}, nil
}

func (k *Keychain) token(ctx context.Context) (AccessToken, error) {
	k.once.Do(func() {
		if k.Options.ExecutablesAllowed != "1" {
			if cmd, _ := executableCommand(k.Options.CredentialsFile); cmd != "" {
				k.err = executablesNotAllowed()
				return
			}
		}
		// The token source outlives this call: it refreshes for the whole command.
		k.ts, k.err = TokenSource(context.Background(), k.Options)
	})
	if k.err != nil {
		return AccessToken{}, k.err
	}
	return FetchToken(ctx, k.ts, k.Options.CredentialsFile, k.Options.Retry)
}

type tokenAuthenticator struct{ k *Keychain }

// Authorization implements authn.Authenticator.
func (a *tokenAuthenticator) Authorization() (*authn.AuthConfig, error) {
	tok, err := a.k.token(context.Background())
	if err != nil {
		return nil, err
	}
	return &authn.AuthConfig{Username: "oauth2accesstoken", Password: tok.Token}, nil
}
