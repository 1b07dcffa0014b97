package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/shipgate/shipgate/helper/internal/failure"
)

// TagPage is one page of a repository's tags.
type TagPage struct {
	Tags []string
	// Next is the URL of the next page from the Link header, or "" on the last page.
	Next string
	// Unfollowed is a next-page Link that points at another origin: more tags were announced,
	// but shipgate sends no credentials elsewhere, so they cannot be read.
	Unfollowed string
	// ServerTime is the registry's Date header, when it sent one.
	ServerTime time.Time
	// Listed is set when the answer was 200 with a JSON object holding a "tags" field (a list,
	// or null for none): a 200 `{}` or an error body sent with 200 is not a listing.
	Listed bool
}

// ListingLimit is a number of tags at which a registry's listing is known to stop being
// complete: a listing that holds exactly that many may hold less than the repository.
type ListingLimit struct {
	Total int
	Who   string
}

// ListingLimits are the totals at which a registry's whole listing is known to stop being
// complete (FACTS.md "Registry behaviour…"). The ledger fails a full scan that ends at one;
// referrer discovery does not trust a page holding one.
var ListingLimits = []ListingLimit{
	{10000, "Artifact Registry's Docker API lists at most 10,000 tags"},
}

// PageCaps are page sizes registries clamp `n` to, paging the rest by Link (FACTS.md
// "Registry behaviour…": Quay caps n at 100; ECR's default page and Docker Hub's reported page
// are 100). A first page of exactly that size is not trusted to be the whole listing even
// without a Link: a proxy that drops the Link header would otherwise hide the rest.
var PageCaps = []ListingLimit{
	{100, "Quay caps n at 100 (ECR's and Docker Hub's pages are 100 too)"},
}

// Incomplete says why page, the first page of a listing asked for with at most n tags and no
// `last`, may not be the repository's whole listing, or "" when it provably is: a tag list
// (Listed), no next page announced (here or at another origin), fewer tags than n (a registry
// that ignores n and answers everything at once is whole only below n), and not exactly at a
// registry's known listing limit or page cap. The missing Link alone is what the protocol
// promises (distribution's API spec, "Pagination": "If the header is not present, the client
// can assume that all results have been received"); the other conditions are there because
// registries and proxies have been seen to break that promise (FACTS.md "Registry behaviour…").
func (p *TagPage) Incomplete(n int) string {
	switch {
	case !p.Listed:
		return "the answer held no tag list"
	case p.Unfollowed != "":
		return "the registry announced more tags at another origin"
	case p.Next != "":
		return "the registry announced a next page"
	case len(p.Tags) >= n:
		return fmt.Sprintf("the page holds %d tags, as many as asked for (%d)", len(p.Tags), n)
	}
	for _, limits := range [][]ListingLimit{ListingLimits, PageCaps} {
		for _, l := range limits {
			if len(p.Tags) == l.Total {
				return fmt.Sprintf("the page holds exactly %d tags, where %s", l.Total, l.Who)
			}
		}
	}
	return ""
}

// TagQuery selects a page of tags: after Last (exclusive) when non-empty, at most N (0: the
// registry's default); Next, when non-empty, is a Link URL from a previous page and overrides
// both.
type TagQuery struct {
	Last string
	N    int
	Next string
}

// ListTagsPage fetches one page of repo's tags, starting after last (exclusive) when last is
// non-empty, asking for at most n (0: the registry's default). When next is non-empty it is a
// Link URL from a previous page and last and n are ignored. A 404 reads as an empty page (a
// repository with no tags yet); callers that must tell a missing repository, or a registry
// refusing `last`, from an empty one use ListTags.
func (c *Client) ListTagsPage(ctx context.Context, repo Repository, last string, n int, next string) (*TagPage, error) {
	page, err := c.ListTags(ctx, repo, TagQuery{Last: last, N: n, Next: next})
	if failure.KindOf(err) == failure.NotFound {
		return &TagPage{}, nil
	}
	return page, err
}

// ListTags fetches one page of repo's tags as the registry answered it: a 404 is an error of
// kind NotFound carrying the registry's codes (NAME_UNKNOWN for a repository it does not know;
// none for zot's bare 404 to a `last` that is not a tag), never an empty page. A body that is
// not a tag list (an empty body included) is read again up to the retry policy's attempts, then
// reported as unavailable.
func (c *Client) ListTags(ctx context.Context, repo Repository, q TagQuery) (*TagPage, error) {
	attempts := max(c.opts.Retry.Attempts, 1)
	for attempt := 1; ; attempt++ {
		page, err := c.listTagsPage(ctx, repo, q.Last, q.N, q.Next)
		if err == nil && !page.Listed {
			// 200 without a "tags" field ({} from a gateway, say) is no listing: read as one, it
			// would be an empty repository, and the ledger would answer "never deployed".
			page, err = nil, &badBody{failure.New(failure.Unavailable, "reading tag list of %s: the registry answered 200 without a tag list", repo)}
		}
		var bad *badBody
		if err == nil || !errors.As(err, &bad) || attempt >= attempts || ctx.Err() != nil {
			return page, err
		}
		c.logf("%v; reading it again", err)
	}
}

// ListTagsOnce is ListTags without reading a bad body (an empty one included) again: for a
// caller that has another way to its answer, cheaper than the retries (referrer discovery
// probes its few tags by name).
func (c *Client) ListTagsOnce(ctx context.Context, repo Repository, q TagQuery) (*TagPage, error) {
	return c.listTagsPage(ctx, repo, q.Last, q.N, q.Next)
}

func (c *Client) listTagsPage(ctx context.Context, repo Repository, last string, n int, next string) (*TagPage, error) {
	target := next
	if target == "" {
		query := url.Values{}
		if n > 0 {
			query.Set("n", strconv.Itoa(n))
		}
		if last != "" {
			query.Set("last", last)
		}
		target = c.endpoint(repo.Registry, "/v2/"+repo.Path+"/tags/list", query)
	}
	resp, err := c.do(ctx, request{
		method: http.MethodGet, registry: repo.Registry, url: target,
		scopes: scopesFor(pullScope(repo.Path)),
	})
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, c.responseError("listing tags of "+repo.String(), resp)
	}
	// Read to the end (a registry may send a newline after the JSON), so that the connection
	// is reused for the next request rather than closed.
	defer drain(resp)
	var body struct {
		// Raw, to tell "tags": null (none) from no tags field at all (not a listing).
		Tags json.RawMessage `json:"tags"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 32<<20)).Decode(&body); err != nil {
		if errors.Is(err, io.EOF) {
			err = errors.New("the registry answered 200 with an empty body")
		}
		return nil, &badBody{failure.Wrap(failure.Unavailable, err, "reading tag list of %s", repo)}
	}
	page := &TagPage{Listed: len(body.Tags) > 0}
	if page.Listed {
		if err := json.Unmarshal(body.Tags, &page.Tags); err != nil {
			return nil, &badBody{failure.Wrap(failure.Unavailable, err, "reading tag list of %s", repo)}
		}
	}
	if t, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
		page.ServerTime = t
	}
	if link := nextLink(resp.Header.Get("Link")); link != "" {
		u, err := resp.Request.URL.Parse(link)
		if err == nil && u.Scheme == resp.Request.URL.Scheme && u.Host == resp.Request.URL.Host {
			page.Next = u.String()
		} else {
			page.Unfollowed = redactURL(link)
		}
	}
	return page, nil
}

// nextLink extracts the rel="next" URL of an RFC 5988 Link header.
func nextLink(header string) string {
	for _, part := range strings.Split(header, ",") {
		segments := strings.Split(part, ";")
		if len(segments) < 2 {
			continue
		}
		target := strings.Trim(strings.TrimSpace(segments[0]), "<>")
		for _, param := range segments[1:] {
			if strings.ReplaceAll(strings.TrimSpace(param), " ", "") == `rel="next"` {
				return target
			}
		}
	}
	return ""
}
