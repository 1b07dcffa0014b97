package app

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/shipgate/shipgate/helper/internal/testpeer/registryserver"
	"github.com/shipgate/shipgate/helper/internal/testpeer/testimage"
)

// TestShortDigestsAndCommits: a short digest gets a hint where it cannot be resolved, and is
// resolved against the ledger where it is unique (rollback --digest); a short commit is
// resolved with the local git repository (find), or hinted at (issue 18 point 6).
func TestShortDigestsAndCommits(t *testing.T) {
	t.Parallel()
	reg := registryserver.StartT(t, registryserver.Options{})
	repo := reg.Repo("app")
	d1 := testimage.Image(t, repo+":one", 1).String()
	d2 := testimage.Image(t, repo+":two", 2).String()
	for _, d := range []string{d1, d2} {
		mustCode(t, runCLI(t, nil, "mark-good", "--image", repo+"@"+d, "--env", "prod"), 0)
	}
	mustCode(t, runCLI(t, nil, "mark-deployed", "--image", repo+"@"+d2, "--env", "prod"), 0)

	// Refused with a hint: promote --from, mark-* --image (no ledger to resolve against).
	for _, args := range [][]string{
		{"promote", "--from", repo + "@" + d1[:19], "--to", reg.Repo("prod")},
		{"mark-bad", "--image", repo + "@" + d1[:14], "--env", "prod"},
		{"mark-good", "--image", repo + "@sha256:" + d1[7:20], "--env", "prod"},
	} {
		r := runCLI(t, nil, args...)
		mustCode(t, r, 2)
		if !strings.Contains(r.stderr, "hint: a digest is sha256: and all 64 hex digits") {
			t.Errorf("%q: no hint in %q", args, r.stderr)
		}
	}

	// Resolved: the prefix of one digest of the ledger, with or without sha256:.
	for _, short := range []string{d1[:19], strings.TrimPrefix(d1, "sha256:")[:7]} {
		r := runCLI(t, nil, "rollback", "--repo", repo, "--env", "prod", "--digest", short)
		mustCode(t, r, 0)
		if strings.TrimSpace(r.stdout) != repo+"@"+d1 || !strings.Contains(r.stderr, "resolved --digest") {
			t.Errorf("rollback --digest %s: stdout %q stderr %q", short, r.stdout, r.stderr)
		}
	}
	// A prefix of no digest in the ledger is not found.
	other := "sha256:" + strings.Repeat("0", 12)
	if strings.HasPrefix(d1, other) || strings.HasPrefix(d2, other) {
		t.Skip("improbable digest prefix")
	}
	mustCode(t, runCLI(t, nil, "rollback", "--repo", repo, "--env", "prod", "--digest", other), 4)

	// find --commit with 7 hex digits: resolved by git when the working directory is a
	// repository that has it, else refused with a hint.
	r := runCLI(t, nil, "find", "--repo", repo, "--env", "prod", "--commit", "abcdef0")
	mustCode(t, r, 2)
	if !strings.Contains(r.stderr, "hint: give the full SHA") {
		t.Errorf("find --commit short: no hint in %q", r.stderr)
	}
	if head, err := exec.Command("git", "rev-parse", "HEAD").Output(); err == nil {
		full := strings.TrimSpace(string(head))
		r := runCLI(t, nil, "find", "--repo", repo, "--env", "prod", "--commit", full[:7])
		if !strings.Contains(r.stderr, "resolved commit "+full[:7]+" to "+full) {
			t.Errorf("find --commit %s: not resolved by git: %q", full[:7], r.stderr)
		}
		mustCode(t, r, 4) // no such release in this test's ledger
	}
}
