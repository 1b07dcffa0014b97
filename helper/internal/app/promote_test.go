package app

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/shipgate/shipgate/helper/internal/testpeer/countingproxy"
	"github.com/shipgate/shipgate/helper/internal/testpeer/registryserver"
	"github.com/shipgate/shipgate/helper/internal/testpeer/testimage"
)

// TestPromoteChecksBadMarksWithoutBeingAsked (issue 18 point 4): without --env, promote takes
// the environment from the destination's ledger where it can and refuses a digest marked bad
// there; the unsafe path is the explicit --no-env-check; a tag that moves is reported old → new.
func TestPromoteChecksBadMarksWithoutBeingAsked(t *testing.T) {
	t.Parallel()
	reg := registryserver.StartT(t, registryserver.Options{})
	src, dst := reg.Repo("build/app"), reg.Repo("prod/app")
	d1 := testimage.Image(t, src+":one", 1).String()
	d2 := testimage.Image(t, src+":two", 2).String()

	// A destination without a ledger has no bad marks: promoted, and said so.
	r := runCLI(t, nil, "promote", "--from", src+"@"+d1, "--to", dst)
	mustCode(t, r, 0)
	if !strings.Contains(r.stderr, "has no ledger yet") {
		t.Errorf("no note about the missing ledger: %q", r.stderr)
	}
	mustCode(t, runCLI(t, nil, "mark-good", "--image", dst+"@"+d1, "--env", "production"), 0)

	// One environment in the destination's ledger: it is the one checked, and exported.
	export := t.TempDir() + "/bash_env"
	r = runCLI(t, nil, "promote", "--from", src+"@"+d2, "--to", dst, "--tag", "v1", "--export-to", export)
	mustCode(t, r, 0)
	if !strings.Contains(r.stderr, "checking bad marks in production") {
		t.Errorf("the inferred environment is not named: %q", r.stderr)
	}
	mustCode(t, runCLI(t, nil, "mark-bad", "--image", dst+"@"+d2, "--env", "production", "--reason", "smoke failed"), 0)

	// The reported case: no --env, a digest marked bad in the destination → refused (exit 5).
	r = runCLI(t, nil, "promote", "--from", src+"@"+d2, "--to", dst)
	mustCode(t, r, 5)
	if !strings.Contains(r.stderr, "marked bad in production") {
		t.Errorf("refusal does not name the environment: %q", r.stderr)
	}
	// Variant: the same with --tag (the tag must not move onto the bad digest).
	mustCode(t, runCLI(t, nil, "promote", "--from", src+"@"+d2, "--to", dst, "--tag", "latest"), 5)
	// The explicit unsafe path.
	r = runCLI(t, nil, "promote", "--from", src+"@"+d2, "--to", dst, "--no-env-check")
	mustCode(t, r, 0)
	if !strings.Contains(r.stderr, "warning: --no-env-check") {
		t.Errorf("--no-env-check is not announced: %q", r.stderr)
	}
	// An environment set for the whole job (SHIPGATE_FLAG_ENV) does not undo it.
	r = runCLI(t, map[string]string{"SHIPGATE_FLAG_ENV": "production"}, "promote", "--from", src+"@"+d2, "--to", dst, "--no-env-check")
	mustCode(t, r, 0)
	if !strings.Contains(r.stderr, "warning: --no-env-check") {
		t.Errorf("--no-env-check with SHIPGATE_FLAG_ENV: %q", r.stderr)
	}

	// A moving tag is reported, old → new (dry run: "would move").
	r = runCLI(t, nil, "promote", "--from", src+"@"+d1, "--to", dst, "--tag", "v1", "--dry-run")
	mustCode(t, r, 0)
	if !strings.Contains(r.stderr, "tag "+dst+":v1 would move: "+d2+" → "+d1) {
		t.Errorf("dry run does not report the tag move: %q", r.stderr)
	}
	r = runCLI(t, nil, "promote", "--from", src+"@"+d1, "--to", dst, "--tag", "v1")
	mustCode(t, r, 0)
	if !strings.Contains(r.stderr, "tag "+dst+":v1 moves: "+d2+" → "+d1) {
		t.Errorf("the tag move is not reported: %q", r.stderr)
	}

	// Several environments: the promotion must say which (exit 2 naming them).
	mustCode(t, runCLI(t, nil, "mark-good", "--image", dst+"@"+d1, "--env", "staging"), 0)
	r = runCLI(t, nil, "promote", "--from", src+"@"+d1, "--to", dst)
	mustCode(t, r, 2)
	if !strings.Contains(r.stderr, "production, staging") {
		t.Errorf("the environments are not named: %q", r.stderr)
	}
	mustCode(t, runCLI(t, nil, "promote", "--from", src+"@"+d1, "--to", dst, "--env", "staging"), 0)
}

// TestJSONListsAreNeverNull (issue 18 point 10): "warnings": [] when there are none.
func TestJSONListsAreNeverNull(t *testing.T) {
	t.Parallel()
	reg := registryserver.StartT(t, registryserver.Options{})
	repo := reg.Repo("app")
	d := testimage.Image(t, repo+":v1", 1).String()
	r := runCLI(t, nil, "mark-good", "--image", repo+"@"+d, "--env", "prod", "--output", "json")
	mustCode(t, r, 0)
	var out map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatal(err)
	}
	if w, ok := out["warnings"].([]any); !ok || len(w) != 0 {
		t.Errorf(`want "warnings": [], got %s`, r.stdout)
	}
}

// TestPromoteTagMoveCheckReadsTheSurvey (issue 15): without --env, the bad-mark check's full
// listing of the destination also says whether each --tag exists there, so a tag that does not
// exist costs no HEAD: adding a tag to an index in its own repository is 3 requests (the
// listing, the manifest, the PUT), as regctl's 3. A tag that exists is still read and its move
// reported.
func TestPromoteTagMoveCheckReadsTheSurvey(t *testing.T) {
	t.Parallel()
	reg := registryserver.StartT(t, registryserver.Options{})
	proxy, err := countingproxy.Start(reg.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	repo := proxy.Host + "/staging/multi"
	d := testimage.Index(t, reg.Repo("staging/multi:build"), 3, 2).String()
	other := testimage.Image(t, reg.Repo("staging/multi:other"), 1).String()

	proxy.Reset()
	mustCode(t, runCLI(t, nil, "promote", "--from", repo+"@"+d, "--to", repo, "--tag", "v2"), 0)
	if got := proxy.Count(); got != 3 || strings.Contains(proxy.Summary(), "HEAD") {
		t.Errorf("adding a new tag: %d requests (%s), want 3 and no HEAD", got, proxy.Summary())
	}

	proxy.Reset()
	r := runCLI(t, nil, "promote", "--from", repo+"@"+d, "--to", repo, "--tag", "other")
	mustCode(t, r, 0)
	if !strings.Contains(r.stderr, "tag "+repo+":other moves: "+other+" → "+d) {
		t.Errorf("the move of an existing tag is not reported: %q", r.stderr)
	}
	if got := proxy.Count(); got != 4 {
		t.Errorf("moving an existing tag: %d requests (%s), want 4 (the listing, the tag's HEAD, the manifest, the PUT)", got, proxy.Summary())
	}
}
