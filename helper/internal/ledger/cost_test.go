package ledger_test

import (
	"context"
	"testing"
	"time"

	"github.com/shipgate/shipgate/helper/internal/ledger"
	"github.com/shipgate/shipgate/helper/internal/registry"
	"github.com/shipgate/shipgate/helper/internal/testpeer/registryserver"
)

// The request budgets of issue 15 on a registry with a working `last` (distribution v3, pages of
// 100), counted by a proxy in front of it, each command with a fresh Ledger and client as a new
// CI job has: a whole mark-good at most 6 requests (docs/ledger.md, "What one mark costs"), a
// rollback over a history longer than one page at most 6.
const (
	markGoodBudget = 6
	rollbackBudget = 6
)

func TestMarkGoodAndRollbackStayWithinTheirRequestBudgets(t *testing.T) {
	f := newFixture(t, registryserver.Options{MaxTags: 100})
	ctx := context.Background()
	good, current := f.image("good"), f.image("current")
	client := registry.New(registry.Options{})
	// A history longer than a page: 150 deploys of good (450 entries), then current deploying
	// and deployed, written straight as entry tags (the ledger's own writes are what is counted
	// below, not the filling).
	manifests := map[bool]*registry.Manifest{}
	for _, isCurrent := range []bool{false, true} {
		d := good
		if isCurrent {
			d = current
		}
		m, err := client.GetManifest(ctx, registry.Reference{Repository: f.repo, Digest: d})
		if err != nil {
			t.Fatal(err)
		}
		manifests[isCurrent] = m
	}
	base := time.Now().Add(-48 * time.Hour).Unix()
	const entries = 452
	for i := 0; i < entries; i++ {
		status, isCurrent := []ledger.Status{ledger.Deploying, ledger.Deployed, ledger.Good}[i%3], false
		if i >= entries-2 {
			status, isCurrent = []ledger.Status{ledger.Deploying, ledger.Deployed}[i-(entries-2)], true
		}
		e, err := ledger.NewEntry("production", status, ledger.Stamp{Seconds: base + int64(i)}, "", "")
		if err != nil {
			t.Fatal(err)
		}
		if err := client.PutManifest(ctx, f.repo, e.Tag, manifests[isCurrent]); err != nil {
			t.Fatal(err)
		}
	}

	f.proxy.Reset()
	rb, err := ledger.New(registry.New(registry.Options{}), f.repo).RollbackTarget(ctx, ledger.RollbackQuery{Env: "production"})
	if err != nil {
		t.Fatal(err)
	}
	if rb.Target.Digest != good || rb.Current == nil || rb.Current.Digest != current {
		t.Fatalf("rollback chose %s from %v, want %s from %s", rb.Target.Digest, rb.Current, good, current)
	}
	t.Logf("rollback over %d entries: %d requests (%s)", entries, f.proxy.Count(), f.proxy.Summary())
	if n := f.proxy.Count(); n > rollbackBudget {
		t.Errorf("rollback over %d entries: %d requests (%s), budget %d", entries, n, f.proxy.Summary(), rollbackBudget)
	}

	// The first mark in a repository also pushes the record's empty blob (once); the budget is
	// for every later one.
	fresh := func() *ledger.Ledger { return ledger.New(registry.New(registry.Options{}), f.repo) }
	if _, err := fresh().Append(ctx, ledger.Mark{Env: "production", Digest: current, Status: ledger.Good}); err != nil {
		t.Fatal(err)
	}
	f.proxy.Reset()
	w, err := fresh().Append(ctx, ledger.Mark{Env: "production", Digest: current, Status: ledger.Good, Record: ledger.Record{Reason: "budget"}})
	if err != nil {
		t.Fatal(err)
	}
	if n := f.proxy.Count(); n > markGoodBudget {
		t.Errorf("mark-good: %d requests (%s), budget %d", n, f.proxy.Summary(), markGoodBudget)
	}
	t.Logf("mark-good: %d requests (%s)", f.proxy.Count(), f.proxy.Summary())
	// Every guarantee still holds: the entry is the newest, its record reads back.
	var newest ledger.Entry
	if err := fresh().Scan(ctx, "production", func(e ledger.Entry) bool { newest = e; return false }); err != nil {
		t.Fatal(err)
	}
	if newest.Tag != w.Tag || w.Record == "" {
		t.Fatalf("newest entry %s, written %s (record %q)", newest.Tag, w.Tag, w.Record)
	}
	if rec, err := fresh().RecordOf(ctx, newest); err != nil || rec == nil || rec.Reason != "budget" {
		t.Fatalf("record of %s: %+v %v", newest.Tag, rec, err)
	}
	// A digest marked bad is still refused, inside the same budget.
	if _, err := fresh().Append(ctx, ledger.Mark{Env: "production", Digest: good, Status: ledger.Bad}); err != nil {
		t.Fatal(err)
	}
	f.proxy.Reset()
	if _, err := fresh().Append(ctx, ledger.Mark{Env: "production", Digest: good, Status: ledger.Good}); err == nil {
		t.Fatal("mark-good of a digest marked bad was accepted")
	}
}
