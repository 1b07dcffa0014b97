package promotion

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

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

// discoveryPageSize is the n of discovery's one tag-listing request: the largest every registry
// accepts (distribution 3.1.0 and ECR refuse more; FACTS.md "Registry behaviour…").
const discoveryPageSize = 1000

// DiscoverReferrers finds what refers to digest in repo: the referrers API where the registry
// has it, otherwise the referrers tag schema index (sha256-<hex>); and in both cases cosign's
// sha256-<hex>.sig/.att/.sbom tags. Descriptors whose artifactType is in skip are left out.
//
// Discovery is two requests sent at once: the referrers API, and one first page of the
// repository's tags (n=1000, no `last`, so no registry's `last` rules apply: zot's 404, ECR's
// opaque tokens). When that page is provably the whole listing (registry.TagPage.Incomplete),
// only the names it holds are read: nothing more in the common case of an image without
// signatures. Otherwise (a repository of 1000 tags or more, a listing paged or capped, an empty
// or malformed body, any error) the four names are probed as before, one request each, in
// parallel: a listing that cannot be trusted never reads as "nothing found" (docs/promotion.md,
// "Referrers").
func DiscoverReferrers(ctx context.Context, c *registry.Client, repo registry.Repository, digest v1.Hash, skip []string) ([]Referrer, bool, error) {
	var (
		index     *v1.IndexManifest
		supported bool
		page      *registry.TagPage
		listErr   error
	)
	group, gctx := errgroup.WithContext(ctx)
	group.Go(func() error {
		var err error
		index, supported, err = c.ReferrersAPI(gctx, repo, digest)
		return err
	})
	group.Go(func() error {
		// Once: a bad body is not read again, the probes below are the cheaper way on.
		page, listErr = c.ListTagsOnce(gctx, repo, registry.TagQuery{N: discoveryPageSize})
		return nil
	})
	if err := group.Wait(); err != nil {
		return nil, false, fmt.Errorf("discovering referrers of %s in %s: %w", digest, repo, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	present := listedTags(page, listErr)
	has := func(tag string) bool { return present == nil || present[tag] }

	tagged := make([]*v1.Descriptor, len(CosignSuffixes))
	group, gctx = errgroup.WithContext(ctx)
	for i, suffix := range CosignSuffixes {
		tag := registry.FallbackTag(digest) + suffix
		if !has(tag) {
			continue
		}
		group.Go(func() error {
			desc, err := c.HeadManifest(gctx, registry.Reference{Repository: repo, Tag: tag})
			tagged[i] = desc
			return err
		})
	}
	if !supported && has(registry.FallbackTag(digest)) {
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

// listedTags returns the tags of the repository from discovery's one listing request, or nil
// when that answer is not provably the whole listing (the caller then probes by name).
//
// A 404 NAME_UNKNOWN reads as "no tags": distribution (v3 and Debian's 2.8, checked in
// TestDiscoveryReadsNameUnknownAsNoTags) answers so for a repository that holds only untagged
// manifests, its tags folder not existing yet (registry/storage/tagstore.go All →
// ErrRepositoryUnknown → NAME_UNKNOWN in registry/handlers/tags.go). Should the repository truly
// be unknown, the probes would answer 404 for each name alike, and the copy fails on the source
// digest. A bare 404 (zot answers one to other things) or any other error is not trusted.
func listedTags(page *registry.TagPage, err error) map[string]bool {
	if err != nil {
		var pe *registry.ProtocolError
		if errors.As(err, &pe) && pe.Status == http.StatusNotFound && pe.HasCode("NAME_UNKNOWN") {
			return map[string]bool{}
		}
		return nil
	}
	if page.Incomplete(discoveryPageSize) != "" {
		return nil
	}
	tags := make(map[string]bool, len(page.Tags))
	for _, tag := range page.Tags {
		tags[tag] = true
	}
	return tags
}

func skipped(artifactType string, skip []string) bool {
	for _, s := range skip {
		if artifactType == s {
			return true
		}
	}
	return false
}
