package orbcheck

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A stub helper with just enough behaviour to drive the deploy job: promote and rollback write
// their exports, and the smoke test fails for the new release when SMOKE_BROKEN=1.
const flowStub = `#!/bin/bash
{ printf '%s\0' shipgate "$@"; printf '\036\n'; } >>"$STUB_LOG"
export_to=""
prev=""
for a in "$@"; do
  if [ "$prev" = --export-to ]; then export_to="$a"; fi
  prev="$a"
done
case "$1" in
  promote)
    printf "export SHIPGATE_IMAGE='registry.invalid/app/production@sha256:new'\nexport SHIPGATE_DIGEST='sha256:new'\nexport SHIPGATE_REPOSITORY='registry.invalid/app/production'\nexport SHIPGATE_VERSION='v-new'\n" >>"$export_to" ;;
  rollback)
    printf "export SHIPGATE_IMAGE='registry.invalid/app/production@sha256:old'\nexport SHIPGATE_DIGEST='sha256:old'\nexport SHIPGATE_ROLLBACK_FROM='sha256:new'\nexport SHIPGATE_VERSION='v-old'\n" >>"$export_to" ;;
  smoke-test)
    case " $* " in
      *" --expect-version v-new "*) if [ "${SMOKE_BROKEN:-0}" = 1 ]; then exit 6; fi ;;
    esac ;;
esac
exit 0
`

const haltStub = `#!/bin/bash
{ printf '%s\0' circleci-agent "$@"; printf '\036\n'; } >>"$STUB_LOG"
if [ "$1 $2" = "step halt" ]; then touch "$HALT"; fi
`

// markerStub stands in for the CircleCI CLI; with MARKER_FAILS=1 setting a marker to SUCCESS
// fails, as it does when CircleCI's API is unreachable.
const markerStub = `#!/bin/bash
{ printf '%s\0' circleci "$@"; printf '\036\n'; } >>"$STUB_LOG"
if [ "${MARKER_FAILS:-0}" = 1 ] && [[ " $* " == *" --status=SUCCESS "* ]]; then
  echo "circleci: error: could not reach the deploys API" >&2
  exit 1
fi
`

// runJob executes a job's steps as CircleCI does: one bash per step sourcing $BASH_ENV,
// on_success steps skipped after a failure, on_fail steps only after one, and
// `circleci-agent step halt` ending the job successfully.
func runJob(t *testing.T, steps []runStep, extraEnv ...string) (calls []string, succeeded bool) {
	t.Helper()
	r := newScriptRun(t)
	must(t, os.WriteFile(filepath.Join(r.stubs, "shipgate"), []byte(flowStub), 0o755))
	must(t, os.WriteFile(filepath.Join(r.stubs, "circleci-agent"), []byte(haltStub), 0o755))
	must(t, os.WriteFile(filepath.Join(r.stubs, "circleci"), []byte(markerStub), 0o755))
	work := t.TempDir()
	must(t, os.WriteFile(filepath.Join(work, "release.json"), []byte(`{"schemaVersion":1}`), 0o644))
	bashEnv := filepath.Join(work, "bash_env")
	must(t, os.WriteFile(bashEnv, nil, 0o644))
	log := filepath.Join(work, "stub.log")
	halt := filepath.Join(work, "HALT")
	base := append([]string{
		"PATH=" + r.stubs + ":/usr/bin:/bin", "HOME=" + work, "BASH_ENV=" + bashEnv,
		"STUB_LOG=" + log, "HALT=" + halt, "CIRCLE_JOB=deploy-production", "CIRCLE_PROJECT_REPONAME=app",
	}, extraEnv...)
	failed := false
	for _, s := range steps {
		switch {
		case s.when == "always":
		case s.when == "on_fail" && !failed, s.when != "on_fail" && failed:
			continue
		}
		env := append([]string(nil), base...)
		for k, v := range s.env {
			if k == "PARAM_BINARY" && v == "STUB" {
				v = filepath.Join(r.stubs, "shipgate") // install links the stub as the helper
			}
			env = append(env, k+"="+v)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		cmd := exec.CommandContext(ctx, "bash", "-eo", "pipefail", "-c", s.command)
		cmd.Dir, cmd.Env = work, env
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Logf("step %q failed: %v\n%s", s.name, err, out)
			failed = true
		}
		if _, err := os.Stat(halt); err == nil {
			break
		}
	}
	data, _ := os.ReadFile(log)
	for _, rec := range strings.Split(string(data), "\x1e\n") {
		if rec == "" {
			continue
		}
		parts := strings.Split(strings.TrimSuffix(rec, "\x00"), "\x00")
		// Keep the command and the arguments a reader of the ledger cares about.
		calls = append(calls, summarise(parts))
	}
	return calls, !failed
}

func summarise(argv []string) string {
	keep := map[string]bool{"--image": true, "--status": true, "--expect-version": true, "--reason": true, "--to": true}
	out := []string{argv[0]}
	if len(argv) > 1 {
		out = append(out, argv[1])
	}
	for i := 2; i < len(argv); i++ {
		if argv[i] == "--force" {
			out = append(out, "--force")
			continue
		}
		if keep[argv[i]] && i+1 < len(argv) {
			out = append(out, argv[i]+"="+argv[i+1])
			i++
		}
	}
	if argv[0] == "kubectl" || argv[0] == "circleci" || argv[0] == "circleci-agent" {
		return strings.Join(argv, " ")
	}
	return strings.Join(out, " ")
}

func deployJobSteps(t *testing.T) []runStep {
	x := loadPackedOrb(t)
	return stepsOf(t, x, "jobs", "deploy_release", map[string]any{
		"helper_binary": "STUB", // install links the stub helper instead of downloading
		"env":           "production",
		"repository":    "registry.invalid/app/production",
		"url":           "https://app.invalid/version",
		"steps": []any{map[string]any{"run": map[string]any{
			"name": "Roll out", "command": `kubectl set image deployment/app "app=${SHIPGATE_IMAGE}"`}}},
	})
}

func TestDeployJobRecordsAHealthyRelease(t *testing.T) {
	calls, ok := runJob(t, deployJobSteps(t))
	want := []string{
		"shipgate promote --to=registry.invalid/app/production",
		"shipgate mark-deployed --image=registry.invalid/app/production@sha256:new --status=deploying",
		"kubectl set image deployment/app app=registry.invalid/app/production@sha256:new",
		"shipgate mark-deployed --image=registry.invalid/app/production@sha256:new",
		"shipgate smoke-test --expect-version=v-new",
		"shipgate mark-good --image=registry.invalid/app/production@sha256:new",
		"circleci-agent step halt",
	}
	if !ok || strings.Join(calls, "\n") != strings.Join(want, "\n") {
		t.Errorf("succeeded %v, calls:\n%s\nwant:\n%s", ok, strings.Join(calls, "\n"), strings.Join(want, "\n"))
	}
}

// force reaches every helper call that would refuse a digest marked bad: promote and each
// ledger entry (a review finding: the entries used to refuse what promote had forced).
func TestDeployJobForcePassesToEveryLedgerEntry(t *testing.T) {
	x := loadPackedOrb(t)
	steps := stepsOf(t, x, "jobs", "deploy_release", map[string]any{
		"helper_binary": "STUB",
		"env":           "production",
		"repository":    "registry.invalid/app/production",
		"url":           "https://app.invalid/version",
		"force":         true,
		"steps": []any{map[string]any{"run": map[string]any{
			"name": "Roll out", "command": `kubectl set image deployment/app "app=${SHIPGATE_IMAGE}"`}}},
	})
	calls, ok := runJob(t, steps)
	want := []string{
		"shipgate promote --to=registry.invalid/app/production --force",
		"shipgate mark-deployed --image=registry.invalid/app/production@sha256:new --status=deploying --force",
		"kubectl set image deployment/app app=registry.invalid/app/production@sha256:new",
		"shipgate mark-deployed --image=registry.invalid/app/production@sha256:new --force",
		"shipgate smoke-test --expect-version=v-new",
		"shipgate mark-good --image=registry.invalid/app/production@sha256:new --force",
		"circleci-agent step halt",
	}
	if !ok || strings.Join(calls, "\n") != strings.Join(want, "\n") {
		t.Errorf("succeeded %v, calls:\n%s\nwant:\n%s", ok, strings.Join(calls, "\n"), strings.Join(want, "\n"))
	}
}

func TestDeployJobRollsBackABrokenRelease(t *testing.T) {
	calls, ok := runJob(t, deployJobSteps(t), "SMOKE_BROKEN=1")
	reason := "automatic rollback after a failed smoke test"
	want := []string{
		"shipgate promote --to=registry.invalid/app/production",
		"shipgate mark-deployed --image=registry.invalid/app/production@sha256:new --status=deploying",
		"kubectl set image deployment/app app=registry.invalid/app/production@sha256:new",
		"shipgate mark-deployed --image=registry.invalid/app/production@sha256:new",
		"shipgate smoke-test --expect-version=v-new",
		"shipgate mark-bad --image=registry.invalid/app/production@sha256:new --reason=smoke test failed in job deploy-production",
		"shipgate rollback",
		"shipgate mark-deployed --image=registry.invalid/app/production@sha256:old --status=deploying --reason=" + reason,
		"kubectl set image deployment/app app=registry.invalid/app/production@sha256:old",
		"shipgate mark-deployed --image=registry.invalid/app/production@sha256:old --reason=" + reason,
		"shipgate smoke-test --expect-version=v-old",
		"shipgate mark-good --image=registry.invalid/app/production@sha256:old --reason=" + reason,
	}
	if ok {
		t.Error("the job succeeded; a rolled-back release must fail its job")
	}
	if strings.Join(calls, "\n") != strings.Join(want, "\n") {
		t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(calls, "\n"), strings.Join(want, "\n"))
	}
}

func TestDeployJobWithoutAutoRollbackStopsAtTheFailedSmokeTest(t *testing.T) {
	x := loadPackedOrb(t)
	steps := stepsOf(t, x, "jobs", "deploy_release", map[string]any{
		"helper_binary": "STUB", "env": "production", "repository": "registry.invalid/app/production",
		"url": "https://app.invalid/version", "auto_rollback": false,
		"steps": []any{map[string]any{"run": map[string]any{"name": "Roll out", "command": "true"}}},
	})
	calls, ok := runJob(t, steps, "SMOKE_BROKEN=1")
	if ok || len(calls) == 0 || calls[len(calls)-1] != "shipgate smoke-test --expect-version=v-new" {
		t.Errorf("succeeded %v, calls:\n%s", ok, strings.Join(calls, "\n"))
	}
}

func TestRollbackJobRedeploysTheTargetWithMarkers(t *testing.T) {
	x := loadPackedOrb(t)
	steps := stepsOf(t, x, "jobs", "rollback", map[string]any{
		"helper_binary": "STUB", "env": "production", "repository": "registry.invalid/app/production",
		"url": "https://app.invalid/version", "deploy_marker": true, "component": "app",
		"steps": []any{map[string]any{"run": map[string]any{"name": "Roll out", "command": `kubectl set image deployment/app "app=${SHIPGATE_IMAGE}"`}}},
	})
	calls, ok := runJob(t, steps)
	want := []string{
		"shipgate rollback",
		"circleci run release plan app-production-rollback --environment-name production --component-name app --target-version v-old --rollback",
		"circleci run release update app-production-rollback --status=RUNNING",
		"shipgate mark-deployed --image=registry.invalid/app/production@sha256:old --status=deploying --reason=manual rollback",
		"kubectl set image deployment/app app=registry.invalid/app/production@sha256:old",
		"shipgate mark-deployed --image=registry.invalid/app/production@sha256:old --reason=manual rollback",
		"shipgate smoke-test --expect-version=v-old",
		"shipgate mark-good --image=registry.invalid/app/production@sha256:old --reason=manual rollback",
		"circleci run release update app-production-rollback --status=SUCCESS",
	}
	if !ok || strings.Join(calls, "\n") != strings.Join(want, "\n") {
		t.Errorf("succeeded %v, calls:\n%s\nwant:\n%s", ok, strings.Join(calls, "\n"), strings.Join(want, "\n"))
	}
}

// With deploy markers, CircleCI's Deploys view sees the failed release and a successful
// rollback, and nothing after it (the job's deliberate failure is not reported twice).
func TestDeployJobMarkersAcrossAnAutomaticRollback(t *testing.T) {
	x := loadPackedOrb(t)
	steps := stepsOf(t, x, "jobs", "deploy_release", map[string]any{
		"helper_binary": "STUB", "env": "production", "repository": "registry.invalid/app/production",
		"url": "https://app.invalid/version", "deploy_marker": true, "component": "app",
		"steps": []any{map[string]any{"run": map[string]any{"name": "Roll out", "command": "true"}}},
	})
	calls, ok := runJob(t, steps, "SMOKE_BROKEN=1")
	var markers []string
	for _, c := range calls {
		if strings.HasPrefix(c, "circleci ") {
			markers = append(markers, c)
		}
	}
	want := []string{
		"circleci run release plan app-production --environment-name production --component-name app --target-version v-new",
		"circleci run release update app-production --status=RUNNING",
		"circleci run release update app-production --status=FAILED --failure-reason smoke test failed; rolling back",
		"circleci run release plan app-production-rollback --environment-name production --component-name app --target-version v-old --rollback",
		"circleci run release update app-production-rollback --status=RUNNING",
		"circleci run release update app-production-rollback --status=SUCCESS",
	}
	if ok || strings.Join(markers, "\n") != strings.Join(want, "\n") {
		t.Errorf("succeeded %v, markers:\n%s\nwant:\n%s", ok, strings.Join(markers, "\n"), strings.Join(want, "\n"))
	}
}

// A deploy marker that cannot be set to SUCCESS after the release was marked good does not turn
// the good release into a failed deploy (issue 16 point 8).
func TestDeployJobMarkerFailureAfterGoodIsNotADeployFailure(t *testing.T) {
	x := loadPackedOrb(t)
	steps := stepsOf(t, x, "jobs", "deploy_release", map[string]any{
		"helper_binary": "STUB", "env": "production", "repository": "registry.invalid/app/production",
		"url": "https://app.invalid/version", "deploy_marker": true, "component": "app",
		"steps": []any{map[string]any{"run": map[string]any{"name": "Roll out", "command": "true"}}},
	})
	calls, ok := runJob(t, steps, "MARKER_FAILS=1")
	joined := strings.Join(calls, "\n")
	if !ok || !strings.Contains(joined, "shipgate mark-good --image=registry.invalid/app/production@sha256:new") ||
		!strings.Contains(joined, "circleci run release update app-production --status=SUCCESS") ||
		!strings.HasSuffix(joined, "circleci-agent step halt") || strings.Contains(joined, "--status=FAILED") {
		t.Errorf("succeeded %v, calls:\n%s", ok, joined)
	}
}

// The smoke test is a stated choice per job (issue 18 point 8): smoke_test none runs no HTTP
// check and marks the release good once the deploy steps passed; url without a URL is refused
// before anything is marked good.
func TestDeployJobSmokeTestChoice(t *testing.T) {
	x := loadPackedOrb(t)
	args := func(extra map[string]any) map[string]any {
		a := map[string]any{
			"helper_binary": "STUB", "env": "production", "repository": "registry.invalid/app/production",
			"steps": []any{map[string]any{"run": map[string]any{"name": "Roll out", "command": "true"}}},
		}
		for k, v := range extra {
			a[k] = v
		}
		return a
	}
	calls, ok := runJob(t, stepsOf(t, x, "jobs", "deploy_release", args(map[string]any{"smoke_test": "none"})))
	joined := strings.Join(calls, "\n")
	if !ok || strings.Contains(joined, "smoke-test") || !strings.Contains(joined, "shipgate mark-good --image=registry.invalid/app/production@sha256:new") {
		t.Errorf("smoke_test none: succeeded %v, calls:\n%s", ok, joined)
	}
	calls, ok = runJob(t, stepsOf(t, x, "jobs", "deploy_release", args(nil)))
	joined = strings.Join(calls, "\n")
	if ok || strings.Contains(joined, "smoke-test") || strings.Contains(joined, "mark-good") {
		t.Errorf("smoke_test url without url: succeeded %v, calls:\n%s", ok, joined)
	}
	// A worker without a version endpoint: url with check_version false expects no version.
	calls, ok = runJob(t, stepsOf(t, x, "jobs", "deploy_release", args(map[string]any{"url": "https://app.invalid/healthz", "check_version": false})))
	joined = strings.Join(calls, "\n")
	if !ok || !strings.Contains(joined, "shipgate smoke-test") {
		t.Errorf("check_version false: succeeded %v, calls:\n%s", ok, joined)
	}
	if strings.Contains(joined, "--expect-version") {
		t.Errorf("check_version false still expected a version:\n%s", joined)
	}
}

// only_after_failed_deploy: when the newest ledger entry is not an unfinished or bad release
// (here the stub's ledger says nothing), the rollback job ends successfully without rolling back.
func TestRollbackJobOnlyAfterAFailedDeploy(t *testing.T) {
	x := loadPackedOrb(t)
	steps := stepsOf(t, x, "jobs", "rollback", map[string]any{
		"helper_binary": "STUB", "env": "production", "repository": "registry.invalid/app/production",
		"url": "https://app.invalid/version", "only_after_failed_deploy": true,
		"steps": []any{map[string]any{"run": map[string]any{"name": "Roll out", "command": `kubectl set image deployment/app "app=${SHIPGATE_IMAGE}"`}}},
	})
	calls, ok := runJob(t, steps)
	joined := strings.Join(calls, "\n")
	if !ok || !strings.Contains(joined, "shipgate releases") || strings.Contains(joined, "shipgate rollback") ||
		strings.Contains(joined, "kubectl") || !strings.HasSuffix(joined, "circleci-agent step halt") {
		t.Errorf("succeeded %v, calls:\n%s", ok, joined)
	}
}
