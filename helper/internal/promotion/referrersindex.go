package promotion

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/shipgate/shipgate/helper/internal/backoff"
	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/registry"
)

// ReferrersIndexPolicy bounds the read-merge-write cycles on a referrers tag schema index when
// concurrent writers keep replacing it. The spec offers no compare-and-swap on a tag, so a lost
// race is detected by reading the tag back and repaired by merging again.
var ReferrersIndexPolicy = backoff.Policy{Attempts: 5, Base: 50 * time.Millisecond, Max: time.Second}

// ReferrersIndexSettle is how long a writer waits, after its read-back found its entries, before
// it reads the tag once more. A concurrent writer that read the index before this one's PUT
// writes its stale copy one round trip later; the second look catches that and merges again.
// Without compare-and-swap on a tag this narrows the window to competitors slower than the
// settle time; it cannot close it (oras, cosign and go-containerregistry do one unchecked
// read-modify-write). Only a promotion that changed the index pays it.
var ReferrersIndexSettle = 500 * time.Millisecond

// confirmed is the loop shared by the index and cosign-tag merges: read the tag, and decide from
// how many entries are missing whether it is done, must wait and look again, or must write.
type confirmed struct {
	writes  int
	settled bool
}

// next returns true when the caller is done (nothing missing, after a settled second look when
// it wrote); false with a nil error when it must write (again). It sleeps where it must.
func (c *confirmed) next(ctx context.Context, missing int, policy backoff.Policy, refused func() error) (bool, error) {
	if missing == 0 {
		if c.writes == 0 || c.settled {
			return true, nil
		}
		c.settled = true
		return false, policy.Sleep(ctx, ReferrersIndexSettle)
	}
	c.settled = false
	if c.writes > 0 {
		if c.writes >= policy.Attempts {
			return false, refused()
		}
		if err := policy.Sleep(ctx, policy.Delay(c.writes-1, 0)); err != nil {
			return false, err
		}
	}
	return false, nil
}

// ReferrerDescriptor is the descriptor the OCI distribution spec 1.1 lists for manifest m in
// a referrers response or a referrers tag schema index: media type, digest and size, the
// manifest's artifactType (or, when it has none, its config's media type), and its
// annotations. (Spec "Listing Referrers"; go-containerregistry's own registry reports the config
// media type only, which is why the manifest's bytes are the source here, not a listing.)
func ReferrerDescriptor(m *registry.Manifest) (v1.Descriptor, error) {
	var probe struct {
		ArtifactType string            `json:"artifactType"`
		Config       *v1.Descriptor    `json:"config"`
		Annotations  map[string]string `json:"annotations"`
	}
	if err := json.Unmarshal(m.Bytes, &probe); err != nil {
		return v1.Descriptor{}, failure.Wrap(failure.Safety, err, "parsing referrer %s", m.Digest)
	}
	d := m.Descriptor()
	d.ArtifactType = probe.ArtifactType
	if d.ArtifactType == "" && probe.Config != nil {
		d.ArtifactType = string(probe.Config.MediaType)
	}
	d.Annotations = probe.Annotations
	return d, nil
}

// referrersIndex is the current content of a referrers tag schema index: its other fields and
// its descriptors kept as the JSON values they were (another tool's fields survive a merge).
type referrersIndex struct {
	fields  map[string]json.RawMessage
	entries []json.RawMessage
	// entryDigests[i] is the digest of entries[i].
	entryDigests []v1.Hash
	digests      map[v1.Hash]bool
}

// readReferrersIndex reads the index tagged sha256-<hex of subject> in repo; a missing tag is
// an empty index. Anything else under that tag is refused rather than overwritten.
func readReferrersIndex(ctx context.Context, c *registry.Client, repo registry.Repository, subject v1.Hash) (*referrersIndex, error) {
	ref := registry.Reference{Repository: repo, Tag: registry.FallbackTag(subject)}
	m, err := c.GetManifest(ctx, ref)
	if failure.KindOf(err) == failure.NotFound {
		return &referrersIndex{fields: map[string]json.RawMessage{}, digests: map[v1.Hash]bool{}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the referrers index %s: %w", ref, err)
	}
	if m.MediaType != types.OCIImageIndex {
		return nil, failure.New(failure.Safety, "%s holds a %s, not the OCI image index of the referrers tag schema: shipgate does not overwrite it", ref, m.MediaType)
	}
	idx, err := parseReferrersIndex(m.Bytes)
	if err != nil {
		return nil, failure.Wrap(failure.Safety, err, "parsing the referrers index %s", ref)
	}
	return idx, nil
}

// parseReferrersIndex splits an index into its fields and its descriptors, each kept as written.
func parseReferrersIndex(data []byte) (*referrersIndex, error) {
	idx := &referrersIndex{fields: map[string]json.RawMessage{}, digests: map[v1.Hash]bool{}}
	if err := json.Unmarshal(data, &idx.fields); err != nil {
		return nil, err
	}
	if raw, ok := idx.fields["manifests"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &idx.entries); err != nil {
			return nil, err
		}
	}
	for _, raw := range idx.entries {
		var d struct {
			Digest v1.Hash `json:"digest"`
		}
		if err := json.Unmarshal(raw, &d); err != nil {
			return nil, fmt.Errorf("an entry: %w", err)
		}
		idx.digests[d.Digest] = true
		idx.entryDigests = append(idx.entryDigests, d.Digest)
	}
	return idx, nil
}

// marshal encodes v as encoding/json does but without escaping <, > and & (which it would also
// apply to the descriptors and annotations it keeps from other tools).
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// missing returns the descriptors of want that the index does not list (by digest).
func (idx *referrersIndex) missing(want []v1.Descriptor) []v1.Descriptor {
	var out []v1.Descriptor
	for _, d := range want {
		if !idx.digests[d.Digest] {
			out = append(out, d)
		}
	}
	return out
}

// with returns the index's bytes with add appended to its descriptors; every other field and
// every existing descriptor is kept as it was.
func (idx *referrersIndex) with(add []v1.Descriptor) (*registry.Manifest, error) {
	entries := append([]json.RawMessage{}, idx.entries...)
	for _, d := range add {
		raw, err := marshal(d)
		if err != nil {
			return nil, failure.Wrap(failure.Internal, err, "encoding descriptor %s", d.Digest)
		}
		entries = append(entries, raw)
	}
	fields := map[string]json.RawMessage{}
	for k, v := range idx.fields {
		fields[k] = v
	}
	fields["schemaVersion"] = json.RawMessage(`2`)
	fields["mediaType"] = json.RawMessage(`"` + string(types.OCIImageIndex) + `"`)
	manifests, err := marshal(entries)
	if err != nil {
		return nil, failure.Wrap(failure.Internal, err, "encoding the referrers index")
	}
	fields["manifests"] = manifests
	data, err := marshal(fields)
	if err != nil {
		return nil, failure.Wrap(failure.Internal, err, "encoding the referrers index")
	}
	digest, _, err := v1.SHA256(bytes.NewReader(data))
	if err != nil {
		return nil, failure.Wrap(failure.Internal, err, "hashing the referrers index")
	}
	return &registry.Manifest{Bytes: data, MediaType: types.OCIImageIndex, Digest: digest}, nil
}

// without returns the index less the entries whose digest is in gone.
func (idx *referrersIndex) without(gone map[v1.Hash]bool) *referrersIndex {
	out := &referrersIndex{fields: idx.fields, digests: map[v1.Hash]bool{}}
	for i, raw := range idx.entries {
		if d := idx.entryDigests[i]; !gone[d] {
			out.entries = append(out.entries, raw)
			out.entryDigests = append(out.entryDigests, d)
			out.digests[d] = true
		}
	}
	return out
}

// dangling returns the entries of idx whose manifests repo no longer holds.
func dangling(ctx context.Context, c *registry.Client, repo registry.Repository, idx *referrersIndex) (map[v1.Hash]bool, error) {
	gone := map[v1.Hash]bool{}
	for _, d := range idx.entryDigests {
		desc, err := c.HeadManifest(ctx, registry.Reference{Repository: repo, Digest: d})
		if err != nil {
			return nil, err
		}
		if desc == nil {
			gone[d] = true
		}
	}
	return gone, nil
}

// AddToReferrersIndex maintains the referrers tag schema of OCI distribution spec 1.1 ("Pushing
// Manifests with Subject") for a registry without the referrers API: it reads the index tagged
// sha256-<hex of subject> in repo, adds the descriptors it lacks (never removing or changing
// another tool's), writes it, and reads it back, and once more after ReferrersIndexSettle. A
// read-back that lacks one of add means a concurrent writer replaced the index in between: the
// merge is repeated, at most ReferrersIndexPolicy.Attempts writes, and then it fails rather than
// report referrers that cannot be found. An existing entry is dropped only when the registry
// refuses the index because that entry's manifest is gone (dropped names them). It returns how
// many descriptors it added.
func AddToReferrersIndex(ctx context.Context, c *registry.Client, repo registry.Repository, subject v1.Hash, add []v1.Descriptor) (added int, dropped []v1.Hash, err error) {
	policy := ReferrersIndexPolicy.WithDefaults(backoff.Policy{Attempts: 5, Base: 50 * time.Millisecond, Max: time.Second})
	tag := registry.FallbackTag(subject)
	var loop confirmed
	for {
		idx, err := readReferrersIndex(ctx, c, repo, subject)
		if err != nil {
			return added, dropped, err
		}
		missing := idx.missing(add)
		done, err := loop.next(ctx, len(missing), policy, func() error {
			// The read-back lacks entries shipgate wrote: concurrent writers keep replacing it.
			return failure.New(failure.Unavailable, "the referrers index %s:%s was replaced by concurrent writers %d times; %d referrers of %s are still missing from it",
				repo, tag, loop.writes, len(missing), subject)
		})
		if done || err != nil {
			return added, dropped, err
		}
		if len(missing) == 0 {
			continue // settled: look once more
		}
		index, err := idx.with(missing)
		if err != nil {
			return added, dropped, err
		}
		err = c.PutManifest(ctx, repo, tag, index)
		var pe *registry.ProtocolError
		if errors.As(err, &pe) && pe.HasCode("MANIFEST_BLOB_UNKNOWN") {
			// A registry that checks an index's children (distribution) refuses entries whose
			// manifests are gone (garbage-collected while the index named them). They point at
			// nothing any client could fetch: drop them, say so, and write the rest.
			gone, derr := dangling(ctx, c, repo, idx)
			if derr != nil {
				return added, dropped, derr
			}
			if len(gone) > 0 {
				for d := range gone {
					dropped = append(dropped, d)
				}
				if index, err = idx.without(gone).with(missing); err != nil {
					return added, dropped, err
				}
				err = c.PutManifest(ctx, repo, tag, index)
			}
		}
		if err != nil {
			return added, dropped, fmt.Errorf("writing the referrers index %s:%s: %w", repo, tag, err)
		}
		if loop.writes == 0 {
			added = len(missing)
		}
		loop.writes++
	}
}
