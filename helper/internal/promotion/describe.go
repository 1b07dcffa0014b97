package promotion

import (
	"bytes"
	"context"
	"sort"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/shipgate/shipgate/helper/internal/registry"
)

// Artifact describes a resolved image: its digest, media type, platforms and the total bytes
// of every manifest and blob it needs.
type Artifact struct {
	Reference registry.Reference
	Digest    v1.Hash
	MediaType string
	Platforms []string
	Size      int64
}

// Describe resolves ref once (a tag becomes its digest) and measures what it needs.
func Describe(ctx context.Context, c *registry.Client, ref registry.Reference) (*Artifact, error) {
	g, err := loadSource(ctx, c, ref)
	if err != nil {
		return nil, err
	}
	a := &Artifact{Reference: ref, Digest: g.root.Digest, MediaType: string(g.root.MediaType), Size: int64(len(g.root.Bytes))}
	a.Reference.Digest = g.root.Digest
	if g.root.IsIndex() {
		index, err := v1.ParseIndexManifest(bytes.NewReader(g.root.Bytes))
		if err != nil {
			return nil, err
		}
		for _, d := range index.Manifests {
			if d.Platform != nil {
				a.Platforms = append(a.Platforms, d.Platform.String())
			}
		}
		sort.Strings(a.Platforms)
	}
	for _, img := range g.images() {
		if img != g.root {
			a.Size += int64(len(img.Bytes))
		}
		blobs, err := img.Blobs()
		if err != nil {
			return nil, err
		}
		for _, b := range blobs {
			a.Size += b.Size
		}
		if !g.root.IsIndex() {
			if p := imagePlatform(ctx, c, ref.Repository, img); p != "" {
				a.Platforms = []string{p}
			}
		}
	}
	return a, nil
}

// imagePlatform reads a single image's platform from its config (one blob read); "" when the
// config is not an image config.
func imagePlatform(ctx context.Context, c *registry.Client, repo registry.Repository, img *registry.Manifest) string {
	m, err := v1.ParseManifest(bytes.NewReader(img.Bytes))
	if err != nil || !m.Config.MediaType.IsConfig() {
		return ""
	}
	body, _, err := c.OpenBlob(ctx, repo, m.Config.Digest)
	if err != nil {
		return ""
	}
	defer body.Close()
	cfg, err := v1.ParseConfigFile(body)
	if err != nil || cfg.OS == "" {
		return ""
	}
	p := v1.Platform{OS: cfg.OS, Architecture: cfg.Architecture, Variant: cfg.Variant}
	return p.String()
}
