package promotion_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/shipgate/shipgate/helper/internal/promotion"
	"github.com/shipgate/shipgate/helper/internal/registry"
	"github.com/shipgate/shipgate/helper/internal/testpeer/registrykinds"
	"github.com/shipgate/shipgate/helper/internal/testpeer/registryserver"
	"github.com/shipgate/shipgate/helper/internal/testpeer/testimage"
)

// complete reads ref back with go-containerregistry, every blob included, and checks each
// against its digest: the destination holds a whole image, not a manifest without its blobs.
func complete(t *testing.T, ref string) {
	t.Helper()
	r, err := name.ParseReference(ref, name.WeakValidation, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r)
	if err != nil {
		t.Fatalf("reading %s: %v", ref, err)
	}
	wholeImage(t, ref, img)
}

// wholeImage reads the config and every layer of img and checks each against its digest.
func wholeImage(t *testing.T, ref string, img v1.Image) {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatalf("%s: %v", ref, err)
	}
	raw, err := img.RawConfigFile()
	if err != nil {
		t.Fatalf("%s: the config: %v", ref, err)
	}
	if got, _, _ := v1.SHA256(bytes.NewReader(raw)); got != m.Config.Digest {
		t.Fatalf("%s: the config is %s, want %s", ref, got, m.Config.Digest)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatalf("%s: %v", ref, err)
	}
	for _, l := range layers {
		want, _ := l.Digest()
		rc, err := l.Compressed()
		if err != nil {
			t.Fatalf("%s: layer %s: %v", ref, want, err)
		}
		got, _, err := v1.SHA256(rc)
		rc.Close()
		if err != nil || got != want {
			t.Fatalf("%s: layer %s read as %s (%v)", ref, want, got, err)
		}
	}
}

func isProbePut(r *http.Request, body []byte) bool {
	return r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") && bytes.Contains(body, []byte(`"io.shipgate.probe"`))
}

// readBody takes the request's body and puts it back for the next handler.
func readBody(r *http.Request) []byte {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	return body
}

// TestManifestFirstLeavesEveryImageComplete: on every registry kind (distribution v3, Debian's
// 2.8, ggcr's registry, which stores an image without checking its blobs, and the doubles), a
// next build promoted into a repository holding the last one arrives whole and tagged.
func TestManifestFirstLeavesEveryImageComplete(t *testing.T) {
	registrykinds.ForEach(t, func(t *testing.T, k *registrykinds.Kind) {
		base := testimage.Image(t, k.Repo("app:build"), 8)
		next := nextBuild(t, k.Repo("app"), base, 2)
		client := registry.New(registry.Options{})
		for i, d := range []v1.Hash{base, next} {
			_, err := promotion.Promote(context.Background(), client, promotion.Options{
				Source:       registry.Reference{Repository: registry.Repository{Registry: k.Host, Path: "app"}, Digest: d},
				Destinations: []registry.Repository{{Registry: k.Host, Path: "prod"}},
				Tags:         []string{fmt.Sprintf("v%d", i+1)},
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		complete(t, k.Repo("prod:v2"))
		if got, ok := testimage.Digest(t, k.Repo("prod:v2")); !ok || got != next {
			t.Fatalf("prod:v2 = %v %v, want %s", got, ok, next)
		}
	})
}

// namingOnlyTheFirst answers a refused probe with its first error only, as a registry that
// stops at the first missing reference would: the copy must not take the names for all.
func namingOnlyTheFirst(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isProbePut(r, readBody(r)) {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		var body struct {
			Errors []json.RawMessage `json:"errors"`
		}
		if rec.Code != http.StatusBadRequest || json.Unmarshal(rec.Body.Bytes(), &body) != nil || len(body.Errors) == 0 {
			w.WriteHeader(rec.Code)
			w.Write(rec.Body.Bytes())
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"errors":[%s]}`, body.Errors[0])
	})
}

// TestProbeNamingSomeMissingBlobsStillCompletes: the probe names one of the three blobs the
// destination lacks; the real PUT is refused for the other two, every blob is then moved, and
// the write repeated: the image arrives whole.
func TestProbeNamingSomeMissingBlobsStillCompletes(t *testing.T) {
	s := registryserver.StartT(t, registryserver.Options{})
	host := double(t, s, namingOnlyTheFirst)
	base := testimage.Image(t, s.Repo("app:build"), 8)
	next := nextBuild(t, s.Repo("app"), base, 2) // a new config and 2 new layers
	client := registry.New(registry.Options{})
	for i, d := range []v1.Hash{base, next} {
		_, err := promotion.Promote(context.Background(), client, promotion.Options{
			Source:       registry.Reference{Repository: registry.Repository{Registry: host, Path: "app"}, Digest: d},
			Destinations: []registry.Repository{{Registry: host, Path: "prod"}},
			Tags:         []string{fmt.Sprintf("v%d", i+1)},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	complete(t, s.Repo("prod:v2"))
}

// notChecking stands in for a registry that stores a manifest without checking its blobs
// (the OCI distribution spec allows it; ggcr's pkg/registry does so for images): it accepts
// every probe without storing it and records the probe's DELETE. Before each real manifest
// PUT it asks the registry behind it whether every blob of that manifest is there, and
// records a manifest written ahead of its blobs.
type notChecking struct {
	backend       string
	mu            sync.Mutex
	probes        int
	deleted       []string
	writtenEarly  []string
	realManifests int
}

func (n *notChecking) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := readBody(r)
		switch {
		case isProbePut(r, body):
			sum := sha256.Sum256(body)
			n.mu.Lock()
			n.probes++
			n.mu.Unlock()
			w.Header().Set("Docker-Content-Digest", "sha256:"+hex.EncodeToString(sum[:]))
			w.WriteHeader(http.StatusCreated)
			return
		case r.Method == http.MethodDelete && strings.Contains(r.URL.Path, "/manifests/sha256:"):
			n.mu.Lock()
			n.deleted = append(n.deleted, r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:])
			n.mu.Unlock()
			w.WriteHeader(http.StatusAccepted)
			return
		case r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/"):
			n.mu.Lock()
			n.realManifests++
			n.mu.Unlock()
			if missing := n.missingBlobs(r.URL.Path, body); missing != "" {
				n.mu.Lock()
				n.writtenEarly = append(n.writtenEarly, missing)
				n.mu.Unlock()
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (n *notChecking) missingBlobs(path string, body []byte) string {
	repo := strings.TrimPrefix(path[:strings.Index(path, "/manifests/")], "/v2/")
	m, err := v1.ParseManifest(bytes.NewReader(body))
	if err != nil || m.Config.Digest.Hex == "" {
		return "" // an index: its children are manifests, checked by the registry
	}
	for _, d := range append([]v1.Descriptor{m.Config}, m.Layers...) {
		resp, err := http.Head(n.backend + "/v2/" + repo + "/blobs/" + d.Digest.String())
		if err != nil || resp.StatusCode != http.StatusOK {
			return repo + " " + d.Digest.String()
		}
		resp.Body.Close()
	}
	return ""
}

// TestProbeAcceptedProvesNothing: where the registry accepts the probe, the copy moves every
// blob before the real manifest (checked at the moment of each real PUT), removes the probe,
// and sends no second probe in the same promotion.
func TestProbeAcceptedProvesNothing(t *testing.T) {
	s := registryserver.StartT(t, registryserver.Options{})
	n := &notChecking{backend: s.URL}
	host := double(t, s, n.wrap)
	digest := testimage.Image(t, s.Repo("app:build"), 4)
	client := registry.New(registry.Options{})
	res, err := promotion.Promote(context.Background(), client, promotion.Options{
		Source:       registry.Reference{Repository: registry.Repository{Registry: host, Path: "app"}, Digest: digest},
		Destinations: []registry.Repository{{Registry: host, Path: "prod"}, {Registry: host, Path: "prod2"}},
		Tags:         []string{"v1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(n.writtenEarly) > 0 {
		t.Fatalf("a manifest was written before its blobs: %v", n.writtenEarly)
	}
	if n.probes != 2 || len(n.deleted) != 2 {
		t.Fatalf("%d probes, %d deleted; want one per destination, each removed", n.probes, len(n.deleted))
	}
	for _, b := range res.Destinations[0].Blobs {
		if b.Action != promotion.BlobMount {
			t.Errorf("blob %s: %s, want mount (the probe proved nothing)", b.Digest, b.Action)
		}
	}
	complete(t, s.Repo("prod:v1"))
	complete(t, s.Repo("prod2:v1"))
}

// refusingWithoutNames refuses every probe as Quay does a manifest whose blobs are missing:
// 400 MANIFEST_INVALID, naming nothing.
func refusingWithoutNames(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isProbePut(r, readBody(r)) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"errors":[{"code":"MANIFEST_INVALID","message":"manifest invalid","detail":{}}]}`))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// TestProbeRefusedWithoutNamesMovesEveryBlob: a refusal that names no blob proves nothing;
// every blob moves and the image arrives whole.
func TestProbeRefusedWithoutNamesMovesEveryBlob(t *testing.T) {
	s := registryserver.StartT(t, registryserver.Options{})
	host := double(t, s, refusingWithoutNames)
	digest := testimage.Index(t, s.Repo("app:build"), 2, 3)
	_, err := promotion.Promote(context.Background(), registry.New(registry.Options{}), promotion.Options{
		Source:       registry.Reference{Repository: registry.Repository{Registry: host, Path: "app"}, Digest: digest},
		Destinations: []registry.Repository{{Registry: host, Path: "prod"}},
		Tags:         []string{"v1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := testimage.Digest(t, s.Repo("prod:v1")); !ok || got != digest {
		t.Fatalf("prod:v1 = %v %v", got, ok)
	}
	r, _ := name.ParseReference(s.Repo("prod:v1"), name.Insecure)
	idx, err := remote.Index(r)
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range m.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatalf("child %s: %v", d.Digest, err)
		}
		wholeImage(t, "prod:v1 child "+d.Digest.String(), img)
	}
}

// TestDryRunSendsNoProbe: a probe is a write; a dry run plans with HEADs and writes nothing.
func TestDryRunSendsNoProbe(t *testing.T) {
	f := newFixture(t)
	base := testimage.Image(t, f.server.Repo("staging/app:build"), 4)
	if _, err := f.promote(t, f.repo("staging/app"), base, []registry.Repository{f.repo("prod/app")}, nil); err != nil {
		t.Fatal(err)
	}
	next := nextBuild(t, f.server.Repo("staging/app"), base, 1)
	res, err := f.promote(t, f.repo("staging/app"), next, []registry.Repository{f.repo("prod/app")}, func(o *promotion.Options) {
		o.DryRun = true
		o.Tags = []string{"v2"}
	})
	if err != nil {
		t.Fatal(err)
	}
	if summary := f.proxy.Summary(); strings.Contains(summary, "PUT") || strings.Contains(summary, "POST") {
		t.Fatalf("a dry run wrote: %s", summary)
	}
	present := 0
	for _, b := range res.Destinations[0].Blobs {
		if b.Action == promotion.BlobPresent {
			present++
		}
	}
	if present != 3 {
		t.Fatalf("dry run found %d blobs present, want 3 (of 5): %+v", present, res.Destinations[0].Blobs)
	}
}
