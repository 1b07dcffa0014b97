package localrunner

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
)

// evalCondition evaluates a logic statement of a `when`/`unless` step or workflow after
// parameter substitution, as CircleCI does at compile time: a literal is true unless it is
// falsy (false, null, 0, NaN, ""), and `and`, `or`, `not`, `equal` and `matches` combine them.
// A statement with no arguments is false.
func evalCondition(c any) (bool, error) {
	m, ok := c.(map[string]any)
	if !ok {
		return truthy(c), nil
	}
	if len(m) != 1 {
		return false, fmt.Errorf("condition: want one of and, or, not, equal, matches; got a map with %d keys", len(m))
	}
	for op, arg := range m {
		switch op {
		case "and", "or":
			list, ok := arg.([]any)
			if !ok {
				if arg == nil {
					return false, nil
				}
				return false, fmt.Errorf("condition %s: want a list, got %s", op, describe(arg))
			}
			if len(list) == 0 {
				return false, nil
			}
			for _, item := range list {
				v, err := evalCondition(item)
				if err != nil {
					return false, err
				}
				if op == "and" && !v {
					return false, nil
				}
				if op == "or" && v {
					return true, nil
				}
			}
			return op == "and", nil
		case "not":
			if arg == nil {
				return false, nil
			}
			v, err := evalCondition(arg)
			return !v, err
		case "equal":
			list, ok := arg.([]any)
			if !ok {
				return false, fmt.Errorf("condition equal: want a list, got %s", describe(arg))
			}
			if len(list) == 0 {
				return false, nil
			}
			for _, item := range list[1:] {
				if !sameValue(list[0], item) {
					return false, nil
				}
			}
			return true, nil
		case "matches":
			spec, ok := arg.(map[string]any)
			if !ok {
				return false, fmt.Errorf("condition matches: want a map with pattern and value, got %s", describe(arg))
			}
			pattern, ok := spec["pattern"].(string)
			if !ok {
				return false, fmt.Errorf("condition matches: pattern must be a string")
			}
			// CircleCI matches the whole value (Java's Matcher.matches), not a substring.
			re, err := regexp.Compile(`^(?:` + pattern + `)$`)
			if err != nil {
				return false, fmt.Errorf("condition matches: pattern %q: %w", pattern, err)
			}
			value, ok := scalarText(spec["value"])
			if !ok {
				return false, fmt.Errorf("condition matches: value must be a scalar, got %s", describe(spec["value"]))
			}
			return re.MatchString(value), nil
		default:
			return false, fmt.Errorf("condition: unknown logic statement %q (want and, or, not, equal, matches)", op)
		}
	}
	panic("unreachable")
}

// truthy reports whether a literal counts as true: false, null, 0, NaN and "" are false.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case int:
		return x != 0
	case float64:
		return x != 0 && !math.IsNaN(x)
	case string:
		return x != ""
	case []any:
		return len(x) > 0
	case compiledSteps:
		return len(x) > 0
	}
	return true
}

// sameValue compares two substituted values the way `equal` does: by type and value, with
// integers and numbers compared numerically.
func sameValue(a, b any) bool {
	if fa, ok := number(a); ok {
		fb, ok := number(b)
		return ok && fa == fb
	}
	switch x := a.(type) {
	case nil:
		return b == nil
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	}
	return fmt.Sprint(a) == fmt.Sprint(b)
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// scalarText is the text a scalar takes inside a string: booleans as true/false.
func scalarText(v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "", true
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case int:
		return strconv.Itoa(x), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	}
	return "", false
}
