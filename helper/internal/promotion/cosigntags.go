package promotion

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/shipgate/shipgate/helper/internal/backoff"
	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/registry"
)

// Mergeable reports whether a cosign tag holds an image whose layers are independent
// signatures or attestations, so that two of them can be merged into one that keeps both:
// cosign's .sig (one layer per signature, the signature in the layer's annotations) and .att
// (one DSSE envelope per layer). cosign itself adds a signature the same way: it reads the
// existing .sig image and appends a layer (cosign pkg/oci/mutate AttachSignatureToEntity,
// which skips a layer equal to one present). An .sbom is one document, not mergeable.
func Mergeable(tag string) bool {
	return strings.HasSuffix(tag, ".sig") || strings.HasSuffix(tag, ".att")
}

// maxConfigSize bounds the read of a signature image's config (a few hundred bytes per layer).
const maxConfigSize = 4 << 20

// signatureImage is a cosign .sig/.att image split into what a merge touches; every other
// field of the manifest and the config is kept as it was.
type signatureImage struct {
	manifest  *registry.Manifest
	fields    map[string]json.RawMessage
	config    v1.Descriptor
	layersRaw []json.RawMessage
	layers    []v1.Descriptor
	cfgFields map[string]json.RawMessage
	diffIDs   []string
	history   []json.RawMessage
	hasHist   bool
}

func readSignatureImage(ctx context.Context, c *registry.Client, ref registry.Reference) (*signatureImage, error) {
	m, err := c.GetManifest(ctx, ref)
	if err != nil {
		return nil, err
	}
	if m.IsIndex() {
		return nil, failure.New(failure.Safety, "%s is an index, not a cosign signature image", ref)
	}
	var config v1.Descriptor
	if err := json.Unmarshal(m.Bytes, &struct {
		Config *v1.Descriptor `json:"config"`
	}{&config}); err != nil || config.Digest.Hex == "" {
		return nil, failure.New(failure.Safety, "%s has no config to merge signatures into", ref)
	}
	body, _, err := c.OpenBlob(ctx, ref.Repository, config.Digest)
	if err != nil {
		return nil, fmt.Errorf("reading the config of %s: %w", ref, err)
	}
	defer body.Close()
	cfg, err := io.ReadAll(io.LimitReader(body, maxConfigSize))
	if err != nil {
		return nil, failure.Wrap(failure.Unavailable, err, "reading the config of %s", ref)
	}
	s, err := parseSignatureImage(m, cfg)
	if err != nil {
		return nil, failure.Wrap(failure.Safety, err, "parsing %s", ref)
	}
	return s, nil
}

// parseSignatureImage splits a signature image's manifest and config into what a merge touches.
func parseSignatureImage(m *registry.Manifest, cfg []byte) (*signatureImage, error) {
	s := &signatureImage{manifest: m}
	if err := json.Unmarshal(m.Bytes, &s.fields); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(s.fields["config"], &s.config); err != nil {
		return nil, fmt.Errorf("the config descriptor: %w", err)
	}
	if raw := s.fields["layers"]; raw != nil {
		if err := json.Unmarshal(raw, &s.layersRaw); err != nil {
			return nil, fmt.Errorf("the layers: %w", err)
		}
		if err := json.Unmarshal(raw, &s.layers); err != nil {
			return nil, fmt.Errorf("the layers: %w", err)
		}
	}
	if err := json.Unmarshal(cfg, &s.cfgFields); err != nil {
		return nil, fmt.Errorf("the config: %w", err)
	}
	var rootfs struct {
		DiffIDs []string `json:"diff_ids"`
	}
	if raw := s.cfgFields["rootfs"]; raw != nil {
		_ = json.Unmarshal(raw, &rootfs)
	}
	s.diffIDs = rootfs.DiffIDs
	if raw, ok := s.cfgFields["history"]; ok {
		s.hasHist = json.Unmarshal(raw, &s.history) == nil
	}
	return s, nil
}

// missingFrom returns the indexes of src's layers that dst does not hold: a layer is held when
// dst has one with the same digest and the same annotations (two signatures of one payload
// share a digest and differ in their annotations, so the digest alone is not enough).
func missingFrom(dst, src *signatureImage) []int {
	var out []int
	for i, l := range src.layers {
		held := false
		for _, d := range dst.layers {
			if d.Digest == l.Digest && maps.Equal(d.Annotations, l.Annotations) {
				held = true
				break
			}
		}
		if !held {
			out = append(out, i)
		}
	}
	return out
}

// merged returns dst with src's layers at idx appended, as cosign appends a signature: each
// new layer's diff ID (and history entry, where the config keeps one per layer) is appended to
// the config, which gets a new digest.
func (dst *signatureImage) merged(src *signatureImage, idx []int) (manifest *registry.Manifest, config []byte, err error) {
	layers := append([]json.RawMessage{}, dst.layersRaw...)
	diffIDs := append([]string{}, dst.diffIDs...)
	history := append([]json.RawMessage{}, dst.history...)
	for _, i := range idx {
		layers = append(layers, src.layersRaw[i])
		// cosign's signature layers are stored uncompressed, so a missing diff ID is the digest.
		diffID := src.layers[i].Digest.String()
		if len(src.diffIDs) == len(src.layers) {
			diffID = src.diffIDs[i]
		}
		diffIDs = append(diffIDs, diffID)
		entry := json.RawMessage(`{}`)
		if len(src.history) == len(src.layers) {
			entry = src.history[i]
		}
		history = append(history, entry)
	}
	cfg := maps.Clone(dst.cfgFields)
	rootfs := map[string]json.RawMessage{}
	if raw := cfg["rootfs"]; raw != nil {
		_ = json.Unmarshal(raw, &rootfs)
	}
	if rootfs["type"] == nil {
		rootfs["type"] = json.RawMessage(`"layers"`)
	}
	if rootfs["diff_ids"], err = marshal(diffIDs); err != nil {
		return nil, nil, err
	}
	if cfg["rootfs"], err = marshal(rootfs); err != nil {
		return nil, nil, err
	}
	if dst.hasHist && len(dst.history) == len(dst.layers) {
		if cfg["history"], err = marshal(history); err != nil {
			return nil, nil, err
		}
	}
	if config, err = marshal(cfg); err != nil {
		return nil, nil, err
	}
	cfgDigest, cfgSize, err := v1.SHA256(bytes.NewReader(config))
	if err != nil {
		return nil, nil, err
	}
	configDesc := dst.config
	configDesc.Digest, configDesc.Size = cfgDigest, cfgSize
	fields := maps.Clone(dst.fields)
	if fields["config"], err = marshal(configDesc); err != nil {
		return nil, nil, err
	}
	if fields["layers"], err = marshal(layers); err != nil {
		return nil, nil, err
	}
	data, err := marshal(fields)
	if err != nil {
		return nil, nil, err
	}
	digest, _, err := v1.SHA256(bytes.NewReader(data))
	if err != nil {
		return nil, nil, err
	}
	return &registry.Manifest{Bytes: data, MediaType: dst.manifest.MediaType, Digest: digest}, config, nil
}

// MergeCosignTag makes dst's cosign tag (sha256-<hex>.sig or .att, already pointing at another
// image than the source's) hold the source's signatures as well as its own: the source image's
// layers that dst lacks are copied and appended, the tag is rewritten, and read back. As with
// the referrers index there is no compare-and-swap on a tag: a read-back that lacks a merged
// layer (a concurrent `cosign sign` replaced the tag) repeats the merge, at most
// ReferrersIndexPolicy.Attempts writes; a confirmed write is looked at once more after
// ReferrersIndexSettle, as the index is. It returns how many layers it added (with dryRun: would
// add, writing nothing).
func MergeCosignTag(ctx context.Context, c *registry.Client, src registry.Reference, dst registry.Repository, tag string, dryRun bool) (int, error) {
	policy := ReferrersIndexPolicy.WithDefaults(backoff.Policy{Attempts: 5, Base: 50 * time.Millisecond, Max: time.Second})
	source, err := readSignatureImage(ctx, c, src)
	if err != nil {
		return 0, fmt.Errorf("reading the source's %s: %w", tag, err)
	}
	dstRef := registry.Reference{Repository: dst, Tag: tag}
	added := 0
	var loop confirmed
	for {
		current, err := readSignatureImage(ctx, c, dstRef)
		if err != nil {
			return added, fmt.Errorf("reading %s: %w", dstRef, err)
		}
		missing := missingFrom(current, source)
		if dryRun {
			return len(missing), nil
		}
		done, err := loop.next(ctx, len(missing), policy, func() error {
			// The read-back lacks merged layers: concurrent `cosign sign`s keep replacing the tag.
			return failure.New(failure.Unavailable, "%s was replaced by concurrent writers %d times; %d of the source's layers are still missing from it", dstRef, loop.writes, len(missing))
		})
		if done || err != nil {
			return added, err
		}
		if len(missing) == 0 {
			continue // settled: look once more
		}
		manifest, config, err := current.merged(source, missing)
		if err != nil {
			return added, failure.Wrap(failure.Internal, err, "merging %s into %s", src, dstRef)
		}
		for _, i := range missing {
			if _, err := transferBlob(ctx, c, src.Repository, dst, source.layers[i], false, false, nil); err != nil {
				return added, fmt.Errorf("copying layer %s of %s: %w", source.layers[i].Digest, src, err)
			}
		}
		cfgDigest, _, _ := v1.SHA256(bytes.NewReader(config))
		if err := c.PushSmallBlob(ctx, dst, cfgDigest, config); err != nil {
			return added, fmt.Errorf("writing the merged config of %s: %w", dstRef, err)
		}
		if err := c.PutManifest(ctx, dst, tag, manifest); err != nil {
			return added, fmt.Errorf("writing the merged %s: %w", dstRef, err)
		}
		if loop.writes == 0 {
			added = len(missing)
		}
		loop.writes++
	}
}
