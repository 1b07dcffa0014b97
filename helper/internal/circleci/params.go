package circleci

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// ParamTypes are the parameter types of CircleCI 2.1 (configuration reference, "Parameter
// syntax").
var ParamTypes = []string{"string", "boolean", "integer", "enum", "steps", "env_var_name", "executor"}

// NotPipelineParamTypes may not be pipeline parameters (pipeline-variables: "steps, executor
// and env_var_name are not allowed").
var NotPipelineParamTypes = []string{"steps", "executor", "env_var_name"}

// EnvVarName is the POSIX shell variable name that env_var_name parameters must hold.
var EnvVarName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`) })

// ParamSpec is one declared parameter of a job, command, executor or pipeline.
type ParamSpec struct {
	Name       string
	Type       string
	Default    any
	HasDefault bool
	Enum       []any
}

// ParseSpecs reads a `parameters:` map; what names its owner in errors. The specs come sorted
// by name, so errors about them are stable.
func ParseSpecs(raw any, what string) ([]ParamSpec, error) {
	m, err := AsMap(raw, what+" parameters")
	if err != nil {
		return nil, err
	}
	specs := make([]ParamSpec, 0, len(m))
	for name, body := range m {
		b, err := AsMap(body, fmt.Sprintf("%s parameter %q", what, name))
		if err != nil {
			return nil, err
		}
		sp := ParamSpec{Name: name}
		sp.Type, _ = b["type"].(string)
		if !slices.Contains(ParamTypes, sp.Type) {
			return nil, fmt.Errorf("%s parameter %q: unknown type %q", what, name, b["type"])
		}
		sp.Default, sp.HasDefault = b["default"]
		if sp.Type == "enum" {
			list, ok := b["enum"].([]any)
			if !ok || len(list) == 0 {
				return nil, fmt.Errorf("%s parameter %q: an enum needs a non-empty enum list", what, name)
			}
			sp.Enum = list
		}
		specs = append(specs, sp)
	}
	sort.Slice(specs, func(i, j int) bool { return specs[i].Name < specs[j].Name })
	return specs, nil
}

// CheckScalar checks a value of a scalar-typed parameter (string, boolean, integer, enum,
// env_var_name); it returns nil for steps and executor, whose values only a compiler can
// judge. source is "argument" or "default".
func (sp ParamSpec) CheckScalar(v any, what, source string) error {
	bad := func(want string) error {
		return fmt.Errorf("%s: parameter %q (%s): %s is %s, want %s", what, sp.Name, sp.Type, source, Describe(v), want)
	}
	switch sp.Type {
	case "string":
		if _, ok := v.(string); !ok {
			return bad("a string")
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return bad("true or false")
		}
	case "integer":
		if _, ok := v.(int); !ok {
			return bad("an integer")
		}
	case "enum":
		if !slices.ContainsFunc(sp.Enum, func(e any) bool { return SameValue(e, v) }) {
			var allowed []string
			for _, e := range sp.Enum {
				t, _ := ScalarText(e)
				allowed = append(allowed, strconv.Quote(t))
			}
			return bad("one of " + strings.Join(allowed, ", "))
		}
	case "env_var_name":
		s, ok := v.(string)
		if !ok || !EnvVarName().MatchString(s) {
			return bad("an environment variable name ([A-Za-z_][A-Za-z0-9_]*)")
		}
	}
	return nil
}

// AsMap reads a map value; nil is an empty map.
func AsMap(v any, what string) (map[string]any, error) {
	switch m := v.(type) {
	case nil:
		return map[string]any{}, nil
	case map[string]any:
		return m, nil
	}
	return nil, fmt.Errorf("%s: want a map, got %s", what, Describe(v))
}

// UndeclaredPipelineParams lists, sorted, the pipeline parameters that strings anywhere in v
// refer to (`<< pipeline.parameters.x >>`) but declared does not hold. CircleCI refuses such
// a config when it compiles it, whichever workflow runs ("Unknown variable(s):
// pipeline.parameters.x"; seen with the packed rollback_pipeline example, issue 16 point 2).
func UndeclaredPipelineParams(v any, declared map[string]bool) []string {
	seen := map[string]bool{}
	var rec func(v any)
	rec = func(v any) {
		switch x := v.(type) {
		case string:
			for _, loc := range RefPattern().FindAllStringSubmatchIndex(x, -1) {
				if x[loc[0]] == '\\' {
					continue // escaped: literal text for the shell
				}
				for _, name := range PipelineParamRefs(x[loc[0]:loc[1]]) {
					if !declared[name] {
						seen[name] = true
					}
				}
				inner := x[loc[2]:loc[3]]
				for _, m := range exprParamRef().FindAllStringSubmatch(inner, -1) {
					if !declared[m[1]] {
						seen[m[1]] = true
					}
				}
			}
		case []any:
			for _, item := range x {
				rec(item)
			}
		case map[string]any:
			for _, item := range x {
				rec(item)
			}
		}
	}
	rec(v)
	out := make([]string, 0, len(seen))
	for name := range seen {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// exprParamRef finds pipeline parameters inside an expression (`<< pipeline.parameters.a == "x" >>`).
var exprParamRef = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`pipeline\.parameters\.([A-Za-z0-9_-]+)`) })
