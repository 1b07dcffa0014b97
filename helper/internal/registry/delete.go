package registry

import (
	"context"
	"errors"
	"net/http"

	"github.com/shipgate/shipgate/helper/internal/failure"
)

// ErrDeleteRefused marks a registry that will not remove a tag: deletion disabled (distribution
// answers 405 UNSUPPORTED), no tag deletion at all (distribution 2.8 reads the tag as a digest
// and answers 400 DIGEST_INVALID), or an immutability rule (Quay 409 TAG_IMMUTABLE, Harbor 412).
var ErrDeleteRefused = errors.New("the registry refuses to delete tags here")

// DeleteTag removes one tag and nothing else: DELETE /v2/<name>/manifests/<tag> (OCI
// distribution spec 1.1, "Deleting tags"; distribution v3's manifest handler calls Untag for a
// tag reference). It never deletes by digest, which removes the manifest and every tag on it
// (distribution's DeleteManifest untags all referencing tags). A tag already gone is reported as
// failure.NotFound so callers can treat a repeated deletion as done.
func (c *Client) DeleteTag(ctx context.Context, repo Repository, tag string) error {
	if !ValidTag(tag) {
		return failure.New(failure.Usage, "deleting %s:%s: not a tag", repo, tag)
	}
	resp, err := c.do(ctx, request{
		method: http.MethodDelete, registry: repo.Registry,
		url:    c.endpoint(repo.Registry, "/v2/"+repo.Path+"/manifests/"+tag, nil),
		scopes: scopesFor(deleteScope(repo.Path)),
	})
	if err != nil {
		return err
	}
	switch resp.StatusCode {
	case http.StatusAccepted, http.StatusOK, http.StatusNoContent:
		drain(resp)
		return nil
	case http.StatusBadRequest, http.StatusMethodNotAllowed, http.StatusConflict, http.StatusPreconditionFailed:
		err := c.responseError("deleting tag "+repo.String()+":"+tag, resp)
		return failure.WithHint(failure.New(failure.Safety, "%w: %v", ErrDeleteRefused, err),
			"enable tag deletion on the registry (distribution v3 with storage.delete.enabled), or let the registry's own cleanup rules expire old ledger tags (docs/ledger.md)")
	}
	return c.responseError("deleting tag "+repo.String()+":"+tag, resp)
}

// DeleteManifest removes the manifest ref names by digest (and, on distribution, every tag on
// it): used only for manifests shipgate itself wrote and nobody reads, such as a copy's probe
// (promotion, "Manifest first"). Registries that do not delete answer with an error the caller
// may ignore.
func (c *Client) DeleteManifest(ctx context.Context, ref Reference) error {
	if !ref.HasDigest() {
		return failure.New(failure.Usage, "deleting %s: not pinned by digest", ref)
	}
	resp, err := c.do(ctx, request{
		method: http.MethodDelete, registry: ref.Repository.Registry,
		url:    c.endpoint(ref.Repository.Registry, "/v2/"+ref.Repository.Path+"/manifests/"+ref.Digest.String(), nil),
		scopes: scopesFor(deleteScope(ref.Repository.Path)),
	})
	if err != nil {
		return err
	}
	switch resp.StatusCode {
	case http.StatusAccepted, http.StatusOK, http.StatusNoContent:
		drain(resp)
		return nil
	}
	return c.responseError("deleting "+ref.String(), resp)
}
