package ledger_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/ledger"
	"github.com/shipgate/shipgate/helper/internal/registry"
	"github.com/shipgate/shipgate/helper/internal/testpeer/registryserver"
	"github.com/shipgate/shipgate/helper/internal/testpeer/testimage"
)

func listAll(t *testing.T, c *registry.Client, repo registry.Repository) []string {
	t.Helper()
	var all []string
	next := ""
	for {
		page, err := c.ListTagsPage(context.Background(), repo, "", 0, next)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page.Tags...)
		if page.Next == "" {
			return all
		}
		next = page.Next
	}
}

// deleteByDigest removes a manifest from a repository the way a registry's cleanup would (and
// with it every tag on it).
func deleteByDigest(t *testing.T, s *registryserver.Server, path string, d v1.Hash) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodDelete, s.URL+"/v2/"+path+"/manifests/"+d.String(), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("deleting %s@%s: %d", path, d, resp.StatusCode)
	}
}

// TestDedicatedLedgerRepository: with the ledger in team/app-ledger, marks mount the digest
// there (no bytes move, a multi-platform index included), the application's repository keeps
// only its own tags, and current, the rollback target, find and the bad verdict answer as they
// do in the application's repository, also after the application's repository lost the image:
// the ledger's entry tags keep it, and Deployable points there.
func TestDedicatedLedgerRepository(t *testing.T) {
	registryserver.ForEach(t, registryserver.Options{}, func(t *testing.T, s *registryserver.Server) {
		ctx := context.Background()
		app := registry.Repository{Registry: s.Host, Path: "team/app"}
		loc, err := ledger.NewLocation(app, registry.Repository{Registry: s.Host, Path: "team/app-ledger"})
		if err != nil {
			t.Fatal(err)
		}
		client := registry.New(registry.Options{})
		l := ledger.New(client, loc.Ledger)
		a := testimage.Index(t, s.Repo("team/app:v1"), 2, 1)
		b := testimage.Image(t, s.Repo("team/app:v2"), 2)
		c := testimage.Image(t, s.Repo("team/app:v3"), 2)
		for i, d := range []v1.Hash{a, b, c} {
			copied, err := loc.Bring(ctx, client, d)
			if err != nil || copied != 0 {
				t.Fatalf("bring %s: %d bytes copied, %v; want a mount", d, copied, err)
			}
			for _, st := range []ledger.Status{ledger.Deploying, ledger.Deployed, ledger.Good} {
				if _, err := l.Append(ctx, ledger.Mark{Env: "production", Digest: d, Status: st,
					Record: ledger.Record{Source: ledger.Source{Commit: commitN(i)}}}); err != nil {
					t.Fatal(err)
				}
			}
		}
		if _, err := l.Append(ctx, ledger.Mark{Env: "production", Digest: c, Status: ledger.Bad}); err != nil {
			t.Fatal(err)
		}
		if got := listAll(t, client, app); !slices.Equal(got, []string{"v1", "v2", "v3"}) {
			t.Fatalf("the application's repository holds %v", got)
		}
		for _, tag := range listAll(t, client, loc.Ledger) {
			if !strings.HasPrefix(tag, "production.") {
				t.Fatalf("foreign tag %s in the ledger repository", tag)
			}
		}
		cur, err := l.Current(ctx, "production")
		if err != nil || cur.Digest != c {
			t.Fatalf("current %+v %v", cur, err)
		}
		// The application's repository loses a (its cleanup, or its tag moved and GC ran).
		deleteByDigest(t, s, "team/app", a)
		rb, err := l.RollbackTarget(ctx, ledger.RollbackQuery{Env: "production", Steps: 2})
		if err != nil || rb.Target.Digest != a {
			t.Fatalf("target 2 steps back: %+v %v, want %s (resolving in the ledger repository)", rb, err, a)
		}
		where, err := loc.Deployable(ctx, client, a)
		if err != nil || where != loc.Ledger {
			t.Fatalf("deployable %s from %v (%v), want the ledger repository", a, where, err)
		}
		if where, err := loc.Deployable(ctx, client, b); err != nil || where != app {
			t.Fatalf("deployable %s from %v (%v), want the application's repository", b, where, err)
		}
		if f, err := l.Find(ctx, ledger.FindQuery{Env: "production", Status: ledger.Good, Commit: commitN(1)}); err != nil || f.Digest != b {
			t.Fatalf("find: %+v %v", f, err)
		}
		if _, err := l.Append(ctx, ledger.Mark{Env: "production", Digest: c, Status: ledger.Deploying}); failure.KindOf(err) != failure.Safety {
			t.Fatalf("redeploying a bad digest: %v", err)
		}
	})
}

func TestLocationRefusesAnotherRegistry(t *testing.T) {
	_, err := ledger.NewLocation(registry.Repository{Registry: "a.example", Path: "app"}, registry.Repository{Registry: "b.example", Path: "app-ledger"})
	if failure.KindOf(err) != failure.Usage {
		t.Fatalf("%v, want bad usage", err)
	}
}

// TestCopyLedgerBetweenRepositories: the migration copies every entry, record and bad marker
// under the same names; the copy answers every query like the original; a second copy writes
// nothing; a destination tag on another digest is refused.
func TestCopyLedgerBetweenRepositories(t *testing.T) {
	registryserver.ForEach(t, registryserver.Options{MaxTags: 10}, func(t *testing.T, s *registryserver.Server) {
		ctx := context.Background()
		app := registry.Repository{Registry: s.Host, Path: "team/app"}
		dedicated := registry.Repository{Registry: s.Host, Path: "team/app-ledger"}
		client := registry.New(registry.Options{})
		old := ledger.New(client, app)
		var digests []v1.Hash
		for i := 0; i < 4; i++ {
			d := testimage.Image(t, s.Repo(fmt.Sprintf("team/app:b%d", i)), 1)
			digests = append(digests, d)
			for _, st := range []ledger.Status{ledger.Deploying, ledger.Deployed, ledger.Good} {
				if _, err := old.Append(ctx, ledger.Mark{Env: "production", Digest: d, Status: st,
					Record: ledger.Record{Source: ledger.Source{Commit: commitN(i)}, Reason: "r"}}); err != nil {
					t.Fatal(err)
				}
			}
		}
		if _, err := old.Append(ctx, ledger.Mark{Env: "production", Digest: digests[2], Status: ledger.Bad}); err != nil {
			t.Fatal(err)
		}
		dry, err := ledger.Copy(ctx, client, app, dedicated, "production", false)
		if err != nil || dry.Entries != 13 || dry.Digests != 4 || dry.BadMarkers != 1 {
			t.Fatalf("dry run: %+v %v", dry, err)
		}
		if got := listAll(t, client, dedicated); len(got) != 0 {
			t.Fatalf("the dry run wrote %v", got)
		}
		res, err := ledger.Copy(ctx, client, app, dedicated, "production", true)
		if err != nil || res.Copied != 13 || res.Records != 13 {
			t.Fatalf("copy: %+v %v", res, err)
		}
		moved := ledger.New(client, dedicated)
		h1, c1, err1 := old.History(ctx, "production", 0)
		h2, c2, err2 := moved.History(ctx, "production", 0)
		if err1 != nil || err2 != nil || len(h1) != len(h2) || c1.Digest != c2.Digest {
			t.Fatalf("histories differ: %d/%d entries, %v %v", len(h1), len(h2), err1, err2)
		}
		for i := range h1 {
			if h1[i].Entry.Tag != h2[i].Entry.Tag || h1[i].Digest != h2[i].Digest || h2[i].Record == nil || h2[i].Record.Reason != h1[i].Record.Reason {
				t.Fatalf("entry %d: %+v vs %+v", i, h1[i], h2[i])
			}
		}
		if bad, err := moved.IsBad(ctx, "production", digests[2]); err != nil || !bad {
			t.Fatalf("bad verdict not copied: %v %v", bad, err)
		}
		r1, _ := old.RollbackTarget(ctx, ledger.RollbackQuery{Env: "production"})
		r2, err := moved.RollbackTarget(ctx, ledger.RollbackQuery{Env: "production"})
		if err != nil || r1.Target.Digest != r2.Target.Digest {
			t.Fatalf("rollback targets differ: %v vs %+v %v", r1.Target.Digest, r2, err)
		}
		// New entries at the destination continue the same clock.
		w, err := moved.Append(ctx, ledger.Mark{Env: "production", Digest: digests[1], Status: ledger.Deploying})
		if err != nil || !ledger.Newer(w.Entry, h1[0].Entry) {
			t.Fatalf("new entry %+v %v is not the newest", w, err)
		}
		again, err := ledger.Copy(ctx, client, app, dedicated, "production", true)
		if err != nil || again.Copied != 0 || again.Present != 13 {
			t.Fatalf("second copy: %+v %v", again, err)
		}
		// A destination entry tag on another digest is never overwritten (the newest entry is
		// the bad entry of digests[2]; point its copy at digests[0]).
		m, err := client.GetManifest(ctx, registry.Reference{Repository: dedicated, Digest: digests[0]})
		if err != nil {
			t.Fatal(err)
		}
		if err := client.PutManifest(ctx, dedicated, h1[0].Entry.Tag, m); err != nil {
			t.Fatal(err)
		}
		if _, err := ledger.Copy(ctx, client, app, dedicated, "production", true); failure.KindOf(err) != failure.Safety {
			t.Fatalf("copy over a conflicting tag: %v, want a refusal", err)
		}
	})
}
