package localrunner

import (
	"strings"
	"testing"
)

func TestEvalExpression(t *testing.T) {
	sc := &scope{what: "test", pipe: &pipelineValues{
		values: map[string]any{"git.branch": "main", "git.tag": "", "number": 12, "trigger_source": "webhook"},
		params: map[string]any{"target-env": "production", "dry": false, "count": 3},
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
			got, err := evalExpression(tt.expr, sc)
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

func TestExpressionsInConfig(t *testing.T) {
	config := `
version: 2.1
parameters:
  deploy: {type: boolean, default: false}
jobs:
  j:
    docker: [{image: x}]
    steps:
      - run: echo "main=<< pipeline.git.branch == "main" >> heredoc <<EOF >>out"
      - when:
          condition: << pipeline.git.branch starts-with "feat" >>
          steps: [{run: echo feature}]
workflows:
  main:
    when: pipeline.parameters.deploy or pipeline.git.branch == "main"
    jobs:
      - j
      - j: {name: only-main, filters: pipeline.git.branch == "main"}
`
	pl := plan(t, config, RunOptions{Branch: "feat-x", Parameters: map[string]any{"deploy": true}})
	if pl.Skipped {
		t.Fatal("workflow skipped")
	}
	if got := commands(pl.Jobs[0]); len(got) != 2 || got[0] != `echo "main=false heredoc <<EOF >>out"` || got[1] != "echo feature" {
		t.Errorf("commands = %q", got)
	}
	if !pl.Jobs[1].Filtered {
		t.Error("only-main must be filtered on feat-x")
	}
	pl = plan(t, config, RunOptions{Branch: "dev"})
	if !pl.Skipped {
		t.Error("workflow must be skipped on dev without deploy")
	}
}
