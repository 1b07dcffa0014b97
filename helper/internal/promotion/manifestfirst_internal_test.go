package promotion

import (
	"bytes"
	"encoding/json"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/shipgate/shipgate/helper/internal/registry"
)

func hashOf(t *testing.T, s string) v1.Hash {
	t.Helper()
	h, _, err := v1.SHA256(stringsReader(s))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestNamedMissingTrustsOnlyNamesOfTheImage: a refusal proves which blobs are missing only when
// every code is a missing reference and every digest named is one of the image's blobs.
func TestNamedMissingTrustsOnlyNamesOfTheImage(t *testing.T) {
	a, b, stranger := hashOf(t, "a"), hashOf(t, "b"), hashOf(t, "z")
	blobs := []v1.Descriptor{{Digest: a}, {Digest: b}}
	cases := []struct {
		name   string
		err    error
		proven bool
	}{
		{"names a blob", &registry.ProtocolError{Status: 400, Codes: []string{"MANIFEST_BLOB_UNKNOWN"}, Digests: []v1.Hash{a}}, true},
		{"zot's code", &registry.ProtocolError{Status: 400, Codes: []string{"BLOB_UNKNOWN"}, Digests: []v1.Hash{b}}, true},
		{"names a stranger", &registry.ProtocolError{Status: 400, Codes: []string{"MANIFEST_BLOB_UNKNOWN"}, Digests: []v1.Hash{a, stranger}}, false},
		{"names nothing", &registry.ProtocolError{Status: 400, Codes: []string{"MANIFEST_BLOB_UNKNOWN"}}, false},
		{"another code beside", &registry.ProtocolError{Status: 400, Codes: []string{"MANIFEST_BLOB_UNKNOWN", "MANIFEST_INVALID"}, Digests: []v1.Hash{a}}, false},
		{"Quay's MANIFEST_INVALID", &registry.ProtocolError{Status: 400, Codes: []string{"MANIFEST_INVALID"}}, false},
		{"not a registry answer", errString("connection reset"), false},
	}
	for _, c := range cases {
		missing, ok := namedMissing(c.err, blobs)
		if ok != c.proven {
			t.Errorf("%s: proven %v, want %v", c.name, ok, c.proven)
		}
		if ok && len(missing) == 0 {
			t.Errorf("%s: proven with nothing missing", c.name)
		}
	}
}

type errString string

func (e errString) Error() string { return string(e) }

// TestProbeManifestKeepsReferencesAndChangesDigest: the probe has the image's references, its
// media type, its annotations plus the probe's, and another digest.
func TestProbeManifestKeepsReferencesAndChangesDigest(t *testing.T) {
	body := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:` + hashOf(t, "c").Hex + `","size":1},"layers":[],"annotations":{"org.opencontainers.image.source":"x"}}`)
	img := &registry.Manifest{Bytes: body, MediaType: "application/vnd.oci.image.manifest.v1+json", Digest: hashOf(t, string(body))}
	probe, err := probeManifest(img)
	if err != nil {
		t.Fatal(err)
	}
	if probe.Digest == img.Digest || probe.MediaType != img.MediaType {
		t.Fatalf("probe %s (%s), image %s", probe.Digest, probe.MediaType, img.Digest)
	}
	if got, _, _ := v1.SHA256(bytesReader(probe.Bytes)); got != probe.Digest {
		t.Fatalf("probe digest %s does not match its bytes (%s)", probe.Digest, got)
	}
	var m v1.Manifest
	if err := json.Unmarshal(probe.Bytes, &m); err != nil {
		t.Fatal(err)
	}
	if m.Config.Digest != hashOf(t, "c") || m.Annotations["org.opencontainers.image.source"] != "x" || m.Annotations[probeAnnotation] != img.Digest.String() {
		t.Fatalf("probe lost what it must keep: %s", probe.Bytes)
	}
	if _, err := probeManifest(&registry.Manifest{Bytes: []byte(`[1]`)}); err == nil {
		t.Fatal("a manifest that is not an object made a probe")
	}
}

func stringsReader(s string) *bytes.Reader { return bytes.NewReader([]byte(s)) }
func bytesReader(b []byte) *bytes.Reader   { return bytes.NewReader(b) }

// TestNoProbeForAManifestWithASubject: a referrer's probe could be listed by the referrers API.
func TestNoProbeForAManifestWithASubject(t *testing.T) {
	body := []byte(`{"schemaVersion":2,"config":{"digest":"sha256:` + hashOf(t, "c").Hex + `","size":1},"layers":[],"subject":{"digest":"sha256:` + hashOf(t, "s").Hex + `","size":1}}`)
	if _, err := probeManifest(&registry.Manifest{Bytes: body}); err != errHasSubject {
		t.Fatalf("probe of a manifest with a subject: %v, want errHasSubject", err)
	}
}
