package circleci

// PipelineValueNote says why a pipeline value should not be used and what to use instead.
type PipelineValueNote struct {
	// Value is the reference without `pipeline.`: "trigger_source".
	Value string
	// Problem is one sentence: deprecated, or unavailable for some triggers.
	Problem string
	// Deprecated is true for a retired value (it no longer works anywhere), false for one only
	// some pipelines set.
	Deprecated bool
	// Instead is the replacement, or "" when there is none.
	Instead string
	// Docs is where CircleCI says so.
	Docs string
}

// pipelineValuesDocs lists the pipeline values; pipeline.trigger.type and .id are announced in
// https://circleci.com/changelog/expanded-pipeline-values-support.
const pipelineValuesDocs = "https://circleci.com/docs/pipeline-variables/"

// PipelineValueNotes are pipeline values CircleCI has deprecated or does not provide
// everywhere (CircleCI docs, "Pipeline values and parameters"; FACTS.md, "Learned from
// third-party software"; issue 16 point 3).
var PipelineValueNotes = []PipelineValueNote{
	{Value: "trigger_source", Problem: "is deprecated (support ended 2026-08-01)", Deprecated: true, Instead: "pipeline.trigger.type",
		Docs: pipelineValuesDocs},
	{Value: "schedule.name", Problem: "is not available for GitHub App pipelines (only GitHub OAuth and Bitbucket Cloud scheduled pipelines)", Instead: `pipeline.trigger.type ("schedule") and a pipeline parameter the schedule trigger sets`,
		Docs: pipelineValuesDocs},
	{Value: "schedule.id", Problem: "is not available for GitHub App pipelines (only GitHub OAuth and Bitbucket Cloud scheduled pipelines)", Instead: "pipeline.trigger.id",
		Docs: pipelineValuesDocs},
}

// PipelineValueDomain is every value CircleCI gives a pipeline value that names a kind.
type PipelineValueDomain struct {
	// Value is the reference without `pipeline.`: "trigger.type".
	Value string
	// Values are all it can be.
	Values []string
	// Docs is where CircleCI lists them.
	Docs string
}

// ValueComparisonPattern finds `pipeline.X == "v"`, `pipeline.X != 'v'` and the reverse in a
// condition expression: group 1 or 5 is X, group 3 or 4 the value (lint's SG109 and the
// policy bundle's read it).
const ValueComparisonPattern = `pipeline\.([a-z_.]+)\s*[!=]=\s*(["'])([^"']*)["']|["']([^"']*)["']\s*[!=]=\s*pipeline\.([a-z_.]+)`

// PipelineValueDomains are pipeline values with a closed set of values (CircleCI's changelog
// "Expanded pipeline values support", https://circleci.com/changelog/expanded-pipeline-values-support):
// a condition comparing one with anything else never holds (the nightly example compared
// pipeline.trigger.type with trigger_source's "scheduled_pipeline" and would never have run).
var PipelineValueDomains = []PipelineValueDomain{
	{Value: "trigger.type", Values: []string{"github_app", "bitbucket_dc", "schedule", "webhook", "api"},
		Docs: "https://circleci.com/changelog/expanded-pipeline-values-support"},
	{Value: "integration_source", Values: []string{"github_app", "github", "bitbucket", "bitbucket_dc", "gitlab"},
		Docs: "https://circleci.com/changelog/expanded-pipeline-values-support"},
}
