package tokenserver_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/shipgate/shipgate/helper/internal/promotion"
	"github.com/shipgate/shipgate/helper/internal/registry"
	"github.com/shipgate/shipgate/helper/internal/testpeer/registryserver"
	"github.com/shipgate/shipgate/helper/internal/testpeer/testimage"
	"github.com/shipgate/shipgate/helper/internal/testpeer/tokenserver"
)

type keychain struct{}

func (keychain) Resolve(authn.Resource) (authn.Authenticator, error) {
	return authn.FromConfig(authn.AuthConfig{Username: "bench", Password: "bench-password"}), nil
}

// TestBearerRegistryOneTokenPerCommand runs a real distribution registry (and Debian's 2.8)
// with auth.token behind this token server: a same-registry promotion succeeds with exactly
// one token request, which asked for pull on the source and push+pull on the destination (a
// mount is refused 401 by distribution unless the token also has pull on `from`).
func TestBearerRegistryOneTokenPerCommand(t *testing.T) {
	tokens, err := tokenserver.Start(tokenserver.Options{Users: map[string]string{"bench": "bench-password"}})
	if err != nil {
		t.Fatal(err)
	}
	defer tokens.Close()
	opts := registryserver.Options{Token: &registryserver.TokenAuth{Realm: tokens.Realm, Service: tokens.Service,
		Issuer: tokens.Issuer, RootCertBundle: tokens.CertFile}}
	registryserver.ForEach(t, opts, func(t *testing.T, s *registryserver.Server) {
		client := registry.New(registry.Options{Keychain: keychain{}})
		digest := testimage.Image(t, s.Repo("staging/app:build"), 3, remoteAuth())
		tokens.Reset()
		_, err := promotion.Promote(context.Background(), client, promotion.Options{
			Source:       registry.Reference{Repository: registry.Repository{Registry: s.Host, Path: "staging/app"}, Digest: digest},
			Destinations: []registry.Repository{{Registry: s.Host, Path: "prod/app"}},
			Tags:         []string{"v1"}, Referrers: true,
		})
		if err != nil {
			t.Fatal(err)
		}
		reqs := tokens.Requests()
		if len(reqs) != 1 {
			t.Fatalf("%d token requests, want 1: %+v", len(reqs), reqs)
		}
		scopes := strings.Join(reqs[0].Scopes, " ")
		for _, want := range []string{"repository:staging/app:pull", "repository:prod/app:push,pull"} {
			if !strings.Contains(scopes, want) {
				t.Errorf("token scopes %q lack %q", scopes, want)
			}
		}
		if got, ok := testimage.Digest(t, s.Repo("prod/app:v1"), remoteAuth()); !ok || got != digest {
			t.Fatalf("prod/app:v1 = %v %v", got, ok)
		}
	})
}

func remoteAuth() remote.Option { return remote.WithAuthFromKeychain(keychain{}) }

type anonymous struct{}

func (anonymous) Resolve(authn.Resource) (authn.Authenticator, error) { return authn.Anonymous, nil }

// TestOneCredentialsNoticePerRegistry (issue 15: the notice was printed six times in one
// promote): two anonymous bearer registries, a cross-registry promotion with a tag and
// referrer discovery; one token request and one notice per registry.
func TestOneCredentialsNoticePerRegistry(t *testing.T) {
	tokens, err := tokenserver.Start(tokenserver.Options{}) // anyone gets what they ask for
	if err != nil {
		t.Fatal(err)
	}
	defer tokens.Close()
	opts := registryserver.Options{Token: &registryserver.TokenAuth{Realm: tokens.Realm, Service: tokens.Service,
		Issuer: tokens.Issuer, RootCertBundle: tokens.CertFile}}
	src := registryserver.StartT(t, opts)
	dst := registryserver.StartT(t, opts)
	digest := testimage.Image(t, src.Repo("app:build"), 3, remote.WithAuthFromKeychain(anonymous{}))
	var log strings.Builder
	client := registry.New(registry.Options{Keychain: anonymous{}, Log: &log})
	tokens.Reset()
	_, err = promotion.Promote(context.Background(), client, promotion.Options{
		Source:       registry.Reference{Repository: registry.Repository{Registry: src.Host, Path: "app"}, Digest: digest},
		Destinations: []registry.Repository{{Registry: dst.Host, Path: "prod"}},
		Tags:         []string{"v1"}, Referrers: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{src.Host, dst.Host} {
		if n := strings.Count(log.String(), "registry "+host+" asked for credentials"); n != 1 {
			t.Errorf("%s: %d notices, want 1:\n%s", host, n, log.String())
		}
	}
	if n := len(tokens.Requests()); n != 2 {
		t.Errorf("%d token requests, want 2 (one per registry): %+v", n, tokens.Requests())
	}
}
