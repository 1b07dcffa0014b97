package ledger

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shipgate/shipgate/helper/internal/registry"
)

// specTags serves one repository's tags/list as the distribution spec pages it (any `last`,
// n honoured, Link when more remain), from a fixed set: enough for the reader's seek.
func specTags(tags []string) http.Handler {
	sorted := append([]string(nil), tags...)
	sort.Strings(sorted)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		out := sorted[sort.SearchStrings(sorted, q.Get("last")):]
		if len(out) > 0 && out[0] == q.Get("last") {
			out = out[1:]
		}
		if n, err := strconv.Atoi(q.Get("n")); err == nil && n < len(out) {
			out = out[:n]
			w.Header().Set("Link", fmt.Sprintf(`</v2/team/app/tags/list?n=%d&last=%s>; rel="next"`, n, url.QueryEscape(out[n-1])))
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"name": "team/app", "tags": out})
	})
}

// The order every reader sees does not depend on page boundaries: for random ledgers full of
// ties (two environments, shared stamps, every status, records and foreign tags between), the
// seek at every page size yields exactly the entries of a full sort by Newer.
func TestOneTotalOrderWhateverThePages(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	base := time.Now().Add(-time.Hour).Unix()
	statuses := []Status{Deploying, Deployed, Good, Bad}
	for round := 0; round < 25; round++ {
		var tags []string
		var want []Entry
		for i := 0; i < 5+rng.Intn(30); i++ {
			env := []string{"production", "staging"}[rng.Intn(2)]
			stamp := Stamp{Seconds: base + int64(rng.Intn(4)), Counter: rng.Intn(2)}
			e, err := NewEntry(env, statuses[rng.Intn(4)], stamp, fmt.Sprintf("%040x", rng.Int63()), "")
			if err != nil {
				t.Fatal(err)
			}
			tags = append(tags, e.Tag, e.RecordTag())
			if env == "production" {
				want = append(want, e)
			}
		}
		tags = append(tags, "latest", "production-eu.x", "sha256-abc.sig")
		sort.Slice(want, func(i, j int) bool { return Newer(want[i], want[j]) })
		server := httptest.NewServer(specTags(tags))
		u, _ := url.Parse(server.URL)
		for size := 2; size <= 9; size++ {
			l := New(registry.New(registry.Options{}), registry.Repository{Registry: u.Host, Path: "team/app"})
			l.PageSize = size
			var got []string
			rd, err := l.scan(context.Background(), "production", func(e Entry) bool { got = append(got, e.Tag); return true })
			if err != nil {
				t.Fatal(err)
			}
			if len(want) >= 2 && !strings.HasPrefix(rd.how, "paged") {
				t.Fatalf("round %d size %d: not a seek (%s)", round, size, rd.how)
			}
			var wantTags []string
			for _, e := range want {
				wantTags = append(wantTags, e.Tag)
			}
			if strings.Join(got, " ") != strings.Join(wantTags, " ") {
				t.Fatalf("round %d, pages of %d:\n got %v\nwant %v", round, size, got, wantTags)
			}
		}
		server.Close()
	}
}

// A registry that ignores n and last, in a repository whose every tag sorts after the
// environment's prefix: the first page looks like a good seek, and only the probe tells.
func TestIgnoredLastIsSeenWhenEveryTagFollowsThePrefix(t *testing.T) {
	var tags []string
	var want []string
	for i := 0; i < 6; i++ {
		e, err := NewEntry("production", Good, Stamp{Seconds: time.Now().Unix() - int64(i)}, "", "")
		if err != nil {
			t.Fatal(err)
		}
		tags = append(tags, e.Tag, e.RecordTag())
		want = append(want, e.Tag)
	}
	tags = append(tags, "zz-last")
	sort.Strings(tags)
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"name": "team/app", "tags": tags})
	}))
	defer server.Close()
	u, _ := url.Parse(server.URL)
	l := New(registry.New(registry.Options{}), registry.Repository{Registry: u.Host, Path: "team/app"})
	l.PageSize = 3
	var got []string
	rd, err := l.scan(context.Background(), "production", func(e Entry) bool { got = append(got, e.Tag); return true })
	if err != nil || rd.how != "full scan: the registry ignores `last`" || strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("%s, %v: %v", rd.how, err, got)
	}
}

// justBefore sorts just below its tag, with no valid tag in between.
func TestJustBefore(t *testing.T) {
	for _, tag := range []string{"production.8203587933999.good.20261204T192106Z.x.x.rkg71c", "a", "v1.0", "x_Z", "t.r"} {
		p, ok := justBefore(tag)
		if !ok || p >= tag {
			t.Fatalf("%q: %q %v", tag, p, ok)
		}
		// The largest valid tags below tag share its prefix and its lowered last byte, then only
		// bytes up to 'z', which sort below '~'.
		below := p[:len(p)-1] + strings.Repeat("z", 10)
		if below >= p {
			t.Fatalf("%q: a valid tag %q sorts between %q and it", tag, below, p)
		}
	}
	if _, ok := justBefore("v1-"); ok {
		t.Fatal("a tag ending in '-' has no string just below it that is not a tag prefix")
	}
}
