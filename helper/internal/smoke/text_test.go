package smoke

import (
	"strings"
	"testing"
)

// TestTextEscapesServiceWords (issue 14 class 3): a check name from the checks file, a reason
// and a body excerpt from the service cannot add lines or terminal escapes to the text verdict.
func TestTextEscapesServiceWords(t *testing.T) {
	res := &Result{Verdict: "unhealthy", Reason: "check \"x\nhealthy: 1 check(s) passed\" failed", Checks: []CheckResult{{
		Name: "api\r\x1b[2K", Method: "GET", URL: "http://127.0.0.1/", Outcome: OutcomeFailed,
		Problems: []string{"want 200\u202e"}, BodyExcerpt: "<html>\nhealthy: all good",
	}}}
	text := res.Text()
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if strings.HasPrefix(line, "healthy") {
			t.Errorf("forged verdict line %q in\n%s", line, text)
		}
	}
	for _, want := range []string{`api\r\x1b[2K`, `want 200\u202e`, `<html>\nhealthy: all good`} {
		if !strings.Contains(text, want) {
			t.Errorf("%s not escaped in\n%s", want, text)
		}
	}
}
