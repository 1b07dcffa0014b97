package lint

import (
	"bytes"
	"errors"
	"io"

	"gopkg.in/yaml.v3"

	"github.com/shipgate/shipgate/helper/internal/failure"
)

// SettingsFile is the settings file `shipgate lint` reads from the working directory when no
// other is named.
const SettingsFile = ".shipgate-lint.yml"

// settings is the shape of .shipgate-lint.yml (docs/lint.md, "Settings").
type settings struct {
	ReleaseBranch string            `yaml:"release_branch"`
	StagingBranch string            `yaml:"staging_branch"`
	FailOn        string            `yaml:"fail_on"`
	Disable       []string          `yaml:"disable"`
	DeployJobs    map[string]string `yaml:"deploy_jobs"`
	NotDeployJobs []string          `yaml:"not_deploy_jobs"`
	ShipgateOrbs  []string          `yaml:"shipgate_orbs"`
	// PolicyExceptions: rule ID -> CircleCI project IDs exempt from it in the policy bundle.
	PolicyExceptions map[string][]string `yaml:"policy_exceptions"`
	Jobs             map[string]struct {
		Disable []string `yaml:"disable"`
	} `yaml:"jobs"`
}

// ParseSettings reads a settings file into Options. Unknown keys and unknown rule IDs are
// errors, so a misspelt setting never silently does nothing.
func ParseSettings(name string, data []byte) (Options, error) {
	var s settings
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil && !errors.Is(err, io.EOF) {
		return Options{}, failure.Wrap(failure.Usage, err, "reading lint settings %s", name)
	}
	opts := Options{
		ReleaseBranch:    s.ReleaseBranch,
		StagingBranch:    s.StagingBranch,
		Disable:          s.Disable,
		DeployJobs:       s.DeployJobs,
		NotDeployJobs:    s.NotDeployJobs,
		ShipgateOrbs:     s.ShipgateOrbs,
		PolicyExceptions: s.PolicyExceptions,
	}
	if s.FailOn != "" {
		sev, err := ParseSeverity(s.FailOn)
		if err != nil {
			return Options{}, failure.Wrap(failure.Usage, err, "reading lint settings %s", name)
		}
		opts.FailOn = sev
	}
	if len(s.Jobs) > 0 {
		opts.JobDisable = map[string][]string{}
		for job, js := range s.Jobs {
			opts.JobDisable[job] = js.Disable
		}
	}
	if err := opts.Validate(); err != nil {
		return Options{}, failure.Wrap(failure.Usage, err, "reading lint settings %s", name)
	}
	return opts, nil
}

// Merge returns o with every field set in over taking precedence (flags over the settings
// file); lists are combined.
func (o Options) Merge(over Options) Options {
	if over.ReleaseBranch != "" {
		o.ReleaseBranch = over.ReleaseBranch
	}
	if over.StagingBranch != "" {
		o.StagingBranch = over.StagingBranch
	}
	if over.FailOn != "" {
		o.FailOn = over.FailOn
	}
	o.Disable = append(append([]string{}, o.Disable...), over.Disable...)
	o.NotDeployJobs = append(append([]string{}, o.NotDeployJobs...), over.NotDeployJobs...)
	o.ShipgateOrbs = append(append([]string{}, o.ShipgateOrbs...), over.ShipgateOrbs...)
	if len(over.DeployJobs) > 0 {
		merged := map[string]string{}
		for k, v := range o.DeployJobs {
			merged[k] = v
		}
		for k, v := range over.DeployJobs {
			merged[k] = v
		}
		o.DeployJobs = merged
	}
	if len(over.PolicyExceptions) > 0 {
		merged := map[string][]string{}
		for k, v := range o.PolicyExceptions {
			merged[k] = v
		}
		for k, v := range over.PolicyExceptions {
			merged[k] = append(merged[k], v...)
		}
		o.PolicyExceptions = merged
	}
	if len(over.JobDisable) > 0 {
		merged := map[string][]string{}
		for k, v := range o.JobDisable {
			merged[k] = v
		}
		for k, v := range over.JobDisable {
			merged[k] = append(merged[k], v...)
		}
		o.JobDisable = merged
	}
	return o
}
