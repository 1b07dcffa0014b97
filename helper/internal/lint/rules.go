package lint

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Severity is how much a finding matters. Errors fail the lint (exit code 6); warnings fail it
// only with FailOn set to SeverityWarning; notes never do.
type Severity string

const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
	SeverityNote    Severity = "note"
)

func (s Severity) rank() int {
	switch s {
	case SeverityError:
		return 3
	case SeverityWarning:
		return 2
	case SeverityNote:
		return 1
	}
	return 0
}

// ParseSeverity accepts error, warning or note.
func ParseSeverity(s string) (Severity, error) {
	switch v := Severity(strings.ToLower(strings.TrimSpace(s))); v {
	case SeverityError, SeverityWarning, SeverityNote:
		return v, nil
	}
	return "", fmt.Errorf("severity %q: want error, warning or note", s)
}

// Rule is one check. IDs are stable: a rule that is retired keeps its ID unused.
// docs/lint.md describes every rule, its rationale and how to disable it.
type Rule struct {
	ID       string   `json:"id"`
	Severity Severity `json:"severity"`
	// Title is a short name for the rule (SARIF and JUnit show it).
	Title string `json:"title"`
	// Hint is the default fix hint; a finding may carry a more specific one.
	Hint string `json:"hint"`
}

// docsURI is the page that describes every rule; a rule's section is its lower-case ID.
const docsURI = "https://github.com/shipgate/shipgate/blob/main/docs/lint.md"

// Docs is the rule's section in docs/lint.md.
func (r Rule) Docs() string { return docsURI + "#" + strings.ToLower(r.ID) }

// Source is CircleCI's own page for what the rule enforces, for the rules about CircleCI
// itself; "" for shipgate's deployment rules.
func (r Rule) Source() string { return ruleSources[r.ID] }

// MarshalJSON writes the rule with its docs and source links, so the rule table can be read
// whole (the config-policy bundle is built from it).
func (r Rule) MarshalJSON() ([]byte, error) {
	type plain Rule
	return json.Marshal(struct {
		plain
		Docs   string `json:"docs"`
		Source string `json:"source,omitempty"`
	}{plain(r), r.Docs(), r.Source()})
}

// The rule IDs. SG0xx are deployment rules; SG1xx are about the input itself.
const (
	RuleProductionApproval    = "SG001"
	RuleDeployFilters         = "SG002"
	RuleProductionBranch      = "SG003"
	RuleStagingBranch         = "SG004"
	RuleDeployContext         = "SG005"
	RuleSharedContext         = "SG006"
	RuleStaticCredentials     = "SG007"
	RuleProductionRebuild     = "SG008"
	RuleMutableTag            = "SG009"
	RuleSmokeTest             = "SG010"
	RuleRollbackPath          = "SG011"
	RuleSerialGroup           = "SG012"
	RuleApprovalNameIsJob     = "SG013"
	RuleEnvironmentParamEnum  = "SG014"
	RuleUnknownTopLevelKey    = "SG100"
	RuleUnknownOrb            = "SG101"
	RuleUndefinedJob          = "SG102"
	RuleUnknownDirectiveRule  = "SG103"
	RuleDeployJobEnvUndecided = "SG104"
	// What CircleCI itself enforces or has retired (issue 16). SG015-SG019 are left to the
	// config-policy rules.
	RuleMissingCLI              = "SG020"
	RuleReleasePlanName         = "SG021"
	RuleDeprecatedPipelineVal   = "SG105"
	RuleUnavailablePipelineVal  = "SG106"
	RuleShadowedBuiltinStep     = "SG107"
	RuleUndeclaredPipelineParam = "SG108"
	RuleImpossibleValue         = "SG109"
)

var rules = append([]Rule{
	{RuleProductionApproval, SeverityError, "production deploy without approval",
		"add a `type: approval` job to the workflow and list it (directly or through another job) under the deploy job's `requires`"},
	{RuleDeployFilters, SeverityError, "deploy job runs on every branch",
		"add `filters: {branches: {only: <branch>}}` (or tag filters with `branches: {ignore: /.*/}`) to the deploy job or a job it requires"},
	{RuleProductionBranch, SeverityError, "production deploy not limited to the release branch",
		"limit the job to the release branch: `filters: {branches: {only: main}}`, or to release tags with `branches: {ignore: /.*/}`"},
	{RuleStagingBranch, SeverityError, "staging deploy not limited to its branch",
		"limit the job to the staging branch: `filters: {branches: {only: develop}}`"},
	{RuleDeployContext, SeverityError, "deploy job without a context",
		"give the deploy job a `context:` restricted to the people and branches allowed to deploy to that environment"},
	{RuleSharedContext, SeverityError, "staging and production share a context",
		"use one context per environment so staging jobs cannot reach production settings"},
	{RuleStaticCredentials, SeverityError, "static cloud credentials",
		"remove the key and assume a role with CircleCI's OIDC token instead (the orb's `aws_assume_role` or `gcp_credentials` command)"},
	{RuleProductionRebuild, SeverityError, "production does not deploy the tested image",
		"build once: attach the workspace with release.json and promote the tested digest (`shipgate/promote` or `shipgate/deploy`) instead of building again"},
	{RuleMutableTag, SeverityError, "deploy of a mutable tag",
		"deploy by digest (`repo@sha256:...`, e.g. $SHIPGATE_IMAGE from release.json), never a tag that can move"},
	{RuleSmokeTest, SeverityError, "deploy without a smoke test",
		"run `shipgate/smoke_test` (or another health check) in the deploy job or in a job that requires it"},
	{RuleRollbackPath, SeverityError, "no rollback path",
		"add a rollback job (e.g. `shipgate/rollback` behind an approval) or a pipeline parameter that triggers a rollback workflow"},
	{RuleSerialGroup, SeverityWarning, "deploy job without serial-group",
		"add `serial-group: << pipeline.project.slug >>/deploy-<env>` to the deploy job, and check workflows for `not_run` deploy jobs"},
	{RuleApprovalNameIsJob, SeverityError, "approval job name is also a defined job",
		"rename the approval job: a `type: approval` entry must not share its name with a job under `jobs:`"},
	{RuleEnvironmentParamEnum, SeverityError, "target-environment pipeline parameter is not an enum",
		"declare it as `type: enum` with the allowed environments under `enum:`"},
	{RuleUnknownTopLevelKey, SeverityWarning, "unknown top-level key",
		"remove the key or fix its spelling; CircleCI ignores or rejects unknown top-level keys"},
	{RuleUnknownOrb, SeverityNote, "orb not known to the linter",
		"list the orb's deploy jobs in .shipgate-lint.yml (`deploy_jobs:`) if names alone do not identify them"},
	{RuleUndefinedJob, SeverityWarning, "workflow job is not defined",
		"define the job under `jobs:` or import the orb that provides it under `orbs:`"},
	{RuleUnknownDirectiveRule, SeverityWarning, "unknown rule in a shipgate-lint comment",
		"use rule IDs from docs/lint.md, e.g. `# shipgate-lint: disable=SG012`"},
	{RuleDeployJobEnvUndecided, SeverityNote, "deploy job environment not recognised",
		"pass `env: production|staging` or name the job after its environment, or set it in .shipgate-lint.yml `deploy_jobs:`"},
	{RuleMissingCLI, SeverityError, "deploy step calls a CLI nothing installs",
		"run the job on an image that ships the CLI (cimg/deploy, cimg/aws, cimg/gcp, cimg/azure) or install it in an earlier step with the official orb (circleci/kubernetes, circleci/aws-cli, circleci/gcp-cli)"},
	{RuleReleasePlanName, SeverityWarning, "deploy marker without a deploy name",
		"name the deploy: `circleci run release plan <name> --environment-name ...` and `circleci run release update <name> ...`"},
	{RuleDeprecatedPipelineVal, SeverityError, "deprecated pipeline value",
		"use the replacement the message names"},
	{RuleUnavailablePipelineVal, SeverityWarning, "pipeline value not available for every pipeline",
		"use a value every trigger sets, or a pipeline parameter the trigger passes"},
	{RuleShadowedBuiltinStep, SeverityWarning, "command named like a built-in step",
		"rename the command (e.g. `deploy` → `deploy_release`): an unqualified call reads as CircleCI's built-in step"},
	{RuleUndeclaredPipelineParam, SeverityError, "pipeline parameter not declared",
		"declare it under the top-level `parameters:` (with a default), or remove the reference"},
	{RuleImpossibleValue, SeverityError, "pipeline value compared with a value it never takes",
		"compare with one of the values the message lists"},
}, deliveryRules...)

// ruleSources are CircleCI's pages for the rules about what CircleCI itself enforces.
var ruleSources = map[string]string{
	RuleMissingCLI:              "https://circleci.com/developer/images",
	RuleReleasePlanName:         "https://circleci.com/docs/deploy/configure-deploy-markers/",
	RuleDeprecatedPipelineVal:   "https://circleci.com/docs/pipeline-variables/",
	RuleUnavailablePipelineVal:  "https://circleci.com/docs/pipeline-variables/",
	RuleShadowedBuiltinStep:     "https://circleci.com/docs/configuration-reference/#steps",
	RuleUndeclaredPipelineParam: "https://circleci.com/docs/pipeline-variables/#pipeline-parameters-in-configuration",
	RuleImpossibleValue:         "https://circleci.com/changelog/expanded-pipeline-values-support",
}

var rulesByID = func() map[string]Rule {
	m := make(map[string]Rule, len(rules))
	for _, r := range rules {
		m[r.ID] = r
	}
	return m
}()

// Rules returns every rule, ordered by ID.
func Rules() []Rule {
	out := append([]Rule(nil), rules...)
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// LookupRule returns the rule with the given ID (case-insensitive).
func LookupRule(id string) (Rule, bool) {
	r, ok := rulesByID[strings.ToUpper(strings.TrimSpace(id))]
	return r, ok
}
