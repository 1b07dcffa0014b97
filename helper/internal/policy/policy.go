// Package policy writes shipgate's deployment rules as a CircleCI config-policy bundle: Rego
// files in `package org`, one per rule, each a named `policy_name`, enabled as a hard or soft
// failure according to the rule's lint severity and the lint settings file. CircleCI evaluates
// the bundle when it compiles a pipeline's config, so the rules hold for every project of an
// organisation, not only where someone runs `shipgate lint`.
//
// The Rego sources are embedded (rego/); the generator adds only the enable lines and the
// settings. docs/policies.md describes the bundle, its input and its limits.
package policy

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/shipgate/shipgate/helper/internal/atomicfile"
	"github.com/shipgate/shipgate/helper/internal/circleci"
	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/lint"
)

//go:embed rego/*.rego
var sources embed.FS

// Rule ties a lint rule to the Rego rule that encodes it.
type Rule struct {
	// ID is the lint rule ID (SG001 ...).
	ID string `json:"id"`
	// Name is the Rego rule whose violations the engine reports (its `rule` field).
	Name string `json:"name"`
	// File is the bundle file that holds it.
	File string `json:"file"`
}

// rules are the lint rules the bundle encodes. Left out, and why (docs/policies.md):
// SG101 and SG104 are notes, which never fail a lint either; SG103 is about comments, which
// CircleCI does not pass to the engine.
var rules = []Rule{
	{lint.RuleProductionApproval, "sg001_production_approval", "sg001.rego"},
	{lint.RuleDeployFilters, "sg002_deploy_filters", "sg002.rego"},
	{lint.RuleProductionBranch, "sg003_production_branch", "sg003.rego"},
	{lint.RuleStagingBranch, "sg004_staging_branch", "sg004.rego"},
	{lint.RuleDeployContext, "sg005_deploy_context", "sg005.rego"},
	{lint.RuleSharedContext, "sg006_shared_context", "sg006.rego"},
	{lint.RuleStaticCredentials, "sg007_static_credentials", "sg007.rego"},
	{lint.RuleProductionRebuild, "sg008_production_rebuild", "sg008.rego"},
	{lint.RuleMutableTag, "sg009_mutable_tag", "sg009.rego"},
	{lint.RuleSmokeTest, "sg010_smoke_test", "sg010.rego"},
	{lint.RuleRollbackPath, "sg011_rollback_path", "sg011.rego"},
	{lint.RuleSerialGroup, "sg012_serial_group", "sg012.rego"},
	{lint.RuleApprovalNameIsJob, "sg013_approval_name", "sg013.rego"},
	{lint.RuleEnvironmentParamEnum, "sg014_environment_param", "sg014.rego"},
	{lint.RuleArtifactHandOver, "sg015_artifact_handover", "sg015.rego"},
	{lint.RuleKnownGoodRecord, "sg016_known_good", "sg016.rego"},
	{lint.RuleScheduledWorkflow, "sg017_scheduled_workflow", "sg017.rego"},
	{lint.RuleForeignContext, "sg018_foreign_context", "sg018.rego"},
	{lint.RuleReleasePlanName, "sg021_release_plan_name", "sg021.rego"},
	{lint.RuleUnknownTopLevelKey, "sg100_unknown_key", "sg100.rego"},
	{lint.RuleUndefinedJob, "sg102_undefined_job", "sg102.rego"},
	{lint.RuleDeprecatedPipelineVal, "sg105_deprecated_pipeline_value", "sg105.rego"},
	{lint.RuleUnavailablePipelineVal, "sg106_unavailable_pipeline_value", "sg106.rego"},
	{lint.RuleUndeclaredPipelineParam, "sg108_undeclared_pipeline_parameter", "sg108.rego"},
	{lint.RuleImpossibleValue, "sg109_impossible_pipeline_value", "sg109.rego"},
}

// leftOut are the lint rules the bundle does not encode, and why (docs/policies.md). Every
// lint rule is either in rules or here; a test keeps it so, so a new lint rule is a decision.
var leftOut = map[string]string{
	"SG101": "a note (orb not known to the linter): notes never fail a lint either",
	"SG103": "about # shipgate-lint: comments, which CircleCI never passes to the engine",
	"SG104": "a note (deploy environment not recognised): notes never fail a lint either",
	// Expressible on the config as written, not encoded yet: the image table
	// (circleci.Images) and orb install table would travel as generated data like
	// shipgate_circleci.rego, and the Rego would mirror the job's image resolution, the
	// install evidence of earlier steps and the stop at another orb's command (docs/policies.md).
	"SG020": "not encoded yet: expressible, needs circleci.Images and circleci.OrbInstalls as generated data and lint's ordered walk of a deploy job's steps",
	"SG107": "about orb commands named like built-in steps: the orb's source is not in a project's config",
}

// LeftOut returns the lint rules the bundle does not encode, each with the reason.
func LeftOut() map[string]string {
	out := make(map[string]string, len(leftOut))
	for k, v := range leftOut {
		out[k] = v
	}
	return out
}

// libraryFiles hold the shared model every rule file uses; they are always written.
var libraryFiles = []string{"shipgate_lib.rego", "shipgate_branches.rego", "shipgate_steps.rego", "shipgate_actions.rego"}

// FactsFile is the generated file that carries CircleCI facts from the circleci package's Go
// tables into the bundle (one source of truth: the rules read them, never a copy).
const FactsFile = "shipgate_circleci.rego"

// SettingsFile is the generated file that carries the settings into the bundle.
const SettingsFile = "shipgate_settings.rego"

// Rules returns the rules the bundle can encode, ordered by ID.
func Rules() []Rule { return append([]Rule(nil), rules...) }

// RuleByName returns the rule a Rego rule name (a decision's `rule`) stands for.
func RuleByName(name string) (Rule, bool) {
	for _, r := range rules {
		if r.Name == name {
			return r, true
		}
	}
	return Rule{}, false
}

// Enabled is one rule as the bundle enables it.
type Enabled struct {
	Rule
	// Hard is true for a hard failure (the pipeline does not run), false for a soft one.
	Hard bool `json:"hard"`
}

// Bundle is a generated policy bundle: file name to content.
type Bundle struct {
	Files map[string][]byte
	// Rules are the rules enabled, ordered by ID.
	Rules []Enabled
}

// Options choose what the bundle enforces.
type Options struct {
	// Lint are the lint settings (the settings file merged with flags): disabled rules,
	// fail_on, branches, deploy jobs, per-job disables and per-project exceptions.
	Lint lint.Options
	// Soft enables every rule as a soft failure, for a first rollout: CircleCI records the
	// violations and runs the pipeline anyway.
	Soft bool
}

// Generate builds the bundle. A rule at or above FailOn is a hard failure (unless Soft); a
// warning below it is soft; a note below it, and a rule disabled for the whole run, is left out.
func Generate(o Options) (*Bundle, error) {
	opts := o.Lint
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	disabled := map[string]bool{}
	for _, id := range opts.Disable {
		disabled[strings.ToUpper(id)] = true
	}
	failOn := opts.FailOn
	if failOn == "" {
		failOn = lint.SeverityError
	}
	b := &Bundle{Files: map[string][]byte{}}
	for _, name := range libraryFiles {
		src, err := sources.ReadFile("rego/" + name)
		if err != nil {
			return nil, failure.New(failure.Internal, "reading embedded %s: %w", name, err)
		}
		b.Files[name] = src
	}
	settings, err := settingsSource(opts)
	if err != nil {
		return nil, err
	}
	b.Files[SettingsFile] = settings
	facts, err := factsSource()
	if err != nil {
		return nil, err
	}
	b.Files[FactsFile] = facts
	for _, r := range rules {
		lr, _ := lint.LookupRule(r.ID)
		if disabled[r.ID] || disabled["ALL"] {
			continue
		}
		hard := rank(lr.Severity) >= rank(failOn)
		if !hard && lr.Severity != lint.SeverityWarning {
			continue
		}
		hard = hard && !o.Soft
		src, err := sources.ReadFile("rego/" + r.File)
		if err != nil {
			return nil, failure.New(failure.Internal, "reading embedded %s: %w", r.File, err)
		}
		// CircleCI's engine reads enable_hard (hard failures) and enable_rule (soft ones);
		// v0.0.727 has no enable_soft (cpa/policy.go, Decide).
		verb := "enable_rule"
		if hard {
			verb = "enable_hard"
		}
		var buf bytes.Buffer
		buf.Write(src)
		fmt.Fprintf(&buf, "\n# %s %s (lint severity %s); a project listed under policy_exceptions.%s is exempt.\n",
			r.ID, map[bool]string{true: "fails hard", false: "fails soft"}[hard], lr.Severity, r.ID)
		fmt.Fprintf(&buf, "%s contains %q if not sg_exempt(%q)\n", verb, r.Name, r.ID)
		b.Files[r.File] = buf.Bytes()
		b.Rules = append(b.Rules, Enabled{Rule: r, Hard: hard})
	}
	return b, nil
}

func rank(s lint.Severity) int {
	switch s {
	case lint.SeverityError:
		return 3
	case lint.SeverityWarning:
		return 2
	}
	return 1
}

// settingsSource renders the settings the rules read as one Rego value, sg_settings.
func settingsSource(opts lint.Options) ([]byte, error) {
	s := map[string]any{
		"release_branch":  opts.ReleaseBranch,
		"staging_branch":  opts.StagingBranch,
		"deploy_jobs":     nonNilMap(opts.DeployJobs),
		"not_deploy_jobs": nonNil(opts.NotDeployJobs),
		"shipgate_orbs":   nonNil(opts.ShipgateOrbs),
		"job_disable":     nonNilListMap(opts.JobDisable),
		"exceptions":      nonNilListMap(opts.PolicyExceptions),
	}
	data, err := json.MarshalIndent(s, "", "\t")
	if err != nil {
		return nil, failure.New(failure.Internal, "encoding policy settings: %w", err)
	}
	var buf bytes.Buffer
	buf.WriteString(`# Generated by shipgate policy bundle from the lint settings (.shipgate-lint.yml and flags).
# exceptions: rule ID -> the CircleCI project IDs (data.meta.project_id) exempt from it.
# job_disable: workflow job -> rules off for it; the engine never sees # shipgate-lint: comments,
# so this is how a job's exception reaches the bundle (docs/policies.md).
package org

policy_name["shipgate_settings"]

sg_settings := `)
	buf.Write(data)
	buf.WriteString("\n")
	return buf.Bytes(), nil
}

// factsSource renders the circleci package's tables the rules read as Rego values:
// sg_pipeline_value_notes (SG105, SG106) and sg_ref_patterns (SG108, SG021).
func factsSource() ([]byte, error) {
	type note struct {
		Value      string `json:"value"`
		Problem    string `json:"problem"`
		Deprecated bool   `json:"deprecated"`
		// Pattern finds the value in a scalar, as lint's pipelineValueRefs does.
		Pattern string `json:"pattern"`
	}
	notes := make([]note, 0, len(circleci.PipelineValueNotes))
	for _, n := range circleci.PipelineValueNotes {
		notes = append(notes, note{n.Value, n.Problem, n.Deprecated, `\bpipeline\.` + regexp.QuoteMeta(n.Value) + `\b`})
	}
	data, err := json.MarshalIndent(notes, "", "\t")
	if err != nil {
		return nil, failure.New(failure.Internal, "encoding CircleCI facts: %w", err)
	}
	refs, err := json.Marshal(map[string]string{
		"ref":              circleci.RefPattern().String(),
		"pipeline_param":   circleci.PipelineParamRef().String(),
		"release_marker":   circleci.ReleaseMarkerPattern(),
		"value_comparison": circleci.ValueComparisonPattern,
	})
	if err != nil {
		return nil, failure.New(failure.Internal, "encoding CircleCI facts: %w", err)
	}
	domains := map[string][]string{}
	for _, d := range circleci.PipelineValueDomains {
		domains[d.Value] = d.Values
	}
	domainData, err := json.Marshal(domains)
	if err != nil {
		return nil, failure.New(failure.Internal, "encoding CircleCI facts: %w", err)
	}
	var buf bytes.Buffer
	buf.WriteString(`# Generated by shipgate policy bundle from the circleci package's tables
# (helper/internal/circleci), the same tables lint reads.
# sg_pipeline_value_notes: pipeline values CircleCI has retired (deprecated) or does not set
# for every trigger (pipelinevalues.go).
package org

policy_name["shipgate_circleci"]

sg_pipeline_value_notes := `)
	buf.Write(data)
	buf.WriteString("\n\n# sg_ref_patterns: a `<< >>` reference and a plain pipeline parameter reference\n# (circleci.RefPattern, circleci.PipelineParamRef; SG108); a deploy marker command and what\n# follows it on its line (circleci.ReleaseMarkerPattern; SG021).\nsg_ref_patterns := ")
	buf.Write(refs)
	buf.WriteString("\n\n# sg_pipeline_value_domains: every value CircleCI gives these pipeline values\n# (circleci.PipelineValueDomains; SG109).\nsg_pipeline_value_domains := ")
	buf.Write(domainData)
	buf.WriteString("\n")
	return buf.Bytes(), nil
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func nonNilListMap(m map[string][]string) map[string][]string {
	out := map[string][]string{}
	for k, v := range m {
		out[k] = nonNil(v)
	}
	return out
}

// Write writes the bundle's files into dir, creating it. Files of the bundle already there
// are replaced; other files are left alone, except stale rule files of an earlier bundle
// (sg*.rego, shipgate_*.rego), which are removed so a rule disabled since does not linger.
func (b *Bundle) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return failure.New(failure.Usage, "creating policy folder %s: %w", dir, cause(err))
	}
	old, _ := filepath.Glob(filepath.Join(dir, "*.rego"))
	for _, path := range old {
		base := filepath.Base(path)
		if _, keep := b.Files[base]; keep || !generatedName(base) {
			continue
		}
		if err := os.Remove(path); err != nil {
			return failure.New(failure.Usage, "removing stale policy %s: %w", path, cause(err))
		}
	}
	names := make([]string, 0, len(b.Files))
	for name := range b.Files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		path := filepath.Join(dir, name)
		if err := atomicfile.Write(path, b.Files[name], 0o644); err != nil {
			return failure.New(failure.Usage, "writing policy %s: %w", name, err)
		}
		// Read it back: a bundle pushed to CircleCI must be exactly what was generated.
		got, err := os.ReadFile(path)
		if err != nil {
			return failure.New(failure.Usage, "reading back policy %s: %w", path, cause(err))
		}
		if !bytes.Equal(got, b.Files[name]) {
			return failure.New(failure.Internal, "reading back policy %s: the file differs from what was written", path)
		}
	}
	return nil
}

// cause drops the path an *fs.PathError repeats, so the message names it once.
func cause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func generatedName(base string) bool {
	return strings.HasPrefix(base, "shipgate_") || len(base) == len("sg000.rego") && strings.HasPrefix(base, "sg")
}
