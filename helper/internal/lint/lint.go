// Package lint checks a CircleCI configuration against shipgate's deployment rules: approvals
// before production, branch filters, one context per environment, no static cloud keys, promote
// the tested digest, smoke tests, a rollback path, serialised deploys. Every finding carries a
// stable rule ID, the file:line:column it comes from, a one-line message and a fix hint.
//
// The rules and how to disable them are described in docs/lint.md. Package-level patterns
// are compiled on first use (sync.OnceValue), not at start-up: every shipgate command, even
// --version, links this package (issue 15).
package lint

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/shipgate/shipgate/helper/internal/circleci"
	"github.com/shipgate/shipgate/helper/internal/failure"
)

// DefaultReleaseBranch and DefaultStagingBranch are the branches production and staging
// deploys must be limited to unless Options say otherwise.
const (
	DefaultReleaseBranch = "main"
	DefaultStagingBranch = "develop"
)

// MaxInputSize bounds one config file; CircleCI's own limit on a processed config is far lower.
const MaxInputSize = 8 << 20

// Options tune the rules. The zero value uses the defaults documented on each field.
type Options struct {
	// ReleaseBranch is the only branch production deploys may run on. The default is "main".
	ReleaseBranch string
	// StagingBranch is the only branch staging deploys may run on. The default is "develop".
	StagingBranch string
	// DeployJobs names workflow jobs that are deploy jobs, mapped to their environment
	// ("" = infer it), in addition to those recognised by orb and name.
	DeployJobs map[string]string
	// NotDeployJobs names workflow jobs that are never deploy jobs, whatever their names say.
	NotDeployJobs []string
	// Disable turns rules off for the whole run.
	Disable []string
	// JobDisable turns rules off for single workflow jobs (by name).
	JobDisable map[string][]string
	// ShipgateOrbs are extra orb names (namespace/orb) to treat as shipgate's orb, for forks.
	ShipgateOrbs []string
	// FailOn is the least severity that fails the lint. The default is SeverityError.
	FailOn Severity
	// PolicyExceptions exempt CircleCI projects (by project ID) from rules in the config-policy
	// bundle (`shipgate policy bundle`, docs/policies.md); the linter itself does not read them.
	PolicyExceptions map[string][]string
	// RollbackPipeline, when set, names the rollback pipeline config that exists for the file
	// linted (CircleCI runs .circleci/rollback.yml for a rollback); SG011 then passes.
	RollbackPipeline string
}

func (o *Options) releaseBranch() string {
	if o.ReleaseBranch == "" {
		return DefaultReleaseBranch
	}
	return o.ReleaseBranch
}

func (o *Options) stagingBranch() string {
	if o.StagingBranch == "" {
		return DefaultStagingBranch
	}
	return o.StagingBranch
}

func (o *Options) failOn() Severity {
	if o.FailOn == "" {
		return SeverityError
	}
	return o.FailOn
}

func (o *Options) isShipgateOrb(name string) bool {
	if name == "shipgate/shipgate" {
		return true
	}
	for _, n := range o.ShipgateOrbs {
		if n == name {
			return true
		}
	}
	return false
}

// Validate checks rule IDs and severities named in the options.
func (o *Options) Validate() error {
	check := func(where string, ids []string) error {
		for _, id := range ids {
			if _, ok := LookupRule(id); !ok && !strings.EqualFold(id, "all") {
				return failure.New(failure.Usage, "%s: unknown rule %q (see docs/lint.md)", where, id)
			}
		}
		return nil
	}
	if err := check("disable", o.Disable); err != nil {
		return err
	}
	for job, ids := range o.JobDisable {
		if err := check(fmt.Sprintf("job %q disable", job), ids); err != nil {
			return err
		}
	}
	for id := range o.PolicyExceptions {
		if err := check("policy_exceptions", []string{id}); err != nil || strings.EqualFold(id, "all") {
			return failure.New(failure.Usage, "policy_exceptions: unknown rule %q (see docs/lint.md)", id)
		}
	}
	if o.FailOn != "" {
		if _, err := ParseSeverity(string(o.FailOn)); err != nil {
			return failure.Wrap(failure.Usage, err, "fail-on")
		}
	}
	return nil
}

// Finding is one problem at one place.
type Finding struct {
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	File     string   `json:"file"`
	Line     int      `json:"line"`
	Column   int      `json:"column"`
	// Job is the workflow job (or job definition) the finding belongs to, if any.
	Job     string `json:"job,omitempty"`
	Message string `json:"message"`
	Hint    string `json:"hint"`
	// Docs is the rule's section in docs/lint.md; Source is CircleCI's page, for rules about
	// what CircleCI itself enforces.
	Docs   string `json:"docs"`
	Source string `json:"source,omitempty"`
}

// Position is file:line:column.
func (f Finding) Position() string {
	return fmt.Sprintf("%s:%d:%d", f.File, f.Line, f.Column)
}

// Report is the result of linting one or more files.
type Report struct {
	Files    []string  `json:"files"`
	Findings []Finding `json:"findings"`
	Errors   int       `json:"errors"`
	Warnings int       `json:"warnings"`
	Notes    int       `json:"notes"`
	// FailOn is the least severity that fails the lint.
	FailOn Severity `json:"fail_on"`
	// Failed says whether a finding at or above FailOn was reported.
	Failed bool `json:"failed"`
}

// Input is one file to lint.
type Input struct {
	Name string
	Data []byte
	// RollbackPipeline names a CircleCI rollback pipeline config found beside the file
	// (.circleci/rollback.yml); it is a rollback path for SG011.
	RollbackPipeline string
}

// ReadInput reads one file's content, bounded by MaxInputSize.
func ReadInput(name string, r io.Reader) (Input, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxInputSize+1))
	if err != nil {
		return Input{}, failure.New(failure.Usage, "reading %s: %w", name, err)
	}
	if len(data) > MaxInputSize {
		return Input{}, failure.New(failure.Usage, "reading %s: larger than %d bytes", name, MaxInputSize)
	}
	return Input{Name: name, Data: data}, nil
}

// Lint checks every input and returns the combined report. A file that is not a readable
// CircleCI config (malformed YAML, not a mapping) is a usage error: nothing is reported for any
// file then, so a broken file is never mistaken for a clean one.
func Lint(inputs []Input, opts Options) (*Report, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	report := &Report{Files: []string{}, Findings: []Finding{}, FailOn: opts.failOn()}
	for _, in := range inputs {
		fileOpts := opts
		fileOpts.RollbackPipeline = in.RollbackPipeline
		findings, err := LintFile(in.Name, in.Data, fileOpts)
		if err != nil {
			return nil, err
		}
		report.Files = append(report.Files, in.Name)
		report.Findings = append(report.Findings, findings...)
	}
	threshold := opts.failOn().rank()
	for _, f := range report.Findings {
		switch f.Severity {
		case SeverityError:
			report.Errors++
		case SeverityWarning:
			report.Warnings++
		default:
			report.Notes++
		}
		if f.Severity.rank() >= threshold {
			report.Failed = true
		}
	}
	return report, nil
}

// LintFile checks one file. name is used in positions only. The file is either a CircleCI
// config or an orb example (a mapping with `usage:` holding the config), whose `usage:` is
// linted with positions in the example file.
func LintFile(name string, data []byte, opts Options) ([]Finding, error) {
	root, err := circleci.Parse(data)
	if err != nil {
		return nil, failure.WithHint(failure.Wrap(failure.Usage, err, "reading %s", name),
			"the file must be a CircleCI config (a YAML mapping with version, jobs, workflows ...)")
	}
	l := newLinter(name, data, root, &opts)
	l.run()
	return l.result(), nil
}

// sortFindings orders findings by file, position and rule.
func sortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Column != b.Column {
			return a.Column < b.Column
		}
		return a.Rule < b.Rule
	})
}
