package promotion

import (
	"bytes"
	"context"
	"errors"
	"strings"

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

// DiscoverReferrers finds what refers to digest in repo: the referrers API where the registry
// has it; otherwise the fallback tag's index; and in both cases cosign-style tags
// (sha256-<hex>.sig, .att, .sbom, ...). Descriptors whose artifactType is in skip are left out.
// It costs one request for the API, one page of tags, and one manifest read when the fallback
// tag exists.
func DiscoverReferrers(ctx context.Context, c *registry.Client, repo registry.Repository, digest v1.Hash, skip []string) ([]Referrer, bool, error) {
	index, supported, err := c.ReferrersAPI(ctx, repo, digest)
	if err != nil {
		return nil, false, err
	}
	var found []Referrer
	seen := map[v1.Hash]bool{}
	add := func(d v1.Descriptor, tag string) {
		if skipped(d.ArtifactType, skip) || (tag == "" && seen[d.Digest]) {
			return
		}
		seen[d.Digest] = true
		found = append(found, Referrer{Descriptor: d, Tag: tag})
	}
	if index != nil {
		for _, d := range index.Manifests {
			add(d, "")
		}
	}
	tags, err := tagsWithPrefix(ctx, c, repo, registry.FallbackTag(digest))
	if err != nil {
		return nil, supported, err
	}
	for _, tag := range tags {
		if tag == registry.FallbackTag(digest) {
			if supported {
				continue
			}
			m, err := c.GetManifest(ctx, registry.Reference{Repository: repo, Tag: tag})
			if err != nil {
				return nil, supported, err
			}
			fallback, err := v1.ParseIndexManifest(bytes.NewReader(m.Bytes))
			if err != nil {
				continue // not an index: some other tool's tag; leave it alone
			}
			for _, d := range fallback.Manifests {
				add(d, "")
			}
			continue
		}
		desc, err := c.HeadManifest(ctx, registry.Reference{Repository: repo, Tag: tag})
		if err != nil {
			return nil, supported, err
		}
		if desc != nil {
			add(*desc, tag)
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

// cosignSuffixes are the tags cosign attaches beside a digest's fallback tag.
var cosignSuffixes = []string{"", ".att", ".sbom", ".sig"}

// tagsWithPrefix returns the tags equal to prefix or starting with prefix+".", using one
// page starting just before prefix when the registry honours `last`, and a full scan when it
// ignores it. Where the listing cannot answer that (a registry refusing a `last` that is not a
// tag: zot's bare 404, Harbor < 2.5's 400, ECR's opaque tokens; or pages out of order), the
// tags cosign writes are probed by name instead, in parallel (FACTS "tags/list").
func tagsWithPrefix(ctx context.Context, c *registry.Client, repo registry.Repository, prefix string) ([]string, error) {
	// The largest string below prefix in byte order that is still a valid `last`: prefix
	// without its final character. Tags between it and prefix cannot start with prefix.
	last := prefix[:len(prefix)-1]
	var out []string
	next := ""
	for pages := 0; ; pages++ {
		page, err := c.ListTags(ctx, repo, registry.TagQuery{Last: last, N: 20, Next: next})
		if err != nil {
			var pe *registry.ProtocolError
			switch {
			case errors.As(err, &pe) && pe.HasCode("NAME_UNKNOWN"):
				return nil, nil // a repository with no tags
			case failure.KindOf(err) == failure.NotFound || failure.KindOf(err) == failure.Safety:
				return probeTags(ctx, c, repo, prefix)
			}
			return nil, err
		}
		honoured := true
		for i, tag := range page.Tags {
			if tag <= last || (i > 0 && tag < page.Tags[i-1]) {
				honoured = false
			}
			if tag == prefix || strings.HasPrefix(tag, prefix+".") {
				out = append(out, tag)
			}
		}
		if !honoured && pages == 0 && page.Next != "" {
			// Pages out of order or `last` ignored with paging: a full scan could be long;
			// the names cosign writes are few.
			return probeTags(ctx, c, repo, prefix)
		}
		if honoured && len(page.Tags) > 0 && page.Tags[len(page.Tags)-1] > prefix+".\xff" {
			return out, nil // past every tag that could match
		}
		if page.Next == "" {
			return out, nil
		}
		next = page.Next
	}
}

// probeTags asks for each tag cosign writes beside prefix, in parallel, and returns those
// that exist.
func probeTags(ctx context.Context, c *registry.Client, repo registry.Repository, prefix string) ([]string, error) {
	found := make([]bool, len(cosignSuffixes))
	group, gctx := errgroup.WithContext(ctx)
	for i, suffix := range cosignSuffixes {
		group.Go(func() error {
			desc, err := c.HeadManifest(gctx, registry.Reference{Repository: repo, Tag: prefix + suffix})
			found[i] = desc != nil
			return err
		})
	}
	if err := group.Wait(); err != nil {
		return nil, err
	}
	var out []string
	for i, suffix := range cosignSuffixes {
		if found[i] {
			out = append(out, prefix+suffix)
		}
	}
	return out, nil
}
