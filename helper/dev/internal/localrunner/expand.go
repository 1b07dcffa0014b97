package localrunner

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// refPattern finds `<< … >>` on one line: a reference such as `<< parameters.x >>` or
// `<< pipeline.git.branch >>` with any spacing, or an expression over pipeline values
// (`<< pipeline.git.branch == "main" >>`). A leading backslash (`\<<`) escapes it: it is left
// alone and becomes a literal `<<` when compilation ends. Other `<<…>>` text, such as the
// heredoc `cat <<EOF >>out`, is neither and is left as it is.
var refPattern = regexp.MustCompile(`\\?<<\s*([^<>\n]*?)\s*>>`)

// simpleRef is a reference to one value.
var simpleRef = regexp.MustCompile(`^(?:parameters|pipeline)\.[A-Za-z0-9_.\-]+$`)

// exprRef tells an expression from other `<<…>>` text: it names a pipeline value.
var exprRef = regexp.MustCompile(`(^|[^A-Za-z0-9_.\-])pipeline\.[A-Za-z]`)

// paramRef finds a parameter inside `<<…>>` text that is not a plain reference.
var paramRef = regexp.MustCompile(`(^|[^A-Za-z0-9_.\-])parameters\.[A-Za-z]`)

// includePattern finds an `<<include(file)>>` that the orb packer should have resolved.
var includePattern = regexp.MustCompile(`(^|[^\\])<<\s*include\(`)

// envVarName is the POSIX shell variable name that env_var_name parameters must hold.
var envVarName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// scope is what `<< … >>` can see while one component's body is substituted: its own
// parameters only (scope is lexical), pipeline values, and pipeline parameters outside orbs.
type scope struct {
	what   string // "command shipgate/promote", for errors
	params map[string]any
	pipe   *pipelineValues
	inOrb  bool
}

// pipelineValues are the `pipeline.*` values of one pipeline run.
type pipelineValues struct {
	values map[string]any // "git.branch" → "main", "number" → 7, …
	params map[string]any // pipeline parameters, typed
}

func (s *scope) lookup(ref string) (any, error) {
	if name, ok := strings.CutPrefix(ref, "parameters."); ok {
		v, ok := s.params[name]
		if !ok {
			return nil, fmt.Errorf("%s: parameter %q is referenced but not declared", s.what, name)
		}
		return v, nil
	}
	if name, ok := strings.CutPrefix(ref, "pipeline.parameters."); ok {
		if s.inOrb {
			return nil, fmt.Errorf("%s: pipeline parameters are not in scope inside an orb (<< pipeline.parameters.%s >>)", s.what, name)
		}
		v, ok := s.pipe.params[name]
		if !ok {
			return nil, fmt.Errorf("%s: pipeline parameter %q is referenced but not declared", s.what, name)
		}
		return v, nil
	}
	name := strings.TrimPrefix(ref, "pipeline.")
	v, ok := s.pipe.values[name]
	if !ok {
		return nil, fmt.Errorf("%s: unknown pipeline value << %s >>", s.what, ref)
	}
	return v, nil
}

// substitute replaces references in every string of v. A string that is exactly one
// reference takes the referenced value with its type (a boolean stays a boolean, steps stay
// steps); a reference inside longer text takes the value's text.
func substitute(v any, s *scope) (any, error) {
	switch x := v.(type) {
	case string:
		return substituteString(x, s)
	case []any:
		out := make([]any, len(x))
		for i, item := range x {
			r, err := substitute(item, s)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, item := range x {
			r, err := substitute(item, s)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	}
	return v, nil
}

func substituteString(text string, s *scope) (any, error) {
	if includePattern.MatchString(text) {
		return nil, fmt.Errorf("%s: unresolved <<include(…)>>: pack the orb source first", s.what)
	}
	locs := refPattern.FindAllStringSubmatchIndex(text, -1)
	if len(locs) == 0 {
		return text, nil
	}
	if len(locs) == 1 && locs[0][0] == 0 && locs[0][1] == len(text) && text[0] != '\\' {
		v, ok, err := s.resolve(text[locs[0][2]:locs[0][3]])
		if err != nil || ok {
			return v, err
		}
		return text, nil
	}
	var b strings.Builder
	last := 0
	for _, loc := range locs {
		b.WriteString(text[last:loc[0]])
		last = loc[1]
		if text[loc[0]] == '\\' {
			b.WriteString(text[loc[0]:loc[1]])
			continue
		}
		inner := text[loc[2]:loc[3]]
		v, ok, err := s.resolve(inner)
		if err != nil {
			return nil, err
		}
		if !ok {
			b.WriteString(text[loc[0]:loc[1]])
			continue
		}
		t, ok := scalarText(v)
		if !ok {
			return nil, fmt.Errorf("%s: << %s >> holds %s, which cannot be part of a string", s.what, inner, describe(v))
		}
		b.WriteString(t)
	}
	b.WriteString(text[last:])
	return b.String(), nil
}

// resolve evaluates what stands between `<<` and `>>`: a reference, an expression over
// pipeline values, or (ok false) text that is neither.
func (s *scope) resolve(inner string) (any, bool, error) {
	if simpleRef.MatchString(inner) {
		v, err := s.lookup(inner)
		return v, true, err
	}
	if exprRef.MatchString(inner) {
		v, err := evalExpression(inner, s)
		return v, true, err
	}
	if paramRef.MatchString(inner) {
		return nil, false, fmt.Errorf("%s: << %s >>: the local runner evaluates expressions over pipeline values only", s.what, inner)
	}
	return nil, false, nil
}

// unescape turns every `\<<` into `<<`: CircleCI does this once, after all substitution.
func unescape(text string) string {
	return strings.ReplaceAll(text, `\<<`, `<<`)
}

// paramSpec is one declared parameter of a job, command or executor.
type paramSpec struct {
	name       string
	typ        string
	def        any
	hasDefault bool
	enum       []any
}

func parseSpecs(raw any, what string) ([]paramSpec, error) {
	m, err := asMap(raw, what+" parameters")
	if err != nil {
		return nil, err
	}
	specs := make([]paramSpec, 0, len(m))
	for name, body := range m {
		b, err := asMap(body, fmt.Sprintf("%s parameter %q", what, name))
		if err != nil {
			return nil, err
		}
		sp := paramSpec{name: name}
		sp.typ, _ = b["type"].(string)
		switch sp.typ {
		case "string", "boolean", "integer", "enum", "steps", "env_var_name", "executor":
		default:
			return nil, fmt.Errorf("%s parameter %q: unknown type %q", what, name, b["type"])
		}
		sp.def, sp.hasDefault = b["default"]
		if sp.typ == "enum" {
			list, ok := b["enum"].([]any)
			if !ok || len(list) == 0 {
				return nil, fmt.Errorf("%s parameter %q: an enum needs a non-empty enum list", what, name)
			}
			sp.enum = list
		}
		specs = append(specs, sp)
	}
	sort.Slice(specs, func(i, j int) bool { return specs[i].name < specs[j].name })
	return specs, nil
}

// bind checks the arguments of one invocation against the declared parameters and returns
// the parameter values: arguments, else defaults; a parameter with neither is an error, and
// so is an argument nobody declared. steps and executor arguments are compiled in the
// caller's namespace (where their names mean something); defaults in the callee's.
func (c *compiler) bind(rawSpecs any, args map[string]any, what string, callee, caller *namespace) (map[string]any, error) {
	specs, err := parseSpecs(rawSpecs, what)
	if err != nil {
		return nil, err
	}
	declared := map[string]bool{}
	for _, sp := range specs {
		declared[sp.name] = true
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
		v, given := args[sp.name]
		ns := caller
		if !given {
			if !sp.hasDefault {
				return nil, fmt.Errorf("%s: missing required parameter %q", what, sp.name)
			}
			v, ns = sp.def, callee
		}
		tv, err := c.typed(sp, v, ns, what, given)
		if err != nil {
			return nil, err
		}
		values[sp.name] = tv
	}
	return values, nil
}

func (c *compiler) typed(sp paramSpec, v any, ns *namespace, what string, given bool) (any, error) {
	source := "argument"
	if !given {
		source = "default"
	}
	bad := func(want string) error {
		return fmt.Errorf("%s: parameter %q (%s): %s is %s, want %s", what, sp.name, sp.typ, source, describe(v), want)
	}
	switch sp.typ {
	case "string":
		if _, ok := v.(string); !ok {
			return nil, bad("a string")
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return nil, bad("true or false")
		}
	case "integer":
		if _, ok := v.(int); !ok {
			return nil, bad("an integer")
		}
	case "enum":
		if !slices.ContainsFunc(sp.enum, func(e any) bool { return sameValue(e, v) }) {
			var allowed []string
			for _, e := range sp.enum {
				t, _ := scalarText(e)
				allowed = append(allowed, strconv.Quote(t))
			}
			return nil, bad("one of " + strings.Join(allowed, ", "))
		}
	case "env_var_name":
		s, ok := v.(string)
		if !ok || !envVarName.MatchString(s) {
			return nil, bad("an environment variable name ([A-Za-z_][A-Za-z0-9_]*)")
		}
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
	return v, nil
}

// compiler compiles one workflow's jobs: it carries the pipeline values and guards against
// runaway recursion (a command that invokes itself).
type compiler struct {
	p     *Pipeline
	pipe  *pipelineValues
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
	sc := &scope{what: what, params: params, pipe: c.pipe, inOrb: defNS.isOrb}
	body, err := substitute(def["steps"], sc)
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
		m, err := asMap(arg, key)
		if err != nil {
			return nil, err
		}
		cond, ok := m["condition"]
		if !ok {
			return nil, fmt.Errorf("%s: condition is missing", key)
		}
		v, err := evalCondition(cond)
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
	args, err := asMap(arg, "arguments of "+key)
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
	sc := &scope{what: what, params: params, pipe: c.pipe, inOrb: defNS.isOrb}
	body, err := substitute(withoutKey(def, "parameters"), sc)
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
		ex.WorkingDirectory = unescape(s)
	}
	if sh, ok := m["shell"]; ok {
		s, ok := sh.(string)
		if !ok {
			return nil, fmt.Errorf("%s: shell must be a string", what)
		}
		ex.Shell = unescape(s)
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
			if !envVarName.MatchString(k) {
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
				t, ok := scalarText(val)
				if !ok {
					return nil, fmt.Errorf("%s: %s is %s, want a scalar", what, k, describe(val))
				}
				out[k] = unescape(t)
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
