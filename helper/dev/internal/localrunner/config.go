// Package localrunner runs a CircleCI configuration (version 2.1) on this machine by CircleCI's
// own rules, so the orb's examples can be proven end to end without CircleCI.
//
// It compiles a workflow the way CircleCI does (orbs, jobs, commands and executors with typed
// parameters, lexical scope, pipeline values, `when`/`unless`, `steps` parameters, `\<<`
// unescaping, branch and tag filters) and then runs each job's steps on the host: every `run`
// step in a fresh `bash -eo pipefail` process that sources the job's `$BASH_ENV`, with the
// `CIRCLE_*` variables CircleCI sets, in a per-job working directory and home directory.
// Containers are never started: executors only contribute their environment, shell and working
// directory. See the rules in README.md beside this file.
package localrunner

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/shipgate/shipgate/helper/internal/circleci"
	"github.com/shipgate/shipgate/helper/internal/failure"
)

// namespace is where a component's names resolve: the config itself, or one orb. Scope in
// CircleCI is lexical: a command defined in an orb resolves its unqualified names in that orb,
// and `alias/name` through the orbs that orb imports.
type namespace struct {
	// label names the namespace in errors: "config" or "orb shipgate (shipgate/shipgate@1)".
	label string
	// isOrb is true inside an orb, where pipeline parameters are not in scope.
	isOrb     bool
	commands  map[string]map[string]any
	jobs      map[string]map[string]any
	executors map[string]map[string]any
	// imports are the orbs this namespace declares under `orbs:`, loaded on first use so an
	// import nobody references (like `node: circleci/node@5` in an orb) needs no file.
	imports map[string]*orbImport
}

type orbImport struct {
	alias  string
	ref    string         // "ns/name@version" for a registry orb; "" for an inline orb
	inline map[string]any // the inline orb's body
	loaded *namespace
	err    error
}

// Pipeline is a loaded configuration: its own components, its orbs, its workflows and its
// pipeline parameters. It is immutable after Load and safe to run several times.
type Pipeline struct {
	path          string
	root          *namespace
	orbFiles      map[string]string
	workflows     map[string]map[string]any
	workflowOrder []string
	params        map[string]map[string]any // declared pipeline parameters
	// mu guards the orb imports loaded on first use, so runs may share a Pipeline.
	mu sync.Mutex
}

// Load reads a CircleCI configuration. orbs maps an orb's registry name, "namespace/name" (or
// "namespace/name@version" for one exact version), to the file holding its packed YAML; an orb
// the configuration imports is read from there the first time a component of it is used.
func Load(configPath string, orbs map[string]string) (*Pipeline, error) {
	doc, err := readYAML(configPath)
	if err != nil {
		return nil, err
	}
	p := &Pipeline{path: configPath, orbFiles: orbs, workflows: map[string]map[string]any{}}
	if err := p.init(doc); err != nil {
		return nil, failure.Wrap(failure.Usage, err, "loading %q", configPath)
	}
	return p, nil
}

// Parse is Load for configuration text already in memory; name labels it in errors.
func Parse(name string, config []byte, orbs map[string]string) (*Pipeline, error) {
	doc, err := decodeYAML(name, config)
	if err != nil {
		return nil, err
	}
	p := &Pipeline{path: name, orbFiles: orbs, workflows: map[string]map[string]any{}}
	if err := p.init(doc); err != nil {
		return nil, failure.Wrap(failure.Usage, err, "loading %q", name)
	}
	return p, nil
}

func (p *Pipeline) init(doc map[string]any) error {
	switch v := doc["version"].(type) {
	case float64:
		if v != 2.1 {
			return fmt.Errorf("version %v: the local runner needs version 2.1", v)
		}
	case string:
		if v != "2.1" {
			return fmt.Errorf("version %q: the local runner needs version 2.1", v)
		}
	default:
		return fmt.Errorf("version is missing or not 2.1")
	}
	root, err := newNamespace("config", false, doc)
	if err != nil {
		return err
	}
	p.root = root
	if params, err := circleci.AsMap(doc["parameters"], "parameters"); err != nil {
		return err
	} else {
		p.params = map[string]map[string]any{}
		for name, spec := range params {
			m, err := circleci.AsMap(spec, "pipeline parameter "+name)
			if err != nil {
				return err
			}
			if t, _ := m["type"].(string); t == "steps" || t == "executor" || t == "env_var_name" {
				return fmt.Errorf("pipeline parameter %q: type %q is not allowed for pipeline parameters", name, t)
			}
			p.params[name] = m
		}
	}
	if err := checkPipelineParamRefs(doc, p.params); err != nil {
		return err
	}
	wfs, err := circleci.AsMap(doc["workflows"], "workflows")
	if err != nil {
		return err
	}
	for name, body := range wfs {
		if name == "version" {
			continue // the legacy `workflows: version: 2` key
		}
		m, err := circleci.AsMap(body, "workflow "+name)
		if err != nil {
			return err
		}
		p.workflows[name] = m
	}
	p.workflowOrder = keysInFileOrder(doc, p.workflows)
	return nil
}

// checkPipelineParamRefs refuses a reference to an undeclared pipeline parameter anywhere in
// the config: CircleCI compiles the whole config, so it is an error whichever workflow runs
// ("Unknown variable(s)"; issue 16 point 2).
func checkPipelineParamRefs(doc map[string]any, params map[string]map[string]any) error {
	declared := map[string]bool{}
	for name := range params {
		declared[name] = true
	}
	if undeclared := circleci.UndeclaredPipelineParams(withoutKey(doc, workflowOrderKey), declared); len(undeclared) > 0 {
		return fmt.Errorf("pipeline parameter(s) %s are referenced but not declared under parameters:", strings.Join(undeclared, ", "))
	}
	return nil
}

// Workflows lists the configuration's workflows in the order the file declares them.
func (p *Pipeline) Workflows() []string {
	return append([]string(nil), p.workflowOrder...)
}

func newNamespace(label string, isOrb bool, doc map[string]any) (*namespace, error) {
	ns := &namespace{label: label, isOrb: isOrb, imports: map[string]*orbImport{}}
	var err error
	if ns.commands, err = componentMap(doc, "commands"); err != nil {
		return nil, err
	}
	if ns.jobs, err = componentMap(doc, "jobs"); err != nil {
		return nil, err
	}
	if ns.executors, err = componentMap(doc, "executors"); err != nil {
		return nil, err
	}
	orbs, err := circleci.AsMap(doc["orbs"], "orbs")
	if err != nil {
		return nil, err
	}
	for alias, v := range orbs {
		switch o := v.(type) {
		case string:
			ns.imports[alias] = &orbImport{alias: alias, ref: o}
		case map[string]any:
			ns.imports[alias] = &orbImport{alias: alias, inline: o}
		default:
			return nil, fmt.Errorf("orbs.%s: want an orb reference or an inline orb, got %T", alias, v)
		}
	}
	return ns, nil
}

func componentMap(doc map[string]any, key string) (map[string]map[string]any, error) {
	raw, err := circleci.AsMap(doc[key], key)
	if err != nil {
		return nil, err
	}
	out := make(map[string]map[string]any, len(raw))
	for name, body := range raw {
		m, err := circleci.AsMap(body, key+"."+name)
		if err != nil {
			return nil, err
		}
		out[name] = m
	}
	return out, nil
}

// orb returns the namespace of the orb imported as alias, loading it on first use.
func (p *Pipeline) orb(ns *namespace, alias string) (*namespace, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	imp, ok := ns.imports[alias]
	if !ok {
		return nil, fmt.Errorf("%s imports no orb %q", ns.label, alias)
	}
	if imp.loaded != nil || imp.err != nil {
		return imp.loaded, imp.err
	}
	if imp.inline != nil {
		imp.loaded, imp.err = newNamespace(fmt.Sprintf("inline orb %s", alias), true, imp.inline)
		return imp.loaded, imp.err
	}
	file, ok := p.orbFile(imp.ref)
	if !ok {
		imp.err = fmt.Errorf("orb %s (%s) is not available locally: pass its packed orb.yml with --orb %s=FILE", alias, imp.ref, orbName(imp.ref))
		return nil, imp.err
	}
	doc, err := readYAML(file)
	if err != nil {
		imp.err = err
		return nil, err
	}
	imp.loaded, imp.err = newNamespace(fmt.Sprintf("orb %s (%s)", alias, imp.ref), true, doc)
	return imp.loaded, imp.err
}

func (p *Pipeline) orbFile(ref string) (string, bool) {
	if f, ok := p.orbFiles[ref]; ok {
		return f, true
	}
	f, ok := p.orbFiles[orbName(ref)]
	return f, ok
}

// orbName strips the version from "ns/name@version".
func orbName(ref string) string {
	name, _, _ := strings.Cut(ref, "@")
	return name
}

// lookup resolves a component name used in ns: "name" in ns itself, "alias/name" in an orb
// that ns imports. kind is "commands", "jobs" or "executors".
func (p *Pipeline) lookup(ns *namespace, kind, name string) (map[string]any, *namespace, error) {
	target := ns
	short := name
	if alias, rest, ok := strings.Cut(name, "/"); ok {
		o, err := p.orb(ns, alias)
		if err != nil {
			return nil, nil, err
		}
		target, short = o, rest
	}
	var table map[string]map[string]any
	switch kind {
	case "commands":
		table = target.commands
	case "jobs":
		table = target.jobs
	default:
		table = target.executors
	}
	def, ok := table[short]
	if !ok {
		singular := strings.TrimSuffix(kind, "s")
		return nil, nil, fmt.Errorf("%s %q is not defined in %s", singular, name, target.label)
	}
	return def, target, nil
}

func readYAML(path string) (map[string]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, failure.Wrap(failure.Usage, err, "reading %q", path)
	}
	return decodeYAML(path, data)
}

// decodeYAML reads a configuration (or an orb) the way CircleCI does, through the one model
// in helper/internal/circleci: YAML 1.1 booleans (`when: yes`), anchors and merge keys, one
// document, no repeated key.
func decodeYAML(name string, data []byte) (map[string]any, error) {
	root, err := circleci.Parse(data)
	if err != nil {
		return nil, failure.Wrap(failure.Usage, err, "parsing %q", name)
	}
	v, err := circleci.Value(root)
	if err != nil {
		return nil, failure.Wrap(failure.Usage, err, "parsing %q", name)
	}
	doc := v.(map[string]any) // Parse returns a mapping
	// An orb example file (src/examples/x.yml) holds the configuration under `usage:`.
	workflows := circleci.Get(root, "workflows")
	if _, hasVersion := doc["version"]; !hasVersion {
		if usage, ok := doc["usage"].(map[string]any); ok {
			doc = usage
			workflows = circleci.Get(circleci.Get(root, "usage"), "workflows")
		}
	}
	if circleci.IsMapping(workflows) {
		var names []string
		for _, p := range circleci.Pairs(workflows) {
			names = append(names, p.Name)
		}
		doc[workflowOrderKey] = names
	}
	return doc, nil
}

// LoadOrbExample loads the `usage` of example name from a packed orb, as a configuration.
// The example's workflows are listed in name order (the packed orb sorts keys anyway).
func LoadOrbExample(orbPath, name string, orbs map[string]string) (*Pipeline, error) {
	doc, err := readYAML(orbPath)
	if err != nil {
		return nil, err
	}
	examples, _ := doc["examples"].(map[string]any)
	ex, _ := examples[name].(map[string]any)
	usage, ok := ex["usage"].(map[string]any)
	if !ok {
		return nil, failure.New(failure.Usage, "orb %q has no example %q with a usage", orbPath, name)
	}
	label := fmt.Sprintf("%s example %s", orbPath, name)
	p := &Pipeline{path: label, orbFiles: orbs, workflows: map[string]map[string]any{}}
	if err := p.init(usage); err != nil {
		return nil, failure.Wrap(failure.Usage, err, "loading %s", label)
	}
	return p, nil
}

// keysInFileOrder returns the keys of m ordered as the YAML file declares workflows. Go maps
// lose order, so the order comes from a second, node-level decode of the same document; when
// that is not possible the names are sorted.
func keysInFileOrder(doc map[string]any, m map[string]map[string]any) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	if order, ok := doc[workflowOrderKey].([]string); ok {
		pos := map[string]int{}
		for i, n := range order {
			pos[n] = i
		}
		sort.SliceStable(names, func(i, j int) bool { return pos[names[i]] < pos[names[j]] })
	}
	return names
}

// workflowOrderKey is never a valid CircleCI key, so it cannot collide with user content.
const workflowOrderKey = "\x00workflow-order"
