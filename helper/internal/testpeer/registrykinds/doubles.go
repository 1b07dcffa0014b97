package registrykinds

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// listing is what a double answers to GET /v2/<name>/tags/list: every tag of the repository
// (sorted, from the real registry behind it) and the request's query in; the status, the body
// and the Link header out. A nil body with status 200 is an empty body.
type listing func(repo string, all []string, q url.Values) (status int, body []byte, link string)

func tagsBody(repo string, tags []string) []byte {
	if tags == nil {
		tags = []string{}
	}
	b, _ := json.Marshal(struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}{repo, tags})
	return b
}

func errorBody(code, message string) []byte {
	b, _ := json.Marshal(map[string]any{"errors": []map[string]string{{"code": code, "message": message}}})
	return b
}

func nextLink(repo string, n int, last string) string {
	return fmt.Sprintf(`</v2/%s/tags/list?n=%d&last=%s>; rel="next"`, repo, n, url.QueryEscape(last))
}

// parseN reads `n`; ok is false when it is absent. A malformed n is a 400 on every registry
// read (distribution PAGINATION_NUMBER_INVALID, zot bare 400).
func parseN(q url.Values) (n int, ok bool, bad bool) {
	s := q.Get("n")
	if s == "" {
		return 0, false, false
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 {
		return 0, true, true
	}
	return v, true, false
}

// afterLast returns the tags strictly after last (any string works), as the spec describes
// and Quay, Harbor ≥ 2.5 and distribution ≥ 3.1.1 do.
func afterLast(all []string, last string) []string {
	if last == "" {
		return all
	}
	i := sort.SearchStrings(all, last)
	if i < len(all) && all[i] == last {
		i++
	}
	return all[i:]
}

// specPage pages like the distribution spec: tags after last, at most n (capped at limit when
// limit > 0), and a Link when more remain.
func specPage(repo string, all []string, q url.Values, limit int) (int, []byte, string) {
	n, hasN, bad := parseN(q)
	if bad {
		return http.StatusBadRequest, errorBody("PAGINATION_NUMBER_INVALID", "invalid number of results requested"), ""
	}
	tags := afterLast(all, q.Get("last"))
	if !hasN && limit > 0 {
		n, hasN = limit, true
	}
	if limit > 0 && n > limit {
		n = limit
	}
	link := ""
	if hasN && n < len(tags) {
		tags = tags[:n]
		if n > 0 {
			link = nextLink(repo, n, tags[n-1])
		}
	}
	return http.StatusOK, tagsBody(repo, tags), link
}

// zotListing reproduces zot's ListTags (project-zot/zot pkg/api/routes.go): tags sorted; a
// `last` that is not an existing tag answers 404 with an empty body (a bare WriteHeader); n=0
// gives an empty list; a Link `</v2/<name>/tags/list?n=N&last=T>` when more remain.
func zotListing(repo string, all []string, q url.Values) (int, []byte, string) {
	n, hasN, bad := parseN(q)
	if bad {
		return http.StatusBadRequest, []byte{}, ""
	}
	start := 0
	if last := q.Get("last"); last != "" {
		i := sort.SearchStrings(all, last)
		if i == len(all) || all[i] != last {
			return http.StatusNotFound, []byte{}, ""
		}
		start = i + 1
	}
	if hasN && n == 0 {
		return http.StatusOK, tagsBody(repo, nil), ""
	}
	stop := len(all)
	link := ""
	if hasN && start+n < len(all) {
		stop = start + n
		link = nextLink(repo, n, all[stop-1])
	}
	return http.StatusOK, tagsBody(repo, all[start:stop]), link
}

// distribution300Listing reproduces distribution v3.0.0's GetTags
// (distribution/distribution registry/handlers/tags.go at v3.0.0): sort.SearchStrings finds
// where `last` would be and the page starts one after it, so a `last` that is not a tag
// silently skips the tag that follows it; a Link only when n is smaller than what remains.
func distribution300Listing(repo string, all []string, q url.Values) (int, []byte, string) {
	tags := all
	if last := q.Get("last"); last != "" {
		i := sort.SearchStrings(tags, last)
		if i == len(tags) {
			tags = []string{}
		} else {
			tags = tags[i+1:]
		}
	}
	if s := q.Get("n"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return http.StatusBadRequest, errorBody("PAGINATION_NUMBER_INVALID", "invalid number of results requested"), ""
		}
		link := ""
		if n >= len(tags) {
			n = len(tags)
		} else if n > 0 {
			link = nextLink(repo, n, tags[n-1])
		}
		return http.StatusOK, tagsBody(repo, tags[:n]), link
	}
	return http.StatusOK, tagsBody(repo, tags), ""
}

// ecrOrder is ECR's listing order: not lexical (FACTS.md "Registry behaviour…": its tags come
// in no documented order). A hash of the tag gives a fixed, non-lexical order.
func ecrOrder(all []string) []string {
	out := append([]string(nil), all...)
	key := func(s string) string { h := sha256.Sum256([]byte(s)); return string(h[:]) }
	sort.Slice(out, func(i, j int) bool { return key(out[i]) < key(out[j]) })
	return out
}

// ecrToken is the opaque pagination token of the ECR double: only a token it issued (in a Link)
// is accepted as `last`.
func ecrToken(position int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("ecr-next:" + strconv.Itoa(position)))
}

func ecrPosition(token string) (int, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || !strings.HasPrefix(string(raw), "ecr-next:") {
		return 0, false
	}
	p, err := strconv.Atoi(strings.TrimPrefix(string(raw), "ecr-next:"))
	return p, err == nil && p >= 0
}

// ecrListing reproduces Amazon ECR's Docker API tag listing as FACTS.md "Registry behaviour…"
// sources it (ECR docs; ggcr issue #1091 for n > 1000): pages of at most 1000, 100 when n is
// absent, n > 1000 refused with 400, `last` an opaque token usable only as the Link gives it (any
// other `last` is refused with 400), tags not in lexical order, paging only through Link. The
// error bodies' exact wording is not documented; the double uses distribution-style codes.
func ecrListing(repo string, all []string, q url.Values) (int, []byte, string) {
	n, hasN, bad := parseN(q)
	if bad || n > 1000 {
		return http.StatusBadRequest, errorBody("PAGINATION_NUMBER_INVALID", "n must be between 1 and 1000"), ""
	}
	if !hasN || n == 0 {
		n = 100
	}
	ordered := ecrOrder(all)
	start := 0
	if last := q.Get("last"); last != "" {
		p, ok := ecrPosition(last)
		if !ok || p > len(ordered) {
			return http.StatusBadRequest, errorBody("PAGINATION_TOKEN_INVALID", "invalid pagination token"), ""
		}
		start = p
	}
	stop := min(start+n, len(ordered))
	link := ""
	if stop < len(ordered) {
		link = fmt.Sprintf(`</v2/%s/tags/list?n=%d&last=%s>; rel="next"`, repo, n, ecrToken(stop))
	}
	return http.StatusOK, tagsBody(repo, ordered[start:stop]), link
}

// ignoresPagingListing is distribution 2.8 as FACTS.md records it ("ignores n and last, returns
// every tag"): every tag in one answer, no Link, whatever the query says.
func ignoresPagingListing(repo string, all []string, _ url.Values) (int, []byte, string) {
	return http.StatusOK, tagsBody(repo, all), ""
}

// unsortedListing pages in the registry's own order, not lexically (FACTS.md: Debian's
// docker-registry 2.8 was seen returning unsorted pages; GHCR's order is undocumented): a
// fixed hash order, `last` an existing tag read as a position in that order, Link paging.
func unsortedListing(repo string, all []string, q url.Values) (int, []byte, string) {
	ordered := ecrOrder(all)
	n, hasN, bad := parseN(q)
	if bad {
		return http.StatusBadRequest, errorBody("PAGINATION_NUMBER_INVALID", "invalid number of results requested"), ""
	}
	start := 0
	if last := q.Get("last"); last != "" {
		start = len(ordered)
		for i, t := range ordered {
			if t == last {
				start = i + 1
				break
			}
		}
	}
	tags := ordered[start:]
	link := ""
	if hasN && n > 0 && n < len(tags) {
		tags = tags[:n]
		link = nextLink(repo, n, tags[n-1])
	}
	return http.StatusOK, tagsBody(repo, tags), link
}

// quayListing reproduces Quay's as FACTS.md "Registry behaviour…" sources it: n capped
// at 100, any `last` works (name > last), Link paging.
func quayListing(repo string, all []string, q url.Values) (int, []byte, string) {
	return specPage(repo, all, q, 100)
}

// emptyBodyListing answers 200 with no body at all (a proxy or registry fault seen in the wild:
// issue 13): nothing in it can be trusted.
func emptyBodyListing(string, []string, url.Values) (int, []byte, string) {
	return http.StatusOK, nil, ""
}

// noTagsFieldListing answers 200 with `{}`: JSON, but no tag list (a gateway's or proxy's
// placeholder answer; the discovery track found the ledger reading it as an empty listing). A
// listing must say "tags", even as null, to be one.
func noTagsFieldListing(string, []string, url.Values) (int, []byte, string) {
	return http.StatusOK, []byte("{}"), ""
}

// elsewhereListing announces more tags through a Link to another origin, which a client must
// not follow with its credentials: more exists, and it cannot be reached.
func elsewhereListing(repo string, all []string, q url.Values) (int, []byte, string) {
	status, body, link := specPage(repo, all, q, 0)
	if link != "" {
		link = strings.Replace(link, "</v2/", "<http://127.0.0.2:9/v2/", 1)
	}
	return status, body, link
}

// cappedListing reproduces Artifact Registry's listing limit (FACTS.md "Limits": the Docker API
// list is incomplete above 10,000 tags): only the first limit tags exist for the listing, paged
// like the spec. Which tags go missing is not documented; the double keeps the lexically first.
func cappedListing(limit int) listing {
	return func(repo string, all []string, q url.Values) (int, []byte, string) {
		if len(all) > limit {
			all = all[:limit]
		}
		return specPage(repo, all, q, 0)
	}
}

// distribution310Listing is distribution v3.1.0 as FACTS.md "Registry behaviour…" records it:
// paging as the spec says, but n > 1000 refused with 400 PAGINATION_NUMBER_INVALID (3.1.1 clamps
// it instead).
func distribution310Listing(repo string, all []string, q url.Values) (int, []byte, string) {
	if n, _, bad := parseN(q); bad || n > 1000 {
		return http.StatusBadRequest, errorBody("PAGINATION_NUMBER_INVALID", "invalid number of results requested"), ""
	}
	return specPage(repo, all, q, 0)
}

// harbor24Listing is Harbor before 2.5 as FACTS.md "Registry behaviour…" records it: sorted,
// Link paging, and a `last` that is not an existing tag refused with 400.
func harbor24Listing(repo string, all []string, q url.Values) (int, []byte, string) {
	if last := q.Get("last"); last != "" {
		i := sort.SearchStrings(all, last)
		if i == len(all) || all[i] != last {
			return http.StatusBadRequest, errorBody("BAD_REQUEST", "the last tag does not exist"), ""
		}
	}
	return specPage(repo, all, q, 0)
}

// repeatingListing announces a next page that is the first page again (a paging bug that
// would make a naive client loop for ever; docs/ledger.md requires it to be reported).
func repeatingListing(repo string, all []string, q url.Values) (int, []byte, string) {
	status, body, link := specPage(repo, all, url.Values{"n": q["n"]}, 0)
	if link != "" {
		link = fmt.Sprintf(`</v2/%s/tags/list?n=%s>; rel="next"`, repo, q.Get("n"))
	}
	return status, body, link
}
