package orbcheck

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/shipgate/shipgate/helper/internal/circleci"
)

const repoRoot = "../../../.."

func validator(t *testing.T) *Validator {
	t.Helper()
	v, err := NewValidator(filepath.Join(repoRoot, DefaultSchemaPath))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func rules(problems []Problem) []string {
	var out []string
	for _, p := range problems {
		out = append(out, p.Rule)
	}
	return out
}

// The repository's own orb, examples and CircleCI configs pass every check.
func TestRepositoryPassesEveryCheck(t *testing.T) {
	v := validator(t)
	src := filepath.Join(repoRoot, "src")
	var all []Problem
	p, err := v.ValidateOrbFile(filepath.Join(repoRoot, "orb.yml"))
	if err != nil {
		t.Fatal(err)
	}
	all = append(all, p...)
	if p, err = v.ValidateExamples(src); err != nil {
		t.Fatal(err)
	}
	all = append(all, p...)
	configs, _ := filepath.Glob(filepath.Join(repoRoot, ".circleci", "*.yml"))
	if len(configs) == 0 {
		t.Error("no .circleci/*.yml to validate")
	}
	for _, f := range configs {
		if p, err = v.ValidateConfigWithOrb(f, src); err != nil {
			t.Fatal(err)
		}
		all = append(all, p...)
	}
	if p, err = CheckIncludedScripts(src); err != nil {
		t.Fatal(err)
	}
	all = append(all, p...)
	if p, err = Review(src, CurrentMajor); err != nil {
		t.Fatal(err)
	}
	all = append(all, p...)
	for _, p := range all {
		t.Error(p)
	}
}

const validConfig = `version: 2.1
parameters:
  target:
    type: enum
    enum: [staging, production]
    default: staging
jobs:
  build:
    parameters:
      who: {type: string, default: world}
    docker: [{image: cimg/base:2025.01}]
    steps:
      - checkout
      - greet:
          who: << parameters.who >>
commands:
  greet:
    parameters:
      who: {type: string}
    steps:
      - run:
          name: Greet
          command: echo "<< parameters.who >> << pipeline.parameters.target >>"
workflows:
  main:
    jobs:
      - build:
          who: you
      - hold:
          type: approval
          requires: [build]
      - build:
          name: again
          requires: [hold]
          filters:
            branches:
              only: main
`

func TestConfigChecks(t *testing.T) {
	v := validator(t)
	tests := []struct {
		name        string
		from, to    string
		wantRule    string // "" = valid
		wantMessage string
	}{
		{name: "valid"},
		{name: "top-level typo", from: "workflows:\n  main:", to: "workflow:\n  main:", wantRule: "top-level"},
		{name: "filters.branch", from: "            branches:\n", to: "            branch:\n", wantRule: "filters"},
		{name: "type aproval", from: "type: approval", to: "type: aproval", wantRule: "approval"},
		{name: "approval named like a job", from: "      - hold:\n          type: approval", to: "      - build:\n          name: hold\n          type: approval", wantRule: "approval"},
		{name: "requires unknown job", from: "requires: [hold]", to: "requires: [hodl]", wantRule: "requires"},
		{name: "enum default outside list", from: "default: staging", to: "default: prod", wantRule: "enum-default"},
		{name: "enum without list", from: "    enum: [staging, production]\n", to: "", wantRule: "enum"},
		{name: "boolean default maybe", from: "who: {type: string, default: world}", to: "who: {type: boolean, default: maybe}", wantRule: "parameter-default"},
		{name: "YAML 1.1 yes is a boolean, not a string", from: "who: {type: string, default: world}", to: "who: {type: string, default: yes}", wantRule: "parameter-default"},
		{name: "undeclared parameter", from: "who: << parameters.who >>", to: "who: << parameters.whom >>", wantRule: "undeclared-parameter"},
		{name: "undeclared pipeline parameter", from: "<< pipeline.parameters.target >>", to: "<< pipeline.parameters.tagret >>", wantRule: "pipeline-parameter"},
		{name: "unescaped heredoc", from: `command: echo "<< parameters.who >> << pipeline.parameters.target >>"`, to: "command: cat <<EOF", wantRule: "unescaped-<<"},
		{name: "escaped heredoc is fine", from: `command: echo "<< parameters.who >> << pipeline.parameters.target >>"`, to: `command: cat \<<EOF`},
		{name: "unknown command parameter", from: "who: << parameters.who >>", to: "whom: x", wantRule: "unknown-parameter"},
		{name: "missing required parameter", from: "      - greet:\n          who: << parameters.who >>\n", to: "      - greet\n", wantRule: "missing-parameter"},
		{name: "unknown job", from: "      - build:\n          who: you", to: "      - biuld:\n          who: you", wantRule: "unknown-job"},
		{name: "schema: bad run.when", from: "name: Greet\n", to: "name: Greet\n          when: sometimes\n", wantRule: "schema"},
		{name: "false positive: run.when as a parameter", from: "name: Greet\n", to: "name: Greet\n          when: << parameters.who >>\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := validConfig
			if tt.from != "" {
				if !strings.Contains(cfg, tt.from) {
					t.Fatalf("test config lacks %q", tt.from)
				}
				cfg = strings.Replace(cfg, tt.from, tt.to, 1)
			}
			doc, err := circleci.Decode([]byte(cfg))
			if err != nil {
				t.Fatal(err)
			}
			problems, err := v.ValidateConfig("config.yml", doc)
			if err != nil {
				t.Fatal(err)
			}
			got := rules(problems)
			if tt.wantRule == "" {
				if len(problems) > 0 {
					t.Errorf("want no problems, got %v", problems)
				}
				return
			}
			found := false
			for _, r := range got {
				if r == tt.wantRule {
					found = true
				}
			}
			if !found {
				t.Errorf("want a %q problem, got %v", tt.wantRule, problems)
			}
		})
	}
}

// The filter hides exactly the documented false positives: the same document fails the bare
// schema, and a wrong literal value in the same place still fails.
func TestFalsePositiveFilterIsNarrow(t *testing.T) {
	v := validator(t)
	cfg := `version: 2.1
jobs:
  build:
    parameters:
      w: {type: string, default: always}
      t: {type: string, default: 10m}
    docker: [{image: cimg/base:2025.01}]
    steps:
      - run:
          name: x
          command: echo
          when: << parameters.w >>
          no_output_timeout: << parameters.t >>
      - restore_cache:
          when: always
          key: k
workflows:
  main:
    jobs: [build]
`
	doc, err := circleci.Decode([]byte(cfg))
	if err != nil {
		t.Fatal(err)
	}
	if p, err := v.validateValue("f", doc); err != nil || len(p) > 0 {
		t.Fatalf("filtered validation: %v %v", p, err)
	}
	raw, err := circleci.Decode([]byte(cfg))
	if err != nil {
		t.Fatal(err)
	}
	if err := v.schema.Validate(mustInstance(t, raw)); err == nil {
		t.Error("the bare schema accepts the document: the filter is not needed, remove it")
	}
	for _, bad := range []string{"when: << parameters.w >> now", "no_output_timeout: soon"} {
		broken := strings.Replace(strings.Replace(cfg, "when: << parameters.w >>", "when: always", 1), "no_output_timeout: << parameters.t >>", "no_output_timeout: 10m", 1)
		key := strings.SplitN(bad, ":", 2)[0] + ":"
		lines := strings.Split(broken, "\n")
		for i, l := range lines {
			if strings.TrimSpace(l) == key+" always" || strings.TrimSpace(l) == key+" 10m" {
				lines[i] = strings.Repeat(" ", 10) + bad
				break
			}
		}
		doc, _ := circleci.Decode([]byte(strings.Join(lines, "\n")))
		if p, _ := v.validateValue("f", doc); len(p) == 0 {
			t.Errorf("%q passed validation", bad)
		}
	}
}

func TestOrbChecks(t *testing.T) {
	base := `version: 2.1
description: d
commands:
  greet:
    description: Greets.
    parameters:
      who: {type: string, default: world}
    steps:
      - run:
          name: Greet
          environment:
            WHO: << parameters.who >>
          command: echo "$WHO"
jobs:
  greet:
    description: Job.
    executor: default
    steps:
      - greet
executors:
  default:
    description: E.
    docker: [{image: cimg/base:2025.01}]
`
	tests := []struct{ name, from, to, want string }{
		{"valid", "", "", ""},
		{"pipeline parameters are not in scope", "echo \"$WHO\"", "echo << pipeline.parameters.x >>", "pipeline-parameter"},
		{"scope is lexical", "      - greet\n", "      - greet:\n          who: << parameters.who >>\n", "undeclared-parameter"},
		{"unknown executor", "executor: default", "executor: big", "executor"},
		{"unknown command", "      - greet\n", "      - gret\n", "unknown-command"},
		{"unknown top-level key", "description: d\n", "description: d\nexample: {}\n", "top-level"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := circleci.Decode([]byte(strings.Replace(base, tt.from, tt.to, 1)))
			if err != nil {
				t.Fatal(err)
			}
			got := rules(CheckOrb("orb.yml", doc))
			if tt.want == "" && len(got) > 0 || tt.want != "" && !strings.Contains(strings.Join(got, " "), tt.want) {
				t.Errorf("want %q, got %v", tt.want, got)
			}
		})
	}
}

func TestIncludedScriptsMustNotUseParameters(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "@orb.yml", "version: 2.1\n")
	write(t, dir, "commands/a.yml", "steps:\n  - run:\n      name: A\n      command: <<include(scripts/a.sh)>>\n")
	write(t, dir, "scripts/a.sh", "echo ok\ncat <<EOF\nEOF\n")
	if p, err := CheckIncludedScripts(dir); err != nil || len(p) > 0 {
		t.Fatalf("a heredoc is fine in an included script: %v %v", p, err)
	}
	write(t, dir, "scripts/a.sh", "echo << parameters.who >>\n")
	if p, err := CheckIncludedScripts(dir); err != nil || len(p) != 1 {
		t.Fatalf("want one problem, got %v %v", p, err)
	}
}

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustInstance(t *testing.T, doc any) any {
	t.Helper()
	raw, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

// Semantic checks never panic, whatever the document holds.
func FuzzCheckConfig(f *testing.F) {
	f.Add([]byte(validConfig))
	f.Add([]byte("workflows: {w: {jobs: [{a: {requires: [{b: failed}], type: approval}}]}}"))
	f.Add([]byte("a: &x {b: *x}"))
	f.Add([]byte("commands: {c: {parameters: {p: {type: enum, enum: [], default: 1}}, steps: [{c: {p: 2}}]}}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := circleci.Decode(data)
		if err != nil {
			return
		}
		CheckConfig("f", doc)
		CheckOrb("f", doc)
		CheckOrbUses("f", doc, asMap(doc))
	})
}
