package orbcheck

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// A small expander for tests: it turns an orb command or job with given parameters into the
// run steps CircleCI would execute, by CircleCI's rules as far as the orb's own components use
// them: typed parameters with defaults, lexical scope (a called command sees only its own
// arguments), `<< parameters.x >>` substitution (booleans as 1/0 in environment:, true/false
// elsewhere), when/unless with literal conditions, steps parameters, and `\<<` unescaping.
// The full local runner lives elsewhere; this is just enough to execute each script as a
// command's environment: map would run it.

type runStep struct {
	origin  string // component path, for messages
	name    string
	env     map[string]string
	command string
	when    string // on_success (default), on_fail or always
}

var exprRe = regexp.MustCompile(`(\\?)<<\s*parameters\.([A-Za-z0-9_-]+)\s*>>`)

type expander struct {
	orb map[string]any
}

func (x *expander) component(kind, name string) map[string]any {
	return asMap(asMap(x.orb[kind])[name])
}

// bind applies defaults and checks required parameters.
func bind(comp map[string]any, args map[string]any) (map[string]any, error) {
	defs := asMap(comp["parameters"])
	out := map[string]any{}
	for _, name := range sortedKeys(defs) {
		def := asMap(defs[name])
		v, given := args[name]
		if !given {
			d, ok := def["default"]
			if !ok {
				return nil, fmt.Errorf("parameter %q is required", name)
			}
			v = d
		}
		out[name] = v
	}
	for name := range args {
		if _, ok := defs[name]; !ok {
			return nil, fmt.Errorf("unknown parameter %q", name)
		}
	}
	return out, nil
}

func render(v any, inEnv bool) string {
	switch t := v.(type) {
	case bool:
		if inEnv {
			if t {
				return "1"
			}
			return "0"
		}
		return strconv.FormatBool(t)
	case nil:
		return ""
	default:
		return fmt.Sprint(t)
	}
}

// substitute replaces parameter expressions in s. A value that is exactly one expression keeps
// its type (so booleans and steps pass through to called commands).
func substitute(s string, params map[string]any, inEnv bool) any {
	if m := exprRe.FindStringSubmatch(s); m != nil && m[0] == s && m[1] == "" {
		if inEnv {
			return render(params[m[2]], true)
		}
		return params[m[2]]
	}
	out := exprRe.ReplaceAllStringFunc(s, func(e string) string {
		m := exprRe.FindStringSubmatch(e)
		if m[1] != "" {
			return e
		}
		return render(params[m[2]], inEnv)
	})
	return strings.ReplaceAll(out, `\<<`, "<<")
}

func substituteAll(v any, params map[string]any) any {
	switch t := v.(type) {
	case string:
		return substitute(t, params, false)
	case map[string]any:
		out := map[string]any{}
		for k, e := range t {
			out[k] = substituteAll(e, params)
		}
		return out
	case []any:
		var out []any
		for _, e := range t {
			out = append(out, substituteAll(e, params))
		}
		return out
	}
	return v
}

func truthy(v any) bool {
	switch t := v.(type) {
	case nil:
		return false
	case bool:
		return t
	case string:
		return t != ""
	case int:
		return t != 0
	case float64:
		return t != 0
	}
	return true
}

func (x *expander) expand(kind, name string, args map[string]any) ([]runStep, error) {
	comp := x.component(kind, name)
	if comp == nil {
		return nil, fmt.Errorf("no %s %q", kind, name)
	}
	params, err := bind(comp, args)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", kind, name, err)
	}
	steps, _ := comp["steps"].([]any)
	return x.steps(kind+"/"+name, steps, params)
}

func (x *expander) steps(origin string, steps []any, params map[string]any) ([]runStep, error) {
	var out []runStep
	for _, step := range steps {
		key, body := stepCall(step)
		raw := step.(map[string]any)[key]
		if s, ok := step.(string); ok {
			key, raw = s, nil
		}
		switch key {
		case "run":
			r := asMap(raw)
			env := map[string]string{}
			for k, v := range asMap(r["environment"]) {
				env[k] = render(substitute(fmt.Sprint(v), params, true), true)
			}
			name, _ := substitute(fmt.Sprint(r["name"]), params, false).(string)
			cmd, _ := substitute(fmt.Sprint(r["command"]), params, false).(string)
			when, _ := substitute(fmt.Sprint(r["when"]), params, false).(string)
			if when == "<nil>" || when == "" {
				when = "on_success"
			}
			out = append(out, runStep{origin: origin, name: name, env: env, command: cmd, when: when})
		case "when", "unless":
			cond := substituteAll(body["condition"], params)
			if truthy(cond) == (key == "when") {
				sub, err := x.steps(origin, asList(body["steps"]), params)
				if err != nil {
					return nil, err
				}
				out = append(out, sub...)
			}
		case "steps":
			v := substitute(fmt.Sprint(raw), params, false)
			sub, err := x.steps(origin, asList(v), params)
			if err != nil {
				return nil, err
			}
			out = append(out, sub...)
		default:
			if x.component("commands", key) == nil {
				continue // a built-in step such as restore_cache: nothing to execute here
			}
			args := asMap(substituteAll(body, params))
			sub, err := x.expand("commands", key, args)
			if err != nil {
				return nil, err
			}
			out = append(out, sub...)
		}
	}
	return out, nil
}

func asList(v any) []any { l, _ := v.([]any); return l }

func TestExpanderFollowsCircleCIRules(t *testing.T) {
	doc, err := decodeYAML([]byte(`
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
`))
	if err != nil {
		t.Fatal(err)
	}
	x := &expander{orb: asMap(doc)}
	steps, err := x.expand("commands", "outer", map[string]any{"extra": []any{map[string]any{"run": map[string]any{"name": "Extra", "command": "true"}}}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range steps {
		keys := make([]string, 0, len(s.env))
		for k, v := range s.env {
			keys = append(keys, k+"="+v)
		}
		sort.Strings(keys)
		got = append(got, fmt.Sprintf("%s|%s|%s", s.name, strings.Join(keys, ","), s.command))
	}
	want := []string{`Inner x|FLAG=1|echo "true" <<EOF`, "Extra||true"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if _, err := x.expand("commands", "inner", nil); err == nil {
		t.Error("a missing required parameter was accepted")
	}
}
