// Package promotion holds the registry operations shipgate composes from the client's single
// requests (package registry): promoting a digest to other repositories with what refers to it,
// discovering referrers, and describing an image. Every request it sends is counted in
// docs/promotion.md.
package promotion

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

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
	// Progress receives progress lines (docs/promotion.md "Progress"); nil reports nothing.
	Progress io.Writer
	// ProgressInterval is the heartbeat's period; zero means DefaultProgressInterval.
	ProgressInterval time.Duration
	// Parallel is how many blobs move at once per destination (across every image of an
	// index). The default is defaultParallel.
	Parallel int

	// referrerCopy marks the promotion of a referrer inside another promotion (no probes).
	referrerCopy bool
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
	// BytesCopied counts blob bytes that moved; 0 in a dry run, which reports BytesToCopy.
	BytesCopied int64 `json:"bytesCopied"`
	// BytesToCopy is, in a dry run, what the copy would stream.
	BytesToCopy int64    `json:"bytesToCopy,omitempty"`
	Tags        []string `json:"tags,omitempty"`
	Referrers   []string `json:"referrers,omitempty"`
	// MergedTags are cosign tags that dst already held for other signatures, merged so that
	// both the source's and dst's signatures verify.
	MergedTags []string `json:"mergedTags,omitempty"`
	// ReferrersIndex is the referrers tag schema index (sha256-<hex>) that shipgate added the
	// copied referrers to (in a dry run: would add), because dst has no referrers API.
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
	// The children are read in parallel: one round trip for all of them, not one each.
	g.children = make([]*registry.Manifest, len(descs))
	group, gctx := errgroup.WithContext(ctx)
	group.SetLimit(defaultParallel)
	for i, d := range descs {
		group.Go(func() error {
			child, err := c.GetManifest(gctx, registry.Reference{Repository: ref.Repository, Digest: d.Digest})
			if err != nil {
				return fmt.Errorf("index %s: child %s: %w", root.Digest, d.Digest, err)
			}
			if child.IsIndex() {
				return failure.New(failure.Safety, "index %s nests another index (%s); shipgate copies one level", root.Digest, d.Digest)
			}
			g.children[i] = child
			return nil
		})
	}
	if err := group.Wait(); err != nil {
		return nil, err
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
// digest costs one request (two for an index, whose children the registry re-checks);
// otherwise blobs are mounted (same registry: no bytes move) or streamed once (another
// registry), child manifests are written before their index, and tags last, so a tag never
// points at an incomplete image. Re-running after a failure completes the copy.
func Promote(ctx context.Context, c *registry.Client, opts Options) (*Result, error) {
	if opts.Progress != nil {
		// Blobs, child manifests, the heartbeat and the referrer lines report from several
		// goroutines: one lock here keeps each line whole whatever writer the caller passed.
		opts.Progress = &syncWriter{w: opts.Progress}
	}
	if !opts.Source.HasDigest() {
		return nil, failure.New(failure.Safety, "source %s is not pinned by digest", opts.Source)
	}
	for _, tag := range opts.Tags {
		if !registry.ValidTag(tag) {
			return nil, failure.New(failure.Usage, "tag %q is not a valid tag ([a-zA-Z0-9_][a-zA-Z0-9._-]{0,127})", tag)
		}
	}
	if opts.Parallel <= 0 {
		opts.Parallel = defaultParallel
	}
	DeclareScopes(c, opts)
	result := &Result{Digest: opts.Source.Digest, DryRun: opts.DryRun}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var disc *discovery
	if opts.Referrers {
		for _, dst := range opts.Destinations {
			if dst != opts.Source.Repository {
				// Discovery reads only the source: it runs while the image is copied, once for
				// every destination, instead of adding its two round trips after each copy. It
				// starts once a request to the source registry has settled authentication, so
				// that two requests do not both meet the first 401.
				disc = newDiscovery(ctx, c, opts)
				break
			}
		}
	}
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
		dr, err := promoteTo(ctx, c, opts, dst, loadGraph, disc)
		if err != nil {
			return result, fmt.Errorf("promoting %s to %s: %w", opts.Source.Digest, dst, err)
		}
		result.Destinations = append(result.Destinations, *dr)
		if result.MediaType == "" {
			// Every destination so far already held the digest: its manifest named the type.
			result.MediaType = dr.mediaType
		}
	}
	return result, nil
}

// defaultParallel is how many blob transfers and child manifests move at once. A registry's
// answers, not shipgate's CPU, bound a copy of many small blobs (a traced 3-platform index copy
// to another registry spent most of its time waiting for the destination's POSTs and PUTs), yet
// more in flight did not reliably help: 16 against 8 took 0.90 to 0.97 of the CLI's wall time in
// pairwise runs, but 1.02 to 1.19 of the library's in interleaved runs of
// BenchmarkPromoteIndexAcrossRegistries (both on the shared 2-core machine). 8 stays, as
// crane's and regclient's defaults are also a handful.
const defaultParallel = 8

// promoteTo makes dst hold the digest and its tags. The destination is read first (one GET,
// which also yields the bytes to tag), so a destination that holds the digest costs 1 request
// plus 1 per tag. Where source and destination are the same repository, that read is the
// source itself: nothing is copied and only the tags are written. The phases: read the
// destination, make its content complete, write the tags, copy the referrers.
func promoteTo(ctx context.Context, c *registry.Client, opts Options, dst registry.Repository, loadGraph func() (*sourceGraph, error), disc *discovery) (*DestinationResult, error) {
	digest := opts.Source.Digest
	dr := &DestinationResult{Repository: dst.String(), Image: dst.Digest(digest)}
	p := newProgress(opts.Progress, opts.ProgressInterval, short(digest)+" to "+dst.String())
	defer p.halt()
	present, err := readDestination(ctx, c, opts, dst, disc)
	if err != nil {
		return nil, err
	}
	if present != nil {
		dr.mediaType = string(present.MediaType)
		dr.AlreadyPresent = true
	}
	if err := completeContent(ctx, c, opts, dst, present, loadGraph, disc, dr, p); err != nil {
		return nil, err
	}
	dr.Tags = append(dr.Tags, opts.Tags...)
	if !opts.DryRun {
		if err := writeTags(ctx, c, opts, dst, present, loadGraph, dr, p); err != nil {
			return nil, err
		}
	}
	if opts.Referrers && opts.Source.Repository != dst {
		// In the source's own repository its referrers are already where they belong.
		if err := copyReferrers(ctx, c, opts, dst, dr, disc); err != nil {
			return nil, err
		}
	}
	p.finish(dr, opts.DryRun)
	return dr, nil
}

// DeclareScopes tells c every token scope a promotion with opts needs, so each registry is asked
// for one token instead of one per new scope (distribution and Harbor refuse a mount unless the
// token has pull on `from`). Promote calls it; a caller that reads the destinations first (the
// command's bad-mark check) calls it earlier, so that read uses the same token.
func DeclareScopes(c *registry.Client, opts Options) {
	c.DeclareScopes(opts.Source.Repository.Registry, registry.PullScope(opts.Source.Repository.Path))
	for _, dst := range opts.Destinations {
		c.DeclareScopes(dst.Registry, registry.PushScope(dst.Path))
		if dst.Registry == opts.Source.Repository.Registry {
			c.DeclareScopes(dst.Registry, registry.PullScope(opts.Source.Repository.Path))
		}
	}
}

// readDestination returns the digest's manifest as dst holds it, or nil when dst lacks it (in
// the source's own repository a missing digest is an error: there is nothing to copy from).
func readDestination(ctx context.Context, c *registry.Client, opts Options, dst registry.Repository, disc *discovery) (*registry.Manifest, error) {
	present, err := c.GetManifest(ctx, registry.Reference{Repository: dst, Digest: opts.Source.Digest})
	if dst.Registry == opts.Source.Repository.Registry {
		// This request settled the source registry's authentication: discovery may start.
		disc.start()
	}
	switch {
	case err == nil:
		return present, nil
	case failure.KindOf(err) == failure.NotFound && opts.Source.Repository != dst:
		return nil, nil
	}
	return nil, err
}

// completeContent copies the graph into a destination that lacks the digest (the root under
// the first tag); a destination that holds an index and gets no tag has the index written
// again so that the registry checks its children.
func completeContent(ctx context.Context, c *registry.Client, opts Options, dst registry.Repository, present *registry.Manifest, loadGraph func() (*sourceGraph, error), disc *discovery, dr *DestinationResult, p *progress) error {
	if present == nil {
		g, err := loadGraph()
		if err != nil {
			return err
		}
		disc.start()
		p.start(g, opts.DryRun)
		return copyGraph(ctx, c, opts, g, dst, dr, p)
	}
	if !opts.DryRun && opts.Source.Repository != dst && present.IsIndex() && len(opts.Tags) == 0 {
		// An index can outlive its untagged children (lifecycle rules expire them). Writing it
		// again makes the registry check every child (distribution, zot, Quay and ECR refuse an
		// index or image whose references are missing: FACTS "Manifest PUT validation"); one
		// request instead of a HEAD per child. With tags, the first tag's PUT is that check.
		return completeIndex(ctx, c, opts, dst, present.Digest.String(), present, loadGraph, dr, p)
	}
	return nil
}

// writeTags writes every tag in dst. A root copyGraph just wrote under the first tag is not
// written again; an index already present is written under its first tag through
// completeIndex, whose PUT also checks the children.
func writeTags(ctx context.Context, c *registry.Client, opts Options, dst registry.Repository, present *registry.Manifest, loadGraph func() (*sourceGraph, error), dr *DestinationResult, p *progress) error {
	root := present
	if root == nil {
		g, _ := loadGraph()
		root = g.root
	}
	for i, tag := range opts.Tags {
		switch {
		case i == 0 && present == nil:
			continue // copyGraph wrote the root under the first tag
		case i == 0 && opts.Source.Repository != dst && root.IsIndex():
			if err := completeIndex(ctx, c, opts, dst, tag, root, loadGraph, dr, p); err != nil {
				return err
			}
		default:
			if err := putTag(ctx, c, dst, tag, root); err != nil {
				return err
			}
		}
		p.manifest(root.Digest, tag)
	}
	return nil
}

// completeIndex writes an index already present at dst under identifier; when the registry
// refuses it for a missing child, the children are copied from the source and the write is
// repeated.
func completeIndex(ctx context.Context, c *registry.Client, opts Options, dst registry.Repository, identifier string, index *registry.Manifest, loadGraph func() (*sourceGraph, error), dr *DestinationResult, p *progress) error {
	err := putTag(ctx, c, dst, identifier, index)
	if err == nil || !missingReference(err) {
		return err
	}
	dr.AlreadyPresent = false
	g, gerr := loadGraph()
	if gerr != nil {
		return gerr
	}
	p.start(g, opts.DryRun)
	if err := copyImages(ctx, c, opts, g, dst, dr, p, ""); err != nil {
		return err
	}
	return putTag(ctx, c, dst, identifier, index)
}

// missingReference reports whether a manifest write was refused because something it refers to
// is absent (distribution MANIFEST_BLOB_UNKNOWN, zot BLOB_UNKNOWN, ...).
func missingReference(err error) bool {
	var pe *registry.ProtocolError
	if !errors.As(err, &pe) {
		return false
	}
	return pe.HasCode("MANIFEST_BLOB_UNKNOWN") || pe.HasCode("BLOB_UNKNOWN") || pe.HasCode("MANIFEST_UNKNOWN") || pe.HasCode("BLOB_UPLOAD_UNKNOWN")
}

// putTag writes m under tag (or a digest). A registry with immutable tags refuses a second PUT
// of the same tag even with identical content (Harbor 412, Quay 409, ECR
// ImageTagAlreadyExistsException: FACTS "Immutable tags"), which a retried PUT whose first
// answer was lost, or a re-run, meets: a refusal is accepted when the tag already names m.
func putTag(ctx context.Context, c *registry.Client, dst registry.Repository, tag string, m *registry.Manifest) error {
	err := c.PutManifest(ctx, dst, tag, m)
	if err == nil || failure.KindOf(err) != failure.Safety || missingReference(err) || !registry.ValidTag(tag) {
		if err != nil {
			return fmt.Errorf("tagging %s as %s: %w", m.Digest, tag, err)
		}
		return nil
	}
	existing, herr := c.HeadManifest(ctx, registry.Reference{Repository: dst, Tag: tag})
	if herr == nil && existing != nil && existing.Digest == m.Digest {
		return nil
	}
	return fmt.Errorf("tagging %s as %s: %w", m.Digest, tag, err)
}

// copyGraph writes every image's blobs and manifest, then the index, into dst. The root is
// written once: under the first tag when there is one (a tag PUT creates the manifest, so a
// second PUT by digest would only repeat it), by digest otherwise.
func copyGraph(ctx context.Context, c *registry.Client, opts Options, g *sourceGraph, dst registry.Repository, dr *DestinationResult, p *progress) error {
	identifier := g.root.Digest.String()
	if len(opts.Tags) > 0 {
		identifier = opts.Tags[0]
	}
	if err := copyImages(ctx, c, opts, g, dst, dr, p, identifier); err != nil {
		return err
	}
	if opts.DryRun || !g.root.IsIndex() {
		return nil
	}
	if err := putTag(ctx, c, dst, identifier, g.root); err != nil {
		return err
	}
	p.manifest(g.root.Digest, identifier)
	return nil
}

// copyImages moves every blob of the graph (in parallel, each distinct blob once) and writes
// each image manifest as soon as its own blobs are there: a child of an index by digest, an
// image root under rootIdentifier. An index root is left to the caller.
func copyImages(ctx context.Context, c *registry.Client, opts Options, g *sourceGraph, dst registry.Repository, dr *DestinationResult, p *progress, rootIdentifier string) error {
	images := g.images()
	w := &imageWriter{c: c, dst: dst, dryRun: opts.DryRun, p: p,
		mover: &blobMover{c: c, src: g.repo, dst: dst, dryRun: opts.DryRun, p: p,
			jobs: map[v1.Hash]*blobJob{}, sem: make(chan struct{}, opts.Parallel)}}
	if !opts.DryRun && !opts.referrerCopy {
		// A probe is a write: never in a dry run. Referrers are one or two small blobs each, and
		// a probe of one that the registry accepted would carry its subject into the referrers
		// API's answer: they are copied without.
		w.probe = &prober{c: c, dst: dst}
	}
	steps := make([][]BlobStep, len(images))
	group, gctx := errgroup.WithContext(ctx)
	for i, img := range images {
		identifier := img.Digest.String()
		if img == g.root {
			identifier = rootIdentifier
		}
		group.Go(func() error {
			var err error
			steps[i], err = w.write(gctx, img, identifier)
			return err
		})
	}
	if err := group.Wait(); err != nil {
		return err
	}
	tally(dr, steps, opts.DryRun)
	return nil
}

// imageWriter writes the images of one destination: probe, blobs, manifest.
type imageWriter struct {
	c      *registry.Client
	dst    registry.Repository
	dryRun bool
	p      *progress
	mover  *blobMover
	probe  *prober // nil: every blob is moved (or, in a dry run, checked)
}

// write makes img's blobs present at dst, then writes img under identifier. With a probe that
// proved which blobs dst lacks, only those move; when the registry then refuses the manifest
// for a blob it had not named, every blob is moved as without a probe and the write repeated,
// so a manifest is never written before its blobs whatever a registry answered.
func (w *imageWriter) write(ctx context.Context, img *registry.Manifest, identifier string) ([]BlobStep, error) {
	outcome, err := w.probe.ask(ctx, img)
	if err != nil {
		return nil, err
	}
	steps, err := w.mover.moveImage(ctx, img, outcome)
	if err != nil || w.dryRun {
		return steps, err
	}
	err = putTag(ctx, w.c, w.dst, identifier, img)
	if err != nil && outcome.proven && missingReference(err) {
		again, merr := w.mover.moveImage(ctx, img, probeOutcome{})
		if merr != nil {
			return nil, merr
		}
		for k := range steps {
			if steps[k].Action == BlobPresent {
				steps[k] = again[k]
			}
		}
		outcome = probeOutcome{}
		err = putTag(ctx, w.c, w.dst, identifier, img)
	}
	if err != nil {
		return nil, err
	}
	// The blobs the probe proved present are confirmed by the write: reported now, once.
	for _, s := range steps {
		if outcome.present(s.Digest) {
			w.p.blob(v1.Descriptor{Digest: s.Digest, Size: s.Size}, BlobPresent)
		}
	}
	w.p.manifest(img.Digest, identifier)
	return steps, nil
}

// tally adds the images' blob steps to dr, and the bytes they moved (in a dry run: would move).
func tally(dr *DestinationResult, steps [][]BlobStep, dryRun bool) {
	for _, imageSteps := range steps {
		for _, s := range imageSteps {
			dr.Blobs = append(dr.Blobs, s)
			if s.Action != BlobCopy {
				continue
			}
			if dryRun {
				dr.BytesToCopy += s.Size
			} else {
				dr.BytesCopied += s.Size
			}
		}
	}
}

// blobMover moves the blobs of one destination: each distinct blob once however many images
// share it, at most cap(sem) at a time.
type blobMover struct {
	c        *registry.Client
	src, dst registry.Repository
	dryRun   bool
	p        *progress
	mu       sync.Mutex
	jobs     map[v1.Hash]*blobJob
	sem      chan struct{}
}

// blobJob is one blob's single transfer, which the other images sharing the blob wait for.
type blobJob struct {
	done   chan struct{}
	action string
	err    error
}

// moveImage moves img's blobs in parallel, except those a probe proved present, and returns a
// step for each, in the manifest's order.
func (m *blobMover) moveImage(ctx context.Context, img *registry.Manifest, known probeOutcome) ([]BlobStep, error) {
	blobs, err := img.Blobs()
	if err != nil {
		return nil, err
	}
	steps := make([]BlobStep, len(blobs))
	inner, ictx := errgroup.WithContext(ctx)
	for k, blob := range blobs {
		if known.present(blob.Digest) {
			steps[k] = BlobStep{Digest: blob.Digest, Size: blob.Size, Action: BlobPresent}
			continue
		}
		inner.Go(func() error {
			action, err := m.move(ictx, blob, known.proven && known.missing[blob.Digest])
			steps[k] = BlobStep{Digest: blob.Digest, Size: blob.Size, Action: action}
			return err
		})
	}
	return steps, inner.Wait()
}

// move makes blob present in the destination, or waits for the transfer another image of the
// index started; a blob moved for another image counts as present for this one.
func (m *blobMover) move(ctx context.Context, blob v1.Descriptor, provenMissing bool) (string, error) {
	m.mu.Lock()
	j, shared := m.jobs[blob.Digest]
	if !shared {
		j = &blobJob{done: make(chan struct{})}
		m.jobs[blob.Digest] = j
	}
	m.mu.Unlock()
	if shared {
		select {
		case <-j.done:
			if j.err == nil && j.action != BlobPresent {
				return BlobPresent, nil
			}
			return j.action, j.err
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	defer close(j.done)
	select {
	case m.sem <- struct{}{}:
	case <-ctx.Done():
		j.err = ctx.Err()
		return "", j.err
	}
	defer func() { <-m.sem }()
	j.action, j.err = transferBlob(ctx, m.c, m.src, m.dst, blob, m.dryRun, provenMissing, m.p.counter())
	if j.err == nil {
		m.p.blob(blob, j.action)
	}
	return j.action, j.err
}

// transferBlob makes blob present in dst: a mount within one registry, otherwise a stream
// from the source (each blob moved at most once). Across registries the upload starts with a
// mount from dst itself, which answers 201 when dst already holds the blob and 202 with an
// upload session otherwise: the presence check and the session in one request (a HEAD and a
// POST in crane and regclient). A blob a probe proved missing there needs no such check: its
// upload session and the source's stream are opened at once (one round trip before the bytes
// flow, not two). A copy interrupted mid-stream is retried from a fresh upload session.
func transferBlob(ctx context.Context, c *registry.Client, src, dst registry.Repository, blob v1.Descriptor, dryRun, provenMissing bool, moved *atomic.Int64) (string, error) {
	sameRegistry := src.Registry == dst.Registry
	if dryRun {
		return planBlob(ctx, c, dst, blob, sameRegistry)
	}
	location := "" // copyBlob starts a session with the source's stream when there is none
	if !provenMissing || sameRegistry {
		from, mountedAs := src, BlobMount
		if !sameRegistry {
			from, mountedAs = dst, BlobPresent
		}
		mounted, session, err := c.MountBlob(ctx, dst, from, blob.Digest)
		if err != nil {
			return "", err
		}
		if mounted {
			return mountedAs, nil
		}
		// 202: the registry opened an upload instead of mounting (across registries always;
		// within one on ECR without BLOB_MOUNTING or Quay without read access to the source:
		// FACTS "Cross-repository mount"). The bytes go through shipgate.
		location = session
	}
	if err := copyBlob(ctx, c, src, dst, blob, location, moved); err != nil {
		return "", err
	}
	return BlobCopy, nil
}

// planBlob says, for a dry run, what transferBlob would do with blob: one HEAD.
func planBlob(ctx context.Context, c *registry.Client, dst registry.Repository, blob v1.Descriptor, sameRegistry bool) (string, error) {
	present, err := c.BlobPresent(ctx, dst, blob.Digest)
	switch {
	case err != nil:
		return "", err
	case present:
		return BlobPresent, nil
	case sameRegistry:
		return BlobMount, nil
	}
	return BlobCopy, nil
}

// copyBlob streams blob from src into the upload session at location, starting over from a
// fresh session (up to three tries) when the transfer fails in a way worth retrying.
func copyBlob(ctx context.Context, c *registry.Client, src, dst registry.Repository, blob v1.Descriptor, location string, moved *atomic.Int64) error {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		lastErr = streamBlob(ctx, c, src, dst, blob, location, moved)
		if lastErr == nil {
			return nil
		}
		if !registry.Transient(lastErr) || ctx.Err() != nil {
			return lastErr
		}
		location = ""
		if present, err := c.BlobPresent(ctx, dst, blob.Digest); err == nil && present {
			// The upload completed but its answer was lost (a reset after the registry acted).
			return nil
		}
	}
	return lastErr
}

// streamBlob streams blob from src into the upload session at location; with no location, it
// starts one while the source's stream opens, the two requests in flight together.
func streamBlob(ctx context.Context, c *registry.Client, src, dst registry.Repository, blob v1.Descriptor, location string, moved *atomic.Int64) error {
	var body io.ReadCloser
	if location == "" {
		var openErr error
		opened := make(chan struct{})
		go func() {
			defer close(opened)
			body, _, openErr = c.OpenBlob(ctx, src, blob.Digest)
		}()
		loc, err := c.StartUpload(ctx, dst)
		<-opened
		if err == nil {
			err = openErr
		}
		if err != nil {
			if body != nil {
				body.Close()
			}
			return err
		}
		location = loc
	} else {
		var err error
		if body, _, err = c.OpenBlob(ctx, src, blob.Digest); err != nil {
			return err
		}
	}
	defer body.Close()
	var content io.Reader = body
	if moved != nil {
		content = countingReader{r: body, n: moved}
	}
	return c.UploadBlob(ctx, dst, location, blob.Digest, blob.Size, content)
}

// copyReferrers copies what refers to the digest into dst. A referrer with a subject is
// copied by digest and, where dst has no referrers API, added to dst's referrers tag schema
// index so that oras and cosign find it there. A cosign tag keeps its name; where dst already
// has that tag for another image, a .sig or .att is merged (both sets of signatures verify)
// and anything else is left alone with a warning. disc is discovery already running (started
// with the copy, once for all destinations); nil starts it here.
func copyReferrers(ctx context.Context, c *registry.Client, opts Options, dst registry.Repository, dr *DestinationResult, disc *discovery) error {
	if disc == nil {
		disc = newDiscovery(ctx, c, opts)
	}
	disc.start()
	refs, err := disc.wait(ctx)
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
		sub.referrerCopy = true
		label := r.Descriptor.Digest.String()
		sub.Progress = nil // one line per referrer below, not a copy report each
		if r.Tag != "" {
			label = r.Tag
			existing, err := c.HeadManifest(ctx, registry.Reference{Repository: dst, Tag: r.Tag})
			if err != nil {
				return err
			}
			if existing != nil && existing.Digest != r.Descriptor.Digest {
				if err := mergeExistingTag(ctx, c, opts, sub.Source, r.Tag, existing.Digest, dst, dr); err != nil {
					return err
				}
				continue
			}
			if existing == nil {
				sub.Tags = []string{r.Tag}
			}
		}
		graph, err := loadSource(ctx, c, sub.Source)
		if r.Tag == "" && failure.KindOf(err) == failure.NotFound {
			// Listed by the source's referrers index but gone (distribution's garbage-collect
			// --delete-untagged deletes untagged referrers the index still names): nothing to
			// copy, and no reason to refuse the promotion.
			dr.Warnings = append(dr.Warnings, fmt.Sprintf("referrer %s is listed at the source but no longer there (deleted or garbage-collected): not copied", r.Descriptor.Digest))
			continue
		}
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
		inner, err := promoteTo(ctx, c, sub, dst, func() (*sourceGraph, error) { return graph, nil }, nil)
		if err != nil {
			return fmt.Errorf("copying referrer %s: %w", r.Descriptor.Digest, err)
		}
		dr.Referrers = append(dr.Referrers, label)
		if opts.Progress != nil && !opts.DryRun {
			fmt.Fprintf(opts.Progress, "shipgate: referrer %s copied to %s\n", label, dst)
		}
		dr.BytesCopied += inner.BytesCopied
		dr.BytesToCopy += inner.BytesToCopy
	}
	if len(indexed) > 0 {
		// Every referrer is in dst before the index names it: the index never points at a
		// manifest that is not there.
		return updateReferrersIndex(ctx, c, opts, dst, indexed, dr)
	}
	return nil
}

// mergeExistingTag handles a cosign tag that dst already holds for another image (signatures
// made there): a .sig or .att gets the source's signatures merged in, anything else is left
// alone with a warning.
func mergeExistingTag(ctx context.Context, c *registry.Client, opts Options, src registry.Reference, tag string, existing v1.Hash, dst registry.Repository, dr *DestinationResult) error {
	if !Mergeable(tag) {
		dr.Warnings = append(dr.Warnings, fmt.Sprintf("left %s:%s alone: it already points at %s", dst, tag, existing))
		return nil
	}
	added, err := MergeCosignTag(ctx, c, src, dst, tag, opts.DryRun)
	if err != nil {
		return fmt.Errorf("merging %s into %s:%s: %w", src.Digest, dst, tag, err)
	}
	dr.Referrers = append(dr.Referrers, tag)
	if added > 0 {
		dr.MergedTags = append(dr.MergedTags, tag)
		if opts.Progress != nil && !opts.DryRun {
			fmt.Fprintf(opts.Progress, "shipgate: %d of the source's signatures merged into %s:%s beside the destination's own\n", added, dst, tag)
		}
	}
	return nil
}

// updateReferrersIndex adds the copied referrers to dst's referrers tag schema index (in a dry
// run: reports whether it would).
func updateReferrersIndex(ctx context.Context, c *registry.Client, opts Options, dst registry.Repository, indexed []v1.Descriptor, dr *DestinationResult) error {
	tag := registry.FallbackTag(opts.Source.Digest)
	if opts.DryRun {
		idx, err := readReferrersIndex(ctx, c, dst, opts.Source.Digest)
		if err != nil {
			return err
		}
		if len(idx.missing(indexed)) > 0 {
			dr.ReferrersIndex = tag
		}
		return nil
	}
	added, dropped, err := AddToReferrersIndex(ctx, c, dst, opts.Source.Digest, indexed)
	for _, d := range dropped {
		dr.Warnings = append(dr.Warnings, fmt.Sprintf("dropped %s from %s:%s: the index listed it but the manifest is gone, and the registry refuses an index naming it", d, dst, tag))
	}
	if err != nil {
		return err
	}
	if added > 0 {
		dr.ReferrersIndex = tag
		if opts.Progress != nil {
			fmt.Fprintf(opts.Progress, "shipgate: %d referrers added to %s:%s (no referrers API there)\n", added, dst, tag)
		}
	}
	return nil
}

// discovery is referrer discovery running in the background, started at most once.
type discovery struct {
	run  func()
	once sync.Once
	done chan struct{}
	refs []Referrer
	err  error
}

func newDiscovery(ctx context.Context, c *registry.Client, opts Options) *discovery {
	d := &discovery{done: make(chan struct{})}
	d.run = func() {
		go func() {
			defer close(d.done)
			d.refs, _, d.err = DiscoverReferrers(ctx, c, opts.Source.Repository, opts.Source.Digest, opts.SkipArtifactTypes)
		}()
	}
	return d
}

// start begins discovery unless it has begun; a nil discovery does nothing.
func (d *discovery) start() {
	if d != nil {
		d.once.Do(d.run)
	}
}

func (d *discovery) wait(ctx context.Context) ([]Referrer, error) {
	select {
	case <-d.done:
		return d.refs, d.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
