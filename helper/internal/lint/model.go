package lint

import (
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/shipgate/shipgate/helper/internal/circleci"
)

// config is the part of a CircleCI config the rules look at, with the YAML nodes kept for
// positions.
type config struct {
	root *yaml.Node // the config mapping (the `usage:` value of an orb example)
	orbs map[string]*orbImport
	jobs map[string]*jobDef
	// jobGroups are the top-level job-groups, each read like a workflow of its member jobs.
	jobGroups map[string]*workflow
	groups    []*workflow // the job groups in file order
	workflows []*workflow
	params    []circleci.Pair // pipeline parameters
	// workflowsKey is where config-wide findings point.
	workflowsKey *yaml.Node
}

// orbImport is one entry under `orbs:`.
type orbImport struct {
	alias    string
	name     string // namespace/orb without version; "" for an inline orb
	key      *yaml.Node
	shipgate bool
	known    bool
}

// jobDef is a job defined under `jobs:`.
type jobDef struct {
	name  string
	key   *yaml.Node
	body  *yaml.Node
	steps *yaml.Node
	// last is the definition's last line in the source, its block scalars' text included
	// (linter.measureSpans).
	last int
}

// workflow is one workflow with its job entries in order.
type workflow struct {
	name    string
	key     *yaml.Node
	body    *yaml.Node
	last    int // the last line of its text (linter.measureSpans); job groups only
	entries []*entry
	byName  map[string]*entry
	deps    map[string][]*entry
	// gate is the workflow's own branch gate (when/unless, schedules), read once.
	gate     branchGate
	gateDone bool
}

// entry is one job invocation in a workflow.
type entry struct {
	wf   *workflow
	ref  string // what it runs: a job name or alias/job
	name string // its name in the workflow (`name:` or ref)
	node *yaml.Node
	body *yaml.Node // the invocation's mapping; nil for a bare name
	// first and last are the lines the entry spans, leading comment lines included.
	first, last int

	requires   []string
	approval   bool
	contexts   []string
	contextKey *yaml.Node
	serial     bool

	def    *jobDef    // the job definition, when defined in this config
	group  *workflow  // the job group it runs, when ref names one
	orb    *orbImport // the orb it comes from, when ref is alias/job
	orbJob string

	deploy bool
	env    string // production, staging, another environment name, or ""
	envWhy string

	// Memoised graph walks: a workflow of thousands of jobs must not cost a cube of that.
	anc, desc         []*entry
	ancDone, descDone bool
	gates             []branchGate
	gatesDone         bool
	actions           []action
	actionsDone       bool
}

// Environment classes.
const (
	envProduction = "production"
	envStaging    = "staging"
)

// knownTopLevel are the top-level keys of a CircleCI config.
var knownTopLevel = wordSet(circleci.ConfigKeys...)

// knownOrbs are orbs whose jobs and commands the rules understand beyond their names.
var knownOrbs = map[string]bool{
	"circleci/aws-cli": true, "circleci/aws-ecr": true, "circleci/aws-ecs": true,
	"circleci/docker": true, "circleci/gcp-cli": true, "circleci/gcp-gcr": true,
	"circleci/gcp-gke": true, "circleci/kubernetes": true, "circleci/helm": true,
	"circleci/node": true, "circleci/go": true, "circleci/python": true, "circleci/slack": true,
	"circleci/aws-eks": true, "circleci/azure-cli": true, "circleci/terraform": true,
}

func buildConfig(root *yaml.Node, opts *Options) *config {
	c := &config{root: root, orbs: map[string]*orbImport{}, jobs: map[string]*jobDef{}}
	for _, p := range circleci.Pairs(circleci.Get(root, "orbs")) {
		imp := &orbImport{alias: p.Name, key: p.Key}
		if ref := circleci.Scalar(p.Value); ref != "" {
			imp.name = ref
			if i := strings.IndexByte(ref, '@'); i >= 0 {
				imp.name = ref[:i]
			}
		}
		imp.shipgate = opts.isShipgateOrb(imp.name)
		imp.known = imp.shipgate || knownOrbs[imp.name]
		c.orbs[p.Name] = imp
	}
	for _, p := range circleci.Pairs(circleci.Get(root, "jobs")) {
		body := circleci.Deref(p.Value)
		c.jobs[p.Name] = &jobDef{name: p.Name, key: p.Key, body: body, steps: circleci.Get(body, "steps")}
	}
	c.jobGroups = map[string]*workflow{}
	for _, p := range circleci.Pairs(circleci.Get(root, "job-groups")) {
		group := &workflow{name: "job group " + p.Name, key: p.Key, body: circleci.Deref(p.Value), byName: map[string]*entry{}}
		for _, item := range circleci.Items(circleci.Get(group.body, "jobs")) {
			if e := c.parseEntry(group, item); e != nil {
				group.entries = append(group.entries, e)
				group.byName[e.name] = e
			}
		}
		c.jobGroups[p.Name] = group
		c.groups = append(c.groups, group)
	}
	c.params = circleci.Pairs(circleci.Get(root, "parameters"))
	c.workflowsKey, _ = circleci.Lookup(root, "workflows")
	for _, p := range circleci.Pairs(circleci.Get(root, "workflows")) {
		if p.Name == "version" {
			continue
		}
		wf := &workflow{name: p.Name, key: p.Key, body: circleci.Deref(p.Value), byName: map[string]*entry{}}
		for _, item := range circleci.Items(circleci.Get(wf.body, "jobs")) {
			e := c.parseEntry(wf, item)
			if e == nil {
				continue
			}
			wf.entries = append(wf.entries, e)
			wf.byName[e.name] = e
		}
		c.workflows = append(c.workflows, wf)
	}
	return c
}

func (c *config) parseEntry(wf *workflow, item *yaml.Node) *entry {
	e := &entry{wf: wf}
	switch item.Kind {
	case yaml.ScalarNode:
		e.ref, e.node = item.Value, item
	case yaml.MappingNode:
		ps := circleci.Pairs(item)
		if len(ps) == 0 {
			return nil
		}
		e.ref, e.node, e.body = ps[0].Name, ps[0].Key, circleci.Deref(ps[0].Value)
		if !circleci.IsMapping(e.body) {
			e.body = nil
		}
	default:
		return nil
	}
	e.name = e.ref
	if n := circleci.Scalar(circleci.Get(e.body, "name")); n != "" {
		e.name = n
	}
	e.first, e.last = e.node.Line, circleci.LastLine(item)
	for _, r := range circleci.Items(circleci.Get(e.body, "requires")) {
		switch r.Kind {
		case yaml.ScalarNode:
			e.requires = append(e.requires, r.Value)
		case yaml.MappingNode: // requires with statuses: `- build: [success, failed]`
			for _, p := range circleci.Pairs(r) {
				e.requires = append(e.requires, p.Name)
			}
		}
	}
	if r := circleci.Get(e.body, "requires"); r != nil && r.Kind == yaml.ScalarNode && r.Value != "" {
		e.requires = append(e.requires, r.Value)
	}
	e.approval = circleci.Scalar(circleci.Get(e.body, "type")) == "approval"
	e.contextKey, _ = circleci.Lookup(e.body, "context")
	e.contexts = circleci.Strings(circleci.Get(e.body, "context"))
	e.serial = circleci.Get(e.body, "serial-group") != nil
	e.def = c.jobs[e.ref]
	if e.def == nil && c.jobGroups != nil {
		e.group = c.jobGroups[e.ref]
	}
	if alias, job, ok := strings.Cut(e.ref, "/"); ok && e.def == nil {
		e.orb, e.orbJob = c.orbs[alias], job
	}
	return e
}

// ancestors lists the entries e requires, directly or through others, in the same workflow.
func (e *entry) ancestors() []*entry {
	if e.ancDone {
		return e.anc
	}
	seen := map[*entry]bool{e: true}
	queue := []*entry{e}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, name := range cur.requires {
			if req := cur.wf.byName[name]; req != nil && !seen[req] {
				seen[req] = true
				e.anc = append(e.anc, req)
				queue = append(queue, req)
			}
		}
	}
	e.ancDone = true
	return e.anc
}

// descendants lists the entries that require e, directly or through others.
func (e *entry) descendants() []*entry {
	if e.descDone {
		return e.desc
	}
	dependents := e.wf.dependents()
	seen := map[*entry]bool{e: true}
	queue := []*entry{e}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, d := range dependents[cur.name] {
			if !seen[d] {
				seen[d] = true
				e.desc = append(e.desc, d)
				queue = append(queue, d)
			}
		}
	}
	e.descDone = true
	return e.desc
}

// dependents maps a job name to the entries that require it directly.
func (wf *workflow) dependents() map[string][]*entry {
	if wf.deps == nil {
		wf.deps = map[string][]*entry{}
		for _, e := range wf.entries {
			for _, name := range e.requires {
				wf.deps[name] = append(wf.deps[name], e)
			}
		}
	}
	return wf.deps
}

// members returns the jobs of the job group the entry runs (none for a plain job).
func (e *entry) members() []*entry {
	if e.group == nil {
		return nil
	}
	return e.group.entries
}

// isShipgateJob reports whether the entry runs the shipgate orb's job of that name.
func (e *entry) isShipgateJob(names ...string) bool {
	if e.orb == nil || !e.orb.shipgate {
		return false
	}
	for _, n := range names {
		if e.orbJob == n {
			return true
		}
	}
	return false
}

// steps returns the step nodes of the entry's job definition.
func (e *entry) steps() []*yaml.Node {
	if e.def == nil {
		return nil
	}
	return circleci.Items(e.def.steps)
}

// stepName returns a step's name: `checkout`, `run`, `alias/command`.
func stepName(step *yaml.Node) (string, *yaml.Node) {
	switch step.Kind {
	case yaml.ScalarNode:
		return step.Value, nil
	case yaml.MappingNode:
		if ps := circleci.Pairs(step); len(ps) > 0 {
			return ps[0].Name, circleci.Deref(ps[0].Value)
		}
	}
	return "", nil
}

// usesShipgateCommand reports whether the job's steps call one of the shipgate orb's commands.
func (c *config) usesShipgateCommand(e *entry, commands ...string) bool {
	for _, step := range e.steps() {
		name, _ := stepName(step)
		alias, cmd, ok := strings.Cut(name, "/")
		if !ok {
			continue
		}
		if imp := c.orbs[alias]; imp != nil && imp.shipgate {
			for _, want := range commands {
				if cmd == want {
					return true
				}
			}
		}
	}
	return false
}
