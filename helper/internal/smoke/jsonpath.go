package smoke

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"reflect"
	"strconv"
	"strings"
)

// Path is a JSON path in a small jq-like syntax:
//
//	.                   the whole document
//	.build.version      object member "version" of member "build"
//	.items[0].name      member "name" of the first element of "items"
//	.items[-1]          the last element
//	.["odd key"].x      a member whose name is not a plain identifier, as a JSON string
//
// Plain member names are letters, digits, '_' and '-'. No wildcards, filters or slices: a
// smoke check names one value.
type Path struct {
	steps []pathStep
}

type pathStep struct {
	key     string
	index   int
	isIndex bool
}

// maxPathSteps bounds a path's length; no real health document nests deeper.
const maxPathSteps = 64

// ParsePath parses a JSON path (see Path).
func ParsePath(text string) (Path, error) {
	fail := func(format string, args ...any) (Path, error) {
		return Path{}, fmt.Errorf("JSON path %q: %s", text, fmt.Sprintf(format, args...))
	}
	if text == "" || text[0] != '.' {
		return fail("must start with '.' (for example .build.version or .items[0].name)")
	}
	var p Path
	i := 1
	if i == len(text) {
		return p, nil
	}
	expectName := true // right after a '.': a member name or a bracket follows
	for i < len(text) {
		if len(p.steps) >= maxPathSteps {
			return fail("more than %d steps", maxPathSteps)
		}
		switch c := text[i]; {
		case c == '[':
			step, n, err := parseBracket(text[i:])
			if err != nil {
				return fail("%v", err)
			}
			p.steps = append(p.steps, step)
			i += n
			expectName = false
		case c == '.':
			if expectName {
				return fail("empty member name at offset %d", i)
			}
			i++
			if i == len(text) {
				return fail("ends with '.'")
			}
			expectName = true
		case isNameByte(c):
			if !expectName {
				return fail("unexpected %q at offset %d: write .name or [index]", c, i)
			}
			start := i
			for i < len(text) && isNameByte(text[i]) {
				i++
			}
			p.steps = append(p.steps, pathStep{key: text[start:i]})
			expectName = false
		default:
			return fail("unexpected %q at offset %d: member names are letters, digits, '_' and '-'; quote others as [\"name\"]", c, i)
		}
	}
	return p, nil
}

func isNameByte(c byte) bool {
	return c == '_' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// parseBracket parses "[N]" or "[\"key\"]" at the start of s and returns the step and the
// number of bytes consumed.
func parseBracket(s string) (pathStep, int, error) {
	if len(s) > 1 && s[1] == '"' {
		// Find the closing quote, skipping escaped characters.
		for j := 2; j < len(s); j++ {
			switch s[j] {
			case '\\':
				j++
			case '"':
				if j+1 >= len(s) || s[j+1] != ']' {
					return pathStep{}, 0, fmt.Errorf("missing ']' after quoted name")
				}
				var key string
				if err := json.Unmarshal([]byte(s[1:j+1]), &key); err != nil {
					return pathStep{}, 0, fmt.Errorf("quoted name %s: not a JSON string", s[1:j+1])
				}
				return pathStep{key: key}, j + 2, nil
			}
		}
		return pathStep{}, 0, fmt.Errorf("unterminated quoted name")
	}
	end := strings.IndexByte(s, ']')
	if end < 0 {
		return pathStep{}, 0, fmt.Errorf("missing ']'")
	}
	digits := s[1:end]
	body := strings.TrimPrefix(digits, "-")
	if body == "" || len(body) > 9 || strings.IndexFunc(body, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		return pathStep{}, 0, fmt.Errorf("index [%s]: want an integer such as [0] or [-1], or a quoted name such as [\"a.b\"]", digits)
	}
	n, _ := strconv.Atoi(digits)
	return pathStep{index: n, isIndex: true}, end + 1, nil
}

// String renders p in canonical form; ParsePath(p.String()) yields p again.
func (p Path) String() string {
	if len(p.steps) == 0 {
		return "."
	}
	var b strings.Builder
	for i, step := range p.steps {
		switch {
		case step.isIndex:
			if i == 0 {
				b.WriteByte('.')
			}
			fmt.Fprintf(&b, "[%d]", step.index)
		case plainName(step.key):
			b.WriteByte('.')
			b.WriteString(step.key)
		default:
			if i == 0 {
				b.WriteByte('.')
			}
			quoted, _ := json.Marshal(step.key)
			fmt.Fprintf(&b, "[%s]", quoted)
		}
	}
	return b.String()
}

func plainName(key string) bool {
	if key == "" {
		return false
	}
	for i := 0; i < len(key); i++ {
		if !isNameByte(key[i]) {
			return false
		}
	}
	return true
}

// Lookup returns the value at p in doc (as decoded by decodeJSON) and whether it exists.
func (p Path) Lookup(doc any) (any, bool) {
	current := doc
	for _, step := range p.steps {
		switch node := current.(type) {
		case map[string]any:
			if step.isIndex {
				return nil, false
			}
			value, ok := node[step.key]
			if !ok {
				return nil, false
			}
			current = value
		case []any:
			if !step.isIndex {
				return nil, false
			}
			i := step.index
			if i < 0 {
				i += len(node)
			}
			if i < 0 || i >= len(node) {
				return nil, false
			}
			current = node[i]
		default:
			return nil, false
		}
	}
	return current, true
}

// decodeJSON decodes one JSON document, keeping numbers exact.
func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("more than one JSON value")
	}
	return doc, nil
}

// jsonEqual reports whether value (from decodeJSON) equals want, given as text: a string
// value equals its content; a number equals the same number (1.0 equals 1); true, false and
// null equal their JSON words; an object or array equals want when want is the same JSON.
func jsonEqual(value any, want string) bool {
	switch v := value.(type) {
	case string:
		return v == want
	case json.Number:
		if v.String() == want {
			return true
		}
		a, okA := new(big.Float).SetString(v.String())
		b, okB := new(big.Float).SetString(strings.TrimSpace(want))
		return okA && okB && a.Cmp(b) == 0
	case bool:
		return strconv.FormatBool(v) == want
	case nil:
		return want == "null"
	default:
		wantDoc, err := decodeJSON([]byte(want))
		if err != nil {
			return false
		}
		return reflect.DeepEqual(normaliseNumbers(value), normaliseNumbers(wantDoc))
	}
}

// normaliseNumbers rewrites json.Number values into a canonical form so that 1 and 1.0 compare
// equal inside objects and arrays.
func normaliseNumbers(value any) any {
	switch v := value.(type) {
	case json.Number:
		if f, ok := new(big.Float).SetString(v.String()); ok {
			return f.Text('g', -1)
		}
		return v.String()
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = normaliseNumbers(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = normaliseNumbers(x)
		}
		return out
	}
	return value
}

// describeJSON renders a value for a message: a string as is (quoted), anything else as compact JSON.
func describeJSON(value any) string {
	data, err := json.Marshal(value)
	if err != nil {
		return fmt.Sprint(value)
	}
	return string(data)
}
