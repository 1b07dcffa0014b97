package circleci

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// RefPattern finds `<< … >>` on one line: a reference such as `<< parameters.x >>` or
// `<< pipeline.git.branch >>` with any spacing, or an expression over pipeline values
// (`<< pipeline.git.branch == "main" >>`). A leading backslash (`\<<`) escapes it: it is left
// alone and becomes a literal `<<` when compilation ends. Other `<<…>>` text, such as the
// heredoc `cat <<EOF >>out`, is neither and is left as it is.
var RefPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\\?<<\s*([^<>\n]*?)\s*>>`) })

// simpleRef is a reference to one value.
var simpleRef = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(?:parameters|pipeline)\.[A-Za-z0-9_.\-]+$`) })

// exprRef tells an expression from other `<<…>>` text: it names a pipeline value.
var exprRef = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(^|[^A-Za-z0-9_.\-])pipeline\.[A-Za-z]`) })

// paramRef finds a parameter inside `<<…>>` text that is not a plain reference.
var paramRef = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(^|[^A-Za-z0-9_.\-])parameters\.[A-Za-z]`) })

// includePattern finds an `<<include(file)>>` that the orb packer should have resolved.
var includePattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(^|[^\\])<<\s*include\(`) })

// PipelineParamRef finds `<< pipeline.parameters.NAME >>`; group 1 is the name.
var PipelineParamRef = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`<<\s*pipeline\.parameters\.([A-Za-z0-9_-]+)\s*>>`) })

// Scope is what `<< … >>` can see while one component's body is substituted: its own
// parameters only (scope is lexical), pipeline values, and pipeline parameters outside orbs.
type Scope struct {
	// What names the component in errors: "command shipgate/promote".
	What string
	// Params are the component's parameter values.
	Params map[string]any
	// Pipeline holds the `pipeline.*` values of one run; nil means none are known.
	Pipeline *PipelineValues
	// InOrb is true inside an orb, where pipeline parameters are not in scope.
	InOrb bool
	// Partial makes a reference to a value that is not given resolve to Unknown instead of an
	// error: for reading a config without running it (the linter probing branches).
	Partial bool
}

// PipelineValues are the `pipeline.*` values of one pipeline run.
type PipelineValues struct {
	Values map[string]any // "git.branch" → "main", "number" → 7, …
	Params map[string]any // pipeline parameters, typed
}

// Lookup returns the value of a reference such as parameters.x, pipeline.parameters.x or
// pipeline.git.branch.
func (s *Scope) Lookup(ref string) (any, error) {
	var pv PipelineValues
	if s.Pipeline != nil {
		pv = *s.Pipeline
	}
	missing := func(format string, args ...any) (any, error) {
		if s.Partial {
			return Unknown{Ref: ref}, nil
		}
		return nil, fmt.Errorf(format, args...)
	}
	if name, ok := strings.CutPrefix(ref, "parameters."); ok {
		v, ok := s.Params[name]
		if !ok {
			return missing("%s: parameter %q is referenced but not declared", s.What, name)
		}
		return v, nil
	}
	if name, ok := strings.CutPrefix(ref, "pipeline.parameters."); ok {
		if s.InOrb {
			return nil, fmt.Errorf("%s: pipeline parameters are not in scope inside an orb (<< pipeline.parameters.%s >>)", s.What, name)
		}
		v, ok := pv.Params[name]
		if !ok {
			return missing("%s: pipeline parameter %q is referenced but not declared", s.What, name)
		}
		return v, nil
	}
	name := strings.TrimPrefix(ref, "pipeline.")
	v, ok := pv.Values[name]
	if !ok {
		return missing("%s: unknown pipeline value << %s >>", s.What, ref)
	}
	return v, nil
}

// Substitute replaces references in every string of v. A string that is exactly one
// reference takes the referenced value with its type (a boolean stays a boolean, steps stay
// steps); a reference inside longer text takes the value's text.
func Substitute(v any, s *Scope) (any, error) {
	switch x := v.(type) {
	case string:
		return SubstituteString(x, s)
	case []any:
		out := make([]any, len(x))
		for i, item := range x {
			r, err := Substitute(item, s)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, item := range x {
			r, err := Substitute(item, s)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	}
	return v, nil
}

// SubstituteString substitutes the references in one string.
func SubstituteString(text string, s *Scope) (any, error) {
	if includePattern().MatchString(text) {
		return nil, fmt.Errorf("%s: unresolved <<include(…)>>: pack the orb source first", s.What)
	}
	locs := RefPattern().FindAllStringSubmatchIndex(text, -1)
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
		if u, unknown := v.(Unknown); unknown {
			return u, nil
		}
		t, ok := ScalarText(v)
		if !ok {
			return nil, fmt.Errorf("%s: << %s >> holds %s, which cannot be part of a string", s.What, inner, Describe(v))
		}
		b.WriteString(t)
	}
	b.WriteString(text[last:])
	return b.String(), nil
}

// resolve evaluates what stands between `<<` and `>>`: a reference, an expression over
// pipeline values, or (ok false) text that is neither.
func (s *Scope) resolve(inner string) (any, bool, error) {
	if simpleRef().MatchString(inner) {
		v, err := s.Lookup(inner)
		return v, true, err
	}
	if exprRef().MatchString(inner) {
		v, err := EvalExpression(inner, s)
		return v, true, err
	}
	if paramRef().MatchString(inner) {
		if s.Partial {
			return Unknown{Ref: inner}, true, nil
		}
		return nil, false, fmt.Errorf("%s: << %s >>: only expressions over pipeline values are evaluated", s.What, inner)
	}
	return nil, false, nil
}

// Unescape turns every `\<<` into `<<`: CircleCI does this once, after all substitution.
func Unescape(text string) string {
	return strings.ReplaceAll(text, `\<<`, `<<`)
}

// IsWholeRef reports whether text (trimmed) is exactly one `<< … >>` reference, which keeps
// the referenced value's type; any other text in a `when:` is an expression.
func IsWholeRef(text string) bool {
	trimmed := strings.TrimSpace(text)
	loc := RefPattern().FindStringIndex(trimmed)
	return loc != nil && loc[0] == 0 && loc[1] == len(trimmed)
}

// PipelineParamRefs lists the pipeline parameters text refers to, in order.
func PipelineParamRefs(text string) []string {
	var out []string
	for _, m := range PipelineParamRef().FindAllStringSubmatch(text, -1) {
		out = append(out, m[1])
	}
	return out
}
