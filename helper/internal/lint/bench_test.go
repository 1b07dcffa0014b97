package lint_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/shipgate/shipgate/helper/internal/lint"
)

// benchConfig is a large config: n deploy jobs, each with a few steps through a shared
// command, in staging and production workflows.
func benchConfig(n int) []byte {
	var b strings.Builder
	b.WriteString("version: 2.1\norbs:\n  shipgate: shipgate/shipgate@1\ncommands:\n  roll-out:\n    parameters: {ctx: {type: string}}\n")
	b.WriteString("    steps:\n      - run: kubectl --context << parameters.ctx >> set image deploy/app app=\"$SHIPGATE_IMAGE\"\n      - run: kubectl rollout status deploy/app\njobs:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  svc%d:\n    docker: [{image: cimg/deploy:2026.10}]\n    steps:\n      - attach_workspace: {at: .}\n      - roll-out: {ctx: staging}\n      - shipgate/smoke_test: {url: https://svc%d.example.com}\n", i, i)
	}
	b.WriteString("workflows:\n  release:\n    jobs:\n      - hold: {type: approval, filters: {branches: {only: main}}}\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "      - svc%d:\n          name: deploy-svc%d-production\n          context: production-deploy\n          serial-group: svc%d/production\n          requires: [hold]\n", i, i, i)
	}
	b.WriteString("  rollback:\n    jobs:\n      - shipgate/rollback: {env: production, context: production-deploy, filters: {branches: {only: main}}}\n")
	return []byte(b.String())
}

func BenchmarkLintFile(b *testing.B) {
	for _, n := range []int{10, 200} {
		data := benchConfig(n)
		b.Run(fmt.Sprintf("jobs=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for i := 0; i < b.N; i++ {
				if _, err := lint.LintFile("bench.yml", data, lint.Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
