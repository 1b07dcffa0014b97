package promotion_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/promotion"
	"github.com/shipgate/shipgate/helper/internal/registry"
	"github.com/shipgate/shipgate/helper/internal/testpeer/registryserver"
	"github.com/shipgate/shipgate/helper/internal/testpeer/testimage"
)

const (
	sbomType   = "application/spdx+json"
	recordType = "application/vnd.shipgate.ledger.record.v1+json"
)

// artifact is an OCI 1.1 artifact manifest as oras and cosign (oci-1-1 mode) push them: the
// type in the manifest's artifactType, the empty config, one layer, a subject.
type artifact struct {
	raw []byte
}

func (a artifact) RawManifest() ([]byte, error)        { return a.raw, nil }
func (a artifact) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

// pushArtifact pushes an artifact of artifactType referring to subject into repo with
// go-containerregistry's writer, which itself maintains the referrers tag schema where the
// registry has no referrers API (remote/write.go commitSubjectReferrers): an independent
// writer of the same index shipgate merges into.
func pushArtifact(t *testing.T, repo string, subject v1.Descriptor, artifactType, content string) v1.Hash {
	t.Helper()
	r, err := name.NewRepository(repo, name.WeakValidation)
	if err != nil {
		t.Fatal(err)
	}
	layer := static.NewLayer([]byte(content), types.MediaType(artifactType))
	emptyConfig := static.NewLayer([]byte("{}"), "application/vnd.oci.empty.v1+json")
	for _, l := range []v1.Layer{layer, emptyConfig} {
		if err := remote.WriteLayer(r, l); err != nil {
			t.Fatal(err)
		}
	}
	ld, _ := layer.Digest()
	cd, _ := emptyConfig.Digest()
	manifest := map[string]any{
		"schemaVersion": 2, "mediaType": types.OCIManifestSchema1, "artifactType": artifactType,
		"config":      v1.Descriptor{MediaType: "application/vnd.oci.empty.v1+json", Digest: cd, Size: 2},
		"layers":      []v1.Descriptor{{MediaType: types.MediaType(artifactType), Digest: ld, Size: int64(len(content))}},
		"subject":     subject,
		"annotations": map[string]string{"org.opencontainers.image.created": "2026-12-04T00:00:00Z"},
	}
	raw, _ := json.Marshal(manifest)
	digest, _, _ := v1.SHA256(bytes.NewReader(raw))
	if err := remote.Put(r.Digest(digest.String()), artifact{raw}); err != nil {
		t.Fatalf("pushing an artifact to %s: %v", repo, err)
	}
	return digest
}

func subjectOf(t *testing.T, ref string) v1.Descriptor {
	t.Helper()
	r, _ := name.ParseReference(ref, name.WeakValidation)
	desc, err := remote.Head(r)
	if err != nil {
		t.Fatal(err)
	}
	return v1.Descriptor{MediaType: desc.MediaType, Digest: desc.Digest, Size: desc.Size}
}

// fallbackIndex reads the referrers tag schema index of digest in repo (nil when absent).
func fallbackIndex(t *testing.T, repo string, digest v1.Hash) *v1.IndexManifest {
	t.Helper()
	r, _ := name.ParseReference(repo+":"+registry.FallbackTag(digest), name.WeakValidation)
	desc, err := remote.Get(r)
	if err != nil {
		return nil
	}
	idx, err := v1.ParseIndexManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

func listed(idx *v1.IndexManifest) map[v1.Hash]string {
	out := map[v1.Hash]string{}
	if idx != nil {
		for _, d := range idx.Manifests {
			out[d.Digest] = d.ArtifactType
		}
	}
	return out
}

// At a destination without the referrers API (distribution v3, Debian's 2.8) a promoted
// referrer is added to the destination's sha256-<hex> index, next to what another tool put
// there, so that go-containerregistry's reader (as oras and cosign) finds it; shipgate's own
// records stay out; tags are listed once, a first page without `last` (referrers.go says why);
// a second run writes nothing.
func TestPromoteMaintainsTheReferrersTagSchema(t *testing.T) {
	registryserver.ForEach(t, registryserver.Options{}, func(t *testing.T, s *registryserver.Server) {
		f := newFixtureOn(t, s)
		digest := testimage.Image(t, s.Repo("app:build"), 2)
		subject := subjectOf(t, s.Repo("app@"+digest.String()))
		sbom := pushArtifact(t, s.Repo("app"), subject, sbomType, `{"spdxVersion":"SPDX-2.3"}`)
		record := pushArtifact(t, s.Repo("app"), subject, recordType, `{}`)
		other := pushArtifact(t, s.Repo("prod/app"), subject, "application/vnd.example.scan+json", `{"ok":true}`)

		res, err := f.promote(t, f.repo("app"), digest, []registry.Repository{f.repo("prod/app")}, func(o *promotion.Options) {
			o.Referrers, o.SkipArtifactTypes = true, []string{recordType}
		})
		if err != nil {
			t.Fatal(err)
		}
		tagPages := 0
		for _, r := range f.proxy.Requests() {
			if r.Kind == "tags" && r.Path != "/v2/app/tags/list?n=1000" {
				t.Errorf("tags were listed other than by discovery's one first page (%s %s): registries disagree on `last`", r.Method, r.Path)
			}
			if r.Kind == "tags" {
				tagPages++
			}
		}
		if tagPages != 1 {
			t.Errorf("%d tag listings of the source, want discovery's one", tagPages)
		}
		if got := res.Destinations[0].ReferrersIndex; got != registry.FallbackTag(digest) {
			t.Errorf("result names index %q, want %q", got, registry.FallbackTag(digest))
		}
		got := listed(fallbackIndex(t, s.Repo("prod/app"), digest))
		if got[sbom] != sbomType {
			t.Errorf("the SBOM is not in the destination's index with its artifactType: %v", got)
		}
		if _, ok := got[other]; !ok {
			t.Errorf("another tool's referrer was dropped from the index: %v", got)
		}
		if _, ok := got[record]; ok {
			t.Errorf("a ledger record was added to the index: %v", got)
		}
		// An independent reader of the tag schema: go-containerregistry's remote.Referrers.
		idx, err := remote.Referrers(mustDigest(t, s.Repo("prod/app@"+digest.String())), remote.WithFilter("artifactType", sbomType))
		if err != nil {
			t.Fatal(err)
		}
		if m, _ := idx.IndexManifest(); len(m.Manifests) != 1 || m.Manifests[0].Digest != sbom {
			t.Errorf("go-containerregistry finds %+v at the destination, want the SBOM", m)
		}

		// Again: everything is there; nothing is written, no index is reported.
		again, err := f.promote(t, f.repo("app"), digest, []registry.Repository{f.repo("prod/app")}, func(o *promotion.Options) {
			o.Referrers, o.SkipArtifactTypes = true, []string{recordType}
		})
		if err != nil {
			t.Fatal(err)
		}
		if again.Destinations[0].ReferrersIndex != "" {
			t.Errorf("a re-run reports writing %s", again.Destinations[0].ReferrersIndex)
		}
		for _, r := range f.proxy.Requests() {
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				t.Errorf("second promotion wrote: %s %s", r.Method, r.Path)
			}
		}
	})
}

func mustDigest(t *testing.T, ref string) name.Digest {
	t.Helper()
	d, err := name.NewDigest(ref, name.WeakValidation)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// racingProxy forwards to a registry and, after each of the first `races` PUTs of a referrers
// index tag, replaces that index with a competitor's (as a concurrent writer that read the index
// before shipgate wrote it), so that shipgate's read-back finds its entry gone.
type racingProxy struct {
	Host       string
	races      atomic.Int32
	indexPuts  atomic.Int32
	competitor func() []byte
}

var indexTag = regexp.MustCompile(`/manifests/sha256-[0-9a-f]{64}$`)

func startRacingProxy(t *testing.T, target string, races int32, competitor func() []byte) *racingProxy {
	t.Helper()
	u, _ := url.Parse(target)
	rp := &racingProxy{competitor: competitor}
	rp.races.Store(races)
	forward := httputil.NewSingleHostReverseProxy(u)
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rp.Host = listener.Addr().String()
	server := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		forward.ServeHTTP(w, r)
		if r.Method == http.MethodPut && indexTag.MatchString(r.URL.Path) {
			rp.indexPuts.Add(1)
			if rp.races.Add(-1) >= 0 {
				req, _ := http.NewRequest(http.MethodPut, target+r.URL.Path, bytes.NewReader(rp.competitor()))
				req.Header.Set("Content-Type", string(types.OCIImageIndex))
				resp, err := http.DefaultClient.Do(req)
				if err != nil || resp.StatusCode != http.StatusCreated {
					t.Errorf("competing write: %v %v", err, resp)
				}
				if resp != nil {
					resp.Body.Close()
				}
			}
		}
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = server.Serve(listener) }()
	t.Cleanup(func() { server.Close() })
	return rp
}

func fastIndexRetries(t *testing.T, settle time.Duration) {
	saved, savedSettle := promotion.ReferrersIndexPolicy, promotion.ReferrersIndexSettle
	promotion.ReferrersIndexPolicy.Base, promotion.ReferrersIndexPolicy.Max = time.Millisecond, 5*time.Millisecond
	promotion.ReferrersIndexSettle = settle
	t.Cleanup(func() { promotion.ReferrersIndexPolicy, promotion.ReferrersIndexSettle = saved, savedSettle })
}

// The spec gives a tag no compare-and-swap: a writer that lost its entry to a concurrent one
// finds out by reading the index back, and merges again; the competitor's entry survives.
func TestReferrersIndexMergesAgainAfterALostRace(t *testing.T) {
	fastIndexRetries(t, 10*time.Millisecond)
	s := registryserver.StartT(t, registryserver.Options{})
	digest := testimage.Image(t, s.Repo("app:build"), 1)
	subject := subjectOf(t, s.Repo("app@"+digest.String()))
	sbom := pushArtifact(t, s.Repo("app"), subject, sbomType, `{"a":1}`)
	other := pushArtifact(t, s.Repo("prod/app"), subject, "application/vnd.example.scan+json", `{"b":2}`)
	competitor := fallbackIndexBytes(t, s.Repo("prod/app"), digest)

	for _, tc := range []struct {
		races     int32
		wantErr   bool
		wantPuts  int32
		wantKinds failure.Kind
	}{
		{races: 1, wantPuts: 2},
		{races: 100, wantErr: true, wantPuts: 5, wantKinds: failure.Unavailable},
	} {
		t.Run(fmt.Sprintf("races=%d", tc.races), func(t *testing.T) {
			putIndex(t, s.URL, "prod/app", digest, competitor) // start each case from the competitor's index
			proxy := startRacingProxy(t, s.URL, tc.races, func() []byte { return competitor })
			client := registry.New(registry.Options{})
			_, err := promotion.Promote(context.Background(), client, promotion.Options{
				Source:       registry.Reference{Repository: registry.Repository{Registry: proxy.Host, Path: "app"}, Digest: digest},
				Destinations: []registry.Repository{{Registry: proxy.Host, Path: "prod/app"}},
				Referrers:    true,
			})
			if got := proxy.indexPuts.Load(); got != tc.wantPuts {
				t.Errorf("index written %d times, want %d", got, tc.wantPuts)
			}
			if tc.wantErr {
				if failure.KindOf(err) != tc.wantKinds || !strings.Contains(fmt.Sprint(err), "concurrent writers") {
					t.Fatalf("an index that never keeps shipgate's entry: %v (kind %v), want a %v failure", err, failure.KindOf(err), tc.wantKinds)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := listed(fallbackIndex(t, s.Repo("prod/app"), digest))
			if _, ok := got[sbom]; !ok {
				t.Errorf("after the lost race the index lacks shipgate's referrer: %v", got)
			}
			if _, ok := got[other]; !ok {
				t.Errorf("after the lost race the index lacks the competitor's referrer: %v", got)
			}
		})
	}
}

func fallbackIndexBytes(t *testing.T, repo string, digest v1.Hash) []byte {
	t.Helper()
	r, _ := name.ParseReference(repo+":"+registry.FallbackTag(digest), name.WeakValidation)
	desc, err := remote.Get(r)
	if err != nil {
		t.Fatal(err)
	}
	return desc.Manifest
}

func putIndex(t *testing.T, base, repo string, digest v1.Hash, data []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, base+"/v2/"+repo+"/manifests/"+registry.FallbackTag(digest), bytes.NewReader(data))
	req.Header.Set("Content-Type", string(types.OCIImageIndex))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("writing an index: %v %v", err, resp)
	}
	resp.Body.Close()
}

// A tag that is not an index under sha256-<hex> belongs to some other tool: it is refused,
// not overwritten, and the promotion does not claim success.
func TestReferrersIndexRefusesToOverwriteSomethingElse(t *testing.T) {
	f := newFixture(t)
	digest := testimage.Image(t, f.server.Repo("app:build"), 1)
	pushArtifact(t, f.server.Repo("app"), subjectOf(t, f.server.Repo("app@"+digest.String())), sbomType, `{}`)
	squatter := testimage.Image(t, f.server.Repo("prod/app:"+registry.FallbackTag(digest)), 1)
	_, err := f.promote(t, f.repo("app"), digest, []registry.Repository{f.repo("prod/app")}, func(o *promotion.Options) { o.Referrers = true })
	if failure.KindOf(err) != failure.Safety {
		t.Fatalf("promotion over a non-index fallback tag: %v (kind %v), want a safety refusal", err, failure.KindOf(err))
	}
	if got, _ := testimage.Digest(t, f.server.Repo("prod/app:"+registry.FallbackTag(digest))); got != squatter {
		t.Fatalf("the other tool's tag was overwritten: now %s", got)
	}
}

// cosignSignatures builds a cosign .sig image as cosign v2 does (pkg/oci/static,
// pkg/oci/mutate): one uncompressed layer per signature whose content is the simple-signing
// payload, the signature in the layer's annotations.
func cosignSignatures(t *testing.T, payload string, signatures ...string) v1.Image {
	t.Helper()
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	for _, sig := range signatures {
		layer := static.NewLayer([]byte(payload), "application/vnd.dev.cosign.simplesigning.v1+json")
		var err error
		img, err = mutate.Append(img, mutate.Addendum{Layer: layer, Annotations: map[string]string{
			"dev.cosignproject.cosign/signature": base64.StdEncoding.EncodeToString([]byte(sig)),
		}})
		if err != nil {
			t.Fatal(err)
		}
	}
	return img
}

func signaturesAt(t *testing.T, ref string) []string {
	t.Helper()
	r, _ := name.ParseReference(ref, name.WeakValidation)
	img, err := remote.Image(r)
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile() // fetched by digest: go-containerregistry verifies it
	if err != nil {
		t.Fatal(err)
	}
	// cosign's signature layers are uncompressed: each diff ID is the layer's digest.
	if len(cfg.RootFS.DiffIDs) != len(m.Layers) {
		t.Fatalf("%s: %d diff IDs for %d layers", ref, len(cfg.RootFS.DiffIDs), len(m.Layers))
	}
	for i, l := range m.Layers {
		if cfg.RootFS.DiffIDs[i] != l.Digest {
			t.Fatalf("%s: layer %d is %s, its diff ID %s", ref, i, l.Digest, cfg.RootFS.DiffIDs[i])
		}
	}
	var out []string
	for _, l := range m.Layers {
		sig, _ := base64.StdEncoding.DecodeString(l.Annotations["dev.cosignproject.cosign/signature"])
		out = append(out, string(sig))
	}
	return out
}

// A destination that already has a different .sig (signed there) gets the source's signatures
// merged in: both remain, each once, in an image go-containerregistry validates; a dry run
// says so and writes nothing; a second promotion adds nothing.
func TestPromoteMergesADifferentCosignSignature(t *testing.T) {
	f := newFixture(t)
	digest := testimage.Image(t, f.server.Repo("app:build"), 1)
	payload := `{"critical":{"identity":{"docker-reference":"app"},"image":{"docker-manifest-digest":"` + digest.String() + `"},"type":"cosign container image signature"},"optional":null}`
	sigTag := registry.FallbackTag(digest) + ".sig"
	testimage.Write(t, f.server.Repo("app:"+sigTag), cosignSignatures(t, payload, "source-key"))
	if _, err := f.promote(t, f.repo("app"), digest, []registry.Repository{f.repo("prod/app")}, nil); err != nil {
		t.Fatal(err)
	}
	testimage.Write(t, f.server.Repo("prod/app:"+sigTag), cosignSignatures(t, payload, "destination-key"))

	plan, err := f.promote(t, f.repo("app"), digest, []registry.Repository{f.repo("prod/app")}, func(o *promotion.Options) {
		o.Referrers, o.DryRun = true, true
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := plan.Destinations[0].MergedTags; len(got) != 1 || got[0] != sigTag {
		t.Errorf("dry run plans merges %v, want %s", got, sigTag)
	}
	for _, r := range f.proxy.Requests() {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			t.Errorf("dry run wrote: %s %s", r.Method, r.Path)
		}
	}

	for run := 0; run < 2; run++ {
		res, err := f.promote(t, f.repo("app"), digest, []registry.Repository{f.repo("prod/app")}, func(o *promotion.Options) { o.Referrers = true })
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Destinations[0].Warnings) > 0 {
			t.Errorf("warnings: %v", res.Destinations[0].Warnings)
		}
		if merged := len(res.Destinations[0].MergedTags); merged != 1-run {
			t.Errorf("run %d: %d tags merged, want %d", run, merged, 1-run)
		}
		got := signaturesAt(t, f.server.Repo("prod/app:"+sigTag))
		if strings.Join(got, ",") != "destination-key,source-key" {
			t.Fatalf("run %d: signatures at the destination %q, want the destination's then the source's", run, got)
		}
	}
}

// The referrers a promotion would copy are listed by a dry run, with the index it would write.
func TestDryRunListsReferrers(t *testing.T) {
	f := newFixture(t)
	digest := testimage.Image(t, f.server.Repo("app:build"), 1)
	sbom := pushArtifact(t, f.server.Repo("app"), subjectOf(t, f.server.Repo("app@"+digest.String())), sbomType, `{}`)
	testimage.Image(t, f.server.Repo("app:"+registry.FallbackTag(digest)+".sig"), 1)
	res, err := f.promote(t, f.repo("app"), digest, []registry.Repository{f.repo("prod/app")}, func(o *promotion.Options) {
		o.Referrers, o.DryRun = true, true
	})
	if err != nil {
		t.Fatal(err)
	}
	d := res.Destinations[0]
	if strings.Join(d.Referrers, " ") != sbom.String()+" "+registry.FallbackTag(digest)+".sig" {
		t.Errorf("dry run lists referrers %v", d.Referrers)
	}
	if d.ReferrersIndex != registry.FallbackTag(digest) {
		t.Errorf("dry run names index %q", d.ReferrersIndex)
	}
	if idx := fallbackIndex(t, f.server.Repo("prod/app"), digest); idx != nil {
		t.Fatalf("dry run wrote the index: %+v", idx)
	}
}

// What discovery costs when there is nothing to copy (docs/promotion.md, README benchmarks):
// the referrers API and one page of the source's tags, sent at once; nothing else when the page
// is the whole listing and holds none of the names. On both registries without the API here.
func TestReferrerDiscoveryCost(t *testing.T) {
	registryserver.ForEach(t, registryserver.Options{}, func(t *testing.T, s *registryserver.Server) {
		f := newFixtureOn(t, s)
		digest := testimage.Image(t, f.server.Repo("app:build"), 1)
		count := func(referrers bool) int {
			if _, err := f.promote(t, f.repo("app"), digest, []registry.Repository{f.repo("prod/app")}, func(o *promotion.Options) {
				o.Referrers = referrers
			}); err != nil {
				t.Fatal(err)
			}
			return f.proxy.Count()
		}
		count(false) // the destination now holds the digest
		if without, with := count(false), count(true); with-without != 2 {
			t.Errorf("discovery on a registry without the referrers API costs %d requests, want 2 (API, one tag page): %s", with-without, f.proxy.Summary())
		}
	})
}

// Writers that really run at once: promotions from several source repositories, each with its
// own referrer of one digest, into one destination at the same time. Every referrer ends up in
// the destination's index whatever the interleaving (each writer reads back and merges again).
func TestConcurrentPromotionsKeepEveryReferrer(t *testing.T) {
	// 1 s: far above a competitor's GET→PUT window here, even on a loaded machine (the
	// default is 0.5 s; this test must not flake under `make test`'s parallel packages).
	fastIndexRetries(t, time.Second)
	s := registryserver.StartT(t, registryserver.Options{})
	digest := testimage.Image(t, s.Repo("src0:build"), 1)
	subject := subjectOf(t, s.Repo("src0@"+digest.String()))
	const writers = 4
	want := map[v1.Hash]bool{}
	for i := 0; i < writers; i++ {
		repo := fmt.Sprintf("src%d", i)
		if i > 0 {
			testimage.Write(t, s.Repo(repo+":build"), mustImage(t, s.Repo("src0@"+digest.String())))
		}
		want[pushArtifact(t, s.Repo(repo), subject, sbomType, fmt.Sprintf(`{"writer":%d}`, i))] = true
	}
	client := registry.New(registry.Options{})
	errs := make(chan error, writers)
	for i := 0; i < writers; i++ {
		go func() {
			_, err := promotion.Promote(context.Background(), client, promotion.Options{
				Source:       registry.Reference{Repository: registry.Repository{Registry: s.Host, Path: fmt.Sprintf("src%d", i)}, Digest: digest},
				Destinations: []registry.Repository{{Registry: s.Host, Path: "prod/app"}},
				Referrers:    true,
			})
			errs <- err
		}()
	}
	for i := 0; i < writers; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	got := listed(fallbackIndex(t, s.Repo("prod/app"), digest))
	for d := range want {
		if _, ok := got[d]; !ok {
			t.Errorf("referrer %s lost from the destination's index: %v", d, got)
		}
	}
}

func mustImage(t *testing.T, ref string) v1.Image {
	t.Helper()
	r, _ := name.ParseReference(ref, name.WeakValidation)
	img, err := remote.Image(r)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// A different .sbom at the destination is one document, not a list of signatures: it is left
// alone, with a warning that names it, and the rest of the promotion completes.
func TestPromoteLeavesADifferentSBOMTagAlone(t *testing.T) {
	f := newFixture(t)
	digest := testimage.Image(t, f.server.Repo("app:build"), 1)
	sbomTag := registry.FallbackTag(digest) + ".sbom"
	testimage.Image(t, f.server.Repo("app:"+sbomTag), 1)
	theirs := testimage.Image(t, f.server.Repo("prod/app:"+sbomTag), 1)
	res, err := f.promote(t, f.repo("app"), digest, []registry.Repository{f.repo("prod/app")}, func(o *promotion.Options) { o.Referrers = true })
	if err != nil {
		t.Fatal(err)
	}
	if w := strings.Join(res.Destinations[0].Warnings, " "); !strings.Contains(w, sbomTag) {
		t.Errorf("warnings %q do not name %s", w, sbomTag)
	}
	if got, _ := testimage.Digest(t, f.server.Repo("prod/app:"+sbomTag)); got != theirs {
		t.Fatalf("the destination's .sbom was replaced: now %s", got)
	}
}

func deleteManifest(t *testing.T, base, repo string, digest v1.Hash) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodDelete, base+"/v2/"+repo+"/manifests/"+digest.String(), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("deleting %s@%s: %v %v", repo, digest, err, resp)
	}
	resp.Body.Close()
}

// Referrers deleted while an index still lists them (distribution's garbage-collect
// --delete-untagged does that: garbagecollect.go judges each manifest by its own tags) leave
// dangling entries. At the source such an entry is skipped with a warning, not a failed
// promotion; at the destination a registry that checks an index's children refuses to store
// the dangling entry again, so it is dropped, with a warning naming it, and everything that
// exists is kept.
func TestDanglingReferrersIndexEntries(t *testing.T) {
	registryserver.ForEach(t, registryserver.Options{}, func(t *testing.T, s *registryserver.Server) {
		f := newFixtureOn(t, s)
		digest := testimage.Image(t, s.Repo("app:build"), 1)
		subject := subjectOf(t, s.Repo("app@"+digest.String()))
		sbom := pushArtifact(t, s.Repo("app"), subject, sbomType, `{"kept":true}`)
		goneAtSource := pushArtifact(t, s.Repo("app"), subject, sbomType, `{"gone":"source"}`)
		deleteManifest(t, s.URL, "app", goneAtSource)
		other := pushArtifact(t, s.Repo("prod/app"), subject, "application/vnd.example.scan+json", `{"b":2}`)
		goneAtDestination := pushArtifact(t, s.Repo("prod/app"), subject, "application/vnd.example.scan+json", `{"gone":"destination"}`)
		deleteManifest(t, s.URL, "prod/app", goneAtDestination)

		res, err := f.promote(t, f.repo("app"), digest, []registry.Repository{f.repo("prod/app")}, func(o *promotion.Options) { o.Referrers = true })
		if err != nil {
			t.Fatal(err)
		}
		warnings := strings.Join(res.Destinations[0].Warnings, "\n")
		if !strings.Contains(warnings, goneAtSource.String()) {
			t.Errorf("no warning names the referrer missing at the source: %q", warnings)
		}
		got := listed(fallbackIndex(t, s.Repo("prod/app"), digest))
		if _, ok := got[sbom]; !ok {
			t.Errorf("the SBOM is not in the destination's index: %v", got)
		}
		if _, ok := got[other]; !ok {
			t.Errorf("another tool's live referrer was dropped: %v", got)
		}
		if _, ok := got[goneAtSource]; ok {
			t.Errorf("a referrer missing at the source was listed at the destination: %v", got)
		}
		if _, ok := got[goneAtDestination]; ok {
			t.Errorf("the dangling destination entry is still listed: %v", got)
		}
		if !strings.Contains(warnings, "dropped "+goneAtDestination.String()) {
			t.Errorf("no warning names the dropped destination entry: %q", warnings)
		}
	})
}

// A ledger record listed in the source's index under another artifactType (an index written by
// a tool that, like go-containerregistry's registry, reports the config's media type) is still
// recognised by its own manifest: never copied, never listed at the destination.
func TestLedgerRecordsAreRecognisedByTheirOwnManifest(t *testing.T) {
	f := newFixture(t)
	digest := testimage.Image(t, f.server.Repo("app:build"), 1)
	subject := subjectOf(t, f.server.Repo("app@"+digest.String()))
	record := pushArtifact(t, f.server.Repo("app"), subject, recordType, `{}`)
	idx := fallbackIndex(t, f.server.Repo("app"), digest)
	for i := range idx.Manifests {
		idx.Manifests[i].ArtifactType = "application/vnd.oci.empty.v1+json"
	}
	data, _ := json.Marshal(idx)
	putIndex(t, f.server.URL, "app", digest, data)

	res, err := f.promote(t, f.repo("app"), digest, []registry.Repository{f.repo("prod/app")}, func(o *promotion.Options) {
		o.Referrers, o.SkipArtifactTypes = true, []string{recordType}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Destinations[0].Referrers) != 0 {
		t.Errorf("copied %v, want nothing", res.Destinations[0].Referrers)
	}
	if _, ok := testimage.Digest(t, f.server.Repo("prod/app@"+record.String())); ok {
		t.Error("the ledger record was copied")
	}
	if idx := fallbackIndex(t, f.server.Repo("prod/app"), digest); idx != nil {
		t.Errorf("an index was written at the destination: %+v", idx)
	}
}

// Promotions from several sources, each signed with its own key, into one destination that
// already holds its own .sig, at the same time: every signature ends up in the destination's
// .sig (each merge reads back, looks again after the settle time, and merges again if lost).
func TestConcurrentSignatureMergesKeepEverySignature(t *testing.T) {
	fastIndexRetries(t, time.Second)
	s := registryserver.StartT(t, registryserver.Options{})
	digest := testimage.Image(t, s.Repo("src0:build"), 1)
	payload := `{"critical":{"image":{"docker-manifest-digest":"` + digest.String() + `"}}}`
	sigTag := registry.FallbackTag(digest) + ".sig"
	const writers = 3
	for i := 0; i < writers; i++ {
		repo := fmt.Sprintf("src%d", i)
		if i > 0 {
			testimage.Write(t, s.Repo(repo+":build"), mustImage(t, s.Repo("src0@"+digest.String())))
		}
		testimage.Write(t, s.Repo(repo+":"+sigTag), cosignSignatures(t, payload, fmt.Sprintf("key-%d", i)))
	}
	testimage.Write(t, s.Repo("prod/app:build"), mustImage(t, s.Repo("src0@"+digest.String())))
	testimage.Write(t, s.Repo("prod/app:"+sigTag), cosignSignatures(t, payload, "destination-key"))

	client := registry.New(registry.Options{})
	errs := make(chan error, writers)
	for i := 0; i < writers; i++ {
		go func() {
			_, err := promotion.Promote(context.Background(), client, promotion.Options{
				Source:       registry.Reference{Repository: registry.Repository{Registry: s.Host, Path: fmt.Sprintf("src%d", i)}, Digest: digest},
				Destinations: []registry.Repository{{Registry: s.Host, Path: "prod/app"}},
				Referrers:    true,
			})
			errs <- err
		}()
	}
	for i := 0; i < writers; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	got := strings.Join(signaturesAt(t, s.Repo("prod/app:"+sigTag)), ",")
	for _, want := range []string{"destination-key", "key-0", "key-1", "key-2"} {
		if !strings.Contains(got, want) {
			t.Errorf("signature %s lost from the destination's .sig: %s", want, got)
		}
	}
}
