package app

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const lintFixtures = "../lint/testdata"

func TestLintCommand(t *testing.T) {
	t.Parallel()
	good := filepath.Join(lintFixtures, "good", "orb-pipeline.yml")
	bad := filepath.Join(lintFixtures, "bad", "sg001-no-approval.yml")
	warnOnly := filepath.Join(lintFixtures, "bad", "sg012-serial-group.yml")
	dir := t.TempDir()
	malformed := filepath.Join(dir, "broken.yml")
	if err := os.WriteFile(malformed, []byte("version: 2.1\njobs: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	settings := filepath.Join(dir, "settings.yml")
	if err := os.WriteFile(settings, []byte("disable: [SG001]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	badSettings := filepath.Join(dir, "bad-settings.yml")
	if err := os.WriteFile(badSettings, []byte("disabel: [SG001]\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	goodFiles, _ := filepath.Glob(filepath.Join(lintFixtures, "good", "*.yml"))

	cases := []struct {
		name       string
		env        map[string]string
		args       []string
		code       int
		stdout     string // substring
		stderr     string // substring
		noStdout   bool
		stderrNone bool
		// stdoutLacks and stderrLacks must not appear (the summary is printed once).
		stdoutLacks, stderrLacks string
	}{
		{name: "clean", args: []string{good}, code: 0, stdout: "no problems in 1 file", stderrNone: true},
		{name: "finding", args: []string{bad}, code: 6, stdout: "sg001-no-approval.yml:14:9: error SG001: production deploy job deploy-production has no approval",
			stderr: "shipgate: error: lint: findings at or above error (the report above lists them)"},
		{name: "summary once", args: []string{bad}, code: 6, stdout: "1 error, 0 warnings, 0 notes in 1 file", stderrLacks: "1 error"},
		{name: "summary on stderr for json", args: []string{"--output", "json", bad}, code: 6,
			stderr: "shipgate: error: lint: 1 error, 0 warnings, 0 notes in 1 file", stdoutLacks: "1 error, 0 warnings"},
		{name: "hint printed", args: []string{bad}, code: 6, stdout: "    hint: add a `type: approval` job"},
		{name: "several files", args: []string{good, bad}, code: 6, stdout: "in 2 files"},
		{name: "folder", args: []string{filepath.Join(lintFixtures, "good")}, code: 0, stdout: fmt.Sprintf("no problems in %d files", len(goodFiles))},
		{name: "empty folder", args: []string{t.TempDir()}, code: 2, stderr: "no .yml or .yaml files in the folder"},
		{name: "warning passes", args: []string{warnOnly}, code: 0, stdout: "warning SG012"},
		{name: "fail on warning", args: []string{"--fail-on", "warning", warnOnly}, code: 6},
		{name: "fail on from env", env: map[string]string{"SHIPGATE_FLAG_FAIL_ON": "warning"}, args: []string{warnOnly}, code: 6},
		{name: "disable flag", args: []string{"--disable", "SG001", bad}, code: 0, stdout: "no problems"},
		{name: "disable from env list", env: map[string]string{"SHIPGATE_FLAG_DISABLE": "SG005,SG001"}, args: []string{bad}, code: 0},
		{name: "settings file", args: []string{"--config", settings, bad}, code: 0},
		{name: "bad settings", args: []string{"--config", badSettings, bad}, code: 2, stderr: "field disabel not found", noStdout: true},
		{name: "missing settings", args: []string{"--config", filepath.Join(dir, "nope.yml"), bad}, code: 2, stderr: "no such file"},
		{name: "unknown rule", args: []string{"--disable", "SG999", bad}, code: 2, stderr: `unknown rule "SG999"`},
		{name: "bad fail-on", args: []string{"--fail-on", "sometimes", bad}, code: 2, stderr: "--fail-on"},
		{name: "release branch", args: []string{"--release-branch", "trunk", good}, code: 6, stdout: "SG003"},
		{name: "deploy job flag", args: []string{"--deploy-job", "build=staging", good}, code: 6, stdout: "deploy job build has no context"},
		{name: "empty deploy job", args: []string{"--deploy-job", "=staging", good}, code: 2, stderr: "want NAME or NAME=ENV"},
		{name: "not deploy job", args: []string{"--not-deploy-job", "deploy-production", bad}, code: 0},
		{name: "malformed", args: []string{malformed}, code: 2, stderr: "reading " + malformed + ": malformed YAML: line 2", noStdout: true},
		{name: "malformed among good", args: []string{good, malformed}, code: 2, noStdout: true},
		{name: "missing file", args: []string{filepath.Join(dir, "absent.yml")}, code: 2, stderr: "absent.yml: no such file or directory"},
		{name: "bad output", args: []string{"--output", "xml", good}, code: 2, stderr: `--output "xml": want one of text, json, sarif, junit`},
		{name: "sarif", args: []string{"--output", "sarif", bad}, code: 6, stdout: `"ruleId":"SG001"`},
		{name: "junit", args: []string{"--output", "junit", bad}, code: 6, stdout: `<failure message="1 finding(s)" type="SG001">`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, tc.env, append([]string{"lint"}, tc.args...)...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tc.code, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stdout, tc.stdout) {
				t.Errorf("stdout %q, want it to contain %q", r.stdout, tc.stdout)
			}
			if !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("stderr %q, want it to contain %q", r.stderr, tc.stderr)
			}
			if tc.noStdout && r.stdout != "" {
				t.Errorf("stdout should be empty on a usage error, got %q", r.stdout)
			}
			if tc.stderrNone && r.stderr != "" {
				t.Errorf("stderr should be empty, got %q", r.stderr)
			}
			if tc.stdoutLacks != "" && strings.Contains(r.stdout, tc.stdoutLacks) {
				t.Errorf("stdout %q should not contain %q", r.stdout, tc.stdoutLacks)
			}
			if tc.stderrLacks != "" && strings.Contains(r.stderr, tc.stderrLacks) {
				t.Errorf("stderr %q should not contain %q", r.stderr, tc.stderrLacks)
			}
		})
	}
}

func TestLintJSONOutput(t *testing.T) {
	t.Parallel()
	r := runCLI(t, nil, "lint", "--output", "json", filepath.Join(lintFixtures, "bad", "sg006-shared-context.yml"))
	if r.code != 6 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var out struct {
		Files    []string `json:"files"`
		Findings []struct {
			Rule   string `json:"rule"`
			Line   int    `json:"line"`
			Column int    `json:"column"`
			Job    string `json:"job"`
			Hint   string `json:"hint"`
		} `json:"findings"`
		Errors int  `json:"errors"`
		Failed bool `json:"failed"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("%v: %q", err, r.stdout)
	}
	if strings.Count(strings.TrimSpace(r.stdout), "\n") != 0 {
		t.Errorf("json output should be one line")
	}
	if len(out.Findings) != 1 || out.Findings[0].Rule != "SG006" || out.Findings[0].Line != 27 ||
		out.Findings[0].Column != 11 || out.Findings[0].Job != "deploy-production" || out.Findings[0].Hint == "" ||
		out.Errors != 1 || !out.Failed {
		t.Errorf("json: %+v", out)
	}
}

func TestLintStdinAndDefaultFile(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join(lintFixtures, "bad", "sg005-no-context.yml"))
	if err != nil {
		t.Fatal(err)
	}
	d := defaultDeps()
	d.stdin = strings.NewReader(string(data))
	r := runCLIWith(t, d, nil, "lint", "-")
	if r.code != 6 || !strings.Contains(r.stdout, "<stdin>:14:9: error SG005") {
		t.Errorf("stdin: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}

	// Without arguments the command reads .circleci/config.yml; the test's working directory
	// has none, and the error says which file it looked for.
	r = runCLI(t, nil, "lint")
	if r.code != 2 || !strings.Contains(r.stderr, "reading .circleci/config.yml: no such file or directory") {
		t.Errorf("default file: exit %d stderr %q", r.code, r.stderr)
	}
}

// TestLintRollbackPipelineBeside: a .circleci/rollback.yml beside the config is a rollback path.
func TestLintRollbackPipelineBeside(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join(lintFixtures, "bad", "sg011-no-rollback.yml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), ".circleci")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(config, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, nil, "lint", config); r.code != 6 || !strings.Contains(r.stdout, "SG011") {
		t.Fatalf("without rollback.yml: exit %d stdout %q", r.code, r.stdout)
	}
	if err := os.WriteFile(filepath.Join(dir, "rollback.yml"), []byte("version: 2.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, nil, "lint", config); r.code != 0 {
		t.Errorf("with rollback.yml: exit %d stdout %q", r.code, r.stdout)
	}
}
