package localrunner

import (
	"reflect"
	"strings"
	"testing"
)

func TestFilters(t *testing.T) {
	tests := []struct {
		name, filters, branch, tag string
		runs                       bool
	}{
		{name: "no filter, branch", filters: "{}", branch: "dev", runs: true},
		{name: "no filter, tag", filters: "{}", tag: "v1", runs: false},
		{name: "only string", filters: "{branches: {only: main}}", branch: "main", runs: true},
		{name: "only string, other branch", filters: "{branches: {only: main}}", branch: "dev", runs: false},
		{name: "only list", filters: "{branches: {only: [main, develop]}}", branch: "develop", runs: true},
		{name: "only regexp full match", filters: "{branches: {only: /release\\/.*/}}", branch: "release/1", runs: true},
		{name: "only regexp is anchored", filters: "{branches: {only: /main/}}", branch: "not-main", runs: false},
		{name: "exact name is not a regexp", filters: "{branches: {only: ma.n}}", branch: "main", runs: false},
		{name: "ignore", filters: "{branches: {ignore: [main]}}", branch: "main", runs: false},
		{name: "ignore other", filters: "{branches: {ignore: [main]}}", branch: "dev", runs: true},
		{name: "only and ignore", filters: "{branches: {only: /feat.*/, ignore: feat-x}}", branch: "feat-x", runs: false},
		{name: "tags filter ignored on branch", filters: "{tags: {only: /v.*/}}", branch: "dev", runs: true},
		{name: "tag only", filters: "{tags: {only: '/v[0-9]+/'}, branches: {ignore: /.*/}}", tag: "v2", runs: true},
		{name: "tag only, other tag", filters: "{tags: {only: '/v[0-9]+/'}}", tag: "beta", runs: false},
		{name: "tag ignore", filters: "{tags: {ignore: /beta.*/}}", tag: "v3", runs: true},
		{name: "branches ignored on tag", filters: "{branches: {only: main}, tags: {only: /.*/}}", tag: "v1", runs: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			config := `
version: 2.1
jobs: {j: {docker: [{image: x}], steps: [checkout]}}
workflows:
  main:
    jobs: [{j: {filters: ` + tt.filters + `}}]
`
			pl := plan(t, config, RunOptions{Branch: tt.branch, Tag: tt.tag})
			if got := !pl.Jobs[0].Filtered; got != tt.runs {
				t.Errorf("runs = %v, want %v (%s)", got, tt.runs, pl.Jobs[0].FilterReason)
			}
		})
	}
}

func TestRequiresOrder(t *testing.T) {
	config := `
version: 2.1
jobs: {j: {docker: [{image: x}], steps: [checkout]}}
workflows:
  main:
    jobs:
      - j: {name: deploy, requires: [hold, test]}
      - j: {name: test, requires: [build]}
      - hold: {type: approval, requires: [test]}
      - j: {name: build}
      - j: {name: lint}
`
	pl := plan(t, config, RunOptions{Branch: "main"})
	var got []string
	for _, j := range pl.Jobs {
		got = append(got, j.Name)
	}
	want := []string{"build", "test", "hold", "deploy", "lint"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("order = %q, want %q", got, want)
	}
	for _, tt := range []struct{ jobs, err string }{
		{"[{j: {name: a, requires: [b]}}, {j: {name: b, requires: [a]}}]", "cycle among a, b"},
		{"[{j: {requires: [nope]}}]", `requires "nope", which is not a job`},
		{"[j, j]", `two jobs are named "j"`},
		{"[{j: {type: approval}}]", "must not be named after a job"},
	} {
		bad := "version: 2.1\njobs: {j: {docker: [{image: x}], steps: [checkout]}}\nworkflows: {main: {jobs: " + tt.jobs + "}}\n"
		if _, err := planErr(bad, RunOptions{Branch: "main"}); err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%s: error = %v, want %q", tt.jobs, err, tt.err)
		}
	}
}

func TestWorkflowWhen(t *testing.T) {
	config := `
version: 2.1
parameters:
  rollback: {type: boolean, default: false}
  target: {type: string, default: ""}
jobs: {j: {docker: [{image: x}], steps: [checkout]}}
workflows:
  main:
    when:
      and:
        - << pipeline.parameters.rollback >>
        - {not: {equal: ["", << pipeline.parameters.target >>]}}
    jobs: [j]
  other:
    unless: << pipeline.parameters.rollback >>
    jobs: [j]
`
	p, err := Parse("config.yml", []byte(config), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Workflows(); !reflect.DeepEqual(got, []string{"main", "other"}) {
		t.Errorf("workflows = %q", got)
	}
	tests := []struct {
		params      map[string]any
		main, other bool
	}{
		{nil, false, true},
		{map[string]any{"rollback": true}, false, false},
		{map[string]any{"rollback": true, "target": "production"}, true, false},
	}
	for _, tt := range tests {
		m, err := p.Plan("main", RunOptions{Branch: "main", Parameters: tt.params})
		if err != nil {
			t.Fatal(err)
		}
		o, err := p.Plan("other", RunOptions{Branch: "main", Parameters: tt.params})
		if err != nil {
			t.Fatal(err)
		}
		if !m.Skipped != tt.main || !o.Skipped != tt.other {
			t.Errorf("%v: main runs %v other runs %v, want %v %v", tt.params, !m.Skipped, !o.Skipped, tt.main, tt.other)
		}
	}
}

func TestSkippedWorkflowIsStillCompiled(t *testing.T) {
	config := `
version: 2.1
workflows:
  main:
    when: false
    jobs: [nope]
`
	if _, err := planErr(config, RunOptions{Branch: "main"}); err == nil || !strings.Contains(err.Error(), `job "nope" is not defined`) {
		t.Fatalf("error = %v", err)
	}
}

// CircleCI compiles the whole config: a reference to an undeclared pipeline parameter fails
// the pipeline even when the workflow holding it would not run (issue 16 point 2: the packer
// dropped rollback_pipeline's parameters, and CircleCI refused it).
func TestUndeclaredPipelineParameterIsACompileError(t *testing.T) {
	config := `
version: 2.1
parameters:
  run-rollback: {type: boolean, default: false}
jobs:
  j:
    docker: [{image: cimg/base:current}]
    steps: [{run: echo "<< pipeline.parameters.target-env >> \<< pipeline.parameters.escaped >>"}]
workflows:
  main:
    jobs: [j]
  rollback:
    when: << pipeline.parameters.run-rollback >>
    jobs: [j]
`
	_, err := Parse("config.yml", []byte(config), nil)
	if err == nil || !strings.Contains(err.Error(), "target-env") || strings.Contains(err.Error(), "escaped") {
		t.Fatalf("err = %v, want the undeclared target-env (and not the escaped reference)", err)
	}
	declared := strings.Replace(config, "parameters:\n", "parameters:\n  target-env: {type: string, default: staging}\n", 1)
	if _, err := Parse("config.yml", []byte(declared), nil); err != nil {
		t.Fatalf("declared: %v", err)
	}
}
