package promotion_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/shipgate/shipgate/helper/internal/promotion"
	"github.com/shipgate/shipgate/helper/internal/registry"
	"github.com/shipgate/shipgate/helper/internal/testpeer/registryserver"
	"github.com/shipgate/shipgate/helper/internal/testpeer/testimage"
)

var benchRuns atomic.Int64

// BenchmarkPromoteIndexAcrossRegistries copies a 3-platform index (27 small blobs) from one
// real distribution registry (filesystem storage) to another, into a fresh repository each
// iteration, with 8 and 16 blob transfers in flight: the measure behind defaultParallel. Run:
//
//	go test ./helper/internal/promotion/ -run '^$' -bench PromoteIndexAcross -benchtime 20x -count 6
func BenchmarkPromoteIndexAcrossRegistries(b *testing.B) {
	src := registryserver.StartT(b, registryserver.Options{RootDir: b.TempDir()})
	dst := registryserver.StartT(b, registryserver.Options{RootDir: b.TempDir()})
	digest := testimage.Index(b, src.Repo("staging/multi:build"), 3, 8)
	client := registry.New(registry.Options{})
	from := registry.Reference{Repository: registry.Repository{Registry: src.Host, Path: "staging/multi"}, Digest: digest}
	for _, parallel := range []int{8, 16} {
		b.Run(fmt.Sprintf("parallel=%d", parallel), func(b *testing.B) {
			for b.Loop() {
				// Fresh across iterations and -count repetitions: a repository that already
				// holds the index would measure the one-request path instead.
				to := registry.Repository{Registry: dst.Host, Path: fmt.Sprintf("p%d/run%d", parallel, benchRuns.Add(1))}
				_, err := promotion.Promote(context.Background(), client, promotion.Options{
					Source: from, Destinations: []registry.Repository{to}, Tags: []string{"v1"},
					Referrers: true, Parallel: parallel,
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
