package orbcheck

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/shipgate/shipgate/helper/dev/internal/localrunner"
	"github.com/shipgate/shipgate/helper/internal/circleci"
)

// runStep is one run step CircleCI would execute for an orb command or job.
type runStep struct {
	origin  string // component path, for messages
	name    string
	env     map[string]string
	command string
	when    string // on_success (default), on_fail or always
}

// expander turns one of a packed orb's commands or jobs, with given arguments, into the run
// steps CircleCI would execute. The local runner compiles it, through the one CircleCI model
// (helper/internal/circleci): typed parameters with defaults, lexical scope, `<< >>`
// substitution (booleans as 1/0 in environment:), when/unless, steps parameters, `\<<`
// unescaping. The tests below run each script with the environment: map CircleCI would give it.
type expander struct {
	file string         // the packed orb
	orb  map[string]any // its decoded content, to list components
}

func loadPackedOrb(t *testing.T) *expander {
	t.Helper()
	x, err := newExpander(filepath.Join(repoRoot, "orb.yml"))
	must(t, err)
	return x
}

func newExpander(file string) (*expander, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	doc, err := circleci.Decode(data)
	if err != nil {
		return nil, err
	}
	return &expander{file: file, orb: asMap(doc)}, nil
}

// expand compiles a one-job workflow: the orb's job itself, or a job whose only step is the
// orb's command.
func (x *expander) expand(kind, name string, args map[string]any) ([]runStep, error) {
	if args == nil {
		args = map[string]any{}
	}
	config := map[string]any{"version": 2.1, "orbs": map[string]any{"o": OrbName + "@1"}}
	switch kind {
	case "jobs":
		config["workflows"] = map[string]any{"w": map[string]any{"jobs": []any{map[string]any{"o/" + name: args}}}}
	case "commands":
		config["jobs"] = map[string]any{"x": map[string]any{
			"docker": []any{map[string]any{"image": "cimg/base:current"}},
			"steps":  []any{map[string]any{"o/" + name: args}},
		}}
		config["workflows"] = map[string]any{"w": map[string]any{"jobs": []any{"x"}}}
	default:
		return nil, fmt.Errorf("no component kind %q", kind)
	}
	data, err := yaml.Marshal(config)
	if err != nil {
		return nil, err
	}
	p, err := localrunner.Parse(kind+"/"+name, data, map[string]string{OrbName: x.file})
	if err != nil {
		return nil, err
	}
	plan, err := p.Plan("w", localrunner.RunOptions{Branch: "main"})
	if err != nil {
		return nil, err
	}
	job := plan.Jobs[0]
	var out []runStep
	for _, s := range job.Steps {
		if s.Kind != "run" {
			continue // a built-in step such as restore_cache: nothing to execute here
		}
		env := map[string]string{}
		for k, v := range job.Env {
			env[k] = v
		}
		for k, v := range s.Env {
			env[k] = v
		}
		out = append(out, runStep{origin: kind + "/" + name, name: s.Name, env: env, command: s.Command, when: s.When})
	}
	return out, nil
}

func TestExpanderFollowsCircleCIRules(t *testing.T) {
	orb := filepath.Join(t.TempDir(), "orb.yml")
	must(t, os.WriteFile(orb, []byte(`version: 2.1
commands:
  inner:
    parameters:
      flag: {type: boolean, default: false}
      who: {type: string}
    steps:
      - run:
          name: Inner << parameters.who >>
          environment:
            FLAG: << parameters.flag >>
          command: echo "<< parameters.flag >>" \<<EOF
  outer:
    parameters:
      flag: {type: boolean, default: true}
      extra: {type: steps, default: []}
    steps:
      - when:
          condition: << parameters.flag >>
          steps:
            - inner:
                who: x
                flag: << parameters.flag >>
      - unless:
          condition: << parameters.flag >>
          steps:
            - run: {name: skipped, command: "false"}
      - steps: << parameters.extra >>
`), 0o600))
	x, err := newExpander(orb)
	must(t, err)
	steps, err := x.expand("commands", "outer", map[string]any{"extra": []any{map[string]any{"run": map[string]any{"name": "Extra", "command": "true"}}}})
	must(t, err)
	var got []runStep
	for _, s := range steps {
		got = append(got, runStep{name: s.name, env: s.env, command: s.command})
	}
	want := []runStep{
		{name: "Inner x", env: map[string]string{"FLAG": "1"}, command: `echo "true" <<EOF`},
		{name: "Extra", env: map[string]string{}, command: "true"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if _, err := x.expand("commands", "inner", nil); err == nil {
		t.Error("a missing required parameter was accepted")
	}
}
