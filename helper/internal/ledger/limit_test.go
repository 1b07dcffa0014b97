package ledger_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/ledger"
	"github.com/shipgate/shipgate/helper/internal/registry"
	"github.com/shipgate/shipgate/helper/internal/testpeer/registryserver"
)

// garListingLimit is where Artifact Registry's Docker API tag listing stops being complete
// (FACTS.md "Registry behaviour…", Limits: the GAR quota documentation).
const garListingLimit = 10000

// cappedListing answers tags/list from the real registry's tags, but only the lexically first
// limit of them exist for the listing (which tags GAR drops is undocumented; keeping the first
// ones is the kindest case for a newest-first ledger), paged like the spec.
// The backend's whole listing is cached between writes (every write passes through the proxy;
// the seeding, which does not, happens before the first listing).
func cappedListing(backend string, limit int) func(w http.ResponseWriter, r *http.Request) bool {
	var mu sync.Mutex
	var cached *struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}
	return func(w http.ResponseWriter, r *http.Request) bool {
		mu.Lock()
		defer mu.Unlock()
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			cached = nil
			return false
		}
		if r.Method != http.MethodGet || !bytes.HasSuffix([]byte(r.URL.Path), []byte("/tags/list")) {
			return false
		}
		if cached == nil {
			resp, err := http.Get(backend + r.URL.Path)
			if err != nil {
				w.WriteHeader(http.StatusBadGateway)
				return true
			}
			defer resp.Body.Close()
			var body struct {
				Name string   `json:"name"`
				Tags []string `json:"tags"`
			}
			if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&body) != nil {
				w.WriteHeader(resp.StatusCode)
				return true
			}
			sort.Strings(body.Tags)
			cached = &body
		}
		body := cached
		tags := body.Tags
		if len(tags) > limit {
			tags = tags[:limit]
		}
		if last := r.URL.Query().Get("last"); last != "" {
			tags = tags[sort.Search(len(tags), func(i int) bool { return tags[i] > last }):]
		}
		if n, err := strconv.Atoi(r.URL.Query().Get("n")); err == nil && n > 0 && n < len(tags) {
			tags = tags[:n]
			w.Header().Set("Link", fmt.Sprintf(`<%s?n=%d&last=%s>; rel="next"`, r.URL.Path, n, tags[n-1]))
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"name": body.Name, "tags": tags})
		return true
	}
}

// seedEntries writes count production entries (no records), deployed and good in turn, on m
// straight into the registry, 8 at a time, one an hour, the newest an hour before start.
func seedEntries(t *testing.T, s *registryserver.Server, path string, m *registry.Manifest, count int, start time.Time) {
	t.Helper()
	tags := make(chan string, 64)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for tag := range tags {
				req, _ := http.NewRequest(http.MethodPut, s.URL+"/v2/"+path+"/manifests/"+tag, bytes.NewReader(m.Bytes))
				req.Header.Set("Content-Type", string(m.MediaType))
				resp, err := http.DefaultClient.Do(req)
				if err == nil {
					resp.Body.Close()
					if resp.StatusCode != http.StatusCreated {
						err = fmt.Errorf("PUT %s: %d", tag, resp.StatusCode)
					}
				}
				if err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		}()
	}
	for i := 0; i < count; i++ {
		status := ledger.Deployed
		if i%2 == 1 {
			status = ledger.Good
		}
		e, err := ledger.NewEntry("production", status, ledger.Stamp{Seconds: start.Add(time.Duration(i-count) * time.Hour).Unix()}, commitN(i), "")
		if err != nil {
			t.Fatal(err)
		}
		tags <- e.Tag
	}
	close(tags)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestWritesPastTheListingLimitFailThenPruneCarriesOn is issue 19's test of done: on a
// registry whose listing stops at 10,000 tags, a write whose entry falls past the limit fails
// with a message naming the limit (never "done" followed by "never deployed"); pruning brings
// the repository under the limit; the same write then succeeds and every reader sees it.
func TestWritesPastTheListingLimitFailThenPruneCarriesOn(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 10,000 tags")
	}
	server := registryserver.StartT(t, registryserver.Options{})
	start := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	w := newPruneWorld(t, server, start)
	w.clock.intercept = cappedListing(server.URL, garListingLimit)
	ctx := context.Background()
	d := w.image("v1")
	m, err := w.client.GetManifest(ctx, registry.Reference{Repository: registry.Repository{Registry: server.Host, Path: "team/app"}, Digest: d})
	if err != nil {
		t.Fatal(err)
	}
	seeded := time.Now()
	seedEntries(t, server, "team/app", m, garListingLimit+10, start)
	t.Logf("seeded %d entries in %s", garListingLimit+10, time.Since(seeded).Round(time.Millisecond))

	// staging sorts after every production tag: past the limit, the listing never shows it.
	_, err = w.ledger.Append(ctx, ledger.Mark{Env: "staging", Digest: d, Status: ledger.Good})
	if err == nil {
		cur, _, rerr := w.ledger.History(ctx, "staging", 0)
		t.Fatalf("a write past the listing limit succeeded; the ledger then reads %v %v", cur, rerr)
	}
	t.Logf("write past the limit: %v (%s)", err, failure.HintOf(err))
	if failure.KindOf(err) == failure.Internal || !strings.Contains(err.Error(), "10000") && !strings.Contains(err.Error(), "10,000") {
		t.Fatalf("want a classified failure naming the limit, got %v", err)
	}

	// The seeded entries are an hour apart, the newest an hour before the registry's clock:
	// keeping 9,900 hours leaves ~110 old ones, of which the ~55 deployed go: enough to list
	// every tag again.
	res, err := w.ledger.Prune(ctx, ledger.PrunePolicy{Env: "production", KeepGood: 1, KeepFor: 9900 * time.Hour, Apply: true})
	if err != nil {
		t.Fatalf("prune under the limit: %v", err)
	}
	if res.Deleted == 0 || len(w.tags()) >= garListingLimit {
		t.Fatalf("prune removed %d tags, %d left", res.Deleted, len(w.tags()))
	}
	// At the limit the rollback target cannot be settled (every negative answer fails closed),
	// so this run kept every good entry, and said why.
	if len(res.Warnings) == 0 {
		t.Fatalf("no warning from a prune at the listing limit: %+v", res)
	}
	left := map[string]bool{}
	for _, tag := range w.tags() {
		left[tag] = true
	}
	for _, k := range res.Kept {
		if !left[k.Tag] {
			t.Fatalf("kept entry %s (%s) is gone", k.Tag, k.Reason)
		}
	}
	for _, tag := range res.Remove {
		if e, _ := ledger.ParseTag(tag); e.Status == ledger.Good {
			t.Fatalf("a good entry was removed while the rollback target could not be read: %s", tag)
		}
	}
	written, err := w.ledger.Append(ctx, ledger.Mark{Env: "staging", Digest: d, Status: ledger.Good})
	if err != nil {
		t.Fatalf("the write after pruning: %v", err)
	}
	history, _, err := w.ledger.History(ctx, "staging", 0)
	if err != nil || len(history) == 0 || history[0].Entry.Tag != written.Tag {
		t.Fatalf("staging after the write: %+v %v", history, err)
	}
}
