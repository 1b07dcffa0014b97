package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/shipgate/shipgate/helper/internal/failure"
)

// BlobPresent reports whether repo holds blob digest.
func (c *Client) BlobPresent(ctx context.Context, repo Repository, digest v1.Hash) (bool, error) {
	resp, err := c.do(ctx, request{
		method: http.MethodHead, registry: repo.Registry,
		url:    c.endpoint(repo.Registry, "/v2/"+repo.Path+"/blobs/"+digest.String(), nil),
		scopes: scopesFor(pullScope(repo.Path)),
	})
	if err != nil {
		return false, err
	}
	defer drain(resp)
	switch resp.StatusCode {
	case http.StatusOK:
		return true, nil
	case http.StatusNotFound:
		return false, nil
	}
	return false, c.responseError(fmt.Sprintf("checking blob %s in %s", digest, repo), resp)
}

// MountBlob asks the registry to mount blob digest from another repository of the same
// registry into dst. It returns mounted=true on 201 (also when dst already held it); on 202 the
// registry opened an upload session instead and returns its location for UploadBlob.
func (c *Client) MountBlob(ctx context.Context, dst, from Repository, digest v1.Hash) (mounted bool, uploadLocation string, err error) {
	query := url.Values{"mount": {digest.String()}, "from": {from.Path}}
	resp, err := c.do(ctx, request{
		method: http.MethodPost, registry: dst.Registry,
		url:    c.endpoint(dst.Registry, "/v2/"+dst.Path+"/blobs/uploads/", query),
		header: http.Header{"Content-Length": {"0"}},
		scopes: scopesFor(pushScope(dst.Path), pullScope(from.Path)),
	})
	if err != nil {
		return false, "", err
	}
	switch resp.StatusCode {
	case http.StatusCreated:
		drain(resp)
		return true, "", nil
	case http.StatusAccepted:
		location, err := c.resolveLocation(dst.Registry, resp)
		drain(resp)
		return false, location, err
	}
	return false, "", c.responseError(fmt.Sprintf("mounting blob %s into %s", digest, dst), resp)
}

// StartUpload opens an upload session in repo and returns its location.
func (c *Client) StartUpload(ctx context.Context, repo Repository) (string, error) {
	resp, err := c.do(ctx, request{
		method: http.MethodPost, registry: repo.Registry,
		url:    c.endpoint(repo.Registry, "/v2/"+repo.Path+"/blobs/uploads/", nil),
		header: http.Header{"Content-Length": {"0"}},
		scopes: scopesFor(pushScope(repo.Path)),
	})
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusAccepted {
		return "", c.responseError("starting upload to "+repo.String(), resp)
	}
	defer drain(resp)
	return c.resolveLocation(repo.Registry, resp)
}

func (c *Client) resolveLocation(registry string, resp *http.Response) (string, error) {
	location := resp.Header.Get("Location")
	if location == "" {
		return "", failure.New(failure.Safety, "registry %s opened an upload without a Location", registry)
	}
	u, err := resp.Request.URL.Parse(location)
	if err != nil {
		return "", failure.Wrap(failure.Safety, err, "registry %s sent a malformed upload location", registry)
	}
	return u.String(), nil
}

// OpenBlob streams blob digest from repo. The caller closes the reader; it fails on EOF when
// the bytes read do not hash to digest, so a tampered or truncated stream is never accepted.
func (c *Client) OpenBlob(ctx context.Context, repo Repository, digest v1.Hash) (io.ReadCloser, int64, error) {
	resp, err := c.do(ctx, request{
		method: http.MethodGet, registry: repo.Registry,
		url:    c.endpoint(repo.Registry, "/v2/"+repo.Path+"/blobs/"+digest.String(), nil),
		scopes: scopesFor(pullScope(repo.Path)),
	})
	if err != nil {
		return nil, 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, 0, c.responseError(fmt.Sprintf("fetching blob %s from %s", digest, repo), resp)
	}
	return &verifyingReader{body: resp.Body, hash: sha256.New(), want: digest}, resp.ContentLength, nil
}

type verifyingReader struct {
	body io.ReadCloser
	hash hash.Hash
	want v1.Hash
}

func (r *verifyingReader) Read(p []byte) (int, error) {
	n, err := r.body.Read(p)
	r.hash.Write(p[:n])
	if err == io.EOF {
		if got := "sha256:" + hex.EncodeToString(r.hash.Sum(nil)); got != r.want.String() {
			return n, failure.New(failure.Safety, "blob %s arrived with digest %s (truncated or tampered)", r.want, got)
		}
	}
	return n, err
}

func (r *verifyingReader) Close() error { return r.body.Close() }

// UploadBlob completes an upload session at location with the blob's content in one PUT
// (a monolithic upload: the content streams through, never held whole in memory).
func (c *Client) UploadBlob(ctx context.Context, repo Repository, location string, digest v1.Hash, size int64, content io.Reader) error {
	return c.uploadBlob(ctx, repo, location, digest, size, func() (io.ReadCloser, error) { return io.NopCloser(content), nil }, true)
}

// uploadBlob PUTs the body open returns; a stream (readable once) is never replayed.
func (c *Client) uploadBlob(ctx context.Context, repo Repository, location string, digest v1.Hash, size int64, open func() (io.ReadCloser, error), stream bool) error {
	u, err := url.Parse(location)
	if err != nil {
		return failure.Wrap(failure.Safety, err, "parsing upload location")
	}
	q := u.Query()
	q.Set("digest", digest.String())
	u.RawQuery = q.Encode()
	resp, err := c.do(ctx, request{
		method: http.MethodPut, registry: repo.Registry, url: u.String(),
		header: http.Header{"Content-Type": {"application/octet-stream"}},
		body:   open,
		stream: stream,
		length: size,
		scopes: scopesFor(pushScope(repo.Path)),
	})
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusCreated {
		return c.responseError(fmt.Sprintf("uploading blob %s to %s", digest, repo), resp)
	}
	defer drain(resp)
	if d := resp.Header.Get("Docker-Content-Digest"); d != "" && d != digest.String() {
		return failure.New(failure.Safety, "registry stored blob %s as %s (digest mismatch)", digest, d)
	}
	return nil
}

// PushSmallBlob uploads content held in memory (ledger records, the empty config) as
// digest: one POST for the session and one PUT with the bytes. A PUT that fails is not replayed
// into the same session (the registry may have committed it and closed the session): a fresh
// session is opened instead, after checking whether the blob arrived after all.
func (c *Client) PushSmallBlob(ctx context.Context, repo Repository, digest v1.Hash, content []byte) error {
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if attempt > 0 {
			if present, perr := c.BlobPresent(ctx, repo, digest); perr == nil && present {
				return nil
			}
		}
		var location string
		location, err = c.StartUpload(ctx, repo)
		if err == nil {
			err = c.uploadBlob(ctx, repo, location, digest, int64(len(content)),
				func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(content)), nil }, true)
		}
		if err == nil || !Transient(err) || ctx.Err() != nil {
			return err
		}
	}
	return err
}

// Transient reports whether a failed blob transfer is worth starting over from a fresh upload
// session: the registry or the connection failed (Unavailable), a session vanished (NotFound),
// or the bytes arrived truncated or tampered with (Safety: never accepted, fetched again).
func Transient(err error) bool {
	switch failure.KindOf(err) {
	case failure.Unavailable, failure.NotFound, failure.Safety:
		return true
	}
	return false
}
