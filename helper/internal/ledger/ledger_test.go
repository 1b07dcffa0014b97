package ledger_test

import (
	"context"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/ledger"
	"github.com/shipgate/shipgate/helper/internal/registry"
	"github.com/shipgate/shipgate/helper/internal/testpeer/countingproxy"
	"github.com/shipgate/shipgate/helper/internal/testpeer/registryserver"
	"github.com/shipgate/shipgate/helper/internal/testpeer/testimage"
)

type fixture struct {
	t      *testing.T
	server *registryserver.Server
	proxy  *countingproxy.Proxy
	repo   registry.Repository
	ledger *ledger.Ledger
}

func newFixture(t *testing.T, opts registryserver.Options) *fixture {
	t.Helper()
	return newFixtureOn(t, registryserver.StartT(t, opts))
}

func newFixtureOn(t *testing.T, server *registryserver.Server) *fixture {
	t.Helper()
	proxy, err := countingproxy.Start(server.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	repo := registry.Repository{Registry: proxy.Host, Path: "team/app"}
	client := registry.New(registry.Options{})
	return &fixture{t: t, server: server, proxy: proxy, repo: repo, ledger: ledger.New(client, repo)}
}

func (f *fixture) image(tag string) v1.Hash {
	return testimage.Image(f.t, f.server.Repo("team/app:"+tag), 2)
}

func (f *fixture) mark(env string, digest v1.Hash, status ledger.Status, commit string) *ledger.Written {
	f.t.Helper()
	w, err := f.ledger.Append(context.Background(), ledger.Mark{Env: env, Digest: digest, Status: status,
		Record: ledger.Record{Source: ledger.Source{Commit: commit, Tree: "ee" + commit[2:]}, Reason: "test"}})
	if err != nil {
		f.t.Fatalf("mark %s %s: %v", status, digest, err)
	}
	return w
}

// deploy records one successful deployment.
func (f *fixture) deploy(env string, digest v1.Hash, commit string) {
	for _, s := range []ledger.Status{ledger.Deploying, ledger.Deployed, ledger.Good} {
		f.mark(env, digest, s, commit)
	}
}

const (
	commitA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	commitB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	commitC = "cccccccccccccccccccccccccccccccccccccccc"
)

func TestRollbackTargetSkipsCurrentAndBad(t *testing.T) {
	registryserver.ForEach(t, registryserver.Options{}, func(t *testing.T, s *registryserver.Server) {
		testRollbackTarget(t, newFixtureOn(t, s))
	})
}

func testRollbackTarget(t *testing.T, f *fixture) {
	ctx := context.Background()
	a, b, c := f.image("a"), f.image("b"), f.image("c")
	f.deploy("production", a, commitA)
	f.deploy("production", b, commitB)
	// c starts deploying and fails half-way: it is current, never good.
	f.mark("production", c, ledger.Deploying, commitC)

	cur, err := f.ledger.Current(ctx, "production")
	if err != nil || cur == nil || cur.Digest != c {
		t.Fatalf("current = %+v, %v; want %s", cur, err, c)
	}
	rb, err := f.ledger.RollbackTarget(ctx, ledger.RollbackQuery{Env: "production"})
	if err != nil {
		t.Fatal(err)
	}
	if rb.Target.Digest != b || rb.Target.Record == nil || rb.Target.Record.Version != commitB {
		t.Fatalf("target %+v, want %s with version %s", rb.Target, b, commitB)
	}
	rb2, err := f.ledger.RollbackTarget(ctx, ledger.RollbackQuery{Env: "production", Steps: 2})
	if err != nil || rb2.Target.Digest != a {
		t.Fatalf("steps 2: %+v %v, want %s", rb2, err, a)
	}

	// b turns out bad: the target moves to a, and b cannot be recorded again without force.
	f.mark("production", b, ledger.Bad, commitB)
	rb, err = f.ledger.RollbackTarget(ctx, ledger.RollbackQuery{Env: "production"})
	if err != nil || rb.Target.Digest != a {
		t.Fatalf("after marking b bad: %+v %v, want %s", rb, err, a)
	}
	_, err = f.ledger.Append(ctx, ledger.Mark{Env: "production", Digest: b, Status: ledger.Deploying})
	if failure.KindOf(err) != failure.Safety {
		t.Fatalf("deploying a bad digest: %v, want a safety refusal", err)
	}
	if _, err := f.ledger.RollbackTarget(ctx, ledger.RollbackQuery{Env: "production", Digest: b}); failure.KindOf(err) != failure.Safety {
		t.Fatalf("rollback to a bad digest: %v", err)
	}
	// Another environment is unaffected by production's verdicts.
	f.deploy("staging", b, commitB)
	if bad, _ := f.ledger.IsBad(ctx, "staging", b); bad {
		t.Fatal("bad in production leaked into staging")
	}
}

func TestNoRollbackTarget(t *testing.T) {
	f := newFixture(t, registryserver.Options{})
	a := f.image("a")
	if _, err := f.ledger.RollbackTarget(context.Background(), ledger.RollbackQuery{Env: "production"}); failure.KindOf(err) != failure.NotFound {
		t.Fatalf("empty ledger: %v", err)
	}
	f.deploy("production", a, commitA)
	if _, err := f.ledger.RollbackTarget(context.Background(), ledger.RollbackQuery{Env: "production"}); failure.KindOf(err) != failure.NotFound {
		t.Fatalf("only the current digest is good: %v", err)
	}
}

func TestFindByCommitAndTree(t *testing.T) {
	f := newFixture(t, registryserver.Options{})
	a, b := f.image("a"), f.image("b")
	f.deploy("staging", a, commitA)
	f.deploy("staging", b, commitB)
	r, err := f.ledger.Find(context.Background(), ledger.FindQuery{Env: "staging", Status: ledger.Good, Commit: commitA})
	if err != nil || r.Digest != a {
		t.Fatalf("find commit A: %+v %v", r, err)
	}
	r, err = f.ledger.Find(context.Background(), ledger.FindQuery{Env: "staging", Status: ledger.Good, Tree: "ee" + commitB[2:]})
	if err != nil || r.Digest != b {
		t.Fatalf("find tree B: %+v %v", r, err)
	}
	if _, err := f.ledger.Find(context.Background(), ledger.FindQuery{Env: "staging", Status: ledger.Good, Commit: commitC}); failure.KindOf(err) != failure.NotFound {
		t.Fatalf("unknown commit: %v", err)
	}
}

func TestConcurrentWritersLoseNothing(t *testing.T) {
	registryserver.ForEach(t, registryserver.Options{}, func(t *testing.T, s *registryserver.Server) {
		testConcurrentWriters(t, newFixtureOn(t, s))
	})
}

func testConcurrentWriters(t *testing.T, f *fixture) {
	a, b := f.image("a"), f.image("b")
	ctx := context.Background()
	var wg sync.WaitGroup
	tags := make(chan string, 40)
	for i := 0; i < 20; i++ {
		for _, d := range []v1.Hash{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				w, err := f.ledger.Append(ctx, ledger.Mark{Env: "production", Digest: d, Status: ledger.Good})
				if err != nil {
					t.Error(err)
					return
				}
				tags <- w.Tag
			}()
		}
	}
	wg.Wait()
	close(tags)
	written := map[string]bool{}
	for tag := range tags {
		written[tag] = true
	}
	seen := 0
	if err := f.ledger.Scan(ctx, "production", func(e ledger.Entry) bool {
		if written[e.Tag] {
			seen++
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if len(written) != 40 || seen != 40 {
		t.Fatalf("wrote %d distinct entries, scanned %d of them; want 40 and 40", len(written), seen)
	}
}

func TestRegistryIgnoringLastAndSmallPages(t *testing.T) {
	f := newFixture(t, registryserver.Options{MaxTags: 5})
	a, b := f.image("a"), f.image("b")
	f.deploy("production", a, commitA)
	f.deploy("production", b, commitB)
	for i := 0; i < 4; i++ {
		f.deploy("staging", a, commitA) // tags of another environment around production's
	}
	f.proxy.IgnoreLast.Store(true)
	f.ledger.PageSize = 5
	rb, err := f.ledger.RollbackTarget(context.Background(), ledger.RollbackQuery{Env: "production"})
	if err != nil || rb.Target.Digest != a || rb.Current.Digest != b {
		t.Fatalf("ignoring last: %+v %v", rb, err)
	}
}

func TestClockBehindStillOrders(t *testing.T) {
	// The registry's Date header is authoritative; a record written after another is newer even
	// when both land in the same second.
	f := newFixture(t, registryserver.Options{})
	a, b := f.image("a"), f.image("b")
	f.ledger.SetClock(func() time.Time { return time.Unix(0, 0) })
	f.deploy("production", a, commitA)
	f.mark("production", b, ledger.Deploying, commitB)
	cur, err := f.ledger.Current(context.Background(), "production")
	if err != nil || cur.Digest != b {
		t.Fatalf("current %+v %v, want %s", cur, err, b)
	}
}

// A registry that pages in its own order (not lexically) is read whole, then sorted.
func TestRegistryWithUnsortedPages(t *testing.T) {
	f := newFixture(t, registryserver.Options{MaxTags: 4})
	a, b := f.image("a"), f.image("b")
	f.mark("production", a, ledger.Good, commitA)
	f.mark("production", b, ledger.Deploying, commitB)
	f.mark("production", b, ledger.Bad, commitB)
	f.deploy("staging", a, commitA)
	// production: 3 entries, 3 records and a bad marker (7 tags), then staging's: the second page
	// of 4 holds a's good entry (the oldest) with the marker and a staging tag, reversed, so a
	// staging tag comes first.
	f.proxy.ReverseTags.Store(true)
	f.ledger.PageSize = 4
	rb, err := f.ledger.RollbackTarget(context.Background(), ledger.RollbackQuery{Env: "production"})
	if err != nil || rb.Target.Digest != a || rb.Current.Digest != b {
		t.Fatalf("unsorted pages: %+v %v", rb, err)
	}
}

// find never returns a digest marked bad since it passed, and a forced rollback to the current
// digest is refused: there is nothing to roll back to.
func TestFindSkipsBadAndRollbackRefusesCurrent(t *testing.T) {
	f := newFixture(t, registryserver.Options{})
	ctx := context.Background()
	a, b := f.image("a"), f.image("b")
	f.deploy("staging", a, commitA)
	f.deploy("staging", b, commitB)
	f.mark("staging", a, ledger.Bad, commitA)
	if _, err := f.ledger.Find(ctx, ledger.FindQuery{Env: "staging", Status: ledger.Good, Commit: commitA}); failure.KindOf(err) != failure.NotFound {
		t.Fatalf("find returned a digest marked bad: %v", err)
	}
	if _, err := f.ledger.RollbackTarget(ctx, ledger.RollbackQuery{Env: "staging", Digest: b, Force: true}); failure.KindOf(err) != failure.Safety {
		t.Fatalf("forced rollback to the current digest: %v", err)
	}
}
