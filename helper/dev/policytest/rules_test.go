package policytest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/CircleCI-Public/circle-policy-agent/cpa"

	"github.com/shipgate/shipgate/helper/internal/lint"
	"github.com/shipgate/shipgate/helper/internal/policy"
)

// noApproval deploys production on main straight after the build: no approval job.
const noApproval = `
version: 2.1
orbs:
  shipgate: shipgate/shipgate@1
parameters:
  rollback-to: {type: string, default: ""}
jobs:
  build:
    docker: [{image: cimg/base:current}]
    steps: [checkout, shipgate/record_artifact, persist_to_workspace: {root: ., paths: [release.json]}]
workflows:
  release:
    jobs:
      - build:
          filters: {branches: {only: main}}
      - shipgate/deploy:
          name: deploy-production
          env: production
          context: production-deploy
          serial-group: app/deploy-production
          requires: [build]
`

// TestSkippedApprovalFailsHard: a production deploy without an approval is a hard failure
// naming the rule; with the approval back, the same config passes.
func TestSkippedApprovalFailsHard(t *testing.T) {
	p, _ := loadBundle(t, lint.Options{})
	d := decide(t, p, engineInput(t, []byte(noApproval)), nil)
	if d.Status != cpa.StatusHardFail {
		t.Fatalf("status %s, want HARD_FAIL: %+v", d.Status, d)
	}
	if len(d.HardFailures) != 1 || d.HardFailures[0].Rule != "sg001_production_approval" {
		t.Fatalf("hard failures %+v, want exactly sg001_production_approval", d.HardFailures)
	}
	approved := noApproval + `      - hold-production: {type: approval, requires: [build]}
`
	approved = replaceOnce(t, approved, "requires: [build]\n      - hold", "requires: [hold-production]\n      - hold")
	if d := decide(t, p, engineInput(t, []byte(approved)), nil); d.Status != cpa.StatusPass {
		t.Fatalf("with the approval: status %s, want PASS: %+v", d.Status, d)
	}
}

// TestSettingsShapeTheBundle: a disabled rule is left out; fail_on warning makes a warning
// hard; a project listed under policy_exceptions is exempt, and only that project.
func TestSettingsShapeTheBundle(t *testing.T) {
	noSerial := replaceOnce(t, noApproval, "          serial-group: app/deploy-production\n", "")
	input := engineInput(t, []byte(noSerial))
	rule := "sg012_serial_group"

	p, _ := loadBundle(t, lint.Options{})
	d := decide(t, p, input, nil)
	if !hasRule(d.SoftFailures, rule) || hasRule(d.HardFailures, rule) {
		t.Errorf("default: SG012 (a warning) should fail soft: %+v", d)
	}

	p, _ = loadBundle(t, lint.Options{Disable: []string{"SG012"}})
	d = decide(t, p, input, nil)
	if contains(d.EnabledRules, rule) || hasRule(d.SoftFailures, rule) {
		t.Errorf("disabled: SG012 should be out of the bundle: %+v", d)
	}

	p, _ = loadBundle(t, lint.Options{FailOn: lint.SeverityWarning})
	d = decide(t, p, input, nil)
	if !hasRule(d.HardFailures, rule) {
		t.Errorf("fail_on warning: SG012 should fail hard: %+v", d)
	}

	opts := lint.Options{PolicyExceptions: map[string][]string{"SG001": {"project-a"}}}
	p, _ = loadBundle(t, opts)
	d = decide(t, p, input, map[string]any{"project_id": "project-a", "vcs": map[string]any{"branch": "main"}})
	if contains(d.EnabledRules, "sg001_production_approval") || hasRule(d.HardFailures, "sg001_production_approval") {
		t.Errorf("exempt project: SG001 should not be enabled: %+v", d)
	}
	d = decide(t, p, input, map[string]any{"project_id": "project-b"})
	if !hasRule(d.HardFailures, "sg001_production_approval") {
		t.Errorf("other project: SG001 should fail hard: %+v", d)
	}
}

// TestSoftRollout: the same config under a soft rollout is recorded, not stopped.
func TestSoftRollout(t *testing.T) {
	p, _ := loadBundleWith(t, policy.Options{Soft: true})
	d := decide(t, p, engineInput(t, []byte(noApproval)), nil)
	if d.Status != cpa.StatusSoftFail || !hasRule(d.SoftFailures, "sg001_production_approval") || len(d.HardFailures) != 0 {
		t.Fatalf("soft rollout: %+v, want SOFT_FAIL with sg001_production_approval", d)
	}
}

// TestPerJobSettings: `jobs: {NAME: {disable: [...]}}` in the settings reaches the bundle.
func TestPerJobSettings(t *testing.T) {
	p, _ := loadBundle(t, lint.Options{JobDisable: map[string][]string{"deploy-production": {"SG001"}}})
	if d := decide(t, p, engineInput(t, []byte(noApproval)), nil); d.Status != cpa.StatusPass {
		t.Fatalf("SG001 disabled for deploy-production: status %s, want PASS: %+v", d.Status, d)
	}
}

func hasRule(vs []cpa.Violation, rule string) bool {
	for _, v := range vs {
		if v.Rule == rule {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func replaceOnce(t *testing.T, s, old, new string) string {
	t.Helper()
	i := strings.Index(s, old)
	if i < 0 {
		t.Fatalf("test config does not contain %q", old)
	}
	return s[:i] + new + s[i+len(old):]
}

// TestNoSecretInDecision: the decision the engine returns (and CircleCI stores in its decision
// logs) names the keys it found, never their values.
func TestNoSecretInDecision(t *testing.T) {
	p, _ := loadBundle(t, lint.Options{})
	for _, name := range []string{"sg007-static-credentials.yml", "mix-legacy-aws.yml"} {
		data, err := os.ReadFile(filepath.Join(repoRoot, "helper", "internal", "lint", "testdata", "bad", name))
		if err != nil {
			t.Fatal(err)
		}
		d := decide(t, p, engineInput(t, data), nil)
		if !hasRule(d.HardFailures, "sg007_static_credentials") {
			t.Fatalf("%s: no SG007 violation: %+v", name, d)
		}
		out, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI", "$SECRET", "$ECR_SECRET"} {
			if strings.Contains(string(out), secret) {
				t.Errorf("%s: the decision contains %q", name, secret)
			}
		}
	}
}

// TestEveryRuleCanBeLeftOut: a bundle with any one rule disabled still loads in the engine and
// decides (no rule file depends on another's helpers), and the rule is gone from its verdicts.
func TestEveryRuleCanBeLeftOut(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, "helper", "internal", "lint", "testdata", "bad", "mix-legacy-aws.yml"))
	if err != nil {
		t.Fatal(err)
	}
	input := engineInput(t, data)
	for _, r := range policy.Rules() {
		p, _ := loadBundle(t, lint.Options{Disable: []string{r.ID}})
		d := decide(t, p, input, nil)
		if contains(d.EnabledRules, r.Name) || hasRule(append(d.HardFailures, d.SoftFailures...), r.Name) {
			t.Errorf("%s disabled but still judged: %+v", r.ID, d)
		}
		if d.Status != cpa.StatusHardFail {
			t.Errorf("%s disabled: the other rules should still fail this config hard, got %s", r.ID, d.Status)
		}
	}
}
