package policytest

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/CircleCI-Public/circle-policy-agent/cpa"

	"github.com/shipgate/shipgate/helper/internal/lint"
)

// TestRandomConfigsAgree generates configs from the pieces the rules look at (job names that
// do and do not name a deploy or an environment, requires chains, approvals, branch and tag
// filters, workflow conditions, contexts, serial groups, orb jobs and commands, steps that
// build, attach, smoke-test, mark good or hold keys) and demands the engine's verdicts equal
// lint's on each. The seed is fixed so a failure reproduces; the failing config is printed.
func TestRandomConfigsAgree(t *testing.T) {
	// Each config is judged under one of these settings, baked into its own bundle.
	variants := []lint.Options{
		{},
		{
			ReleaseBranch: "trunk", StagingBranch: "main",
			DeployJobs:    map[string]string{"ship-qa": "production", "notify": ""},
			NotDeployJobs: []string{"deploy-preview"},
			JobDisable:    map[string][]string{"deploy-staging": {"SG004", "SG012"}, "test": {"all"}},
			ShipgateOrbs:  []string{"acme/sg"},
		},
	}
	bundles := make([]*cpa.Policy, len(variants))
	for i, v := range variants {
		bundles[i], _ = loadBundle(t, v)
	}
	seed := uint64(17)
	if v := os.Getenv("SHIPGATE_POLICY_SEED"); v != "" {
		// Another seed explores other configs: SHIPGATE_POLICY_SEED=N go test -run TestRandomConfigsAgree
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("SHIPGATE_POLICY_SEED=%q: %v", v, err)
		}
		seed = s
	}
	rng := rand.New(rand.NewPCG(seed, 2026))
	failures := 0
	n := 200
	if testing.Short() {
		n = 50
	}
	for i := 0; i < n; i++ {
		cfg := randomConfig(rng)
		v := i % len(variants)
		want := lintVerdictsWith(t, "random.yml", []byte(cfg), variants[v])
		got := policyVerdicts(t, decide(t, bundles[v], engineInput(t, []byte(cfg)), nil))
		if !sameVerdicts(want, got) {
			t.Errorf("config %d (settings variant %d) differs:\n%s\nlint:   %v\nengine: %v", i, v, cfg, want, got)
			if failures++; failures == 3 {
				return
			}
		}
	}
}

func sameVerdicts(a, b []verdict) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func pick[T any](rng *rand.Rand, xs ...T) T { return xs[rng.IntN(len(xs))] }

func randomConfig(rng *rand.Rand) string {
	var sb strings.Builder
	sb.WriteString("version: 2.1\norbs:\n  sg: shipgate/shipgate@1\n  ecr: circleci/aws-ecr@9\n  fork: acme/sg@1\n")
	if rng.IntN(3) == 0 {
		sb.WriteString("parameters:\n")
		sb.WriteString(pick(rng, "  rollback-to: {type: string, default: \"\"}\n", "  target-env: {type: enum, enum: [staging, production], default: staging}\n",
			"  deploy-env: {type: string, default: production}\n", "  run-tests: {type: boolean, default: true}\n"))
	}
	steps := []string{
		"checkout", "attach_workspace: {at: .}", "run: docker build -t app .", "run: ./deploy.sh \"$SHIPGATE_IMAGE\"",
		"run: ./deploy.sh app:latest", "run: ./smoke.sh", "run: curl -f https://x/healthz", "sg/smoke_test", "sg/mark_good",
		"run: shipgate mark-good --env production", "sg/promote", "sg/deploy", "sg/rollback", "run: shipgate find --env staging",
		"ecr/build_and_push_image", "run: export AWS_SECRET_ACCESS_KEY=$KEY", "run: kubectl apply -f k8s/",
		"persist_to_workspace: {root: ., paths: [release.json]}", "run: {name: Verify, command: ./verify.sh}",
		"run: helm upgrade app ./chart --install --kube-context prod", "run: helm upgrade app ./chart --namespace staging",
		"run: terraform workspace select production && terraform apply -auto-approve", "run: aws s3 sync site/ s3://docs",
		"run: kubectl apply --dry-run=client -f k8s/", "run: sudo FOO=1 kubectl rollout restart deploy/app",
		"ship-it", "when: {condition: true, steps: [run: kubectl set image deploy/app app=x]}",
		// The text rules: deploy markers with and without a name, retired and trigger-dependent
		// pipeline values, a pipeline parameter the config may not declare.
		"run: circleci run release plan --environment-name=production", "run: circleci run release plan app-prod --environment-name=production",
		"run: echo << pipeline.trigger_source >> << pipeline.schedule.name >>", "run: echo << pipeline.parameters.rollback-to >>",
	}
	names := []string{"build", "test", "deploy-staging", "deploy-production", "deploy-prod-eu", "release-staging", "promote-production",
		"rollback-production", "smoke-production", "ship-qa", "deploy", "publish", "mark-production", "deploy-preview", "notify"}
	sb.WriteString("commands:\n  ship-it:\n    steps:\n      - run: " + pick(rng, "helm upgrade app ./chart --kube-context staging", "echo shipping", "gcloud run deploy app --project prod") + "\n")
	sb.WriteString("jobs:\n")
	for _, name := range names {
		if rng.IntN(3) == 0 {
			continue
		}
		fmt.Fprintf(&sb, "  %s:\n    docker: [{image: cimg/base:current}]\n    steps:\n", name)
		for k := 1 + rng.IntN(4); k > 0; k-- {
			fmt.Fprintf(&sb, "      - %s\n", pick(rng, steps...))
		}
		if rng.IntN(6) == 0 {
			fmt.Fprintf(&sb, "    environment: {ENVIRONMENT: %s}\n", pick(rng, "production", "staging", "qa"))
		}
		if rng.IntN(6) == 0 {
			fmt.Fprintf(&sb, "    parameters: {env: {type: string, default: %s}}\n", pick(rng, "production", "staging", "sandbox", "\"\""))
		}
	}
	sb.WriteString("job-groups:\n  group-release:\n    jobs:\n")
	for k := 1 + rng.IntN(3); k > 0; k-- {
		fmt.Fprintf(&sb, "      - %s:\n          context: %s\n", pick(rng, "sg/deploy", "test", "deploy-production", "smoke-production"),
			pick(rng, "production-deploy", "staging-deploy", "deploy"))
		if rng.IntN(2) == 0 {
			fmt.Fprintf(&sb, "          env: %s\n", pick(rng, "production", "staging"))
		}
	}
	sb.WriteString("workflows:\n")
	workflows := []string{"release", "nightly", "rollback"}
	rng.Shuffle(len(workflows), func(i, j int) { workflows[i], workflows[j] = workflows[j], workflows[i] })
	for w := 0; w < 1+rng.IntN(2); w++ {
		fmt.Fprintf(&sb, "  %s:\n", workflows[w])
		if rng.IntN(5) == 0 {
			sb.WriteString(pick(rng, "    when: {equal: [main, << pipeline.git.branch >>]}\n",
				"    when: {not: {equal: [develop, << pipeline.git.branch >>]}}\n",
				"    unless: {matches: {pattern: \"^feature/.*\", value: << pipeline.git.branch >>}}\n",
				"    triggers: [{schedule: {cron: \"0 3 * * *\", filters: {branches: {only: main}}}}]\n",
				"    when: {or: [{equal: [main, << pipeline.git.branch >>]}, {equal: [develop, << pipeline.git.branch >>]}]}\n",
				"    when: off\n", "    when: pipeline.git.branch == \"main\"\n",
				"    when: {and: [{not: {matches: {pattern: \"^dependabot/.*\", value: << pipeline.git.branch >>}}}, {equal: [true, << pipeline.parameters.run-tests >>]}]}\n"))
		}
		sb.WriteString("    jobs:\n")
		var placed []string
		for j := 0; j < 2+rng.IntN(6); j++ {
			var ref, name string
			switch rng.IntN(4) {
			case 0:
				ref = pick(rng, "sg/deploy", "sg/promote", "sg/rollback", "sg/smoke_test", "ecr/build_and_push_image", "fork/deploy", "group-release")
				name = fmt.Sprintf("%s-%d", pick(rng, "deploy-staging", "deploy-production", "ship", "promote-prod", "rollback"), j)
			case 1:
				ref, name = "hold", fmt.Sprintf("hold-%d", j)
				if rng.IntN(4) == 0 {
					name = pick(rng, names...) // an approval named like a job: SG013
				}
			default:
				ref = pick(rng, names...)
				name = ref
			}
			fmt.Fprintf(&sb, "      - %s:\n", ref)
			if ref == "hold" {
				sb.WriteString("          type: approval\n")
			}
			if name != ref {
				fmt.Fprintf(&sb, "          name: %s\n", name)
			}
			if rng.IntN(8) == 0 {
				sb.WriteString("          matrix: {parameters: {env: [staging, production]}}\n")
			}
			if strings.Contains(ref, "/") && rng.IntN(2) == 0 {
				fmt.Fprintf(&sb, "          env: %s\n", pick(rng, "production", "staging", "qa", "<< pipeline.parameters.target-env >>"))
			}
			if len(placed) > 0 && rng.IntN(3) > 0 {
				if rng.IntN(4) == 0 {
					fmt.Fprintf(&sb, "          requires: [{%s: [success, failed]}]\n", pick(rng, placed...))
				} else {
					fmt.Fprintf(&sb, "          requires: [%s]\n", pick(rng, placed...))
				}
			}
			if rng.IntN(8) == 0 {
				fmt.Fprintf(&sb, "          %s: %s\n", pick(rng, "image", "aws_access_key_id", "target"), pick(rng, "app:latest", "app@sha256:abc", "production", "$KEY"))
			}
			if rng.IntN(2) == 0 {
				fmt.Fprintf(&sb, "          context: %s\n", pick(rng, "deploy", "staging-deploy", "production-deploy", "[aws, prod-keys]", "qa"))
			}
			if rng.IntN(2) == 0 {
				fmt.Fprintf(&sb, "          serial-group: g-%d\n", j)
			}
			if rng.IntN(2) == 0 {
				sb.WriteString(pick(rng, "          filters: {branches: {only: main}}\n", "          filters: {branches: {only: develop}}\n",
					"          filters: {branches: {only: [main, develop]}}\n", "          filters: {branches: {ignore: /feature\\/.*/}}\n",
					"          filters: {branches: {ignore: /.*/}, tags: {only: /^v.*/}}\n", "          filters: {tags: {only: /^v.*/}}\n",
					"          filters: pipeline.git.branch == \"main\"\n", "          filters: {branches: {only: /release\\/.*/}}\n",
					"          filters: pipeline.git.branch != \"main\"\n",
					"          filters: pipeline.git.branch == \"develop\" or pipeline.git.branch == \"main\"\n",
					"          filters: not pipeline.git.branch == \"main\" and pipeline.git.branch != \"develop\"\n"))
			}
			placed = append(placed, name)
		}
	}
	return sb.String()
}
