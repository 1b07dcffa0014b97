package promotion_test

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/shipgate/shipgate/helper/internal/promotion"
	"github.com/shipgate/shipgate/helper/internal/registry"
	"github.com/shipgate/shipgate/helper/internal/testpeer/countingproxy"
	"github.com/shipgate/shipgate/helper/internal/testpeer/registryserver"
	"github.com/shipgate/shipgate/helper/internal/testpeer/testimage"
)

// TestIssue15Scenarios promotes every scenario of issue 15's table, with a tag and with
// referrer discovery on (as `shipgate promote` runs by default), and holds each to the
// protocol minimum or minimum + 1 (docs/promotion.md names the extra request). Both registry
// kinds: the embedded distribution v3 and Debian's docker-registry 2.8.
func TestIssue15Scenarios(t *testing.T) {
	t.Run("anonymous", func(t *testing.T) { testIssue15Scenarios(t, false) })
	// Basic auth adds exactly one 401 per registry and command, however many requests run in
	// parallel (the first one settles authentication before others start).
	t.Run("basic auth", func(t *testing.T) { testIssue15Scenarios(t, true) })
}

type basicKeychain struct{}

func (basicKeychain) Resolve(authn.Resource) (authn.Authenticator, error) {
	return authn.FromConfig(authn.AuthConfig{Username: "ci", Password: "ci-password"}), nil
}

func testIssue15Scenarios(t *testing.T, basic bool) {
	opts := registryserver.Options{}
	var push []remote.Option
	extra := func(registries int) int { return 0 }
	if basic {
		opts.Users = map[string]string{"ci": "ci-password"}
		push = []remote.Option{remote.WithAuthFromKeychain(basicKeychain{})}
		extra = func(registries int) int { return registries }
	}
	registryserver.ForEach(t, opts, func(t *testing.T, s *registryserver.Server) {
		other := registryserver.StartT(t, opts)
		f := newFixtureOn(t, s)
		otherProxy, err := countingproxy.Start(other.URL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(otherProxy.Close)
		far := func(path string) registry.Repository {
			return registry.Repository{Registry: otherProxy.Host, Path: path}
		}
		count := func(t *testing.T, src registry.Repository, digest v1.Hash, dst registry.Repository, want int) {
			t.Helper()
			registries := 1
			if src.Registry != dst.Registry {
				registries = 2
			}
			want += extra(registries)
			// Each promotion is one command: a fresh client, nothing learnt from the last one.
			f.client = registry.New(registry.Options{Keychain: basicKeychain{}})
			otherProxy.Reset()
			_, err := f.promote(t, src, digest, []registry.Repository{dst}, func(o *promotion.Options) {
				o.Tags = []string{"v1"}
				o.Referrers = true
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := f.proxy.Count() + otherProxy.Count(); got != want {
				t.Errorf("%d requests, want %d: %s / %s", got, want, f.proxy.Summary(), otherProxy.Summary())
			}
			if got, ok := testimage.Digest(t, dst.String()+":v1", push...); !ok || got != digest {
				t.Errorf("destination tag v1: %v %v, want %s", got, ok, digest)
			}
		}
		image := testimage.Image(t, f.server.Repo("staging/app:build"), 8, push...)
		index := testimage.Index(t, f.server.Repo("staging/multi:build"), 3, 8, push...)

		// discovery is what referrer discovery costs at the source (docs/promotion.md "Referrers"):
		// 2 sent at once, the referrers API (which neither registry has) and one page of the
		// source's tags, the whole listing here, holding no cosign tag and no sha256-<hex> index.
		const discovery = 2
		// minimum 11 (GET source, 9 mounts, PUT) + the destination read (1) + the probe (1: it
		// names all 9 blobs here) + discovery.
		t.Run("image to a new repository", func(t *testing.T) { count(t, f.repo("staging/app"), image, f.repo("prod/app"), 13+discovery) })
		// minimum 2 (read, PUT tag) + discovery.
		t.Run("destination holds the digest", func(t *testing.T) { count(t, f.repo("staging/app"), image, f.repo("prod/app"), 2+discovery) })
		// minimum 5 manifest first (GET source, the probe naming the 2 missing blobs, 2 mounts,
		// PUT) + the destination read + discovery; 11 without the probe.
		t.Run("next build shares 7 of 9 blobs", func(t *testing.T) {
			next := nextBuild(t, f.server.Repo("staging/app"), image, 1, push...)
			count(t, f.repo("staging/app"), next, f.repo("prod/app"), 6+discovery)
		})
		// minimum 35 (4 GETs, 27 mounts, 4 PUTs) + the destination read + a probe per child (3)
		// + discovery.
		t.Run("index to a new repository", func(t *testing.T) { count(t, f.repo("staging/multi"), index, f.repo("prod/multi"), 39+discovery) })
		t.Run("index already in the destination", func(t *testing.T) { count(t, f.repo("staging/multi"), index, f.repo("prod/multi"), 2+discovery) })
		// minimum 2, and nothing to discover: the referrers are already in that repository.
		t.Run("add a tag to an index in its own repository", func(t *testing.T) {
			count(t, f.repo("staging/multi"), index, f.repo("staging/multi"), 2)
		})
		// minimum 29 (GET manifest, 9 × mount-or-session, GET blob, PUT blob, PUT manifest)
		// + the destination read + the probe + discovery.
		t.Run("image to another registry", func(t *testing.T) { count(t, f.repo("staging/app"), image, far("prod/app"), 31+discovery) })
		// minimum 89 (4 GETs, 27 × 3, 4 PUTs) + the destination read + 3 probes + discovery.
		t.Run("index to another registry", func(t *testing.T) { count(t, f.repo("staging/multi"), index, far("prod/multi"), 93+discovery) })
	})
}

// nextBuild pushes an image sharing all but `changed` layers with base (and a new config), as
// a next build does.
func nextBuild(t *testing.T, repo string, base v1.Hash, changed int, push ...remote.Option) v1.Hash {
	t.Helper()
	ref, err := name.ParseReference(repo+"@"+base.String(), name.WeakValidation)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(ref, push...)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	layers = layers[:len(layers)-changed]
	for i := 0; i < changed; i++ {
		l, err := random.Layer(1024, types.DockerLayer)
		if err != nil {
			t.Fatal(err)
		}
		layers = append(layers, l)
	}
	next, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	return testimage.Write(t, repo+":next", next, push...)
}
