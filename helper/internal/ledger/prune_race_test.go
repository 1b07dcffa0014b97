package ledger_test

// Run under the race detector by `make race` (go test -race -run '^TestRace' ...).

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/shipgate/shipgate/helper/internal/ledger"
	"github.com/shipgate/shipgate/helper/internal/registry"
	"github.com/shipgate/shipgate/helper/internal/testpeer/registryserver"
)

// TestRacePruneWhileDeploying: two prunes run at once, each twice, while a pipeline deploys
// four releases and marks one bad, and a reader keeps asking for current and the rollback
// target. Afterwards every entry the pipeline wrote and every bad marker is still there, the
// old history is gone, and current and the rollback target are what the writes alone say.
func TestRacePruneWhileDeploying(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	w := newPruneWorld(t, registryserver.StartT(t, registryserver.Options{MaxTags: 20}), start)
	ctx := context.Background()
	var old []ledger.Entry
	for i := 0; i < 12; i++ {
		d := w.image(fmt.Sprintf("old-%d", i))
		old = append(old, w.mark("production", d, ledger.Deployed, commitN(i)))
		old = append(old, w.mark("production", d, ledger.Good, commitN(i)))
		w.clock.advance(24 * time.Hour)
	}
	w.clock.advance(100 * 24 * time.Hour)
	var fresh []v1.Hash
	for i := 0; i < 4; i++ {
		fresh = append(fresh, w.image(fmt.Sprintf("new-%d", i)))
	}

	var wg sync.WaitGroup
	errs := make(chan error, 16)
	var written []ledger.Entry
	wg.Add(1)
	go func() { // the deploying pipeline, with its own client as on its own runner
		defer wg.Done()
		l := ledger.New(registry.New(registry.Options{}), w.repo)
		for i, d := range fresh {
			for _, s := range []ledger.Status{ledger.Deploying, ledger.Deployed, ledger.Good} {
				out, err := l.Append(ctx, ledger.Mark{Env: "production", Digest: d, Status: s, Record: ledger.Record{Source: ledger.Source{Commit: commitN(100 + i)}}})
				if err != nil {
					errs <- fmt.Errorf("deploy %d %s: %w", i, s, err)
					return
				}
				written = append(written, out.Entry)
			}
		}
		// Release 2 turns out bad: the target moves from 2 to 1.
		out, err := l.Append(ctx, ledger.Mark{Env: "production", Digest: fresh[2], Status: ledger.Bad})
		if err != nil {
			errs <- fmt.Errorf("mark bad: %w", err)
			return
		}
		written = append(written, out.Entry)
	}()
	for p := 0; p < 2; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := ledger.New(registry.New(registry.Options{}), w.repo)
			for round := 0; round < 2; round++ {
				if _, err := l.Prune(ctx, ledger.PrunePolicy{Env: "production", KeepGood: 2, KeepFor: 30 * 24 * time.Hour, Apply: true}); err != nil {
					errs <- fmt.Errorf("prune %d: %w", p, err)
					return
				}
			}
		}()
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	readers.Add(1)
	go func() { // a reader: current must always be answered, never "never deployed"
		defer readers.Done()
		l := ledger.New(registry.New(registry.Options{}), w.repo)
		for {
			select {
			case <-stop:
				return
			default:
			}
			cur, err := l.Current(ctx, "production")
			if err != nil || cur == nil {
				errs <- fmt.Errorf("current during the prune: %+v %v", cur, err)
				return
			}
		}
	}()
	wg.Wait()
	close(stop)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	tags := w.tags()
	for _, e := range written {
		if !slices.Contains(tags, e.Tag) {
			t.Fatalf("the pipeline's entry %s was pruned", e.Tag)
		}
	}
	if !slices.Contains(tags, ledger.BadMarkerTag("production", fresh[2])) {
		t.Fatal("the bad marker was pruned")
	}
	// The old history: its newest good entry may still be one of the newest two good entries
	// when a prune planned before the deploys; a final prune leaves none of it.
	if _, err := w.ledger.Prune(ctx, ledger.PrunePolicy{Env: "production", KeepGood: 2, KeepFor: 30 * 24 * time.Hour, Apply: true}); err != nil {
		t.Fatal(err)
	}
	tags = w.tags()
	for _, e := range old {
		if slices.Contains(tags, e.Tag) || slices.Contains(tags, e.RecordTag()) {
			t.Fatalf("old entry %s survived the final prune", e.Tag)
		}
	}
	cur, err := w.ledger.Current(ctx, "production")
	if err != nil || cur.Digest != fresh[3] {
		t.Fatalf("current: %+v %v, want %s", cur, err, fresh[3])
	}
	rb, err := w.ledger.RollbackTarget(ctx, ledger.RollbackQuery{Env: "production"})
	if err != nil || rb.Target.Digest != fresh[1] {
		t.Fatalf("target: %+v %v, want %s", rb, err, fresh[1])
	}
}
