package lint

import (
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
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
	filters := value(e.body, "filters")
	if filters == nil {
		return nil
	}
	if filters.Kind == yaml.ScalarNode {
		if filters.Value == "" {
			return nil
		}
		return []branchGate{expressionGate(filters.Value)}
	}
	branches := value(filters, "branches")
	if branches == nil {
		// Tag filters alone leave every branch enabled.
		return []branchGate{func(string) bool { return true }}
	}
	only := patterns(value(branches, "only"))
	ignore := patterns(value(branches, "ignore"))
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
	for _, s := range stringList(n) {
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

var branchEquals = regexp.MustCompile(`pipeline\.git\.branch\s*==\s*["']([^"']*)["']`)

// expressionGate reads the expression form of job filters (`filters: pipeline.git.branch ==
// "main"`). It recognises equality with a branch; an expression it cannot read is assumed to
// limit the job (the linter does not guess against the author).
func expressionGate(expr string) branchGate {
	ms := branchEquals.FindAllStringSubmatch(expr, -1)
	if len(ms) == 0 || strings.Contains(expr, "!=") {
		return func(string) bool { return false }
	}
	allowed := map[string]bool{}
	for _, m := range ms {
		allowed[m[1]] = true
	}
	return func(b string) bool { return allowed[b] }
}

// workflowGate reads a workflow's `when:`/`unless:` conditions about << pipeline.git.branch >>
// and the branch filters of its scheduled `triggers:` (a workflow with triggers runs only on
// its schedules).
func workflowGate(wf *workflow) branchGate {
	when, unless := value(wf.body, "when"), value(wf.body, "unless")
	var schedules []branchGate
	for _, t := range items(value(wf.body, "triggers")) {
		branches := value(value(value(t, "schedule"), "filters"), "branches")
		only, ignore := patterns(value(branches, "only")), patterns(value(branches, "ignore"))
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
			if v, known := evalCondition(when, b, 0); known && !v {
				return false
			}
		}
		if unless != nil {
			if v, known := evalCondition(unless, b, 0); known && v {
				return false
			}
		}
		return true
	}
}

var gitBranchValue = regexp.MustCompile(`^<<\s*pipeline\.git\.branch\s*>>$`)

// evalCondition evaluates a CircleCI logic statement for a branch; known is false when the
// result depends on something other than the branch.
func evalCondition(n *yaml.Node, branch string, depth int) (result, known bool) {
	n = deref(n)
	if n == nil || depth > 32 {
		return false, false
	}
	if n.Kind != yaml.MappingNode {
		return false, false
	}
	ps := pairs(n)
	if len(ps) != 1 {
		return false, false
	}
	op, arg := ps[0].name, deref(ps[0].value)
	switch op {
	case "equal":
		vals := stringList(arg)
		if len(vals) != 2 {
			return false, false
		}
		for i, v := range vals {
			if gitBranchValue.MatchString(strings.TrimSpace(v)) {
				return vals[1-i] == branch, true
			}
		}
	case "matches":
		if gitBranchValue.MatchString(strings.TrimSpace(scalarValue(value(arg, "value")))) {
			re, err := regexp.Compile("^(?:" + scalarValue(value(arg, "pattern")) + ")$")
			if err == nil {
				return re.MatchString(branch), true
			}
		}
	case "not":
		v, k := evalCondition(arg, branch, depth+1)
		return !v, k
	case "and":
		all := true
		for _, item := range items(arg) {
			v, k := evalCondition(item, branch, depth+1)
			if k && !v {
				return false, true
			}
			all = all && k
		}
		return true, all
	case "or":
		all := true
		for _, item := range items(arg) {
			v, k := evalCondition(item, branch, depth+1)
			if k && v {
				return true, true
			}
			all = all && k
		}
		return false, all
	}
	return false, false
}

// gates collects every branch gate along the entry's requires chain and its workflow's when.
func gates(e *entry) []branchGate {
	var out []branchGate
	if g := workflowGate(e.wf); g != nil {
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
		filters := value(x.body, "filters")
		if filters != nil && filters.Kind == yaml.ScalarNode {
			for _, m := range branchEquals.FindAllStringSubmatch(filters.Value, -1) {
				add(m[1])
			}
			continue
		}
		for _, p := range patterns(value(value(filters, "branches"), "only")) {
			if p.re == nil {
				add(p.exact)
			}
		}
	}
	for _, cond := range []*yaml.Node{value(e.wf.body, "when"), value(e.wf.body, "unless")} {
		for _, s := range scalars(cond) {
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
