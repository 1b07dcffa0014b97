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

// FallbackTag is the OCI referrers fallback tag of digest: sha256-<hex>. shipgate reads it to
// discover referrers on registries without the API but never writes it: it is shared with
// other tools (signers keep their index there) and has no compare-and-swap.
func FallbackTag(digest v1.Hash) string { return digest.Algorithm + "-" + digest.Hex }
