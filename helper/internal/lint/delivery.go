package lint

import (
	"fmt"
	"regexp"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/shipgate/shipgate/helper/internal/circleci"
)

// The delivery rules (issue 17): how the artifact reaches a deploy, that production records
// its known-good state, how recurring releases are triggered, and whose context a deploy uses.
// Registered in file.go's check tables (three deploy checks, one file check).
// The config-policy bundle encodes the same rules (helper/internal/policy/rego/sg015-sg018).
const (
	RuleArtifactHandOver  = "SG015"
	RuleKnownGoodRecord   = "SG016"
	RuleScheduledWorkflow = "SG017"
	RuleForeignContext    = "SG018"
)

var deliveryRules = []Rule{
	{RuleArtifactHandOver, SeverityError, "deploy job does not receive the built artifact",
		"attach the workspace with release.json (or resolve the digest with `shipgate find`) and deploy that digest"},
	{RuleKnownGoodRecord, SeverityError, "production deploy records no known-good state",
		"run `shipgate/mark_good` (or `shipgate mark-good`) after the production smoke test, or use the `shipgate/deploy` job, which does"},
	{RuleScheduledWorkflow, SeverityError, "release scheduled with workflow triggers",
		"remove `triggers: - schedule:` and create a scheduled pipeline (Project Settings > Triggers) that runs the workflow"},
	{RuleForeignContext, SeverityError, "deploy job uses another environment's context",
		"give each deploy job the context of its own environment (e.g. production-deploy for production)"},
}

// ledgerLookup is a step that resolves a digest from the ledger rather than building one.
var ledgerLookup = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\bshipgate\s+(find|rollback)\b`) })

// receivesArtifact reports whether a job defined in this config gets the artifact built
// earlier: it attaches the workspace, uses shipgate's orb, or refers to a digest.
func (l *linter) receivesArtifact(e *entry) bool {
	for _, step := range e.steps() {
		name, body := stepName(step)
		if name == "attach_workspace" {
			return true
		}
		if alias, _, ok := strings.Cut(name, "/"); ok {
			if imp := l.cfg.orbs[alias]; imp != nil && imp.shipgate {
				return true
			}
		}
		for _, s := range circleci.Scalars(body) {
			if digestHints().MatchString(s) || ledgerLookup().MatchString(s) {
				return true
			}
		}
	}
	return false
}

// SG015: a deploy job defined here must receive the artifact through the workspace or a
// recorded digest; otherwise it rebuilds or guesses. Production is SG008's (its third case).
// An orb's job is not visible here and is not judged.
func (l *linter) checkArtifactHandOver(e *entry) {
	if e.env == envProduction || e.def == nil || e.orb != nil || l.receivesArtifact(e) {
		return
	}
	l.add(RuleArtifactHandOver, nodePos(e.node), entryScopes(e),
		fmt.Sprintf("deploy job %s neither attaches the workspace nor resolves a recorded digest", e.name), "")
}

// SG016: a production deploy must be followed by a known-good mark after its smoke test: the
// orb's deploy job (which marks good after its smoke test), a job whose mark-good step follows
// its smoke test, or a mark-good job after a smoke-tested one. The orb's deploy command records
// only deploying and deployed (src/commands/deploy.yml), so it does not count.
func (l *linter) checkKnownGoodRecord(e *entry) {
	if e.env != envProduction {
		return
	}
	chain := append([]*entry{e}, e.descendants()...)
	for _, j := range chain {
		for _, x := range append([]*entry{j}, j.members()...) {
			if x.isShipgateJob("deploy_release", "deploy") || l.marksGoodAfterSmoke(x) {
				return
			}
		}
	}
	for _, s := range chain {
		if !l.smokeTested(s) {
			continue
		}
		for _, d := range s.descendants() {
			if l.marksGood(d) {
				return
			}
		}
	}
	l.add(RuleKnownGoodRecord, nodePos(e.node), entryScopes(e),
		fmt.Sprintf("production deploy job %s%s records no known-good state after its smoke test", e.name, envNote(e)), "")
}

var markGoodCommand = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\bshipgate\s+mark-good\b`) })

// isMarkGood reports whether a step records a known-good state.
func (l *linter) isMarkGood(step *yaml.Node) bool {
	name, body := stepName(step)
	if alias, cmd, ok := strings.Cut(name, "/"); ok {
		imp := l.cfg.orbs[alias]
		return imp != nil && imp.shipgate && cmd == "mark_good"
	}
	return name == "run" && markGoodCommand().MatchString(runText(body))
}

// isSmokeStep reports whether a step is a smoke test or health check (as hasSmokeTest reads it).
func (l *linter) isSmokeStep(step *yaml.Node) bool {
	name, body := stepName(step)
	if alias, cmd, ok := strings.Cut(name, "/"); ok {
		if imp := l.cfg.orbs[alias]; imp != nil && imp.shipgate && cmd == "smoke_test" {
			return true
		}
	}
	if name != "run" {
		return anyWord(words(name), smokeWords)
	}
	text := runText(body)
	return anyWord(words(text), smokeWords) || strings.Contains(text, "shipgate smoke-test")
}

func runText(body *yaml.Node) string {
	if text := circleci.Scalar(body); text != "" {
		return text
	}
	return circleci.Scalar(circleci.Get(body, "name")) + " " + circleci.Scalar(circleci.Get(body, "command"))
}

func (l *linter) marksGood(e *entry) bool {
	for _, x := range append([]*entry{e}, e.members()...) {
		for _, step := range x.steps() {
			if l.isMarkGood(step) {
				return true
			}
		}
	}
	return false
}

// marksGoodAfterSmoke reports whether the job has a mark-good step after a smoke step.
func (l *linter) marksGoodAfterSmoke(e *entry) bool {
	smoked := false
	for _, step := range e.steps() {
		if smoked && l.isMarkGood(step) {
			return true
		}
		smoked = smoked || l.isSmokeStep(step)
	}
	return false
}

// SG017: a workflow that deploys on a `triggers: - schedule:` should be a scheduled pipeline:
// CircleCI deprecates scheduled workflows, and a scheduled pipeline runs as a named actor whose
// contexts can be restricted (docs/lint.md#sg017).
func (l *linter) checkScheduledWorkflows() {
	for _, wf := range l.cfg.workflows {
		var schedule *yaml.Node
		for _, t := range circleci.Items(circleci.Get(wf.body, "triggers")) {
			if k, _ := circleci.Lookup(t, "schedule"); k != nil {
				schedule = k
				break
			}
		}
		if schedule == nil {
			continue
		}
		for _, e := range wf.entries {
			if e.deploy {
				l.add(RuleScheduledWorkflow, nodePos(schedule), nil,
					fmt.Sprintf("workflow %s deploys on a schedule set by `triggers: - schedule:`; use a scheduled pipeline", wf.name), "")
				break
			}
		}
	}
}

// SG018: a deploy job's contexts must not name another environment: a production job with
// the staging context (or the reverse) runs with the wrong credentials and restrictions.
func (l *linter) checkForeignContext(e *entry) {
	if e.env == "" {
		return
	}
	for _, c := range e.contexts {
		if other := envOfText(c); other != "" && other != e.env {
			where := e.contextKey
			if where == nil {
				where = e.node
			}
			l.add(RuleForeignContext, nodePos(where), entryScopes(e),
				fmt.Sprintf("deploy job %s%s deploys %s but uses context %s, which is for %s", e.name, envNote(e), e.env, c, other), "")
		}
	}
}
