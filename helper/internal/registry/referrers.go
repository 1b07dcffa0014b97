package registry

import (
	"context"
	"net/http"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/shipgate/shipgate/helper/internal/failure"
)

// ReferrersAPI asks the registry for the referrers of digest through the OCI 1.1 API.
// supported is false when the registry has no such API (404/400/405), in which case index is
// nil.
func (c *Client) ReferrersAPI(ctx context.Context, repo Repository, digest v1.Hash) (index *v1.IndexManifest, supported bool, err error) {
	resp, err := c.do(ctx, request{
		method: http.MethodGet, registry: repo.Registry,
		url:    c.endpoint(repo.Registry, "/v2/"+repo.Path+"/referrers/"+digest.String(), nil),
		header: http.Header{"Accept": {"application/vnd.oci.image.index.v1+json"}},
		scopes: scopesFor(pullScope(repo.Path)),
	})
	if err != nil {
		return nil, false, err
	}
	switch resp.StatusCode {
	case http.StatusOK:
		defer resp.Body.Close()
		parsed, err := v1.ParseIndexManifest(resp.Body)
		if err != nil {
			return nil, false, failure.Wrap(failure.Safety, err, "parsing referrers of %s", digest)
		}
		return parsed, true, nil
	case http.StatusNotFound, http.StatusBadRequest, http.StatusMethodNotAllowed:
		drain(resp)
		return nil, false, nil
	}
	return nil, false, c.responseError("listing referrers of "+digest.String(), resp)
}

// FallbackTag is the tag of the OCI 1.1 referrers tag schema for digest: sha256-<hex>. On a
// registry without the referrers API it holds an index of digest's referrers, shared by every
// tool that pushes one (oras, cosign in oci-1-1 mode, shipgate's promotion, which merges into it:
// promotion/referrersindex.go). shipgate's own ledger records are never listed there.
func FallbackTag(digest v1.Hash) string { return digest.Algorithm + "-" + digest.Hex }
