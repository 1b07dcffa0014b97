package devstack

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/shipgate/shipgate/helper/dev/internal/localrunner"
)

// The stubs this package writes run the test binary itself: `<test binary> stub NAME ...`.
func TestMain(m *testing.M) {
	if len(os.Args) >= 3 && os.Args[1] == "stub" {
		os.Exit(RunStub(os.Args[2], os.Args[3:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// What the end-to-end tests stub on PATH, because it cannot exist on a test machine:
//   - docker (build and push a synthetic image labelled with its version; login is a no-op)
//   - kubectl (set image: deploys to the stand-in service; rollout status succeeds)
//   - circleci (run oidc get: a token from the local issuer; run release: recorded)
//   - aws (ecr get-login-password, eks update-kubeconfig)
//
// Everything else is real: the helper (built, served as a release, installed by the orb's own
// install command with its SHA-256 verified), the registry, the STS emulator and OIDC issuer,
// the orb packed from src/, and the examples, unmodified.
func newTestWorld(t *testing.T) *World {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end example runs are skipped in -short mode")
	}
	cwd, _ := os.Getwd()
	root, err := FindRoot(cwd)
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWorld(context.Background(), root, t.TempDir(), self)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	return w
}

func run(t *testing.T, w *World, example, workflow, branch string, params map[string]any) *localrunner.Result {
	t.Helper()
	return runPipeline(t, w, Pipeline{Example: example, Workflow: workflow, Branch: branch, Params: params})
}

func runPipeline(t *testing.T, w *World, pl Pipeline) *localrunner.Result {
	t.Helper()
	example, workflow, branch := pl.Example, pl.Workflow, pl.Branch
	var log bytes.Buffer
	res, err := w.Run(context.Background(), pl, &log)
	if err != nil {
		t.Fatalf("%s/%s: %v\n%s", example, workflow, err, log.String())
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log of %s/%s on %s:\n%s", example, workflow, branch, log.String())
		}
	})
	return res
}

func wantJobs(t *testing.T, res *localrunner.Result, want map[string]localrunner.Status) {
	t.Helper()
	if err := expectJobs(res, want); err != nil {
		t.Fatal(err)
	}
}

func releases(t *testing.T, w *World, env string) string {
	t.Helper()
	d := &demo{world: w, out: &bytes.Buffer{}}
	if err := d.shipgate(context.Background(), "releases", "--repo", w.Registry.Host+"/app/"+env, "--env", env, "--output", "json"); err != nil {
		t.Fatal(err)
	}
	return d.out.(*bytes.Buffer).String()
}

func TestBuildAndPromoteThenBrokenReleaseRollsBack(t *testing.T) {
	w := newTestWorld(t)
	good, err := w.Commit("main", "release 1", false)
	if err != nil {
		t.Fatal(err)
	}
	res := run(t, w, "build_and_promote", "release", "main", nil)
	wantJobs(t, res, map[string]localrunner.Status{"build": "success", "deploy-staging": "success", "hold-production": "success", "deploy-production": "success"})
	stagingImage, _, _ := w.Apps["staging"].Deployed()
	prodImage, prodVersion, _ := w.Apps["production"].Deployed()
	if digestOf(stagingImage) != digestOf(prodImage) || prodVersion != good {
		t.Fatalf("production %s (version %s) is not staging's digest %s", prodImage, prodVersion, stagingImage)
	}
	if ledger := releases(t, w, "production"); !strings.Contains(ledger, `"status":"good"`) || !strings.Contains(ledger, digestOf(prodImage)) {
		t.Fatalf("production ledger has no good entry for the digest: %s", ledger)
	}

	if _, err := w.Commit("main", "release 2", true); err != nil {
		t.Fatal(err)
	}
	res = run(t, w, "build_and_promote", "release", "main", nil)
	wantJobs(t, res, map[string]localrunner.Status{"build": "success", "deploy-staging": "failed", "hold-production": "blocked"})
	image, version, broken := w.Apps["staging"].Deployed()
	if broken || version != good || digestOf(image) != digestOf(stagingImage) {
		t.Fatalf("staging after the automatic rollback: %s version %s broken %v", image, version, broken)
	}
	ledger := releases(t, w, "staging")
	if !strings.Contains(ledger, `"status":"bad"`) || !strings.Contains(ledger, "automatic rollback") {
		t.Fatalf("staging ledger does not record the bad release and the rollback: %s", ledger)
	}
}

func TestDevelopRunsOnlyBuildAndStaging(t *testing.T) {
	w := newTestWorld(t)
	if _, err := w.Commit("develop", "feature", false); err != nil {
		t.Fatal(err)
	}
	res := run(t, w, "build_and_promote", "release", "develop", nil)
	wantJobs(t, res, map[string]localrunner.Status{"build": "success", "deploy-staging": "success", "hold-production": "skipped", "deploy-production": "skipped"})
	if image, _, _ := w.Apps["production"].Deployed(); image != "" {
		t.Fatalf("develop deployed production: %s", image)
	}
}

func TestBranchPromotionPromotesStagingsDigestWithoutRebuilding(t *testing.T) {
	w := newTestWorld(t)
	if _, err := w.Commit("main", "initial", false); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit("develop", "a feature", false); err != nil {
		t.Fatal(err)
	}
	res := run(t, w, "branch_promotion", "staging", "develop", nil)
	wantJobs(t, res, map[string]localrunner.Status{"build": "success", "deploy-staging": "success"})
	stagingImage, _, _ := w.Apps["staging"].Deployed()

	// main merges develop: a new commit, the same tree. Its pipeline finds staging's digest.
	if _, err := w.Merge("main", "develop"); err != nil {
		t.Fatal(err)
	}
	res = run(t, w, "branch_promotion", "production", "main", nil)
	for _, j := range res.Jobs {
		if j.Name == "build" && j.Status != localrunner.StatusSkipped {
			t.Fatalf("the main pipeline ran a build (%s)", j.Status)
		}
		if j.Status == localrunner.StatusFailed {
			t.Fatalf("job %s failed: %s", j.Name, j.Reason)
		}
	}
	prodImage, _, _ := w.Apps["production"].Deployed()
	if prodImage == "" || digestOf(prodImage) != digestOf(stagingImage) {
		t.Fatalf("production runs %q, want staging's digest %s", prodImage, digestOf(stagingImage))
	}
}

func TestBranchPromotionFailsClearlyWithoutAStagedRelease(t *testing.T) {
	w := newTestWorld(t)
	if _, err := w.Commit("main", "never deployed to staging", false); err != nil {
		t.Fatal(err)
	}
	res := run(t, w, "branch_promotion", "production", "main", nil)
	if !res.Failed() {
		t.Fatal("the main pipeline succeeded without a release that passed staging")
	}
	var out strings.Builder
	for _, j := range res.Jobs {
		for _, s := range j.Steps {
			out.WriteString(s.Output)
		}
	}
	if !strings.Contains(out.String(), "No release passed staging") {
		t.Fatalf("no clear message: %s", out.String())
	}
	if image, _, _ := w.Apps["production"].Deployed(); image != "" {
		t.Fatalf("production deployed %s", image)
	}
}

// The rollback_pipeline example as CircleCI's rollback pipeline runs it: the Deploys view passes
// the environment and the version to go back to as pipeline.deploy.* values.
func TestRollbackPipelineFromTheDeploysView(t *testing.T) {
	w := newTestWorld(t)
	first, err := w.Commit("main", "release 1", false)
	if err != nil {
		t.Fatal(err)
	}
	run(t, w, "build_and_promote", "release", "main", nil)
	if _, err := w.Commit("main", "release 2", false); err != nil {
		t.Fatal(err)
	}
	run(t, w, "build_and_promote", "release", "main", nil)
	res := runPipeline(t, w, Pipeline{Example: "rollback_pipeline", Workflow: "rollback-production", Branch: "main",
		Values: map[string]any{"deploy.environment_name": "production", "deploy.component_name": "app",
			"deploy.target_version": first, "deploy.current_version": "", "deploy.reason": "release 2 misbehaves"}})
	wantAllSucceeded(t, res)
	if _, version, _ := w.Apps["production"].Deployed(); version != first {
		t.Fatalf("production runs version %s after the rollback, want %s", version, first)
	}
	if markers := strings.Join(w.DeployMarkers(), "\n"); !strings.Contains(markers, "--rollback") {
		t.Fatalf("no rollback deploy marker recorded: %q", markers)
	}
}

func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo is skipped in -short mode")
	}
	self, _ := os.Executable()
	var out bytes.Buffer
	code := Demo(context.Background(), &out, self)
	// Logged in full so the secret scan over the suite's output reads the demo too.
	t.Log(out.String())
	if code != 0 {
		t.Fatalf("demo exited %d", code)
	}
	for _, want := range []string{"same digest", "rolls staging back", "staging current:", "production current:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
}

// The AWS variant: every job assumes its role by OIDC through the STS emulator, which verifies
// the token against the local issuer; no AWS key exists anywhere in the run.
func TestAWSVariantAssumesRolesByOIDC(t *testing.T) {
	w := newTestWorld(t)
	if _, err := w.Commit("main", "release 1", false); err != nil {
		t.Fatal(err)
	}
	res := run(t, w, "aws_ecr_oidc", "release", "main", nil)
	wantAllSucceeded(t, res)
	roles := map[string]bool{}
	for _, session := range w.STS.Sessions() {
		roles[session.RoleARN] = true
	}
	for _, role := range []string{RoleARN("build"), RoleARN("staging"), RoleARN("production")} {
		if !roles[role] {
			t.Errorf("no session was issued for %s (sessions: %v)", role, roles)
		}
	}
	if image, _, _ := w.Apps["production"].Deployed(); image == "" {
		t.Fatal("production was not deployed")
	}
}

// The GCP variant: each job writes an external_account credentials file from the OIDC token
// (the gcloud stub refuses to work without one) and deploys with gcloud run deploy.
func TestGCPVariantWritesWorkloadIdentityCredentials(t *testing.T) {
	w := newTestWorld(t)
	if _, err := w.Commit("main", "release 1", false); err != nil {
		t.Fatal(err)
	}
	res := run(t, w, "gcp_artifact_registry", "release", "main", nil)
	wantAllSucceeded(t, res)
	staging, _, _ := w.Apps["staging"].Deployed()
	production, _, _ := w.Apps["production"].Deployed()
	if production == "" || digestOf(staging) != digestOf(production) {
		t.Fatalf("production %q is not staging's digest %q", production, staging)
	}
}

// The nightly release runs only on a schedule trigger (pipeline.trigger.type is "schedule":
// CircleCI's changelog "Expanded pipeline values support" lists github_app, bitbucket_dc,
// schedule, webhook and api): a push runs nothing, and neither does trigger_source's old
// "scheduled_pipeline"; the schedule stages the release and holds it for approval, then
// promotes the same digest.
func TestNightlyReleaseRunsOnlyOnItsSchedule(t *testing.T) {
	w := newTestWorld(t)
	if _, err := w.Commit("main", "nightly candidate", false); err != nil {
		t.Fatal(err)
	}
	pushed := runPipeline(t, w, Pipeline{Example: "nightly_release", Workflow: "nightly", Branch: "main"})
	if !pushed.Skipped {
		t.Fatalf("a push ran the nightly workflow: %+v", pushed.Jobs)
	}
	// trigger_source's value, compared by the example before: it never matched a schedule.
	old := runPipeline(t, w, Pipeline{Example: "nightly_release", Workflow: "nightly", Branch: "main",
		Values: map[string]any{"trigger.type": "scheduled_pipeline"}})
	if !old.Skipped {
		t.Fatalf("trigger.type scheduled_pipeline (not a value CircleCI sets) ran the nightly workflow: %+v", old.Jobs)
	}
	res := runPipeline(t, w, Pipeline{Example: "nightly_release", Workflow: "nightly", Branch: "main",
		Values: map[string]any{"trigger.type": "schedule"}})
	wantJobs(t, res, map[string]localrunner.Status{"build": "success", "deploy-staging": "success", "hold-production": "success", "deploy-production": "success"})
	staging, _, _ := w.Apps["staging"].Deployed()
	production, _, _ := w.Apps["production"].Deployed()
	if digestOf(staging) != digestOf(production) {
		t.Fatalf("production %s is not staging's digest %s", production, staging)
	}
}

// The Helm example: the release is upgraded with the promoted digest on cimg/deploy (which ships
// helm) and reaches production as the same digest staging ran.
func TestHelmExample(t *testing.T) {
	w := newTestWorld(t)
	if _, err := w.Commit("main", "helm release", false); err != nil {
		t.Fatal(err)
	}
	res := run(t, w, "helm_release", "release", "main", nil)
	wantAllSucceeded(t, res)
	staging, _, _ := w.Apps["staging"].Deployed()
	production, _, _ := w.Apps["production"].Deployed()
	if production == "" || digestOf(staging) != digestOf(production) {
		t.Fatalf("production %q is not staging's digest %q", production, staging)
	}
}

// A step that calls a CLI its image does not ship fails as on CircleCI: helm exists on
// cimg/deploy only, not on the default cimg/base executor.
func TestCLIsExistOnlyWhereTheImageShipsThem(t *testing.T) {
	w := newTestWorld(t)
	config := []byte(`version: 2.1
jobs:
  on-base:
    docker: [{image: cimg/base:2025.01}]
    steps:
      - run: helm version
  on-deploy:
    docker: [{image: cimg/deploy:2026.10}]
    steps:
      - run: command -v helm && command -v kubectl
  uninstalled-aws:
    docker: [{image: cimg/deploy:2026.10}]
    steps:
      - run: aws --version
workflows:
  main:
    jobs: [on-base, on-deploy, uninstalled-aws]
`)
	p, err := localrunner.Parse("tools.yml", config, w.Orbs())
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.RunWorkflow(context.Background(), "main", localrunner.RunOptions{Branch: "main",
		Env: []string{"PATH=/usr/bin:/bin"}, PathPrepend: []string{w.BinDir}, ImagePath: w.imagePath, WorkDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]localrunner.Status{"on-base": localrunner.StatusFailed, "on-deploy": localrunner.StatusSuccess, "uninstalled-aws": localrunner.StatusFailed}
	for name, status := range want {
		if j := res.Job(name); j == nil || j.Status != status {
			t.Errorf("job %s: %+v, want %s", name, j, status)
		}
	}
}

// The Amazon ECS example: each deploy registers a task definition revision with the promoted
// digest and points the service at it; production ends on staging's digest.
func TestECSExample(t *testing.T) {
	w := newTestWorld(t)
	if _, err := w.Commit("main", "ecs release", false); err != nil {
		t.Fatal(err)
	}
	res := run(t, w, "aws_ecs", "release", "main", nil)
	wantAllSucceeded(t, res)
	staging, _, _ := w.Apps["staging"].Deployed()
	production, _, _ := w.Apps["production"].Deployed()
	if production == "" || digestOf(staging) != digestOf(production) {
		t.Fatalf("production %q is not staging's digest %q", production, staging)
	}
}

// A failed deploy step rolls back like a failed smoke test (issue 18 point 8): release 2's
// production rollout never becomes ready, deploy-production fails at its deploy step, and
// roll-back-production (requires deploy-production: failed) redeploys release 1. In a good run
// the rollback job does not run.
func TestFailedDeployStepRollsBack(t *testing.T) {
	w := newTestWorld(t)
	first, err := w.Commit("main", "release 1", false)
	if err != nil {
		t.Fatal(err)
	}
	res := run(t, w, "build_and_promote", "release", "main", nil)
	wantJobs(t, res, map[string]localrunner.Status{"deploy-production": "success"})
	if j := res.Job("roll-back-production"); j == nil || j.Status == localrunner.StatusSuccess || j.Status == localrunner.StatusFailed {
		t.Fatalf("after a good deploy the rollback job ran: %+v", j)
	}
	second, err := w.Commit("main", "release 2", false)
	if err != nil {
		t.Fatal(err)
	}
	res = runPipeline(t, w, Pipeline{Example: "build_and_promote", Workflow: "release", Branch: "main",
		Env: []string{RolloutFailsEnv + "=production@" + second}})
	wantJobs(t, res, map[string]localrunner.Status{"deploy-staging": "success", "deploy-production": "failed", "roll-back-production": "success"})
	if _, version, _ := w.Apps["production"].Deployed(); version != first {
		t.Fatalf("production runs version %s after the rollback, want %s", version, first)
	}
	if history := releases(t, w, "production"); !strings.Contains(history, "the deploy steps of deploy-production failed") {
		t.Fatalf("the rollback is not in the production ledger: %s", history)
	}
}

// wantAllSucceeded: every job succeeded, except the rollback job that runs only when a deploy
// job failed (requires: [deploy-x: failed]), which must not have run at all.
func wantAllSucceeded(t *testing.T, res *localrunner.Result) {
	t.Helper()
	for _, j := range res.Jobs {
		if strings.HasPrefix(j.Name, "roll-back-") {
			if j.Status == localrunner.StatusSuccess || j.Status == localrunner.StatusFailed {
				t.Fatalf("job %s ran (%s) although no deploy failed", j.Name, j.Status)
			}
			continue
		}
		if j.Status != localrunner.StatusSuccess {
			t.Fatalf("job %s: %s %s", j.Name, j.Status, j.Reason)
		}
	}
}
