package app

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shipgate/shipgate/helper/internal/testpeer/registrykinds"
	"github.com/shipgate/shipgate/helper/internal/testpeer/testimage"
)

// Issue 13, as a user saw it on zot: six mark-* writes, then releases said "never deployed",
// rollback and find "not found". Through the CLI, on the registries whose listings differ most.
func TestLedgerCommandsOnRegistriesThatPageDifferently(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"zot", "ecr", "distribution-3.0.0"} {
		t.Run(name, func(t *testing.T) {
			k := registrykinds.Start(t, name)
			commits := map[string]string{"a": strings.Repeat("a", 40), "b": strings.Repeat("b", 40)}
			images := map[string]string{}
			for _, build := range []string{"a", "b"} {
				images[build] = k.Repo("app") + "@" + testimage.Image(t, k.Repo("app:"+build), 1).String()
				release := filepath.Join(t.TempDir(), "release.json")
				mustCode(t, runCLI(t, pipelineEnv(commits[build]), "record-artifact", "--image", images[build], "--out", release), 0)
				for _, args := range [][]string{
					{"mark-deployed", "--status", "deploying"}, {"mark-deployed"}, {"mark-good"},
				} {
					args = append(args, "--image", images[build], "--release", release, "--env", "production")
					mustCode(t, runCLI(t, pipelineEnv(commits[build]), args...), 0)
				}
			}
			r := runCLI(t, nil, "releases", "--repo", k.Repo("app"), "--env", "production", "--output", "json")
			mustCode(t, r, 0)
			var history struct {
				Current string
				Entries []releaseView
			}
			if err := json.Unmarshal([]byte(r.stdout), &history); err != nil || history.Current != images["b"] || len(history.Entries) != 6 {
				t.Fatalf("releases on %s: %v %s", name, err, r.stdout)
			}
			for i := 1; i < len(history.Entries); i++ {
				if history.Entries[i].Tag[:24] == history.Entries[i-1].Tag[:24] {
					t.Fatalf("two entries share a stamp: %s, %s", history.Entries[i-1].Tag, history.Entries[i].Tag)
				}
			}
			r = runCLI(t, nil, "rollback", "--repo", k.Repo("app"), "--env", "production")
			mustCode(t, r, 0)
			if strings.TrimSpace(r.stdout) != images["a"] {
				t.Fatalf("rollback on %s: %q", name, r.stdout)
			}
			r = runCLI(t, nil, "find", "--repo", k.Repo("app"), "--env", "production", "--commit", commits["a"])
			mustCode(t, r, 0)
			if strings.TrimSpace(r.stdout) != images["a"] {
				t.Fatalf("find on %s: %q", name, r.stdout)
			}
		})
	}
}
