package lint

import (
	"regexp"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/shipgate/shipgate/helper/internal/circleci"
)

// branchGate says whether a job may run on a branch. CircleCI runs a job only when its own
// filters, the filters of every job it requires, and its workflow's `when` all let it run, so
// a deploy job is limited by the gates along its whole requires chain.
type branchGate func(branch string) bool

// probeBranches are branches no deploy should run on; a gate that lets any of them through
// does not limit the job to one branch.
var probeBranches = []string{"feature/shipgate-lint-probe", "shipgate-lint-probe", "fix/shipgate-lint-probe",
	"hotfix/shipgate-lint-probe", "release/shipgate-lint-probe", "dependabot/shipgate-lint-probe",
	"renovate/shipgate-lint-probe"}

// entryGates returns the branch gates of an entry's own filters, or nil when it has none.
func entryGates(e *entry) []branchGate {
	if !e.gatesDone {
		e.gates, e.gatesDone = readEntryGates(e), true
	}
	return e.gates
}

func readEntryGates(e *entry) []branchGate {
	filters := circleci.Get(e.body, "filters")
	if filters == nil {
		return nil
	}
	if filters.Kind == yaml.ScalarNode {
		if filters.Value == "" {
			return nil
		}
		return []branchGate{expressionGate(filters.Value)}
	}
	branches := circleci.Get(filters, "branches")
	if branches == nil {
		// Tag filters alone leave every branch enabled.
		return []branchGate{func(string) bool { return true }}
	}
	only := patterns(circleci.Get(branches, "only"))
	ignore := patterns(circleci.Get(branches, "ignore"))
	return []branchGate{func(b string) bool {
		if len(only) > 0 && !matchAny(only, b) {
			return false
		}
		return !matchAny(ignore, b)
	}}
}

// pattern is a CircleCI filter value: an exact name, or a /regex/ that must match the whole name.
type pattern struct {
	exact string
	re    *regexp.Regexp
}

func patterns(n *yaml.Node) []pattern {
	var out []pattern
	for _, s := range circleci.Strings(n) {
		if len(s) >= 2 && strings.HasPrefix(s, "/") && strings.HasSuffix(s, "/") {
			re, err := regexp.Compile("^(?:" + s[1:len(s)-1] + ")$")
			if err == nil {
				out = append(out, pattern{re: re})
				continue
			}
		}
		out = append(out, pattern{exact: s})
	}
	return out
}

func matchAny(ps []pattern, b string) bool {
	for _, p := range ps {
		if p.re != nil && p.re.MatchString(b) || p.re == nil && p.exact == b {
			return true
		}
	}
	return false
}

var branchEquals = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`pipeline\.git\.branch\s*==\s*["']([^"']*)["']`) })

// expressionGate reads the expression form of job filters (`filters: pipeline.git.branch ==
// "main"`) with the model's expression rules. An expression whose result depends on something
// other than the branch, or that cannot be read, is assumed to limit the job (the linter does
// not guess against the author).
func expressionGate(expr string) branchGate {
	return func(b string) bool {
		v, err := circleci.EvalExpression(expr, branchScope(b))
		if _, unknown := v.(circleci.Unknown); err != nil || unknown {
			return false
		}
		return circleci.Truthy(v)
	}
}

// workflowGate reads a workflow's `when:`/`unless:` conditions about << pipeline.git.branch >>
// and the branch filters of its scheduled `triggers:` (a workflow with triggers runs only on
// its schedules).
func workflowGate(wf *workflow) branchGate {
	when, unless := readCondition(circleci.Get(wf.body, "when")), readCondition(circleci.Get(wf.body, "unless"))
	var schedules []branchGate
	for _, t := range circleci.Items(circleci.Get(wf.body, "triggers")) {
		branches := circleci.Get(circleci.Get(circleci.Get(t, "schedule"), "filters"), "branches")
		only, ignore := patterns(circleci.Get(branches, "only")), patterns(circleci.Get(branches, "ignore"))
		schedules = append(schedules, func(b string) bool {
			return (len(only) == 0 || matchAny(only, b)) && !matchAny(ignore, b)
		})
	}
	if when == nil && unless == nil && schedules == nil {
		return nil
	}
	return func(b string) bool {
		if schedules != nil {
			allowed := false
			for _, g := range schedules {
				allowed = allowed || g(b)
			}
			if !allowed {
				return false
			}
		}
		if when != nil {
			if v, known := when.eval(b); known && !v {
				return false
			}
		}
		if unless != nil {
			if v, known := unless.eval(b); known && v {
				return false
			}
		}
		return true
	}
}

// branchScope resolves pipeline.git.branch to the probed branch; every other reference is
// Unknown, so a condition that depends on it stays undecided.
func branchScope(branch string) *circleci.Scope {
	return &circleci.Scope{What: "condition", Partial: true,
		Pipeline: &circleci.PipelineValues{Values: map[string]any{"git.branch": branch}}}
}

// condition is a workflow's when/unless read once, evaluated per probed branch by the model's
// own rules (YAML 1.1 booleans, logic statements, expressions).
type condition struct {
	value any
	err   error
}

// maxConditionValues bounds a condition's size once its aliases are expanded; real ones hold
// a handful of values.
const maxConditionValues = 10000

func readCondition(n *yaml.Node) *condition {
	if n == nil {
		return nil
	}
	v, err := circleci.ValueWithin(n, maxConditionValues)
	return &condition{value: v, err: err}
}

// eval decides the condition for a branch; known is false when the result depends on
// something other than the branch (or the condition cannot be read).
func (c *condition) eval(branch string) (result, known bool) {
	if c.err != nil {
		return false, false
	}
	sc := branchScope(branch)
	if text, ok := c.value.(string); ok && !circleci.IsWholeRef(text) {
		// A string that is not one << >> reference is an expression: pipeline.git.branch == "main".
		v, err := circleci.EvalExpression(strings.TrimSpace(text), sc)
		if _, unknown := v.(circleci.Unknown); err != nil || unknown {
			return false, false
		}
		return circleci.Truthy(v), true
	}
	v, err := circleci.Substitute(c.value, sc)
	if err != nil {
		return false, false
	}
	result, known, err = circleci.EvalCondition(v)
	return result, known && err == nil
}

// gates collects every branch gate along the entry's requires chain and its workflow's when.
func gates(e *entry) []branchGate {
	var out []branchGate
	if !e.wf.gateDone {
		// Read once per workflow: its conditions are decoded (aliases expanded) for the model.
		e.wf.gate, e.wf.gateDone = workflowGate(e.wf), true
	}
	if g := e.wf.gate; g != nil {
		out = append(out, g)
	}
	out = append(out, entryGates(e)...)
	for _, a := range e.ancestors() {
		out = append(out, entryGates(a)...)
	}
	return out
}

// runsOn reports whether all gates let branch through.
func runsOn(gs []branchGate, branch string) bool {
	for _, g := range gs {
		if !g(branch) {
			return false
		}
	}
	return true
}

// namedBranches lists the branch names the entry's chain and workflow mention literally, so
// limitedTo can probe them: `only: trunk` on a production deploy is not "limited to main".
func namedBranches(e *entry) []string {
	var out []string
	seen := map[string]bool{}
	add := func(b string) {
		// A bounded probe set: enough for real configs, no blow-up for generated ones.
		if !seen[b] && len(out) < maxNamedBranches {
			seen[b] = true
			out = append(out, b)
		}
	}
	for _, x := range append([]*entry{e}, e.ancestors()...) {
		filters := circleci.Get(x.body, "filters")
		if filters != nil && filters.Kind == yaml.ScalarNode {
			for _, m := range branchEquals().FindAllStringSubmatch(filters.Value, -1) {
				add(m[1])
			}
			continue
		}
		for _, p := range patterns(circleci.Get(circleci.Get(filters, "branches"), "only")) {
			if p.re == nil {
				add(p.exact)
			}
		}
	}
	for _, cond := range []*yaml.Node{circleci.Get(e.wf.body, "when"), circleci.Get(e.wf.body, "unless")} {
		for _, s := range circleci.Scalars(cond) {
			if !strings.Contains(s, "<<") {
				add(s)
			}
		}
	}
	return out
}

const maxNamedBranches = 64

// limitedTo reports whether the gates keep the job off every branch except those in want (a
// job that runs on no branch at all, e.g. tags only, is limited too). The check probes
// branches that must not deploy: typical feature branches, the other environment's branch and
// every branch the filters name.
func limitedTo(gs []branchGate, want []string, others ...string) bool {
	allowed := wordSet(want...)
	for _, b := range append(append([]string{}, probeBranches...), others...) {
		if !allowed[b] && runsOn(gs, b) {
			return false
		}
	}
	return true
}
