package orbcheck

import (
	"os/exec"
	"strings"
	"testing"
)

// use_ledger_repository writes SHIPGATE_FLAG_LEDGER_REPO to $BASH_ENV for every later step (the
// helper reads it as --ledger-repo), expanding ${VAR}; a value that is not a repository
// reference stops the step and writes nothing.
func TestUseLedgerRepositoryExportsIt(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash is not installed")
	}
	x := loadPackedOrb(t)
	r := newScriptRun(t)
	steps := stepsOf(t, x, "commands", "use_ledger_repository", map[string]any{"repo": "${REGISTRY}/app-ledger"})
	if len(steps) != 1 {
		t.Fatalf("%d steps", len(steps))
	}
	step := steps[0]
	step.env["REGISTRY"] = "127.0.0.1:5000"
	// Source what the step wrote, as bash does at the start of the next step.
	step.command += "\nbash -c 'source \"$BASH_ENV\"; printf \"next step sees [%s]\\n\" \"$SHIPGATE_FLAG_LEDGER_REPO\"'"
	_, _, out := r.run(t, step)
	if !strings.Contains(out, "next step sees [127.0.0.1:5000/app-ledger]") {
		t.Fatalf("output:\n%s", out)
	}
	for _, bad := range []string{"a'b/app", "reg/app ledger", "$(id)/x"} {
		steps := stepsOf(t, x, "commands", "use_ledger_repository", map[string]any{"repo": bad})
		step := steps[0]
		step.command += "\necho REACHED; cat \"$BASH_ENV\""
		_, mark, out := r.run(t, step)
		if mark || strings.Contains(out, "REACHED") || strings.Contains(out, "SHIPGATE_FLAG_LEDGER_REPO=") {
			t.Errorf("repo %q was accepted:\n%s", bad, out)
		}
	}
}

// ledger_prune passes its parameters to `shipgate ledger prune`, deleting only with apply.
func TestLedgerPruneCommandLine(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash is not installed")
	}
	x := loadPackedOrb(t)
	r := newScriptRun(t)
	for _, tt := range []struct {
		args map[string]any
		want string
	}{
		{map[string]any{"env": "production", "repo": "reg/app"},
			"shipgate ledger prune --repo reg/app --env production --keep 10 --keep-days 90"},
		{map[string]any{"env": "production", "repo": "reg/app", "ledger_repository": "reg/app-ledger", "keep": 3, "keep_days": 30, "apply": true},
			"shipgate ledger prune --repo reg/app --env production --keep 3 --keep-days 30 --ledger-repo reg/app-ledger --apply"},
	} {
		steps := stepsOf(t, x, "commands", "ledger_prune", tt.args)
		calls, _, out := r.run(t, steps[0])
		if len(calls) != 1 || strings.Join(calls[0], " ") != tt.want {
			t.Errorf("calls %q, want %q\n%s", calls, tt.want, out)
		}
	}
}
