package lint

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// maxAliasDepth bounds alias chains so a hostile document cannot make a lookup loop.
const maxAliasDepth = 16

// deref follows alias nodes to the anchored node.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < maxAliasDepth; i++ {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.AliasNode {
		return nil
	}
	return n
}

// pair is one key/value of a mapping.
type pair struct {
	key, value *yaml.Node
	name       string
}

// pairs lists a mapping's entries, merging `<<: *anchor` (a mapping or a list of mappings) the
// way YAML 1.1 merge keys work: explicit keys win over merged ones. Each merged mapping is read
// once, so merge keys nested like a billion-laughs document cost no more than their text.
func pairs(n *yaml.Node) []pair {
	return pairsFrom(n, map[*yaml.Node]bool{}, 0)
}

func pairsFrom(n *yaml.Node, merged map[*yaml.Node]bool, depth int) []pair {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode || depth > maxAliasDepth {
		return nil
	}
	var own, inherited []pair
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Value == "<<" && k.Tag == "!!merge" {
			src := deref(v)
			if src == nil {
				continue
			}
			sources := []*yaml.Node{src}
			if src.Kind == yaml.SequenceNode {
				sources = src.Content
			}
			for _, m := range sources {
				m = deref(m)
				if m == nil || merged[m] {
					continue
				}
				merged[m] = true
				inherited = append(inherited, pairsFrom(m, merged, depth+1)...)
			}
			continue
		}
		own = append(own, pair{key: k, value: v, name: scalarValue(k)})
	}
	if len(inherited) == 0 {
		return own
	}
	seen := make(map[string]bool, len(own))
	for _, p := range own {
		seen[p.name] = true
	}
	out := own
	for _, p := range inherited {
		if !seen[p.name] {
			seen[p.name] = true
			out = append(out, p)
		}
	}
	return out
}

// lookup returns the key and (dereferenced) value nodes for key in mapping n.
func lookup(n *yaml.Node, key string) (*yaml.Node, *yaml.Node) {
	for _, p := range pairs(n) {
		if p.name == key {
			return p.key, deref(p.value)
		}
	}
	return nil, nil
}

func value(n *yaml.Node, key string) *yaml.Node {
	_, v := lookup(n, key)
	return v
}

// scalarValue returns a scalar node's text, or "" for anything else.
func scalarValue(n *yaml.Node) string {
	n = deref(n)
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

func isMapping(n *yaml.Node) bool {
	n = deref(n)
	return n != nil && n.Kind == yaml.MappingNode
}

// stringList reads a scalar or a sequence of scalars.
func stringList(n *yaml.Node) []string {
	n = deref(n)
	if n == nil {
		return nil
	}
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return nil
		}
		return []string{n.Value}
	case yaml.SequenceNode:
		var out []string
		for _, item := range n.Content {
			if v := scalarValue(item); v != "" {
				out = append(out, v)
			}
		}
		return out
	}
	return nil
}

// items returns a sequence's items, dereferenced.
func items(n *yaml.Node) []*yaml.Node {
	n = deref(n)
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	out := make([]*yaml.Node, 0, len(n.Content))
	for _, item := range n.Content {
		if d := deref(item); d != nil {
			out = append(out, d)
		}
	}
	return out
}

// lastLine is the last line any node below n (not following aliases) starts on.
func lastLine(n *yaml.Node) int {
	if n == nil {
		return 0
	}
	last := n.Line
	for _, c := range n.Content {
		if l := lastLine(c); l > last {
			last = l
		}
	}
	return last
}

// walk visits n and every node below it, not following aliases (the anchored node is visited
// where it is defined), so an alias bomb costs no more than its text.
func walk(n *yaml.Node, visit func(parent, n *yaml.Node)) {
	var rec func(parent, n *yaml.Node)
	rec = func(parent, n *yaml.Node) {
		if n == nil {
			return
		}
		visit(parent, n)
		if n.Kind == yaml.AliasNode {
			return
		}
		for _, c := range n.Content {
			rec(n, c)
		}
	}
	rec(nil, n)
}

// scalars collects the text of every scalar value below n, following aliases to a bounded
// depth (used to search a job's steps for commands).
func scalars(n *yaml.Node) []string {
	var out []string
	budget := 10000
	var rec func(n *yaml.Node, depth int)
	rec = func(n *yaml.Node, depth int) {
		n = deref(n)
		if n == nil || depth > 64 || budget <= 0 {
			return
		}
		budget--
		if n.Kind == yaml.ScalarNode {
			out = append(out, n.Value)
			return
		}
		for _, c := range n.Content {
			rec(c, depth+1)
		}
	}
	rec(n, 0)
	return out
}

// words splits a name into lower-case words at anything that is not a letter or digit.
func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
	})
}
