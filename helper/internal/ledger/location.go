package ledger

import (
	"context"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/promotion"
	"github.com/shipgate/shipgate/helper/internal/registry"
)

// Where the ledger lives (docs/ledger.md, "Where the ledger lives"). By default an
// environment's ledger is kept in the repository it deploys from. A dedicated ledger
// repository (one per application, e.g. team/app-ledger beside team/app) keeps the ledger's
// tags out of the application's tag list and its tag-count limits; the deployed digest is
// mounted there first (a cross-repository mount on the same registry: no bytes move), so every
// entry is still a pullable tag on the image itself and every guarantee holds unchanged.

// Location names the application's repository and the repository holding its ledger (the same
// one unless a dedicated ledger repository is configured).
type Location struct {
	App    registry.Repository
	Ledger registry.Repository
}

// NewLocation returns where app's ledger lives: ledgerRepo, or app itself when ledgerRepo is
// the zero Repository. A ledger repository on another registry is refused: a mount is only
// zero bytes within one registry, and the ledger would then hold a second copy of every image.
func NewLocation(app, ledgerRepo registry.Repository) (Location, error) {
	if ledgerRepo.Path == "" {
		return Location{App: app, Ledger: app}, nil
	}
	if ledgerRepo.Registry != app.Registry {
		return Location{}, failure.New(failure.Usage, "ledger repository %s is on another registry than %s: keep it beside the application's repository", ledgerRepo, app)
	}
	return Location{App: app, Ledger: ledgerRepo}, nil
}

// Dedicated reports whether the ledger has a repository of its own.
func (loc Location) Dedicated() bool { return loc.Ledger != loc.App }

// Bring makes digest present in the ledger repository (a no-op when the ledger lives in the
// application's repository): its blobs are mounted from the application's repository and the
// manifest written by digest, untagged until the entry tag is written. It returns how many
// bytes moved (zero unless the registry refuses mounts).
func (loc Location) Bring(ctx context.Context, client *registry.Client, digest v1.Hash) (int64, error) {
	if !loc.Dedicated() {
		return 0, nil
	}
	res, err := promotion.Promote(ctx, client, promotion.Options{
		Source:       registry.Reference{Repository: loc.App, Digest: digest},
		Destinations: []registry.Repository{loc.Ledger},
	})
	if err != nil {
		return 0, fmt.Errorf("bringing %s into the ledger repository %s: %w", digest, loc.Ledger, err)
	}
	var copied int64
	for _, d := range res.Destinations {
		copied += d.BytesCopied
	}
	return copied, nil
}

// Deployable is the REPO@DIGEST to deploy digest from: the application's repository when the
// digest still resolves completely there, otherwise the ledger repository, whose entry tags
// keep the image (the application's own tags may have moved on and a registry's cleanup may
// have removed it there).
func (loc Location) Deployable(ctx context.Context, client *registry.Client, digest v1.Hash) (registry.Repository, error) {
	if !loc.Dedicated() {
		return loc.App, nil
	}
	complete, err := New(client, loc.App).ResolvesCompletely(ctx, digest)
	if err != nil {
		return registry.Repository{}, fmt.Errorf("checking %s: %w", loc.App.Digest(digest), err)
	}
	if complete {
		return loc.App, nil
	}
	return loc.Ledger, nil
}
