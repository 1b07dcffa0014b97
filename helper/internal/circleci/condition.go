package circleci

import (
	"fmt"
	"regexp"
)

// EvalCondition evaluates a logic statement of a `when`/`unless` step or workflow after
// parameter substitution, as CircleCI does at compile time: a literal is true unless it is
// falsy (false, null, 0, NaN, ""), and `and`, `or`, `not`, `equal` and `matches` combine them.
// A statement with no arguments is false.
//
// known is false when the result depends on an Unknown value; `and` with a known false
// operand and `or` with a known true one are still decided.
func EvalCondition(c any) (result, known bool, err error) {
	return evalCondition(c, 0)
}

// maxConditionDepth bounds nested statements (a hostile config must not exhaust the stack).
const maxConditionDepth = 64

func evalCondition(c any, depth int) (bool, bool, error) {
	if depth > maxConditionDepth {
		return false, false, fmt.Errorf("condition: nested deeper than %d", maxConditionDepth)
	}
	if _, unknown := c.(Unknown); unknown {
		return false, false, nil
	}
	m, ok := c.(map[string]any)
	if !ok {
		return Truthy(c), true, nil
	}
	if len(m) != 1 {
		return false, false, fmt.Errorf("condition: want one of and, or, not, equal, matches; got a map with %d keys", len(m))
	}
	for op, arg := range m {
		switch op {
		case "and", "or":
			return evalAndOr(op, arg, depth)
		case "not":
			if arg == nil {
				return false, true, nil
			}
			v, known, err := evalCondition(arg, depth+1)
			return !v, known, err
		case "equal":
			return evalEqual(arg)
		case "matches":
			return evalMatches(arg)
		default:
			return false, false, fmt.Errorf("condition: unknown logic statement %q (want and, or, not, equal, matches)", op)
		}
	}
	panic("unreachable")
}

func evalAndOr(op string, arg any, depth int) (bool, bool, error) {
	list, ok := arg.([]any)
	if !ok {
		if arg == nil {
			return false, true, nil
		}
		return false, false, fmt.Errorf("condition %s: want a list, got %s", op, Describe(arg))
	}
	if len(list) == 0 {
		return false, true, nil
	}
	allKnown := true
	for _, item := range list {
		v, known, err := evalCondition(item, depth+1)
		if err != nil {
			return false, false, err
		}
		if !known {
			allKnown = false
			continue
		}
		if op == "and" && !v {
			return false, true, nil
		}
		if op == "or" && v {
			return true, true, nil
		}
	}
	return op == "and", allKnown, nil
}

// evalEqual: every item equals the first; an empty list is false.
func evalEqual(arg any) (bool, bool, error) {
	list, ok := arg.([]any)
	if !ok {
		return false, false, fmt.Errorf("condition equal: want a list, got %s", Describe(arg))
	}
	for _, item := range list {
		if _, unknown := item.(Unknown); unknown {
			return false, false, nil
		}
	}
	for _, item := range list[min(1, len(list)):] {
		if !SameValue(list[0], item) {
			return false, true, nil
		}
	}
	return len(list) > 0, true, nil
}

func evalMatches(arg any) (bool, bool, error) {
	spec, ok := arg.(map[string]any)
	if !ok {
		return false, false, fmt.Errorf("condition matches: want a map with pattern and value, got %s", Describe(arg))
	}
	pattern, ok := spec["pattern"].(string)
	if !ok {
		return false, false, fmt.Errorf("condition matches: pattern must be a string")
	}
	// CircleCI matches the whole value (Java's Matcher.matches), not a substring.
	re, err := regexp.Compile(`^(?:` + pattern + `)$`)
	if err != nil {
		return false, false, fmt.Errorf("condition matches: pattern %q: %w", pattern, err)
	}
	if _, unknown := spec["value"].(Unknown); unknown {
		return false, false, nil
	}
	value, ok := ScalarText(spec["value"])
	if !ok {
		return false, false, fmt.Errorf("condition matches: value must be a scalar, got %s", Describe(spec["value"]))
	}
	return re.MatchString(value), true, nil
}
