package orbcheck

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/shipgate/shipgate/helper/dev/internal/orbpack"
	"github.com/shipgate/shipgate/helper/internal/circleci"
)

// Semantic checks: what CircleCI rejects (or silently mishandles) but its JSON schema lets
// through. Rule names are short ids so a report can be grepped.

var (
	paramRef          = regexp.MustCompile(`(^|[^\\])<<\s*parameters\.([A-Za-z0-9_-]+)\s*>>`)
	pipelineRef       = regexp.MustCompile(`(^|[^\\])<<\s*pipeline\.parameters\.([A-Za-z0-9_-]+)\s*>>`)
	anyOpen           = regexp.MustCompile(`(^|[^\\])<<`)
	validExpr         = regexp.MustCompile(`^<<\s*(parameters|pipeline)\.[A-Za-z0-9_.-]+\s*>>|^<<\s*include\([-\w/.]+\)\s*>>`)
	workflowEntryKeys = map[string]bool{
		"name": true, "context": true, "requires": true, "filters": true, "matrix": true, "type": true,
		"pre-steps": true, "post-steps": true, "serial-group": true, "override-with": true,
	}
)

type checker struct {
	file     string
	problems []Problem
}

func (c *checker) add(path []string, rule, format string, args ...any) {
	c.problems = append(c.problems, Problem{File: c.file, Path: pathString(path), Rule: rule, Message: fmt.Sprintf(format, args...)})
}

func asMap(v any) map[string]any { m, _ := v.(map[string]any); return m }

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func at(path []string, more ...string) []string {
	return append(append([]string(nil), path...), more...)
}

// CheckOrb runs the semantic checks on a packed orb.
func CheckOrb(file string, doc any) []Problem {
	c := &checker{file: file}
	m := asMap(doc)
	if m == nil {
		c.add(nil, "orb", "not a mapping")
		return c.problems
	}
	c.topKeys(m, circleci.OrbKeys)
	commands, jobs, executors := asMap(m["commands"]), asMap(m["jobs"]), asMap(m["executors"])
	lookup := localLookup(commands)
	for _, kind := range []string{"commands", "jobs", "executors"} {
		for _, name := range sortedKeys(asMap(m[kind])) {
			p := []string{kind, name}
			comp := asMap(asMap(m[kind])[name])
			if comp == nil {
				c.add(p, "component", "not a mapping")
				continue
			}
			c.component(p, comp, false)
			c.invocations(p, comp, lookup)
			if kind == "jobs" {
				if e, ok := comp["executor"].(string); ok && !strings.Contains(e, "/") && !isParamRef(e) && executors[e] == nil {
					c.add(at(p, "executor"), "executor", "executor %q is not defined in this orb", e)
				}
			}
		}
	}
	_ = jobs
	return c.problems
}

// CheckConfig runs the semantic checks on a CircleCI config (or an example's usage).
func CheckConfig(file string, doc any) []Problem {
	c := &checker{file: file}
	m := asMap(doc)
	if m == nil {
		c.add(nil, "config", "not a mapping")
		return c.problems
	}
	c.topKeys(m, circleci.ConfigKeys)
	c.params([]string{"parameters"}, asMap(m["parameters"]))
	declared := asMap(m["parameters"])
	c.walkStrings(nil, m, func(path []string, s string) {
		for _, ref := range pipelineRef.FindAllStringSubmatch(s, -1) {
			if _, ok := declared[ref[2]]; !ok {
				c.add(path, "pipeline-parameter", "pipeline.parameters.%s is not declared under parameters:", ref[2])
			}
		}
	})
	commands, jobs := asMap(m["commands"]), asMap(m["jobs"])
	lookup := localLookup(commands)
	for _, kind := range []string{"commands", "jobs", "executors"} {
		for _, name := range sortedKeys(asMap(m[kind])) {
			comp := asMap(asMap(m[kind])[name])
			p := []string{kind, name}
			if comp == nil {
				c.add(p, "component", "not a mapping")
				continue
			}
			c.component(p, comp, true)
			c.invocations(p, comp, lookup)
		}
	}
	orbs := asMap(m["orbs"])
	workflows := asMap(m["workflows"])
	for _, wname := range sortedKeys(workflows) {
		if wname == "version" {
			continue
		}
		c.workflow([]string{"workflows", wname}, asMap(workflows[wname]), jobs, orbs)
	}
	return c.problems
}

func (c *checker) topKeys(m map[string]any, allowed []string) {
	ok := map[string]bool{}
	for _, k := range allowed {
		ok[k] = true
	}
	for _, k := range sortedKeys(m) {
		if !ok[k] {
			c.add([]string{k}, "top-level", "unknown top-level key %q (allowed: %s)", k, strings.Join(allowed, ", "))
		}
	}
}

func isParamRef(s string) bool { return paramRefOnly.MatchString(s) }

// component checks one command, job or executor: its parameter definitions, that it refers
// only to its own parameters (scope is lexical), and that every `<<` is an expression or
// escaped.
func (c *checker) component(path []string, comp map[string]any, inConfig bool) {
	params := asMap(comp["parameters"])
	c.params(at(path, "parameters"), params)
	for _, k := range sortedKeys(comp) {
		if k == "parameters" || k == "description" {
			continue
		}
		c.walkStrings(at(path, k), comp[k], func(p []string, s string) {
			for _, ref := range paramRef.FindAllStringSubmatch(s, -1) {
				if _, ok := params[ref[2]]; !ok {
					c.add(p, "undeclared-parameter", "parameters.%s is not a parameter of %s", ref[2], pathString(path))
				}
			}
			if !inConfig {
				for _, ref := range pipelineRef.FindAllStringSubmatch(s, -1) {
					c.add(p, "pipeline-parameter", "pipeline.parameters.%s is not in scope inside an orb", ref[2])
				}
			}
			for _, loc := range anyOpen.FindAllStringIndex(s, -1) {
				start := loc[0]
				if s[start] != '<' {
					start++
				}
				if !validExpr.MatchString(s[start:]) {
					c.add(p, "unescaped-<<", "`<<` that is no parameter expression (a heredoc?): write \\<< or move the script to src/scripts")
					break
				}
			}
		})
	}
}

// params checks parameter declarations by the model's rules (circleci.ParamSpec): a known
// type, an enum with a list, and a default of the declared type. Unlike a compile, it reports
// every problem, each at its path.
func (c *checker) params(path []string, params map[string]any) {
	for _, name := range sortedKeys(params) {
		p := at(path, name)
		def := asMap(params[name])
		if def == nil {
			c.add(p, "parameter", "not a mapping")
			continue
		}
		typ, _ := def["type"].(string)
		if !slices.Contains(circleci.ParamTypes, typ) {
			c.add(p, "parameter-type", "type %v is not one of %s", def["type"], strings.Join(circleci.ParamTypes, ", "))
			continue
		}
		sp := circleci.ParamSpec{Name: name, Type: typ}
		sp.Default, sp.HasDefault = def["default"]
		if typ == "enum" {
			sp.Enum, _ = def["enum"].([]any)
			if len(sp.Enum) == 0 {
				c.add(p, "enum", "an enum parameter needs a non-empty enum: list")
				continue
			}
		}
		if !sp.HasDefault {
			continue
		}
		switch typ {
		case "enum":
			if err := sp.CheckScalar(sp.Default, "parameter "+name, "default"); err != nil {
				c.add(p, "enum-default", "%v", err)
			}
		case "executor":
			if _, ok := sp.Default.(string); !ok {
				if _, isMap := sp.Default.(map[string]any); !isMap {
					c.add(p, "parameter-default", "executor default %v is not an executor name or a map with name", sp.Default)
				}
			}
		case "steps":
			if _, ok := sp.Default.([]any); !ok {
				c.add(p, "parameter-default", "steps default must be a list")
			}
		default:
			if err := sp.CheckScalar(sp.Default, "parameter "+name, "default"); err != nil {
				c.add(p, "parameter-default", "%v (quote a string)", err)
			}
		}
	}
}

func (c *checker) walkStrings(path []string, v any, f func([]string, string)) {
	switch t := v.(type) {
	case string:
		f(path, t)
	case map[string]any:
		for _, k := range sortedKeys(t) {
			c.walkStrings(at(path, k), t[k], f)
		}
	case []any:
		for i, e := range t {
			c.walkStrings(at(path, fmt.Sprintf("[%d]", i)), e, f)
		}
	}
}

// lookupFunc says, for a step or job name, which parameters it takes.
type lookupFunc func(name string) (params map[string]any, known bool)

func localLookup(commands map[string]any) lookupFunc {
	return func(name string) (map[string]any, bool) {
		if circleci.BuiltinSteps[name] || name == "steps" || strings.Contains(name, "/") {
			return nil, false
		}
		cmd := asMap(commands[name])
		if cmd == nil {
			return nil, true
		}
		p := asMap(cmd["parameters"])
		if p == nil {
			p = map[string]any{}
		}
		return p, true
	}
}

// invocations checks every step list below v (steps, pre-steps, post-steps, also inside
// when/unless and steps parameters) for calls of commands lookup knows: the command must
// exist, given parameters must be declared and required ones given.
func (c *checker) invocations(path []string, v any, lookup lookupFunc) {
	switch t := v.(type) {
	case []any:
		for i, e := range t {
			c.invocations(at(path, fmt.Sprintf("[%d]", i)), e, lookup)
		}
	case map[string]any:
		for _, k := range sortedKeys(t) {
			if list, ok := t[k].([]any); ok && (k == "steps" || k == "pre-steps" || k == "post-steps") {
				c.stepList(at(path, k), list, lookup)
				continue
			}
			c.invocations(at(path, k), t[k], lookup)
		}
	}
}

func (c *checker) stepList(path []string, list []any, lookup lookupFunc) {
	for i, step := range list {
		p := at(path, fmt.Sprintf("[%d]", i))
		if name, args := stepCall(step); name != "" {
			c.call(p, name, args, lookup, "command")
		}
		c.invocations(p, step, lookup)
	}
}

func stepCall(step any) (string, map[string]any) {
	switch s := step.(type) {
	case string:
		return s, map[string]any{}
	case map[string]any:
		if len(s) == 1 {
			for k, v := range s {
				args := asMap(v)
				if args == nil {
					args = map[string]any{}
				}
				return k, args
			}
		}
	}
	return "", nil
}

func (c *checker) call(path []string, name string, args map[string]any, lookup lookupFunc, kind string) {
	params, known := lookup(name)
	if !known {
		return
	}
	if params == nil {
		c.add(path, "unknown-"+kind, "%s %q is not defined", kind, name)
		return
	}
	for _, k := range sortedKeys(args) {
		if kind == "job" && workflowEntryKeys[k] {
			continue
		}
		if _, ok := params[k]; !ok {
			c.add(at(path, k), "unknown-parameter", "%s %q has no parameter %q", kind, name, k)
		}
	}
	for _, k := range sortedKeys(params) {
		if _, hasDefault := asMap(params[k])["default"]; hasDefault {
			continue
		}
		if _, given := args[k]; !given {
			c.add(path, "missing-parameter", "%s %q needs parameter %q (it has no default)", kind, name, k)
		}
	}
}

func (c *checker) workflow(path []string, wf map[string]any, jobs, orbs map[string]any) {
	list, _ := wf["jobs"].([]any)
	if wf == nil || list == nil {
		c.add(path, "workflow", "a workflow needs a jobs: list")
		return
	}
	names := map[string]bool{}
	type entry struct {
		path []string
		job  string
		conf map[string]any
	}
	var entries []entry
	for i, e := range list {
		p := at(path, "jobs", fmt.Sprintf("[%d]", i))
		job, conf := stepCall(e)
		if job == "" {
			c.add(p, "workflow-job", "a workflow job is a name or a one-key mapping")
			continue
		}
		name := job
		if n, ok := conf["name"].(string); ok {
			name = n
		}
		if names[name] {
			c.add(p, "workflow-job", "two jobs named %q in one workflow: give one a name:", name)
		}
		names[name] = true
		entries = append(entries, entry{p, job, conf})
	}
	for _, e := range entries {
		if t, ok := e.conf["type"]; ok {
			if t != "approval" {
				c.add(at(e.path, "type"), "approval", "type %v: the only workflow job type is approval", t)
			} else if jobs[e.job] != nil || strings.Contains(e.job, "/") {
				c.add(e.path, "approval", "approval job %q must not be a job defined under jobs: (or an orb job); give the hold its own name", e.job)
			}
		} else if alias, _, isOrb := strings.Cut(e.job, "/"); isOrb {
			if orbs[alias] == nil {
				c.add(e.path, "unknown-job", "orb %q is not declared under orbs:", alias)
			}
		} else if jobs[e.job] == nil {
			c.add(e.path, "unknown-job", "job %q is not defined under jobs:", e.job)
		} else {
			jp := asMap(asMap(jobs[e.job])["parameters"])
			if jp == nil {
				jp = map[string]any{}
			}
			c.call(e.path, e.job, e.conf, func(string) (map[string]any, bool) { return jp, true }, "job")
		}
		if f := asMap(e.conf["filters"]); f != nil {
			for _, k := range sortedKeys(f) {
				if k != "branches" && k != "tags" {
					c.add(at(e.path, "filters", k), "filters", "unknown filter %q (branches or tags)", k)
				}
			}
		}
		reqs, _ := e.conf["requires"].([]any)
		for i, r := range reqs {
			target, _ := stepCall(r)
			if target != "" && !names[target] {
				c.add(at(e.path, "requires", fmt.Sprintf("[%d]", i)), "requires", "requires %q, which is not a job of this workflow", target)
			}
		}
	}
}

// loadOrbSource packs the orb source so its commands and jobs can be looked up.
func loadOrbSource(src string) (map[string]any, error) {
	packed, err := orbpack.Pack(src)
	if err != nil {
		return nil, err
	}
	doc, err := circleci.Decode(packed)
	if err != nil {
		return nil, err
	}
	return asMap(doc), nil
}

// CheckOrbUses checks every use of the orb's jobs, commands and executors in a config
// (an example's usage): names exist, parameters are declared, required ones are given.
func CheckOrbUses(file string, usage any, orb map[string]any) []Problem {
	c := &checker{file: file}
	m := asMap(usage)
	alias := ""
	for _, k := range sortedKeys(asMap(m["orbs"])) {
		if s, ok := asMap(m["orbs"])[k].(string); ok && strings.HasPrefix(s, OrbName+"@") {
			alias = k
		}
	}
	if alias == "" {
		c.add([]string{"orbs"}, "orb-use", "the example does not import %s", OrbName)
		return c.problems
	}
	lookupIn := func(kind string) lookupFunc {
		return func(name string) (map[string]any, bool) {
			local, ok := strings.CutPrefix(name, alias+"/")
			if !ok {
				return nil, false
			}
			comp := asMap(asMap(orb[kind])[local])
			if comp == nil {
				return nil, true
			}
			p := asMap(comp["parameters"])
			if p == nil {
				p = map[string]any{}
			}
			return p, true
		}
	}
	c.invocations(nil, m, lookupIn("commands"))
	for _, wname := range sortedKeys(asMap(m["workflows"])) {
		list, _ := asMap(asMap(m["workflows"])[wname])["jobs"].([]any)
		for i, e := range list {
			job, conf := stepCall(e)
			if _, isApproval := conf["type"]; isApproval {
				continue
			}
			c.call([]string{"workflows", wname, "jobs", fmt.Sprintf("[%d]", i)}, job, conf, lookupIn("jobs"), "job")
		}
	}
	var executorUse func(path []string, v any)
	executorUse = func(path []string, v any) {
		switch t := v.(type) {
		case map[string]any:
			for _, k := range sortedKeys(t) {
				if k == "executor" {
					name, args := stepCall(t[k])
					if n, ok := asMap(t[k])["name"].(string); ok {
						name, args = n, asMap(t[k])
						delete(args, "name")
					}
					if s, ok := t[k].(string); ok {
						name, args = s, map[string]any{}
					}
					c.call(at(path, k), name, args, lookupIn("executors"), "executor")
					continue
				}
				executorUse(at(path, k), t[k])
			}
		case []any:
			for i, e := range t {
				executorUse(at(path, fmt.Sprintf("[%d]", i)), e)
			}
		}
	}
	executorUse(nil, m)
	return c.problems
}

// CheckIncludedScripts reports parameter expressions inside scripts that src includes: the
// packer escapes every `<<` there, so CircleCI never substitutes them (pass values through
// environment: instead).
func CheckIncludedScripts(src string) ([]Problem, error) {
	included, err := orbpack.Included(os.DirFS(src))
	if err != nil {
		return nil, err
	}
	expr := regexp.MustCompile(`<<\s*(parameters|pipeline)\.`)
	var problems []Problem
	for _, rel := range included {
		data, err := os.ReadFile(filepath.Join(src, rel))
		if err != nil {
			return nil, err
		}
		for i, line := range strings.Split(string(data), "\n") {
			if expr.MatchString(line) {
				problems = append(problems, Problem{File: filepath.Join(src, rel), Path: fmt.Sprintf("line %d", i+1), Rule: "included-<<",
					Message: "parameter expression in an included script is escaped by packing and never substituted; pass the value through environment:"})
			}
		}
	}
	return problems, nil
}
