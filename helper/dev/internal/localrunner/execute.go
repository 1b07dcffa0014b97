package localrunner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/shipgate/shipgate/helper/internal/circleci"
	"github.com/shipgate/shipgate/helper/internal/failure"
)

// Status is the outcome of a job or a step.
type Status string

const (
	// StatusSuccess: the job's steps all passed (or the approval was granted).
	StatusSuccess Status = "success"
	// StatusFailed: a step failed.
	StatusFailed Status = "failed"
	// StatusBlocked: a job it requires did not end in a status it accepts, so it never ran.
	StatusBlocked Status = "blocked"
	// StatusSkipped: a branch or tag filter excluded the job (or a job it requires), or for a
	// step, an earlier failure or its `when` kept it from running.
	StatusSkipped Status = "skipped"
)

// Result is the outcome of one workflow run.
type Result struct {
	Workflow   string
	WorkflowID string
	PipelineID string
	// Skipped is true when the workflow's when/unless excluded it; Jobs is then empty.
	Skipped bool
	Jobs    []*JobResult
}

// Failed reports whether any job failed.
func (r *Result) Failed() bool {
	for _, j := range r.Jobs {
		if j.Status == StatusFailed {
			return true
		}
	}
	return false
}

// Job returns the result of the job with the given workflow name, or nil.
func (r *Result) Job(name string) *JobResult {
	for _, j := range r.Jobs {
		if j.Name == name {
			return j
		}
	}
	return nil
}

// JobResult is the outcome of one workflow job.
type JobResult struct {
	Name, Ref string
	Status    Status
	// Reason explains a failed, blocked or skipped job.
	Reason      string
	Approval    bool
	Contexts    []string
	SerialGroup string
	Steps       []*StepResult
	// Artifacts and TestResults record store_artifacts and store_test_results paths.
	Artifacts, TestResults []string
	// Home and WorkingDirectory are the job's directories on this machine (kept only when
	// RunOptions.WorkDir was given).
	Home, WorkingDirectory string
}

// StepResult is the outcome of one step.
type StepResult struct {
	Name, Kind string
	Status     Status
	ExitCode   int
	// Output is what the step printed (stdout and stderr interleaved).
	Output string
}

// run is the state of one pipeline run.
type run struct {
	p          *Pipeline
	opts       RunOptions
	pipe       *circleci.PipelineValues
	pipelineID string
	log        io.Writer
	workDir    string
	buildNum   int
}

func (p *Pipeline) newRun(opts RunOptions) (*run, func(), error) {
	r := &run{p: p, opts: opts, pipelineID: newID(), log: opts.LogWriter, workDir: opts.WorkDir}
	if r.log == nil {
		r.log = io.Discard
	}
	// Background steps keep writing while later steps run.
	r.log = &lockedWriter{w: r.log}
	pipe, err := p.pipelineValues(opts, r.pipelineID)
	if err != nil {
		return nil, nil, err
	}
	r.pipe = pipe
	cleanup := func() {}
	if r.workDir == "" {
		dir, err := os.MkdirTemp("", "circlerun-")
		if err != nil {
			return nil, nil, failure.Wrap(failure.Internal, err, "creating a work directory")
		}
		r.workDir = dir
		cleanup = func() { os.RemoveAll(dir) }
	} else if r.workDir, err = absPath(r.workDir); err != nil {
		return nil, nil, failure.Wrap(failure.Usage, err, "work directory %q", opts.WorkDir)
	}
	return r, cleanup, nil
}

// RunWorkflow compiles and runs one workflow. The error reports a configuration that does not
// compile or a run that could not start; failed jobs are reported in the Result.
func (p *Pipeline) RunWorkflow(ctx context.Context, name string, opts RunOptions) (*Result, error) {
	r, cleanup, err := p.newRun(opts)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	return r.workflow(ctx, name)
}

// RunAll runs every workflow of the configuration in file order, as one pipeline does.
func (p *Pipeline) RunAll(ctx context.Context, opts RunOptions) ([]*Result, error) {
	r, cleanup, err := p.newRun(opts)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	// Like CircleCI, compile every workflow before anything runs: one that does not compile
	// fails the pipeline.
	plans := map[string]*Plan{}
	for _, name := range p.workflowOrder {
		if _, scheduled := p.workflows[name]["triggers"]; scheduled {
			continue
		}
		if plans[name], err = p.plan(name, r.opts, r.pipe); err != nil {
			return nil, err
		}
	}
	var out []*Result
	for _, name := range p.workflowOrder {
		plan, ok := plans[name]
		if !ok {
			// A legacy scheduled workflow (`triggers: - schedule:`) runs on its schedule only,
			// never for a push; RunWorkflow runs it on request.
			fmt.Fprintf(r.log, "workflow %s: skipped: it has triggers, so it runs only on its schedule\n", name)
			out = append(out, &Result{Workflow: name, PipelineID: r.pipelineID, Skipped: true})
			continue
		}
		res, err := r.runPlan(ctx, plan)
		if err != nil {
			return out, err
		}
		out = append(out, res)
	}
	return out, nil
}

func (r *run) workflow(ctx context.Context, name string) (*Result, error) {
	plan, err := r.p.plan(name, r.opts, r.pipe)
	if err != nil {
		return nil, err
	}
	return r.runPlan(ctx, plan)
}

func (r *run) runPlan(ctx context.Context, plan *Plan) (*Result, error) {
	name := plan.Workflow
	res := &Result{Workflow: name, WorkflowID: newID(), PipelineID: r.pipelineID, Skipped: plan.Skipped}
	if plan.Skipped {
		fmt.Fprintf(r.log, "workflow %s: skipped by its when/unless condition\n", name)
		return res, nil
	}
	fmt.Fprintf(r.log, "workflow %s: %d job(s), branch %q, tag %q\n", name, len(plan.Jobs), r.opts.Branch, r.opts.Tag)
	wfDir := filepath.Join(r.workDir, safeName(name)+"-"+res.WorkflowID[:8])
	wsDir := filepath.Join(wfDir, "workspace")
	if err := os.MkdirAll(wsDir, 0o755); err != nil {
		return nil, failure.Wrap(failure.Internal, err, "creating %q", wsDir)
	}
	wf := &workflowRun{run: r, res: res, dir: wfDir, workspace: wsDir, status: map[string]Status{}, layers: map[string]string{}, plan: plan}
	for i, job := range plan.Jobs {
		jr := wf.job(ctx, i, job)
		res.Jobs = append(res.Jobs, jr)
		wf.status[job.Name] = jr.Status
		fmt.Fprintf(r.log, "<== job %s: %s%s\n", job.Name, jr.Status, reasonSuffix(jr.Reason))
	}
	return res, nil
}

func reasonSuffix(reason string) string {
	if reason == "" {
		return ""
	}
	return " (" + reason + ")"
}

type workflowRun struct {
	*run
	res       *Result
	plan      *Plan
	dir       string
	workspace string
	status    map[string]Status
	// layers maps a job name to the workspace layer it persisted.
	layers map[string]string
	order  []string // jobs that persisted, in the order they ran
}

func (wf *workflowRun) job(ctx context.Context, index int, job *PlannedJob) *JobResult {
	jr := &JobResult{Name: job.Name, Ref: job.Ref, Approval: job.Approval, Contexts: job.Contexts, SerialGroup: job.SerialGroup}
	if job.Filtered {
		jr.Status, jr.Reason = StatusSkipped, "filtered: "+job.FilterReason
		return jr
	}
	for _, req := range job.Requires {
		st := wf.status[req.Job]
		if st == StatusSkipped {
			jr.Status, jr.Reason = StatusSkipped, fmt.Sprintf("requires %s, which did not run", req.Job)
			return jr
		}
		ok := false
		for _, want := range req.Statuses {
			ok = ok || st == want
		}
		if !ok {
			jr.Status, jr.Reason = StatusBlocked, fmt.Sprintf("requires %s, which ended %s", req.Job, st)
			return jr
		}
	}
	if job.SerialGroup != "" {
		fmt.Fprintf(wf.log, "job %s: serial-group %q recorded (runs alone here; on CircleCI an older pipeline's job waiting for it would end not_run)\n", job.Name, job.SerialGroup)
	}
	if len(job.Contexts) > 0 {
		fmt.Fprintf(wf.log, "job %s: would use context(s) %s\n", job.Name, strings.Join(job.Contexts, ", "))
	}
	if job.Approval {
		fmt.Fprintf(wf.log, "job %s: approval job approved automatically by the local runner (on CircleCI a person approves it)\n", job.Name)
		jr.Status = StatusSuccess
		return jr
	}
	if err := ctx.Err(); err != nil {
		jr.Status, jr.Reason = StatusFailed, "canceled: "+err.Error()
		return jr
	}
	jr.Status, jr.Reason = wf.execute(ctx, index, job, jr)
	return jr
}

// execute runs a job's steps on the host and returns its status.
func (wf *workflowRun) execute(ctx context.Context, index int, job *PlannedJob, jr *JobResult) (Status, string) {
	wf.buildNum++
	buildNum := wf.buildNum
	jobDir := filepath.Join(wf.dir, fmt.Sprintf("%02d-%s", index+1, safeName(job.Name)))
	home := filepath.Join(jobDir, "home")
	bashEnv := filepath.Join(jobDir, "bash_env")
	scripts := filepath.Join(jobDir, "steps")
	for _, d := range []string{home, scripts} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return StatusFailed, err.Error()
		}
	}
	if err := os.WriteFile(bashEnv, nil, 0o644); err != nil {
		return StatusFailed, err.Error()
	}
	wd := hostPath(job.WorkingDirectory, home, home)
	if err := os.MkdirAll(wd, 0o755); err != nil {
		return StatusFailed, err.Error()
	}
	jr.Home, jr.WorkingDirectory = home, wd

	jobID := newID()
	env, err := wf.environment(job, jobID, buildNum, home, bashEnv)
	if err != nil {
		return StatusFailed, err.Error()
	}
	halt, env, err := installAgent(jobDir, env)
	if err != nil {
		return StatusFailed, err.Error()
	}
	fmt.Fprintf(wf.log, "==> job %s (%s), executor %s, working directory %s\n", job.Name, job.Ref, firstNonEmpty(job.Executor, "none"), job.WorkingDirectory)

	failed := false
	var reason string
	var procs []*stepProcess
	defer func() {
		endJobProcesses("CIRCLE_WORKFLOW_JOB_ID="+jobID, procs)
		for _, p := range procs {
			p.end()
		}
	}()
	halted := false
	for i, st := range job.Steps {
		sr := &StepResult{Name: st.Name, Kind: st.Kind}
		jr.Steps = append(jr.Steps, sr)
		runIt := st.When == "always" || (st.When == "on_fail") == failed
		if !runIt || ctx.Err() != nil || halted {
			sr.Status = StatusSkipped
			continue
		}
		fmt.Fprintf(wf.log, "--> [%s] %s\n", job.Name, st.Name)
		var out bytes.Buffer
		w := &lockedWriter{w: io.MultiWriter(wf.log, &limitedBuffer{buf: &out, max: 1 << 20})}
		var stepErr error
		switch st.Kind {
		case "run":
			var proc *stepProcess
			proc, sr.ExitCode, stepErr = runCommand(ctx, st, job, env, scripts, i+1, wd, home, w, wf.log)
			if proc != nil {
				procs = append(procs, proc)
			}
		case "checkout":
			stepErr = wf.checkout(st, wd, home, w)
		case "persist_to_workspace":
			stepErr = wf.persist(job.Name, st, wd, home, w)
		case "attach_workspace":
			stepErr = wf.attach(job, st, wd, home, w)
		case "store_artifacts":
			p := stringOf(st.Args["path"])
			jr.Artifacts = append(jr.Artifacts, hostPath(p, wd, home))
			fmt.Fprintf(w, "store_artifacts: recorded %s (destination %q)\n", p, stringOf(st.Args["destination"]))
		case "store_test_results":
			p := stringOf(st.Args["path"])
			jr.TestResults = append(jr.TestResults, hostPath(p, wd, home))
			fmt.Fprintf(w, "store_test_results: recorded %s\n", p)
		default:
			fmt.Fprintf(w, "%s: no-op in the local runner\n", st.Kind)
		}
		w.mu.Lock()
		sr.Output = out.String()
		w.mu.Unlock()
		if stepErr != nil {
			sr.Status = StatusFailed
			if !failed {
				reason = fmt.Sprintf("step %q: %v", st.Name, stepErr)
			}
			failed = true
			fmt.Fprintf(wf.log, "<-- [%s] %s: failed: %v\n", job.Name, st.Name, stepErr)
			continue
		}
		sr.Status = StatusSuccess
		if _, err := os.Stat(halt); err == nil {
			halted = true
			fmt.Fprintf(wf.log, "=== [%s] %s: circleci-agent step halt: the job ends here, successfully\n", job.Name, st.Name)
		}
	}
	if ctx.Err() != nil && !failed {
		return StatusFailed, "canceled: " + ctx.Err().Error()
	}
	if failed {
		return StatusFailed, reason
	}
	return StatusSuccess, ""
}

// environment assembles a job's environment: the base environment, then CIRCLE_* values,
// then contexts, then the executor's and the job's own environment. Step environment is added
// per step. HOME, BASH_ENV and PATH are the runner's.
func (wf *workflowRun) environment(job *PlannedJob, jobID string, buildNum int, home, bashEnv string) ([]string, error) {
	base := wf.opts.Env
	if base == nil {
		base = os.Environ()
	}
	env := map[string]string{}
	for _, kv := range base {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	user, repo := projectNames(wf.opts)
	circle := map[string]string{
		"CI":                           "true",
		"CIRCLECI":                     "true",
		"CIRCLE_BRANCH":                wf.opts.Branch,
		"CIRCLE_SHA1":                  wf.pipe.Values["git.revision"].(string),
		"CIRCLE_BUILD_NUM":             strconv.Itoa(buildNum),
		"CIRCLE_JOB":                   job.Name,
		"CIRCLE_NODE_INDEX":            "0",
		"CIRCLE_NODE_TOTAL":            "1",
		"CIRCLE_PIPELINE_ID":           wf.pipelineID,
		"CIRCLE_WORKFLOW_ID":           wf.res.WorkflowID,
		"CIRCLE_WORKFLOW_WORKSPACE_ID": wf.res.WorkflowID,
		"CIRCLE_WORKFLOW_JOB_ID":       jobID,
		// CircleCI sets this to the configured value, "~" included, not the expanded path.
		"CIRCLE_WORKING_DIRECTORY": job.WorkingDirectory,
		"CIRCLE_PROJECT_USERNAME":  user,
		"CIRCLE_PROJECT_REPONAME":  repo,
		"CIRCLE_REPOSITORY_URL":    fmt.Sprintf("git@github.com:%s/%s.git", user, repo),
		"CIRCLE_BUILD_URL":         fmt.Sprintf("https://app.circleci.com/pipelines/github/%s/%s/%v/workflows/%s/jobs/%d", user, repo, wf.pipe.Values["number"], wf.res.WorkflowID, buildNum),
		"CIRCLE_USERNAME":          "local-runner",
		"CIRCLE_SHELL_ENV":         bashEnv,
	}
	if wf.opts.Tag != "" {
		circle["CIRCLE_TAG"] = wf.opts.Tag
	} else {
		delete(env, "CIRCLE_TAG")
	}
	if wf.opts.Branch == "" {
		delete(circle, "CIRCLE_BRANCH") // a tag pipeline has no branch
		delete(env, "CIRCLE_BRANCH")
	}
	for k, v := range circle {
		env[k] = v
	}
	for _, name := range job.Contexts {
		if wf.opts.Contexts == nil {
			continue
		}
		vars, ok := wf.opts.Contexts[name]
		if !ok {
			return nil, fmt.Errorf("context %q is not available to this run", name)
		}
		for k, v := range vars {
			env[k] = v
		}
	}
	for k, v := range job.Env {
		env[k] = v
	}
	env["HOME"] = home
	env["BASH_ENV"] = bashEnv
	path := env["PATH"]
	prepend := wf.opts.PathPrepend
	if wf.opts.ImagePath != nil {
		prepend = append(wf.opts.ImagePath(job.Image), prepend...)
	}
	if len(prepend) > 0 {
		var abs []string
		for _, d := range prepend {
			a, err := absPath(d)
			if err != nil {
				return nil, err
			}
			abs = append(abs, a)
		}
		path = strings.Join(abs, string(os.PathListSeparator)) + string(os.PathListSeparator) + path
	}
	env["PATH"] = path
	return flatten(env), nil
}

func flatten(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

func withStepEnv(env []string, step map[string]string) []string {
	if len(step) == 0 {
		return env
	}
	m := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	for k, v := range step {
		m[k] = v
	}
	return flatten(m)
}

// defaultShell is CircleCI's default for run steps: a non-login bash with -e and pipefail,
// which sources $BASH_ENV at the start because it is non-interactive.
func defaultShell() string {
	if _, err := os.Stat("/bin/bash"); err == nil {
		return "/bin/bash -eo pipefail"
	}
	return "bash -eo pipefail"
}

// runCommand runs one run step as a fresh process in its own process group and waits for it
// (a background step is only started). The returned process group is killed when the job
// ends, as CircleCI's container teardown ends whatever a step left running.
func runCommand(ctx context.Context, st Step, job *PlannedJob, env []string, scripts string, n int, wd, home string, w, log io.Writer) (*stepProcess, int, error) {
	script := filepath.Join(scripts, fmt.Sprintf("%02d.sh", n))
	if err := os.WriteFile(script, []byte(st.Command), 0o700); err != nil {
		return nil, -1, err
	}
	shell := strings.Fields(firstNonEmpty(st.Shell, job.Shell, defaultShell()))
	if len(shell) == 0 {
		return nil, -1, fmt.Errorf("empty shell")
	}
	dir := wd
	if st.WorkingDirectory != "" {
		dir = hostPath(st.WorkingDirectory, wd, home)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, -1, err
		}
	}
	stepCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	cmdCtx := stepCtx
	if st.Background {
		cmdCtx = ctx // it outlives this call; the job ends it
	}
	cmd := exec.CommandContext(cmdCtx, shell[0], append(shell[1:], script)...)
	cmd.Dir = dir
	cmd.Env = withStepEnv(env, st.Env)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	timeout := st.NoOutputTimeout
	if timeout <= 0 {
		timeout = defaultNoOutputTimeout
	}
	watchdog := time.AfterFunc(timeout, func() {
		cancel(fmt.Errorf("no output for %s (no_output_timeout)", timeout))
	})
	defer watchdog.Stop()
	if st.Background {
		w = log // it outlives the step, so its output is only logged
	}
	sink := &switchWriter{w: &activityWriter{w: w, onWrite: func() { watchdog.Reset(timeout) }}}
	// Our own pipe rather than exec's: a daemon a step starts with & keeps the pipe open, and
	// the step must still end when its shell does (its later output goes to the log only).
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, -1, err
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	err = cmd.Start()
	pw.Close()
	if err != nil {
		pr.Close()
		return nil, -1, err
	}
	proc := &stepProcess{pgid: cmd.Process.Pid, copied: make(chan struct{})}
	go func() {
		_, _ = io.Copy(sink, pr)
		pr.Close()
		close(proc.copied)
	}()
	if st.Background {
		watchdog.Stop()
		fmt.Fprintf(w, "started in the background (pid %d)\n", cmd.Process.Pid)
		proc.wait = cmd.Wait
		return proc, 0, nil
	}
	waitErr := cmd.Wait()
	select {
	case <-proc.copied:
	case <-time.After(500 * time.Millisecond):
		// Something the step started still holds its output: keep logging it, stop capturing.
		sink.set(log)
	}
	if cause := context.Cause(stepCtx); cause != nil && ctx.Err() == nil {
		return proc, -1, cause
	}
	if waitErr != nil {
		var ee *exec.ExitError
		if errors.As(waitErr, &ee) {
			code := ee.ExitCode()
			return proc, code, fmt.Errorf("exited with code %d", code)
		}
		return proc, -1, waitErr
	}
	return proc, 0, nil
}

// stepProcess is the process group of a run step, ended with its job.
type stepProcess struct {
	pgid   int
	copied chan struct{}
	wait   func() error // background steps: reaps the shell
}

// end reaps a background step and lets the output copy finish, once the job's processes
// were killed.
func (p *stepProcess) end() {
	if p.wait != nil {
		_ = p.wait()
	}
	select {
	case <-p.copied:
	case <-time.After(time.Second):
	}
}

// endJobProcesses kills whatever a job's steps left running, as the end of a CircleCI job
// ends its container. A process is the job's when its environment holds the job's unique
// CIRCLE_WORKFLOW_JOB_ID (it survives setsid and re-parenting, and unlike a process group id
// it cannot be reused by an unrelated process). Without /proc, the steps' process groups are
// killed instead.
func endJobProcesses(marker string, procs []*stepProcess) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		for _, p := range procs {
			_ = syscall.Kill(-p.pgid, syscall.SIGKILL)
		}
		return
	}
	needle := []byte("\x00" + marker + "\x00")
	self := os.Getpid()
	// A process may fork while it is being killed; its child inherits the marker, so look again.
	for range 5 {
		killed := 0
		for _, e := range entries {
			pid, err := strconv.Atoi(e.Name())
			if err != nil || pid == self {
				continue
			}
			data, err := os.ReadFile("/proc/" + e.Name() + "/environ")
			if err != nil || !bytes.Contains(append([]byte{0}, data...), needle) {
				continue
			}
			if syscall.Kill(pid, syscall.SIGKILL) == nil {
				killed++
			}
		}
		if killed == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
		if entries, err = os.ReadDir("/proc"); err != nil {
			return
		}
	}
}

type switchWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *switchWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, _ = s.w.Write(p)
	return len(p), nil
}

func (s *switchWriter) set(w io.Writer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.w = w
}

type activityWriter struct {
	mu      sync.Mutex
	w       io.Writer
	onWrite func()
}

func (a *activityWriter) Write(p []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.onWrite()
	return a.w.Write(p)
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

type limitedBuffer struct {
	buf *bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.max - l.buf.Len(); room > 0 {
		if len(p) > room {
			l.buf.Write(p[:room])
		} else {
			l.buf.Write(p)
		}
	}
	return len(p), nil
}

func (wf *workflowRun) checkout(st Step, wd, home string, w io.Writer) error {
	dest := wd
	if p := stringOf(st.Args["path"]); p != "" {
		dest = hostPath(p, wd, home)
	}
	if wf.opts.Source == "" {
		fmt.Fprintln(w, "checkout: no source directory given; nothing checked out")
		return nil
	}
	fmt.Fprintf(w, "checkout: copying the source into %s\n", dest)
	return copyTree(wf.opts.Source, dest)
}

func (wf *workflowRun) persist(jobName string, st Step, wd, home string, w io.Writer) error {
	rootArg := stringOf(st.Args["root"])
	if rootArg == "" {
		return fmt.Errorf("persist_to_workspace: root is missing")
	}
	root := hostPath(rootArg, wd, home)
	paths, err := stringList(st.Args["paths"], "persist_to_workspace paths")
	if err != nil {
		return err
	}
	if len(paths) == 0 {
		return fmt.Errorf("persist_to_workspace: paths is missing")
	}
	layer, ok := wf.layers[jobName]
	if !ok {
		layer = filepath.Join(wf.workspace, fmt.Sprintf("%02d-%s", len(wf.order)+1, safeName(jobName)))
		wf.layers[jobName] = layer
		wf.order = append(wf.order, jobName)
	}
	for _, p := range paths {
		matches, err := filepath.Glob(filepath.Join(root, p))
		if err != nil {
			return fmt.Errorf("persist_to_workspace: path %q: %w", p, err)
		}
		if len(matches) == 0 {
			return fmt.Errorf("persist_to_workspace: %q matches nothing under %s", p, rootArg)
		}
		for _, m := range matches {
			rel, err := filepath.Rel(root, m)
			if err != nil || strings.HasPrefix(rel, "..") {
				return fmt.Errorf("persist_to_workspace: %q is outside root %s", p, rootArg)
			}
			if err := copyTree(m, filepath.Join(layer, rel)); err != nil {
				return err
			}
			fmt.Fprintf(w, "persist_to_workspace: %s\n", filepath.ToSlash(filepath.Join(rootArg, rel)))
		}
	}
	return nil
}

// attach copies the layers persisted by the jobs upstream of job (through requires, in the
// order they ran) into `at`. Workspaces live inside one workflow run: nothing persisted by
// another workflow, or by a job that is not upstream, is visible.
func (wf *workflowRun) attach(job *PlannedJob, st Step, wd, home string, w io.Writer) error {
	at := stringOf(st.Args["at"])
	if at == "" {
		return fmt.Errorf("attach_workspace: at is missing")
	}
	dest := hostPath(at, wd, home)
	upstream := wf.upstream(job)
	found := false
	for _, name := range wf.order {
		if !upstream[name] {
			continue
		}
		found = true
		if err := copyTree(wf.layers[name], dest); err != nil {
			return err
		}
		fmt.Fprintf(w, "attach_workspace: layer of %s attached at %s\n", name, at)
	}
	if !found {
		return fmt.Errorf("attach_workspace: no job upstream of %s in workflow %s persisted a workspace", job.Name, wf.res.Workflow)
	}
	return nil
}

func (wf *workflowRun) upstream(job *PlannedJob) map[string]bool {
	byName := map[string]*PlannedJob{}
	for _, j := range wf.plan.Jobs {
		byName[j.Name] = j
	}
	seen := map[string]bool{}
	var visit func(j *PlannedJob)
	visit = func(j *PlannedJob) {
		for _, r := range j.Requires {
			if !seen[r.Job] {
				seen[r.Job] = true
				if up := byName[r.Job]; up != nil {
					visit(up)
				}
			}
		}
	}
	visit(job)
	return seen
}

// imageHome is the home directory of CircleCI's convenience images (cimg/*), where `~` points
// on CircleCI; configured paths under it are mapped to the job's home like `~`.
const imageHome = "/home/circleci"

// hostPath maps a path of the config to this machine: "~" (and /home/circleci) is the job's
// home, a relative path is relative to base, other absolute paths are used as they are.
func hostPath(p, base, home string) string {
	switch {
	case p == "~" || p == imageHome:
		return home
	case strings.HasPrefix(p, "~/"):
		return filepath.Join(home, p[2:])
	case strings.HasPrefix(p, imageHome+"/"):
		return filepath.Join(home, p[len(imageHome)+1:])
	case filepath.IsAbs(p):
		return p
	}
	return filepath.Join(base, p)
}

// copyTree copies a file, symlink or directory tree from src to dst, merging into what dst
// already holds.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, info.Mode().Perm()|0o700)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			_ = os.Remove(target)
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			return os.Symlink(link, target)
		case d.Type().IsRegular():
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			return copyFile(path, target, info.Mode().Perm())
		}
		return nil // sockets, devices: not part of a source tree or workspace
	})
}

func copyFile(src, dst string, mode fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	_ = os.Remove(dst)
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func safeName(s string) string {
	return unsafeChars.ReplaceAllString(s, "_")
}

func absPath(p string) (string, error) {
	return filepath.Abs(p)
}

func baseName(p string) string {
	return filepath.Base(p)
}

// installAgent puts a `circleci-agent` on the job's PATH that implements `circleci-agent step
// halt` (end the job successfully after the current step) by creating a marker file the runner
// checks after each step. It returns the marker's path and the job environment with PATH
// extended.
func installAgent(jobDir string, env []string) (string, []string, error) {
	bin := filepath.Join(jobDir, "agent-bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return "", nil, err
	}
	halt := filepath.Join(jobDir, "halted")
	script := "#!/bin/sh\n# circleci-agent as the local runner provides it.\n" +
		"if [ \"$1\" = step ] && [ \"$2\" = halt ]; then : >" + shellQuote(halt) + "; exit 0; fi\n" +
		"echo \"circleci-agent: only 'step halt' is available locally\" >&2\nexit 1\n"
	if err := os.WriteFile(filepath.Join(bin, "circleci-agent"), []byte(script), 0o755); err != nil {
		return "", nil, err
	}
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if strings.HasPrefix(kv, "PATH=") {
			kv = "PATH=" + bin + string(os.PathListSeparator) + strings.TrimPrefix(kv, "PATH=")
		}
		out = append(out, kv)
	}
	return halt, out, nil
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
