package lint

import (
	"strings"
	"testing"
)

// TestTextEscapesConfigWords (issue 14 class 3): a job name with a newline, CR or ESC (a
// quoted YAML key can hold them) cannot add or rewrite lines in the text report.
func TestTextEscapesConfigWords(t *testing.T) {
	r := &Report{Files: []string{"c.yml"}, Findings: []Finding{{
		Rule: "SG001", Severity: "error", File: "c.yml", Line: 3, Column: 5,
		Message: "production deploy job deploy\nc.yml:1:1: note SG000: all clear has no approval",
		Hint:    "add an approval\r\x1b[2K", Source: "https://example.com/\u202e",
	}}}
	text := r.Text()
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) != 4 { // finding, hint, see, summary
		t.Fatalf("want 4 lines, got %d:\n%s", len(lines), text)
	}
	for _, want := range []string{`deploy\nc.yml:1:1`, `approval\r\x1b[2K`, `\u202e`} {
		if !strings.Contains(text, want) {
			t.Errorf("%s not escaped in\n%s", want, text)
		}
	}
}
