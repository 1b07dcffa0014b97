package promotion

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/registry"
)

// Manifest first: a destination that lacks an image manifest is asked which of its blobs it
// lacks, in one request, before any blob moves (docs/promotion.md "Manifest first"). A next
// build shares most layers with the last one, so the destination usually lacks two or three of
// nine blobs: two or three mounts instead of nine, where crane and regctl send a HEAD per blob.
//
// The question is a manifest PUT, which a registry that validates references refuses, naming
// every blob it lacks (distribution and what is built on it: 400 MANIFEST_BLOB_UNKNOWN with
// the digest as each error's detail, registry/handlers/manifests.go PutManifest and
// registry/storage/ocimanifesthandler.go verifyManifest, read in v3.1.2 and 2.8.3). The answer is
// the proof: only a refusal naming blobs of the image is used. The OCI distribution spec lets a
// registry accept a manifest whose blobs are missing ("MAY reject"), and some do (ggcr's
// pkg/registry checks only an index's children), so the PUT is never the real manifest: it is
// a probe, the image's manifest with one annotation added, whose digest no reader asks for.
// Whatever the registry does with it, the real manifest is written only after every blob is
// there, as on the path without a probe, and no tag or digest anyone deploys is half-written.

// probeAnnotation marks a probe manifest (its value: the digest of the manifest it stands for).
const probeAnnotation = "io.shipgate.probe"

// probeOutcome is what a probe proved about an image's blobs at the destination.
type probeOutcome struct {
	// proven is set when the registry refused the probe naming the blobs it lacks: the blobs
	// not named are present (the registry checked each).
	proven  bool
	missing map[v1.Hash]bool
}

// present reports whether the probe proved blob present at the destination.
func (o probeOutcome) present(blob v1.Hash) bool { return o.proven && !o.missing[blob] }

// prober sends the probes of one destination registry for one promotion. After an answer that
// proves nothing (the registry accepted the probe, or refused it without naming blobs, as Quay's
// MANIFEST_INVALID and ECR's "Layers with digests … do not exist" do), it stops asking: every
// later probe would cost a request and prove nothing either.
type prober struct {
	c            *registry.Client
	dst          registry.Repository
	inconclusive atomic.Bool
}

// ask probes img at the destination. An error is returned only for what would fail the real
// write too (authentication, an unreachable registry); any other answer falls back to moving
// every blob, as without a probe.
func (p *prober) ask(ctx context.Context, img *registry.Manifest) (probeOutcome, error) {
	if p == nil || p.inconclusive.Load() {
		return probeOutcome{}, nil
	}
	blobs, err := img.Blobs()
	if err != nil {
		return probeOutcome{}, err
	}
	probe, err := probeManifest(img)
	if errors.Is(err, errHasSubject) {
		return probeOutcome{}, nil
	}
	if err != nil {
		p.inconclusive.Store(true)
		return probeOutcome{}, nil
	}
	err = p.c.PutManifest(ctx, p.dst, probe.Digest.String(), probe)
	if err == nil {
		// Accepted: either every blob is there, or the registry does not check. Nothing is
		// proven; the probe is removed where the registry allows it (it names no image anyone
		// deploys either way).
		p.inconclusive.Store(true)
		_ = p.c.DeleteManifest(ctx, registry.Reference{Repository: p.dst, Digest: probe.Digest})
		return probeOutcome{}, nil
	}
	switch failure.KindOf(err) {
	case failure.Auth, failure.Unavailable:
		return probeOutcome{}, err
	}
	if ctx.Err() != nil {
		return probeOutcome{}, ctx.Err()
	}
	missing, ok := namedMissing(err, blobs)
	if !ok {
		p.inconclusive.Store(true)
		return probeOutcome{}, nil
	}
	return probeOutcome{proven: true, missing: missing}, nil
}

// namedMissing reads a refusal of a probe: the blobs it names as missing, when every code is a
// missing reference and every digest named is one of the image's blobs. Anything else (another
// code beside them, a digest the image does not have, no digest at all) proves nothing.
func namedMissing(err error, blobs []v1.Descriptor) (map[v1.Hash]bool, bool) {
	var pe *registry.ProtocolError
	if !errors.As(err, &pe) || len(pe.Digests) == 0 || len(pe.Codes) == 0 {
		return nil, false
	}
	for _, code := range pe.Codes {
		if code != "MANIFEST_BLOB_UNKNOWN" && code != "BLOB_UNKNOWN" {
			return nil, false
		}
	}
	ofImage := map[v1.Hash]bool{}
	for _, b := range blobs {
		ofImage[b.Digest] = true
	}
	missing := map[v1.Hash]bool{}
	for _, d := range pe.Digests {
		if !ofImage[d] {
			return nil, false
		}
		missing[d] = true
	}
	return missing, true
}

// errHasSubject: a manifest with a subject gets no probe. A registry with the referrers API
// that accepted the probe would list it among the subject's referrers until it is deleted.
var errHasSubject = errors.New("the manifest has a subject")

// probeManifest is img with the probe annotation added: the same references, another digest.
// Every other field is kept as it was (a Docker schema 2 manifest has no annotations field;
// registries read it as an unknown field, and one that refuses it proves nothing).
func probeManifest(img *registry.Manifest) (*registry.Manifest, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(img.Bytes, &fields); err != nil {
		return nil, err
	}
	if _, ok := fields["subject"]; ok {
		return nil, errHasSubject
	}
	annotations := map[string]string{}
	if raw, ok := fields["annotations"]; ok {
		if err := json.Unmarshal(raw, &annotations); err != nil {
			return nil, err
		}
		if annotations == nil {
			annotations = map[string]string{}
		}
	}
	annotations[probeAnnotation] = img.Digest.String()
	raw, err := json.Marshal(annotations)
	if err != nil {
		return nil, err
	}
	fields["annotations"] = raw
	body, err := json.Marshal(fields)
	if err != nil {
		return nil, err
	}
	digest, _, err := v1.SHA256(bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	return &registry.Manifest{Bytes: body, MediaType: img.MediaType, Digest: digest}, nil
}
