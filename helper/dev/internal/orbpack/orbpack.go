// Package orbpack turns an orb source folder in the Orb Development Kit layout (src/) into a
// single orb.yml, byte for byte as `circleci orb pack` (CLI 0.1.x) writes it.
//
// The CLI's algorithm, reproduced step by step because its output depends on each of them
// (circleci-cli cmd/orb.go packOrb, filetree/filetree.go, process/process.go):
//  1. Walk the folder, keeping only the folders executors, jobs, commands and examples (at any
//     depth) and only *.yml/*.yaml files; dot-folders and regular dotfiles are skipped, and
//     symlinked YAML files are read through the link.
//  2. Decode every file with yaml.v3 into generic maps: root files merge into the top level,
//     `@name.yml` inside a folder merges into that folder, any other file becomes a key named
//     after the file without its extension.
//  3. Marshal that map (keys sorted), unmarshal it into a fixed schema (top-level keys in the
//     order version, description, display, orbs, commands, executors, jobs, examples; other
//     keys dropped; an example's usage keeps only version, setup, orbs, jobs and workflows).
//  4. Replace every scalar in commands, executors and jobs that is exactly
//     `<<include(path)>>` with the file at path (relative to the orb root) in which every `<<`
//     becomes `\<<`, then marshal again with yaml.v3 (4-space indent).
//
// The CLI prints the result with fmt.Println (one extra newline); Pack does not.
package orbpack

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// componentDirs are the only folders the CLI reads (filetree.NewTree's allowed directories).
var componentDirs = map[string]bool{"executors": true, "jobs": true, "commands": true, "examples": true}

// includeRegex is the CLI's own pattern (process.MaybeIncludeFile, https://regexr.com/599mq).
var includeRegex = regexp.MustCompile(`<<[\s]*include\(([-\w\/\.]+)\)?[\s]*>>`)

var (
	yamlFile    = regexp.MustCompile(`.+\.(yml|yaml)$`)
	specialName = regexp.MustCompile(`^@.*\.(yml|yaml)$`) // filetree's specialCase
)

// orbSchema mirrors the CLI's OrbSchema: it fixes the top-level order and drops other keys.
type orbSchema struct {
	Version     float32                  `yaml:"version,omitempty"`
	Description string                   `yaml:"description,omitempty"`
	Display     yaml.Node                `yaml:"display,omitempty"`
	Orbs        yaml.Node                `yaml:"orbs,omitempty"`
	Commands    yaml.Node                `yaml:"commands,omitempty"`
	Executors   yaml.Node                `yaml:"executors,omitempty"`
	Jobs        yaml.Node                `yaml:"jobs,omitempty"`
	Examples    map[string]exampleSchema `yaml:"examples,omitempty"`
}

// exampleUsageSchema mirrors the CLI's ExampleUsageSchema: an example's usage keeps only
// these keys, so pipeline `parameters:` or `commands:` of an example do not survive packing.
type exampleUsageSchema struct {
	Version   string `yaml:"version,omitempty"`
	Setup     bool   `yaml:"setup,omitempty"`
	Orbs      any    `yaml:"orbs,omitempty"`
	Jobs      any    `yaml:"jobs,omitempty"`
	Workflows any    `yaml:"workflows"`
}

type exampleSchema struct {
	Description string             `yaml:"description,omitempty"`
	Usage       exampleUsageSchema `yaml:"usage,omitempty"`
	Result      exampleUsageSchema `yaml:"result,omitempty"`
}

// Pack packs the orb source folder dir (the folder holding @orb.yml).
func Pack(dir string) ([]byte, error) {
	return PackFS(os.DirFS(dir))
}

// PackFS packs the orb source held at the root of fsys. Includes are resolved inside fsys
// only: a path that leaves the orb source is refused (the CLI would read it).
func PackFS(fsys fs.FS) ([]byte, error) {
	if _, err := fs.Stat(fsys, "@orb.yml"); err != nil {
		return nil, errors.New("@orb.yml file not found, are you sure this is the orb root?")
	}
	tree, err := readTree(fsys, ".", true)
	if err != nil {
		return nil, err
	}
	first, err := yaml.Marshal(tree)
	if err != nil {
		return nil, fmt.Errorf("marshalling the orb tree: %w", err)
	}
	var orb orbSchema
	if err := yaml.Unmarshal(first, &orb); err != nil {
		return nil, fmt.Errorf("reading the orb tree into the orb schema: %w", err)
	}
	for _, n := range []*yaml.Node{&orb.Jobs, &orb.Commands, &orb.Executors} {
		if err := inlineIncludes(fsys, n); err != nil {
			return nil, err
		}
	}
	out, err := yaml.Marshal(&orb)
	if err != nil {
		return nil, fmt.Errorf("marshalling orb.yml: %w", err)
	}
	return out, nil
}

// readTree builds the generic map for folder dir, as filetree's marshalParent does.
func readTree(fsys fs.FS, dir string, root bool) (map[string]any, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("reading folder %q: %w", dir, err)
	}
	// fs.ReadDir sorts by name, the order filepath.Walk visits in.
	subtree := map[string]any{}
	for _, e := range entries {
		name := e.Name()
		p := path.Join(dir, name)
		stem := strings.TrimSuffix(name, path.Ext(name))
		var content any
		switch {
		case e.IsDir():
			if strings.HasPrefix(name, ".") || !componentDirs[name] {
				continue
			}
			sub, err := readTree(fsys, p, false)
			if err != nil {
				return nil, err
			}
			content = sub
			if len(sub) == 0 {
				content = nil
			}
		case e.Type().IsRegular():
			if strings.HasPrefix(name, ".") || !yamlFile.MatchString(name) {
				continue
			}
			content, err = readYAML(fsys, p)
			if err != nil {
				return nil, err
			}
		default:
			// Symlinks and other non-regular entries: filetree keeps them as leaves and reads
			// YAML-named ones through the link; its dotfile rule covers regular files only.
			if yamlFile.MatchString(name) {
				content, err = readYAML(fsys, p)
				if err != nil {
					return nil, err
				}
			}
		}
		switch content.(type) {
		case map[string]any, nil:
		default:
			return nil, fmt.Errorf("expected a map, got a `%T` which is not supported at this time for %q", content, p)
		}
		m, _ := content.(map[string]any)
		switch {
		case root && e.Type().IsRegular():
			subtree = merge(subtree, m)
		case specialName.MatchString(name):
			parent, _ := subtree[path.Base(dir)].(map[string]any)
			subtree = merge(subtree, parent, m)
		default:
			prev, _ := subtree[stem].(map[string]any)
			subtree[stem] = merge(prev, m)
		}
	}
	return subtree, nil
}

func readYAML(fsys fs.FS, p string) (any, error) {
	buf, err := fs.ReadFile(fsys, p)
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", p, err)
	}
	var content any
	if err := yaml.Unmarshal(buf, &content); err != nil {
		return nil, fmt.Errorf("parsing %q: %w", p, err)
	}
	if m, ok := content.(map[any]any); ok {
		// The CLI converts such maps with mapstructure, which refuses non-string keys.
		conv := make(map[string]any, len(m))
		for k, v := range m {
			ks, ok := k.(string)
			if !ok {
				return nil, fmt.Errorf("parsing %q: top-level key %v is not a string", p, k)
			}
			conv[ks] = v
		}
		content = conv
	}
	return content, nil
}

// merge is the CLI's mergeTree: a shallow union, later maps winning.
func merge(trees ...map[string]any) map[string]any {
	out := map[string]any{}
	for _, t := range trees {
		for k, v := range t {
			out[k] = v
		}
	}
	return out
}

func inlineIncludes(fsys fs.FS, n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && n.Value != "" {
		v, err := maybeInclude(fsys, n.Value)
		if err != nil {
			return err
		}
		n.Value = v
		return nil
	}
	for _, c := range n.Content {
		if err := inlineIncludes(fsys, c); err != nil {
			return err
		}
	}
	return nil
}

// maybeInclude is process.MaybeIncludeFile: the whole scalar must be one include.
func maybeInclude(fsys fs.FS, s string) (string, error) {
	matches := includeRegex.FindAllStringSubmatch(s, 2)
	if len(matches) == 0 {
		return s, nil
	}
	if len(matches) > 1 {
		return "", fmt.Errorf("multiple include statements: '%s'", s)
	}
	if matches[0][0] != s {
		return "", fmt.Errorf("entire string must be include statement: '%s'", s)
	}
	p := path.Clean(matches[0][1])
	if !fs.ValidPath(p) {
		return "", fmt.Errorf("include %q leaves the orb source folder", matches[0][1])
	}
	file, err := fs.ReadFile(fsys, p)
	if err != nil {
		return "", fmt.Errorf("could not open %s for inclusion", p)
	}
	return strings.ReplaceAll(string(file), "<<", `\<<`), nil
}

// Included lists the files that src includes (paths relative to the orb root), sorted.
func Included(fsys fs.FS) ([]string, error) {
	seen := map[string]bool{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !yamlFile.MatchString(p) {
			return nil
		}
		buf, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		for _, m := range includeRegex.FindAllSubmatch(buf, -1) {
			seen[path.Clean(string(bytes.TrimSpace(m[1])))] = true
		}
		return nil
	})
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out, err
}
