package localrunner

import (
	"reflect"
	"strings"
	"testing"
)

// plan compiles the workflow "main" of config (orbs from testdata) and fails the test on error.
func plan(t *testing.T, config string, opts RunOptions) *Plan {
	t.Helper()
	pl, err := planErr(config, opts)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return pl
}

func planErr(config string, opts RunOptions) (*Plan, error) {
	p, err := Parse("config.yml", []byte(config), testOrbs)
	if err != nil {
		return nil, err
	}
	return p.Plan("main", opts)
}

var testOrbs = map[string]string{
	"example/edge": "testdata/edge-orb.yml",
	"example/mini": "testdata/mini-orb.yml",
}

// commands lists the run steps' commands of a planned job.
func commands(j *PlannedJob) []string {
	var out []string
	for _, s := range j.Steps {
		if s.Kind == "run" {
			out = append(out, s.Command)
		}
	}
	return out
}

const paramsConfig = `
version: 2.1
commands:
  show:
    parameters:
      s: {type: string, default: dflt}
      b: {type: boolean, default: false}
      n: {type: integer, default: 1}
      e: {type: enum, enum: [a, b], default: a}
      v: {type: env_var_name, default: MY_TOKEN}
    steps:
      - run:
          name: show << parameters.s >>
          command: echo "<< parameters.s >> << parameters.b >> << parameters.n >> << parameters.e >> << parameters.v >>"
          environment:
            S: << parameters.s >>
            B: << parameters.b >>
            N: << parameters.n >>
jobs:
  j:
    docker: [{image: cimg/base:current}]
    steps:
      - show: ARGS
workflows:
  main:
    jobs: [j]
`

func TestParameterTypes(t *testing.T) {
	tests := []struct {
		name, args string
		cmd        string
		env        map[string]string
		err        string
	}{
		{name: "defaults", args: "{}", cmd: `echo "dflt false 1 a MY_TOKEN"`, env: map[string]string{"S": "dflt", "B": "0", "N": "1"}},
		{name: "given", args: "{s: hi, b: true, n: 3, e: b, v: _X1}", cmd: `echo "hi true 3 b _X1"`, env: map[string]string{"S": "hi", "B": "1", "N": "3"}},
		{name: "string gets integer", args: "{s: 3}", err: `parameter "s" (string): argument is integer 3`},
		// CircleCI reads YAML 1.1: `yes` is a boolean (reusing-config, "Boolean"), `y` is not
		// (circleci-docs PR #9176).
		{name: "boolean gets yes", args: "{b: yes}", cmd: `echo "dflt true 1 a MY_TOKEN"`, env: map[string]string{"S": "dflt", "B": "1", "N": "1"}},
		{name: "boolean gets y", args: "{b: y}", err: `parameter "b" (boolean)`},
		{name: "boolean gets quoted true", args: `{b: "true"}`, err: `parameter "b" (boolean)`},
		{name: "integer gets text", args: "{n: three}", err: `parameter "n" (integer)`},
		{name: "enum outside list", args: "{e: c}", err: `want one of "a", "b"`},
		{name: "env_var_name with dash", args: "{v: MY-TOKEN}", err: `parameter "v" (env_var_name)`},
		{name: "env_var_name starting with digit", args: "{v: 1ABC}", err: `parameter "v" (env_var_name)`},
		{name: "env_var_name with injection", args: `{v: "X; touch /tmp/x"}`, err: `parameter "v" (env_var_name)`},
		{name: "undeclared argument", args: "{nope: 1}", err: "unexpected argument(s) nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pl, err := planErr(strings.Replace(paramsConfig, "ARGS", tt.args, 1), RunOptions{Branch: "main"})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			st := pl.Jobs[0].Steps[0]
			if st.Command != tt.cmd {
				t.Errorf("command = %q, want %q", st.Command, tt.cmd)
			}
			if !reflect.DeepEqual(st.Env, tt.env) {
				t.Errorf("env = %v, want %v", st.Env, tt.env)
			}
		})
	}
}

func TestParameterDeclarationErrors(t *testing.T) {
	tests := []struct {
		name, params, args, err string
	}{
		{name: "missing required", params: "{x: {type: string}}", args: "{}", err: `missing required parameter "x"`},
		{name: "enum default outside list", params: "{x: {type: enum, enum: [a], default: b}}", args: "{}", err: `default is string "b", want one of "a"`},
		{name: "unknown type", params: "{x: {type: str, default: a}}", args: "{}", err: `unknown type "str"`},
		{name: "enum without list", params: "{x: {type: enum, default: a}}", args: "{}", err: "needs a non-empty enum list"},
		{name: "unquoted y default for boolean", params: "{x: {type: boolean, default: y}}", args: "{}", err: `default is string "y"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			config := `
version: 2.1
commands:
  c:
    parameters: ` + tt.params + `
    steps: [{run: "true"}]
jobs:
  j:
    docker: [{image: x}]
    steps: [{c: ` + tt.args + `}]
workflows:
  main:
    jobs: [j]
`
			_, err := planErr(config, RunOptions{Branch: "main"})
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("error = %v, want one containing %q", err, tt.err)
			}
		})
	}
}

func TestLexicalScope(t *testing.T) {
	config := `
version: 2.1
commands:
  inner:
    steps:
      - run: echo << parameters.who >>
jobs:
  j:
    parameters:
      who: {type: string, default: me}
    docker: [{image: x}]
    steps: [inner]
workflows:
  main:
    jobs: [j]
`
	_, err := planErr(config, RunOptions{Branch: "main"})
	if err == nil || !strings.Contains(err.Error(), `command inner: parameter "who" is referenced but not declared`) {
		t.Fatalf("a command must not see its caller's parameters; error = %v", err)
	}
	// Passed explicitly, it works.
	fixed := strings.Replace(config, "    steps:\n      - run: echo << parameters.who >>",
		"    parameters:\n      who: {type: string}\n    steps:\n      - run: echo << parameters.who >>", 1)
	fixed = strings.Replace(fixed, "steps: [inner]", "steps: [{inner: {who: << parameters.who >>}}]", 1)
	pl := plan(t, fixed, RunOptions{Branch: "main"})
	if got := commands(pl.Jobs[0]); !reflect.DeepEqual(got, []string{"echo me"}) {
		t.Fatalf("commands = %q", got)
	}
}

func TestStepsSplicingAndWhen(t *testing.T) {
	config := `
version: 2.1
commands:
  wrap:
    parameters:
      body: {type: steps}
      loud: {type: boolean, default: false}
      mode: {type: string, default: plain}
    steps:
      - run: echo before
      - steps: << parameters.body >>
      - when:
          condition: << parameters.loud >>
          steps: [{run: echo loud}]
      - unless:
          condition: {equal: [fancy, << parameters.mode >>]}
          steps: [{run: echo plain}]
      - when:
          condition:
            and:
              - << parameters.loud >>
              - {matches: {pattern: "f.*y", value: << parameters.mode >>}}
          steps: [{run: echo loud-fancy}]
      - run: echo after
  hello:
    parameters:
      who: {type: string}
    steps: [{run: echo hello << parameters.who >>}]
jobs:
  j:
    parameters:
      who: {type: string, default: job}
      loud: {type: boolean, default: false}
      mode: {type: string, default: plain}
    docker: [{image: x}]
    steps:
      - wrap:
          loud: << parameters.loud >>
          mode: << parameters.mode >>
          body:
            - run: echo first << parameters.who >>
            - hello: {who: << parameters.who >>}
workflows:
  main:
    jobs: [{j: ARGS}]
`
	tests := []struct {
		args string
		want []string
	}{
		{"{}", []string{"echo before", "echo first job", "echo hello job", "echo plain", "echo after"}},
		{"{loud: true, mode: fancy, who: x}", []string{"echo before", "echo first x", "echo hello x", "echo loud", "echo loud-fancy", "echo after"}},
		{"{loud: true, mode: fancyish}", []string{"echo before", "echo first job", "echo hello job", "echo loud", "echo plain", "echo after"}},
	}
	for _, tt := range tests {
		pl := plan(t, strings.Replace(config, "ARGS", tt.args, 1), RunOptions{Branch: "main"})
		if got := commands(pl.Jobs[0]); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: commands = %q, want %q", tt.args, got, tt.want)
		}
	}
}

func TestUnescapeAfterSubstitution(t *testing.T) {
	config := `
version: 2.1
commands:
  c:
    parameters:
      text: {type: string}
    steps:
      - run:
          name: literal \<< parameters.text >>
          command: |
            cat \<<EOF
            << parameters.text >>
            EOF
          environment:
            T: << parameters.text >>
jobs:
  j:
    docker: [{image: x}]
    steps:
      - c: {text: 'a \<< parameters.text >> b'}
workflows:
  main:
    jobs: [j]
`
	pl := plan(t, config, RunOptions{Branch: "main"})
	st := pl.Jobs[0].Steps[0]
	if want := "literal << parameters.text >>"; st.Name != want {
		t.Errorf("name = %q, want %q", st.Name, want)
	}
	if want := "cat <<EOF\na << parameters.text >> b\nEOF\n"; st.Command != want {
		t.Errorf("command = %q, want %q", st.Command, want)
	}
	if want := "a << parameters.text >> b"; st.Env["T"] != want {
		t.Errorf("env T = %q, want %q", st.Env["T"], want)
	}
}

func TestOrbsFromFilesAndInline(t *testing.T) {
	config := `
version: 2.1
orbs:
  edge: example/edge@1.0.0
  mini: example/mini@1.0.0
  local:
    commands:
      say:
        parameters:
          n: {type: integer, default: 2}
        steps: [{run: "echo inline << parameters.n >> << pipeline.number >>"}]
    jobs:
      go:
        docker: [{image: x}]
        steps: [say]
jobs:
  build:
    executor:
      name: edge/small
      tag: "2025.01"
    steps:
      - edge/noop: {count: 1}
      - local/say: {n: 5}
      - mini/greet: {loud: true, mode: fancy, who: you}
workflows:
  main:
    jobs:
      - build
      - local/go
      - edge/write:
          path: a.txt
          after:
            - edge/write_file: {force: true, path: a.txt}
`
	pl := plan(t, config, RunOptions{Branch: "main", PipelineNumber: 9})
	build := pl.Jobs[0]
	if build.Image != "cimg/base:2025.01" || build.Executor != "edge/small" {
		t.Errorf("executor = %s %s", build.Executor, build.Image)
	}
	names := []string{}
	for _, s := range build.Steps {
		names = append(names, s.Name)
	}
	wantNames := []string{"Say: yes", "Labelled", "echo inline 5 9", "Greet you", "echo \"LOUD MODE\""}
	if !reflect.DeepEqual(names, wantNames) {
		t.Errorf("step names = %q, want %q", names, wantNames)
	}
	if got := build.Steps[3].Env; got["GREET_TIMES"] != "1" || got["GREET_TOKEN_VAR"] != "GREET_TOKEN" {
		t.Errorf("greet env = %v", got)
	}
	if !strings.Contains(build.Steps[3].Command, "cat <<EOT") || !strings.Contains(build.Steps[3].Command, `heredoc to show \<< escaping`) {
		t.Errorf("included script not unescaped once: %q", build.Steps[3].Command)
	}
	if got := commands(pl.Jobs[1]); !reflect.DeepEqual(got, []string{"echo inline 2 9"}) {
		t.Errorf("inline orb job = %q", got)
	}
	write := pl.Jobs[2]
	if len(write.Steps) != 3 || write.Steps[1].Env["PARAM_FORCE"] != "1" || write.Steps[0].Env["PARAM_FORCE"] != "0" || write.Steps[2].When != "always" {
		t.Errorf("edge/write steps = %+v", write.Steps)
	}
}

func TestOrbErrors(t *testing.T) {
	tests := []struct{ name, config, err string }{
		{name: "orb file not given", config: `
version: 2.1
orbs: {x: acme/x@1}
workflows: {main: {jobs: [x/j]}}
`, err: "pass its packed orb.yml with --orb acme/x=FILE"},
		{name: "pipeline parameter inside orb", config: `
version: 2.1
parameters: {p: {type: string, default: a}}
orbs:
  o:
    jobs:
      j:
        docker: [{image: x}]
        steps: [{run: echo << pipeline.parameters.p >>}]
workflows: {main: {jobs: [o/j]}}
`, err: "pipeline parameters are not in scope inside an orb"},
		{name: "unknown command", config: `
version: 2.1
jobs: {j: {docker: [{image: x}], steps: [nope]}}
workflows: {main: {jobs: [j]}}
`, err: `command "nope" is not defined in config`},
		{name: "matrix", config: `
version: 2.1
jobs: {j: {docker: [{image: x}], steps: [checkout]}}
workflows: {main: {jobs: [{j: {matrix: {parameters: {a: [1, 2]}}}}]}}
`, err: "matrix jobs are not supported"},
		{name: "self recursion", config: `
version: 2.1
commands: {c: {steps: [c]}}
jobs: {j: {docker: [{image: x}], steps: [c]}}
workflows: {main: {jobs: [j]}}
`, err: "nest deeper than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := planErr(tt.config, RunOptions{Branch: "main"})
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("error = %v, want one containing %q", err, tt.err)
			}
		})
	}
}

func TestPipelineParameters(t *testing.T) {
	config := `
version: 2.1
parameters:
  target-env: {type: enum, enum: [staging, production], default: staging}
  dry: {type: boolean, default: false}
  count: {type: integer, default: 1}
jobs:
  j:
    parameters:
      env: {type: string}
    docker: [{image: x}]
    steps:
      - run: echo << parameters.env >> << pipeline.parameters.dry >> << pipeline.parameters.count >> << pipeline.git.branch >>
workflows:
  main:
    jobs:
      - j: {env: << pipeline.parameters.target-env >>}
`
	pl := plan(t, config, RunOptions{Branch: "dev", Parameters: map[string]any{"target-env": "production", "dry": "true", "count": "3"}})
	if got := commands(pl.Jobs[0]); !reflect.DeepEqual(got, []string{"echo production true 3 dev"}) {
		t.Errorf("commands = %q", got)
	}
	for _, tt := range []struct {
		params map[string]any
		err    string
	}{
		{map[string]any{"target-env": "qa"}, `want one of "staging", "production"`},
		{map[string]any{"dry": "yes"}, `parameter "dry" (boolean)`},
		{map[string]any{"nope": "x"}, "nope are not declared"},
	} {
		if _, err := planErr(config, RunOptions{Branch: "main", Parameters: tt.params}); err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%v: error = %v, want %q", tt.params, err, tt.err)
		}
	}
}

func TestExecutorParameterFromCaller(t *testing.T) {
	config := `
version: 2.1
executors:
  mine:
    docker: [{image: "mine:<< parameters.v >>", environment: {FROM_EXEC: "yes"}}]
    parameters: {v: {type: string, default: "1"}}
    working_directory: /tmp/w
    environment: {SHARED: exec}
orbs:
  o:
    executors:
      theirs: {docker: [{image: theirs}]}
    jobs:
      j:
        parameters:
          e: {type: executor, default: theirs}
        executor: << parameters.e >>
        environment: {SHARED: job}
        steps: [{run: "true"}]
workflows:
  main:
    jobs:
      - o/j: {name: default}
      - o/j: {name: custom, e: {name: mine, v: "2"}}
`
	pl := plan(t, config, RunOptions{Branch: "main"})
	inline := plan(t, "version: 2.1\njobs: {j: {docker: [{image: i, environment: {A: a, B: b}}], environment: {B: job}, shell: /bin/sh, steps: [checkout]}}\nworkflows: {main: {jobs: [j]}}\n", RunOptions{})
	if j := inline.Jobs[0]; j.Image != "i" || j.Executor != "docker" || j.Env["A"] != "a" || j.Env["B"] != "job" || j.Shell != "/bin/sh" {
		t.Errorf("inline executor: %+v", j)
	}
	if j := pl.Jobs[0]; j.Image != "theirs" || j.WorkingDirectory != "~/project" {
		t.Errorf("default executor: %s %s", j.Image, j.WorkingDirectory)
	}
	j := pl.Jobs[1]
	if j.Image != "mine:2" || j.WorkingDirectory != "/tmp/w" || j.Env["FROM_EXEC"] != "yes" || j.Env["SHARED"] != "job" {
		t.Errorf("custom executor: image %s, wd %s, env %v", j.Image, j.WorkingDirectory, j.Env)
	}
}
