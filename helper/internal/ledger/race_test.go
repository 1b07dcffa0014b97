package ledger_test

// These tests run concurrent writers and readers of one environment; CI runs them under the
// race detector: go test -race -count=1 -run '^TestRace' ./helper/internal/ledger

import (
	"context"
	"fmt"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/ledger"
	"github.com/shipgate/shipgate/helper/internal/promotion"
	"github.com/shipgate/shipgate/helper/internal/registry"
	"github.com/shipgate/shipgate/helper/internal/testpeer/registrykinds"
	"github.com/shipgate/shipgate/helper/internal/testpeer/registryserver"
	"github.com/shipgate/shipgate/helper/internal/testpeer/testimage"
)

// pipeline is one CI job: its own client, as two jobs on two runners would have.
func pipeline(repo registry.Repository) (*registry.Client, *ledger.Ledger) {
	client := registry.New(registry.Options{})
	return client, ledger.New(client, repo)
}

func markRecord(commit string) ledger.Record {
	return ledger.Record{Source: ledger.Source{Commit: commit}, Reason: "race"}
}

// TestRacePromotionsAndLedgerWritesForOneEnvironment: two pipelines promote different digests
// into the same repository and record them in the same environment at the same moment. Both
// entries survive, each on its own digest, and "current" is the digest of whichever entry the
// ledger orders newest.
func TestRacePromotionsAndLedgerWritesForOneEnvironment(t *testing.T) {
	server := registryserver.StartT(t, registryserver.Options{})
	src := registry.Repository{Registry: server.Host, Path: "build/app"}
	dst := registry.Repository{Registry: server.Host, Path: "prod/app"}
	ctx := context.Background()
	for round := 0; round < 4; round++ {
		digests := []v1.Hash{
			testimage.Image(t, server.Repo(fmt.Sprintf("build/app:r%da", round)), 2),
			testimage.Image(t, server.Repo(fmt.Sprintf("build/app:r%db", round)), 2),
		}
		written := make([]*ledger.Written, len(digests))
		errs := make([]error, len(digests))
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, digest := range digests {
			wg.Add(1)
			go func() {
				defer wg.Done()
				client, l := pipeline(dst)
				<-start
				if _, err := promotion.Promote(ctx, client, promotion.Options{
					Source:       registry.Reference{Repository: src, Digest: digest},
					Destinations: []registry.Repository{dst},
					Tags:         []string{"latest"},
				}); err != nil {
					errs[i] = err
					return
				}
				written[i], errs[i] = l.Append(ctx, ledger.Mark{Env: "production", Digest: digest, Status: ledger.Deployed,
					Record: markRecord(fmt.Sprintf("%040d", round*2+i))})
			}()
		}
		close(start)
		wg.Wait()
		_, reader := pipeline(dst)
		newest := ledger.Entry{}
		var newestDigest v1.Hash
		for i, w := range written {
			if errs[i] != nil {
				t.Fatalf("round %d pipeline %d: %v", round, i, errs[i])
			}
			got, err := reader.DigestOf(ctx, w.Entry)
			if err != nil || got != digests[i] {
				t.Fatalf("round %d: entry %s is %s (%v), want %s", round, w.Tag, got, err, digests[i])
			}
			if newest.Tag == "" || ledger.Newer(w.Entry, newest) {
				newest, newestDigest = w.Entry, digests[i]
			}
		}
		if written[0].Tag == written[1].Tag {
			t.Fatalf("round %d: both pipelines wrote the same tag %s", round, written[0].Tag)
		}
		current, err := reader.Current(ctx, "production")
		if err != nil {
			t.Fatal(err)
		}
		if current.Digest != newestDigest || current.Entry.Tag != newest.Tag {
			t.Errorf("round %d: current is %s (%s), want the newest entry %s (%s)", round, current.Digest, current.Entry.Tag, newestDigest, newest.Tag)
		}
	}
}

// TestRaceRollbackDuringMarkGood resolves rollback targets while another pipeline marks a
// digest good. Every answer is right for a moment of the write (before it or after it), the
// final answer includes the write, and the mark-good entry survives.
func TestRaceRollbackDuringMarkGood(t *testing.T) {
	server := registryserver.StartT(t, registryserver.Options{})
	repo := registry.Repository{Registry: server.Host, Path: "prod/app"}
	ctx := context.Background()
	_, setup := pipeline(repo)
	mark := func(digest v1.Hash, status ledger.Status, commit string) *ledger.Written {
		t.Helper()
		w, err := setup.Append(ctx, ledger.Mark{Env: "production", Digest: digest, Status: status, Record: markRecord(commit)})
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	a := testimage.Image(t, server.Repo("prod/app:a"), 1)
	b := testimage.Image(t, server.Repo("prod/app:b"), 1)
	c := testimage.Image(t, server.Repo("prod/app:c"), 1)
	commitOf := map[v1.Hash]string{a: commitA, b: commitB, c: commitC}
	for _, d := range []v1.Hash{a, b} {
		mark(d, ledger.Deploying, commitOf[d])
		mark(d, ledger.Deployed, commitOf[d])
	}
	mark(a, ledger.Good, commitA)
	mark(c, ledger.Deploying, commitC)
	mark(c, ledger.Deployed, commitC) // current: c; good so far: a; b's checks are still running

	for _, tc := range []struct {
		name     string
		markGood v1.Hash
		before   v1.Hash // the target before the mark-good lands
		after    v1.Hash // and after
	}{
		// b's late mark-good makes b the newest good digest other than current.
		{name: "mark-good of a previous release", markGood: b, before: a, after: b},
		// c is current: its own mark-good never makes it the rollback target.
		{name: "mark-good of the current release", markGood: c, before: b, after: b},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var wg sync.WaitGroup
			start := make(chan struct{})
			var written *ledger.Written
			var writeErr error
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, l := pipeline(repo)
				<-start
				written, writeErr = l.Append(ctx, ledger.Mark{Env: "production", Digest: tc.markGood, Status: ledger.Good, Record: markRecord(commitOf[tc.markGood])})
			}()
			targets := make([][]v1.Hash, 3)
			readErrs := make([]error, 3)
			for r := range targets {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, l := pipeline(repo)
					<-start
					for i := 0; i < 4; i++ {
						rb, err := l.RollbackTarget(ctx, ledger.RollbackQuery{Env: "production"})
						if err != nil {
							readErrs[r] = err
							return
						}
						targets[r] = append(targets[r], rb.Target.Digest)
					}
				}()
			}
			close(start)
			wg.Wait()
			if writeErr != nil {
				t.Fatal(writeErr)
			}
			for r, err := range readErrs {
				if err != nil {
					t.Fatalf("reader %d: %v", r, err)
				}
			}
			for r, seen := range targets {
				for _, d := range seen {
					if d != tc.before && d != tc.after {
						t.Errorf("reader %d chose %s: want %s (before the mark-good) or %s (after)", r, d, tc.before, tc.after)
					}
				}
			}
			_, reader := pipeline(repo)
			if got, err := reader.DigestOf(ctx, written.Entry); err != nil || got != tc.markGood {
				t.Errorf("the mark-good entry %s: %s, %v; want it on %s", written.Tag, got, err, tc.markGood)
			}
			rb, err := reader.RollbackTarget(ctx, ledger.RollbackQuery{Env: "production"})
			if err != nil || rb.Target.Digest != tc.after {
				t.Errorf("after the mark-good: target %v, %v; want %s", rb, err, tc.after)
			}
			current, err := reader.Current(ctx, "production")
			if err != nil || current.Digest != c {
				t.Errorf("current %v, %v; want %s still", current, err, c)
			}
		})
	}
}

// TestInvalidAliasIsRefusedBeforeAnythingIsWritten: an alias the registry cannot hold used to be
// found out only after the entry and the bad marker were written (found by the bad-input table
// in app/badinput_test.go).
func TestInvalidAliasIsRefusedBeforeAnythingIsWritten(t *testing.T) {
	f := newFixture(t, registryserver.Options{})
	digest := f.image("a")
	before, _, err := f.ledger.History(context.Background(), "production", 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.ledger.Append(context.Background(), ledger.Mark{Env: "production", Digest: digest, Status: ledger.Bad,
		Record: markRecord(commitA), Aliases: []string{"production current"}})
	if failure.KindOf(err) != failure.Usage {
		t.Fatalf("error %v, want a usage error", err)
	}
	bad, err := f.ledger.IsBad(context.Background(), "production", digest)
	after, _, herr := f.ledger.History(context.Background(), "production", 0)
	if err != nil || herr != nil || bad || len(after) != len(before) {
		t.Errorf("after the refusal: marked bad %v, %d entries (was %d), errors %v %v", bad, len(after), len(before), err, herr)
	}
}

// TestRaceReadersAndWritersOnKinds: on registries read by a full scan (zot, ECR) and by a
// verified seek (distribution), pipelines mark while others read. No read fails or answers
// "never deployed" once an entry exists, and every write is read back.
func TestRaceReadersAndWritersOnKinds(t *testing.T) {
	for _, name := range []string{"distribution-v3", "zot", "ecr"} {
		t.Run(name, func(t *testing.T) {
			k := registrykinds.Start(t, name)
			repo := registry.Repository{Registry: k.Host, Path: "team/app"}
			a := testimage.Image(t, k.Repo("team/app:a"), 1)
			b := testimage.Image(t, k.Repo("team/app:b"), 1)
			ctx := context.Background()
			_, first := pipeline(repo)
			if _, err := first.Append(ctx, ledger.Mark{Env: "production", Digest: a, Status: ledger.Deployed}); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			errs := make(chan error, 64)
			for i := 0; i < 4; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, l := pipeline(repo)
					l.PageSize = 3
					for j := 0; j < 3; j++ {
						d := []v1.Hash{a, b}[(i+j)%2]
						if _, err := l.Append(ctx, ledger.Mark{Env: "production", Digest: d, Status: ledger.Deployed, Record: markRecord(fmt.Sprintf("%040d", i))}); err != nil {
							errs <- fmt.Errorf("writer %d: %w", i, err)
						}
					}
				}()
			}
			for i := 0; i < 2; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, l := pipeline(repo)
					l.PageSize = 2
					for j := 0; j < 4; j++ {
						cur, err := l.Current(ctx, "production")
						if err != nil || cur == nil || (cur.Digest != a && cur.Digest != b) {
							errs <- fmt.Errorf("reader %d: current %+v, %v", i, cur, err)
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}
}
