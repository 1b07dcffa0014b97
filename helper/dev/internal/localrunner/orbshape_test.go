package localrunner

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shipgate/shipgate/helper/internal/circleci"
)

// An orb shaped like shipgate's: a helper stub on PATH exports results into $BASH_ENV, the
// user's deploy steps arrive as a steps parameter, a failure triggers on_fail rollback steps,
// and parameters reach scripts only through environment:.
const orbShapeConfig = `
version: 2.1
orbs:
  sg:
    commands:
      promote:
        parameters:
          env: {type: enum, enum: [staging, production]}
          dry_run: {type: boolean, default: false}
        steps:
          - run:
              name: Promote to << parameters.env >>
              environment:
                PARAM_ENV: << parameters.env >>
                PARAM_DRY_RUN: << parameters.dry_run >>
              command: fakehelper promote --env "$PARAM_ENV" --dry-run "$PARAM_DRY_RUN" --export-to "$BASH_ENV"
    jobs:
      deploy:
        parameters:
          env: {type: enum, enum: [staging, production]}
          deploy_steps: {type: steps}
          rollback: {type: boolean, default: true}
        docker: [{image: cimg/base:current}]
        steps:
          - promote: {env: << parameters.env >>}
          - steps: << parameters.deploy_steps >>
          - run:
              name: Smoke test
              command: test "$(cat "$HOME/deployed")" = "$SHIPGATE_IMAGE"
          - when:
              condition: << parameters.rollback >>
              steps:
                - run:
                    name: Roll back
                    when: on_fail
                    command: echo "rolling back from $SHIPGATE_IMAGE"
workflows:
  main:
    jobs:
      - sg/deploy:
          name: deploy-staging
          env: staging
          deploy_steps:
            - run:
                name: Deploy
                command: echo "$SHIPGATE_IMAGE" > "$HOME/deployed"
      - sg/deploy:
          name: deploy-broken
          env: production
          deploy_steps:
            - run: {name: Deploy wrong image, command: echo other > "$HOME/deployed"}
`

func TestOrbShapedDeployWithRollback(t *testing.T) {
	stubs := t.TempDir()
	helper := "#!/bin/bash\nset -eu\nwhile [ $# -gt 0 ]; do case $1 in --export-to) out=$2; shift;; --env) env=$2; shift;; --dry-run) dry=$2; shift;; esac; shift; done\n" +
		"echo \"export SHIPGATE_IMAGE='reg/app-$env@sha256:abc' SHIPGATE_DRY='$dry'\" >> \"$out\"\n"
	if err := os.WriteFile(filepath.Join(stubs, "fakehelper"), []byte(helper), 0o755); err != nil {
		t.Fatal(err)
	}
	res, log := runConfig(t, orbShapeConfig, RunOptions{Branch: "main", PathPrepend: []string{stubs}})
	staging, broken := res.Job("deploy-staging"), res.Job("deploy-broken")
	if staging.Status != StatusSuccess {
		t.Fatalf("staging: %s %s\n%s", staging.Status, staging.Reason, log)
	}
	if got := stepStatuses(staging); len(got) != 4 || got[3] != StatusSkipped {
		t.Errorf("staging steps = %v (rollback must not run)", got)
	}
	if broken.Status != StatusFailed || !strings.Contains(broken.Reason, `step "Smoke test"`) {
		t.Fatalf("broken: %s %s", broken.Status, broken.Reason)
	}
	if out := broken.Steps[3].Output; out != "rolling back from reg/app-production@sha256:abc\n" {
		t.Errorf("rollback output %q", out)
	}
	if !strings.Contains(log, "--> [deploy-staging] Promote to staging") {
		t.Errorf("step names not in the log:\n%s", log)
	}
}

// TestParametersDoNotExecute: string parameters passed through environment: and shown in step
// names are data, whatever they hold.
func TestParametersDoNotExecute(t *testing.T) {
	mark := filepath.Join(t.TempDir(), "mark")
	payloads := []string{`"; touch $MARK #`, `$(touch $MARK)`, "`touch $MARK`", "x\ntouch $MARK", `'; touch "$MARK"; '`, `\<< parameters.msg >>`}
	for _, payload := range payloads {
		config := `
version: 2.1
commands:
  say:
    parameters:
      msg: {type: string}
    steps:
      - run:
          name: Say << parameters.msg >>
          environment: {PARAM_MSG: << parameters.msg >>}
          command: printf '%s' "$PARAM_MSG"
jobs:
  j:
    parameters:
      msg: {type: string}
    docker: [{image: x}]
    steps: [{say: {msg: << parameters.msg >>}}]
workflows:
  main:
    jobs: [{j: {msg: << pipeline.parameters.msg >>}}]
parameters:
  msg: {type: string, default: ""}
`
		res, log := runConfig(t, config, RunOptions{Branch: "main", Parameters: map[string]any{"msg": payload},
			Env: []string{"PATH=" + os.Getenv("PATH"), "MARK=" + mark}})
		j := res.Job("j")
		want := circleci.Unescape(payload)
		if j.Status != StatusSuccess || j.Steps[0].Output != want {
			t.Errorf("payload %q: %s, output %q, want %q\n%s", payload, j.Status, j.Steps[0].Output, want, log)
		}
		if _, err := os.Stat(mark); err == nil {
			t.Fatalf("payload %q executed", payload)
		}
	}
}
