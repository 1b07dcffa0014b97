package circleci_test

import (
	"strings"
	"testing"

	"github.com/shipgate/shipgate/helper/internal/circleci"
)

// FuzzSubstitute checks the parameter expander on arbitrary text: it never panics, text
// without `<<` is unchanged, a reference is replaced by exactly its value, and a value is
// never expanded again (so a value holding `<< parameters.y >>` stays literal: no injection
// of references through arguments).
func FuzzSubstitute(f *testing.F) {
	seeds := []struct{ prefix, space, value, suffix string }{
		{"echo ", " ", "world", "!"},
		{"", "", "v", ""},
		{"a", "  ", "<< parameters.y >>", "b"},
		{"cat <<EOF\n", " ", "$(touch /tmp/x)", "\nEOF"},
		{"x", "\t", `"; touch $MARK #`, "`id`"},
		{`\`, " ", "v", ""},
		{"<< pipeline.number >>", " ", "\\<<", ">>"},
		{"", " ", "", "\n"},
	}
	for _, s := range seeds {
		f.Add(s.prefix, s.space, s.value, s.suffix)
	}
	f.Fuzz(func(t *testing.T, prefix, space, value, suffix string) {
		sc := &circleci.Scope{What: "fuzz", Params: map[string]any{"x": value},
			Pipeline: &circleci.PipelineValues{Values: map[string]any{"number": 1}, Params: map[string]any{}}}
		// Arbitrary text: no panic, and text without "<<" passes through untouched.
		for _, text := range []string{prefix, value, suffix, prefix + value + suffix} {
			got, err := circleci.SubstituteString(text, sc)
			if err == nil && !strings.Contains(text, "<<") && got != text {
				t.Fatalf("text without references changed: %q -> %q", text, got)
			}
		}
		if strings.Trim(space, " \t") != "" || strings.Contains(prefix+suffix, "<<") || strings.Contains(prefix+suffix, ">>") || strings.HasSuffix(prefix, `\`) {
			return
		}
		template := prefix + "<<" + space + "parameters.x" + space + ">>" + suffix
		got, err := circleci.SubstituteString(template, sc)
		if err != nil {
			t.Fatalf("%q: %v", template, err)
		}
		if got != prefix+value+suffix {
			t.Fatalf("%q with x=%q: got %q, want %q", template, value, got, prefix+value+suffix)
		}
	})
}

// FuzzEvalExpression: any expression text, fully known or partly Unknown, evaluates or fails
// with an error; it never panics.
func FuzzEvalExpression(f *testing.F) {
	for _, seed := range []string{`pipeline.git.branch == "main"`, `not (pipeline.number >= 3) or pipeline.parameters.x`,
		`pipeline.git.tag starts-with "v"`, `((`, `"unterminated`, `pipeline.parameters.x and pipeline.git.branch != 'dev'`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		for _, partial := range []bool{false, true} {
			sc := &circleci.Scope{What: "fuzz", Partial: partial,
				Pipeline: &circleci.PipelineValues{Values: map[string]any{"git.branch": "main", "number": 3}, Params: map[string]any{"x": true}}}
			if partial {
				sc.Pipeline.Params = nil
			}
			_, _ = circleci.EvalExpression(expr, sc)
		}
	})
}
