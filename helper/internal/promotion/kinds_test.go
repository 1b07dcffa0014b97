package promotion_test

import (
	"context"
	"testing"

	"github.com/shipgate/shipgate/helper/internal/promotion"
	"github.com/shipgate/shipgate/helper/internal/registry"
	"github.com/shipgate/shipgate/helper/internal/testpeer/registrykinds"
	"github.com/shipgate/shipgate/helper/internal/testpeer/testimage"
)

// TestCosignSignatureIsCopiedOnEveryRegistryKind: a `sha256-<hex>.sig` tag beside the source
// digest is found and copied on every registry kind, including those that refuse a `last`
// that is not a tag (zot 404, Harbor < 2.5 400, ECR's opaque tokens) and those paging out of
// order, where the listing gave an error (exit 5) or an empty answer (the signature silently
// left behind) before.
func TestCosignSignatureIsCopiedOnEveryRegistryKind(t *testing.T) {
	registrykinds.ForEach(t, func(t *testing.T, k *registrykinds.Kind) {
		switch k.Name {
		case "distribution-3.0.0", "unsorted":
			// Known gap (docs/promotion.md): these answer a `last` that is not a tag with a page
			// that looks complete (3.0.0 drops the next tag; the unsorted kind answers empty),
			// which one page cannot tell from an honest answer. The referrers work (issue 13.3)
			// replaces this listing.
			t.Skip("known gap: a silently wrong answer to a `last` that is not a tag")
		}
		digest := testimage.Image(t, k.Repo("app:build"), 2)
		sig := testimage.Image(t, k.Repo("app:"+registry.FallbackTag(digest)+".sig"), 1)
		res, err := promotion.Promote(context.Background(), registry.New(registry.Options{}), promotion.Options{
			Source:       registry.Reference{Repository: registry.Repository{Registry: k.Host, Path: "app"}, Digest: digest},
			Destinations: []registry.Repository{{Registry: k.Host, Path: "prod"}},
			Tags:         []string{"v1"}, Referrers: true,
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Destinations[0].Referrers; len(got) != 1 {
			t.Fatalf("referrers copied: %v, want the .sig", got)
		}
		if got, ok := testimage.Digest(t, k.Repo("prod:"+registry.FallbackTag(digest)+".sig")); !ok || got != sig {
			t.Fatalf("signature at the destination: %v %v", got, ok)
		}
	})
}
