package orbcheck

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/shipgate/shipgate/helper/dev/internal/installhashes"
)

func scripts(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot, "src", "scripts", "*.sh"))
	must(t, err)
	if len(files) == 0 {
		t.Fatal("no scripts in src/scripts")
	}
	return files
}

func TestShellcheck(t *testing.T) {
	if _, err := exec.LookPath("shellcheck"); err != nil {
		t.Skip("shellcheck is not installed (apt-get install -y shellcheck); CI installs it")
	}
	out, err := exec.Command("shellcheck", append([]string{"--norc", "-x"}, scripts(t)...)...).CombinedOutput()
	if err != nil {
		t.Errorf("shellcheck: %v\n%s", err, out)
	}
}

// Scripts are thin adapters: strict mode, no eval, no set -x (it would print credentials that
// later steps read from $BASH_ENV).
func TestScriptRules(t *testing.T) {
	forbidden := regexp.MustCompile(`(?m)^[^#]*\b(eval|set\s+-[a-wyz]*x)\b`)
	for _, f := range scripts(t) {
		data, err := os.ReadFile(f)
		must(t, err)
		text := string(data)
		if !strings.HasPrefix(text, "#!/bin/bash\n") {
			t.Errorf("%s: start with #!/bin/bash", f)
		}
		if !strings.Contains(text, "\nset -euo pipefail\n") {
			t.Errorf("%s: needs set -euo pipefail", f)
		}
		if m := forbidden.FindString(text); m != "" {
			t.Errorf("%s: forbidden %q", f, m)
		}
	}
}

// prelude is src/scripts/prelude.sh, which every packed step carries as SHIPGATE_PRELUDE.
func prelude(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "src", "scripts", "prelude.sh"))
	must(t, err)
	return string(data)
}

func stepsOf(t *testing.T, x *expander, kind, name string, args map[string]any) []runStep {
	t.Helper()
	steps, err := x.expand(kind, name, args)
	must(t, err)
	return steps
}

// ${NAME} in a parameter is replaced by the variable's value without a shell; an unset one
// stops the script before the helper runs.
func TestParametersExpandVariablesWithoutAShell(t *testing.T) {
	x := loadPackedOrb(t)
	r := newScriptRun(t)
	steps := stepsOf(t, x, "commands", "promote", map[string]any{"to": "${REGISTRY}/app/$(id)"})
	steps[0].env["REGISTRY"] = "127.0.0.1:5000"
	calls, mark, out := r.run(t, steps[0])
	if mark || len(calls) != 1 {
		t.Fatalf("calls %q\n%s", calls, out)
	}
	if got := strings.Join(calls[0], " "); !strings.Contains(got, "--to 127.0.0.1:5000/app/$(id)") {
		t.Errorf("argv %q", got)
	}
	delete(steps[0].env, "REGISTRY")
	calls, _, out = r.run(t, steps[0])
	if len(calls) != 0 || !strings.Contains(out, "${REGISTRY}, which is not set") {
		t.Errorf("unset variable: calls %q, output %s", calls, out)
	}
}

// promote exports SHIPGATE_DIGEST; the rollback script passes --digest only from its own
// parameter, so the ledger chooses the target (and the helper reads no exported name as a flag:
// app.TestNoFlagInputIsAnExportedName).
func TestRollbackDoesNotInheritTheReleasedDigest(t *testing.T) {
	x := loadPackedOrb(t)
	r := newScriptRun(t)
	for _, tt := range []struct {
		digest, want string
	}{
		{"", "rollback --repo registry.invalid/app --env production --out shipgate-rollback-release.json --export-to"},
		{"sha256:" + strings.Repeat("b", 64), "--digest sha256:" + strings.Repeat("b", 64)},
	} {
		steps := stepsOf(t, x, "commands", "rollback", map[string]any{"env": "production", "digest": tt.digest})
		calls, _, out := r.run(t, steps[0])
		if len(calls) != 1 {
			t.Fatalf("calls %q\n%s", calls, out)
		}
		got := strings.Join(calls[0], " ")
		if !strings.Contains(got, tt.want) || (tt.digest == "" && strings.Contains(got, "--digest")) {
			t.Errorf("argv %q", got)
		}
	}
}

// install refuses a download whose SHA-256 differs from the hash written into the orb, and
// never executes it; the genuine binary is installed, cached, and re-verified from the cache.
func TestInstallVerifiesTheHashInTheOrb(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the test serves a linux_* asset name")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	genuine := []byte("#!/bin/sh\necho genuine shipgate\n")
	tampered := []byte("#!/bin/sh\ntouch \"$MARK\"\necho tampered\n")
	sum := sha256.Sum256(genuine)
	arch := map[string]string{"amd64": "amd64", "arm64": "arm64"}[runtime.GOARCH]
	if arch == "" {
		t.Skip("unsupported architecture")
	}
	script, err := os.ReadFile(filepath.Join(repoRoot, "src", "scripts", "install.sh"))
	must(t, err)
	script, err = installhashes.WriteHashes(script, "v9.9.9", map[string]string{"linux_" + arch: hex.EncodeToString(sum[:])})
	must(t, err)

	serve := genuine
	requests := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		requests++
		if req.URL.Path != "/v9.9.9/shipgate_9.9.9_linux_"+arch {
			http.NotFound(w, req)
			return
		}
		w.Write(serve)
	}))
	defer srv.Close()

	home := t.TempDir()
	mark := filepath.Join(home, "MARK")
	bashEnv := filepath.Join(home, "bash_env")
	must(t, os.WriteFile(bashEnv, nil, 0o644))
	run := func() (int, string) {
		cmd := exec.Command("bash", "-eo", "pipefail", "-c", string(script))
		cmd.Dir = home
		cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + home, "BASH_ENV=" + bashEnv, "MARK=" + mark, "SHIPGATE_PRELUDE=" + prelude(t),
			"PARAM_BASE_URL=" + srv.URL, "PARAM_VERSION=", "PARAM_SHA256=", "PARAM_BINARY=", "PARAM_INSTALL_DIR=",
			"PARAM_TOKEN_VAR=SHIPGATE_DOWNLOAD_TOKEN"}
		out, _ := cmd.CombinedOutput()
		return cmd.ProcessState.ExitCode(), string(out)
	}
	installed := filepath.Join(home, ".local", "shipgate", "bin", "shipgate")
	cached := filepath.Join(home, ".cache", "shipgate", "v9.9.9", "linux_"+arch, "shipgate")

	serve = tampered
	code, out := run()
	if code != 5 || !strings.Contains(out, "refusing") {
		t.Errorf("tampered download: exit %d, want 5\n%s", code, out)
	}
	if _, err := os.Stat(mark); err == nil {
		t.Fatal("the tampered binary was executed")
	}
	if _, err := os.Stat(installed); err == nil {
		t.Error("the tampered binary was installed")
	}

	serve = genuine
	if code, out := run(); code != 0 {
		t.Fatalf("genuine download: exit %d\n%s", code, out)
	}
	got, err := exec.Command(installed).Output()
	if err != nil || strings.TrimSpace(string(got)) != "genuine shipgate" {
		t.Errorf("installed binary says %q, %v", got, err)
	}
	env, _ := os.ReadFile(bashEnv)
	if !strings.Contains(string(env), "export PATH=") {
		t.Errorf("no PATH export in $BASH_ENV: %q", env)
	}

	// A cached copy is verified again: a tampered cache is deleted and downloaded anew.
	before := requests
	must(t, os.WriteFile(cached, tampered, 0o755))
	if code, out := run(); code != 0 || requests != before+1 {
		t.Errorf("tampered cache: exit %d, %d new downloads\n%s", code, requests-before, out)
	}
	if _, err := os.Stat(mark); err == nil {
		t.Fatal("the tampered cached binary was executed")
	}
	before = requests
	if code, _ := run(); code != 0 || requests != before {
		t.Errorf("genuine cache: exit %d, %d downloads, want 0", code, requests-before)
	}

	// Without hashes in the orb (an unreleased build) nothing is downloaded.
	plain, err := os.ReadFile(filepath.Join(repoRoot, "src", "scripts", "install.sh"))
	must(t, err)
	script = plain
	before = requests
	if code, out := run(); code != 2 || requests != before || !strings.Contains(out, "not a release") || !strings.Contains(out, "'binary'") {
		t.Errorf("no hashes (a dev: orb): exit %d, %d downloads, want exit 2 naming binary\n%s", code, requests-before, out)
	}
}

func TestInstallUsesAPreinstalledHelper(t *testing.T) {
	home := t.TempDir()
	helper := filepath.Join(home, "my-shipgate")
	must(t, os.WriteFile(helper, []byte("#!/bin/sh\necho mine\n"), 0o755))
	bashEnv := filepath.Join(home, "bash_env")
	must(t, os.WriteFile(bashEnv, nil, 0o644))
	script, err := os.ReadFile(filepath.Join(repoRoot, "src", "scripts", "install.sh"))
	must(t, err)
	for _, env := range [][]string{{"PARAM_BINARY=" + helper}, {"PARAM_BINARY=", "SHIPGATE_HELPER_PATH=" + helper}} {
		cmd := exec.Command("bash", "-eo", "pipefail", "-c", string(script))
		cmd.Env = append([]string{"PATH=/usr/bin:/bin", "HOME=" + home, "BASH_ENV=" + bashEnv, "PARAM_BASE_URL=http://127.0.0.1:1", "SHIPGATE_PRELUDE=" + prelude(t)}, env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", env, err, out)
		}
		got, err := exec.Command(filepath.Join(home, ".local", "shipgate", "bin", "shipgate")).Output()
		if err != nil || strings.TrimSpace(string(got)) != "mine" {
			t.Errorf("%v: installed helper says %q, %v", env, got, err)
		}
	}
	cmd := exec.Command("bash", "-eo", "pipefail", "-c", string(script))
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + home, "BASH_ENV=" + bashEnv, "PARAM_BINARY=" + filepath.Join(home, "missing"), "SHIPGATE_PRELUDE=" + prelude(t)}
	if err := cmd.Run(); cmd.ProcessState.ExitCode() != 2 {
		t.Errorf("missing binary: %v, want exit 2", err)
	}
}

// One shared prelude (issue 12 point 8): the functions live only in prelude.sh, every packed
// step that runs an orb script carries it verbatim as SHIPGATE_PRELUDE, and loading it runs
// nothing.
func TestScriptsShareOnePrelude(t *testing.T) {
	definition := regexp.MustCompile(`(?m)^\s*([a-z_]+)\(\)\s*\{`)
	shared := map[string]bool{}
	for _, m := range definition.FindAllStringSubmatch(prelude(t), -1) {
		shared[m[1]] = true
	}
	if !shared["expand_vars"] || !shared["is_true"] || !shared["set_phase"] {
		t.Fatalf("prelude.sh defines %v", shared)
	}
	for _, f := range scripts(t) {
		if filepath.Base(f) == "prelude.sh" {
			continue
		}
		data, err := os.ReadFile(f)
		must(t, err)
		for _, m := range definition.FindAllStringSubmatch(string(data), -1) {
			if shared[m[1]] {
				t.Errorf("%s defines %s() again: use the prelude's", f, m[1])
			}
		}
		if !strings.Contains(string(data), `"${SHIPGATE_PRELUDE:?`) {
			t.Errorf("%s does not load the prelude", f)
		}
	}
	x := loadPackedOrb(t)
	want := prelude(t)
	steps := 0
	for _, kind := range []string{"commands", "jobs"} {
		for _, name := range sortedKeys(asMap(x.orb[kind])) {
			for _, s := range stepsOf(t, x, kind, name, injectionArgs(x, kind, name)) {
				if !strings.Contains(s.command, "SHIPGATE_PRELUDE") {
					continue
				}
				steps++
				if s.env["SHIPGATE_PRELUDE"] != want {
					t.Errorf("%s: step %q does not carry prelude.sh verbatim", s.origin, s.name)
				}
			}
		}
	}
	if steps < 15 {
		t.Errorf("only %d packed steps load the prelude", steps)
	}
	home := t.TempDir()
	file, err := filepath.Abs(filepath.Join(repoRoot, "src", "scripts", "prelude.sh"))
	must(t, err)
	load := exec.Command("bash", "-c", `source "$1" && declare -F | wc -l`, "prelude", file)
	load.Dir = home
	out, err := load.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != fmt.Sprint(len(shared)) {
		t.Errorf("loading the prelude: %v, output %q (want only its %d functions)", err, out, len(shared))
	}
	if entries, _ := os.ReadDir(home); len(entries) != 0 {
		t.Errorf("loading the prelude wrote %d files", len(entries))
	}
}

// The prelude's booleans accept both spellings: environment: gives 1/0, a user may say true.
func TestPreludeBooleans(t *testing.T) {
	for value, want := range map[string]bool{"1": true, "true": true, "TRUE": true, "0": false, "false": false, "": false, "yes please": false} {
		err := exec.Command("bash", "-c", `source "$1" && is_true "$2"`, "prelude", filepath.Join(repoRoot, "src", "scripts", "prelude.sh"), value).Run()
		if (err == nil) != want {
			t.Errorf("is_true %q = %v, want %v", value, err == nil, want)
		}
	}
}

// injectionArgs are arguments with which a command or job expands: the injection test's base
// arguments for a command, a value for each required parameter of a job.
func injectionArgs(x *expander, kind, name string) map[string]any {
	if kind == "commands" {
		return baseArgs[name]
	}
	required := map[string]any{
		"env": "staging", "repository": "registry.invalid/app/staging", "to": "registry.invalid/app/production",
		"url":   "https://app.invalid/version",
		"steps": []any{map[string]any{"run": map[string]any{"name": "User deploy", "command": "true"}}},
	}
	args := map[string]any{"helper_version": "v1.0.0"}
	defs := asMap(asMap(asMap(x.orb[kind])[name])["parameters"])
	for k := range defs {
		if _, hasDefault := asMap(defs[k])["default"]; !hasDefault {
			args[k] = required[k]
		}
	}
	return args
}
