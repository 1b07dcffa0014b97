package promotion_test

import (
	"context"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/shipgate/shipgate/helper/internal/promotion"
	"github.com/shipgate/shipgate/helper/internal/registry"
	"github.com/shipgate/shipgate/helper/internal/testpeer/registryserver"
	"github.com/shipgate/shipgate/helper/internal/testpeer/testimage"
)

// BenchmarkDiscoverReferrers times referrer discovery at a source without the referrers API
// (distribution v3, filesystem storage): an unsigned image (the common case), one with cosign's
// .sig and .att, and the same in a repository of more than 1000 tags (the fallback: the four
// names probed). Run:
//
//	go test ./helper/internal/promotion/ -run '^$' -bench DiscoverReferrers -benchtime 300x -count 6
func BenchmarkDiscoverReferrers(b *testing.B) {
	s := registryserver.StartT(b, registryserver.Options{RootDir: b.TempDir()})
	signed := func(repo string) v1.Hash {
		digest := testimage.Image(b, s.Repo(repo+":build"), 1)
		testimage.Image(b, s.Repo(repo+":"+registry.FallbackTag(digest)+".sig"), 1)
		testimage.Image(b, s.Repo(repo+":"+registry.FallbackTag(digest)+".att"), 1)
		return digest
	}
	cases := []struct {
		name, repo string
		digest     v1.Hash
		found      int
	}{
		{"unsigned", "unsigned", testimage.Image(b, s.Repo("unsigned:build"), 1), 0},
		{"signed", "signed", signed("signed"), 2},
		{"signed, 1000 more tags", "many", signed("many"), 2},
	}
	tagMany(b, s.Host, "many", cases[2].digest, 1000)
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			client := registry.New(registry.Options{})
			repo := registry.Repository{Registry: s.Host, Path: c.repo}
			for b.Loop() {
				refs, _, err := promotion.DiscoverReferrers(context.Background(), client, repo, c.digest, nil)
				if err != nil || len(refs) != c.found {
					b.Fatalf("found %d referrers (%v), want %d", len(refs), err, c.found)
				}
			}
		})
	}
}
