package localrunner

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// runConfig runs workflow "main" of config and returns its result and log.
func runConfig(t *testing.T, config string, opts RunOptions) (*Result, string) {
	t.Helper()
	p, err := Parse("config.yml", []byte(config), testOrbs)
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	opts.LogWriter = &log
	if opts.WorkDir == "" {
		opts.WorkDir = t.TempDir()
	}
	if opts.Env == nil {
		opts.Env = []string{"PATH=" + os.Getenv("PATH"), "BASE=base"}
	}
	res, err := p.RunWorkflow(context.Background(), "main", opts)
	if err != nil {
		t.Fatalf("run: %v\nlog:\n%s", err, log.String())
	}
	return res, log.String()
}

func statuses(res *Result) map[string]Status {
	out := map[string]Status{}
	for _, j := range res.Jobs {
		out[j.Name] = j.Status
	}
	return out
}

func stepStatuses(j *JobResult) []Status {
	var out []Status
	for _, s := range j.Steps {
		out = append(out, s.Status)
	}
	return out
}

func TestBashEnvSourcedBetweenSteps(t *testing.T) {
	config := `
version: 2.1
jobs:
  first:
    docker: [{image: x}]
    steps:
      - run: echo 'export FROM_STEP="a b"' >> "$BASH_ENV"
      - run:
          name: next step sees it
          command: |
            test "$FROM_STEP" = "a b"
            echo "seen=$FROM_STEP home=$HOME"
  second:
    docker: [{image: x}]
    steps:
      - run: echo "second sees [${FROM_STEP:-}]"
workflows:
  main:
    jobs: [first, {second: {requires: [first]}}]
`
	res, log := runConfig(t, config, RunOptions{Branch: "main"})
	if res.Failed() {
		t.Fatalf("failed: %+v\n%s", res.Jobs[0], log)
	}
	first, second := res.Job("first"), res.Job("second")
	if want := "seen=a b home=" + first.Home + "\n"; first.Steps[1].Output != want {
		t.Errorf("output = %q, want %q", first.Steps[1].Output, want)
	}
	if first.Steps[1].Name != "next step sees it" || !strings.Contains(log, "--> [first] next step sees it") {
		t.Errorf("step name not logged:\n%s", log)
	}
	// BASH_ENV and HOME belong to one job.
	if second.Steps[0].Output != "second sees []\n" || second.Home == first.Home {
		t.Errorf("second job: output %q, home %s (first %s)", second.Steps[0].Output, second.Home, first.Home)
	}
}

func TestCircleVariablesAndEnvironmentLayers(t *testing.T) {
	config := `
version: 2.1
commands:
  show:
    parameters:
      flag: {type: boolean, default: true}
    steps:
      - run:
          environment:
            FLAG: << parameters.flag >>
            LAYER: step
          command: |
            echo "text=<< parameters.flag >> env=$FLAG layer=$LAYER base=$BASE ctx=$CTX_VAR"
            echo "$CI $CIRCLECI $CIRCLE_JOB $CIRCLE_BRANCH $CIRCLE_SHA1 $CIRCLE_BUILD_NUM $CIRCLE_PROJECT_REPONAME"
            echo "$CIRCLE_WORKING_DIRECTORY $CIRCLE_NODE_TOTAL ${CIRCLE_TAG-unset}"
            test -n "$CIRCLE_PIPELINE_ID" && test -n "$CIRCLE_WORKFLOW_ID" && test "$PWD" = "$HOME/project"
            case "$CIRCLE_BUILD_URL" in https://app.circleci.com/pipelines/github/acme/app/4/workflows/$CIRCLE_WORKFLOW_ID/jobs/1) ;; *) exit 9;; esac
jobs:
  j:
    docker: [{image: x}]
    environment: {LAYER: job, JOBVAR: j}
    steps:
      - show
      - show: {flag: false}
      - run: echo "layer=$LAYER"
workflows:
  main:
    jobs: [{j: {context: [acme-ctx]}}]
`
	opts := RunOptions{
		Branch: "feature/x", Revision: strings.Repeat("ab", 20), PipelineNumber: 4,
		ProjectUsername: "acme", ProjectReponame: "app",
		Contexts: map[string]map[string]string{"acme-ctx": {"CTX_VAR": "from-context", "LAYER": "context"}},
	}
	res, log := runConfig(t, config, opts)
	j := res.Job("j")
	if j.Status != StatusSuccess {
		t.Fatalf("job %s: %s\n%s", j.Status, j.Reason, log)
	}
	want := "text=true env=1 layer=step base=base ctx=from-context\n" +
		"true true j feature/x " + strings.Repeat("ab", 20) + " 1 app\n" +
		"~/project 1 unset\n"
	if j.Steps[0].Output != want {
		t.Errorf("output:\n%s\nwant:\n%s", j.Steps[0].Output, want)
	}
	if !strings.HasPrefix(j.Steps[1].Output, "text=false env=0 ") {
		t.Errorf("false flag output: %q", j.Steps[1].Output)
	}
	if j.Steps[2].Output != "layer=job\n" {
		t.Errorf("job environment must override the context's: %q", j.Steps[2].Output)
	}
	if !strings.Contains(log, "job j: would use context(s) acme-ctx") {
		t.Errorf("context not logged:\n%s", log)
	}

	// A context the caller did not provide fails the job.
	opts.Contexts = map[string]map[string]string{}
	res, _ = runConfig(t, config, opts)
	if j := res.Job("j"); j.Status != StatusFailed || !strings.Contains(j.Reason, `context "acme-ctx"`) {
		t.Errorf("missing context: %s %s", j.Status, j.Reason)
	}
}

func TestFailureWhenOnFailAlwaysAndBlocked(t *testing.T) {
	config := `
version: 2.1
jobs:
  bad:
    docker: [{image: x}]
    steps:
      - run: echo ok
      - run: {name: pipefail, command: "false | true"}
      - run: echo skipped
      - run: {name: on fail, command: echo cleanup, when: on_fail}
      - run: {name: always, command: echo always, when: always}
  good:
    docker: [{image: x}]
    steps:
      - run: {name: not on fail, command: echo no, when: on_fail}
      - run: echo fine
workflows:
  main:
    jobs:
      - bad
      - good
      - good: {name: after-bad, requires: [bad]}
      - good: {name: after-after, requires: [after-bad]}
      - good: {name: tolerant, requires: [{bad: [success, failed]}]}
`
	res, log := runConfig(t, config, RunOptions{Branch: "main"})
	want := map[string]Status{"bad": StatusFailed, "good": StatusSuccess, "after-bad": StatusBlocked, "after-after": StatusBlocked, "tolerant": StatusSuccess}
	if got := statuses(res); !reflect.DeepEqual(got, want) {
		t.Fatalf("statuses = %v, want %v\n%s", got, want, log)
	}
	bad := res.Job("bad")
	if got, want := stepStatuses(bad), []Status{StatusSuccess, StatusFailed, StatusSkipped, StatusSuccess, StatusSuccess}; !reflect.DeepEqual(got, want) {
		t.Errorf("bad steps = %v, want %v", got, want)
	}
	if bad.Steps[1].ExitCode != 1 || !strings.Contains(bad.Reason, `step "pipefail": exited with code 1`) {
		t.Errorf("reason = %q, exit %d", bad.Reason, bad.Steps[1].ExitCode)
	}
	if got, want := stepStatuses(res.Job("good")), []Status{StatusSkipped, StatusSuccess}; !reflect.DeepEqual(got, want) {
		t.Errorf("good steps = %v, want %v", got, want)
	}
	if !res.Failed() {
		t.Error("Failed() = false")
	}
}

func TestWorkspaceScopedToOneWorkflow(t *testing.T) {
	config := `
version: 2.1
jobs:
  produce:
    docker: [{image: x}]
    steps:
      - run: mkdir -p out/sub && echo digest > out/sub/release.json && echo skip > out/other
      - persist_to_workspace: {root: out, paths: [sub]}
  consume:
    docker: [{image: x}]
    steps:
      - attach_workspace: {at: ws}
      - run: cat ws/sub/release.json && test ! -e ws/other
workflows:
  main:
    jobs:
      - produce
      - consume: {requires: [produce]}
      - consume: {name: unrelated}
  second:
    jobs: [consume]
`
	p, err := Parse("config.yml", []byte(config), nil)
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	results, err := p.RunAll(context.Background(), RunOptions{Branch: "main", WorkDir: t.TempDir(), LogWriter: &log, Env: []string{"PATH=" + os.Getenv("PATH")}})
	if err != nil {
		t.Fatal(err)
	}
	main, second := results[0], results[1]
	if got := statuses(main); got["consume"] != StatusSuccess || got["unrelated"] != StatusFailed {
		t.Fatalf("main = %v\n%s", got, log.String())
	}
	if out := main.Job("consume").Steps[1].Output; out != "digest\n" {
		t.Errorf("consume read %q", out)
	}
	if r := main.Job("unrelated").Reason; !strings.Contains(r, "no job upstream of unrelated") {
		t.Errorf("unrelated: %s", r)
	}
	if j := second.Job("consume"); j.Status != StatusFailed || !strings.Contains(j.Reason, "workflow second") {
		t.Errorf("another workflow must not see the workspace: %s %s", j.Status, j.Reason)
	}
}

func TestApprovalIsApprovedAndLogged(t *testing.T) {
	config := `
version: 2.1
jobs: {deploy: {docker: [{image: x}], steps: [{run: echo deployed}]}}
workflows:
  main:
    jobs:
      - hold-production: {type: approval}
      - deploy: {requires: [hold-production], serial-group: << pipeline.project.type >>/deploy}
`
	res, log := runConfig(t, config, RunOptions{Branch: "main"})
	hold := res.Job("hold-production")
	if !hold.Approval || hold.Status != StatusSuccess || res.Job("deploy").Status != StatusSuccess {
		t.Fatalf("jobs: %+v %+v", hold, res.Job("deploy"))
	}
	if !strings.Contains(log, "job hold-production: approval job approved automatically by the local runner") {
		t.Errorf("approval not logged:\n%s", log)
	}
	if res.Job("deploy").SerialGroup != "github/deploy" || !strings.Contains(log, `serial-group "github/deploy"`) {
		t.Errorf("serial group not recorded:\n%s", log)
	}
}

func TestFilteredJobsAndDependents(t *testing.T) {
	config := `
version: 2.1
jobs: {j: {docker: [{image: x}], steps: [{run: echo ran}]}}
workflows:
  main:
    jobs:
      - j: {name: build}
      - j: {name: prod, requires: [build], filters: {branches: {only: main}}}
      - j: {name: after-prod, requires: [prod]}
`
	res, _ := runConfig(t, config, RunOptions{Branch: "develop"})
	want := map[string]Status{"build": StatusSuccess, "prod": StatusSkipped, "after-prod": StatusSkipped}
	if got := statuses(res); !reflect.DeepEqual(got, want) {
		t.Errorf("statuses = %v, want %v", got, want)
	}
	if res.Failed() {
		t.Error("a filtered job is not a failure")
	}
}

func TestStubsCheckoutShellAndDirectories(t *testing.T) {
	stubs := t.TempDir()
	record := filepath.Join(t.TempDir(), "calls")
	if err := os.WriteFile(filepath.Join(stubs, "circleci"), []byte("#!/bin/sh\necho \"$*\" >> \""+record+"\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "README"), []byte("source\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	config := `
version: 2.1
jobs:
  j:
    docker: [{image: x}]
    working_directory: ~/repo
    steps:
      - checkout
      - run: cat README
      - run: circleci run release plan --environment-name staging
      - run: {command: 'echo "$0" in $(basename "$PWD")', shell: /bin/sh -e, working_directory: sub}
      - store_artifacts: {path: README, destination: docs}
      - store_test_results: {path: results}
      - setup_remote_docker
workflows:
  main:
    jobs: [j]
`
	res, log := runConfig(t, config, RunOptions{Branch: "main", Source: src, PathPrepend: []string{stubs}})
	j := res.Job("j")
	if j.Status != StatusSuccess {
		t.Fatalf("%s: %s\n%s", j.Status, j.Reason, log)
	}
	if j.WorkingDirectory != filepath.Join(j.Home, "repo") || j.Steps[1].Output != "source\n" {
		t.Errorf("checkout: wd %s output %q", j.WorkingDirectory, j.Steps[1].Output)
	}
	calls, err := os.ReadFile(record)
	if err != nil || string(calls) != "run release plan --environment-name staging\n" {
		t.Errorf("stub calls %q, %v", calls, err)
	}
	if out := j.Steps[3].Output; !strings.HasSuffix(out, " in sub\n") || strings.Contains(out, "bash") {
		t.Errorf("shell/working_directory: %q", out)
	}
	if !reflect.DeepEqual(j.Artifacts, []string{filepath.Join(j.WorkingDirectory, "README")}) || len(j.TestResults) != 1 {
		t.Errorf("artifacts %v, test results %v", j.Artifacts, j.TestResults)
	}
	if !strings.Contains(log, "setup_remote_docker: no-op") {
		t.Errorf("no-op not logged:\n%s", log)
	}
}

func TestNoOutputTimeoutKillsTheStep(t *testing.T) {
	config := `
version: 2.1
jobs:
  j:
    docker: [{image: x}]
    steps:
      - run: {command: "sleep 30", no_output_timeout: 200ms}
workflows:
  main:
    jobs: [j]
`
	res, _ := runConfig(t, config, RunOptions{Branch: "main"})
	if j := res.Job("j"); j.Status != StatusFailed || !strings.Contains(j.Reason, "no_output_timeout") {
		t.Errorf("%s: %s", j.Status, j.Reason)
	}
}

func TestRunAllSkipsScheduledAndFalseWorkflows(t *testing.T) {
	config := `
version: 2.1
jobs: {j: {docker: [{image: x}], steps: [{run: echo ran}]}}
workflows:
  push:
    jobs: [j]
  nightly-legacy:
    triggers: [{schedule: {cron: "0 0 * * *", filters: {branches: {only: main}}}}]
    jobs: [j]
  nightly:
    when: {equal: [scheduled_pipeline, << pipeline.trigger_source >>]}
    jobs: [j]
`
	p, err := Parse("config.yml", []byte(config), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		source string
		want   []bool // skipped: push, nightly-legacy, nightly
	}{
		{"webhook", []bool{false, true, true}},
		{"scheduled_pipeline", []bool{false, true, false}},
	} {
		results, err := p.RunAll(context.Background(), RunOptions{Branch: "main", WorkDir: t.TempDir(),
			PipelineValues: map[string]any{"trigger_source": tt.source}, Env: []string{"PATH=" + os.Getenv("PATH")}})
		if err != nil {
			t.Fatal(err)
		}
		var got []bool
		for _, r := range results {
			got = append(got, r.Skipped)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: skipped = %v, want %v", tt.source, got, tt.want)
		}
	}
}

func TestLeftoverAndBackgroundProcessesEndWithTheJob(t *testing.T) {
	config := `
version: 2.1
jobs:
  j:
    docker: [{image: x}]
    steps:
      - run: {name: daemon, command: 'sleep 60 & echo $! > "$HOME/daemon.pid"; echo started'}
      - run: {name: server, background: true, command: 'echo $$ > "$HOME/bg.pid"; exec sleep 60'}
      - run: {name: next, command: 'for _ in $(seq 500); do [ -s "$HOME/bg.pid" ] && break; sleep 0.01; done; test -s "$HOME/bg.pid"; echo next'}
workflows:
  main:
    jobs: [j]
`
	res, log := runConfig(t, config, RunOptions{Branch: "main"})
	j := res.Job("j")
	if j.Status != StatusSuccess || j.Steps[0].Output != "started\n" || j.Steps[2].Output != "next\n" {
		t.Fatalf("%s %s %+v\n%s", j.Status, j.Reason, j.Steps, log)
	}
	for _, f := range []string{"daemon.pid", "bg.pid"} {
		data, err := os.ReadFile(filepath.Join(j.Home, f))
		if err != nil {
			t.Fatal(err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil {
			t.Fatal(err)
		}
		if !gone(pid) {
			t.Errorf("%s: process %d still runs after its job ended", f, pid)
		}
	}
}

// gone reports whether a process has ended, waiting for the kernel to reap it (a process that
// was re-parented is reaped by init, shortly after it is killed).
func gone(pid int) bool {
	for range 200 {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || strings.Contains(string(data), ") Z ") {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

func TestOrbExamplesRun(t *testing.T) {
	for _, name := range []string{"custom_executor", "write_twice"} {
		t.Run(name, func(t *testing.T) {
			p, err := LoadOrbExample("testdata/edge-orb.yml", name, testOrbs)
			if err != nil {
				t.Fatal(err)
			}
			var log bytes.Buffer
			results, err := p.RunAll(context.Background(), RunOptions{Branch: "main", WorkDir: t.TempDir(), LogWriter: &log, Env: []string{"PATH=" + os.Getenv("PATH")}})
			if err != nil {
				t.Fatal(err)
			}
			if len(results) != 1 || results[0].Failed() || len(results[0].Jobs) != 1 || results[0].Jobs[0].Status != StatusSuccess {
				t.Fatalf("results %+v\n%s", results[0].Jobs[0], log.String())
			}
		})
	}
	// An example file from src/examples, with its configuration under usage:.
	example := `
description: Write twice.
usage:
  version: "2.1"
  orbs:
    edge: example/edge@1.0.0
  workflows:
    second:
      jobs: [{edge/write: {path: b.txt}}]
    first:
      jobs: [{edge/write: {path: a.txt}}]
`
	p, err := Parse("write_twice.yml", []byte(example), testOrbs)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Workflows(); !reflect.DeepEqual(got, []string{"second", "first"}) {
		t.Errorf("workflows = %q", got)
	}
	if _, err := LoadOrbExample("testdata/edge-orb.yml", "nope", nil); err == nil {
		t.Error("a missing example must be an error")
	}
}

func TestTagPipelineAndPrePostSteps(t *testing.T) {
	config := `
version: 2.1
jobs:
  release:
    docker: [{image: x}]
    steps: [{run: 'echo "tag=$CIRCLE_TAG branch=${CIRCLE_BRANCH-unset} << pipeline.git.tag >>"'}]
workflows:
  main:
    jobs:
      - release:
          filters: {tags: {only: /^v.*/}, branches: {ignore: /.*/}}
          pre-steps: [{run: echo pre}]
          post-steps: [{run: echo post}]
`
	res, log := runConfig(t, config, RunOptions{Tag: "v1.2.0"})
	j := res.Job("release")
	if j.Status != StatusSuccess {
		t.Fatalf("%s %s\n%s", j.Status, j.Reason, log)
	}
	var outs []string
	for _, s := range j.Steps {
		outs = append(outs, s.Output)
	}
	if want := []string{"pre\n", "tag=v1.2.0 branch=unset v1.2.0\n", "post\n"}; !reflect.DeepEqual(outs, want) {
		t.Errorf("outputs = %q, want %q", outs, want)
	}
}

func TestHostPath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"~", "/h"},
		{"~/project", "/h/project"},
		{"/home/circleci/project", "/h/project"},
		{"/home/circleci", "/h"},
		{"/home/circleci2/x", "/home/circleci2/x"},
		{"ws", "/w/ws"},
		{".", "/w"},
		{"/tmp/workspace", "/tmp/workspace"},
	}
	for _, tt := range tests {
		if got := hostPath(tt.in, "/w", "/h"); got != tt.want {
			t.Errorf("hostPath(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRunAllCompilesEverythingFirst(t *testing.T) {
	mark := filepath.Join(t.TempDir(), "ran")
	config := `
version: 2.1
jobs: {j: {docker: [{image: x}], steps: [{run: touch "$MARK"}]}}
workflows:
  first:
    jobs: [j]
  broken:
    jobs: [nope]
`
	p, err := Parse("config.yml", []byte(config), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.RunAll(context.Background(), RunOptions{Branch: "main", WorkDir: t.TempDir(), Env: []string{"PATH=" + os.Getenv("PATH"), "MARK=" + mark}})
	if err == nil || !strings.Contains(err.Error(), `job "nope" is not defined`) {
		t.Fatalf("error = %v", err)
	}
	if _, err := os.Stat(mark); err == nil {
		t.Error("a workflow ran although another one does not compile")
	}
}

// `circleci-agent step halt` ends the job successfully after the current step: later steps,
// on_fail ones included, do not run.
func TestStepHaltEndsTheJobSuccessfully(t *testing.T) {
	config := `
version: 2.1
jobs:
  deploy:
    docker: [{image: x}]
    steps:
      - run: echo before
      - run:
          name: finish
          command: circleci-agent step halt
      - run:
          name: never
          command: exit 1
      - run:
          name: not on failure either
          when: on_fail
          command: exit 1
  after:
    docker: [{image: x}]
    steps:
      - run: echo after
workflows:
  main:
    jobs: [deploy, {after: {requires: [deploy]}}]
`
	res, log := runConfig(t, config, RunOptions{Branch: "main"})
	if got := statuses(res); got["deploy"] != StatusSuccess || got["after"] != StatusSuccess {
		t.Fatalf("statuses %v\n%s", got, log)
	}
	want := []Status{StatusSuccess, StatusSuccess, StatusSkipped, StatusSkipped}
	if got := stepStatuses(res.Job("deploy")); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("step statuses %v, want %v\n%s", got, want, log)
	}
	if !strings.Contains(log, "circleci-agent step halt") {
		t.Fatalf("the halt is not logged:\n%s", log)
	}
}

// A CLI is on PATH only for jobs whose image ships it (RunOptions.ImagePath): a step calling it
// on another image fails with 127, as on CircleCI.
func TestImagePathGivesToolsPerImage(t *testing.T) {
	tools := t.TempDir()
	if err := os.WriteFile(filepath.Join(tools, "deploytool"), []byte("#!/bin/sh\necho deploytool ran\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	config := `
version: 2.1
jobs:
  with-tool:
    docker: [{image: cimg/deploy:2026.10}]
    steps:
      - run: deploytool
  without-tool:
    docker: [{image: cimg/base:2025.01}]
    steps:
      - run: deploytool
workflows:
  main:
    jobs: [with-tool, without-tool]
`
	var images []string
	res, log := runConfig(t, config, RunOptions{Branch: "main", Env: []string{"PATH=/usr/bin:/bin"}, ImagePath: func(image string) []string {
		images = append(images, image)
		if strings.HasPrefix(image, "cimg/deploy:") {
			return []string{tools}
		}
		return nil
	}})
	got := statuses(res)
	if got["with-tool"] != StatusSuccess || got["without-tool"] != StatusFailed || !strings.Contains(log, "deploytool ran") {
		t.Fatalf("statuses %v, images asked %v\n%s", got, images, log)
	}
}
