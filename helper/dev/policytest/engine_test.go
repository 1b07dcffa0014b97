package policytest

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/CircleCI-Public/circle-policy-agent/cpa"
	"gopkg.in/yaml.v3"

	"github.com/shipgate/shipgate/helper/internal/circleci"
	"github.com/shipgate/shipgate/helper/internal/lint"
	"github.com/shipgate/shipgate/helper/internal/policy"
)

// repoRoot is the shipgate repository, three folders up from this module.
var repoRoot = filepath.Join("..", "..", "..")

// loadBundle generates the bundle for opts, writes it to a temporary folder and loads it the
// way `circleci policy decide DIR` does: cpa.LoadPolicyFromFS, which parses every file,
// requires `package org` and a policy_name, and compiles the bundle in OPA's strict mode.
func loadBundle(t *testing.T, opts lint.Options) (*cpa.Policy, *policy.Bundle) {
	t.Helper()
	return loadBundleWith(t, policy.Options{Lint: opts})
}

func loadBundleWith(t *testing.T, opts policy.Options) (*cpa.Policy, *policy.Bundle) {
	t.Helper()
	b, err := policy.Generate(opts)
	if err != nil {
		t.Fatalf("generating the bundle: %v", err)
	}
	dir := t.TempDir()
	if err := b.Write(dir); err != nil {
		t.Fatalf("writing the bundle: %v", err)
	}
	p, err := cpa.LoadPolicyFromFS(dir)
	if err != nil {
		t.Fatalf("CircleCI's engine refuses the bundle: %v", err)
	}
	return p, b
}

// engineInput decodes a config the way the engine receives it: the source config as a
// document, read as CircleCI reads YAML (1.1 booleans such as `off`, merge keys; the circleci
// model's Value); an orb example's `usage:` is the config it shows.
func engineInput(t *testing.T, data []byte) map[string]any {
	t.Helper()
	var node yaml.Node
	if err := yaml.Unmarshal(data, &node); err != nil {
		t.Fatalf("decoding: %v", err)
	}
	if len(node.Content) == 0 {
		t.Fatal("decoding: no document")
	}
	v, err := circleci.Value(node.Content[0])
	if err != nil {
		t.Fatalf("decoding: %v", err)
	}
	doc, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("decoding: the top level is %T, not a mapping", v)
	}
	if usage, ok := doc["usage"].(map[string]any); ok && doc["jobs"] == nil && doc["workflows"] == nil && doc["version"] == nil {
		return usage
	}
	return doc
}

func decide(t *testing.T, p *cpa.Policy, input map[string]any, meta map[string]any) *cpa.Decision {
	t.Helper()
	var opts []cpa.EvalOption
	if meta != nil {
		opts = append(opts, cpa.Meta(meta))
	}
	d, err := p.Decide(context.Background(), input, opts...)
	if err != nil {
		t.Fatalf("deciding: %v", err)
	}
	if d.Status == cpa.StatusError {
		t.Fatalf("the engine could not evaluate the bundle: %s", d.Reason)
	}
	return d
}

// verdict is one rule's finding, compared by rule ID and message.
type verdict struct{ rule, message string }

func policyVerdicts(t *testing.T, d *cpa.Decision) []verdict {
	t.Helper()
	var out []verdict
	for _, v := range append(append([]cpa.Violation{}, d.HardFailures...), d.SoftFailures...) {
		r, ok := policy.RuleByName(v.Rule)
		if !ok {
			t.Fatalf("violation of a rule the bundle does not define: %s", v.Rule)
		}
		out = append(out, verdict{r.ID, v.Reason})
	}
	return sortedUnique(out)
}

func sortedUnique(vs []verdict) []verdict {
	seen := map[verdict]bool{}
	var out []verdict
	for _, v := range vs {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].rule != out[j].rule {
			return out[i].rule < out[j].rule
		}
		return out[i].message < out[j].message
	})
	return out
}

func inBundle(id string) bool {
	for _, r := range policy.Rules() {
		if r.ID == id {
			return true
		}
	}
	return false
}

// directive matches shipgate-lint comments: the engine never sees comments, so the linter is
// run on the same file with them neutralised (docs/policies.md, "What the bundle cannot see").
var directive = regexp.MustCompile(`shipgate-lint:`)

func lintVerdicts(t *testing.T, name string, data []byte) []verdict {
	t.Helper()
	return lintVerdictsWith(t, name, data, lint.Options{})
}

func lintVerdictsWith(t *testing.T, name string, data []byte, opts lint.Options) []verdict {
	t.Helper()
	stripped := directive.ReplaceAll(data, []byte("shipgate-lint-not-seen-by-the-engine:"))
	fs, err := lint.LintFile(name, stripped, opts)
	if err != nil {
		t.Fatalf("lint: %v", err)
	}
	var out []verdict
	for _, f := range fs {
		if inBundle(f.Rule) {
			out = append(out, verdict{f.Rule, f.Message})
		}
	}
	return sortedUnique(out)
}

func corpus(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, pattern := range []string{
		filepath.Join(repoRoot, "helper", "internal", "lint", "testdata", "bad", "*.yml"),
		filepath.Join(repoRoot, "helper", "internal", "lint", "testdata", "good", "*.yml"),
		filepath.Join(repoRoot, "src", "examples", "*.yml"),
	} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 30 {
		t.Fatalf("found only %d configs to compare: is the repository layout as expected?", len(files))
	}
	return files
}

// TestSameVerdictsAsLint is the differential test: on every lint test case and every orb
// example, CircleCI's engine running the bundle reports exactly the findings `shipgate lint`
// reports (same rule ID, same message) for the rules the bundle encodes; a clean config
// passes. The same input with the compiled config beside it (input._compiled_, as CircleCI
// sends it) must not change the verdict.
func TestSameVerdictsAsLint(t *testing.T) {
	p, _ := loadBundle(t, lint.Options{})
	for _, file := range corpus(t) {
		name := strings.TrimPrefix(file, repoRoot+string(filepath.Separator))
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			want := lintVerdicts(t, name, data)
			input := engineInput(t, data)
			got := policyVerdicts(t, decide(t, p, input, nil))
			compare(t, applyKnown(t, filepath.Base(file), want), got)
			withCompiled := map[string]any{"_compiled_": engineInput(t, data)}
			for k, v := range input {
				withCompiled[k] = v
			}
			compare(t, got, policyVerdicts(t, decide(t, p, withCompiled, nil)))
		})
	}
}

// knownDifferences are the verdicts on which the engine and lint differ by design, per file,
// each documented in docs/policies.md. A listed difference that no longer occurs fails the
// test, so the list cannot go stale.
var knownDifferences = map[string][]struct {
	verdict
	// engineOnly: the engine reports it and lint does not (else the reverse).
	engineOnly bool
	why        string
}{
	"mix-anchors-when.yml": {{
		verdict{"SG100", `unknown top-level key "deploy_defaults"`}, true,
		"the engine gets the config decoded, without YAML anchors, so a top-level key that only holds an anchor looks unknown",
	}},
}

// applyKnown turns lint's verdicts into the engine's expected ones for a file.
func applyKnown(t *testing.T, base string, want []verdict) []verdict {
	t.Helper()
	out := append([]verdict{}, want...)
	for _, d := range knownDifferences[base] {
		i := indexOf(out, d.verdict)
		switch {
		case d.engineOnly && i < 0:
			out = append(out, d.verdict)
		case !d.engineOnly && i >= 0:
			out = append(out[:i], out[i+1:]...)
		default:
			t.Errorf("known difference %s %q no longer occurs: remove it from knownDifferences and docs/policies.md", d.rule, d.message)
		}
	}
	return sortedUnique(out)
}

func indexOf(vs []verdict, v verdict) int {
	for i, x := range vs {
		if x == v {
			return i
		}
	}
	return -1
}

func compare(t *testing.T, want, got []verdict) {
	t.Helper()
	w, g := map[verdict]bool{}, map[verdict]bool{}
	for _, v := range want {
		w[v] = true
	}
	for _, v := range got {
		g[v] = true
	}
	for _, v := range want {
		if !g[v] {
			t.Errorf("lint reports %s %q; the engine does not", v.rule, v.message)
		}
	}
	for _, v := range got {
		if !w[v] {
			t.Errorf("the engine reports %s %q; lint does not", v.rule, v.message)
		}
	}
}
