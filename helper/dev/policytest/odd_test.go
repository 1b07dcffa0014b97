package policytest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/shipgate/shipgate/helper/internal/lint"
)

// oddConfigs are valid YAML of shapes a real config rarely has (the linter's own odd-input
// and fuzz seeds): the engine must evaluate the bundle without an error (CircleCI treats an
// evaluation error as a failed decision) and agree with lint.
var oddConfigs = map[string]string{
	"version only":              "version: 2.1\n",
	"null sections":             "version: 2.1\norbs:\njobs:\nworkflows:\n",
	"workflow jobs not a list":  "version: 2.1\nworkflows:\n  w:\n    jobs: 3\n",
	"workflows a list":          "version: 2.1\nworkflows: [a, b]\n",
	"entry with null body":      "version: 2.1\njobs:\n  b: {}\nworkflows:\n  w:\n    jobs:\n      - b:\n",
	"empty entry mapping":       "version: 2.1\nworkflows:\n  w:\n    jobs:\n      - {}\n",
	"requires loop":             "version: 2.1\njobs:\n  a: {}\n  b: {}\nworkflows:\n  w:\n    jobs:\n      - a: {requires: [b]}\n      - b: {requires: [a]}\n",
	"deploy requires itself":    "version: 2.1\norbs: {s: shipgate/shipgate@1}\nworkflows:\n  rollback: {}\n  w:\n    jobs:\n      - s/deploy: {name: d, env: staging, requires: [d], context: c, serial-group: g, filters: {branches: {only: develop}}}\n",
	"bad regex filter":          "version: 2.1\norbs: {s: shipgate/shipgate@1}\nworkflows:\n  rollback: {}\n  w:\n    jobs:\n      - s/deploy: {env: staging, context: c, serial-group: g, filters: {branches: {only: \"/(/\"}}}\n",
	"bad regex condition":       "version: 2.1\nworkflows:\n  w:\n    when: {matches: {pattern: \"(\", value: << pipeline.git.branch >>}}\n    jobs: [deploy-staging]\n",
	"deep condition":            "version: 2.1\nworkflows:\n  w:\n    when: {and: [{or: [{not: {equal: [a, << pipeline.git.branch >>]}}]}]}\n    jobs: [deploy-staging]\n",
	"duplicate entry names":     "version: 2.1\njobs:\n  deploy-prod: {steps: [attach_workspace]}\nworkflows:\n  w:\n    jobs:\n      - deploy-prod\n      - deploy-prod: {requires: [deploy-prod]}\n",
	"numbers and booleans":      "version: 2.1\nparameters:\n  env: {type: boolean, default: true}\njobs:\n  deploy-staging: {steps: [{run: 3}, {run: true}]}\nworkflows:\n  w:\n    jobs:\n      - deploy-staging: {context: 7, requires: 3, filters: 5}\n",
	"recursive merge keys":      "version: 2.1\nx-a: &a {k: 1}\nx-b: &b {<<: [*a, *a]}\nx-c: {<<: [*b, *b, *a]}\n",
	"orb example":               "usage:\n  workflows:\n    w:\n      jobs: [deploy-prod]\n",
	"steps not a list":          "version: 2.1\njobs:\n  deploy-staging: {steps: {run: x}}\nworkflows: {w: {jobs: [deploy-staging]}}\n",
	"job group of job groups":   "version: 2.1\njob-groups:\n  a: {jobs: [b]}\n  b: {jobs: [deploy-production]}\nworkflows: {w: {jobs: [a]}}\n",
	"context list with nulls":   "version: 2.1\njobs: {deploy-staging: {}}\nworkflows: {w: {jobs: [{deploy-staging: {context: [null, prod, ''], filters: {branches: {only: [null]}}}}]}}\n",
	"expression filter not-eq":  "version: 2.1\njobs: {deploy-staging: {}}\nworkflows: {w: {jobs: [{deploy-staging: {filters: 'pipeline.git.branch != \"main\"'}}]}}\n",
	"matrix over environments":  "version: 2.1\njobs: {ship: {parameters: {env: {type: string}}}}\nworkflows: {w: {jobs: [{ship: {matrix: {parameters: {env: [staging, production]}}, name: deploy-<< matrix.env >>}}]}}\n",
	"pipeline parameter target": "version: 2.1\nparameters: {target: {type: enum, enum: [staging, production], default: staging}}\njobs: {ship: {}}\nworkflows: {w: {jobs: [{ship: {env: << pipeline.parameters.target >>, name: deploy}}]}}\n",
}

func TestOddConfigs(t *testing.T) {
	p, _ := loadBundle(t, lint.Options{})
	for name, data := range oddConfigs {
		t.Run(name, func(t *testing.T) {
			compare(t, lintVerdicts(t, "c.yml", []byte(data)), policyVerdicts(t, decide(t, p, engineInput(t, []byte(data)), nil)))
		})
	}
}

// BenchmarkDecide measures one decision on a generated release workflow of n services, each
// built, deployed to staging, approved and deployed to production (4n workflow jobs), with
// every rule of the bundle enabled.
func BenchmarkDecide(b *testing.B) {
	p, _ := loadBundle(&testing.T{}, lint.Options{})
	for _, n := range []int{1, 10, 50} {
		input := engineInput(&testing.T{}, []byte(generatedConfig(n)))
		b.Run(fmt.Sprintf("jobs=%d", 4*n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := p.Decide(b.Context(), input); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func generatedConfig(n int) string {
	var sb strings.Builder
	sb.WriteString("version: 2.1\norbs:\n  shipgate: shipgate/shipgate@1\nparameters:\n  rollback-to: {type: string, default: \"\"}\njobs:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&sb, "  build-%d:\n    docker: [{image: cimg/base:current}]\n    steps: [checkout, shipgate/record_artifact, persist_to_workspace: {root: ., paths: [release.json]}]\n", i)
	}
	sb.WriteString("workflows:\n  release:\n    jobs:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&sb, `      - build-%[1]d:
          filters: {branches: {only: main}}
      - shipgate/deploy:
          name: deploy-staging-%[1]d
          env: staging
          context: staging-deploy
          serial-group: app-%[1]d/staging
          requires: [build-%[1]d]
      - hold-production-%[1]d: {type: approval, requires: [deploy-staging-%[1]d]}
      - shipgate/deploy:
          name: deploy-production-%[1]d
          env: production
          context: production-deploy
          serial-group: app-%[1]d/production
          requires: [hold-production-%[1]d]
`, i)
	}
	return sb.String()
}
