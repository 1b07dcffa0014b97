package orbcheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestLintScriptJudgesThePolicyBundle runs src/scripts/lint.sh with stand-ins for shipgate and
// the circleci CLI on PATH: without policy_bundle only lint runs; with it, `circleci policy
// decide BUNDLE --input FILE --no-compile --skip-update-check` runs too, its decision is
// printed, and a HARD_FAIL (exit 6), a decide error or a lint failure fails the step; a soft
// failure does not. A missing circleci CLI is exit 7 with a one-line reason, never a silent
// pass. The pinned circleci CLI v0.1.30995 wants a token set even for a local decision and
// prints no decision under --strict (observed; helper/dev/policytest runs the real CLI).
func TestLintScriptJudgesThePolicyBundle(t *testing.T) {
	script := filepath.Join(repoRoot, "src", "scripts", "lint.sh")
	const decide = "circleci policy decide --input cfg.yml --no-compile --skip-update-check -- policies token=unused-by-a-local-decision\n"
	cases := []struct {
		name             string
		bundle           string
		lintRC, decideRC string
		decision         string
		noCircleCI       bool
		wantRC           int
		wantCalls        string
		wantOut, wantErr string
	}{
		{name: "lint only", lintRC: "0", wantRC: 0, wantCalls: "shipgate lint cfg.yml\n"},
		{name: "lint fails", lintRC: "6", wantRC: 6, wantCalls: "shipgate lint cfg.yml\n"},
		{name: "bundle passes", bundle: "policies", lintRC: "0", decideRC: "0", decision: `{"status": "PASS"}`,
			wantRC: 0, wantCalls: "shipgate lint cfg.yml\n" + decide, wantOut: `"PASS"`},
		{name: "soft failure passes", bundle: "policies", lintRC: "0", decideRC: "0", decision: `{"status": "SOFT_FAIL"}`,
			wantRC: 0, wantCalls: "shipgate lint cfg.yml\n" + decide, wantOut: "SOFT_FAIL"},
		{name: "hard failure", bundle: "policies", lintRC: "0", decideRC: "0",
			decision: "{\n  \"status\": \"HARD_FAIL\",\n  \"hard_failures\": [{\"rule\": \"sg001_production_approval\"}]\n}",
			wantRC:   6, wantCalls: "shipgate lint cfg.yml\n" + decide, wantOut: "sg001_production_approval", wantErr: "HARD_FAIL"},
		{name: "decide error", bundle: "policies", lintRC: "0", decideRC: "1", decision: "",
			wantRC: 1, wantCalls: "shipgate lint cfg.yml\n" + decide, wantErr: "could not judge"},
		{name: "lint fails, bundle still judged", bundle: "policies", lintRC: "6", decideRC: "0", decision: `{"status": "PASS"}`,
			wantRC: 6, wantCalls: "shipgate lint cfg.yml\n" + decide},
		{name: "no circleci CLI", bundle: "policies", lintRC: "0", noCircleCI: true, wantRC: 7,
			wantCalls: "shipgate lint cfg.yml\n", wantErr: "circleci CLI is not installed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bin, calls := t.TempDir(), filepath.Join(t.TempDir(), "calls")
			write := func(name, body string) {
				must(t, os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/bash\n"+body), 0o755))
			}
			write("shipgate", "echo \"shipgate $*\" >> \"$CALLS\"\nexit "+tc.lintRC+"\n")
			if !tc.noCircleCI {
				write("circleci", "echo \"circleci $* token=$CIRCLECI_CLI_TOKEN\" >> \"$CALLS\"\ncat <<'JSON'\n"+tc.decision+"\nJSON\nexit "+tc.decideRC+"\n")
			} else if p, err := exec.LookPath("circleci"); err == nil {
				t.Skipf("a real circleci CLI at %s would be found", p)
			}
			cmd := exec.Command("/bin/bash", script)
			// PATH holds the stand-ins first, then the system's own tools (bash, grep, mktemp).
			// SHIPGATE_PRELUDE: a no-op stands in for the orb's shared prelude, which the orb
			// branch has its scripts source.
			cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin", "CALLS=" + calls, "PARAM_FILE=cfg.yml", "PARAM_POLICY_BUNDLE=" + tc.bundle, "SHIPGATE_PRELUDE=:"}
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			rc := 0
			if ee, ok := err.(*exec.ExitError); ok {
				rc = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			raw, _ := os.ReadFile(calls)
			// `shipgate lint -- FILE` (the orb branch ends the options) is the same call.
			got := strings.ReplaceAll(string(raw), "shipgate lint -- ", "shipgate lint ")
			if rc != tc.wantRC || got != tc.wantCalls || !strings.Contains(stdout.String(), tc.wantOut) || !strings.Contains(stderr.String(), tc.wantErr) {
				t.Errorf("exit %d calls %q stdout %q stderr %q; want exit %d calls %q stdout containing %q stderr containing %q",
					rc, got, stdout.String(), stderr.String(), tc.wantRC, tc.wantCalls, tc.wantOut, tc.wantErr)
			}
		})
	}
}
