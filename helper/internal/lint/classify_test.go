package lint_test

import (
	"fmt"
	"testing"

	"github.com/shipgate/shipgate/helper/internal/lint"
)

// deployJobs lints a config and returns the workflow jobs treated as deploys: each gets SG005
// (no context), since none of the configs below gives one.
func deployJobs(t *testing.T, config string, opts lint.Options) map[string]bool {
	t.Helper()
	findings, err := lint.LintFile("c.yml", []byte(config), opts)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, f := range findings {
		if f.Rule == lint.RuleDeployContext {
			out[f.Job] = true
		}
	}
	return out
}

// Issue 18 point 9: a job is a deploy by what its steps do; the name is one signal.
func TestDeployJobsByWhatTheyDo(t *testing.T) {
	job := func(name, image, script string) string {
		return fmt.Sprintf("  %s:\n    docker: [{image: %s}]\n    steps:\n      - run: %q\n", name, image, script)
	}
	for _, tc := range []struct {
		name, job string
		deploy    bool
	}{
		{"ship-it", job("ship-it", "cimg/deploy:2026.10", "helm upgrade app ./chart --kube-context prod"), true},
		{"publish", job("publish", "cimg/deploy:2026.10", "kubectl --context staging set image deploy/app app=$SHIPGATE_IMAGE"), true},
		{"update", job("update", "cimg/aws:2026.10", "aws ecs update-service --cluster prod --service app --force-new-deployment"), true},
		{"cloudrun", job("cloudrun", "cimg/gcp:2026.10", "gcloud run deploy app --image $SHIPGATE_IMAGE --project acme-prod"), true},
		{"infra", job("infra", "cimg/deploy:2026.10", "terraform -chdir=infra apply -auto-approve"), true},
		{"deploy-docs", job("deploy-docs", "cimg/aws:2026.10", "aws s3 sync site/ s3://docs.example.com"), false},
		{"deploy-site", job("deploy-site", "cimg/aws:2026.10", "aws s3 sync public/ s3://www.example.com"), false},
		{"deploy-api", job("deploy-api", "cimg/base:2026.10", "./scripts/deploy.sh production"), true},
		{"deploy-assets", job("deploy-assets", "cimg/aws:2026.10", "./scripts/deploy.sh && aws s3 cp a s3://b"), true},
		{"lint-chart", job("lint-chart", "cimg/deploy:2026.10", "helm lint ./chart && kubectl apply --dry-run=client -f k8s/ -o yaml > /dev/null"), false},
		{"rollback-prod", job("rollback-prod", "cimg/deploy:2026.10", "helm upgrade app ./chart --kube-context prod"), false},
		{"build", job("build", "cimg/base:2026.10", "docker build -t app . && echo 'kubectl apply later'"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			config := "version: 2.1\njobs:\n" + tc.job + "workflows:\n  w:\n    jobs: [" + tc.name + "]\n"
			if got := deployJobs(t, config, lint.Options{})[tc.name]; got != tc.deploy {
				t.Errorf("deploy = %v, want %v\n%s", got, tc.deploy, config)
			}
		})
	}
}

func TestDeployJobsThroughCommandsOrbsAndSettings(t *testing.T) {
	config := `version: 2.1
orbs:
  ecs: circleci/aws-ecs@6
commands:
  roll-out:
    steps:
      - run: kubectl apply -f k8s/
jobs:
  apply-manifests:
    docker: [{image: cimg/deploy:2026.10}]
    steps: [checkout, roll-out]
  deploy-docs:
    docker: [{image: cimg/aws:2026.10}]
    steps: [{run: aws s3 sync site/ s3://docs}]
workflows:
  w:
    jobs:
      - apply-manifests
      - deploy-docs
      - ecs/deploy-service-update:
          name: service
`
	got := deployJobs(t, config, lint.Options{})
	if !got["apply-manifests"] || !got["service"] || got["deploy-docs"] {
		t.Errorf("deploys %v, want apply-manifests and service (a config command's steps and a deploying orb job count)", got)
	}
	got = deployJobs(t, config, lint.Options{NotDeployJobs: []string{"apply-manifests"}, DeployJobs: map[string]string{"deploy-docs": ""}})
	if got["apply-manifests"] || !got["deploy-docs"] {
		t.Errorf("with settings: deploys %v, want the settings to override what the steps say", got)
	}
}

// The settings file overrides what the steps say, both ways.
func TestDeployJobSettingsFileOverride(t *testing.T) {
	opts, err := lint.ParseSettings(".shipgate-lint.yml", []byte("not_deploy_jobs: [ship-it]\ndeploy_jobs: {deploy-docs: production}\n"))
	if err != nil {
		t.Fatal(err)
	}
	config := `version: 2.1
jobs:
  ship-it:
    docker: [{image: cimg/deploy:2026.10}]
    steps: [{run: helm upgrade app ./chart --kube-context prod}]
  deploy-docs:
    docker: [{image: cimg/aws:2026.10}]
    steps: [{run: aws s3 sync site/ s3://docs}]
workflows:
  w:
    jobs: [ship-it, deploy-docs]
`
	if got := deployJobs(t, config, lint.Options{}); !got["ship-it"] || got["deploy-docs"] {
		t.Fatalf("without settings: deploys %v", got)
	}
	if got := deployJobs(t, config, opts); got["ship-it"] || !got["deploy-docs"] {
		t.Errorf("with the settings file: deploys %v, want deploy-docs only", got)
	}
}

// The orb's deploy command, under its new name (deploy_release, issue 16 point 7) and its old
// one, makes a job a deploy whatever the job is called.
func TestShipgateDeployCommandMakesADeploy(t *testing.T) {
	for _, cmd := range []string{"deploy_release", "deploy"} {
		config := "version: 2.1\norbs:\n  sg: shipgate/shipgate@1\njobs:\n  ship:\n    docker: [{image: cimg/deploy:2026.10}]\n" +
			"    steps:\n      - sg/" + cmd + ":\n          env: staging\n          url: https://x.example.com\n          steps: [{run: ./roll-out.sh}]\n" +
			"workflows:\n  w:\n    jobs: [ship]\n"
		if !deployJobs(t, config, lint.Options{})["ship"] {
			t.Errorf("a job calling sg/%s is not a deploy", cmd)
		}
	}
}
