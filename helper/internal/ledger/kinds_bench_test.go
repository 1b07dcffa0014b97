package ledger_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/shipgate/shipgate/helper/internal/ledger"
	"github.com/shipgate/shipgate/helper/internal/registry"
	"github.com/shipgate/shipgate/helper/internal/testpeer/countingproxy"
	"github.com/shipgate/shipgate/helper/internal/testpeer/registrykinds"
	"github.com/shipgate/shipgate/helper/internal/testpeer/testimage"
)

// BenchmarkLedgerReadsOnKinds reports the registry requests one mark-good (its read-back
// included), one rollback and one releases --limit 20 cost, each as one command would, on a ledger of 40 deployments (240
// tags), per registry kind: the seek where the registry allows it, the full scan elsewhere.
//
//	go test -run '^$' -bench LedgerReadsOnKinds -benchtime 5x ./helper/internal/ledger
func BenchmarkLedgerReadsOnKinds(b *testing.B) {
	for _, name := range []string{"distribution-v3", "ggcr", "zot", "ecr", "distribution-3.0.0"} {
		b.Run(name, func(b *testing.B) {
			k := registrykinds.Start(b, name)
			proxy, err := countingproxy.Start(k.URL())
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(proxy.Close)
			repo := registry.Repository{Registry: proxy.Host, Path: "team/app"}
			client := registry.New(registry.Options{})
			l := ledger.New(client, repo)
			ctx := context.Background()
			a, c := testimage.Image(b, k.Repo("team/app:a"), 1), testimage.Image(b, k.Repo("team/app:c"), 1)
			for i := 0; i < 40; i++ {
				d := a
				if i%2 == 1 {
					d = c
				}
				for _, s := range []ledger.Status{ledger.Deploying, ledger.Deployed, ledger.Good} {
					if _, err := l.Append(ctx, ledger.Mark{Env: "production", Digest: d, Status: s,
						Record: ledger.Record{Source: ledger.Source{Commit: fmt.Sprintf("%040d", i)}}}); err != nil {
						b.Fatal(err)
					}
				}
			}
			ops := map[string]func() error{
				"mark-good": func() error {
					_, err := l.Append(ctx, ledger.Mark{Env: "production", Digest: c, Status: ledger.Good})
					return err
				},
				"rollback": func() error {
					_, err := l.RollbackTarget(ctx, ledger.RollbackQuery{Env: "production"})
					return err
				},
				"releases-20": func() error { _, _, err := l.History(ctx, "production", 20); return err },
			}
			for _, op := range []string{"mark-good", "rollback", "releases-20"} {
				proxy.Reset()
				for i := 0; i < b.N; i++ {
					l = ledger.New(client, repo) // one command: nothing learnt by an earlier one
					if err := ops[op](); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(proxy.Count())/float64(b.N), op+"-requests/op")
			}
		})
	}
}
