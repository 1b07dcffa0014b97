package circleci_test

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/shipgate/shipgate/helper/internal/circleci"
)

// These cases came with the expander, the condition and the expression evaluator from the
// local runner (helper/dev/internal/localrunner), which now uses them from here.

// compiledSteps stands for the local runner's compiled steps: a value no string can hold.
type compiledSteps []string

func TestSubstituteString(t *testing.T) {
	sc := &circleci.Scope{
		What:   "command test",
		Params: map[string]any{"s": "text", "b": true, "f": false, "n": 42, "steps": compiledSteps{}},
		Pipeline: &circleci.PipelineValues{
			Values: map[string]any{"number": 7, "git.branch": "main"},
			Params: map[string]any{"env": "staging"},
		},
	}
	tests := []struct {
		name, in string
		want     any
		err      string
	}{
		{name: "spaced", in: "<< parameters.s >>", want: "text"},
		{name: "tight", in: "<<parameters.s>>", want: "text"},
		{name: "uneven", in: "<<  parameters.s>>", want: "text"},
		{name: "whole boolean keeps its type", in: "<< parameters.b >>", want: true},
		{name: "whole integer keeps its type", in: "<< parameters.n >>", want: 42},
		{name: "boolean in text", in: "flag=<< parameters.b >>/<< parameters.f >>", want: "flag=true/false"},
		{name: "integer in text", in: "n=<<parameters.n>>", want: "n=42"},
		{name: "pipeline value", in: "build << pipeline.number >> on << pipeline.git.branch >>", want: "build 7 on main"},
		{name: "pipeline parameter", in: "<< pipeline.parameters.env >>", want: "staging"},
		{name: "escaped stays for unescaping later", in: `a \<< parameters.s >> b`, want: `a \<< parameters.s >> b`},
		{name: "escaped whole", in: `\<< parameters.s >>`, want: `\<< parameters.s >>`},
		{name: "heredoc is not a reference", in: "cat <<EOF >>out\nx\nEOF", want: "cat <<EOF >>out\nx\nEOF"},
		{name: "no reference", in: "plain", want: "plain"},
		{name: "undeclared", in: "<< parameters.nope >>", err: `parameter "nope" is referenced but not declared`},
		{name: "undeclared pipeline parameter", in: "<< pipeline.parameters.nope >>", err: `pipeline parameter "nope"`},
		{name: "unknown pipeline value", in: "<< pipeline.nope >>", err: "unknown pipeline value"},
		{name: "steps inside text", in: "x << parameters.steps >>", err: "cannot be part of a string"},
		{name: "expression over parameters", in: `<< parameters.s == "x" >>`, err: "only expressions over pipeline values"},
		{name: "expression over pipeline values", in: `on main: << pipeline.git.branch == "main" >>`, want: "on main: true"},
		{name: "unpacked include", in: "<<include(scripts/x.sh)>>", err: "unresolved <<include"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := circleci.SubstituteString(tt.in, sc)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestPipelineParametersNotInScopeInOrb(t *testing.T) {
	sc := &circleci.Scope{What: "command x", InOrb: true, Pipeline: &circleci.PipelineValues{
		Values: map[string]any{"number": 3}, Params: map[string]any{"env": "prod"}}}
	if _, err := circleci.SubstituteString("<< pipeline.parameters.env >>", sc); err == nil || !strings.Contains(err.Error(), "not in scope inside an orb") {
		t.Fatalf("error = %v, want not in scope", err)
	}
	// Pipeline values are in scope inside an orb.
	got, err := circleci.SubstituteString("n<< pipeline.number >>", sc)
	if err != nil || got != "n3" {
		t.Fatalf("got %v, %v; want n3", got, err)
	}
}

func TestEvalCondition(t *testing.T) {
	tests := []struct {
		yaml string
		want bool
		err  string
	}{
		{yaml: "true", want: true},
		{yaml: "false", want: false},
		{yaml: "null", want: false},
		{yaml: "0", want: false},
		{yaml: "1", want: true},
		{yaml: "0.0", want: false},
		{yaml: ".nan", want: false},
		{yaml: `""`, want: false},
		{yaml: "main", want: true},
		{yaml: `"false"`, want: true}, // a non-empty string is truthy, even this one
		{yaml: "{and: [true, 1, x]}", want: true},
		{yaml: "{and: [true, 0]}", want: false},
		{yaml: "{and: []}", want: false},
		{yaml: "{or: [false, '', 'x']}", want: true},
		{yaml: "{or: [false, null]}", want: false},
		{yaml: "{or: []}", want: false},
		{yaml: "{not: false}", want: true},
		{yaml: "{not: main}", want: false},
		{yaml: "{not: {equal: [a, b]}}", want: true},
		{yaml: "{equal: [main, main, main]}", want: true},
		{yaml: "{equal: [main, dev]}", want: false},
		{yaml: "{equal: [1, 1.0]}", want: true},
		{yaml: `{equal: [1, "1"]}`, want: false},
		{yaml: "{equal: [true, true]}", want: true},
		{yaml: "{matches: {pattern: 'v[0-9]+', value: v12}}", want: true},
		{yaml: "{matches: {pattern: 'v[0-9]+', value: v12-rc}}", want: false}, // full match only
		{yaml: "{matches: {pattern: 'main', value: not-main}}", want: false},
		{yaml: "{matches: {pattern: 'release/.*', value: release/1.2}}", want: true},
		{yaml: "{and: [{or: [false, true]}, {not: {matches: {pattern: 'x', value: y}}}]}", want: true},
		{yaml: "{xor: [a]}", err: `unknown logic statement "xor"`},
		{yaml: "{and: [a], or: [b]}", err: "want one of"},
		{yaml: "{matches: {pattern: '(', value: x}}", err: "pattern"},
		{yaml: "{equal: x}", err: "want a list"},
	}
	for _, tt := range tests {
		t.Run(tt.yaml, func(t *testing.T) {
			c, err := circleci.Decode([]byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			got, known, err := circleci.EvalCondition(c)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want || !known {
				t.Errorf("got %v (known %v), want %v", got, known, tt.want)
			}
		})
	}
	if circleci.Truthy(math.NaN()) {
		t.Error("NaN must be falsy")
	}
}
func TestEvalExpression(t *testing.T) {
	sc := &circleci.Scope{What: "test", Pipeline: &circleci.PipelineValues{
		Values: map[string]any{"git.branch": "main", "git.tag": "", "number": 12, "trigger_source": "webhook"},
		Params: map[string]any{"target-env": "production", "dry": false, "count": 3},
	}}
	tests := []struct {
		expr string
		want any
		err  string
	}{
		{expr: `pipeline.git.branch == "main"`, want: true},
		{expr: `pipeline.git.branch == 'develop'`, want: false},
		{expr: `pipeline.git.branch != "main" and pipeline.git.branch != "canary"`, want: false},
		{expr: `pipeline.git.branch == "main" or pipeline.git.tag starts-with "release"`, want: true},
		{expr: `pipeline.git.branch starts-with "ma"`, want: true},
		{expr: `not pipeline.parameters.dry`, want: true},
		{expr: `pipeline.parameters.target-env == "production" and not (pipeline.parameters.dry or false)`, want: true},
		{expr: `pipeline.number >= 12 and pipeline.parameters.count < 4`, want: true},
		{expr: `pipeline.number > 12`, want: false},
		{expr: `pipeline.git.tag`, want: ""},
		{expr: `pipeline.git.branch == "a \"quoted\" b"`, want: false},
		{expr: `true and null`, want: false},
		{expr: `pipeline.git.branch matches "m.*"`, err: `unexpected "matches"`},
		{expr: `pipeline.git.branch ==`, err: "unexpected end"},
		{expr: `(pipeline.git.branch == "main"`, err: "missing )"},
		{expr: `pipeline.git.branch = "main"`, err: "unknown operator"},
		{expr: `pipeline.nope == 1`, err: "unknown pipeline value"},
		{expr: `pipeline.git.branch < 3`, err: "< needs numbers"},
		{expr: `"unterminated`, err: "unterminated string"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			got, err := circleci.EvalExpression(tt.expr, sc)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}
