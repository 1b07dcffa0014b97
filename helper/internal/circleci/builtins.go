package circleci

import (
	"regexp"
	"slices"
	"sort"
	"strings"
)

// BuiltinSteps are the step names CircleCI itself defines (configuration reference, "steps"):
// a command or job of the same name is shadowed or ambiguous. `deploy` is deprecated but still
// parsed as the built-in, so CircleCI's language server reads an unqualified `deploy` call as
// the built-in step even inside an orb that defines a `deploy` command (FACTS.md, "Learned from
// third-party software"; issue 16 point 7).
var BuiltinSteps = map[string]bool{
	"run": true, "checkout": true, "setup_remote_docker": true, "save_cache": true,
	"restore_cache": true, "deploy": true, "store_artifacts": true, "store_test_results": true,
	"persist_to_workspace": true, "attach_workspace": true, "add_ssh_keys": true,
	"when": true, "unless": true,
}

// PipelineValueNote says why a pipeline value should not be used and what to use instead.
type PipelineValueNote struct {
	// Value is the reference without `pipeline.`: "trigger_source".
	Value string
	// Problem is one sentence: deprecated, or unavailable for some triggers.
	Problem string
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
	{Value: "trigger_source", Problem: "is deprecated (support ended 2026-08-01)", Instead: "pipeline.trigger.type",
		Docs: pipelineValuesDocs},
	{Value: "schedule.name", Problem: "is not available for GitHub App pipelines (only GitHub OAuth and Bitbucket Cloud scheduled pipelines)", Instead: `pipeline.trigger.type ("schedule") and a pipeline parameter the schedule trigger sets`,
		Docs: pipelineValuesDocs},
	{Value: "schedule.id", Problem: "is not available for GitHub App pipelines (only GitHub OAuth and Bitbucket Cloud scheduled pipelines)", Instead: "pipeline.trigger.id",
		Docs: pipelineValuesDocs},
}

// ExampleUsageKeys are the keys of an orb example's `usage` that `circleci orb pack` keeps
// (circleci-cli v0.1.30995; FACTS.md): anything else, `parameters:` included, is dropped
// from the published orb, so an example that needs it does not compile as published.
var ExampleUsageKeys = []string{"version", "setup", "orbs", "jobs", "workflows"}

// PublishedUsage is an example's `usage` as `circleci orb pack` publishes it: only the keys
// in ExampleUsageKeys survive (comments are lost too, since the packer re-serialises). dropped
// lists, sorted, the keys the packer removes.
func PublishedUsage(usage map[string]any) (published map[string]any, dropped []string) {
	published = map[string]any{}
	for k, v := range usage {
		if slices.Contains(ExampleUsageKeys, k) {
			published[k] = v
			continue
		}
		dropped = append(dropped, k)
	}
	sort.Strings(dropped)
	return published, dropped
}

// releaseMarker finds `circleci run release plan|update` (also as an argument array,
// `args=(run release plan …)`) and what follows it on the line.
var releaseMarker = regexp.MustCompile(`(?:\bcircleci\s+|\(\s*)run\s+release\s+(?:plan|update)\b([^\n;&|)]*)`)

// UnnamedReleaseMarkers returns the offsets in a script of each `circleci run release plan`
// or `update` without a deploy name as its first argument. The name defaults to `default`, so
// two deploys planned in one workflow (two environments, or a rollback planned in the same
// job) collide on it, and an update must name the plan it updates (FACTS.md; issue 16
// point 6).
func UnnamedReleaseMarkers(script string) []int {
	var out []int
	for _, loc := range releaseMarker.FindAllStringSubmatchIndex(script, -1) {
		args := strings.Fields(script[loc[2]:loc[3]])
		if len(args) > 0 && !strings.HasPrefix(args[0], "-") && !strings.HasPrefix(args[0], "#") {
			continue
		}
		out = append(out, loc[0])
	}
	return out
}
