package promotion

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/shipgate/shipgate/helper/internal/registry"
)

func fuzzHash(seed string) v1.Hash {
	sum := sha256.Sum256([]byte(seed))
	return v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", sum)}
}

func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// Whatever index another tool left under sha256-<hex>, a merge keeps every descriptor and every
// other field it had (as JSON values), adds exactly the missing ones, and yields an index that
// parses again and lists them all.
func FuzzReferrersIndexMerge(f *testing.F) {
	f.Add([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:`+fuzzHash("a").Hex+`","size":3,"artifactType":"x/y","annotations":{"k":"<&>"},"x-other":[1,2]}],"annotations":{"a":"b"}}`), "new")
	f.Add([]byte(`{"manifests":null}`), "a")
	f.Add([]byte(`{}`), "")
	f.Fuzz(func(t *testing.T, data []byte, seed string) {
		idx, err := parseReferrersIndex(data)
		if err != nil {
			return
		}
		add := []v1.Descriptor{{MediaType: types.OCIManifestSchema1, Digest: fuzzHash(seed), Size: int64(len(seed)), ArtifactType: seed,
			Annotations: map[string]string{"org.example": seed}}}
		for d := range idx.digests {
			add = append(add, v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: d, Size: 1}) // already listed
			break
		}
		missing := idx.missing(add)
		m, err := idx.with(missing)
		if err != nil {
			t.Fatalf("merging into %q: %v", data, err)
		}
		if digest, _, _ := v1.SHA256(bytes.NewReader(m.Bytes)); digest != m.Digest {
			t.Fatalf("merged index digest %s, its bytes hash to %s", m.Digest, digest)
		}
		back, err := parseReferrersIndex(m.Bytes)
		if err != nil {
			t.Fatalf("the merged index does not parse: %v\n%s", err, m.Bytes)
		}
		if len(back.entries) != len(idx.entries)+len(missing) {
			t.Fatalf("%d entries after merging %d into %d", len(back.entries), len(missing), len(idx.entries))
		}
		for i, raw := range idx.entries {
			if !sameJSON(t, raw, back.entries[i]) {
				t.Fatalf("entry %d changed: %s became %s", i, raw, back.entries[i])
			}
		}
		for _, d := range add {
			if !back.digests[d.Digest] {
				t.Fatalf("%s is not listed after the merge", d.Digest)
			}
		}
		for k, v := range idx.fields {
			if k == "manifests" || k == "schemaVersion" || k == "mediaType" {
				continue
			}
			if !sameJSON(t, v, back.fields[k]) {
				t.Fatalf("field %q changed: %s became %s", k, v, back.fields[k])
			}
		}
		if mediaTypeOf(back) != string(types.OCIImageIndex) {
			t.Fatalf("merged index has media type %q", mediaTypeOf(back))
		}
	})
}

func mediaTypeOf(idx *referrersIndex) string {
	var mt string
	_ = json.Unmarshal(idx.fields["mediaType"], &mt)
	return mt
}

// signatureFixture builds a cosign-style signature image: one layer per (payload, signature)
// pair, payloads from a small alphabet so that digests repeat with different annotations.
func signatureFixture(t *testing.T, spec string) *signatureImage {
	t.Helper()
	var layers []v1.Descriptor
	var diffIDs []string
	for i := 0; i+1 < len(spec); i += 2 {
		d := fuzzHash(string(spec[i] % 4))
		layers = append(layers, v1.Descriptor{MediaType: "application/vnd.dev.cosign.simplesigning.v1+json", Digest: d, Size: 10,
			Annotations: map[string]string{"dev.cosignproject.cosign/signature": string(spec[i+1] % 8)}})
		diffIDs = append(diffIDs, d.String())
	}
	cfg, _ := json.Marshal(map[string]any{"architecture": "", "os": "", "config": map[string]any{},
		"rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs}})
	cfgDigest, cfgSize, _ := v1.SHA256(bytes.NewReader(cfg))
	manifest, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": types.OCIManifestSchema1,
		"config": v1.Descriptor{MediaType: types.OCIConfigJSON, Digest: cfgDigest, Size: cfgSize}, "layers": layers})
	digest, _, _ := v1.SHA256(bytes.NewReader(manifest))
	s, err := parseSignatureImage(&registry.Manifest{Bytes: manifest, MediaType: types.OCIManifestSchema1, Digest: digest}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Merging the source's signatures into the destination's keeps every destination layer in
// place, holds every source signature afterwards (digest and annotations), keeps one diff ID
// per layer, and is idempotent: merging the same source again adds nothing.
func FuzzSignatureMerge(f *testing.F) {
	f.Add("aabb", "abcc")
	f.Add("", "ab")
	f.Add("abab", "abab")
	f.Fuzz(func(t *testing.T, dstSpec, srcSpec string) {
		if len(dstSpec) > 64 || len(srcSpec) > 64 {
			return
		}
		dst, src := signatureFixture(t, dstSpec), signatureFixture(t, srcSpec)
		missing := missingFrom(dst, src)
		m, cfg, err := dst.merged(src, missing)
		if err != nil {
			t.Fatal(err)
		}
		merged, err := parseSignatureImage(m, cfg)
		if err != nil {
			t.Fatalf("the merged image does not parse: %v", err)
		}
		if len(merged.layers) != len(dst.layers)+len(missing) {
			t.Fatalf("%d layers after merging %d into %d", len(merged.layers), len(missing), len(dst.layers))
		}
		for i, l := range dst.layers {
			if !reflect.DeepEqual(l, merged.layers[i]) {
				t.Fatalf("destination layer %d changed", i)
			}
		}
		if len(missingFrom(merged, src)) != 0 {
			t.Fatal("a source signature is missing after the merge")
		}
		if len(merged.diffIDs) != len(merged.layers) {
			t.Fatalf("%d diff IDs for %d layers", len(merged.diffIDs), len(merged.layers))
		}
		for i, l := range merged.layers {
			if merged.diffIDs[i] != l.Digest.String() {
				t.Fatalf("layer %d: diff ID %s, digest %s", i, merged.diffIDs[i], l.Digest)
			}
		}
		if cfgDigest, _, _ := v1.SHA256(bytes.NewReader(cfg)); cfgDigest != merged.config.Digest {
			t.Fatalf("config descriptor %s, config hashes to %s", merged.config.Digest, cfgDigest)
		}
	})
}
