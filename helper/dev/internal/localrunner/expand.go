package localrunner

import (
	"fmt"
	"sort"
	"strings"

	"github.com/shipgate/shipgate/helper/internal/circleci"
)

// bind checks the arguments of one invocation against the declared parameters and returns
// the parameter values: arguments, else defaults; a parameter with neither is an error, and
// so is an argument nobody declared. steps and executor arguments are compiled in the
// caller's namespace (where their names mean something); defaults in the callee's.
func (c *compiler) bind(rawSpecs any, args map[string]any, what string, callee, caller *namespace) (map[string]any, error) {
	specs, err := circleci.ParseSpecs(rawSpecs, what)
	if err != nil {
		return nil, err
	}
	declared := map[string]bool{}
	for _, sp := range specs {
		declared[sp.Name] = true
	}
	var unexpected []string
	for name := range args {
		if !declared[name] {
			unexpected = append(unexpected, name)
		}
	}
	if len(unexpected) > 0 {
		sort.Strings(unexpected)
		return nil, fmt.Errorf("%s: unexpected argument(s) %s (not declared as parameters)", what, strings.Join(unexpected, ", "))
	}
	values := make(map[string]any, len(specs))
	for _, sp := range specs {
		v, given := args[sp.Name]
		ns := caller
		if !given {
			if !sp.HasDefault {
				return nil, fmt.Errorf("%s: missing required parameter %q", what, sp.Name)
			}
			v, ns = sp.Default, callee
		}
		tv, err := c.typed(sp, v, ns, what, given)
		if err != nil {
			return nil, err
		}
		values[sp.Name] = tv
	}
	return values, nil
}

func (c *compiler) typed(sp circleci.ParamSpec, v any, ns *namespace, what string, given bool) (any, error) {
	source := "argument"
	if !given {
		source = "default"
	}
	bad := func(want string) error {
		return fmt.Errorf("%s: parameter %q (%s): %s is %s, want %s", what, sp.Name, sp.Type, source, describe(v), want)
	}
	switch sp.Type {
	case "steps":
		switch x := v.(type) {
		case compiledSteps:
			return x, nil
		case nil:
			return compiledSteps{}, nil
		case []any:
			return c.compileSteps(x, ns)
		}
		return nil, bad("a list of steps")
	case "executor":
		switch v.(type) {
		case *compiledExecutor:
			return v, nil
		case string, map[string]any:
			return c.executor(v, ns)
		}
		return nil, bad("an executor name or a map with name")
	}
	return v, sp.CheckScalar(v, what, source)
}

// compiler compiles one workflow's jobs: it carries the pipeline values and guards against
// runaway recursion (a command that invokes itself).
type compiler struct {
	p     *Pipeline
	pipe  *circleci.PipelineValues
	depth int
}

const maxDepth = 50

// invoke compiles one command invocation from ns with already-substituted arguments.
func (c *compiler) invoke(name string, args map[string]any, ns *namespace) (compiledSteps, error) {
	def, defNS, err := c.p.lookup(ns, "commands", name)
	if err != nil {
		return nil, err
	}
	c.depth++
	defer func() { c.depth-- }()
	if c.depth > maxDepth {
		return nil, fmt.Errorf("command %q: invocations nest deeper than %d (a command that calls itself?)", name, maxDepth)
	}
	what := "command " + name
	params, err := c.bind(def["parameters"], args, what, defNS, ns)
	if err != nil {
		return nil, err
	}
	sc := &circleci.Scope{What: what, Params: params, Pipeline: c.pipe, InOrb: defNS.isOrb}
	body, err := circleci.Substitute(def["steps"], sc)
	if err != nil {
		return nil, err
	}
	list, ok := body.([]any)
	if !ok {
		return nil, fmt.Errorf("%s: steps must be a list, got %s", what, describe(body))
	}
	return c.compileSteps(list, defNS)
}

// compileSteps turns a substituted list of steps into built-in steps: `when`/`unless` are
// decided now, `steps` parameters are spliced, commands are expanded.
func (c *compiler) compileSteps(list []any, ns *namespace) (compiledSteps, error) {
	out := compiledSteps{}
	for i, item := range list {
		steps, err := c.compileStep(item, ns)
		if err != nil {
			return nil, fmt.Errorf("step %d: %w", i+1, err)
		}
		out = append(out, steps...)
	}
	return out, nil
}

func (c *compiler) compileStep(item any, ns *namespace) (compiledSteps, error) {
	var key string
	var arg any
	switch x := item.(type) {
	case string:
		key = x
	case map[string]any:
		if len(x) != 1 {
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			return nil, fmt.Errorf("a step must have exactly one key, got %s (check the indentation)", strings.Join(keys, ", "))
		}
		for k, v := range x {
			key, arg = k, v
		}
	case compiledSteps:
		return x, nil
	default:
		return nil, fmt.Errorf("a step must be a name or a map, got %s", describe(item))
	}
	switch key {
	case "when", "unless":
		m, err := circleci.AsMap(arg, key)
		if err != nil {
			return nil, err
		}
		cond, ok := m["condition"]
		if !ok {
			return nil, fmt.Errorf("%s: condition is missing", key)
		}
		v, err := decide(cond)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		if v != (key == "when") {
			return compiledSteps{}, nil
		}
		return c.spliced(m["steps"], ns, key+".steps")
	case "steps":
		return c.spliced(arg, ns, "steps")
	}
	if builtinSteps[key] {
		st, err := builtinStep(key, arg)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		return compiledSteps{st}, nil
	}
	args, err := circleci.AsMap(arg, "arguments of "+key)
	if err != nil {
		return nil, err
	}
	return c.invoke(key, args, ns)
}

func (c *compiler) spliced(v any, ns *namespace, what string) (compiledSteps, error) {
	switch x := v.(type) {
	case nil:
		return compiledSteps{}, nil
	case compiledSteps:
		return x, nil
	case []any:
		return c.compileSteps(x, ns)
	}
	return nil, fmt.Errorf("%s: want a list of steps, got %s", what, describe(v))
}

// compiledExecutor is what the local runner keeps of an executor: no container is started.
type compiledExecutor struct {
	Name             string
	Kind             string // docker, machine, macos, windows
	Image            string
	Env              map[string]string
	WorkingDirectory string
	Shell            string
}

func (c *compiler) executor(v any, ns *namespace) (*compiledExecutor, error) {
	var name string
	args := map[string]any{}
	switch x := v.(type) {
	case *compiledExecutor:
		return x, nil
	case string:
		name = x
	case map[string]any:
		n, ok := x["name"].(string)
		if !ok {
			return nil, fmt.Errorf("executor: a map needs a name")
		}
		name = n
		for k, a := range x {
			if k != "name" {
				args[k] = a
			}
		}
	default:
		return nil, fmt.Errorf("executor: want a name or a map with name, got %s", describe(v))
	}
	def, defNS, err := c.p.lookup(ns, "executors", name)
	if err != nil {
		return nil, err
	}
	what := "executor " + name
	params, err := c.bind(def["parameters"], args, what, defNS, ns)
	if err != nil {
		return nil, err
	}
	sc := &circleci.Scope{What: what, Params: params, Pipeline: c.pipe, InOrb: defNS.isOrb}
	body, err := circleci.Substitute(withoutKey(def, "parameters"), sc)
	if err != nil {
		return nil, err
	}
	ex, err := machineOf(body.(map[string]any), what)
	if err != nil {
		return nil, err
	}
	ex.Name = name
	return ex, nil
}

// machineOf reads the executor keys that matter on the host from an executor definition or a
// job that declares its executor inline.
func machineOf(m map[string]any, what string) (*compiledExecutor, error) {
	ex := &compiledExecutor{Env: map[string]string{}}
	for _, kind := range []string{"docker", "machine", "macos", "windows"} {
		if v, ok := m[kind]; ok {
			ex.Kind = kind
			if list, ok := v.([]any); ok && kind == "docker" && len(list) > 0 {
				primary, _ := list[0].(map[string]any)
				ex.Image, _ = primary["image"].(string)
				// The primary container's environment applies to every step.
				env, err := environment(primary["environment"], what+" docker[0].environment")
				if err != nil {
					return nil, err
				}
				for k, v := range env {
					ex.Env[k] = v
				}
			}
			if mm, ok := v.(map[string]any); ok {
				ex.Image, _ = mm["image"].(string)
			}
		}
	}
	env, err := environment(m["environment"], what+" environment")
	if err != nil {
		return nil, err
	}
	for k, v := range env {
		ex.Env[k] = v
	}
	if wd, ok := m["working_directory"]; ok {
		s, ok := wd.(string)
		if !ok {
			return nil, fmt.Errorf("%s: working_directory must be a string", what)
		}
		ex.WorkingDirectory = circleci.Unescape(s)
	}
	if sh, ok := m["shell"]; ok {
		s, ok := sh.(string)
		if !ok {
			return nil, fmt.Errorf("%s: shell must be a string", what)
		}
		ex.Shell = circleci.Unescape(s)
	}
	return ex, nil
}

// environment converts an `environment:` map to strings. A boolean becomes 1 or 0: CircleCI
// passes a boolean parameter substituted into `environment:` as 1/0, not true/false
// (circleci-docs issue #5304, documented in reusing-config since PR #5358).
func environment(v any, what string) (map[string]string, error) {
	out := map[string]string{}
	switch x := v.(type) {
	case nil:
		return out, nil
	case map[string]any:
		for k, val := range x {
			if !circleci.EnvVarName().MatchString(k) {
				return nil, fmt.Errorf("%s: %q is not a valid environment variable name", what, k)
			}
			switch b := val.(type) {
			case bool:
				if b {
					out[k] = "1"
				} else {
					out[k] = "0"
				}
			default:
				t, ok := circleci.ScalarText(val)
				if !ok {
					return nil, fmt.Errorf("%s: %s is %s, want a scalar", what, k, describe(val))
				}
				out[k] = circleci.Unescape(t)
			}
		}
		return out, nil
	case []any:
		// The list-of-maps form: [{A: 1}, {B: 2}].
		for _, item := range x {
			m, err := environment(item, what)
			if err != nil {
				return nil, err
			}
			for k, v := range m {
				out[k] = v
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s: want a map, got %s", what, describe(v))
}

func withoutKey(m map[string]any, key string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if k != key {
			out[k] = v
		}
	}
	return out
}
