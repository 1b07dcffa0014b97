package policytest

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shipgate/shipgate/helper/internal/lint"
	"github.com/shipgate/shipgate/helper/internal/testpeer/devtool"
)

// TestCircleCICLIDecides runs the command the orb's lint step and docs/policies.md give teams,
// `circleci policy decide DIR --input FILE --no-compile`, with CircleCI's own CLI (pinned in
// helper/dev/tools/circleci by issue 16's work), with a placeholder token and no network: the
// decision names sg001_production_approval as a HARD_FAIL for a skipped approval and is a
// PASS for the approved config; --strict turns the HARD_FAIL into a non-zero exit. Skipped in a
// checkout that does not pin the CLI yet.
func TestCircleCICLIDecides(t *testing.T) {
	if _, err := os.Stat(filepath.Join(repoRoot, "helper", "dev", "tools", "circleci", "go.mod")); err != nil {
		t.Skip("the circleci CLI is not pinned in this checkout (helper/dev/tools/circleci)")
	}
	cli, err := devtool.Path("circleci")
	if err != nil {
		t.Fatalf("building the pinned circleci CLI: %v", err)
	}
	_, b := loadBundle(t, lint.Options{})
	dir := t.TempDir()
	bundle := filepath.Join(dir, "policies")
	if err := b.Write(bundle); err != nil {
		t.Fatal(err)
	}
	approved := replaceOnce(t, noApproval+"      - hold-production: {type: approval, requires: [build]}\n",
		"requires: [build]\n      - hold", "requires: [hold-production]\n      - hold")
	for _, tc := range []struct {
		name, config, status string
	}{
		{"no approval", noApproval, "HARD_FAIL"},
		{"approved", approved, "PASS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			input := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".yml")
			if err := os.WriteFile(input, []byte(tc.config), 0o644); err != nil {
				t.Fatal(err)
			}
			run := func(extra ...string) ([]byte, error) {
				// The orb's lint.sh order: the bundle after "--", so a path starting with "-" stays a path.
				args := append([]string{"policy", "decide", "--input", input, "--no-compile", "--skip-update-check"}, extra...)
				args = append(args, "--", bundle)
				cmd := exec.Command(cli, args...)
				// A placeholder: the CLI wants a token set even for a decision it makes locally.
				cmd.Env = append(os.Environ(), "HOME="+dir, "CIRCLECI_CLI_TOKEN=unused-by-a-local-decision")
				return cmd.Output()
			}
			out, err := run()
			if err != nil {
				t.Fatalf("decide: %v: %s %s", err, out, stderrOf(err))
			}
			var d struct {
				Status       string `json:"status"`
				HardFailures []struct {
					Rule string `json:"rule"`
				} `json:"hard_failures"`
			}
			if err := json.Unmarshal(out, &d); err != nil {
				t.Fatalf("stdout is not a decision: %v: %s", err, out)
			}
			if d.Status != tc.status {
				t.Errorf("status %s, want %s: %s", d.Status, tc.status, out)
			}
			if tc.status == "HARD_FAIL" && (len(d.HardFailures) == 0 || d.HardFailures[0].Rule != "sg001_production_approval") {
				t.Errorf("hard failures %+v, want sg001_production_approval", d.HardFailures)
			}
			_, err = run("--strict")
			if failed := err != nil; failed != (tc.status == "HARD_FAIL") {
				t.Errorf("--strict: exit error %v, want a failure exactly for HARD_FAIL", err)
			}
		})
	}
}

func stderrOf(err error) string {
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return string(exit.Stderr)
	}
	return ""
}
