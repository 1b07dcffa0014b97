package promotion_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/shipgate/shipgate/helper/internal/promotion"
	"github.com/shipgate/shipgate/helper/internal/registry"
	"github.com/shipgate/shipgate/helper/internal/testpeer/countingproxy"
	"github.com/shipgate/shipgate/helper/internal/testpeer/registrykinds"
	"github.com/shipgate/shipgate/helper/internal/testpeer/registryserver"
	"github.com/shipgate/shipgate/helper/internal/testpeer/testimage"
)

// signedSource pushes to host's repository "app" an image tagged build, cosign's
// sha256-<hex>.sig and .att beside it, and an OCI 1.1 SBOM referring to it (pushed with
// go-containerregistry's writer, which puts it in the sha256-<hex> index where the registry has
// no referrers API). It returns the image's digest and the digests discovery must find.
func signedSource(t *testing.T, host string) (v1.Hash, []string) {
	t.Helper()
	digest := testimage.Image(t, host+"/app:build", 1)
	sig := testimage.Image(t, host+"/app:"+registry.FallbackTag(digest)+".sig", 1)
	att := testimage.Image(t, host+"/app:"+registry.FallbackTag(digest)+".att", 1)
	sbom := pushArtifact(t, host+"/app", subjectOf(t, host+"/app@"+digest.String()), sbomType, `{"spdx":1}`)
	want := []string{sig.String() + " " + registry.FallbackTag(digest) + ".sig", att.String() + " " + registry.FallbackTag(digest) + ".att", sbom.String() + " "}
	sort.Strings(want)
	return digest, want
}

// discover runs discovery on host's "app" through a counting proxy and returns what it found
// (digest and tag, sorted) and the requests it sent.
func discover(t *testing.T, backendURL string, digest v1.Hash) ([]string, *countingproxy.Proxy) {
	t.Helper()
	proxy, err := countingproxy.Start(backendURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	refs, _, err := promotion.DiscoverReferrers(context.Background(), registry.New(registry.Options{}),
		registry.Repository{Registry: proxy.Host, Path: "app"}, digest, nil)
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, r := range refs {
		found = append(found, r.Descriptor.Digest.String()+" "+r.Tag)
	}
	sort.Strings(found)
	return found, proxy
}

// Discovery costs two requests, sent at once (the referrers API and one page of tags), on the
// registries without the referrers API that run here; the names the page holds are then read,
// one request each; nothing more when there is nothing to find.
func TestReferrerDiscoveryIsTwoRequests(t *testing.T) {
	registryserver.ForEach(t, registryserver.Options{}, func(t *testing.T, s *registryserver.Server) {
		t.Run("nothing to find", func(t *testing.T) {
			digest := testimage.Image(t, s.Repo("app:build"), 1)
			testimage.Image(t, s.Repo("app:other"), 1)
			found, proxy := discover(t, s.URL, digest)
			if len(found) != 0 || proxy.Count() != 2 {
				t.Fatalf("found %v in %d requests (%s), want nothing in 2", found, proxy.Count(), proxy.Summary())
			}
			if got := proxy.Summary(); got != "GET referrers 1, GET tags 1" {
				t.Errorf("requests %s, want the referrers API and one tag listing", got)
			}
		})
		t.Run("a signature, an attestation and an index", func(t *testing.T) {
			digest, want := signedSource(t, s.Host)
			found, proxy := discover(t, s.URL, digest)
			if strings.Join(found, ", ") != strings.Join(want, ", ") {
				t.Fatalf("found %v, want %v", found, want)
			}
			// 2 for discovery, then the three names the listing holds: HEAD .sig and .att, GET
			// of the index; .sbom is not probed, the listing shows it absent.
			if proxy.Count() != 5 {
				t.Errorf("%d requests (%s), want 2 + 3", proxy.Count(), proxy.Summary())
			}
		})
	})
}

// distribution answers 404 NAME_UNKNOWN to the listing of a repository that holds only untagged
// manifests (its tags folder does not exist yet): discovery reads that as "no tags", in 2
// requests. Checked on both real registries that run here, so the day one answers otherwise the
// test says so.
func TestDiscoveryReadsNameUnknownAsNoTags(t *testing.T) {
	registryserver.ForEach(t, registryserver.Options{}, func(t *testing.T, s *registryserver.Server) {
		img := testimage.Image(t, s.Repo("scratch:tmp"), 1)
		// The same image by digest only, in a repository with no tag at all.
		ref, _ := name.ParseReference(s.Repo("app@"+img.String()), name.WeakValidation)
		src, _ := name.ParseReference(s.Repo("scratch:tmp"), name.WeakValidation)
		got, err := remote.Image(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref, got); err != nil {
			t.Fatal(err)
		}
		_, err = registry.New(registry.Options{}).ListTags(context.Background(), registry.Repository{Registry: s.Host, Path: "app"}, registry.TagQuery{N: 1000})
		var pe *registry.ProtocolError
		if !errors.As(err, &pe) || pe.Status != http.StatusNotFound || !pe.HasCode("NAME_UNKNOWN") {
			t.Fatalf("listing a repository of untagged manifests: %v, want 404 NAME_UNKNOWN", err)
		}
		found, proxy := discover(t, s.URL, img)
		if len(found) != 0 || proxy.Count() != 2 {
			t.Fatalf("found %v in %d requests (%s), want nothing in 2", found, proxy.Count(), proxy.Summary())
		}
	})
}

// tagMany gives the manifest of ref n more tags (filler-NNNNNN), eight PUTs at a time.
func tagMany(t testing.TB, host, repo string, digest v1.Hash, n int) {
	t.Helper()
	r, _ := name.ParseReference(host+"/"+repo+"@"+digest.String(), name.WeakValidation)
	desc, err := remote.Get(r)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	work := make(chan int)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				req, _ := http.NewRequest(http.MethodPut, fmt.Sprintf("http://%s/v2/%s/manifests/filler-%06d", host, repo, i), bytes.NewReader(desc.Manifest))
				req.Header.Set("Content-Type", string(desc.MediaType))
				resp, err := client.Do(req)
				if err == nil {
					resp.Body.Close()
					if resp.StatusCode != http.StatusCreated {
						err = fmt.Errorf("PUT tag %d: %s", i, resp.Status)
					}
				}
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// A source of more tags than one page holds: the page is not the whole listing, so the four
// names are probed (2 + 4 requests) and everything is still found. Fails when an untrusted page
// is read as the whole listing (the names past it, "sha256-…" after "filler-…", are not on it).
func TestDiscoveryFallsBackOnARepositoryOfMoreTagsThanAPage(t *testing.T) {
	registryserver.ForEach(t, registryserver.Options{}, func(t *testing.T, s *registryserver.Server) {
		digest, want := signedSource(t, s.Host)
		tagMany(t, s.Host, "app", digest, 1000)
		found, proxy := discover(t, s.URL, digest)
		if strings.Join(found, ", ") != strings.Join(want, ", ") {
			t.Fatalf("found %v, want %v", found, want)
		}
		if proxy.Count() != 6 {
			t.Errorf("%d requests (%s), want 2 + 4 (the four names probed)", proxy.Count(), proxy.Summary())
		}
	})
}

// On every registry kind, the trustworthy listings and the untrustworthy ones (an empty body, a
// Link to another origin, a Link back to page 1, Artifact Registry's 10,000 cap), with a small
// listing and with one of more tags than a page (the doubles' fillers, past ECR's 1000-tag
// pages, Quay's 100 cap, a registry ignoring paging, unsorted pages, zot), cosign's tags and the
// sha256-<hex> index are found. A whole small listing costs 2 + the names present; anything
// else 2 + the four probes. Fails when the fallback is switched off: the names are then missing
// wherever the page is not whole.
func TestDiscoveryFindsEverythingOnEveryKind(t *testing.T) {
	check := func(t *testing.T, k *registrykinds.Kind) {
		digest, want := signedSource(t, k.Host)
		runs := []int{0}
		if k.Double != nil {
			fillers := 1500
			if k.Name == "capped-10000" {
				fillers = registrykinds.GARListingLimit + 1 // the cap hides "sha256-…" after "filler-…"
			}
			runs = append(runs, fillers)
		}
		for _, fillers := range runs {
			t.Run(fmt.Sprintf("%d more tags", fillers), func(t *testing.T) {
				if k.Double != nil {
					k.Double.Fillers = fillers
				}
				found, proxy := discover(t, k.URL(), digest)
				if strings.Join(found, ", ") != strings.Join(want, ", ") {
					t.Fatalf("found %v, want %v", found, want)
				}
				whole := fillers == 0 && k.Name != "empty-body" && k.Name != "no-tags-field"
				reads := 2 // HEAD .sig and .att
				if !whole {
					reads = 3 // the three cosign names probed
				}
				if !k.Referrers {
					reads++ // GET of the sha256-<hex> index
				}
				if proxy.Count() != 2+reads {
					t.Errorf("%d requests (%s), want 2 + %d (whole listing: %v)", proxy.Count(), proxy.Summary(), reads, whole)
				}
			})
		}
	}
	registrykinds.ForEach(t, check)
	registrykinds.ForEachUntrustworthy(t, check)
	// zot and ECR have the referrers API (FACTS.md "Registry behaviour…"): their listings in
	// front of go-containerregistry's registry with it, where only cosign's three names are
	// probed when the page is not whole.
	for _, name := range []string{"zot", "ecr"} {
		t.Run(name+"-with-referrers-api", func(t *testing.T) {
			check(t, registrykinds.StartOn(t, name, registrykinds.StartGGCR(t).URL(), true))
		})
	}
}
