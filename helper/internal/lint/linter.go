package lint

import (
	"fmt"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// linter holds one file's state while the rules run.
type linter struct {
	file     string
	lines    []string
	opts     *Options
	cfg      *config
	findings []Finding
	// fileDisabled holds rules turned off for the whole file or run.
	fileDisabled map[string]bool
	// directives maps a line number to the rules a `# shipgate-lint: disable=` comment there
	// turns off.
	directives map[int][]string

	// memoised per file
	staging       map[*entry]bool
	stagingExists bool
	smoke         map[*entry]bool
}

// scope is a part of the file a job-level disable applies to: a workflow entry or a job
// definition, with its leading comment lines.
type scope struct {
	job         string
	first, last int
}

func newLinter(file string, data []byte, root *yaml.Node, opts *Options) *linter {
	l := &linter{
		file:         file,
		lines:        strings.Split(string(data), "\n"),
		opts:         opts,
		fileDisabled: map[string]bool{},
		directives:   map[int][]string{},
	}
	for _, id := range opts.Disable {
		l.fileDisabled[strings.ToUpper(id)] = true
	}
	configRoot := root
	if isOrbExample(root) {
		configRoot = value(root, "usage")
	}
	// For an orb example the top-level checks apply to its config, not to the example file.
	l.cfg = buildConfig(configRoot, opts)
	l.readDirectives()
	return l
}

// isOrbExample recognises an orb example file (src/examples/*.yml): `usage:` holds the config.
func isOrbExample(root *yaml.Node) bool {
	if !isMapping(value(root, "usage")) {
		return false
	}
	for _, k := range []string{"jobs", "workflows", "version"} {
		if value(root, k) != nil {
			return false
		}
	}
	return true
}

var directivePattern = regexp.MustCompile(`#\s*shipgate-lint:\s*(disable-file|disable)\s*=\s*([A-Za-z0-9_,\s]*)`)

// readDirectives collects `# shipgate-lint: disable=SG003,SG012` (the job the comment is in or
// directly above) and `# shipgate-lint: disable-file=SG011` (the whole file) comments.
func (l *linter) readDirectives() {
	for i, line := range l.lines {
		m := directivePattern.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		lineNo := i + 1
		col := strings.Index(line, "#") + 1
		var ids []string
		for _, id := range strings.FieldsFunc(m[2], func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
			id = strings.ToUpper(id)
			if _, ok := LookupRule(id); !ok && id != "ALL" {
				l.add(RuleUnknownDirectiveRule, yamlPos(lineNo, col), nil,
					fmt.Sprintf("shipgate-lint comment names unknown rule %q", id), "")
				continue
			}
			ids = append(ids, id)
		}
		if m[1] == "disable-file" {
			for _, id := range ids {
				l.fileDisabled[id] = true
			}
			continue
		}
		l.directives[lineNo] = append(l.directives[lineNo], ids...)
	}
}

// commentOnly reports whether line n (1-based) holds only a comment.
func (l *linter) commentOnly(n int) bool {
	if n < 1 || n > len(l.lines) {
		return false
	}
	return strings.HasPrefix(strings.TrimSpace(l.lines[n-1]), "#")
}

// leadingFirst extends a span's first line upwards over the comment lines directly above it.
func (l *linter) leadingFirst(first int) int {
	for l.commentOnly(first - 1) {
		first--
	}
	return first
}

func (l *linter) disabledIn(sc scope, rule string) bool {
	for _, id := range l.opts.JobDisable[sc.job] {
		if strings.EqualFold(id, rule) || strings.EqualFold(id, "all") {
			return true
		}
	}
	for line := l.leadingFirst(sc.first); line <= sc.last; line++ {
		for _, id := range l.directives[line] {
			if id == rule || id == "ALL" {
				return true
			}
		}
	}
	return false
}

// entryScopes are the spans whose directives apply to findings about e: the workflow entry
// and, for a job defined in this file, its definition.
func entryScopes(e *entry) []scope {
	out := []scope{{job: e.name, first: e.first, last: e.last}}
	if e.def != nil && e.def.key != nil {
		out = append(out, scope{job: e.def.name, first: e.def.key.Line, last: lastLine(e.def.body)})
	}
	if e.group != nil && e.group.key != nil {
		out = append(out, scope{job: e.ref, first: e.group.key.Line, last: lastLine(e.group.body)})
	}
	return out
}

// pos is a finding's position.
type pos struct{ line, col int }

func nodePos(n *yaml.Node) pos {
	if n == nil {
		return pos{1, 1}
	}
	return pos{n.Line, n.Column}
}

func yamlPos(line, col int) pos { return pos{line, col} }

// add records a finding unless its rule is disabled for the file or for one of the scopes.
func (l *linter) add(rule string, p pos, scopes []scope, message, hint string) {
	if l.fileDisabled[rule] || l.fileDisabled["ALL"] {
		return
	}
	for _, sc := range scopes {
		if l.disabledIn(sc, rule) {
			return
		}
	}
	r := rulesByID[rule]
	if hint == "" {
		hint = r.Hint
	}
	f := Finding{Rule: rule, Severity: r.Severity, File: l.file, Line: p.line, Column: p.col, Message: message, Hint: hint}
	if len(scopes) > 0 {
		f.Job = scopes[0].job
	}
	l.findings = append(l.findings, f)
}

func (l *linter) result() []Finding {
	out := l.findings
	if out == nil {
		out = []Finding{}
	}
	sortFindings(out)
	return out
}

// scopesAt returns the scopes (workflow entries, job definitions) that contain line.
func (l *linter) scopesAt(line int) []scope {
	var out []scope
	for _, wf := range l.cfg.workflows {
		for _, e := range wf.entries {
			if line >= e.first && line <= e.last {
				out = append(out, scope{job: e.name, first: e.first, last: e.last})
			}
		}
	}
	for _, def := range l.cfg.jobs {
		if def.key != nil && line >= def.key.Line && line <= lastLine(def.body) {
			out = append(out, scope{job: def.name, first: def.key.Line, last: lastLine(def.body)})
		}
	}
	return out
}

func (l *linter) run() {
	l.checkTopLevel(l.cfg.root)
	l.checkOrbs()
	l.classify()
	l.checkUndefinedJobs()
	l.checkApprovalNames()
	l.checkEnvironmentParams()
	l.checkStaticCredentials()
	deploys := l.deployEntries()
	for _, e := range deploys {
		l.checkApproval(e)
		l.checkBranches(e)
		l.checkContext(e)
		l.checkRebuild(e)
		l.checkMutableTag(e)
		l.checkSmokeTest(e)
		l.checkSerialGroup(e)
	}
	l.checkSharedContexts(deploys)
	l.checkRollbackPath(deploys)
	l.checkDelivery(deploys)
}

func (l *linter) deployEntries() []*entry {
	var out []*entry
	for _, wf := range l.cfg.workflows {
		for _, e := range wf.entries {
			if e.deploy {
				out = append(out, e)
			}
		}
	}
	return out
}

// anchorHolders are top-level keys configs commonly use only to hold YAML anchors.
var anchorHolders = wordSet("references", "aliases", "anchors", "defaults", "definitions")

func (l *linter) checkTopLevel(root *yaml.Node) {
	for _, p := range pairs(root) {
		holdsAnchor := p.value != nil && p.value.Anchor != ""
		if !knownTopLevel[p.name] && !anchorHolders[p.name] && !holdsAnchor && !strings.HasPrefix(p.name, "x-") {
			l.add(RuleUnknownTopLevelKey, nodePos(p.key), nil,
				fmt.Sprintf("unknown top-level key %q", p.name), "")
		}
	}
}

func (l *linter) checkOrbs() {
	for _, imp := range l.cfg.orbs {
		if imp.known {
			continue
		}
		what := "orb " + imp.name
		if imp.name == "" {
			what = "inline orb " + imp.alias
		}
		l.add(RuleUnknownOrb, nodePos(imp.key), nil,
			fmt.Sprintf("%s is not known to shipgate lint: its jobs are judged by their names only", what), "")
	}
}

func (l *linter) checkUndefinedJobs() {
	for _, wf := range l.cfg.workflows {
		for _, e := range wf.entries {
			if e.approval || e.def != nil || e.group != nil {
				continue
			}
			if alias, _, ok := strings.Cut(e.ref, "/"); ok {
				if l.cfg.orbs[alias] != nil {
					continue
				}
				l.add(RuleUndefinedJob, nodePos(e.node), entryScopes(e),
					fmt.Sprintf("workflow %s runs %q but no orb is imported as %q", wf.name, e.ref, alias), "")
				continue
			}
			l.add(RuleUndefinedJob, nodePos(e.node), entryScopes(e),
				fmt.Sprintf("workflow %s runs %q, which is not defined under jobs:", wf.name, e.ref), "")
		}
	}
}
