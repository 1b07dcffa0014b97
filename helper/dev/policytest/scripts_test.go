package policytest

import (
	"testing"

	"github.com/shipgate/shipgate/helper/internal/lint"
)

// textCases are one-occurrence configs for the rules that search the config's text (SG021
// deploy markers, SG105/SG106 pipeline values, SG108 pipeline parameter references): lint
// reports each rule once per message, so the corpus, where a file holds several occurrences,
// cannot tell one reading of an occurrence from another. Each case holds one, and says
// whether lint reports it, so a case on which both lint and the engine went quiet still fails.
var textCases = []struct {
	name, config, rule string
	want               bool
}{
	{"marker named", markerJob(`circleci run release plan api-prod --environment-name=prod`), "SG021", false},
	{"marker bare", markerJob(`circleci run release plan`), "SG021", true},
	{"marker flag first", markerJob(`circleci run release update --status=SUCCESS`), "SG021", true},
	{"marker comment", markerJob(`circleci run release plan # later`), "SG021", true},
	{"marker args array", markerJob(`args=(run release plan --environment-name=prod)`), "SG021", true},
	{"marker then pipe", markerJob(`circleci run release plan | tee log`), "SG021", true},
	{"marker in a command", "version: 2.1\ncommands:\n  mark:\n    steps: [{run: circleci run release update --status=FAILED}]\n", "SG021", true},
	{"marker outside jobs", "version: 2.1\nparameters:\n  m: {type: string, default: circleci run release plan}\n", "SG021", false},
	{"not a marker", markerJob(`echo circleci run release planned`), "SG021", false},
	{"trigger_source", markerJob(`echo << pipeline.trigger_source >>`), "SG105", true},
	{"trigger_source prefix", markerJob(`echo pipeline.trigger_sourced`), "SG105", false},
	{"trigger_source in a key", "version: 2.1\njobs:\n  j:\n    environment: {pipeline.trigger_source: x}\n", "SG105", true},
	{"schedule.name", "version: 2.1\nworkflows:\n  w:\n    when: {equal: [nightly, << pipeline.schedule.name >>]}\n    jobs: [j]\n", "SG106", true},
	{"schedule.id", markerJob(`echo << pipeline.schedule.id >>`), "SG106", true},
	{"param undeclared", markerJob(`echo << pipeline.parameters.nope >>`), "SG108", true},
	{"param declared", "version: 2.1\nparameters: {yes: {type: string, default: x}}\n" + markerBody(`echo << pipeline.parameters.yes >>`), "SG108", false},
	{"param escaped", markerJob(`echo \<< pipeline.parameters.nope >>`), "SG108", false},
	{"param outside a reference", markerJob(`echo pipeline.parameters.nope`), "SG108", false},
	{"param in an expression", "version: 2.1\nworkflows:\n  w:\n    when: << pipeline.parameters.go and pipeline.git.branch == \"main\" >>\n    jobs: [j]\n", "SG108", true},
}

func markerJob(script string) string { return "version: 2.1\n" + markerBody(script) }

func markerBody(script string) string {
	return "jobs:\n  j:\n    docker: [{image: cimg/base:2026.10}]\n    steps:\n      - run: |\n          " + script + "\n"
}

// TestTextRulesOneOccurrence: on each one-occurrence case lint reports the rule as the case
// says, and the engine running the bundle reports exactly what lint reports.
func TestTextRulesOneOccurrence(t *testing.T) {
	p, _ := loadBundle(t, lint.Options{})
	for _, c := range textCases {
		t.Run(c.name, func(t *testing.T) {
			want := lintVerdicts(t, "c.yml", []byte(c.config))
			has := false
			for _, v := range want {
				has = has || v.rule == c.rule
			}
			if has != c.want {
				t.Fatalf("lint reports %s: %v, the case says %v (lint: %v)", c.rule, has, c.want, want)
			}
			compare(t, want, policyVerdicts(t, decide(t, p, engineInput(t, []byte(c.config)), nil)))
		})
	}
}

// TestTextRulesPerJobDisable: a rule disabled for a job in the settings (`jobs: {j: {disable:
// [...]}}`) drops the text rules' findings inside that job's definition and its workflow
// entry, in lint and in the bundle alike; elsewhere they stand. The occurrence is not the
// job's last block scalar: lint's job scope ends on that scalar's first line (docs/policies.md).
func TestTextRulesPerJobDisable(t *testing.T) {
	for _, c := range []struct{ name, config, rule string }{
		{"marker in the job", markerJob("circleci run release plan") + "      - checkout\n", "SG021"},
		{"value in the job", markerJob("echo << pipeline.trigger_source >>") + "      - checkout\n", "SG105"},
		{"value in the entry", "version: 2.1\njobs: {j: {docker: [{image: cimg/base:2026.10}]}}\nworkflows:\n  w:\n    jobs:\n      - j: {context: << pipeline.schedule.id >>}\n", "SG106"},
		{"param in the job", markerJob("echo << pipeline.parameters.nope >>") + "      - checkout\n", "SG108"},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, disabled := range []string{"j", "other"} {
				opts := lint.Options{JobDisable: map[string][]string{disabled: {c.rule}}}
				want := lintVerdictsWith(t, "c.yml", []byte(c.config), opts)
				has := false
				for _, v := range want {
					has = has || v.rule == c.rule
				}
				if has != (disabled != "j") {
					t.Fatalf("disabled for %s: lint reports %s: %v (lint: %v)", disabled, c.rule, has, want)
				}
				p, _ := loadBundle(t, opts)
				compare(t, want, policyVerdicts(t, decide(t, p, engineInput(t, []byte(c.config)), nil)))
			}
		})
	}
}
