package promotion_test

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/shipgate/shipgate/helper/internal/promotion"
	"github.com/shipgate/shipgate/helper/internal/registry"
)

// pushReferrer pushes a small artifact whose subject is digest, with the given artifact type.
func pushReferrer(t *testing.T, repo string, subject v1.Descriptor, artifactType string) v1.Hash {
	t.Helper()
	layer, err := random.Layer(64, types.OCILayer)
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.MediaType(artifactType))
	img = mutate.Subject(img, subject).(v1.Image)
	digest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(repo+"@"+digest.String(), name.WeakValidation)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	return digest
}

// The in-memory registry answers the OCI 1.1 referrers API (distribution 3.1 does not), so it
// proves referrers found through the API are copied, and shipgate's own records are not.
func TestPromoteCopiesOCIReferrersButNotLedgerRecords(t *testing.T) {
	server := httptest.NewServer(ggcrregistry.New(ggcrregistry.WithReferrersSupport(true), ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	defer server.Close()
	host := strings.TrimPrefix(server.URL, "http://")
	img, err := random.Image(128, 2)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := name.ParseReference(host+"/app:v1", name.WeakValidation)
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	digest, _ := img.Digest()
	size, _ := img.Size()
	mt, _ := img.MediaType()
	subject := v1.Descriptor{MediaType: mt, Digest: digest, Size: size}
	sbom := pushReferrer(t, host+"/app", subject, "application/spdx+json")
	record := pushReferrer(t, host+"/app", subject, "application/vnd.shipgate.ledger.record.v1+json")

	client := registry.New(registry.Options{})
	res, err := promotion.Promote(context.Background(), client, promotion.Options{
		Source:       registry.Reference{Repository: registry.Repository{Registry: host, Path: "app"}, Digest: digest},
		Destinations: []registry.Repository{{Registry: host, Path: "prod"}},
		Referrers:    true, SkipArtifactTypes: []string{"application/vnd.shipgate.ledger.record.v1+json"},
	})
	if err != nil {
		t.Fatal(err)
	}
	copied := strings.Join(res.Destinations[0].Referrers, " ")
	if !strings.Contains(copied, sbom.String()) {
		t.Fatalf("the SBOM referrer was not copied: %q", copied)
	}
	if strings.Contains(copied, record.String()) {
		t.Fatalf("a ledger record was copied: %q", copied)
	}
	index, supported, err := client.ReferrersAPI(context.Background(), registry.Repository{Registry: host, Path: "prod"}, digest)
	if err != nil || !supported || len(index.Manifests) != 1 || index.Manifests[0].Digest != sbom {
		t.Fatalf("destination referrers: %+v %v %v", index, supported, err)
	}
}
