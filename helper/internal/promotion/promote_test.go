package promotion_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/promotion"
	"github.com/shipgate/shipgate/helper/internal/registry"
	"github.com/shipgate/shipgate/helper/internal/testpeer/countingproxy"
	"github.com/shipgate/shipgate/helper/internal/testpeer/registryserver"
	"github.com/shipgate/shipgate/helper/internal/testpeer/testimage"
)

// fixture is a real distribution registry behind a counting proxy.
type fixture struct {
	server *registryserver.Server
	proxy  *countingproxy.Proxy
	client *registry.Client
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureOn(t, registryserver.StartT(t, registryserver.Options{}))
}

func newFixtureOn(t *testing.T, server *registryserver.Server) *fixture {
	t.Helper()
	proxy, err := countingproxy.Start(server.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	return &fixture{server: server, proxy: proxy, client: registry.New(registry.Options{})}
}

func (f *fixture) repo(path string) registry.Repository {
	return registry.Repository{Registry: f.proxy.Host, Path: path}
}

func (f *fixture) promote(t *testing.T, src registry.Repository, digest v1.Hash, dsts []registry.Repository, mutate func(*promotion.Options)) (*promotion.Result, error) {
	t.Helper()
	opts := promotion.Options{Source: registry.Reference{Repository: src, Digest: digest}, Destinations: dsts, Referrers: false}
	if mutate != nil {
		mutate(&opts)
	}
	f.proxy.Reset()
	return promotion.Promote(context.Background(), f.client, opts)
}

func TestPromoteSameRegistryMountsEveryBlob(t *testing.T) {
	registryserver.ForEach(t, registryserver.Options{}, func(t *testing.T, s *registryserver.Server) {
		testPromoteSameRegistry(t, newFixtureOn(t, s))
	})
}

func testPromoteSameRegistry(t *testing.T, f *fixture) {
	digest := testimage.Image(t, f.server.Repo("staging/app:build"), 8) // 8 layers + config = 9 blobs
	res, err := f.promote(t, f.repo("staging/app"), digest, []registry.Repository{f.repo("production/app")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The destination read, the source, the probe (which names all 9 blobs), 9 mounts, the PUT.
	if got := f.proxy.Count(); got > 13 {
		t.Errorf("promotion to a new repository took %d requests, target at most 13: %s", got, f.proxy.Summary())
	}
	if bytes := f.proxy.BlobBytes(); bytes != 0 {
		t.Errorf("same-registry promotion moved %d blob bytes, want 0", bytes)
	}
	for _, b := range res.Destinations[0].Blobs {
		if b.Action != promotion.BlobMount {
			t.Errorf("blob %s: %s, want mount", b.Digest, b.Action)
		}
	}
	got, ok := testimage.Digest(t, f.server.Repo("production/app@"+digest.String()))
	if !ok || got != digest {
		t.Fatalf("independent read of the destination: %v %v", got, ok)
	}

	// Again: the destination already holds the digest.
	if _, err := f.promote(t, f.repo("staging/app"), digest, []registry.Repository{f.repo("production/app")}, nil); err != nil {
		t.Fatal(err)
	}
	if got := f.proxy.Count(); got > 2 {
		t.Errorf("re-promotion took %d requests, want at most 2: %s", got, f.proxy.Summary())
	}
}

func TestPromoteIndexStaysByteIdentical(t *testing.T) {
	registryserver.ForEach(t, registryserver.Options{}, func(t *testing.T, s *registryserver.Server) {
		testPromoteIndex(t, newFixtureOn(t, s))
	})
}

func testPromoteIndex(t *testing.T, f *fixture) {
	digest := testimage.Index(t, f.server.Repo("staging/multi:build"), 3, 8)
	_, err := f.promote(t, f.repo("staging/multi"), digest, []registry.Repository{f.repo("production/multi")}, func(o *promotion.Options) {
		o.Tags = []string{"v1"}
	})
	if err != nil {
		t.Fatal(err)
	}
	// 35 (4 GETs, 27 mounts, 4 PUTs) + the destination read + a probe per child.
	if got := f.proxy.Count(); got > 39 {
		t.Errorf("index promotion took %d requests (copy target 39): %s", got, f.proxy.Summary())
	}
	for _, ref := range []string{"production/multi@" + digest.String(), "production/multi:v1"} {
		if got, ok := testimage.Digest(t, f.server.Repo(ref)); !ok || got != digest {
			t.Errorf("%s: %v %v, want %s", ref, got, ok, digest)
		}
	}
}

func TestPromoteAcrossRegistriesStreamsEachBlobOnce(t *testing.T) {
	f := newFixture(t)
	other := registryserver.StartT(t, registryserver.Options{})
	otherProxy, err := countingproxy.Start(other.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer otherProxy.Close()
	digest := testimage.Image(t, f.server.Repo("app:build"), 8)
	dst := registry.Repository{Registry: otherProxy.Host, Path: "prod/app"}
	otherProxy.Reset()
	res, err := f.promote(t, f.repo("app"), digest, []registry.Repository{dst}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var blobBytes int64
	for _, b := range res.Destinations[0].Blobs {
		if b.Action != promotion.BlobCopy {
			t.Errorf("blob %s: %s, want copy", b.Digest, b.Action)
		}
		blobBytes += b.Size
	}
	if up := otherProxy.BlobBytes(); up != blobBytes {
		t.Errorf("destination received %d blob bytes, want each blob once (%d)", up, blobBytes)
	}
	if down := f.proxy.BlobBytes(); down != blobBytes {
		t.Errorf("source sent %d blob bytes, want each blob once (%d)", down, blobBytes)
	}
	if total := f.proxy.Count() + otherProxy.Count(); total >= 50 {
		t.Errorf("cross-registry promotion took %d requests, crane takes 50", total)
	}
	if got, ok := testimage.Digest(t, other.Repo("prod/app@"+digest.String())); !ok || got != digest {
		t.Fatal("destination does not hold the digest")
	}
}

func TestDryRunWritesNothing(t *testing.T) {
	f := newFixture(t)
	digest := testimage.Image(t, f.server.Repo("app:build"), 2)
	res, err := f.promote(t, f.repo("app"), digest, []registry.Repository{f.repo("prod/app")}, func(o *promotion.Options) {
		o.DryRun = true
		o.Tags = []string{"v1"}
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range f.proxy.Requests() {
		if r.Method != "GET" && r.Method != "HEAD" {
			t.Errorf("dry run sent %s %s", r.Method, r.Path)
		}
	}
	if len(res.Destinations[0].Blobs) != 3 {
		t.Errorf("plan lists %d blobs, want 3", len(res.Destinations[0].Blobs))
	}
	if _, ok := testimage.Digest(t, f.server.Repo("prod/app@"+digest.String())); ok {
		t.Fatal("dry run wrote the image")
	}
}

func TestPromoteUnknownDigestIsNotFound(t *testing.T) {
	f := newFixture(t)
	testimage.Image(t, f.server.Repo("app:build"), 1)
	missing, _ := v1.NewHash("sha256:" + strings.Repeat("ab", 32))
	_, err := f.promote(t, f.repo("app"), missing, []registry.Repository{f.repo("prod/app")}, nil)
	if failure.KindOf(err) != failure.NotFound {
		t.Fatalf("unknown digest: %v (kind %v), want not found", err, failure.KindOf(err))
	}
}

func TestPromoteCopiesCosignStyleReferrers(t *testing.T) {
	f := newFixture(t)
	digest := testimage.Image(t, f.server.Repo("app:build"), 2)
	sig := testimage.Image(t, f.server.Repo("app:"+registry.FallbackTag(digest)+".sig"), 1)
	res, err := f.promote(t, f.repo("app"), digest, []registry.Repository{f.repo("prod/app")}, func(o *promotion.Options) {
		o.Referrers = true
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Destinations[0].Referrers; len(got) != 1 {
		t.Fatalf("referrers copied: %v, want the .sig tag", got)
	}
	if got, ok := testimage.Digest(t, f.server.Repo("prod/app:"+registry.FallbackTag(digest)+".sig")); !ok || got != sig {
		t.Fatalf("signature tag at destination: %v %v", got, ok)
	}
}

// An index already at the destination whose children were expired (an "untagged" lifecycle
// rule) is completed before it is tagged: a tag never points at an incomplete image.
func TestPromoteCompletesAnIndexWhoseChildrenWereExpired(t *testing.T) {
	f := newFixture(t)
	digest := testimage.Index(t, f.server.Repo("staging/multi:build"), 2, 1)
	dst := f.repo("production/multi")
	if _, err := f.promote(t, f.repo("staging/multi"), digest, []registry.Repository{dst}, nil); err != nil {
		t.Fatal(err)
	}
	// Expire one child at the destination.
	m, err := f.client.GetManifest(context.Background(), registry.Reference{Repository: dst, Digest: digest})
	if err != nil {
		t.Fatal(err)
	}
	children, _ := m.Children()
	req, _ := http.NewRequest(http.MethodDelete, f.server.URL+"/v2/production/multi/manifests/"+children[0].Digest.String(), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("deleting a child: %v %v", err, resp)
	}
	resp.Body.Close()
	if _, err := f.promote(t, f.repo("staging/multi"), digest, []registry.Repository{dst}, func(o *promotion.Options) {
		o.Tags = []string{"v1"}
	}); err != nil {
		t.Fatal(err)
	}
	if _, ok := testimage.Digest(t, f.server.Repo("production/multi@"+children[0].Digest.String())); !ok {
		t.Fatal("the expired child was not copied back before tagging")
	}
}
