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
// decide BUNDLE --input FILE --no-compile --strict` runs too and either failure fails the
// step; a missing circleci CLI is exit 7 with a one-line reason, never a silent pass.
func TestLintScriptJudgesThePolicyBundle(t *testing.T) {
	script := filepath.Join(repoRoot, "src", "scripts", "lint.sh")
	cases := []struct {
		name               string
		bundle             string
		lintRC, decideRC   string
		noCircleCI         bool
		wantRC             int
		wantCalls, wantErr string
	}{
		{name: "lint only", lintRC: "0", wantRC: 0, wantCalls: "shipgate lint cfg.yml\n"},
		{name: "lint fails", lintRC: "6", wantRC: 6, wantCalls: "shipgate lint cfg.yml\n"},
		{name: "bundle passes", bundle: "policies", lintRC: "0", decideRC: "0", wantRC: 0,
			wantCalls: "shipgate lint cfg.yml\ncircleci policy decide policies --input cfg.yml --no-compile --strict\n"},
		{name: "bundle hard failure", bundle: "policies", lintRC: "0", decideRC: "1", wantRC: 1,
			wantCalls: "shipgate lint cfg.yml\ncircleci policy decide policies --input cfg.yml --no-compile --strict\n"},
		{name: "lint fails, bundle still judged", bundle: "policies", lintRC: "6", decideRC: "0", wantRC: 6,
			wantCalls: "shipgate lint cfg.yml\ncircleci policy decide policies --input cfg.yml --no-compile --strict\n"},
		{name: "no circleci CLI", bundle: "policies", lintRC: "0", noCircleCI: true, wantRC: 7,
			wantCalls: "shipgate lint cfg.yml\n", wantErr: "circleci CLI is not installed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bin, calls := t.TempDir(), filepath.Join(t.TempDir(), "calls")
			stub := func(name, rc string) {
				body := "#!/bin/bash\necho \"" + name + " $*\" >> \"$CALLS\"\nexit " + rc + "\n"
				must(t, os.WriteFile(filepath.Join(bin, name), []byte(body), 0o755))
			}
			stub("shipgate", tc.lintRC)
			if !tc.noCircleCI {
				stub("circleci", tc.decideRC)
			}
			cmd := exec.Command("/bin/bash", script)
			// PATH holds the stand-ins and the folder of bash's own tools, nothing else.
			cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin", "CALLS=" + calls, "PARAM_FILE=cfg.yml", "PARAM_POLICY_BUNDLE=" + tc.bundle}
			if !tc.noCircleCI {
				if _, err := exec.LookPath("circleci"); err == nil {
					t.Log("a real circleci CLI is installed; the stand-in comes first on PATH")
				}
			} else if p, err := exec.LookPath("circleci"); err == nil {
				t.Skipf("a real circleci CLI at %s would be found", p)
			}
			var stderr strings.Builder
			cmd.Stderr = &stderr
			err := cmd.Run()
			rc := 0
			if ee, ok := err.(*exec.ExitError); ok {
				rc = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(calls)
			if rc != tc.wantRC || string(got) != tc.wantCalls || !strings.Contains(stderr.String(), tc.wantErr) {
				t.Errorf("exit %d calls %q stderr %q; want exit %d calls %q stderr containing %q",
					rc, got, stderr.String(), tc.wantRC, tc.wantCalls, tc.wantErr)
			}
		})
	}
}
