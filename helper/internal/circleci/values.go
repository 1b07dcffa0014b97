package circleci

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
)

// Unknown stands for a value that is not known where a config is read rather than compiled:
// the linter knows the branch it probes but not the other pipeline values. It spreads: a
// string with an unknown part is unknown, and a condition that depends on one is undecided.
type Unknown struct{ Ref string }

// Truthy reports whether a literal counts as true in a logic statement: false, null, 0, NaN,
// "" and an empty list are false (CircleCI's configuration reference, "Logic statements").
func Truthy(v any) bool {
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
	}
	// A compiled list of steps (the local runner's own slice type) is true when not empty.
	if r := reflect.ValueOf(v); r.Kind() == reflect.Slice {
		return r.Len() > 0
	}
	return true
}

// SameValue compares two substituted values the way `equal` does: by type and value, with
// integers and numbers compared numerically.
func SameValue(a, b any) bool {
	if fa, ok := Number(a); ok {
		fb, ok := Number(b)
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

// Number returns an integer or a number as float64.
func Number(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// ScalarText is the text a scalar takes inside a string: booleans as true/false.
func ScalarText(v any) (string, bool) {
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

// EnvText is the text a scalar takes as an `environment:` value: a boolean becomes 1 or 0,
// not true/false (circleci-docs issue #5304, documented in reusing-config since PR #5358).
func EnvText(v any) (string, bool) {
	if b, ok := v.(bool); ok {
		if b {
			return "1", true
		}
		return "0", true
	}
	return ScalarText(v)
}

// Describe names a plain value's type (and short value) for error messages.
func Describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("string %q", x)
	case bool:
		return fmt.Sprintf("boolean %t", x)
	case int:
		return fmt.Sprintf("integer %d", x)
	case float64:
		return fmt.Sprintf("number %v", x)
	case []any:
		return "a list"
	case map[string]any:
		return "a map"
	case Unknown:
		return "unknown value << " + x.Ref + " >>"
	}
	return fmt.Sprintf("%T", v)
}
