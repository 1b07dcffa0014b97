package app

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shipgate/shipgate/helper/internal/testpeer/registryserver"
	"github.com/shipgate/shipgate/helper/internal/testpeer/testimage"
)

func tagList(t *testing.T, s *registryserver.Server, path string) []string {
	t.Helper()
	r := runCLI(t, nil, "releases", "--repo", s.Repo(path), "--env", "production", "--limit", "0", "--output", "json")
	if r.code != 0 {
		t.Fatalf("releases: %d %s", r.code, r.stderr)
	}
	var out struct{ Entries []struct{ Tag string } }
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatal(err)
	}
	var tags []string
	for _, e := range out.Entries {
		tags = append(tags, e.Tag)
	}
	return tags
}

// TestLedgerRepoFromTheEnvironment: SHIPGATE_FLAG_LEDGER_REPO (as the orb sets it) moves every
// ledger command to the dedicated repository: marks, the bad verdict that promote --env
// checks, releases, rollback's export; the application's repository keeps no ledger tag.
func TestLedgerRepoFromTheEnvironment(t *testing.T) {
	reg := registryserver.StartT(t, registryserver.Options{})
	app, dedicated := reg.Repo("team/app"), reg.Repo("team/app-ledger")
	env := map[string]string{"SHIPGATE_FLAG_LEDGER_REPO": dedicated}
	var images []string
	for i, tag := range []string{"v1", "v2", "v3"} {
		d := testimage.Image(t, app+":"+tag, 1)
		images = append(images, app+"@"+d.String())
		for _, args := range [][]string{{"mark-deployed"}, {"mark-good"}} {
			r := runCLI(t, env, append(args, "--image", images[i], "--env", "production")...)
			mustCode(t, r, 0)
		}
	}
	mustCode(t, runCLI(t, env, "mark-bad", "--image", images[2], "--env", "production"), 0)
	if got := tagList(t, reg, "team/app"); len(got) != 0 {
		t.Fatalf("ledger entries in the application's repository: %v", got)
	}
	r := runCLI(t, env, "releases", "--repo", app, "--env", "production", "--output", "json")
	mustCode(t, r, 0)
	if !strings.Contains(r.stdout, `"current":"`+images[2]+`"`) || strings.Count(r.stdout, `"tag":`) != 7 {
		t.Fatalf("releases through the ledger repository: %s", r.stdout)
	}
	// promote --env reads the verdict where the ledger lives.
	r = runCLI(t, env, "promote", "--from", images[2], "--to", reg.Repo("team/other"), "--env", "production")
	mustCode(t, r, 5)
	exportFile := filepath.Join(t.TempDir(), "bash_env")
	r = runCLI(t, env, "rollback", "--repo", app, "--env", "production", "--export-to", exportFile)
	mustCode(t, r, 0)
	exported, _ := os.ReadFile(exportFile)
	if !strings.Contains(string(exported), "export SHIPGATE_IMAGE='"+images[1]+"'") {
		t.Fatalf("rollback exports %s", exported)
	}
}

// TestLedgerCopyThenPrune: the migration command copies a ledger into a dedicated repository
// (the dry run writes nothing), releases reads the same entries there, and prune lists what it
// would remove, removes it with --apply, and leaves the newest good entry and current.
func TestLedgerCopyThenPrune(t *testing.T) {
	reg := registryserver.StartT(t, registryserver.Options{})
	app, dedicated := reg.Repo("team/app"), reg.Repo("team/app-ledger")
	for _, tag := range []string{"v1", "v2", "v3", "v4"} {
		image := app + "@" + testimage.Image(t, app+":"+tag, 1).String()
		mustCode(t, runCLI(t, nil, "mark-deployed", "--image", image, "--env", "production"), 0)
		mustCode(t, runCLI(t, nil, "mark-good", "--image", image, "--env", "production"), 0)
	}
	before := tagList(t, reg, "team/app")
	r := runCLI(t, nil, "ledger", "copy", "--repo", app, "--to", dedicated, "--env", "production")
	mustCode(t, r, 0)
	if !strings.Contains(r.stdout, "8 entries") {
		t.Fatalf("dry run: %s", r.stdout)
	}
	// Nothing was written: the ledger repository does not even exist yet.
	mustCode(t, runCLI(t, nil, "releases", "--repo", dedicated, "--env", "production"), 4)
	mustCode(t, runCLI(t, nil, "ledger", "copy", "--repo", app, "--to", dedicated, "--env", "production", "--apply"), 0)
	if got := tagList(t, reg, "team/app-ledger"); strings.Join(got, ",") != strings.Join(before, ",") {
		t.Fatalf("copied ledger %v, want %v", got, before)
	}

	env := map[string]string{"SHIPGATE_FLAG_LEDGER_REPO": dedicated}
	r = runCLI(t, env, "ledger", "prune", "--repo", app, "--env", "production", "--keep", "1", "--keep-days", "0")
	mustCode(t, r, 0)
	// Kept: the newest entry (v4 good), current (v4 deployed), the rollback target (v3 good).
	if strings.Count(r.stdout, "remove ") != 5 || !strings.Contains(r.stderr, "dry run") {
		t.Fatalf("dry run: %s / %s", r.stdout, r.stderr)
	}
	if got := tagList(t, reg, "team/app-ledger"); len(got) != 8 {
		t.Fatalf("the dry run removed entries: %v", got)
	}
	mustCode(t, runCLI(t, env, "ledger", "prune", "--repo", app, "--env", "production", "--keep", "1", "--keep-days", "0", "--apply"), 0)
	after := tagList(t, reg, "team/app-ledger")
	if len(after) != 3 || after[0] != before[0] || after[1] != before[1] {
		t.Fatalf("after prune: %v (before %v)", after, before)
	}
	// The application's own ledger is untouched by a prune of the dedicated one.
	if got := tagList(t, reg, "team/app"); len(got) != 8 {
		t.Fatalf("the application's repository lost entries: %v", got)
	}
	mustCode(t, runCLI(t, nil, "ledger", "prune", "--repo", app, "--env", "production", "--keep", "0"), 2)
}

// TestLedgerPruneRefusedDeletion: a registry with deletion disabled stops prune with exit code
// 5 and one error line naming the refusal.
func TestLedgerPruneRefusedDeletion(t *testing.T) {
	reg := registryserver.StartT(t, registryserver.Options{NoDelete: true})
	app := reg.Repo("team/app")
	for _, tag := range []string{"v1", "v2", "v3"} {
		image := app + "@" + testimage.Image(t, app+":"+tag, 1).String()
		mustCode(t, runCLI(t, nil, "mark-deployed", "--image", image, "--env", "production"), 0)
		mustCode(t, runCLI(t, nil, "mark-good", "--image", image, "--env", "production"), 0)
	}
	r := runCLI(t, nil, "ledger", "prune", "--repo", app, "--env", "production", "--keep", "1", "--keep-days", "0", "--apply")
	mustCode(t, r, 5)
	if !strings.Contains(r.stderr, "refuses to delete tags") || !strings.Contains(r.stderr, "hint:") {
		t.Fatalf("stderr: %s", r.stderr)
	}
	if got := tagList(t, reg, "team/app"); len(got) != 6 {
		t.Fatalf("entries after a refused prune: %v", got)
	}
}
