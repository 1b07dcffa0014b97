package registry_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/registry"
)

func tagNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("t%05d", i)
	}
	return out
}

func tagsJSON(tags []string) string {
	b, _ := json.Marshal(map[string]any{"name": "app", "tags": tags})
	return string(b)
}

// A first page (n=1000, no `last`) is the whole listing only when it provably is: a tag list,
// no next page here or elsewhere, fewer tags than asked for, and not exactly at a registry's
// known page cap or listing limit. Each answer comes from a real HTTP server, read by
// ListTagsOnce as referrer discovery reads it.
func TestFirstPageIsWholeOnlyWhenProvablySo(t *testing.T) {
	cases := []struct {
		name   string
		body   string
		link   string
		whole  bool
		nTags  int
		reason string
	}{
		{name: "a few tags", body: tagsJSON([]string{"build", "v1"}), whole: true, nTags: 2},
		{name: "tags null (none)", body: `{"name":"app","tags":null}`, whole: true},
		{name: "an empty list", body: `{"name":"app","tags":[]}`, whole: true},
		{name: "999 tags", body: tagsJSON(tagNames(999)), whole: true, nTags: 999},
		{name: "no tags field", body: `{"name":"app"}`, reason: "no tag list"},
		{name: "an error body sent with 200", body: `{"errors":[{"code":"UNKNOWN"}]}`, reason: "no tag list"},
		{name: "a next page", body: tagsJSON([]string{"a"}), link: `</v2/app/tags/list?n=1&last=a>; rel="next"`, reason: "next page"},
		{name: "a next page at another origin", body: tagsJSON([]string{"a"}), link: `<http://127.0.0.2:9/v2/app/tags/list?last=a>; rel="next"`, reason: "another origin"},
		{name: "as many as asked for", body: tagsJSON(tagNames(1000)), reason: "as many as asked for"},
		{name: "more than asked for (n ignored)", body: tagsJSON(tagNames(1200)), reason: "as many as asked for"},
		{name: "Quay's cap of 100, its Link lost", body: tagsJSON(tagNames(100)), reason: "Quay caps n at 100"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Query().Get("n") != "1000" || r.URL.Query().Has("last") {
					t.Errorf("query %q, want n=1000 and no last", r.URL.RawQuery)
				}
				if tc.link != "" {
					w.Header().Set("Link", tc.link)
				}
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprint(w, tc.body)
			}))
			defer server.Close()
			c := registry.New(registry.Options{})
			page, err := c.ListTagsOnce(context.Background(), registry.Repository{Registry: strings.TrimPrefix(server.URL, "http://"), Path: "app"}, registry.TagQuery{N: 1000})
			if err != nil {
				t.Fatal(err)
			}
			why := page.Incomplete(1000)
			if (why == "") != tc.whole || !strings.Contains(why, tc.reason) {
				t.Fatalf("Incomplete = %q, want whole %v (%q)", why, tc.whole, tc.reason)
			}
			if tc.whole && len(page.Tags) != tc.nTags {
				t.Errorf("%d tags, want %d", len(page.Tags), tc.nTags)
			}
		})
	}
	for _, limit := range registry.ListingLimits {
		page := &registry.TagPage{Listed: true, Tags: tagNames(limit.Total)}
		if why := page.Incomplete(limit.Total + 1); !strings.Contains(why, limit.Who) {
			t.Errorf("a page of %d tags: %q, want it named as %s", limit.Total, why, limit.Who)
		}
	}
}

// An empty body is read once by ListTagsOnce (its caller has a cheaper way on than retries),
// and reported as unavailable, never as an empty listing.
func TestListTagsOnceDoesNotRetryAnEmptyBody(t *testing.T) {
	var hits atomic.Int32
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	defer server.Close()
	c := registry.New(registry.Options{})
	_, err := c.ListTagsOnce(context.Background(), registry.Repository{Registry: strings.TrimPrefix(server.URL, "http://"), Path: "app"}, registry.TagQuery{N: 1000})
	if failure.KindOf(err) != failure.Unavailable || !strings.Contains(err.Error(), "empty body") {
		t.Fatalf("error %v, want unavailable: empty body", err)
	}
	if hits.Load() != 1 {
		t.Errorf("%d requests, want 1", hits.Load())
	}
}
