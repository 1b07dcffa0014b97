package orbcheck

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Payloads that would run `touch $MARK` if a script let a parameter reach a shell parser.
var injectionPayloads = []string{
	`"; touch $MARK #`,
	`$(touch $MARK)`,
	"`touch $MARK`",
	"x\ntouch $MARK\n",
	`'; touch $MARK; '`,
	`x && touch "$MARK" || touch "$MARK"`,
}

// Commands whose parameters need a value to reach the code under test.
var baseArgs = map[string]map[string]any{
	"install":               {"version": "v1.0.0", "sha256": strings.Repeat("ab", 32), "cache": false},
	"promote":               {"to": "registry.invalid/app/production"},
	"record_artifact":       {"image": "registry.invalid/app/staging:abc"},
	"mark_deployed":         {"env": "staging"},
	"mark_good":             {"env": "staging"},
	"mark_bad":              {"env": "staging"},
	"rollback":              {"env": "staging"},
	"smoke_test":            {"url": "https://app.invalid/version"},
	"aws_assume_role":       {"role_arn": "arn:aws:iam::123456789012:role/deploy"},
	"gcp_credentials":       {"provider": "projects/1/locations/global/workloadIdentityPools/p/providers/c"},
	"deploy_release":        {"env": "staging", "steps": []any{map[string]any{"run": map[string]any{"name": "User deploy", "command": "true"}}}},
	"ledger_prune":          {"env": "staging", "repo": "registry.invalid/app"},
	"use_ledger_repository": {"repo": "registry.invalid/app-ledger"},
}

// Parameters that by design reach no command line: checked for "executes nothing" only.
var notPassedOn = map[string]string{
	"install.sha256":             "compared with the download's hash, never passed to a command",
	"install.binary":             "a path tested with [ -f ] and linked",
	"install.install_dir":        "a folder created with mkdir and written to $BASH_ENV with printf %q",
	"promote.release":            "tested with [ -f ] first: a file of that name does not exist, so the script stops (exit 2)",
	"use_ledger_repository.repo": "checked against a repository-reference pattern and written to $BASH_ENV single-quoted; a payload stops the script (exit 2)",
}

const stubScript = `#!/bin/bash
# Records its name and argv (NUL-separated, one record per call) and succeeds.
{ printf '%s\0' "$(basename "$0")" "$@"; printf '\036\n'; } >>"$STUB_LOG"
exit 0
`

var stubbed = []string{"shipgate", "circleci", "circleci-agent", "curl", "docker", "kubectl", "aws", "gcloud"}

type scriptRun struct {
	dir   string
	stubs string
}

func newScriptRun(t *testing.T) *scriptRun {
	t.Helper()
	dir := t.TempDir()
	stubs := filepath.Join(dir, "stubs")
	must(t, os.MkdirAll(stubs, 0o755))
	for _, name := range stubbed {
		must(t, os.WriteFile(filepath.Join(stubs, name), []byte(stubScript), 0o755))
	}
	return &scriptRun{dir: dir, stubs: stubs}
}

// run executes one step in a fresh work folder the way CircleCI runs it (bash -eo pipefail,
// the step's environment:) and returns every stub call's argv.
func (r *scriptRun) run(t *testing.T, s runStep) (calls [][]string, mark bool, output string) {
	t.Helper()
	work, err := os.MkdirTemp(r.dir, "work")
	must(t, err)
	must(t, os.MkdirAll(filepath.Join(work, "home"), 0o755))
	must(t, os.WriteFile(filepath.Join(work, "release.json"), []byte(`{"schemaVersion":1}`), 0o644))
	must(t, os.WriteFile(filepath.Join(work, "bash_env"), nil, 0o644))
	log := filepath.Join(work, "stub.log")
	markFile := filepath.Join(work, "MARK")
	env := []string{
		"PATH=" + r.stubs + ":/usr/bin:/bin",
		"HOME=" + filepath.Join(work, "home"),
		"BASH_ENV=" + filepath.Join(work, "bash_env"),
		"MARK=" + markFile,
		"STUB_LOG=" + log,
		"SHIPGATE_IMAGE=registry.invalid/app@sha256:" + strings.Repeat("a", 64),
		"SHIPGATE_DIGEST=sha256:" + strings.Repeat("a", 64),
		"SHIPGATE_REPOSITORY=registry.invalid/app",
		"SHIPGATE_VERSION=abc123",
		"CIRCLE_PROJECT_REPONAME=app",
		"CIRCLE_JOB=deploy",
	}
	for k, v := range s.env {
		env = append(env, k+"="+v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-eo", "pipefail", "-c", s.command)
	cmd.Dir = work
	cmd.Env = env
	out, _ := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("%s: step %q timed out", s.origin, s.name)
	}
	data, _ := os.ReadFile(log)
	for _, rec := range bytes.Split(data, []byte("\x1e\n")) {
		if len(rec) == 0 {
			continue
		}
		parts := strings.Split(strings.TrimSuffix(string(rec), "\x00"), "\x00")
		calls = append(calls, parts)
	}
	_, err = os.Stat(markFile)
	return calls, err == nil, string(out)
}

func TestCommandParametersExecuteNothing(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash is not installed")
	}
	x := loadPackedOrb(t)
	r := newScriptRun(t)
	commands := asMap(x.orb["commands"])
	if len(commands) == 0 {
		t.Fatal("the orb has no commands")
	}
	tested := 0
	for _, name := range sortedKeys(commands) {
		defs := asMap(asMap(commands[name])["parameters"])
		for _, param := range sortedKeys(defs) {
			if asMap(defs[param])["type"] != "string" {
				continue
			}
			for _, payload := range injectionPayloads {
				args := map[string]any{}
				for k, v := range baseArgs[name] {
					args[k] = v
				}
				args[param] = payload
				steps, err := x.expand("commands", name, args)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				reached := false
				for _, s := range steps {
					calls, mark, out := r.run(t, s)
					if mark {
						t.Errorf("%s.%s = %q: step %q executed the payload\n%s", name, param, payload, s.name, out)
					}
					for _, call := range calls {
						for _, arg := range call[1:] {
							if strings.Contains(arg, payload) {
								reached = true
							}
						}
					}
				}
				if _, exempt := notPassedOn[name+"."+param]; !reached && !exempt {
					t.Errorf("%s.%s = %q reached no command line verbatim", name, param, payload)
				}
				tested++
			}
		}
	}
	t.Logf("%d parameter/payload combinations executed nothing", tested)
}

// The jobs compose the commands; each job's string parameters get the two sharpest payloads.
func TestJobParametersExecuteNothing(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash is not installed")
	}
	x := loadPackedOrb(t)
	r := newScriptRun(t)
	required := map[string]any{
		"env": "staging", "repository": "registry.invalid/app/staging", "to": "registry.invalid/app/production",
		"url":   "https://app.invalid/version",
		"steps": []any{map[string]any{"run": map[string]any{"name": "User deploy", "command": "true"}}},
	}
	jobs := asMap(x.orb["jobs"])
	for _, name := range sortedKeys(jobs) {
		defs := asMap(asMap(jobs[name])["parameters"])
		for _, param := range sortedKeys(defs) {
			if asMap(defs[param])["type"] != "string" {
				continue
			}
			for _, payload := range injectionPayloads[:2] {
				args := map[string]any{"helper_version": "v1.0.0"}
				for k := range defs {
					if _, hasDefault := asMap(defs[k])["default"]; !hasDefault {
						args[k] = required[k]
					}
				}
				args[param] = payload
				steps, err := x.expand("jobs", name, args)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				for _, s := range steps {
					if _, mark, out := r.run(t, s); mark {
						t.Errorf("job %s.%s = %q: step %q executed the payload\n%s", name, param, payload, s.name, out)
					}
				}
			}
		}
	}
}

// The injection test must be able to fail: a script that lets a parameter reach eval is caught.
func TestInjectionHarnessCatchesEval(t *testing.T) {
	r := newScriptRun(t)
	_, mark, _ := r.run(t, runStep{origin: "bad", name: "bad", env: map[string]string{"P": `$(touch $MARK)`}, command: `eval "echo ${P}"`})
	if !mark {
		t.Fatal("the harness did not notice an eval of a parameter")
	}
	calls, mark, _ := r.run(t, runStep{origin: "good", name: "good", env: map[string]string{"P": `$(touch $MARK)`}, command: `shipgate x --flag "${P}"`})
	if mark || len(calls) != 1 || strings.Join(calls[0], " ") != "shipgate x --flag $(touch $MARK)" {
		t.Fatalf("stub calls %q, mark %v", calls, mark)
	}
}

// optionPayloads are parameter values that a command would read as options if a script put them
// where a path goes without "--" (issue 14 class 8: `mkdir -p "$PARAM_…"`).
var optionPayloads = []string{"--dash-value", "-rf", "-"}

// optionComplaint is what coreutils, bash builtins and the stubs' callers print for an option
// they do not know.
var optionComplaint = regexp.MustCompile(`(?i)(unrecognized|invalid|illegal|unknown) option|option requires an argument|usage: (mkdir|install|ln|rm|cd|dirname|basename)`)

// Every string parameter of every command, set to a value starting with "-", reaches commands
// as an operand or as a flag's value, never as an option: scripts end options with "--" before
// paths, and a value that reaches the helper follows its flag (or "--").
func TestParametersStartingWithADashAreNotOptions(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash is not installed")
	}
	x := loadPackedOrb(t)
	r := newScriptRun(t)
	commands := asMap(x.orb["commands"])
	tested := 0
	for _, name := range sortedKeys(commands) {
		defs := asMap(asMap(commands[name])["parameters"])
		for _, param := range sortedKeys(defs) {
			if asMap(defs[param])["type"] != "string" {
				continue
			}
			for _, payload := range optionPayloads {
				args := map[string]any{}
				for k, v := range baseArgs[name] {
					args[k] = v
				}
				args[param] = payload
				steps, err := x.expand("commands", name, args)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				for _, s := range steps {
					calls, _, out := r.run(t, s)
					if m := optionComplaint.FindString(out); m != "" {
						t.Errorf("%s.%s = %q: step %q read it as an option (%q)\n%s", name, param, payload, s.name, m, out)
					}
					for _, call := range calls {
						for i, arg := range call[1:] {
							prev := call[i] // the argument before arg (call[0] is the program)
							if arg == payload && i > 0 && !strings.HasPrefix(prev, "-") {
								t.Errorf("%s.%s = %q: %s received it as an option: %q", name, param, payload, call[0], call)
							}
							if arg == payload && i == 0 {
								t.Errorf("%s.%s = %q: %s received it as its first argument: %q", name, param, payload, call[0], call)
							}
						}
					}
				}
				tested++
			}
		}
	}
	t.Logf("%d parameter/value combinations kept a leading dash out of option position", tested)
}

// The check above must be able to fail: a path without "--" is caught.
func TestOptionHarnessCatchesAMissingDoubleDash(t *testing.T) {
	r := newScriptRun(t)
	_, _, out := r.run(t, runStep{origin: "bad", name: "bad", env: map[string]string{"P": "--dash-value"}, command: `mkdir -p "${P}"`})
	if !optionComplaint.MatchString(out) {
		t.Fatalf("mkdir without -- was not caught: %q", out)
	}
	_, _, out = r.run(t, runStep{origin: "good", name: "good", env: map[string]string{"P": "--dash-value"}, command: `mkdir -p -- "${P}"`})
	if optionComplaint.MatchString(out) {
		t.Fatalf("mkdir with -- was flagged: %q", out)
	}
}
