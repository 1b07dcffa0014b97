package policy_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shipgate/shipgate/helper/internal/circleci"
	"github.com/shipgate/shipgate/helper/internal/lint"
	"github.com/shipgate/shipgate/helper/internal/policy"
)

// The engine itself judges the bundle in helper/dev/policytest; these tests check the
// generator's choices without it.

func TestSeveritiesChooseHardOrSoft(t *testing.T) {
	b, err := policy.Generate(policy.Options{Lint: lint.Options{}})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Rules) != len(policy.Rules()) {
		t.Fatalf("enabled %d rules, want all %d", len(b.Rules), len(policy.Rules()))
	}
	for _, r := range b.Rules {
		lr, _ := lint.LookupRule(r.ID)
		if want := lr.Severity == lint.SeverityError; r.Hard != want {
			t.Errorf("%s (%s): hard=%v", r.ID, lr.Severity, r.Hard)
		}
		src := string(b.Files[r.File])
		verb := map[bool]string{true: "enable_hard", false: "enable_rule"}[r.Hard]
		if !strings.Contains(src, verb+` contains "`+r.Name+`"`) {
			t.Errorf("%s: %s does not %s %s", r.ID, r.File, verb, r.Name)
		}
		if !strings.Contains(src, "\n"+r.Name+" contains msg if") {
			t.Errorf("%s: %s does not define the rule %s", r.ID, r.File, r.Name)
		}
	}
}

func TestDisabledRulesStayOut(t *testing.T) {
	b, err := policy.Generate(policy.Options{Lint: lint.Options{Disable: []string{"sg012", "SG001"}, FailOn: lint.SeverityWarning}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range b.Rules {
		if r.ID == "SG012" || r.ID == "SG001" {
			t.Errorf("%s is disabled but in the bundle", r.ID)
		}
		if !r.Hard {
			t.Errorf("%s: with fail_on warning every rule fails hard", r.ID)
		}
	}
	if _, ok := b.Files["sg001.rego"]; ok {
		t.Error("sg001.rego written for a disabled rule")
	}
	if _, err := policy.Generate(policy.Options{Lint: lint.Options{Disable: []string{"SG999"}}}); err == nil {
		t.Error("an unknown rule ID must be refused")
	}
	if _, err := policy.Generate(policy.Options{Lint: lint.Options{PolicyExceptions: map[string][]string{"SG999": {"p"}}}}); err == nil {
		t.Error("an exception for an unknown rule must be refused")
	}
}

// TestWriteReplacesStaleRules: writing into a folder of an earlier bundle removes the rule
// files no longer generated (a rule disabled since) and keeps files that are not the bundle's.
func TestWriteReplacesStaleRules(t *testing.T) {
	dir := t.TempDir()
	full, _ := policy.Generate(policy.Options{Lint: lint.Options{}})
	if err := full.Write(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "org_own.rego"), []byte("package org\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	less, _ := policy.Generate(policy.Options{Lint: lint.Options{Disable: []string{"SG012"}}})
	if err := less.Write(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "sg012.rego")); !os.IsNotExist(err) {
		t.Errorf("stale sg012.rego still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "org_own.rego")); err != nil {
		t.Errorf("a file that is not the bundle's was removed: %v", err)
	}
	got, _ := filepath.Glob(filepath.Join(dir, "*.rego"))
	if len(got) != len(less.Files)+1 {
		t.Errorf("%d files in the folder, want %d", len(got), len(less.Files)+1)
	}
}

func TestSettingsCarryExceptions(t *testing.T) {
	b, err := policy.Generate(policy.Options{Lint: lint.Options{
		ReleaseBranch:    "trunk",
		PolicyExceptions: map[string][]string{"SG005": {"1f2e3d"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	src := string(b.Files[policy.SettingsFile])
	for _, want := range []string{`"release_branch": "trunk"`, `"SG005": [`, `"1f2e3d"`, `policy_name["shipgate_settings"]`} {
		if !strings.Contains(src, want) {
			t.Errorf("settings file lacks %s:\n%s", want, src)
		}
	}
}

// TestSoftRollout: --soft enables every rule, none of them hard.
func TestSoftRollout(t *testing.T) {
	b, err := policy.Generate(policy.Options{Soft: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Rules) != len(policy.Rules()) {
		t.Fatalf("soft rollout enabled %d rules, want %d", len(b.Rules), len(policy.Rules()))
	}
	for _, r := range b.Rules {
		if r.Hard || strings.Contains(string(b.Files[r.File]), "enable_hard") {
			t.Errorf("%s is hard in a soft rollout", r.ID)
		}
	}
}

// TestEveryLintRuleIsDecided: each lint rule is encoded in the bundle or left out with a reason,
// never both, never neither.
func TestEveryLintRuleIsDecided(t *testing.T) {
	in := map[string]bool{}
	for _, r := range policy.Rules() {
		in[r.ID] = true
	}
	out := policy.LeftOut()
	for _, r := range lint.Rules() {
		_, left := out[r.ID]
		switch {
		case in[r.ID] && left:
			t.Errorf("%s is both in the bundle and left out", r.ID)
		case !in[r.ID] && !left:
			t.Errorf("%s is neither in the bundle nor left out with a reason (policy.go leftOut)", r.ID)
		}
	}
	for id := range in {
		if _, ok := lint.LookupRule(id); !ok {
			t.Errorf("the bundle encodes %s, which lint does not define", id)
		}
	}
}

// TestFactsComeFromTheCircleCITables: the bundle's CircleCI facts are rendered from the
// circleci package's tables (the ones lint reads), whatever rules are enabled, so a value
// added there reaches the bundle without a copy to keep in step.
func TestFactsComeFromTheCircleCITables(t *testing.T) {
	b, err := policy.Generate(policy.Options{Lint: lint.Options{Disable: []string{"all"}}})
	if err != nil {
		t.Fatal(err)
	}
	src := string(b.Files[policy.FactsFile])
	if src == "" {
		t.Fatalf("the bundle has no %s", policy.FactsFile)
	}
	for _, n := range circleci.PipelineValueNotes {
		for _, want := range []string{`"value": "` + n.Value + `"`, `"problem": "` + n.Problem + `"`} {
			if !strings.Contains(src, want) {
				t.Errorf("%s lacks %s:\n%s", policy.FactsFile, want, src)
			}
		}
	}
}
