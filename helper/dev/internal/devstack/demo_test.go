package devstack

import (
	"strings"
	"testing"
)

// The demo says what `circleci-agent step halt` means when it shows it (issue 18 point 10).
func TestNarrationExplainsStepHalt(t *testing.T) {
	got := narrateLine("=== [deploy-staging] Mark the release good and finish: circleci-agent step halt: the job ends here, successfully")
	for _, want := range []string{"circleci-agent step halt", "end a job early as successful", "skipped"} {
		if !strings.Contains(got, want) {
			t.Errorf("narration %q lacks %q", got, want)
		}
	}
	if other := narrateLine("=== [build] something else"); strings.Contains(other, "end a job early") {
		t.Errorf("an unrelated line got the explanation: %q", other)
	}
}
