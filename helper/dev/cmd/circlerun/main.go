// Command circlerun runs a CircleCI configuration's workflows on this machine with the local
// runner (helper/dev/internal/localrunner). It is a development tool for proving the orb's
// examples; it is not part of the shipped shipgate helper.
//
//	circlerun --config .circleci/config.yml --orb shipgate/shipgate=orb.yml \
//	    --workflow release --branch main --param target-env=staging \
//	    --path-prepend ./stubs --context staging-deploy=AWS_REGION=eu-west-1
//
// Exit codes: 0 every job that ran succeeded; 1 a job failed; 2 bad usage or a configuration
// that does not compile.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/shipgate/shipgate/helper/dev/internal/localrunner"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// pairs is a repeatable KEY=VALUE flag.
type pairs []string

func (p *pairs) String() string     { return strings.Join(*p, ",") }
func (p *pairs) Set(v string) error { *p = append(*p, v); return nil }

func split(kv, flagName string) (string, string, error) {
	k, v, ok := strings.Cut(kv, "=")
	if !ok || k == "" {
		return "", "", fmt.Errorf("--%s %q: want NAME=VALUE", flagName, kv)
	}
	return k, v, nil
}

// invocation is what the command line asked for, parsed and checked.
type invocation struct {
	config, workflow, example string
	plan                      bool
	orbFiles                  map[string]string
	opts                      localrunner.RunOptions
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	inv, err := parseInvocation(args, stderr)
	if err != nil {
		if !errors.Is(err, errUsagePrinted) {
			fmt.Fprintln(stderr, "circlerun:", err)
		}
		return 2
	}
	p, err := inv.load()
	if err != nil {
		fmt.Fprintln(stderr, "circlerun:", err)
		return 2
	}
	if inv.plan {
		return inv.printPlans(p, stdout, stderr)
	}
	results, err := inv.runWorkflows(ctx, p)
	if err != nil {
		fmt.Fprintln(stderr, "circlerun:", err)
		return 2
	}
	return report(results, stdout)
}

// errUsagePrinted: the flag package has already told the user what was wrong.
var errUsagePrinted = errors.New("usage")

// parseInvocation turns the command line into an invocation; every NAME=VALUE list is checked.
func parseInvocation(args []string, stderr io.Writer) (*invocation, error) {
	fs := flag.NewFlagSet("circlerun", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var orbs, params, env, paths, contexts, values pairs
	config := fs.String("config", ".circleci/config.yml", "the CircleCI configuration to run")
	workflow := fs.String("workflow", "", "the workflow to run (default: every workflow, as a pipeline does)")
	branch := fs.String("branch", "main", "the pipeline's branch")
	tag := fs.String("tag", "", "run as a tag pipeline for this tag")
	revision := fs.String("revision", "", "the commit SHA (default: HEAD of --source, else zeros)")
	source := fs.String("source", "", "directory that `checkout` copies (default: checkout does nothing)")
	workDir := fs.String("workdir", "", "keep job directories and workspaces here (default: a temporary directory, removed)")
	number := fs.Int("pipeline-number", 1, "pipeline.number")
	plan := fs.Bool("plan", false, "print the compiled jobs and steps without running them")
	example := fs.String("example", "", "run this example's usage from the packed orb given as --config")
	fs.Var(&orbs, "orb", "ORB=FILE: a packed orb for an import (ns/name or ns/name@version); repeatable")
	fs.Var(&params, "param", "NAME=VALUE: a pipeline parameter; repeatable")
	fs.Var(&env, "env", "NAME=VALUE: added to the base environment (this process's); repeatable")
	fs.Var(&paths, "path-prepend", "DIR: put in front of PATH for every step (stubs); repeatable")
	fs.Var(&contexts, "context", "CONTEXT=NAME=VALUE: a variable a context provides; once given, jobs may only use contexts named here; repeatable")
	fs.Var(&values, "pipeline-value", "NAME=VALUE: a pipeline value without the pipeline. prefix (trigger.type=schedule); repeatable")
	if err := fs.Parse(args); err != nil {
		return nil, errUsagePrinted
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	inv := &invocation{config: *config, workflow: *workflow, example: *example, plan: *plan, orbFiles: map[string]string{}}
	inv.opts = localrunner.RunOptions{
		Branch: *branch, Tag: *tag, Revision: *revision, Source: *source, WorkDir: *workDir,
		PipelineNumber: *number, PathPrepend: paths, LogWriter: stderr,
		Parameters: map[string]any{}, PipelineValues: map[string]any{},
		Env: append(os.Environ(), env...),
	}
	if *tag != "" && !isFlagSet(fs, "branch") {
		inv.opts.Branch = ""
	}
	for _, set := range []struct {
		list pairs
		name string
		into func(k, v string)
	}{
		{orbs, "orb", func(k, v string) { inv.orbFiles[k] = v }},
		{params, "param", func(k, v string) { inv.opts.Parameters[k] = v }},
		{values, "pipeline-value", func(k, v string) { inv.opts.PipelineValues[k] = v }},
	} {
		for _, kv := range set.list {
			k, v, err := split(kv, set.name)
			if err != nil {
				return nil, err
			}
			set.into(k, v)
		}
	}
	var err error
	if inv.opts.Contexts, err = parseContexts(contexts); err != nil {
		return nil, err
	}
	return inv, nil
}

// parseContexts reads CONTEXT=NAME=VALUE entries; none means every context is allowed (nil).
func parseContexts(contexts pairs) (map[string]map[string]string, error) {
	if len(contexts) == 0 {
		return nil, nil
	}
	out := map[string]map[string]string{}
	for _, c := range contexts {
		name, kv, _ := strings.Cut(c, "=")
		k, v, err := split(kv, "context")
		if err != nil || name == "" {
			return nil, fmt.Errorf("--context %q: want CONTEXT=NAME=VALUE", c)
		}
		if out[name] == nil {
			out[name] = map[string]string{}
		}
		out[name][k] = v
	}
	return out, nil
}

// load compiles the configuration, or the example's usage from a packed orb.
func (inv *invocation) load() (*localrunner.Pipeline, error) {
	if inv.example != "" {
		return localrunner.LoadOrbExample(inv.config, inv.example, inv.orbFiles)
	}
	return localrunner.Load(inv.config, inv.orbFiles)
}

func (inv *invocation) workflows(p *localrunner.Pipeline) []string {
	if inv.workflow != "" {
		return []string{inv.workflow}
	}
	return p.Workflows()
}

func (inv *invocation) printPlans(p *localrunner.Pipeline, stdout, stderr io.Writer) int {
	for _, name := range inv.workflows(p) {
		pl, err := p.Plan(name, inv.opts)
		if err != nil {
			fmt.Fprintln(stderr, "circlerun:", err)
			return 2
		}
		printPlan(stdout, pl)
	}
	return 0
}

// runWorkflows runs the one workflow asked for, or every workflow as a pipeline does.
func (inv *invocation) runWorkflows(ctx context.Context, p *localrunner.Pipeline) ([]*localrunner.Result, error) {
	if inv.workflow == "" {
		return p.RunAll(ctx, inv.opts)
	}
	res, err := p.RunWorkflow(ctx, inv.workflow, inv.opts)
	if err != nil {
		return nil, err
	}
	return []*localrunner.Result{res}, nil
}

// report prints each workflow's jobs and returns 1 when any job failed.
func report(results []*localrunner.Result, stdout io.Writer) int {
	code := 0
	for _, res := range results {
		if res.Skipped {
			fmt.Fprintf(stdout, "workflow %s: skipped (when/unless)\n", res.Workflow)
			continue
		}
		fmt.Fprintf(stdout, "workflow %s:\n", res.Workflow)
		for _, j := range res.Jobs {
			line := fmt.Sprintf("  %-30s %s", j.Name, j.Status)
			if j.Approval {
				line += " (approval, approved by the local runner)"
			}
			if j.Reason != "" {
				line += ": " + j.Reason
			}
			fmt.Fprintln(stdout, line)
		}
		if res.Failed() {
			code = 1
		}
	}
	return code
}

func printPlan(w io.Writer, pl *localrunner.Plan) {
	if pl.Skipped {
		fmt.Fprintf(w, "workflow %s: skipped (when/unless)\n", pl.Workflow)
		return
	}
	fmt.Fprintf(w, "workflow %s:\n", pl.Workflow)
	for _, j := range pl.Jobs {
		switch {
		case j.Filtered:
			fmt.Fprintf(w, "  %s: filtered (%s)\n", j.Name, j.FilterReason)
			continue
		case j.Approval:
			fmt.Fprintf(w, "  %s: approval\n", j.Name)
			continue
		}
		fmt.Fprintf(w, "  %s (%s), executor %s\n", j.Name, j.Ref, j.Executor)
		for _, s := range j.Steps {
			fmt.Fprintf(w, "    - %s: %s [%s]\n", s.Kind, s.Name, s.When)
		}
	}
}

func isFlagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
