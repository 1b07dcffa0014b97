package ledger_test

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"

	"github.com/shipgate/shipgate/helper/internal/ledger"
	"github.com/shipgate/shipgate/helper/internal/registry"
	"github.com/shipgate/shipgate/helper/internal/testpeer/testimage"
)

// A record always names the image as its subject (no referrers probe on a mark): where the
// registry answers the referrers API the record is listed there; where it does not, no shared
// fallback tag is written in either case.
func TestRecordIsAReferrerWhereTheRegistryIndexesIt(t *testing.T) {
	for _, withAPI := range []bool{true, false} {
		server := httptest.NewServer(ggcrregistry.New(ggcrregistry.WithReferrersSupport(withAPI), ggcrregistry.Logger(log.New(io.Discard, "", 0))))
		host := strings.TrimPrefix(server.URL, "http://")
		digest := testimage.Image(t, host+"/app:v1", 1)
		client := registry.New(registry.Options{})
		repo := registry.Repository{Registry: host, Path: "app"}
		if _, err := ledger.New(client, repo).Append(context.Background(), ledger.Mark{Env: "production", Digest: digest, Status: ledger.Good}); err != nil {
			t.Fatal(err)
		}
		index, supported, err := client.ReferrersAPI(context.Background(), repo, digest)
		if err != nil || supported != withAPI {
			t.Fatalf("referrers API %v: %v %v", withAPI, supported, err)
		}
		if withAPI && (len(index.Manifests) != 1 || index.Manifests[0].ArtifactType != ledger.RecordArtifactType) {
			t.Fatalf("the record is not a referrer of the image: %+v", index)
		}
		page, err := client.ListTagsPage(context.Background(), repo, "", 0, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, tag := range page.Tags {
			if tag == registry.FallbackTag(digest) {
				t.Fatalf("the shared referrers fallback tag %s was written", tag)
			}
		}
		server.Close()
	}
}
