package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/ledger"
	"github.com/shipgate/shipgate/helper/internal/registry"
	"github.com/shipgate/shipgate/helper/internal/testpeer/registrykinds"
	"github.com/shipgate/shipgate/helper/internal/testpeer/testimage"
)

// TestPruneAndDedicatedLedgerOnEveryRegistryKind: on every registry kind (real registries and
// the doubles of zot, ECR, Quay, distribution 3.0.0/3.1.0, Harbor 2.4, unsorted and unpaged
// listings), a ledger kept in a dedicated repository answers like one in the application's,
// and prune keeps current, the rollback target and the newest good entry while removing the
// rest with their records, or, where the registry cannot delete a tag (docker-registry 2.8),
// refuses with exit code 5 and removes nothing.
func TestPruneAndDedicatedLedgerOnEveryRegistryKind(t *testing.T) {
	registrykinds.ForEach(t, func(t *testing.T, k *registrykinds.Kind) {
		ctx := context.Background()
		client := registry.New(registry.Options{})
		app := registry.Repository{Registry: k.Host, Path: "team/app"}
		loc, err := ledger.NewLocation(app, registry.Repository{Registry: k.Host, Path: "team/app-ledger"})
		if err != nil {
			t.Fatal(err)
		}
		l := ledger.New(client, loc.Ledger)
		l.PageSize, l.FullScanPageSize = 4, 3 // several pages even for a short ledger
		var digests []v1.Hash
		var good []ledger.Entry
		for i := 0; i < 4; i++ {
			d := testimage.Image(t, k.Repo(fmt.Sprintf("team/app:v%d", i)), 1)
			digests = append(digests, d)
			if _, err := loc.Bring(ctx, client, d); err != nil {
				t.Fatal(err)
			}
			for _, s := range []ledger.Status{ledger.Deployed, ledger.Good} {
				w, err := l.Append(ctx, ledger.Mark{Env: "production", Digest: d, Status: s, Record: ledger.Record{Source: ledger.Source{Commit: commitN(i)}}})
				if err != nil {
					t.Fatalf("mark %s: %v", s, err)
				}
				if s == ledger.Good {
					good = append(good, w.Entry)
				}
			}
		}
		// The newest release fails after its good mark: marked bad, so the target is v2.
		if _, err := l.Append(ctx, ledger.Mark{Env: "production", Digest: digests[3], Status: ledger.Bad}); err != nil {
			t.Fatal(err)
		}
		rb, err := l.RollbackTarget(ctx, ledger.RollbackQuery{Env: "production"})
		if err != nil || rb.Target.Digest != digests[2] || rb.Current.Digest != digests[3] {
			t.Fatalf("before: %+v %v", rb, err)
		}
		appTags, err := client.ListTagsPage(ctx, app, "", 0, "")
		if err != nil || len(appTags.Tags) != 4 {
			t.Fatalf("the application's repository holds %v (%v)", appTags, err)
		}

		res, err := l.Prune(ctx, ledger.PrunePolicy{Env: "production", KeepGood: 1, Apply: true})
		if k.Name == "docker-registry-2.8" {
			if !errors.Is(err, registry.ErrDeleteRefused) || failure.KindOf(err) != failure.Safety {
				t.Fatalf("prune on 2.8: %v, want a deletion refusal", err)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		// Kept: the bad entry (newest), v3's deployed (current), v3's good (newest good),
		// v2's good (target). Removed: v0, v1 entirely and v2's deployed, with records.
		if len(res.Remove) != 5 || res.Deleted != 10 || !slices.Contains(res.Remove, good[1].Tag) || slices.Contains(res.Remove, good[2].Tag) {
			t.Fatalf("prune: %+v", res)
		}
		after, err := l.RollbackTarget(ctx, ledger.RollbackQuery{Env: "production"})
		if err != nil || after.Target.Entry.Tag != rb.Target.Entry.Tag || after.Current.Entry.Tag != rb.Current.Entry.Tag {
			t.Fatalf("after: %+v %v", after, err)
		}
		if bad, err := l.IsBad(ctx, "production", digests[3]); err != nil || !bad {
			t.Fatalf("bad marker: %v %v", bad, err)
		}
		again, err := l.Prune(ctx, ledger.PrunePolicy{Env: "production", KeepGood: 1, Apply: true})
		if err != nil || len(again.Remove) != 0 {
			t.Fatalf("second prune: %+v %v", again, err)
		}
	})
}
