package ledger

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/registry"
)

// Ledger reads and writes the ledger of one repository.
type Ledger struct {
	client *registry.Client
	repo   registry.Repository
	// now is the fallback clock when the registry sends no Date header.
	now func() time.Time
	// PageSize is how many tags one tags/list request asks for. The default is 100.
	PageSize int
	// Log receives warnings (aliases refused by immutable repositories, ...).
	Log io.Writer
}

// New returns the ledger of repo.
func New(client *registry.Client, repo registry.Repository) *Ledger {
	return &Ledger{client: client, repo: repo, now: time.Now, PageSize: 100, Log: io.Discard}
}

// SetClock replaces the fallback clock (tests).
func (l *Ledger) SetClock(now func() time.Time) { l.now = now }

// Mark is a request to append an entry.
type Mark struct {
	Env    string
	Digest v1.Hash
	Status Status
	Record Record
	// Force writes even when the digest is marked bad in Env.
	Force bool
	// Aliases are moving tags (e.g. production-current) pointed at the digest after the entry;
	// a refusal (immutable tags) is a warning.
	Aliases []string
}

// Written is the outcome of Append.
type Written struct {
	Entry    Entry    `json:"-"`
	Tag      string   `json:"tag"`
	Record   string   `json:"recordTag,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
}

// Append writes one entry: the record artifact first, then (for bad) the bad marker, then the
// entry tag on the image digest, which is the commit point: an entry exists exactly when its
// tag does. The tag's stamp is the registry's clock, never older than the newest entry seen.
func (l *Ledger) Append(ctx context.Context, m Mark) (*Written, error) {
	if err := ValidateEnv(m.Env); err != nil {
		return nil, err
	}
	if _, err := ParseStatus(string(m.Status)); err != nil {
		return nil, err
	}
	for _, alias := range m.Aliases {
		// Checked before anything is written: an alias the registry cannot hold used to fail
		// only after the entry (and a bad marker) were in place.
		if !registry.ValidTag(alias) {
			return nil, failure.New(failure.Usage, "alias %q is not a valid tag ([a-zA-Z0-9_][a-zA-Z0-9._-]{0,127})", alias)
		}
	}
	image, err := l.client.GetManifest(ctx, registry.Reference{Repository: l.repo, Digest: m.Digest})
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", l.repo.Digest(m.Digest), err)
	}
	markedBad, err := l.IsBad(ctx, m.Env, m.Digest)
	if err != nil {
		return nil, err
	}
	if markedBad && m.Status != Bad && !m.Force {
		return nil, failure.WithHint(failure.New(failure.Safety, "%s is marked bad in %s", m.Digest, m.Env),
			"deploy another digest, or pass --force to record this one anyway")
	}
	latest, serverTime, err := l.latestStamp(ctx, m.Env)
	if err != nil {
		return nil, err
	}
	now := serverTime
	if now.IsZero() {
		now = image.ServerTime
	}
	if now.IsZero() {
		now = l.now()
	}
	rec := m.Record
	entry, err := NewEntry(m.Env, m.Status, After(now, latest), rec.Source.Commit, rec.Source.Tree)
	if err != nil {
		return nil, err
	}
	rec.SchemaVersion = 1
	rec.Env, rec.Status = m.Env, m.Status
	rec.Repository, rec.Digest = l.repo.String(), m.Digest.String()
	rec.Time = entry.Time().Format(time.RFC3339)
	if rec.Version == "" {
		rec.Version = rec.Source.Commit
	}
	written := &Written{Entry: entry, Tag: entry.Tag}
	if err := l.writeRecord(ctx, entry, rec, image); err != nil {
		// The record is the commentary; the entry is the fact. Record the fact anyway.
		written.Warnings = append(written.Warnings, fmt.Sprintf("ledger record not written: %v", err))
	} else {
		written.Record = entry.RecordTag()
	}
	if m.Status == Bad && !markedBad {
		if err := l.client.PutManifest(ctx, l.repo, BadMarkerTag(m.Env, m.Digest), image); err != nil {
			return nil, fmt.Errorf("writing bad marker: %w", err)
		}
	}
	if err := l.client.PutManifest(ctx, l.repo, entry.Tag, image); err != nil {
		return nil, fmt.Errorf("writing ledger entry %s: %w", entry.Tag, err)
	}
	for _, alias := range m.Aliases {
		if err := l.client.PutManifest(ctx, l.repo, alias, image); err != nil {
			if failure.KindOf(err) == failure.Safety {
				written.Warnings = append(written.Warnings, fmt.Sprintf("alias %s not moved (immutable tags?): %v", alias, err))
				continue
			}
			return written, fmt.Errorf("moving alias %s: %w", alias, err)
		}
	}
	return written, nil
}

func (l *Ledger) writeRecord(ctx context.Context, entry Entry, rec Record, image *registry.Manifest) error {
	var subject *v1.Descriptor
	if _, supported, err := l.client.ReferrersAPI(ctx, l.repo, image.Digest); err != nil {
		return err
	} else if supported {
		d := image.Descriptor()
		subject = &d
	}
	manifest, err := recordManifest(rec, subject)
	if err != nil {
		return err
	}
	present, err := l.client.BlobPresent(ctx, l.repo, emptyDescriptor.Digest)
	if err != nil {
		return err
	}
	if !present {
		if err := l.client.PushSmallBlob(ctx, l.repo, emptyDescriptor.Digest, emptyDescriptor.Data); err != nil {
			return err
		}
	}
	return l.client.PutManifest(ctx, l.repo, entry.RecordTag(), manifest)
}

// IsBad reports whether digest is marked bad in env (one request: the bad marker).
func (l *Ledger) IsBad(ctx context.Context, env string, digest v1.Hash) (bool, error) {
	desc, err := l.client.HeadManifest(ctx, registry.Reference{Repository: l.repo, Tag: BadMarkerTag(env, digest)})
	if err != nil {
		return false, fmt.Errorf("checking whether %s is marked bad in %s: %w", digest, env, err)
	}
	// The marker's name already encodes the digest: its existence is the verdict, also when a
	// registry omits Docker-Content-Digest on HEAD (fail closed).
	return desc != nil, nil
}

// latestStamp returns the newest entry's stamp (nil when the ledger is empty) and the
// registry's time from the same response.
func (l *Ledger) latestStamp(ctx context.Context, env string) (*Stamp, time.Time, error) {
	var latest *Stamp
	serverTime, err := l.scan(ctx, env, 2, func(e Entry) bool {
		s := e.Stamp
		latest = &s
		return false
	})
	return latest, serverTime, err
}

// Scan calls visit for env's entries, newest first, until visit returns false. Records and
// markers are skipped; an orphan record (its entry tag never written) is not an entry.
func (l *Ledger) Scan(ctx context.Context, env string, visit func(Entry) bool) error {
	if err := ValidateEnv(env); err != nil {
		return err
	}
	_, err := l.scan(ctx, env, l.PageSize, visit)
	return err
}

// scan pages through the tags after "<env>." while the registry honours `last`; a registry
// that ignores `last` is detected on the first page and read whole, then sorted.
func (l *Ledger) scan(ctx context.Context, env string, pageSize int, visit func(Entry) bool) (time.Time, error) {
	prefix := entryPrefix(env)
	var serverTime time.Time
	next := ""
	var buffered []Entry // entries of a page, held until the page is known to be in order
	for {
		page, err := l.client.ListTagsPage(ctx, l.repo, prefix, pageSize, next)
		if err != nil {
			return serverTime, fmt.Errorf("reading the %s ledger: %w", env, err)
		}
		if serverTime.IsZero() {
			serverTime = page.ServerTime
		}
		buffered = buffered[:0]
		past := false
		if !sort.StringsAreSorted(page.Tags) {
			// A registry that pages in its own order (ECR pages with its own token) cannot be
			// read newest-first page by page: read every page, then sort.
			return serverTime, l.scanAll(ctx, env, page, visit)
		}
		for _, tag := range page.Tags {
			if tag <= prefix {
				// The registry ignored `last`: fall back to reading every page.
				return serverTime, l.scanAll(ctx, env, page, visit)
			}
			if pastEntries(env, tag) {
				past = true
				break
			}
			if e, ok := ParseTag(tag); ok && e.Env == env {
				buffered = append(buffered, e)
			}
		}
		// Within one page tags are in lexical order, which is newest first; concurrent writers
		// can share a rev, so order ties explicitly.
		sort.SliceStable(buffered, func(i, j int) bool { return Newer(buffered[i], buffered[j]) })
		for _, e := range buffered {
			if !visit(e) {
				return serverTime, nil
			}
		}
		if past || page.Next == "" || len(page.Tags) == 0 {
			return serverTime, nil
		}
		next = page.Next
	}
}

// scanAll reads every page of tags (for registries that ignore `last`), then visits env's
// entries newest first.
func (l *Ledger) scanAll(ctx context.Context, env string, first *registry.TagPage, visit func(Entry) bool) error {
	var entries []Entry
	page := first
	previous := ""
	for {
		for _, tag := range page.Tags {
			if e, ok := ParseTag(tag); ok && e.Env == env {
				entries = append(entries, e)
			}
		}
		if page.Next == "" {
			break
		}
		if page.Next == previous {
			return failure.New(failure.Unavailable, "registry %s repeated a page of its tag listing", l.repo.Registry)
		}
		previous = page.Next
		var err error
		page, err = l.client.ListTagsPage(ctx, l.repo, "", l.PageSize, page.Next)
		if err != nil {
			return fmt.Errorf("reading the %s ledger: %w", env, err)
		}
	}
	sort.Slice(entries, func(i, j int) bool { return Newer(entries[i], entries[j]) })
	for _, e := range entries {
		if !visit(e) {
			return nil
		}
	}
	return nil
}

// DigestOf resolves an entry's tag to the digest it points at (one HEAD).
func (l *Ledger) DigestOf(ctx context.Context, e Entry) (v1.Hash, error) {
	desc, err := l.client.HeadManifest(ctx, registry.Reference{Repository: l.repo, Tag: e.Tag})
	if err != nil {
		return v1.Hash{}, err
	}
	if desc == nil || desc.Digest.Hex == "" {
		return v1.Hash{}, failure.New(failure.NotFound, "ledger entry %s vanished from %s: %w", e.Tag, l.repo, errEntryNotVisible)
	}
	return desc.Digest, nil
}

// errEntryNotVisible marks an entry tag that a listing showed but a HEAD did not find. A registry
// can list a tag a moment before the tag resolves (distribution creates the tag's folder before
// its link), so a concurrent reader skips such an entry: it is being written, not lost.
var errEntryNotVisible = errors.New("listed but not yet resolvable")

// RecordOf reads an entry's record; it returns nil without error when the record is missing.
func (l *Ledger) RecordOf(ctx context.Context, e Entry) (*Record, error) {
	m, err := l.client.GetManifest(ctx, registry.Reference{Repository: l.repo, Tag: e.RecordTag()})
	if failure.KindOf(err) == failure.NotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return parseRecord(m)
}

// ResolvesCompletely reports whether digest's manifest and, for an index, every child
// manifest are still present (a lifecycle rule may have expired untagged children).
func (l *Ledger) ResolvesCompletely(ctx context.Context, digest v1.Hash) (bool, error) {
	m, err := l.client.GetManifest(ctx, registry.Reference{Repository: l.repo, Digest: digest})
	if failure.KindOf(err) == failure.NotFound {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	children, err := m.Children()
	if err != nil {
		return false, err
	}
	for _, child := range children {
		desc, err := l.client.HeadManifest(ctx, registry.Reference{Repository: l.repo, Digest: child.Digest})
		if err != nil {
			return false, err
		}
		if desc == nil {
			return false, nil
		}
	}
	return true, nil
}
