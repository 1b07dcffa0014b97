package promotion

import (
	"context"
	"encoding/json"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/errgroup"

	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/registry"
)

// Referrer is a manifest that refers to an image: an OCI 1.1 referrer (found through the
// referrers API or the registry's fallback tag) or a cosign-style tag such as
// sha256-<hex>.sig.
type Referrer struct {
	Descriptor v1.Descriptor
	// Tag is set for tag-based referrers (cosign .sig/.att/.sbom); they are copied under the
	// same tag name, which stays correct because the digest does not change.
	Tag string
}

// CosignSuffixes are the tags cosign v2 writes beside an image, appended to FallbackTag:
// signatures, attestations and attached SBOMs (cosign pkg/oci/remote: SignatureTagSuffix,
// AttestationTagSuffix, SBOMTagSuffix).
var CosignSuffixes = []string{".sig", ".att", ".sbom"}

// DiscoverReferrers finds what refers to digest in repo: the referrers API where the registry
// has it, otherwise the referrers tag schema index; and in both cases cosign's
// sha256-<hex>.sig/.att/.sbom tags. The tags are probed by name (one HEAD each, in parallel),
// never found by listing tags, because registries disagree on `last` (zot answers 404 to a
// `last` that is not a tag, ECR's `last` is an opaque token). Descriptors whose artifactType
// is in skip are left out. It costs the API request, three HEADs, and one GET of the index
// where there is no API.
func DiscoverReferrers(ctx context.Context, c *registry.Client, repo registry.Repository, digest v1.Hash, skip []string) ([]Referrer, bool, error) {
	index, supported, err := c.ReferrersAPI(ctx, repo, digest)
	if err != nil {
		return nil, false, err
	}
	tagged := make([]*v1.Descriptor, len(CosignSuffixes))
	group, gctx := errgroup.WithContext(ctx)
	for i, suffix := range CosignSuffixes {
		group.Go(func() error {
			desc, err := c.HeadManifest(gctx, registry.Reference{Repository: repo, Tag: registry.FallbackTag(digest) + suffix})
			tagged[i] = desc
			return err
		})
	}
	if !supported {
		group.Go(func() error {
			idx, err := readReferrersIndex(gctx, c, repo, digest)
			if failure.KindOf(err) == failure.Safety {
				return nil // not an index: some other tool's tag, listing no referrers
			}
			if err != nil {
				return err
			}
			index = &v1.IndexManifest{}
			for _, raw := range idx.entries {
				var d v1.Descriptor
				if json.Unmarshal(raw, &d) == nil {
					index.Manifests = append(index.Manifests, d)
				}
			}
			return nil
		})
	}
	if err := group.Wait(); err != nil {
		return nil, supported, fmt.Errorf("discovering referrers of %s in %s: %w", digest, repo, err)
	}
	var found []Referrer
	seen := map[v1.Hash]bool{}
	if index != nil {
		for _, d := range index.Manifests {
			if skipped(d.ArtifactType, skip) || seen[d.Digest] {
				continue
			}
			seen[d.Digest] = true
			found = append(found, Referrer{Descriptor: d})
		}
	}
	for i, desc := range tagged {
		if desc != nil {
			found = append(found, Referrer{Descriptor: *desc, Tag: registry.FallbackTag(digest) + CosignSuffixes[i]})
		}
	}
	return found, supported, nil
}

func skipped(artifactType string, skip []string) bool {
	for _, s := range skip {
		if artifactType == s {
			return true
		}
	}
	return false
}
