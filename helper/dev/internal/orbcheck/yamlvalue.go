package orbcheck

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// yaml11Bools are the plain scalars CircleCI's YAML 1.1 reader takes as booleans, while
// yaml.v3 (YAML 1.2) keeps them as strings.
var yaml11Bools = map[string]bool{
	"y": true, "Y": true, "yes": true, "Yes": true, "YES": true, "on": true, "On": true, "ON": true,
	"n": false, "N": false, "no": false, "No": false, "NO": false, "off": false, "Off": false, "OFF": false,
}

// decodeYAML reads a YAML document into plain values (map[string]any, []any, string, bool,
// int, float64, nil) the way CircleCI reads it: YAML 1.1 booleans, aliases and merge keys.
func decodeYAML(data []byte) (any, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, nil
	}
	return nodeValue(doc.Content[0], 0)
}

func nodeValue(n *yaml.Node, depth int) (any, error) {
	if depth > 200 {
		return nil, fmt.Errorf("line %d: nesting too deep", n.Line)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return nodeValue(n.Content[0], depth+1)
	case yaml.AliasNode:
		return nodeValue(n.Alias, depth+1)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := nodeValue(c, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		out := map[string]any{}
		var merges []map[string]any
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, vn := n.Content[i], n.Content[i+1]
			v, err := nodeValue(vn, depth+1)
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
	case yaml.ScalarNode:
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
	return nil, fmt.Errorf("line %d: unsupported YAML node", n.Line)
}

// path renders a location like jobs.deploy.steps[3].run.
func pathString(parts []string) string {
	var b strings.Builder
	for _, p := range parts {
		if strings.HasPrefix(p, "[") {
			b.WriteString(p)
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}
