package localrunner

import (
	"crypto/rand"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/shipgate/shipgate/helper/internal/circleci"
	"github.com/shipgate/shipgate/helper/internal/failure"
)

// RunOptions describe one pipeline run: what triggered it and where it runs.
type RunOptions struct {
	// Branch is the pipeline's branch (pipeline.git.branch, CIRCLE_BRANCH).
	Branch string
	// Tag, when set, makes this a tag pipeline: only jobs with a tags filter that admits the
	// tag run, and branch filters are not consulted (CircleCI's rule).
	Tag string
	// Revision is the commit (pipeline.git.revision, CIRCLE_SHA1). The default is the HEAD of
	// Source when that is a git work tree, else 40 zeros.
	Revision string
	// Parameters are the pipeline parameters. A string is converted to the declared type
	// ("true", "3"), so command-line values work; undeclared names are an error.
	Parameters map[string]any
	// PipelineValues add or override `pipeline.*` values, named without the prefix:
	// "trigger_source", "schedule.name", "deploy.target_version", …
	PipelineValues map[string]any
	// PipelineNumber is pipeline.number; the default is 1.
	PipelineNumber int
	// ProjectUsername and ProjectReponame name the project (CIRCLE_PROJECT_USERNAME,
	// CIRCLE_PROJECT_REPONAME); the defaults are "local" and the base name of Source (or
	// "project").
	ProjectUsername, ProjectReponame string

	// Env is the base environment of every step ("KEY=VALUE"). nil means this process's
	// environment. CIRCLE_* variables, contexts, executor, job and step environment are
	// layered on top, in that order.
	Env []string
	// PathPrepend lists directories put in front of PATH: stubs for what cannot run locally.
	PathPrepend []string
	// ImagePath, when set, gives the directories put in front of PATH (before PathPrepend) for
	// a job whose primary image is image (e.g. "cimg/deploy:2026.10"): stand-ins for the tools
	// that image ships, so a step finds a CLI only where CircleCI's image would have it.
	ImagePath func(image string) []string
	// Contexts, when not nil, holds the environment each context provides; a job that uses a
	// context missing here fails. When nil, contexts are only logged.
	Contexts map[string]map[string]string
	// Source is the directory `checkout` copies into the job; empty makes checkout a no-op.
	Source string
	// LogWriter receives the log of the run: job and step headers and the steps' output.
	// nil discards it.
	LogWriter io.Writer
	// WorkDir is where job directories, homes, BASH_ENV files and workspaces are created.
	// Empty means a temporary directory removed after the run.
	WorkDir string
}

// Plan is a compiled workflow: its jobs in the order they run.
type Plan struct {
	Workflow string
	// Skipped is true when the workflow's when/unless excluded it (its jobs are compiled all
	// the same, so its errors show).
	Skipped bool
	Jobs    []*PlannedJob
}

// PlannedJob is one compiled workflow job.
type PlannedJob struct {
	// Name is the job's name in the workflow (its `name:`, else its reference).
	Name string
	// Ref is the job it runs, as referenced ("build", "shipgate/deploy").
	Ref string
	// Approval is true for a `type: approval` job.
	Approval    bool
	Requires    []Requirement
	Contexts    []string
	SerialGroup string
	// Filtered is true when branch or tag filters exclude the job; FilterReason says why.
	Filtered     bool
	FilterReason string

	Executor         string // executor name, or docker/machine for an inline one
	Image            string
	Env              map[string]string // executor environment, then job environment
	WorkingDirectory string            // as configured; "~" is the job's home
	Shell            string
	Steps            []Step
}

// Requirement is one entry of `requires`: a job name and the statuses that satisfy it.
type Requirement struct {
	Job      string
	Statuses []Status
}

var reservedJobKeys = map[string]bool{
	"name": true, "requires": true, "context": true, "filters": true, "matrix": true,
	"type": true, "pre-steps": true, "post-steps": true, "serial-group": true, "override-with": true,
}

// Plan compiles a workflow for the given run without running anything.
func (p *Pipeline) Plan(workflow string, opts RunOptions) (*Plan, error) {
	pipe, err := p.pipelineValues(opts, newID())
	if err != nil {
		return nil, err
	}
	return p.plan(workflow, opts, pipe)
}

func (p *Pipeline) plan(workflow string, opts RunOptions, pipe *circleci.PipelineValues) (*Plan, error) {
	wf, ok := p.workflows[workflow]
	if !ok {
		return nil, failure.New(failure.Usage, "workflow %q is not in %s (workflows: %s)", workflow, p.path, strings.Join(p.workflowOrder, ", "))
	}
	plan, err := p.compileWorkflow(workflow, wf, opts, pipe)
	if err != nil {
		return nil, failure.Wrap(failure.Usage, err, "workflow %q", workflow)
	}
	return plan, nil
}

func (p *Pipeline) compileWorkflow(name string, wf map[string]any, opts RunOptions, pipe *circleci.PipelineValues) (*Plan, error) {
	c := &compiler{p: p, pipe: pipe}
	sc := &circleci.Scope{What: "workflow " + name, Pipeline: pipe}
	plan := &Plan{Workflow: name}
	for _, key := range []string{"when", "unless"} {
		cond, ok := wf[key]
		if !ok {
			continue
		}
		v, err := c.workflowCondition(cond, sc)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		if v != (key == "when") {
			// Still compiled below: CircleCI reports a broken workflow even when it would not run.
			plan.Skipped = true
		}
	}
	entries, ok := wf["jobs"].([]any)
	if !ok {
		return nil, fmt.Errorf("jobs must be a list")
	}
	byName := map[string]*PlannedJob{}
	var declared []*PlannedJob
	for i, entry := range entries {
		subst, err := circleci.Substitute(entry, sc)
		if err != nil {
			return nil, fmt.Errorf("jobs[%d]: %w", i, err)
		}
		job, err := c.workflowJob(subst, opts)
		if err != nil {
			return nil, fmt.Errorf("jobs[%d]: %w", i, err)
		}
		if byName[job.Name] != nil {
			return nil, fmt.Errorf("two jobs are named %q: give one a distinct name: key", job.Name)
		}
		byName[job.Name] = job
		declared = append(declared, job)
	}
	ordered, err := topological(declared, byName)
	if err != nil {
		return nil, err
	}
	plan.Jobs = ordered
	return plan, nil
}

// workflowCondition decides a workflow's when/unless: a string that is not one `<< … >>`
// reference is an expression (`pipeline.git.branch == "main"`); anything else is a logic
// statement after substitution.
func (c *compiler) workflowCondition(cond any, sc *circleci.Scope) (bool, error) {
	if text, ok := cond.(string); ok {
		trimmed := strings.TrimSpace(text)
		loc := circleci.RefPattern().FindStringIndex(trimmed)
		if loc == nil || loc[0] != 0 || loc[1] != len(trimmed) {
			v, err := circleci.EvalExpression(trimmed, sc)
			return circleci.Truthy(v), err
		}
	}
	cond, err := circleci.Substitute(cond, sc)
	if err != nil {
		return false, err
	}
	return decide(cond)
}

func (c *compiler) workflowJob(entry any, opts RunOptions) (*PlannedJob, error) {
	var ref string
	cfg := map[string]any{}
	switch x := entry.(type) {
	case string:
		ref = x
	case map[string]any:
		if len(x) != 1 {
			return nil, fmt.Errorf("a workflow job must be a name or a map with one key (check the indentation)")
		}
		for k, v := range x {
			ref = k
			m, err := circleci.AsMap(v, "job "+k)
			if err != nil {
				return nil, err
			}
			cfg = m
		}
	default:
		return nil, fmt.Errorf("a workflow job must be a name or a map, got %s", describe(entry))
	}
	job := &PlannedJob{Name: ref, Ref: ref}
	if n, ok := cfg["name"]; ok {
		s, ok := n.(string)
		if !ok || s == "" {
			return nil, fmt.Errorf("job %s: name must be a non-empty string", ref)
		}
		job.Name = s
	}
	what := "job " + job.Name
	if _, ok := cfg["matrix"]; ok {
		return nil, fmt.Errorf("%s: matrix jobs are not supported by the local runner; list the variants as separate jobs", what)
	}
	if _, ok := cfg["override-with"]; ok {
		return nil, fmt.Errorf("%s: override-with is not supported by the local runner", what)
	}
	var err error
	if job.Requires, err = requirements(cfg["requires"], what); err != nil {
		return nil, err
	}
	if job.Contexts, err = stringList(cfg["context"], what+" context"); err != nil {
		return nil, err
	}
	if sg, ok := cfg["serial-group"]; ok {
		if job.SerialGroup, ok = sg.(string); !ok {
			return nil, fmt.Errorf("%s: serial-group must be a string", what)
		}
		job.SerialGroup = circleci.Unescape(job.SerialGroup)
	}
	if expr, ok := cfg["filters"].(string); ok {
		v, err := circleci.EvalExpression(expr, &circleci.Scope{What: what + " filters", Pipeline: c.pipe})
		if err != nil {
			return nil, err
		}
		if !circleci.Truthy(v) {
			job.Filtered, job.FilterReason = true, fmt.Sprintf("filters %q is false", expr)
		}
	} else if job.Filtered, job.FilterReason, err = filtered(cfg["filters"], opts.Branch, opts.Tag, what); err != nil {
		return nil, err
	}
	if t, ok := cfg["type"]; ok {
		if t != "approval" {
			return nil, fmt.Errorf("%s: type %v: only type: approval exists", what, t)
		}
		if _, defined := c.p.root.jobs[ref]; defined {
			return nil, fmt.Errorf("%s: an approval job must not be named after a job under jobs: (%q is one)", what, ref)
		}
		for k := range cfg {
			if !reservedJobKeys[k] {
				return nil, fmt.Errorf("%s: an approval job takes no argument %q", what, k)
			}
		}
		job.Approval = true
		return job, nil
	}
	args := map[string]any{}
	for k, v := range cfg {
		if !reservedJobKeys[k] {
			args[k] = v
		}
	}
	if err := c.compileJob(job, args, cfg); err != nil {
		return nil, err
	}
	return job, nil
}

func (c *compiler) compileJob(job *PlannedJob, args, cfg map[string]any) error {
	root := c.p.root
	def, defNS, err := c.p.lookup(root, "jobs", job.Ref)
	if err != nil {
		return err
	}
	what := "job " + job.Ref
	params, err := c.bind(def["parameters"], args, what, defNS, root)
	if err != nil {
		return err
	}
	sc := &circleci.Scope{What: what, Params: params, Pipeline: c.pipe, InOrb: defNS.isOrb}
	raw, err := circleci.Substitute(withoutKey(def, "parameters"), sc)
	if err != nil {
		return err
	}
	body := raw.(map[string]any)
	var ex *compiledExecutor
	if e, ok := body["executor"]; ok {
		if ex, err = c.executor(e, defNS); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	} else {
		// An inline executor: only its machine keys; the job's environment, working_directory
		// and shell are read below.
		inline := map[string]any{}
		for _, k := range []string{"docker", "machine", "macos", "windows"} {
			if v, ok := body[k]; ok {
				inline[k] = v
			}
		}
		if ex, err = machineOf(inline, what); err != nil {
			return err
		}
		ex.Name = ex.Kind
	}
	job.Executor, job.Image = ex.Name, ex.Image
	job.Env = map[string]string{}
	for k, v := range ex.Env {
		job.Env[k] = v
	}
	env, err := environment(body["environment"], what+" environment")
	if err != nil {
		return err
	}
	for k, v := range env {
		job.Env[k] = v
	}
	job.WorkingDirectory = firstNonEmpty(stringOf(body["working_directory"]), ex.WorkingDirectory, "~/project")
	job.Shell = firstNonEmpty(stringOf(body["shell"]), ex.Shell)
	steps, ok := body["steps"].([]any)
	if !ok {
		return fmt.Errorf("%s: steps must be a list", what)
	}
	compiled, err := c.compileSteps(steps, defNS)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	for _, k := range []string{"pre-steps", "post-steps"} {
		list, err := c.spliced(cfg[k], root, k)
		if err != nil {
			return fmt.Errorf("job %s: %w", job.Name, err)
		}
		if k == "pre-steps" {
			compiled = append(list, compiled...)
		} else {
			compiled = append(compiled, list...)
		}
	}
	job.Steps = compiled
	return nil
}

func requirements(v any, what string) ([]Requirement, error) {
	if v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%s: requires must be a list", what)
	}
	var out []Requirement
	for _, item := range list {
		switch x := item.(type) {
		case string:
			out = append(out, Requirement{Job: x, Statuses: []Status{StatusSuccess}})
		case map[string]any:
			for name, st := range x {
				names, err := stringList(st, what+" requires "+name)
				if err != nil {
					return nil, err
				}
				r := Requirement{Job: name}
				for _, n := range names {
					switch n {
					case "success":
						r.Statuses = append(r.Statuses, StatusSuccess)
					case "failed":
						r.Statuses = append(r.Statuses, StatusFailed)
					default:
						return nil, fmt.Errorf("%s: requires %s: status %q is not supported locally (success, failed)", what, name, n)
					}
				}
				out = append(out, r)
			}
		default:
			return nil, fmt.Errorf("%s: requires: want job names, got %s", what, describe(item))
		}
	}
	return out, nil
}

// topological orders jobs so each runs after what it requires, keeping the file's order
// where requires does not decide.
func topological(declared []*PlannedJob, byName map[string]*PlannedJob) ([]*PlannedJob, error) {
	for _, j := range declared {
		for _, r := range j.Requires {
			if byName[r.Job] == nil {
				return nil, fmt.Errorf("job %q requires %q, which is not a job of this workflow", j.Name, r.Job)
			}
		}
	}
	done := map[string]bool{}
	var out []*PlannedJob
	for len(out) < len(declared) {
		progressed := false
		for _, j := range declared {
			if done[j.Name] {
				continue
			}
			ready := true
			for _, r := range j.Requires {
				if !done[r.Job] {
					ready = false
					break
				}
			}
			if ready {
				done[j.Name] = true
				out = append(out, j)
				progressed = true
				break // restart from the top to keep file order
			}
		}
		if !progressed {
			var left []string
			for _, j := range declared {
				if !done[j.Name] {
					left = append(left, j.Name)
				}
			}
			return nil, fmt.Errorf("requires forms a cycle among %s", strings.Join(left, ", "))
		}
	}
	return out, nil
}

// filtered applies a workflow job's branch and tag filters. On a tag pipeline a job runs only
// when it has a tags filter that admits the tag, and branch filters are ignored; on a branch
// pipeline tag filters are ignored. `only` must match and `ignore` must not; a value is an
// exact name or a /regexp/ that must match the whole name.
func filtered(v any, branch, tag, what string) (bool, string, error) {
	f, err := circleci.AsMap(v, what+" filters")
	if err != nil {
		return false, "", err
	}
	for k := range f {
		if k != "branches" && k != "tags" {
			return false, "", fmt.Errorf("%s: filters: unknown key %q", what, k)
		}
	}
	if tag != "" {
		tf, ok := f["tags"]
		if !ok {
			return true, "no tags filter, so it does not run for tag " + tag, nil
		}
		admit, why, err := admits(tf, tag, what+" filters.tags")
		return !admit, why, err
	}
	bf, ok := f["branches"]
	if !ok {
		return false, "", nil
	}
	admit, why, err := admits(bf, branch, what+" filters.branches")
	return !admit, why, err
}

func admits(v any, name, what string) (bool, string, error) {
	m, err := circleci.AsMap(v, what)
	if err != nil {
		return false, "", err
	}
	for k := range m {
		if k != "only" && k != "ignore" {
			return false, "", fmt.Errorf("%s: unknown key %q", what, k)
		}
	}
	if only, ok := m["only"]; ok {
		hit, err := matchesAny(only, name, what+".only")
		if err != nil {
			return false, "", err
		}
		if !hit {
			return false, fmt.Sprintf("%q is not in %s.only", name, what), nil
		}
	}
	if ignore, ok := m["ignore"]; ok {
		hit, err := matchesAny(ignore, name, what+".ignore")
		if err != nil {
			return false, "", err
		}
		if hit {
			return false, fmt.Sprintf("%q is in %s.ignore", name, what), nil
		}
	}
	return true, "", nil
}

func matchesAny(v any, name, what string) (bool, error) {
	patterns, err := stringList(v, what)
	if err != nil {
		return false, err
	}
	for _, pat := range patterns {
		if len(pat) >= 2 && strings.HasPrefix(pat, "/") && strings.HasSuffix(pat, "/") {
			re, err := regexp.Compile(`^(?:` + pat[1:len(pat)-1] + `)$`)
			if err != nil {
				return false, fmt.Errorf("%s: %q: %w", what, pat, err)
			}
			if re.MatchString(name) {
				return true, nil
			}
		} else if pat == name {
			return true, nil
		}
	}
	return false, nil
}

func stringList(v any, what string) ([]string, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		return []string{x}, nil
	case []any:
		out := make([]string, 0, len(x))
		for _, item := range x {
			s, ok := item.(string)
			if !ok {
				return nil, fmt.Errorf("%s: want strings, got %s", what, describe(item))
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s: want a string or a list of strings, got %s", what, describe(v))
}

// pipelineValues builds the `pipeline.*` values and typed pipeline parameters of one run.
func (p *Pipeline) pipelineValues(opts RunOptions, pipelineID string) (*circleci.PipelineValues, error) {
	number := opts.PipelineNumber
	if number == 0 {
		number = 1
	}
	user, repo := projectNames(opts)
	values := map[string]any{
		"id":                pipelineID,
		"number":            number,
		"project.git_url":   fmt.Sprintf("https://github.com/%s/%s", user, repo),
		"project.slug":      fmt.Sprintf("github/%s/%s", user, repo),
		"project.type":      "github",
		"git.tag":           opts.Tag,
		"git.branch":        opts.Branch,
		"git.revision":      revision(opts),
		"git.base_revision": "",
		"trigger_source":    "webhook",
		"trigger.type":      "webhook",
		"schedule.name":     "",
		"schedule.id":       "",
	}
	for k, v := range opts.PipelineValues {
		values[strings.TrimPrefix(k, "pipeline.")] = v
	}
	params := map[string]any{}
	var unknown []string
	for k := range opts.Parameters {
		if _, ok := p.params[k]; !ok {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, failure.New(failure.Usage, "pipeline parameter(s) %s are not declared in %s", strings.Join(unknown, ", "), p.path)
	}
	specs, err := circleci.ParseSpecs(toAny(p.params), "pipeline")
	if err != nil {
		return nil, failure.Wrap(failure.Usage, err, "pipeline parameters")
	}
	c := &compiler{p: p}
	for _, sp := range specs {
		v, given := opts.Parameters[sp.Name]
		if !given {
			if !sp.HasDefault {
				return nil, failure.New(failure.Usage, "pipeline parameter %q has no default and was not given", sp.Name)
			}
			v = sp.Default
		} else if s, ok := v.(string); ok {
			v = fromText(sp.Type, s)
		}
		tv, err := c.typed(sp, v, p.root, "pipeline", given)
		if err != nil {
			return nil, failure.Wrap(failure.Usage, err, "pipeline parameters")
		}
		params[sp.Name] = tv
	}
	return &circleci.PipelineValues{Values: values, Params: params}, nil
}

// fromText converts a command-line value to a declared type; a value that does not convert
// stays a string, so the type check reports it.
func fromText(typ, s string) any {
	switch typ {
	case "boolean":
		if b, err := strconv.ParseBool(s); err == nil && (s == "true" || s == "false") {
			return b
		}
	case "integer":
		if n, err := strconv.Atoi(s); err == nil {
			return n
		}
	}
	return s
}

func toAny(m map[string]map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func projectNames(opts RunOptions) (string, string) {
	user := firstNonEmpty(opts.ProjectUsername, "local")
	repo := opts.ProjectReponame
	if repo == "" && opts.Source != "" {
		if abs, err := absPath(opts.Source); err == nil {
			repo = baseName(abs)
		}
	}
	return user, firstNonEmpty(repo, "project")
}

func revision(opts RunOptions) string {
	if opts.Revision != "" {
		return opts.Revision
	}
	if opts.Source != "" {
		out, err := exec.Command("git", "-C", opts.Source, "rev-parse", "HEAD").Output()
		if err == nil {
			if s := strings.TrimSpace(string(out)); len(s) == 40 {
				return s
			}
		}
	}
	return strings.Repeat("0", 40)
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

func stringOf(v any) string {
	s, _ := v.(string)
	return circleci.Unescape(s)
}

// newID returns a random UUID (version 4), the form of CircleCI's pipeline and workflow ids.
func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
