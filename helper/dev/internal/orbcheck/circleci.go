package orbcheck

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/shipgate/shipgate/helper/internal/circleci"
	"github.com/shipgate/shipgate/helper/internal/lint"
)

// CircleCI's own rules, checked on the orb source: what the real packer publishes, what
// CircleCI compiles, what its language server reads (issue 16, "teach the project's own checks
// what CircleCI enforces"). The facts and their sources live in helper/internal/circleci; the
// same rules run for users in shipgate lint.
//
//	CC001 an example's usage has keys `circleci orb pack` drops (only version, setup, orbs,
//	      jobs and workflows are published)
//	CC002 an example, as published, refers to a pipeline parameter it does not declare: a
//	      compile error on CircleCI
//	CC003 an orb command is named like a built-in step
//	CC004 an example, as published (comments gone, so no disable comments), fails shipgate lint
//	CC005 a command, job or script plans a deploy marker without a deploy name
//	CC006 the orb uses a deprecated pipeline value, or one GitHub App pipelines do not set
func CheckCircleCIRules(src string) ([]Problem, error) {
	var problems []Problem
	add := adder(&problems)
	examples, err := filepath.Glob(filepath.Join(src, "examples", "*.yml"))
	if err != nil {
		return nil, err
	}
	for _, f := range examples {
		if err := checkPublishedExample(f, add); err != nil {
			return nil, err
		}
	}
	// Only commands are steps: a job is never called as a step, so a job named `deploy` (which
	// users reference as shipgate/deploy in workflows) cannot be read as the built-in.
	commands, _ := filepath.Glob(filepath.Join(src, "commands", "*.yml"))
	for _, f := range commands {
		name := strings.TrimSuffix(filepath.Base(f), ".yml")
		if circleci.BuiltinSteps[name] {
			add(f, "", "CC003", "the orb command %q has the name of CircleCI's built-in step %q: an unqualified call reads as the built-in (CircleCI still parses the deprecated built-in deploy step)",
				name, name)
		}
	}
	// Examples are linted as published above (CC004), which covers their pipeline values.
	var files []string
	for _, pattern := range []string{"@orb.yml", "commands/*.yml", "jobs/*.yml", "executors/*.yml", "scripts/*.sh"} {
		matches, _ := filepath.Glob(filepath.Join(src, pattern))
		files = append(files, matches...)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		text := string(data)
		for _, offset := range circleci.UnnamedReleaseMarkers(text) {
			add(f, fmt.Sprintf("line %d", lineOf(text, offset)), "CC005",
				"`circleci run release plan|update` has no deploy name, so two deploys in one workflow (or a rollback planned in the same job) collide on `default`")
		}
		for _, note := range circleci.PipelineValueNotes {
			re := regexp.MustCompile(`\bpipeline\.` + regexp.QuoteMeta(note.Value) + `\b`)
			for _, loc := range re.FindAllStringIndex(text, -1) {
				msg := fmt.Sprintf("pipeline.%s %s", note.Value, note.Problem)
				if note.Instead != "" {
					msg += "; use " + note.Instead
				}
				add(f, fmt.Sprintf("line %d", lineOf(text, loc[0])), "CC006", "%s (%s)", msg, note.Docs)
			}
		}
	}
	sort.SliceStable(problems, func(i, j int) bool { return problems[i].File < problems[j].File })
	return problems, nil
}

// checkPublishedExample checks one example as the real packer publishes it.
func checkPublishedExample(file string, add func(file, path, rule, format string, args ...any)) error {
	doc, err := readDoc(file)
	if err != nil {
		return err
	}
	usage, ok := asMap(doc)["usage"].(map[string]any)
	if !ok {
		return nil // ValidateExamples reports an example without usage
	}
	published, dropped := circleci.PublishedUsage(usage)
	for _, k := range dropped {
		add(file, "usage."+k, "CC001", "`circleci orb pack` drops usage.%s from the published example (it keeps only %s)",
			k, strings.Join(circleci.ExampleUsageKeys, ", "))
	}
	declared := map[string]bool{}
	for name := range asMap(published["parameters"]) {
		declared[name] = true
	}
	for _, name := range circleci.UndeclaredPipelineParams(published, declared) {
		add(file, "usage", "CC002", "as published, the example refers to pipeline parameter %q, which it does not declare: CircleCI refuses to compile it", name)
	}
	data, err := yaml.Marshal(published)
	if err != nil {
		return fmt.Errorf("%s: rendering the published usage: %w", file, err)
	}
	findings, err := lint.LintFile(file+" (as published)", data, lint.Options{FailOn: lint.SeverityWarning})
	if err != nil {
		return fmt.Errorf("%s: linting the published usage: %w", file, err)
	}
	for _, f := range findings {
		if f.Severity == lint.SeverityNote {
			continue
		}
		add(file, "usage (as published)", "CC004", "shipgate lint %s %s: %s", f.Severity, f.Rule, f.Message)
	}
	return nil
}

func lineOf(text string, offset int) int {
	return strings.Count(text[:offset], "\n") + 1
}
