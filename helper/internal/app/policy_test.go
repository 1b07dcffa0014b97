package app

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPolicyBundle(t *testing.T) {
	dir := t.TempDir()
	settings := filepath.Join(dir, "lint.yml")
	if err := os.WriteFile(settings, []byte("disable: [SG012]\npolicy_exceptions: {SG005: [proj-1]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "policies")
	r := runCLI(t, nil, "policy", "bundle", "--out", out, "--settings", settings, "--output", "json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var res policyBundleResult
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("stdout is not one JSON object: %v: %q", err, r.stdout)
	}
	for _, rule := range res.Rules {
		if rule.ID == "SG012" {
			t.Errorf("SG012 is disabled in the settings but enabled in the bundle")
		}
	}
	for _, f := range res.Files {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("reported file %s not written: %v", f, err)
		}
	}
	data, err := os.ReadFile(filepath.Join(out, "shipgate_settings.rego"))
	if err != nil || !strings.Contains(string(data), `"proj-1"`) {
		t.Errorf("settings file lacks the exception: %v %s", err, data)
	}
}

func TestPolicyBundleBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yml")
	if err := os.WriteFile(bad, []byte("disable: [SG999]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, args := range map[string][]string{
		"missing settings": {"policy", "bundle", "--out", dir, "--settings", filepath.Join(dir, "none.yml")},
		"unknown rule":     {"policy", "bundle", "--out", dir, "--settings", bad},
		"stray argument":   {"policy", "bundle", "--out", dir, "extra"},
		"bad output":       {"policy", "bundle", "--out", dir, "--output", "yaml"},
		"out is a file":    {"policy", "bundle", "--out", bad},
	} {
		r := runCLI(t, nil, args...)
		if r.code != 2 || r.stdout != "" {
			t.Errorf("%s: exit %d stdout %q, want 2 and nothing on stdout", name, r.code, r.stdout)
		}
		if n, _ := filepath.Glob(filepath.Join(dir, "*.rego")); len(n) != 0 {
			t.Errorf("%s: wrote %d files despite the error", name, len(n))
		}
	}
}
