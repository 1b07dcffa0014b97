package policytest

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/CircleCI-Public/circle-policy-agent/cpa"

	"github.com/shipgate/shipgate/helper/internal/lint"
	"github.com/shipgate/shipgate/helper/internal/policy"
)

// fileDisable finds `# shipgate-lint: disable-file=RULE` comments, which the engine never sees.
var fileDisable = regexp.MustCompile(`shipgate-lint:\s*disable-file=(SG[0-9]{3})`)

// TestExamplesPass: every orb example passes the bundle in CircleCI's engine. The one
// allowance: a rule an example turns off with a disable-file comment, which the engine cannot
// see (and which `circleci orb pack` drops from published examples, issue 16); such an example
// may fail only that rule (the test logs an allowance no longer needed).
func TestExamplesPass(t *testing.T) {
	p, _ := loadBundle(t, lint.Options{})
	files, _ := filepath.Glob(filepath.Join(repoRoot, "src", "examples", "*.yml"))
	if len(files) == 0 {
		t.Fatal("no examples found")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			allowed := map[string]bool{}
			for _, m := range fileDisable.FindAllStringSubmatch(string(data), -1) {
				allowed[m[1]] = true
			}
			d := decide(t, p, engineInput(t, data), nil)
			used := map[string]bool{}
			for _, v := range append(append([]cpa.Violation{}, d.HardFailures...), d.SoftFailures...) {
				rule, ok := policy.RuleByName(v.Rule)
				if !ok {
					t.Fatalf("violation of a rule the bundle does not define: %s", v.Rule)
				}
				r := rule.ID
				if !allowed[r] {
					t.Errorf("%s: %s", r, v.Reason)
				}
				used[r] = true
			}
			for r := range allowed {
				if !used[r] {
					t.Logf("%s is disabled by a comment but passes in the engine too: the comment can go", r)
				}
			}
		})
	}
}
