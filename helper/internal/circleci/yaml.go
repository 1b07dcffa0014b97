package circleci

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"gopkg.in/yaml.v3"
)

// Parse reads data as one YAML document whose top level is a mapping and returns that
// mapping, positions kept. More than one document, a repeated key (YAML forbids it, and
// CircleCI would see only one of the two) or a top level that is not a mapping is an error.
func Parse(data []byte) (*yaml.Node, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("empty file")
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("no YAML document")
		}
		return nil, fmt.Errorf("malformed YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, fmt.Errorf("line %d: more than one YAML document (a CircleCI config is one)", extra.Line)
	} else if !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("malformed YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, errors.New("no YAML document")
	}
	if err := checkDuplicateKeys(&doc); err != nil {
		return nil, err
	}
	root := Deref(doc.Content[0])
	if root == nil || root.Kind != yaml.MappingNode {
		line := doc.Content[0].Line
		return nil, fmt.Errorf("line %d: the top level is not a mapping of keys such as version, jobs and workflows", line)
	}
	return root, nil
}

func checkDuplicateKeys(doc *yaml.Node) error {
	var err error
	Walk(doc, func(_, n *yaml.Node) {
		if err != nil || n.Kind != yaml.MappingNode {
			return
		}
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode || k.Tag == "!!merge" {
				continue
			}
			if first, dup := seen[k.Value]; dup {
				err = fmt.Errorf("line %d: key %q is already defined on line %d", k.Line, k.Value, first)
				return
			}
			seen[k.Value] = k.Line
		}
	})
	return err
}

// Decode reads a YAML document into plain values (map[string]any, []any, string, bool, int,
// float64, nil) the way CircleCI reads it; an empty document is nil.
func Decode(data []byte) (any, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, nil
	}
	return Value(doc.Content[0])
}

// yaml11Bools are the plain scalars CircleCI's YAML 1.1 reader takes as booleans, while
// yaml.v3 (YAML 1.2) keeps them as strings: `when: yes` is true on CircleCI (reusing-config,
// "Boolean"). `y` and `n` are not: CircleCI removed them from that list (circleci-docs
// PR #9176, "y and n are not supported for boolean params").
var yaml11Bools = map[string]bool{
	"yes": true, "Yes": true, "YES": true, "on": true, "On": true, "ON": true,
	"no": false, "No": false, "NO": false, "off": false, "Off": false, "OFF": false,
}

// Value converts a node to plain values the way CircleCI reads it: YAML 1.1 booleans, aliases
// followed, merge keys applied (explicit keys win), a repeated key an error.
func Value(n *yaml.Node) (any, error) {
	return ValueWithin(n, maxValueNodes)
}

// ValueWithin is Value producing at most limit values: for a part of a config that is small
// in any real one (a `when:` condition), so a hostile one costs little.
func ValueWithin(n *yaml.Node, limit int) (any, error) {
	d := &decoder{budget: limit, limit: limit}
	return d.value(n, 0)
}

// maxValueNodes bounds how many nodes one conversion produces: aliases are expanded, so a
// document of nested aliases ("billion laughs") would otherwise grow exponentially from a few
// lines. Real configs, processed ones included, stay far below it.
const maxValueNodes = 1_000_000

// decoder converts nodes to values within a budget of produced nodes.
type decoder struct{ budget, limit int }

// maxNesting bounds recursion so a hostile document cannot exhaust the stack.
const maxNesting = 200

func (d *decoder) value(n *yaml.Node, depth int) (any, error) {
	if n == nil {
		return nil, nil
	}
	if depth > maxNesting {
		return nil, fmt.Errorf("line %d: nesting too deep", n.Line)
	}
	if d.budget--; d.budget < 0 {
		return nil, fmt.Errorf("line %d: the document expands to more than %d values (nested aliases?)", n.Line, d.limit)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return d.value(n.Content[0], depth+1)
	case yaml.AliasNode:
		return d.value(n.Alias, depth+1)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := d.value(c, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		return d.mapping(n, depth)
	case yaml.ScalarNode:
		return scalar(n)
	}
	return nil, fmt.Errorf("line %d: unsupported YAML node", n.Line)
}

// scalar reads a scalar: a plain yes/no/on/off is a boolean (YAML 1.1), the rest as yaml.v3
// resolves it.
func scalar(n *yaml.Node) (any, error) {
	if n.Style == 0 && n.ShortTag() == "!!str" {
		if b, ok := yaml11Bools[n.Value]; ok {
			return b, nil
		}
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, fmt.Errorf("line %d: %w", n.Line, err)
	}
	return v, nil
}

// mapping converts a mapping: merge keys (`<<: *a` or a list of them) fill only the keys
// the mapping does not set itself.
func (d *decoder) mapping(n *yaml.Node, depth int) (any, error) {
	out := map[string]any{}
	var merges []map[string]any
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, vn := n.Content[i], n.Content[i+1]
		v, err := d.value(vn, depth+1)
		if err != nil {
			return nil, err
		}
		if k.Tag == "!!merge" {
			switch mv := v.(type) {
			case map[string]any:
				merges = append(merges, mv)
			case []any:
				for _, e := range mv {
					if m, ok := e.(map[string]any); ok {
						merges = append(merges, m)
					}
				}
			}
			continue
		}
		key := k.Value
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("line %d: duplicate key %q", k.Line, key)
		}
		out[key] = v
	}
	for _, m := range merges {
		for k, v := range m {
			if _, set := out[k]; !set {
				out[k] = v
			}
		}
	}
	return out, nil
}
