package orbcheck

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// cleanExample is an example that compiles and lints clean as the real packer publishes it.
const cleanExample = `description: A clean example.
usage:
  version: 2.1
  orbs:
    shipgate: shipgate/shipgate@1
  workflows:
    release:
      jobs:
        - shipgate/deploy:
            name: deploy-staging
            env: staging
            context: staging-deploy
            serial-group: app/deploy-staging
            url: https://staging.example.com/version
            filters: {branches: {only: develop}}
            steps:
              - run: echo "$SHIPGATE_IMAGE" > deployed
        - shipgate/rollback:
            env: staging
            context: staging-deploy
            filters: {branches: {only: develop}}
`

func ruleCounts(problems []Problem) map[string]int {
	out := map[string]int{}
	for _, p := range problems {
		out[filepath.Base(p.File)+" "+p.Rule]++
	}
	return out
}

// Each of CircleCI's rules is caught in an orb source folder, and a clean folder passes.
func TestCircleCIRules(t *testing.T) {
	src := t.TempDir()
	write(t, src, "examples/clean.yml", cleanExample)
	if p, err := CheckCircleCIRules(src); err != nil || len(p) != 0 {
		t.Fatalf("clean source: %v %v", p, err)
	}
	// CC001, CC002: parameters the packer drops; the example then refers to undeclared ones.
	write(t, src, "examples/params.yml", strings.Replace(cleanExample, "  version: 2.1\n",
		"  version: 2.1\n  parameters:\n    target-env: {type: enum, enum: [staging], default: staging}\n", 1)+
		"        - shipgate/rollback:\n            name: again\n            env: << pipeline.parameters.target-env >>\n            context: staging-deploy\n            filters: {branches: {only: develop}}\n")
	// CC004: a deploy step calls kubectl on the orb's cimg/base executor (SG020); a disable
	// comment does not survive packing.
	write(t, src, "examples/kubectl.yml", strings.Replace(cleanExample, `echo "$SHIPGATE_IMAGE" > deployed`,
		`kubectl set image deploy/app app="$SHIPGATE_IMAGE" # shipgate-lint: disable=SG020`, 1))
	// CC003, CC005, CC006.
	write(t, src, "commands/checkout.yml", "description: x\nsteps: [{run: {name: x, command: echo}}]\n")
	write(t, src, "jobs/deploy.yml", "description: a job is never a step\nsteps: [{run: {name: x, command: echo}}]\n")
	write(t, src, "jobs/report.yml", "description: x\nsteps:\n  - run: {name: x, command: 'echo << pipeline.trigger_source >>'}\n")
	write(t, src, "scripts/marker.sh", "#!/bin/bash\ncircleci run release plan --environment-name \"$E\"\ncircleci run release plan \"$N\" --environment-name \"$E\"\n")
	problems, err := CheckCircleCIRules(src)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{
		"params.yml CC001": 1, "params.yml CC002": 1, "params.yml CC004": 1, // CC004: lint's SG108
		"kubectl.yml CC004":  1,
		"checkout.yml CC003": 1, "report.yml CC006": 1, "marker.sh CC005": 1,
	}
	if got := ruleCounts(problems); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v\nwant %v\n%v", got, want, problems)
	}
}

// pendingOrbFixes are what CheckCircleCIRules reports on the repository's own src, which the
// orb track fixes (issue 16 points 2, 3, 5, 6, 7): the test fails when a listed problem is no
// longer reported, so the list only shrinks, and on any problem not listed. It is empty, and
// `orbtool validate` runs these checks too.
// The orb track's fixes landed (deploy_release, deploy names, deploy_tools and the official
// orbs' install commands, pipeline.trigger.type, CircleCI's rollback pipeline, a rollback job per
// deploy example): nothing is pending.
var pendingOrbFixes = map[string]int{}

func TestRepositoryMeetsCircleCIRules(t *testing.T) {
	problems, err := CheckCircleCIRules(filepath.Join(repoRoot, "src"))
	if err != nil {
		t.Fatal(err)
	}
	got := ruleCounts(problems)
	var keys []string
	for k := range got {
		keys = append(keys, k)
	}
	for k := range pendingOrbFixes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, p := range problems {
		t.Log("pending fix: " + p.String())
	}
	seen := map[string]bool{}
	for _, k := range keys {
		if seen[k] {
			continue
		}
		seen[k] = true
		if got[k] != pendingOrbFixes[k] {
			t.Errorf("%s: %d problem(s), pendingOrbFixes says %d: update the list as the orb's fixes land", k, got[k], pendingOrbFixes[k])
		}
	}
}
