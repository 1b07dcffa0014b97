// Package promotion holds the registry operations shipgate composes from the client's single
// requests (package registry): promoting a digest to other repositories with what refers to it,
// discovering referrers, and describing an image. Every request it sends is counted in
// docs/promotion.md.
package promotion

import (
	"context"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/shipgate/shipgate/helper/internal/registry"
	"golang.org/x/sync/errgroup"

	"github.com/shipgate/shipgate/helper/internal/failure"
)

// Options describe one promotion: a source pinned by digest copied, byte for byte, to
// one or more destination repositories.
type Options struct {
	Source       registry.Reference
	Destinations []registry.Repository
	// Tags are written in every destination, after everything they point to is present.
	Tags []string
	// DryRun plans the copy (per blob: present, mount or copy) and writes nothing.
	DryRun bool
	// Referrers copies what refers to the digest (signatures, attestations, SBOMs).
	Referrers bool
	// SkipArtifactTypes are referrer artifact types never copied (shipgate's own ledger
	// records belong to one repository's environments).
	SkipArtifactTypes []string
	// Parallel is how many blobs move at once per destination. The default is 4.
	Parallel int
}

// Blob actions in a plan or result.
const (
	BlobPresent = "present" // already in the destination
	BlobMount   = "mount"   // cross-repository mount: no bytes move
	BlobCopy    = "copy"    // streamed from the source registry
)

// BlobStep is what happened (or, in a dry run, would happen) to one blob.
type BlobStep struct {
	Digest v1.Hash `json:"digest"`
	Size   int64   `json:"size"`
	Action string  `json:"action"`
}

// DestinationResult is the outcome of a promotion into one repository.
type DestinationResult struct {
	Repository string `json:"repository"`
	// Image is the deployable REPO@DIGEST.
	Image          string     `json:"image"`
	AlreadyPresent bool       `json:"alreadyPresent"`
	Blobs          []BlobStep `json:"blobs,omitempty"`
	BytesCopied    int64      `json:"bytesCopied"`
	Tags           []string   `json:"tags,omitempty"`
	Referrers      []string   `json:"referrers,omitempty"`
	// MergedTags are cosign tags that dst already held for other signatures, merged so that
	// both the source's and dst's signatures verify.
	MergedTags []string `json:"mergedTags,omitempty"`
	// ReferrersIndex is the referrers tag schema index (sha256-<hex>) that lists the copied
	// referrers, written because dst has no referrers API.
	ReferrersIndex string   `json:"referrersIndex,omitempty"`
	Warnings       []string `json:"warnings,omitempty"`

	mediaType string
}

// Result is the outcome of a promotion.
type Result struct {
	Digest       v1.Hash             `json:"digest"`
	MediaType    string              `json:"mediaType"`
	DryRun       bool                `json:"dryRun"`
	Destinations []DestinationResult `json:"destinations"`
}

// sourceGraph is the source manifest and, for an index, its children, each fetched once.
type sourceGraph struct {
	repo     registry.Repository
	root     *registry.Manifest
	children []*registry.Manifest
}

func loadSource(ctx context.Context, c *registry.Client, ref registry.Reference) (*sourceGraph, error) {
	root, err := c.GetManifest(ctx, ref)
	if err != nil {
		return nil, err
	}
	g := &sourceGraph{repo: ref.Repository, root: root}
	descs, err := root.Children()
	if err != nil {
		return nil, err
	}
	for _, d := range descs {
		child, err := c.GetManifest(ctx, registry.Reference{Repository: ref.Repository, Digest: d.Digest})
		if err != nil {
			return nil, fmt.Errorf("index %s: child %s: %w", root.Digest, d.Digest, err)
		}
		if child.IsIndex() {
			return nil, failure.New(failure.Safety, "index %s nests another index (%s); shipgate copies one level", root.Digest, d.Digest)
		}
		g.children = append(g.children, child)
	}
	return g, nil
}

// images returns the image manifests of the graph: the children of an index, or the root.
func (g *sourceGraph) images() []*registry.Manifest {
	if g.root.IsIndex() {
		return g.children
	}
	return []*registry.Manifest{g.root}
}

// Promote copies the source digest to every destination. A destination that already holds the
// digest costs one request; otherwise blobs are mounted (same registry: no bytes move) or
// streamed once (another registry), child manifests are written before their index, and tags
// last, so a tag never points at an incomplete image. Re-running after a failure completes
// the copy.
func Promote(ctx context.Context, c *registry.Client, opts Options) (*Result, error) {
	if !opts.Source.HasDigest() {
		return nil, failure.New(failure.Safety, "source %s is not pinned by digest", opts.Source)
	}
	for _, tag := range opts.Tags {
		if !registry.ValidTag(tag) {
			return nil, failure.New(failure.Usage, "tag %q is not a valid tag ([a-zA-Z0-9_][a-zA-Z0-9._-]{0,127})", tag)
		}
	}
	if opts.Parallel <= 0 {
		opts.Parallel = 4
	}
	result := &Result{Digest: opts.Source.Digest, DryRun: opts.DryRun}
	var graph *sourceGraph
	loadGraph := func() (*sourceGraph, error) {
		if graph == nil {
			g, err := loadSource(ctx, c, opts.Source)
			if err != nil {
				return nil, err
			}
			graph = g
			result.MediaType = string(g.root.MediaType)
		}
		return graph, nil
	}
	for _, dst := range opts.Destinations {
		dr, err := promoteTo(ctx, c, opts, dst, loadGraph)
		if err != nil {
			return result, fmt.Errorf("promoting %s to %s: %w", opts.Source.Digest, dst, err)
		}
		result.Destinations = append(result.Destinations, *dr)
		if result.MediaType == "" {
			// Every destination so far already held the digest: its HEAD named the media type.
			result.MediaType = dr.mediaType
		}
	}
	return result, nil
}

func promoteTo(ctx context.Context, c *registry.Client, opts Options, dst registry.Repository, loadGraph func() (*sourceGraph, error)) (*DestinationResult, error) {
	digest := opts.Source.Digest
	dr := &DestinationResult{Repository: dst.String(), Image: dst.Digest(digest)}
	dstRef := registry.Reference{Repository: dst, Digest: digest}
	present, err := c.HeadManifest(ctx, dstRef)
	if err != nil {
		return nil, err
	}
	dr.AlreadyPresent = present != nil
	if present != nil {
		dr.mediaType = string(present.MediaType)
		if present.MediaType.IsIndex() {
			// An index can outlive its untagged children (lifecycle rules expire them): tag it
			// only when every child is still there, and copy the missing ones otherwise.
			complete, err := indexComplete(ctx, c, dstRef)
			if err != nil {
				return nil, err
			}
			dr.AlreadyPresent = complete
		}
	}
	var rootManifest *registry.Manifest
	if !dr.AlreadyPresent || opts.DryRun {
		g, err := loadGraph()
		if err != nil {
			return nil, err
		}
		rootManifest = g.root
		if !dr.AlreadyPresent {
			if err := copyGraph(ctx, c, opts, g, dst, dr); err != nil {
				return nil, err
			}
		}
	}
	if len(opts.Tags) > 0 && !opts.DryRun {
		if rootManifest == nil {
			// The destination holds the digest; read the bytes to tag from there.
			m, err := c.GetManifest(ctx, dstRef)
			if err != nil {
				return nil, err
			}
			rootManifest = m
		}
		for _, tag := range opts.Tags {
			if err := c.PutManifest(ctx, dst, tag, rootManifest); err != nil {
				return nil, fmt.Errorf("tagging %s as %s: %w", digest, tag, err)
			}
		}
	}
	dr.Tags = append(dr.Tags, opts.Tags...)
	if opts.Referrers {
		if err := copyReferrers(ctx, c, opts, dst, dr); err != nil {
			return nil, err
		}
	}
	return dr, nil
}

// copyGraph writes every image's blobs and manifest, then the index, into dst.
func copyGraph(ctx context.Context, c *registry.Client, opts Options, g *sourceGraph, dst registry.Repository, dr *DestinationResult) error {
	for _, img := range g.images() {
		if err := copyImage(ctx, c, opts, g.repo, img, dst, dr); err != nil {
			return err
		}
	}
	if g.root.IsIndex() && !opts.DryRun {
		if err := c.PutManifest(ctx, dst, g.root.Digest.String(), g.root); err != nil {
			return err
		}
	}
	return nil
}

// copyImage moves one image manifest's blobs (in parallel) and then writes the manifest.
func copyImage(ctx context.Context, c *registry.Client, opts Options, src registry.Repository, img *registry.Manifest, dst registry.Repository, dr *DestinationResult) error {
	blobs, err := img.Blobs()
	if err != nil {
		return err
	}
	steps := make([]BlobStep, len(blobs))
	group, gctx := errgroup.WithContext(ctx)
	group.SetLimit(opts.Parallel)
	for i, blob := range blobs {
		group.Go(func() error {
			action, err := transferBlob(gctx, c, src, dst, blob, opts.DryRun)
			steps[i] = BlobStep{Digest: blob.Digest, Size: blob.Size, Action: action}
			return err
		})
	}
	if err := group.Wait(); err != nil {
		return err
	}
	for _, s := range steps {
		dr.Blobs = append(dr.Blobs, s)
		if s.Action == BlobCopy {
			dr.BytesCopied += s.Size
		}
	}
	if opts.DryRun {
		return nil
	}
	return c.PutManifest(ctx, dst, img.Digest.String(), img)
}

// transferBlob makes blob present in dst: a mount within one registry, otherwise a stream
// from the source (each blob moved at most once). A copy interrupted mid-stream is retried
// from a fresh upload session.
func transferBlob(ctx context.Context, c *registry.Client, src, dst registry.Repository, blob v1.Descriptor, dryRun bool) (string, error) {
	sameRegistry := src.Registry == dst.Registry
	if dryRun {
		present, err := c.BlobPresent(ctx, dst, blob.Digest)
		switch {
		case err != nil:
			return "", err
		case present:
			return BlobPresent, nil
		case sameRegistry:
			return BlobMount, nil
		default:
			return BlobCopy, nil
		}
	}
	location := ""
	if sameRegistry {
		mounted, loc, err := c.MountBlob(ctx, dst, src, blob.Digest)
		if err != nil {
			return "", err
		}
		if mounted {
			return BlobMount, nil
		}
		location = loc
	} else {
		present, err := c.BlobPresent(ctx, dst, blob.Digest)
		if err != nil {
			return "", err
		}
		if present {
			return BlobPresent, nil
		}
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		if location == "" {
			loc, err := c.StartUpload(ctx, dst)
			if err != nil {
				return "", err
			}
			location = loc
		}
		lastErr = streamBlob(ctx, c, src, dst, blob, location)
		if lastErr == nil {
			return BlobCopy, nil
		}
		if !registry.Transient(lastErr) || ctx.Err() != nil {
			return "", lastErr
		}
		location = ""
		if present, err := c.BlobPresent(ctx, dst, blob.Digest); err == nil && present {
			// The upload completed but its answer was lost (a reset after the registry acted).
			return BlobCopy, nil
		}
	}
	return "", lastErr
}

func streamBlob(ctx context.Context, c *registry.Client, src, dst registry.Repository, blob v1.Descriptor, location string) error {
	body, _, err := c.OpenBlob(ctx, src, blob.Digest)
	if err != nil {
		return err
	}
	defer body.Close()
	return c.UploadBlob(ctx, dst, location, blob.Digest, blob.Size, body)
}

// copyReferrers copies what refers to the digest into dst. A referrer with a subject is
// copied by digest and, where dst has no referrers API, added to dst's referrers tag schema
// index so that oras and cosign find it there. A cosign tag keeps its name; where dst already
// has that tag for another image, a .sig or .att is merged (both sets of signatures verify)
// and anything else is left alone with a warning.
func copyReferrers(ctx context.Context, c *registry.Client, opts Options, dst registry.Repository, dr *DestinationResult) error {
	refs, _, err := DiscoverReferrers(ctx, c, opts.Source.Repository, opts.Source.Digest, opts.SkipArtifactTypes)
	if err != nil {
		return err
	}
	if len(refs) == 0 {
		return nil
	}
	_, dstSupports, err := c.ReferrersAPI(ctx, dst, opts.Source.Digest)
	if err != nil {
		return err
	}
	var indexed []v1.Descriptor
	for _, r := range refs {
		sub := opts
		sub.Source = registry.Reference{Repository: opts.Source.Repository, Digest: r.Descriptor.Digest}
		sub.Tags = nil
		sub.Referrers = false
		label := r.Descriptor.Digest.String()
		if r.Tag != "" {
			label = r.Tag
			existing, err := c.HeadManifest(ctx, registry.Reference{Repository: dst, Tag: r.Tag})
			if err != nil {
				return err
			}
			if existing != nil && existing.Digest != r.Descriptor.Digest {
				if !Mergeable(r.Tag) {
					dr.Warnings = append(dr.Warnings, fmt.Sprintf("left %s:%s alone: it already points at %s", dst, r.Tag, existing.Digest))
					continue
				}
				added, err := MergeCosignTag(ctx, c, sub.Source, dst, r.Tag, opts.DryRun)
				if err != nil {
					return fmt.Errorf("merging %s into %s:%s: %w", r.Descriptor.Digest, dst, r.Tag, err)
				}
				dr.Referrers = append(dr.Referrers, label)
				if added > 0 {
					dr.MergedTags = append(dr.MergedTags, r.Tag)
				}
				continue
			}
			if existing == nil {
				sub.Tags = []string{r.Tag}
			}
		}
		graph, err := loadSource(ctx, c, sub.Source)
		if err == nil && r.Tag == "" {
			var desc v1.Descriptor
			desc, err = ReferrerDescriptor(graph.root)
			if err == nil && skipped(desc.ArtifactType, opts.SkipArtifactTypes) {
				continue // listed under another artifactType than its manifest declares
			}
			if err == nil && !dstSupports {
				indexed = append(indexed, desc)
			}
		}
		if err != nil {
			if failure.KindOf(err) == failure.Safety {
				dr.Warnings = append(dr.Warnings, fmt.Sprintf("referrer %s not copied: %v", r.Descriptor.Digest, err))
				continue
			}
			return fmt.Errorf("reading referrer %s: %w", r.Descriptor.Digest, err)
		}
		inner, err := promoteTo(ctx, c, sub, dst, func() (*sourceGraph, error) { return graph, nil })
		if err != nil {
			return fmt.Errorf("copying referrer %s: %w", r.Descriptor.Digest, err)
		}
		dr.Referrers = append(dr.Referrers, label)
		dr.BytesCopied += inner.BytesCopied
	}
	if len(indexed) > 0 {
		// Every referrer is in dst before the index names it: the index never points at a
		// manifest that is not there.
		dr.ReferrersIndex = registry.FallbackTag(opts.Source.Digest)
		if !opts.DryRun {
			if _, err := AddToReferrersIndex(ctx, c, dst, opts.Source.Digest, indexed); err != nil {
				return err
			}
		}
	}
	return nil
}

// indexComplete reports whether every child manifest of the index at ref is present.
func indexComplete(ctx context.Context, c *registry.Client, ref registry.Reference) (bool, error) {
	index, err := c.GetManifest(ctx, ref)
	if err != nil {
		return false, err
	}
	children, err := index.Children()
	if err != nil {
		return false, err
	}
	for _, child := range children {
		desc, err := c.HeadManifest(ctx, registry.Reference{Repository: ref.Repository, Digest: child.Digest})
		if err != nil {
			return false, err
		}
		if desc == nil {
			return false, nil
		}
	}
	return true, nil
}
