package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/shipgate/shipgate/helper/internal/failure"
)

// acceptManifests is every manifest media type shipgate reads.
var acceptManifests = []string{
	string(types.OCIImageIndex), string(types.OCIManifestSchema1), string(types.DockerManifestList),
	string(types.DockerManifestSchema2),
}

// maxManifestSize bounds a manifest read (distribution's own limit is 4 MiB).
const maxManifestSize = 4 << 20

// Manifest is a manifest's exact bytes with its media type and digest.
type Manifest struct {
	Bytes     []byte
	MediaType types.MediaType
	Digest    v1.Hash
	// ServerTime is the registry's Date header, when it sent one.
	ServerTime time.Time
}

// IsIndex reports whether the manifest is an OCI index or Docker manifest list.
func (m *Manifest) IsIndex() bool { return m.MediaType.IsIndex() }

// Descriptor returns the manifest's descriptor.
func (m *Manifest) Descriptor() v1.Descriptor {
	return v1.Descriptor{MediaType: m.MediaType, Digest: m.Digest, Size: int64(len(m.Bytes))}
}

// Children returns the manifests an index points to (nil for an image).
func (m *Manifest) Children() ([]v1.Descriptor, error) {
	if !m.IsIndex() {
		return nil, nil
	}
	index, err := v1.ParseIndexManifest(bytes.NewReader(m.Bytes))
	if err != nil {
		return nil, failure.Wrap(failure.Safety, err, "parsing index %s", m.Digest)
	}
	return index.Manifests, nil
}

// Blobs returns the config and layers of an image manifest (nil for an index).
func (m *Manifest) Blobs() ([]v1.Descriptor, error) {
	if m.IsIndex() {
		return nil, nil
	}
	manifest, err := v1.ParseManifest(bytes.NewReader(m.Bytes))
	if err != nil {
		return nil, failure.Wrap(failure.Safety, err, "parsing manifest %s", m.Digest)
	}
	blobs := make([]v1.Descriptor, 0, len(manifest.Layers)+1)
	blobs = append(blobs, manifest.Config)
	blobs = append(blobs, manifest.Layers...)
	return blobs, nil
}

// GetManifest fetches a manifest by tag or digest. A manifest fetched by digest is verified
// against that digest, and any manifest against the Docker-Content-Digest the registry sent
// with it. A body cut short, stalled, or not matching its digest is fetched again (bounded by
// the retry policy's attempts), never accepted.
func (c *Client) GetManifest(ctx context.Context, ref Reference) (*Manifest, error) {
	attempts := max(c.opts.Retry.Attempts, 1)
	for attempt := 1; ; attempt++ {
		m, err := c.getManifest(ctx, ref)
		var bad *badBody
		if err == nil || !errors.As(err, &bad) || attempt >= attempts || ctx.Err() != nil {
			return m, err
		}
		c.logf("%v; fetching it again", err)
	}
}

// badBody marks a response whose headers arrived but whose body did not arrive intact.
type badBody struct{ err error }

func (b *badBody) Error() string { return b.err.Error() }
func (b *badBody) Unwrap() error { return b.err }

// manifestRequest is a GET or HEAD of ref's manifest, accepting every manifest type shipgate
// reads.
func (c *Client) manifestRequest(method string, ref Reference) request {
	return request{
		method: method, registry: ref.Repository.Registry,
		url:    c.endpoint(ref.Repository.Registry, "/v2/"+ref.Repository.Path+"/manifests/"+ref.identifier(), nil),
		header: http.Header{"Accept": acceptManifests},
		scopes: scopesFor(pullScope(ref.Repository.Path)),
	}
}

func (c *Client) getManifest(ctx context.Context, ref Reference) (*Manifest, error) {
	resp, err := c.do(ctx, c.manifestRequest(http.MethodGet, ref))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, c.responseError("fetching manifest "+ref.String(), resp)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxManifestSize+1))
	if err != nil {
		return nil, &badBody{failure.Wrap(failure.Unavailable, err, "reading manifest %s", ref)}
	}
	if len(data) > maxManifestSize {
		return nil, failure.New(failure.Safety, "manifest %s is larger than %d bytes", ref, maxManifestSize)
	}
	digest, _, err := v1.SHA256(bytes.NewReader(data))
	if err != nil {
		return nil, failure.Wrap(failure.Internal, err, "hashing manifest")
	}
	if ref.HasDigest() && digest != ref.Digest {
		return nil, &badBody{failure.New(failure.Safety, "registry returned manifest %s when asked for %s (digest mismatch)", digest, ref.Digest)}
	}
	if d := resp.Header.Get("Docker-Content-Digest"); d != "" && d != digest.String() {
		return nil, &badBody{failure.New(failure.Safety, "manifest %s arrived as %s, not the %s the registry named (truncated or tampered)", ref, digest, d)}
	}
	if int64(len(data)) != resp.ContentLength && resp.ContentLength >= 0 {
		return nil, &badBody{failure.New(failure.Unavailable, "manifest %s: %d bytes arrived of %d", ref, len(data), resp.ContentLength)}
	}
	m := &Manifest{Bytes: data, MediaType: types.MediaType(resp.Header.Get("Content-Type")), Digest: digest}
	if mt := mediaTypeOf(data); mt != "" {
		m.MediaType = mt
	}
	if t, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
		m.ServerTime = t
	}
	return m, nil
}

// mediaTypeOf reads the mediaType field a manifest declares about itself.
func mediaTypeOf(data []byte) types.MediaType {
	var probe struct {
		MediaType types.MediaType `json:"mediaType"`
	}
	_ = json.Unmarshal(data, &probe)
	return probe.MediaType
}

// HeadManifest reports whether a manifest exists, with its descriptor. A registry answering
// with a different digest than a pinned one is a safety failure.
func (c *Client) HeadManifest(ctx context.Context, ref Reference) (*v1.Descriptor, error) {
	resp, err := c.do(ctx, c.manifestRequest(http.MethodHead, ref))
	if err != nil {
		return nil, err
	}
	defer drain(resp)
	if resp.StatusCode == http.StatusNotFound {
		return nil, nil
	}
	if resp.StatusCode != http.StatusOK {
		return nil, c.responseError("checking manifest "+ref.String(), resp)
	}
	desc := &v1.Descriptor{MediaType: types.MediaType(resp.Header.Get("Content-Type"))}
	desc.Size, _ = strconv.ParseInt(resp.Header.Get("Content-Length"), 10, 64)
	if d := resp.Header.Get("Docker-Content-Digest"); d != "" {
		h, err := v1.NewHash(d)
		if err != nil {
			return nil, failure.Wrap(failure.Safety, err, "registry sent a malformed digest for %s", ref)
		}
		desc.Digest = h
	}
	if ref.HasDigest() {
		if desc.Digest.Hex != "" && desc.Digest != ref.Digest {
			return nil, failure.New(failure.Safety, "registry reports %s for %s (digest mismatch)", desc.Digest, ref)
		}
		desc.Digest = ref.Digest
	}
	return desc, nil
}

// PutManifest uploads manifest bytes under ref's identifier (its digest or tag) and verifies the
// digest the registry reports against the bytes sent.
func (c *Client) PutManifest(ctx context.Context, repo Repository, identifier string, m *Manifest) error {
	resp, err := c.do(ctx, request{
		method: http.MethodPut, registry: repo.Registry,
		url:    c.endpoint(repo.Registry, "/v2/"+repo.Path+"/manifests/"+identifier, nil),
		header: http.Header{"Content-Type": {string(m.MediaType)}},
		body:   func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(m.Bytes)), nil },
		length: int64(len(m.Bytes)),
		scopes: scopesFor(pushScope(repo.Path)),
	})
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return c.responseError(fmt.Sprintf("writing manifest %s:%s", repo, identifier), resp)
	}
	defer drain(resp)
	if d := resp.Header.Get("Docker-Content-Digest"); d != "" && d != m.Digest.String() {
		return failure.New(failure.Safety, "registry stored %s as %s, not %s (digest mismatch)", identifier, d, m.Digest)
	}
	return nil
}
