package registry_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"testing"

	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/registry"
	"github.com/shipgate/shipgate/helper/internal/testpeer/registryserver"
	"github.com/shipgate/shipgate/helper/internal/testpeer/testimage"
)

func tagsOf(t *testing.T, c *registry.Client, repo registry.Repository) []string {
	t.Helper()
	page, err := c.ListTagsPage(context.Background(), repo, "", 0, "")
	if err != nil {
		t.Fatal(err)
	}
	return page.Tags
}

// TestDeleteTagRemovesOnlyThatTag: on distribution v3 a DELETE of a tag untags it; the image
// and every other tag on the same digest stay.
func TestDeleteTagRemovesOnlyThatTag(t *testing.T) {
	server := registryserver.StartT(t, registryserver.Options{})
	repo := registry.Repository{Registry: server.Host, Path: "team/app"}
	digest := testimage.Image(t, server.Repo("team/app:keep"), 1)
	c := registry.New(registry.Options{})
	ctx := context.Background()
	m, err := c.GetManifest(ctx, registry.Reference{Repository: repo, Digest: digest})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.PutManifest(ctx, repo, "goes", m); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteTag(ctx, repo, "goes"); err != nil {
		t.Fatalf("DeleteTag: %v", err)
	}
	if got := tagsOf(t, c, repo); !slices.Equal(got, []string{"keep"}) {
		t.Fatalf("tags after deleting one: %v, want [keep]", got)
	}
	if d, err := c.HeadManifest(ctx, registry.Reference{Repository: repo, Digest: digest}); err != nil || d == nil {
		t.Fatalf("the image went with its tag: %v %v", d, err)
	}
	err = c.DeleteTag(ctx, repo, "goes")
	if failure.KindOf(err) != failure.NotFound {
		t.Fatalf("deleting a tag twice: %v (kind %v), want not found", err, failure.KindOf(err))
	}
}

// TestDeleteTagRefused: distribution with deletion disabled answers 405 UNSUPPORTED, and
// Debian's docker-registry 2.8 has no tag deletion (it reads the tag as a digest: 400
// DIGEST_INVALID). Both are a refusal (exit code 5) that leaves the tag in place.
func TestDeleteTagRefused(t *testing.T) {
	kinds := map[string]func(t *testing.T) *registryserver.Server{
		"distribution-v3-delete-disabled": func(t *testing.T) *registryserver.Server {
			return registryserver.StartT(t, registryserver.Options{NoDelete: true})
		},
		"docker-registry-2.8": func(t *testing.T) *registryserver.Server {
			if _, err := os.Stat(registryserver.DebianBinary); err != nil {
				t.Skipf("%s not installed (.ci/run installs it)", registryserver.DebianBinary)
			}
			s, err := registryserver.StartExternal(registryserver.DebianBinary, registryserver.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(s.Close)
			return s
		},
	}
	for name, start := range kinds {
		t.Run(name, func(t *testing.T) {
			server := start(t)
			repo := registry.Repository{Registry: server.Host, Path: "team/app"}
			testimage.Image(t, server.Repo("team/app:stays"), 1)
			c := registry.New(registry.Options{})
			err := c.DeleteTag(context.Background(), repo, "stays")
			if !errors.Is(err, registry.ErrDeleteRefused) || failure.KindOf(err) != failure.Safety {
				t.Fatalf("DeleteTag: %v (kind %v), want a refusal", err, failure.KindOf(err))
			}
			if got := tagsOf(t, c, repo); !slices.Equal(got, []string{"stays"}) {
				t.Fatalf("tags after a refused deletion: %v", got)
			}
		})
	}
}
