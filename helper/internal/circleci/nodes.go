package circleci

import "gopkg.in/yaml.v3"

// maxAliasDepth bounds alias chains so a hostile document cannot make a lookup loop.
const maxAliasDepth = 16

// Deref follows alias nodes to the anchored node.
func Deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < maxAliasDepth; i++ {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.AliasNode {
		return nil
	}
	return n
}

// Pair is one key/value of a mapping.
type Pair struct {
	Key, Value *yaml.Node
	Name       string
}

// Pairs lists a mapping's entries, merging `<<: *anchor` (a mapping or a list of mappings) the
// way YAML 1.1 merge keys work: explicit keys win over merged ones. Each merged mapping is read
// once, so merge keys nested like a billion-laughs document cost no more than their text.
func Pairs(n *yaml.Node) []Pair {
	return pairsFrom(n, map[*yaml.Node]bool{}, 0)
}

func pairsFrom(n *yaml.Node, merged map[*yaml.Node]bool, depth int) []Pair {
	n = Deref(n)
	if n == nil || n.Kind != yaml.MappingNode || depth > maxAliasDepth {
		return nil
	}
	var own, inherited []Pair
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Value == "<<" && k.Tag == "!!merge" {
			src := Deref(v)
			if src == nil {
				continue
			}
			sources := []*yaml.Node{src}
			if src.Kind == yaml.SequenceNode {
				sources = src.Content
			}
			for _, m := range sources {
				m = Deref(m)
				if m == nil || merged[m] {
					continue
				}
				merged[m] = true
				inherited = append(inherited, pairsFrom(m, merged, depth+1)...)
			}
			continue
		}
		own = append(own, Pair{Key: k, Value: v, Name: Scalar(k)})
	}
	if len(inherited) == 0 {
		return own
	}
	seen := make(map[string]bool, len(own))
	for _, p := range own {
		seen[p.Name] = true
	}
	out := own
	for _, p := range inherited {
		if !seen[p.Name] {
			seen[p.Name] = true
			out = append(out, p)
		}
	}
	return out
}

// Lookup returns the key and (dereferenced) value nodes for key in mapping n.
func Lookup(n *yaml.Node, key string) (*yaml.Node, *yaml.Node) {
	for _, p := range Pairs(n) {
		if p.Name == key {
			return p.Key, Deref(p.Value)
		}
	}
	return nil, nil
}

// Get returns the (dereferenced) value of key in mapping n, or nil.
func Get(n *yaml.Node, key string) *yaml.Node {
	_, v := Lookup(n, key)
	return v
}

// Scalar returns a scalar node's text, or "" for anything else.
func Scalar(n *yaml.Node) string {
	n = Deref(n)
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

// IsMapping reports whether n is (an alias of) a mapping.
func IsMapping(n *yaml.Node) bool {
	n = Deref(n)
	return n != nil && n.Kind == yaml.MappingNode
}

// Strings reads a scalar or a sequence of scalars.
func Strings(n *yaml.Node) []string {
	n = Deref(n)
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
			if v := Scalar(item); v != "" {
				out = append(out, v)
			}
		}
		return out
	}
	return nil
}

// Items returns a sequence's items, dereferenced.
func Items(n *yaml.Node) []*yaml.Node {
	n = Deref(n)
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	out := make([]*yaml.Node, 0, len(n.Content))
	for _, item := range n.Content {
		if d := Deref(item); d != nil {
			out = append(out, d)
		}
	}
	return out
}

// LastLine is the last line any node below n (not following aliases) starts on.
func LastLine(n *yaml.Node) int {
	if n == nil {
		return 0
	}
	last := n.Line
	for _, c := range n.Content {
		if l := LastLine(c); l > last {
			last = l
		}
	}
	return last
}

// Walk visits n and every node below it, not following aliases (the anchored node is visited
// where it is defined), so an alias bomb costs no more than its text.
func Walk(n *yaml.Node, visit func(parent, n *yaml.Node)) {
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

// Scalars collects the text of every scalar value below n, following aliases to a bounded
// depth (used to search a job's steps for commands).
func Scalars(n *yaml.Node) []string {
	var out []string
	budget := 10000
	var rec func(n *yaml.Node, depth int)
	rec = func(n *yaml.Node, depth int) {
		n = Deref(n)
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
