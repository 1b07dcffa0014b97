package lint

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/shipgate/shipgate/helper/internal/circleci"
)

// Rules about what CircleCI itself enforces or has retired (issue 16: the published examples
// failed on CircleCI while passing the project's own checks). Their facts live in the
// circleci package, with sources.

// pipelineValueRefs find each noted pipeline value in a `<< >>` reference or an expression.
var pipelineValueRefs = sync.OnceValue(func() map[string]*regexp.Regexp {
	m := map[string]*regexp.Regexp{}
	for _, n := range circleci.PipelineValueNotes {
		m[n.Value] = regexp.MustCompile(`\bpipeline\.` + regexp.QuoteMeta(n.Value) + `\b`)
	}
	return m
})

// SG105, SG106: deprecated pipeline values, and values only some pipelines set.
func (l *linter) checkPipelineValues() {
	circleci.Walk(l.cfg.root, func(_, n *yaml.Node) {
		if n.Kind != yaml.ScalarNode || !strings.Contains(n.Value, "pipeline.") {
			return
		}
		for _, note := range circleci.PipelineValueNotes {
			loc := pipelineValueRefs()[note.Value].FindStringIndex(n.Value)
			if loc == nil {
				continue
			}
			rule := RuleUnavailablePipelineVal
			if note.Deprecated {
				rule = RuleDeprecatedPipelineVal
			}
			msg := fmt.Sprintf("pipeline.%s %s", note.Value, note.Problem)
			hint := ""
			if note.Instead != "" {
				hint = "use " + note.Instead
			}
			p := l.textPos(n, loc[0], "pipeline."+note.Value)
			l.add(rule, p, l.scopesAt(p.line), msg, hint)
		}
	})
}

// SG108: a reference to a pipeline parameter the config does not declare. CircleCI compiles
// the whole config, so it refuses the pipeline whichever workflow would run (issue 16 point 2:
// the published rollback example lost its parameters).
func (l *linter) checkPipelineParamRefs() {
	declared := map[string]bool{}
	for _, p := range l.cfg.params {
		declared[p.Name] = true
	}
	reported := map[string]bool{}
	circleci.Walk(l.cfg.root, func(_, n *yaml.Node) {
		if n.Kind != yaml.ScalarNode || !strings.Contains(n.Value, "pipeline.parameters.") {
			return
		}
		for _, name := range circleci.UndeclaredPipelineParams(n.Value, declared) {
			if reported[name] {
				continue
			}
			ref := "pipeline.parameters." + name
			p := l.textPos(n, max(0, strings.Index(n.Value, ref)), ref)
			before := len(l.findings)
			l.add(RuleUndeclaredPipelineParam, p, l.scopesAt(p.line),
				fmt.Sprintf("pipeline parameter %q is referenced but not declared under parameters: CircleCI refuses to compile the config", name), "")
			// Only a reported reference counts: one inside a job with an exception for SG108
			// must not hide the same parameter referenced elsewhere.
			reported[name] = len(l.findings) > before
		}
	})
}

// textPos is the position of the text at offset in scalar n, found in the file: block scalars
// start on the line after their indicator, and the column is where the text is on its line.
func (l *linter) textPos(n *yaml.Node, offset int, text string) pos {
	line := n.Line + strings.Count(n.Value[:offset], "\n")
	if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		line++
	}
	if line >= 1 && line <= len(l.lines) {
		if col := strings.Index(l.lines[line-1], text); col >= 0 {
			return pos{line, col + 1}
		}
	}
	return nodePos(n)
}

// SG107: a command defined in the config (or an inline orb) named like a built-in step. An
// unqualified call then reads as the built-in: CircleCI's language server takes `deploy` for
// the deprecated built-in deploy step (issue 16 point 7).
func (l *linter) checkShadowedBuiltins() {
	check := func(commands *yaml.Node, where string) {
		for _, p := range circleci.Pairs(commands) {
			if circleci.BuiltinSteps[p.Name] {
				l.add(RuleShadowedBuiltinStep, nodePos(p.Key), nil,
					fmt.Sprintf("%s command %q has the name of CircleCI's built-in step %q", where, p.Name, p.Name), "")
			}
		}
	}
	check(circleci.Get(l.cfg.root, "commands"), "the config's")
	for _, imp := range l.cfg.orbs {
		if imp.name != "" {
			continue
		}
		body := circleci.Get(circleci.Get(l.cfg.root, "orbs"), imp.alias)
		check(circleci.Get(body, "commands"), "inline orb "+imp.alias+"'s")
	}
}

// SG021: `circleci run release plan|update` without a deploy name. The name defaults to `default`,
// so two deploys planned in one workflow (two environments, or a rollback planned in the same
// job) collide on it (FACTS.md; issue 16 point 6).
func (l *linter) checkReleasePlanNames() {
	var scripts []*yaml.Node
	for _, key := range []string{"jobs", "commands"} {
		for _, p := range circleci.Pairs(circleci.Get(l.cfg.root, key)) {
			circleci.Walk(p.Value, func(_, n *yaml.Node) {
				if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "run release") {
					scripts = append(scripts, n)
				}
			})
		}
	}
	for _, n := range scripts {
		for _, offset := range circleci.UnnamedReleaseMarkers(n.Value) {
			p := l.textPos(n, offset, "circleci run release")
			l.add(RuleReleasePlanName, p, l.scopesAt(p.line),
				"`circleci run release plan|update` has no deploy name, so every marker in the workflow is named `default`", "")
		}
	}
}

// shipgateDefaultImage is the image of the shipgate orb's `default` executor
// (src/executors/default.yml: cimg/base:<< parameters.tag >>; a test keeps the two in step).
const shipgateDefaultImage = "cimg/base"

// jobImage works out the image a workflow entry's job runs on, when it can be known.
func (l *linter) jobImage(e *entry) (circleci.ImageTools, bool) {
	switch {
	case e.def != nil:
		return l.executorImage(e.def.body, 0)
	case e.orb != nil && e.orb.shipgate:
		// The orb's jobs take an `executor` parameter whose default is the orb's `default`.
		if ex := circleci.Get(e.body, "executor"); ex != nil {
			return l.executorRef(ex, 0)
		}
		return circleci.LookupImage(shipgateDefaultImage)
	}
	return circleci.ImageTools{}, false
}

// executorImage reads the image of a job or executor body: docker's first image, machine's
// image, or the executor it names.
func (l *linter) executorImage(body *yaml.Node, depth int) (circleci.ImageTools, bool) {
	if depth > maxCommandDepth {
		return circleci.ImageTools{}, false
	}
	if docker := circleci.Items(circleci.Get(body, "docker")); len(docker) > 0 {
		return circleci.LookupImage(circleci.Scalar(circleci.Get(docker[0], "image")))
	}
	if m := circleci.Get(body, "machine"); m != nil {
		return circleci.LookupImage(circleci.Scalar(circleci.Get(m, "image")))
	}
	if ex := circleci.Get(body, "executor"); ex != nil {
		return l.executorRef(ex, depth+1)
	}
	return circleci.ImageTools{}, false
}

// executorRef resolves `executor: name` or `executor: {name: …}`.
func (l *linter) executorRef(ex *yaml.Node, depth int) (circleci.ImageTools, bool) {
	name := circleci.Scalar(ex)
	if name == "" {
		name = circleci.Scalar(circleci.Get(ex, "name"))
	}
	if alias, short, ok := strings.Cut(name, "/"); ok {
		if imp := l.cfg.orbs[alias]; imp != nil && imp.shipgate && short == "default" {
			return circleci.LookupImage(shipgateDefaultImage)
		}
		return circleci.ImageTools{}, false
	}
	if def := circleci.Get(circleci.Get(l.cfg.root, "executors"), name); def != nil {
		return l.executorImage(def, depth+1)
	}
	return circleci.ImageTools{}, false
}

// entryActions lists what a deploy entry's job does, including the steps passed to the
// shipgate orb's jobs (`steps:`, `pre-steps:`, `post-steps:`), which run on its executor.
func (l *linter) entryActions(e *entry) []action {
	var out []action
	l.appendActions(&out, circleci.Items(circleci.Get(e.body, "pre-steps")), 0)
	if e.def != nil {
		l.appendActions(&out, circleci.Items(e.def.steps), 0)
	} else if e.orb != nil && e.orb.shipgate {
		l.appendActions(&out, circleci.Items(circleci.Get(e.body, "steps")), 0)
	}
	l.appendActions(&out, circleci.Items(circleci.Get(e.body, "post-steps")), 0)
	return out
}

// callInstalls records what a command call installs; false means it is another orb's command,
// which could install anything.
func callInstalls(a action, installed map[string]bool) bool {
	if a.orb == nil {
		return true // a built-in step, or a config command whose steps follow
	}
	if clis, known := circleci.OrbInstalls[a.orbCommand()]; known {
		for _, c := range clis {
			installed[c] = true
		}
		return true
	}
	return a.orb.shipgate // shipgate's commands install only the helper
}

// SG020: a deploy (or shipgate rollback) step calls a CLI that the job's image does not ship and that no earlier
// step installs: it fails with exit 127 after the ledger recorded `deploying` (issue 16
// point 5). Only images whose tool list is known complete are judged, and the check stops at
// an orb command that could install anything.
func (l *linter) checkInstalledCLIs(e *entry) {
	image, ok := l.jobImage(e)
	if !ok || !image.Complete {
		return
	}
	kind := "deploy"
	if !e.deploy {
		kind = "rollback"
	}
	installed := map[string]bool{}
	reported := map[string]bool{}
	for _, a := range l.entryActions(e) {
		if a.call != "run" {
			if !callInstalls(a, installed) {
				return // another orb's command may install anything: judge no further
			}
			continue
		}
		for _, c := range circleci.InstalledBy(a.script) {
			installed[c] = true
		}
		var missing []string
		for _, c := range circleci.CLIsRunBy(a.cmds) {
			if !image.Ships(c) && !installed[c] && !reported[c] {
				reported[c] = true
				missing = append(missing, c)
			}
		}
		if len(missing) == 0 {
			continue
		}
		sort.Strings(missing)
		l.add(RuleMissingCLI, nodePos(a.node), entryScopes(e),
			fmt.Sprintf("%s job %s runs %s, which %s does not ship and no earlier step installs",
				kind, e.name, strings.Join(missing, ", "), image.Image), "")
	}
}

// valueComparison is circleci.ValueComparisonPattern, compiled on first use.
var valueComparison = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(circleci.ValueComparisonPattern)
})

// SG109: a pipeline value with a closed set of values (circleci.PipelineValueDomains) compared
// with something else, in a logic statement (`equal: [schedule, << pipeline.trigger.type >>]`)
// or an expression (`pipeline.trigger.type == "schedule"`): the condition never holds, so a
// workflow it guards never runs, or always does.
func (l *linter) checkImpossibleValues() {
	domains := map[string][]string{}
	for _, d := range circleci.PipelineValueDomains {
		domains[d.Value] = d.Values
	}
	report := func(n *yaml.Node, offset int, text, value, literal string) {
		allowed, ok := domains[value]
		if !ok || slices.Contains(allowed, literal) {
			return
		}
		hint := "compare with " + strings.Join(allowed, ", ")
		if value == "trigger.type" && literal == "scheduled_pipeline" {
			hint = `use "schedule": "scheduled_pipeline" was pipeline.trigger_source's value`
		}
		p := l.textPos(n, offset, text)
		l.add(RuleImpossibleValue, p, l.scopesAt(p.line),
			fmt.Sprintf("pipeline.%s is never %q: CircleCI sets %s", value, literal, strings.Join(allowed, ", ")), hint)
	}
	circleci.Walk(l.cfg.root, func(parent, n *yaml.Node) {
		switch n.Kind {
		case yaml.SequenceNode:
			if !isEqualStatement(parent, n) {
				return
			}
			var refs []string
			var literals []*yaml.Node
			for _, item := range n.Content {
				if item.Kind != yaml.ScalarNode {
					continue
				}
				if ref, ok := wholeValueRef(item.Value); ok {
					refs = append(refs, ref)
				} else if item.ShortTag() == "!!str" && !strings.Contains(item.Value, "<<") {
					literals = append(literals, item) // a string: a number or a boolean is another mistake
				}
			}
			for _, ref := range refs {
				for _, lit := range literals {
					report(lit, 0, lit.Value, ref, lit.Value)
				}
			}
		case yaml.ScalarNode:
			if !strings.Contains(n.Value, "pipeline.") {
				return
			}
			for _, m := range valueComparison().FindAllStringSubmatchIndex(n.Value, -1) {
				if m[2] >= 0 {
					report(n, m[0], n.Value[m[0]:m[1]], n.Value[m[2]:m[3]], n.Value[m[6]:m[7]])
				} else {
					report(n, m[0], n.Value[m[0]:m[1]], n.Value[m[10]:m[11]], n.Value[m[8]:m[9]])
				}
			}
		}
	})
}

// isEqualStatement reports whether seq is the operand list of an `equal:` logic statement.
func isEqualStatement(parent, seq *yaml.Node) bool {
	if parent == nil || parent.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(parent.Content); i += 2 {
		if parent.Content[i+1] == seq {
			return parent.Content[i].Value == "equal"
		}
	}
	return false
}

// wholeValueRef reads a scalar that is exactly one `<< pipeline.X >>` reference.
func wholeValueRef(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "<<") || !strings.HasSuffix(s, ">>") {
		return "", false
	}
	inner := strings.TrimSpace(s[2 : len(s)-2])
	value, ok := strings.CutPrefix(inner, "pipeline.")
	if !ok || strings.ContainsAny(value, " <>") {
		return "", false
	}
	return value, true
}
