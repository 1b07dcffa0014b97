package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// cliResult is what one in-process run of the whole CLI printed and returned.
type cliResult struct {
	stdout, stderr string
	code           int
}

// runCLI runs shipgate in-process with args and the given environment (nothing else from the
// real environment is visible), capturing its output.
func runCLI(t testing.TB, environment map[string]string, args ...string) cliResult {
	t.Helper()
	return runCLIWith(t, defaultDeps(), environment, args...)
}

// runCLIWith is runCLI with the given dependencies (a test's STS retry policy, a token minter, a
// stdin).
func runCLIWith(t testing.TB, d deps, environment map[string]string, args ...string) cliResult {
	t.Helper()
	var stdout, stderr bytes.Buffer
	getenv := func(name string) string { return environment[name] }
	code := runWith(context.Background(), append([]string{"shipgate"}, args...), &stdout, &stderr, getenv, d)
	return cliResult{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

func TestUnknownFlagIsUsageError(t *testing.T) {
	t.Parallel()
	r := runCLI(t, nil, "version", "--no-such-flag")
	if r.code != 2 {
		t.Fatalf("exit %d, want 2 (stderr %q)", r.code, r.stderr)
	}
	if lines := strings.Count(strings.TrimSpace(r.stderr), "\n"); lines > 1 {
		t.Errorf("error should be at most two lines, got %q", r.stderr)
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	r := runCLI(t, nil, "version")
	if r.code != 0 || strings.TrimSpace(r.stdout) != Version {
		t.Fatalf("version: code %d stdout %q", r.code, r.stdout)
	}
}

func TestFlagEnvName(t *testing.T) {
	t.Parallel()
	if got := FlagEnvName("export-to"); got != "SHIPGATE_FLAG_EXPORT_TO" {
		t.Fatal(got)
	}
}

// TestMain removes what tests built outside their own temporary folders (the shipgate binary
// the GCP tests run as a credential source).
func TestMain(m *testing.M) {
	code := m.Run()
	if shipgateBinaryPath != "" {
		os.RemoveAll(filepath.Dir(shipgateBinaryPath))
	}
	os.Exit(code)
}
