package app

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/shipgate/shipgate/helper/internal/registry"
	"github.com/shipgate/shipgate/helper/internal/testpeer/registryserver"
	"github.com/shipgate/shipgate/helper/internal/testpeer/testimage"
)

// `promote --dry-run` names the referrers it would copy and the referrers index it would write
// at a destination without the referrers API, and writes neither.
func TestPromoteDryRunListsReferrers(t *testing.T) {
	reg := registryserver.StartT(t, registryserver.Options{})
	digest := testimage.Image(t, reg.Repo("app:v1"), 1)
	sigTag := registry.FallbackTag(digest) + ".sig"
	testimage.Image(t, reg.Repo("app:"+sigTag), 1)
	// A referrer with a subject; go-containerregistry's writer lists it in the source's index.
	sbom, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	sbom = mutate.MediaType(sbom, types.OCIManifestSchema1)
	sbom = mutate.ConfigMediaType(sbom, "application/spdx+json")
	sbom = mutate.Subject(sbom, v1.Descriptor{MediaType: types.DockerManifestSchema2, Digest: digest, Size: 1}).(v1.Image)
	sbomDigest, _ := sbom.Digest()
	ref, _ := name.ParseReference(reg.Repo("app@"+sbomDigest.String()), name.WeakValidation)
	if err := remote.Write(ref, sbom); err != nil {
		t.Fatal(err)
	}

	r := runCLI(t, nil, "promote", "--dry-run", "--from", reg.Repo("app@"+digest.String()), "--to", reg.Repo("prod"))
	mustCode(t, r, 0)
	for _, want := range []string{"referrer " + sigTag, "referrer " + sbomDigest.String(), "index   " + registry.FallbackTag(digest)} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, r.stdout)
		}
	}
	if _, ok := testimage.Digest(t, reg.Repo("prod:"+sigTag)); ok {
		t.Fatal("dry run copied the signature")
	}
}

// The JSON result names what promotion did for referrers at a destination without the
// referrers API: the referrers copied and the index it added them to (stable field names).
func TestPromoteJSONNamesTheReferrersIndex(t *testing.T) {
	reg := registryserver.StartT(t, registryserver.Options{})
	digest := testimage.Image(t, reg.Repo("app:v1"), 1)
	sbom, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	sbom = mutate.MediaType(sbom, types.OCIManifestSchema1)
	sbom = mutate.ConfigMediaType(sbom, "application/spdx+json")
	sbom = mutate.Subject(sbom, v1.Descriptor{MediaType: types.DockerManifestSchema2, Digest: digest, Size: 1}).(v1.Image)
	sbomDigest, _ := sbom.Digest()
	ref, _ := name.ParseReference(reg.Repo("app@"+sbomDigest.String()), name.WeakValidation)
	if err := remote.Write(ref, sbom); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, nil, "promote", "--output", "json", "--from", reg.Repo("app@"+digest.String()), "--to", reg.Repo("prod"))
	mustCode(t, r, 0)
	var out struct {
		Destinations []struct {
			Referrers      []string `json:"referrers"`
			ReferrersIndex string   `json:"referrersIndex"`
		} `json:"destinations"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if len(out.Destinations) != 1 || strings.Join(out.Destinations[0].Referrers, " ") != sbomDigest.String() ||
		out.Destinations[0].ReferrersIndex != registry.FallbackTag(digest) {
		t.Fatalf("JSON result: %s", r.stdout)
	}
}
