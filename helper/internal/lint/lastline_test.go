package lint_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/shipgate/shipgate/helper/internal/lint"
)

// TestJobDisableCoversItsLastBlockScalar: a disable comment on the last lines of a job's last
// `run: |` script (a shell comment there, or a YAML comment after it) belongs to that job (it
// did not: the job's span ended on the line where the block scalar began).
func TestJobDisableCoversItsLastBlockScalar(t *testing.T) {
	for _, directive := range []string{
		"          # shipgate-lint: disable=SG020\n",
		"    # shipgate-lint: disable=SG020\n",
	} {
		config := "version: 2.1\njobs:\n  ship:\n    docker: [{image: cimg/base:2026.10}]\n    steps:\n      - checkout\n      - run: |\n          echo deploying\n          kubectl apply -f k8s/\n" + directive + "  other:\n    docker: [{image: cimg/base:2026.10}]\n    steps: [checkout]\nworkflows:\n  w:\n    jobs: [ship, other]\n"
		findings, err := lint.LintFile("c.yml", []byte(config), lint.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(fmt.Sprint(findings), "SG020") {
			t.Errorf("the disable comment %q does not cover its job: %v", strings.TrimSpace(directive), findings)
		}
	}
}

// TestJobDisableOptionCoversItsLastBlockScalar: the same through the option.
func TestJobDisableOptionCoversItsLastBlockScalar(t *testing.T) {
	config := "version: 2.1\njobs:\n  ship:\n    docker: [{image: cimg/base:2026.10}]\n    steps:\n      - checkout\n      - run: |\n          echo deploying\n          kubectl apply -f k8s/\n  other:\n    docker: [{image: cimg/base:2026.10}]\n    steps: [checkout]\nworkflows:\n  w:\n    jobs: [ship, other]\n"
	findings, err := lint.LintFile("c.yml", []byte(config), lint.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(fmt.Sprint(findings), "SG020") {
		t.Fatalf("no SG020 to disable: %v", findings)
	}
	findings, err = lint.LintFile("c.yml", []byte(config), lint.Options{JobDisable: map[string][]string{"ship": {"SG020"}}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(fmt.Sprint(findings), "SG020") {
		t.Fatalf("the job's disable does not cover its last script: %v", findings)
	}
}
