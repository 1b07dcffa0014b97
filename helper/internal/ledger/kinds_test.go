package ledger_test

// The ledger suite on every registry kind (issue 13): the same answers for current, rollback
// target, find and history on every registry, ties across pages and planted far-future tags
// change nothing, concurrent writers lose nothing, a second mark-bad adds nothing, and on a
// listing that cannot be trusted every read and write fails closed.

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/ledger"
	"github.com/shipgate/shipgate/helper/internal/registry"
	"github.com/shipgate/shipgate/helper/internal/testpeer/registrykinds"
	"github.com/shipgate/shipgate/helper/internal/testpeer/testimage"
)

type kindFixture struct {
	t      *testing.T
	kind   *registrykinds.Kind
	client *registry.Client
	repo   registry.Repository
	ledger *ledger.Ledger
	log    *strings.Builder
}

func onKind(t *testing.T, k *registrykinds.Kind, host string) *kindFixture {
	client := registry.New(registry.Options{})
	repo := registry.Repository{Registry: host, Path: "team/app"}
	f := &kindFixture{t: t, kind: k, client: client, repo: repo, ledger: ledger.New(client, repo), log: &strings.Builder{}}
	f.ledger.Log = f.log
	f.ledger.PageSize = 4 // several pages even for a short ledger
	f.ledger.FullScanPageSize = 3
	return f
}

func (f *kindFixture) image(tag string) v1.Hash {
	return testimage.Image(f.t, f.kind.Repo("team/app:"+tag), 1)
}

func (f *kindFixture) mark(env string, d v1.Hash, s ledger.Status, commit string) *ledger.Written {
	f.t.Helper()
	w, err := f.ledger.Append(context.Background(), ledger.Mark{Env: env, Digest: d, Status: s,
		Record: ledger.Record{Source: ledger.Source{Commit: commit, Tree: "ee" + commit[2:]}}})
	if err != nil {
		f.t.Fatalf("mark %s %s: %v", s, d, err)
	}
	return w
}

func (f *kindFixture) deploy(env string, d v1.Hash, commit string) {
	f.t.Helper()
	for _, s := range []ledger.Status{ledger.Deploying, ledger.Deployed, ledger.Good} {
		f.mark(env, d, s, commit)
	}
}

// plant writes a raw tag on digest d, as another writer (or an attacker) could.
func (f *kindFixture) plant(tag string, d v1.Hash) {
	f.t.Helper()
	m, err := f.client.GetManifest(context.Background(), registry.Reference{Repository: f.repo, Digest: d})
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.client.PutManifest(context.Background(), f.repo, tag, m); err != nil {
		f.t.Fatal(err)
	}
}

// answers is what every reader says about production.
type answers struct{ current, target, steps2, found string }

func (f *kindFixture) answers() answers {
	f.t.Helper()
	ctx := context.Background()
	var a answers
	cur, err := f.ledger.Current(ctx, "production")
	if err != nil || cur == nil {
		f.t.Fatalf("current: %+v %v", cur, err)
	}
	a.current = cur.Digest.Hex[:8]
	rb, err := f.ledger.RollbackTarget(ctx, ledger.RollbackQuery{Env: "production"})
	if err != nil {
		f.t.Fatalf("rollback: %v", err)
	}
	a.target = rb.Target.Digest.Hex[:8]
	if rb2, err := f.ledger.RollbackTarget(ctx, ledger.RollbackQuery{Env: "production", Steps: 2}); err == nil {
		a.steps2 = rb2.Target.Digest.Hex[:8]
	}
	found, err := f.ledger.Find(ctx, ledger.FindQuery{Env: "production", Status: ledger.Good, Commit: commitA})
	if err != nil {
		f.t.Fatalf("find: %v", err)
	}
	a.found = found.Digest.Hex[:8]
	return a
}

func short(d v1.Hash) string { return d.Hex[:8] }

func TestLedgerSuiteOnEveryRegistryKind(t *testing.T) {
	registrykinds.ForEach(t, func(t *testing.T, k *registrykinds.Kind) {
		f := onKind(t, k, k.Host)
		ctx := context.Background()
		a, b, c := f.image("a"), f.image("b"), f.image("c")
		f.deploy("production", a, commitA)
		f.deploy("staging", a, commitA)
		f.deploy("production", b, commitB)
		f.mark("production", c, ledger.Deploying, commitC)

		want := answers{current: short(c), target: short(b), steps2: short(a), found: short(a)}
		if got := f.answers(); got != want {
			t.Fatalf("answers %+v, want %+v", got, want)
		}
		history, current, err := f.ledger.History(ctx, "production", 0)
		if err != nil || current == nil || current.Digest != c || len(history) != 7 || history[0].Entry.Status != ledger.Deploying {
			t.Fatalf("history: %d entries, current %+v, %v", len(history), current, err)
		}

		// Two entries with one stamp (concurrent writers), newest of all, on either side of a
		// page boundary: every page size gives the same order.
		tie := time.Now().UTC().Add(time.Minute).Truncate(time.Second)
		stamp := ledger.Stamp{Seconds: tie.Unix()}
		e1, _ := ledger.NewEntry("production", ledger.Good, stamp, commitA, "")
		e2, _ := ledger.NewEntry("production", ledger.Good, stamp, commitB, "")
		e1.Tag = e1.Tag[:len(e1.Tag)-6] + "aaaaaa"
		e2.Tag = e2.Tag[:len(e2.Tag)-6] + "zzzzzz"
		f.plant(e1.Tag, a)
		f.plant(e2.Tag, b)
		// A far-future entry (the end of the stamp range) that must neither win nor block writes.
		far, _ := ledger.NewEntry("production", ledger.Good, ledger.Stamp{Seconds: 9999999999, Counter: 999}, commitC, "")
		f.plant(far.Tag, a)
		want = answers{current: short(c), target: short(b), steps2: short(a), found: short(a)}
		for _, size := range []int{2, 3, 4, 5, 7, 100} {
			f.ledger.PageSize, f.ledger.FullScanPageSize = size, size
			if got := f.answers(); got != want {
				t.Fatalf("page size %d: %+v, want %+v", size, got, want)
			}
		}
		if !strings.Contains(f.log.String(), far.Tag) {
			t.Fatalf("the far-future entry was skipped without a warning: %q", f.log.String())
		}
		f.ledger.PageSize = 4

		// Writes still work past the planted tag, and mark-bad is idempotent.
		f.mark("production", c, ledger.Bad, commitC)
		again := f.mark("production", c, ledger.Bad, commitC)
		if !again.Existing {
			t.Fatalf("second mark-bad wrote %s", again.Tag)
		}
		bads := 0
		if err := f.ledger.Scan(ctx, "production", func(e ledger.Entry) bool {
			if e.Status == ledger.Bad {
				bads++
			}
			return true
		}); err != nil || bads != 1 {
			t.Fatalf("%d bad entries (%v), want 1", bads, err)
		}
		if _, cur, err := f.ledger.History(ctx, "production", 3); err != nil || cur == nil || !cur.MarkedBad {
			t.Fatalf("history must say the current digest is marked bad: %+v %v", cur, err)
		}

		// Concurrent writers: every entry lands and is read back.
		var wg sync.WaitGroup
		errs := make(chan error, 6)
		for i := 0; i < 6; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := f.ledger.Append(ctx, ledger.Mark{Env: "staging", Digest: b, Status: ledger.Good})
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("concurrent writer: %v", err)
			}
		}

		// A typo'd environment names the ones the repository has.
		if _, _, err := f.ledger.History(ctx, "prodution", 5); failure.KindOf(err) != failure.NotFound || !strings.Contains(err.Error(), "production, staging") {
			t.Fatalf("unknown environment: %v", err)
		}
	})
}

// On a listing that cannot be trusted, no read answers and no write claims success.
func TestLedgerFailsClosedOnUntrustworthyListings(t *testing.T) {
	registrykinds.ForEachUntrustworthy(t, func(t *testing.T, k *registrykinds.Kind) {
		direct := onKind(t, k, k.Backend)
		a, b := direct.image("a"), direct.image("b")
		direct.deploy("production", a, commitA)
		direct.mark("production", b, ledger.Deploying, commitB)
		if k.Double != nil && k.Name == "capped-10000" {
			k.Double.Fillers = registrykinds.GARListingLimit
		}
		f := onKind(t, k, k.Host)
		f.ledger.PageSize, f.ledger.FullScanPageSize = 2, 2
		if k.Name == "capped-10000" {
			f.ledger.FullScanPageSize = 1000 // 10 requests a scan instead of 5,000
		}
		ctx := context.Background()
		checks := map[string]error{}
		_, checks["current"] = f.ledger.Current(ctx, "production")
		_, checks["rollback"] = f.ledger.RollbackTarget(ctx, ledger.RollbackQuery{Env: "production"})
		_, checks["find"] = f.ledger.Find(ctx, ledger.FindQuery{Env: "production", Status: ledger.Good, Commit: commitA})
		_, _, checks["history"] = f.ledger.History(ctx, "production", 5)
		_, checks["mark-good"] = f.ledger.Append(ctx, ledger.Mark{Env: "production", Digest: a, Status: ledger.Good})
		for what, err := range checks {
			if err == nil || failure.KindOf(err) == failure.NotFound {
				t.Errorf("%s on %s: %v, want a failure that is not \"not found\"", what, k.Name, err)
			}
		}
		t.Logf("history on %s: %v", k.Name, checks["history"])
		if k.Name == "capped-10000" && !strings.Contains(fmt.Sprint(checks["history"]), "10,000") {
			t.Errorf("the limit is not named: %v", checks["history"])
		}
		// mark-bad still records the verdict that promote and rollback check.
		_, err := f.ledger.Append(ctx, ledger.Mark{Env: "production", Digest: b, Status: ledger.Bad})
		if err == nil {
			t.Fatal("mark-bad claimed an entry it could not order")
		}
		t.Logf("mark-bad on %s: %v", k.Name, err)
		if bad, berr := f.ledger.IsBad(ctx, "production", b); berr != nil || !bad {
			t.Fatalf("mark-bad on %s left no bad marker: %v %v (mark-bad said %v)", k.Name, bad, berr, err)
		}
	})
}

// A listing capped at Artifact Registry's 10,000 tags that cuts the ledger in the middle: the
// seek still shows the newest entries, so every negative answer (no target, not found) is
// confirmed by a full scan, which sees the limit and fails closed naming it and the remedy.
func TestListingLimitIsDetectedBeforeANegativeAnswer(t *testing.T) {
	k := registrykinds.Start(t, "capped-10000")
	f := onKind(t, k, k.Host)
	f.ledger.PageSize, f.ledger.FullScanPageSize = 100, 1000
	a, b := f.image("a"), f.image("b")
	f.deploy("production", a, commitA)
	f.deploy("production", b, commitB)
	// Tags: a, b, the fillers, then production's 12 (b's six first): keep b's, cut a's.
	k.Double.Fillers = registrykinds.GARListingLimit - 2 - 6
	ctx := context.Background()
	if cur, err := f.ledger.Current(ctx, "production"); err != nil || cur == nil || cur.Digest != b {
		t.Fatalf("current, from the visible newest entries: %+v %v", cur, err)
	}
	_, err := f.ledger.RollbackTarget(ctx, ledger.RollbackQuery{Env: "production"})
	if failure.KindOf(err) != failure.Unavailable || !strings.Contains(err.Error(), "10,000") {
		t.Fatalf("rollback past the limit: %v, want the limit named", err)
	}
	_, err = f.ledger.Find(ctx, ledger.FindQuery{Env: "production", Status: ledger.Good, Commit: commitA})
	if failure.KindOf(err) != failure.Unavailable || !strings.Contains(err.Error(), "10,000") {
		t.Fatalf("find past the limit: %v, want the limit named", err)
	}
}

// ECR sends no Link on a last page that happens to be full, and refuses a tag as `last`: the
// reader settles it with ECR's own unpaged (100-tag, Link-paged) listing instead of failing.
func TestFullLastPageOnECR(t *testing.T) {
	k := registrykinds.Start(t, "ecr")
	f := onKind(t, k, k.Host)
	a := f.image("a")
	f.mark("production", a, ledger.Deployed, commitA) // tags: a, the entry, its record
	k.Double.Fillers = 150
	f.ledger.FullScanPageSize = 153 // exactly every tag: one full page, no Link
	cur, err := f.ledger.Current(context.Background(), "production")
	if err != nil || cur == nil || cur.Digest != a {
		t.Fatalf("current: %+v %v", cur, err)
	}
}
