package ledger

import (
	"context"
	"errors"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/registry"
)

// CopyResult is what copying one environment's ledger did (or, without Apply, would do).
type CopyResult struct {
	Env  string `json:"env"`
	From string `json:"from"`
	To   string `json:"to"`
	// Entries is how many entries the source holds; Copied how many were written, Present how
	// many the destination already had (a repeated copy).
	Entries    int  `json:"entries"`
	Digests    int  `json:"digests"`
	Copied     int  `json:"copied"`
	Present    int  `json:"present"`
	Records    int  `json:"records"`
	BadMarkers int  `json:"badMarkers"`
	Apply      bool `json:"apply"`
}

// Copy copies env's ledger from one repository to another on the same registry: the
// migration between the application's repository and a dedicated ledger repository, either
// way. Each digest is mounted first (no bytes move), then its bad marker, then every entry's
// record and entry tag under the same names, so stamps, order and nonces are kept and new
// entries written at the destination continue the same clock. It is idempotent (a tag already
// there on the same digest is skipped; on another digest it is refused, exit code 5), and it
// reads back: every source entry must be listed at the destination, on its digest, before it
// reports success.
func Copy(ctx context.Context, client *registry.Client, from, to registry.Repository, env string, apply bool) (*CopyResult, error) {
	if err := ValidateEnv(env); err != nil {
		return nil, err
	}
	if from == to {
		return nil, failure.New(failure.Usage, "copying the %s ledger: source and destination are both %s", env, from)
	}
	loc, err := NewLocation(from, to)
	if err != nil {
		return nil, err
	}
	src, dst := New(client, from), New(client, to)
	res := &CopyResult{Env: env, From: from.String(), To: to.String(), Apply: apply}
	var entries []Entry
	if err := src.Scan(ctx, env, func(e Entry) bool { entries = append(entries, e); return true }); err != nil {
		return nil, err
	}
	res.Entries = len(entries)
	digestOf := make(map[string]v1.Hash, len(entries))
	var digests []v1.Hash
	resolved := entries[:0]
	for _, e := range entries {
		d, err := src.DigestOf(ctx, e)
		if errors.Is(err, errEntryNotVisible) {
			continue // a write in progress: the next copy takes it
		}
		if err != nil {
			return nil, fmt.Errorf("copying the %s ledger: %w", env, err)
		}
		resolved = append(resolved, e)
		digestOf[e.Tag] = d
		if !containsHash(digests, d) {
			digests = append(digests, d)
		}
	}
	entries = resolved
	res.Digests = len(digests)
	bad := map[v1.Hash]bool{}
	for _, d := range digests {
		if bad[d], err = src.IsBad(ctx, env, d); err != nil {
			return nil, err
		}
		if bad[d] {
			res.BadMarkers++
		}
	}
	if !apply {
		return res, nil
	}
	images := map[v1.Hash]*registry.Manifest{}
	for _, d := range digests {
		if _, err := loc.Bring(ctx, client, d); err != nil {
			return res, err
		}
		m, err := client.GetManifest(ctx, registry.Reference{Repository: to, Digest: d})
		if err != nil {
			return res, fmt.Errorf("reading %s back: %w", to.Digest(d), err)
		}
		images[d] = m
		// The verdict before any entry: a digest bad at the source is bad at the destination
		// from the moment it has an entry there.
		if bad[d] {
			if _, err := putOnce(ctx, client, to, BadMarkerTag(env, d), m); err != nil {
				return res, err
			}
		}
	}
	for i := len(entries) - 1; i >= 0; i-- { // oldest first
		e := entries[i]
		copied, err := copyRecord(ctx, client, from, to, e)
		if err != nil {
			return res, err
		}
		if copied {
			res.Records++
		}
		wrote, err := putOnce(ctx, client, to, e.Tag, images[digestOf[e.Tag]])
		if err != nil {
			return res, err
		}
		if wrote {
			res.Copied++
		} else {
			res.Present++
		}
	}
	// Read back through the reader every command uses.
	seen := map[string]bool{}
	if err := dst.Scan(ctx, env, func(e Entry) bool { seen[e.Tag] = true; return true }); err != nil {
		return res, fmt.Errorf("reading the copied %s ledger back: %w", env, err)
	}
	for _, e := range entries {
		if !seen[e.Tag] {
			return res, failure.New(failure.Unavailable, "copied entry %s is not listed by %s", e.Tag, to)
		}
	}
	return res, nil
}

// putOnce writes tag on m unless the destination already has it: on the same digest it is
// skipped (a repeated copy; immutable repositories refuse even identical re-pushes), on
// another digest it is refused.
func putOnce(ctx context.Context, client *registry.Client, repo registry.Repository, tag string, m *registry.Manifest) (bool, error) {
	desc, err := client.HeadManifest(ctx, registry.Reference{Repository: repo, Tag: tag})
	if err != nil {
		return false, err
	}
	if desc != nil {
		if desc.Digest.Hex != "" && desc.Digest != m.Digest {
			return false, failure.New(failure.Safety, "%s:%s already points at %s, not %s", repo, tag, desc.Digest, m.Digest)
		}
		return false, nil
	}
	if err := client.PutManifest(ctx, repo, tag, m); err != nil {
		return false, fmt.Errorf("copying %s to %s: %w", tag, repo, err)
	}
	return true, nil
}

// copyRecord copies an entry's record artifact, byte for byte, when the source has one.
func copyRecord(ctx context.Context, client *registry.Client, from, to registry.Repository, e Entry) (bool, error) {
	m, err := client.GetManifest(ctx, registry.Reference{Repository: from, Tag: e.RecordTag()})
	if failure.KindOf(err) == failure.NotFound {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if _, err := parseRecord(m); err != nil {
		return false, fmt.Errorf("copying the record of %s: %w", e.Tag, err)
	}
	present, err := client.BlobPresent(ctx, to, emptyDescriptor.Digest)
	if err != nil {
		return false, err
	}
	if !present {
		if err := client.PushSmallBlob(ctx, to, emptyDescriptor.Digest, emptyDescriptor.Data); err != nil {
			return false, err
		}
	}
	return putOnce(ctx, client, to, e.RecordTag(), m)
}

func containsHash(list []v1.Hash, h v1.Hash) bool {
	for _, x := range list {
		if x == h {
			return true
		}
	}
	return false
}
