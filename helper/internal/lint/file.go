package lint

import (
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/shipgate/shipgate/helper/internal/circleci"
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
		configRoot = circleci.Get(root, "usage")
	}
	// For an orb example the top-level checks apply to its config, not to the example file.
	l.cfg = buildConfig(configRoot, opts)
	l.measureSpans()
	l.readDirectives()
	return l
}

// measureSpans sets where each job definition, job group and workflow entry ends in the text.
// The node tree cannot say: a block scalar (`run: |`) is one node on the line of its `|`, and
// its text runs on below. A mapping entry's value is every line after its key indented deeper
// than the key (blank lines included), up to the first line that is not; its last such line
// that holds text is where the entry ends.
func (l *linter) measureSpans() {
	for _, def := range l.cfg.jobs {
		def.last = max(circleci.LastLine(def.body), l.textEnd(def.key))
	}
	for _, group := range l.cfg.jobGroups {
		group.last = max(circleci.LastLine(group.body), l.textEnd(group.key))
		for _, e := range group.entries {
			e.last = max(e.last, l.textEnd(e.node))
		}
	}
	for _, wf := range l.cfg.workflows {
		for _, e := range wf.entries {
			e.last = max(e.last, l.textEnd(e.node))
		}
	}
}

// textEnd is the last line, counting from 1, of the text that belongs to key: key's own line
// and every following line indented deeper than key, blank lines aside.
func (l *linter) textEnd(key *yaml.Node) int {
	if key == nil || key.Line < 1 {
		return 0
	}
	end := key.Line
	for n := key.Line + 1; n <= len(l.lines); n++ {
		line := l.lines[n-1]
		text := strings.TrimLeft(line, " ")
		if text == "" {
			continue
		}
		if len(line)-len(text) < key.Column {
			break // indented no deeper than key (key.Column counts from 1)
		}
		end = n
	}
	return end
}

// isOrbExample recognises an orb example file (src/examples/*.yml): `usage:` holds the config.
func isOrbExample(root *yaml.Node) bool {
	if !circleci.IsMapping(circleci.Get(root, "usage")) {
		return false
	}
	for _, k := range []string{"jobs", "workflows", "version"} {
		if circleci.Get(root, k) != nil {
			return false
		}
	}
	return true
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
	f := Finding{Rule: rule, Severity: r.Severity, File: l.file, Line: p.line, Column: p.col, Message: message, Hint: hint,
		Docs: r.Docs(), Source: r.Source()}
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
		if def.key != nil && line >= def.key.Line && line <= def.last {
			out = append(out, scope{job: def.name, first: def.key.Line, last: def.last})
		}
	}
	return out
}

// The checks, in the order they run. A new rule adds its row to the rules table (rules.go)
// and one line here: a file check sees the whole config, a deploy check one deploy job.
var (
	fileChecks = []func(*linter){
		(*linter).checkUndefinedJobs,
		(*linter).checkApprovalNames,
		(*linter).checkEnvironmentParams,
		(*linter).checkStaticCredentials,
		(*linter).checkPipelineValues,
		(*linter).checkImpossibleValues,
		(*linter).checkShadowedBuiltins,
		(*linter).checkReleasePlanNames,
		(*linter).checkPipelineParamRefs,
		(*linter).checkRollbackCLIs,
		(*linter).checkSharedContexts,
		(*linter).checkRollbackPath,
		(*linter).checkScheduledWorkflows,
	}
	deployChecks = []func(*linter, *entry){
		(*linter).checkApproval,
		(*linter).checkBranches,
		(*linter).checkContext,
		(*linter).checkRebuild,
		(*linter).checkMutableTag,
		(*linter).checkSmokeTest,
		(*linter).checkSerialGroup,
		(*linter).checkInstalledCLIs,
		(*linter).checkArtifactHandOver,
		(*linter).checkKnownGoodRecord,
		(*linter).checkForeignContext,
	}
)

func (l *linter) run() {
	l.checkTopLevel(l.cfg.root)
	l.checkOrbs()
	l.classify() // the deploy jobs and their environments, which most rules judge
	for _, check := range fileChecks {
		check(l)
	}
	for _, e := range l.deployEntries() {
		for _, check := range deployChecks {
			check(l, e)
		}
	}
}

// checkRollbackCLIs applies SG020 to the shipgate orb's rollback jobs, which redeploy with the
// user's deploy steps.
func (l *linter) checkRollbackCLIs() {
	for _, e := range l.rollbackEntries() {
		l.checkInstalledCLIs(e)
	}
}

// rollbackEntries are the shipgate orb's rollback jobs: they redeploy with the user's steps.
func (l *linter) rollbackEntries() []*entry {
	var out []*entry
	for _, wf := range l.cfg.workflows {
		for _, e := range wf.entries {
			if e.isShipgateJob("rollback") {
				out = append(out, e)
			}
		}
	}
	return out
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
