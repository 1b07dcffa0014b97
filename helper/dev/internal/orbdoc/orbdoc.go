// Package orbdoc renders the orb's reference (docs/orb-reference.md) from the packed orb.yml:
// every command, job and executor with its parameters, so the documentation is the orb's own
// definitions and cannot drift from them (a test compares the committed file).
package orbdoc

import (
	"fmt"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

type parameter struct {
	Type        string   `yaml:"type"`
	Default     any      `yaml:"default"`
	Description string   `yaml:"description"`
	Enum        []string `yaml:"enum"`
}

type component struct {
	Description string               `yaml:"description"`
	Parameters  map[string]parameter `yaml:"parameters"`
}

type orb struct {
	Description string               `yaml:"description"`
	Commands    map[string]component `yaml:"commands"`
	Jobs        map[string]component `yaml:"jobs"`
	Executors   map[string]component `yaml:"executors"`
	Examples    map[string]struct {
		Description string `yaml:"description"`
	} `yaml:"examples"`
}

// Reference renders the Markdown reference of a packed orb.
func Reference(orbYAML []byte) (string, error) {
	var o orb
	if err := yaml.Unmarshal(orbYAML, &o); err != nil {
		return "", fmt.Errorf("parsing orb.yml: %w", err)
	}
	var b strings.Builder
	b.WriteString("# shipgate orb reference\n\n")
	b.WriteString("Generated from the packed `orb.yml` by `make orb` (`orbtool reference`); a test fails when this\n")
	b.WriteString("file is stale. How the pieces fit together: [orb.md](orb.md).\n\n")
	fmt.Fprintf(&b, "%s\n\n", strings.TrimSpace(o.Description))
	section := func(title, kind string, items map[string]component) {
		if len(items) == 0 {
			return
		}
		fmt.Fprintf(&b, "## %s\n\n", title)
		for _, name := range sortedKeys(items) {
			c := items[name]
			fmt.Fprintf(&b, "### %s `shipgate/%s`\n\n%s\n\n", kind, name, oneParagraph(c.Description))
			if len(c.Parameters) == 0 {
				b.WriteString("No parameters.\n\n")
				continue
			}
			b.WriteString("| parameter | type | default | description |\n|---|---|---|---|\n")
			for _, pname := range sortedKeys(c.Parameters) {
				p := c.Parameters[pname]
				typ := p.Type
				if len(p.Enum) > 0 {
					typ += ": " + strings.Join(p.Enum, ", ")
				}
				fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", pname, typ, defaultText(p), cell(p.Description))
			}
			b.WriteString("\n")
		}
	}
	section("Jobs", "job", o.Jobs)
	section("Commands", "command", o.Commands)
	section("Executors", "executor", o.Executors)
	if len(o.Examples) > 0 {
		b.WriteString("## Examples\n\n")
		names := make([]string, 0, len(o.Examples))
		for name := range o.Examples {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			fmt.Fprintf(&b, "- `%s`: %s\n", name, oneParagraph(o.Examples[name].Description))
		}
		b.WriteString("\n")
	}
	return b.String(), nil
}

func defaultText(p parameter) string {
	if p.Default == nil {
		if p.Type == "steps" {
			return "– (required)"
		}
		return "required"
	}
	v := fmt.Sprint(p.Default)
	if v == "" {
		return `""`
	}
	return "`" + strings.ReplaceAll(v, "|", "\\|") + "`"
}

func oneParagraph(s string) string { return strings.Join(strings.Fields(s), " ") }

func cell(s string) string { return strings.ReplaceAll(oneParagraph(s), "|", "\\|") }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
