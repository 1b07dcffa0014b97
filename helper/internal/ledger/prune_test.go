package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/ledger"
	"github.com/shipgate/shipgate/helper/internal/registry"
	"github.com/shipgate/shipgate/helper/internal/testpeer/registryserver"
	"github.com/shipgate/shipgate/helper/internal/testpeer/testimage"
)

// clockProxy forwards to a real registry and stamps every answer's Date header with its own
// clock, so a test can write a ledger whose entries are months old: entry stamps come from the
// registry's Date (docs/ledger.md, "Ordering without trusting runner clocks").
type clockProxy struct {
	Host string
	now  atomic.Int64 // unix seconds
	// fakeDelete, when non-zero, answers every DELETE with this status without forwarding it:
	// ECR answered the Docker API's DELETE with "404 page not found" (fluxcd/pkg#328); a
	// registry may also accept a deletion it does not perform.
	fakeDelete atomic.Int32
	// intercept, when set before requests start, may answer a request itself (true).
	intercept func(w http.ResponseWriter, r *http.Request) bool
}

func startClockProxy(t testing.TB, targetURL string, start time.Time) *clockProxy {
	t.Helper()
	target, err := url.Parse(targetURL)
	if err != nil {
		t.Fatal(err)
	}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &clockProxy{Host: listener.Addr().String()}
	p.now.Store(start.Unix())
	reverse := httputil.NewSingleHostReverseProxy(target)
	reverse.ModifyResponse = func(resp *http.Response) error {
		resp.Header.Set("Date", time.Unix(p.now.Load(), 0).UTC().Format(http.TimeFormat))
		// Link headers name the registry's own host; keep paging through the proxy.
		if link := resp.Header.Get("Link"); link != "" {
			resp.Header.Set("Link", strings.ReplaceAll(link, target.Host, p.Host))
		}
		return nil
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.intercept != nil {
			w.Header().Set("Date", time.Unix(p.now.Load(), 0).UTC().Format(http.TimeFormat))
			if p.intercept(w, r) {
				return
			}
		}
		if status := int(p.fakeDelete.Load()); status != 0 && r.Method == http.MethodDelete {
			w.WriteHeader(status)
			_, _ = w.Write([]byte("404 page not found"))
			return
		}
		reverse.ServeHTTP(w, r)
	})
	server := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = server.Serve(listener) }()
	t.Cleanup(func() { _ = server.Close() })
	return p
}

func (p *clockProxy) advance(d time.Duration) { p.now.Add(int64(d / time.Second)) }

// pruneWorld is a repository behind a clock proxy, with a ledger opened through it.
type pruneWorld struct {
	t      testing.TB
	server *registryserver.Server
	clock  *clockProxy
	repo   registry.Repository
	client *registry.Client
	ledger *ledger.Ledger
}

func newPruneWorld(t testing.TB, server *registryserver.Server, start time.Time) *pruneWorld {
	clock := startClockProxy(t, server.URL, start)
	repo := registry.Repository{Registry: clock.Host, Path: "team/app"}
	client := registry.New(registry.Options{})
	return &pruneWorld{t: t, server: server, clock: clock, repo: repo, client: client, ledger: ledger.New(client, repo)}
}

func (w *pruneWorld) image(tag string) v1.Hash {
	return testimage.Image(w.t, w.server.Repo("team/app:"+tag), 1)
}

func (w *pruneWorld) mark(env string, d v1.Hash, s ledger.Status, commit string) ledger.Entry {
	w.t.Helper()
	written, err := w.ledger.Append(context.Background(), ledger.Mark{Env: env, Digest: d, Status: s,
		Record: ledger.Record{Source: ledger.Source{Commit: commit}, Reason: "prune test"}})
	if err != nil {
		w.t.Fatalf("mark %s %s: %v", s, d, err)
	}
	return written.Entry
}

func (w *pruneWorld) tags() []string {
	w.t.Helper()
	var all []string
	next := ""
	for {
		page, err := w.client.ListTagsPage(context.Background(), w.repo, "", 0, next)
		if err != nil {
			w.t.Fatal(err)
		}
		all = append(all, page.Tags...)
		if page.Next == "" {
			return all
		}
		next = page.Next
	}
}

func commitN(i int) string { return fmt.Sprintf("%040x", i+1) }

// TestPruneKeepsWhatItMust writes 30 days of history (a deploy every 3 days, one release
// marked bad, one deploy that failed half-way) and prunes with KeepGood 2 and KeepFor 7 days:
// the dry run deletes nothing; the real run removes exactly the old, unprotected entries with
// their records; current, the rollback target, the newest good entries, recent entries and the
// bad marker stay; every query answers as before; a second run removes nothing.
func TestPruneKeepsWhatItMust(t *testing.T) {
	start := time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)
	w := newPruneWorld(t, registryserver.StartT(t, registryserver.Options{MaxTags: 25}), start)
	ctx := context.Background()
	var digests []v1.Hash
	var entries []ledger.Entry
	for i := 0; i < 10; i++ {
		d := w.image(fmt.Sprintf("build-%d", i))
		digests = append(digests, d)
		for _, s := range []ledger.Status{ledger.Deploying, ledger.Deployed, ledger.Good} {
			entries = append(entries, w.mark("production", d, s, commitN(i)))
		}
		w.clock.advance(3 * 24 * time.Hour)
	}
	// Release 9 turns out bad after all; release 8 becomes the target. Then release 10 fails
	// half-way: it is current, never good.
	entries = append(entries, w.mark("production", digests[9], ledger.Bad, commitN(9)))
	d10 := w.image("build-10")
	entries = append(entries, w.mark("production", d10, ledger.Deploying, commitN(10)))
	staging := w.mark("staging", digests[0], ledger.Good, commitN(0))

	before := w.tags()
	current, err := w.ledger.Current(ctx, "production")
	if err != nil || current.Digest != d10 {
		t.Fatalf("current before: %+v %v", current, err)
	}
	target, err := w.ledger.RollbackTarget(ctx, ledger.RollbackQuery{Env: "production"})
	if err != nil || target.Target.Digest != digests[8] {
		t.Fatalf("target before: %+v %v", target, err)
	}

	policy := ledger.PrunePolicy{Env: "production", KeepGood: 2, KeepFor: 7 * 24 * time.Hour}
	plan, err := w.ledger.Prune(ctx, policy)
	if err != nil {
		t.Fatal(err)
	}
	if got := w.tags(); !slices.Equal(got, before) {
		t.Fatalf("the dry run changed the repository: %d tags, then %d", len(before), len(got))
	}
	// Now is 30 days after start: entries of days 24 and 27 are recent (releases 8, 9), the
	// newest good entries are 9's and 8's, the target is 8's good entry, current is 10's.
	want := map[string]bool{}
	for i, e := range entries[:24] { // releases 0..7
		_ = i
		want[e.Tag] = true
	}
	if len(plan.Remove) != len(want) {
		t.Fatalf("plan removes %d entries, want %d: %v", len(plan.Remove), len(want), plan.Remove)
	}
	for _, tag := range plan.Remove {
		if !want[tag] {
			t.Fatalf("plan removes %s, which is protected", tag)
		}
	}

	policy.Apply = true
	done, err := w.ledger.Prune(ctx, policy)
	if err != nil {
		t.Fatal(err)
	}
	if done.Deleted != 2*len(want) || done.AlreadyGone != 0 {
		t.Fatalf("deleted %d tags (already gone %d), want %d entries and their records", done.Deleted, done.AlreadyGone, 2*len(want))
	}
	after := w.tags()
	for _, tag := range after {
		if want[tag] || want[strings.TrimSuffix(tag, ledger.RecordSuffix)] {
			t.Fatalf("%s survived the prune", tag)
		}
	}
	if len(after) != len(before)-2*len(want) {
		t.Fatalf("%d tags after, want %d", len(after), len(before)-2*len(want))
	}
	for _, keep := range []string{ledger.BadMarkerTag("production", digests[9]), staging.Tag, staging.RecordTag(), "build-0"} {
		if !slices.Contains(after, keep) {
			t.Fatalf("%s was removed", keep)
		}
	}
	current2, err := w.ledger.Current(ctx, "production")
	if err != nil || current2.Entry.Tag != current.Entry.Tag {
		t.Fatalf("current after: %+v %v", current2, err)
	}
	target2, err := w.ledger.RollbackTarget(ctx, ledger.RollbackQuery{Env: "production"})
	if err != nil || target2.Target.Entry.Tag != target.Target.Entry.Tag || target2.Target.Record == nil {
		t.Fatalf("target after: %+v %v", target2, err)
	}
	if bad, err := w.ledger.IsBad(ctx, "production", digests[9]); err != nil || !bad {
		t.Fatalf("release 9 no longer bad: %v %v", bad, err)
	}
	if _, err := w.ledger.Find(ctx, ledger.FindQuery{Env: "production", Status: ledger.Good, Commit: commitN(8)}); err != nil {
		t.Fatalf("find the kept release 8: %v", err)
	}
	if _, err := w.ledger.Find(ctx, ledger.FindQuery{Env: "production", Status: ledger.Good, Commit: commitN(3)}); failure.KindOf(err) != failure.NotFound {
		t.Fatalf("find a pruned release: %v, want not found", err)
	}

	again, err := w.ledger.Prune(ctx, policy)
	if err != nil || len(again.Remove) != 0 || again.Deleted != 0 {
		t.Fatalf("second prune: %+v %v, want nothing to do", again, err)
	}
}

// TestPruneNeverRemovesTheTargetOrTheNewestGood: with KeepFor 0 and KeepGood 1, only the
// count rules protect; the rollback target is older than the newest good entry (which is
// current's) and still kept.
func TestPruneNeverRemovesTheTargetOrTheNewestGood(t *testing.T) {
	w := newPruneWorld(t, registryserver.StartT(t, registryserver.Options{}), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	ctx := context.Background()
	var last ledger.Entry
	var digests []v1.Hash
	for i := 0; i < 4; i++ {
		d := w.image(fmt.Sprintf("b%d", i))
		digests = append(digests, d)
		w.mark("production", d, ledger.Deployed, commitN(i))
		last = w.mark("production", d, ledger.Good, commitN(i))
		w.clock.advance(24 * time.Hour)
	}
	before, err := w.ledger.RollbackTarget(ctx, ledger.RollbackQuery{Env: "production"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := w.ledger.Prune(ctx, ledger.PrunePolicy{Env: "production", KeepGood: 1, Apply: true})
	if err != nil {
		t.Fatal(err)
	}
	kept := map[string]string{}
	for _, k := range res.Kept {
		kept[k.Tag] = k.Reason
	}
	if kept[last.Tag] != ledger.KeptNewest || kept[before.Target.Entry.Tag] != ledger.KeptTarget || len(kept) != 3 {
		t.Fatalf("kept %v", kept)
	}
	after, err := w.ledger.RollbackTarget(ctx, ledger.RollbackQuery{Env: "production"})
	if err != nil || after.Target.Digest != digests[2] {
		t.Fatalf("target after prune: %+v %v, want %s", after, err, digests[2])
	}
}

// TestPruneOnRegistriesThatRefuseDeletion: distribution with deletion disabled (405
// UNSUPPORTED), docker-registry 2.8 (no tag deletion: 400 DIGEST_INVALID), and registries that
// answer a DELETE with 404 or 202 but keep the tag make prune stop at its first deletion with a
// refusal (exit code 5), and nothing is removed. The dry run works there.
func TestPruneOnRegistriesThatRefuseDeletion(t *testing.T) {
	kinds := map[string]func(t *testing.T) *registryserver.Server{
		"distribution-v3-delete-disabled": func(t *testing.T) *registryserver.Server {
			return registryserver.StartT(t, registryserver.Options{NoDelete: true})
		},
		"docker-registry-2.8": func(t *testing.T) *registryserver.Server {
			if _, err := os.Stat(registryserver.DebianBinary); err != nil {
				t.Skipf("%s not installed", registryserver.DebianBinary)
			}
			s, err := registryserver.StartExternal(registryserver.DebianBinary, registryserver.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(s.Close)
			return s
		},
	}
	for _, status := range []int{http.StatusNotFound, http.StatusAccepted} {
		kinds[fmt.Sprintf("delete-answers-%d-keeps-the-tag", status)] = func(t *testing.T) *registryserver.Server {
			return registryserver.StartT(t, registryserver.Options{})
		}
	}
	for name, start := range kinds {
		t.Run(name, func(t *testing.T) {
			w := newPruneWorld(t, start(t), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
			switch name {
			case "delete-answers-404-keeps-the-tag":
				w.clock.fakeDelete.Store(http.StatusNotFound)
			case "delete-answers-202-keeps-the-tag":
				w.clock.fakeDelete.Store(http.StatusAccepted)
			}
			for i := 0; i < 4; i++ {
				d := w.image(fmt.Sprintf("b%d", i))
				w.mark("production", d, ledger.Deployed, commitN(i))
				w.mark("production", d, ledger.Good, commitN(i))
				w.clock.advance(24 * time.Hour)
			}
			before := w.tags()
			policy := ledger.PrunePolicy{Env: "production", KeepGood: 1}
			plan, err := w.ledger.Prune(context.Background(), policy)
			if err != nil || len(plan.Remove) == 0 {
				t.Fatalf("dry run: %+v %v", plan, err)
			}
			policy.Apply = true
			_, err = w.ledger.Prune(context.Background(), policy)
			if !errors.Is(err, registry.ErrDeleteRefused) || failure.KindOf(err) != failure.Safety {
				t.Fatalf("prune: %v (kind %v), want a deletion refusal", err, failure.KindOf(err))
			}
			if after := w.tags(); !slices.Equal(after, before) {
				t.Fatalf("a refused prune changed the repository")
			}
		})
	}
}

func TestPruneRefusesBadPolicies(t *testing.T) {
	w := newPruneWorld(t, registryserver.StartT(t, registryserver.Options{}), time.Now())
	for _, p := range []ledger.PrunePolicy{
		{Env: "production", KeepGood: 0},
		{Env: "production", KeepGood: 1, KeepFor: -time.Hour},
		{Env: "Production", KeepGood: 1},
	} {
		if _, err := w.ledger.Prune(context.Background(), p); failure.KindOf(err) != failure.Usage {
			t.Fatalf("%+v: %v, want bad usage", p, err)
		}
	}
}

// TestPruneRechecksTheRollbackTarget: a digest marked bad while prune deletes moves the
// rollback target back to an older good entry the plan meant to remove; the recheck before the
// next batch of deletions keeps it. (The mark is made from inside the registry's answer to
// prune's tenth DELETE, so the timing is exact.)
func TestPruneRechecksTheRollbackTarget(t *testing.T) {
	w := newPruneWorld(t, registryserver.StartT(t, registryserver.Options{}), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	ctx := context.Background()
	var digests []v1.Hash
	var good []ledger.Entry
	for i := 0; i < 30; i++ {
		d := w.image(fmt.Sprintf("b%d", i))
		digests = append(digests, d)
		w.mark("production", d, ledger.Deployed, commitN(i))
		good = append(good, w.mark("production", d, ledger.Good, commitN(i)))
		w.clock.advance(time.Hour)
	}
	other := ledger.New(registry.New(registry.Options{}), w.repo)
	var deletes atomic.Int32
	w.clock.intercept = func(_ http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodDelete && deletes.Add(1) == 10 {
			if _, err := other.Append(ctx, ledger.Mark{Env: "production", Digest: digests[28], Status: ledger.Bad}); err != nil {
				t.Errorf("mark-bad during the prune: %v", err)
			}
		}
		return false
	}
	res, err := w.ledger.Prune(ctx, ledger.PrunePolicy{Env: "production", KeepGood: 1, Apply: true})
	if err != nil {
		t.Fatal(err)
	}
	rb, err := w.ledger.RollbackTarget(ctx, ledger.RollbackQuery{Env: "production"})
	if err != nil || rb.Target.Entry.Tag != good[27].Tag {
		t.Fatalf("target after the prune: %+v %v, want %s's good entry", rb, err, digests[27])
	}
	if slices.Contains(res.Remove, good[27].Tag) {
		t.Fatalf("the result lists the kept target %s as removed", good[27].Tag)
	}
	if !slices.Contains(res.Remove, good[26].Tag) {
		t.Fatalf("%s, neither target nor newest, was not removed", good[26].Tag)
	}
}
