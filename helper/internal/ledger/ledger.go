package ledger

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
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
	// PageSize is how many tags one tags/list request asks for when paging from `last=<env>.`.
	// The default is 100.
	PageSize int
	// FullScanPageSize is how many tags one request of a full scan asks for (registries that
	// cannot seek). The default is 1000, the most ECR and distribution 3.1.0 accept.
	FullScanPageSize int
	// Log receives warnings (aliases refused by immutable repositories, entries skipped, ...).
	Log io.Writer

	warnMu sync.Mutex
	warned map[string]bool
	// seekVerified is set once a probe showed the registry honours a `last` that is not a tag;
	// it lives as long as this Ledger (one command), never across runs.
	seekVerified atomic.Bool
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
	// Existing is true when nothing was written: the digest was already marked bad, and this is
	// its bad entry.
	Existing bool `json:"existing,omitempty"`
}

// Append writes one entry: the record artifact first, then (for bad) the bad marker, then the
// entry tag on the image digest, which is the commit point: an entry exists exactly when its
// tag does. The tag's stamp is the registry's clock, never older than the newest entry seen.
// It then reads the entry back through the same scan every reader uses, and fails when the
// registry would not show it where it must be. A second mark-bad of a digest already marked bad
// writes nothing and returns the existing bad entry.
func (l *Ledger) Append(ctx context.Context, m Mark) (*Written, error) {
	if err := validateMark(m); err != nil {
		return nil, err
	}
	image, markedBad, existing, err := l.checkMark(ctx, m)
	if err != nil || existing != nil {
		return existing, err
	}
	entry, before, err := l.nextEntry(ctx, m, markedBad, image)
	if err != nil {
		return nil, err
	}
	written, err := l.write(ctx, m, entry, markedBad, image)
	if err != nil {
		return nil, err
	}
	if err := l.confirm(ctx, m, entry, image.Digest, before); err != nil {
		var mis *misordered
		if !errors.As(err, &mis) {
			return written, err
		}
		if written, err = l.restamp(ctx, m, entry, image, mis); err != nil {
			return written, err
		}
	}
	return written, l.moveAliases(ctx, m, image, written)
}

// checkMark reads the image and applies the bad-digest rules: another status for a digest
// marked bad is refused unless forced, and a second mark-bad returns the existing bad entry.
func (l *Ledger) checkMark(ctx context.Context, m Mark) (image *registry.Manifest, markedBad bool, existing *Written, err error) {
	image, err = l.client.GetManifest(ctx, registry.Reference{Repository: l.repo, Digest: m.Digest})
	if err != nil {
		return nil, false, nil, fmt.Errorf("reading %s: %w", l.repo.Digest(m.Digest), err)
	}
	if markedBad, err = l.IsBad(ctx, m.Env, m.Digest); err != nil {
		return nil, false, nil, err
	}
	if markedBad && m.Status != Bad && !m.Force {
		return nil, true, nil, failure.WithHint(failure.New(failure.Safety, "%s is marked bad in %s", m.Digest, m.Env),
			"deploy another digest, or pass --force to record this one anyway")
	}
	if markedBad && m.Status == Bad && !m.Force {
		existing, err = l.badEntry(ctx, m.Env, m.Digest)
	}
	return image, markedBad, existing, err
}

// nextEntry stamps the new entry: the registry's clock, never older than the newest entry.
// When that cannot be done, a mark-bad still leaves its marker (markBadAnyway).
// The listing's seek is not probed here: the read-back verifies it (confirm), one request fewer.
func (l *Ledger) nextEntry(ctx context.Context, m Mark, markedBad bool, image *registry.Manifest) (Entry, *reading, error) {
	var latest *Stamp
	rd, err := l.scanWith(&reader{l: l, ctx: ctx, env: m.Env, pageSize: max(l.PageSize, 2), deferProbe: true}, false, func(e Entry) bool {
		s := e.Stamp
		latest = &s
		return false
	})
	if err != nil {
		return Entry{}, nil, l.markBadAnyway(ctx, m, markedBad, image, err)
	}
	now, err := l.registryNow(rd.serverTime, image.ServerTime)
	if err != nil {
		return Entry{}, nil, l.markBadAnyway(ctx, m, markedBad, image, err)
	}
	entry, err := NewEntry(m.Env, m.Status, After(now, latest), m.Record.Source.Commit, m.Record.Source.Tree)
	return entry, rd, err
}

// write puts the record, then (for a first bad) the bad marker, then the entry tag: the commit
// point. A record that cannot be written is a warning: the entry is the fact.
func (l *Ledger) write(ctx context.Context, m Mark, entry Entry, markedBad bool, image *registry.Manifest) (*Written, error) {
	rec := m.Record
	rec.SchemaVersion = 1
	rec.Env, rec.Status = m.Env, m.Status
	rec.Repository, rec.Digest = l.repo.String(), m.Digest.String()
	rec.Time = entry.Time().Format(time.RFC3339)
	if rec.Version == "" {
		rec.Version = rec.Source.Commit
	}
	written := &Written{Entry: entry, Tag: entry.Tag}
	if err := l.writeRecord(ctx, entry, rec, image); err != nil {
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
	return written, nil
}

// moveAliases points the moving aliases at the digest; an immutability refusal is a warning.
func (l *Ledger) moveAliases(ctx context.Context, m Mark, image *registry.Manifest, written *Written) error {
	for _, alias := range m.Aliases {
		if err := l.client.PutManifest(ctx, l.repo, alias, image); err != nil {
			if failure.KindOf(err) == failure.Safety {
				written.Warnings = append(written.Warnings, fmt.Sprintf("alias %s not moved (immutable tags?): %v", alias, err))
				continue
			}
			return fmt.Errorf("moving alias %s: %w", alias, err)
		}
	}
	return nil
}

func validateMark(m Mark) error {
	if err := ValidateEnv(m.Env); err != nil {
		return err
	}
	if _, err := ParseStatus(string(m.Status)); err != nil {
		return err
	}
	for _, alias := range m.Aliases {
		// Checked before anything is written: an alias the registry cannot hold used to fail
		// only after the entry (and a bad marker) were in place.
		if !registry.ValidTag(alias) {
			return failure.New(failure.Usage, "alias %q is not a valid tag ([a-zA-Z0-9_][a-zA-Z0-9._-]{0,127})", alias)
		}
	}
	return nil
}

// markBadAnyway keeps mark-bad working when the ledger cannot be read or stamped: the bad
// marker, which is what promote and rollback check, needs neither. The entry is not written
// (it could not be ordered), and the command still fails with the reason.
func (l *Ledger) markBadAnyway(ctx context.Context, m Mark, markedBad bool, image *registry.Manifest, cause error) error {
	if m.Status != Bad || markedBad {
		return cause
	}
	if err := l.client.PutManifest(ctx, l.repo, BadMarkerTag(m.Env, m.Digest), image); err != nil {
		return cause
	}
	return failure.WithHint(cause, fmt.Sprintf("the bad marker %s was written, so promote --env and rollback refuse %s in %s; the ledger entry was not", BadMarkerTag(m.Env, m.Digest), m.Digest, m.Env))
}

// badEntry returns the newest bad entry of digest in env as a Written (nil when none exists:
// a marker whose entry was never written, because a job died in between).
func (l *Ledger) badEntry(ctx context.Context, env string, digest v1.Hash) (*Written, error) {
	var found *Written
	_, err := l.scanResolved(ctx, env, false, func(e Entry, resolve func() (v1.Hash, error)) (bool, error) {
		if e.Status != Bad {
			return true, nil
		}
		d, err := resolve()
		if err != nil || d != digest {
			return err == nil, err
		}
		found = &Written{Entry: e, Tag: e.Tag, Record: e.RecordTag(), Existing: true,
			Warnings: []string{fmt.Sprintf("%s was already marked bad in %s (%s): no second entry written", digest, env, e.Tag)}}
		return false, nil
	})
	return found, err
}

// plausible bounds a registry's clock: the ledger's stamps end in 2286, and a Date outside these
// years is a broken clock (issue 14: 1960 and 2300 were seen to end in "internal error").
var (
	earliestPlausible = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	latestPlausible   = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// registryNow is the time a new entry is stamped with: the registry's Date from the listing,
// else from the manifest read, else the local clock; an implausible one is a bad answer from a
// dependency, never a stamp.
func (l *Ledger) registryNow(listing, manifest time.Time) (time.Time, error) {
	now, source := listing, "the registry's Date header"
	if now.IsZero() {
		now = manifest
	}
	if now.IsZero() {
		now, source = l.now(), "the local clock (the registry sent no Date)"
	}
	if err := checkPlausible(now, source, l.repo.Registry); err != nil {
		return time.Time{}, err
	}
	return now, nil
}

func checkPlausible(t time.Time, source, registryHost string) error {
	if t.Before(earliestPlausible) || !t.Before(latestPlausible) {
		return failure.WithHint(failure.New(failure.Unavailable, "%s for %s says %s: a clock that far off cannot order the ledger",
			source, registryHost, t.UTC().Format(time.RFC3339)), "fix the registry's clock (NTP), then retry")
	}
	return nil
}

// confirm reads a written entry back. The fast path is one listing from just before the entry's
// tag (readBack): it shows the tag listed, and proves the registry honours a `last` that is not
// a tag, which is what the ordering read before the write assumed (its probe was deferred to
// here). Anything else takes the full read-back (confirmFull).
func (l *Ledger) confirm(ctx context.Context, m Mark, entry Entry, digest v1.Hash, before *reading) error {
	if m.Status == Bad {
		if bad, err := l.IsBad(ctx, m.Env, m.Digest); err != nil || !bad {
			if err == nil {
				err = failure.New(failure.Unavailable, "wrote the bad marker of %s in %s, but reading it back found nothing", m.Digest, m.Env)
			}
			return err
		}
	}
	if ok := l.readBack(ctx, entry); ok {
		return nil
	}
	if err := l.confirmFull(ctx, m, entry, digest); err != nil {
		return err
	}
	if before != nil && before.unverified {
		return l.checkOrder(ctx, entry, before)
	}
	return nil
}

// readBack lists from just before entry's tag (n=2) and reports whether the answer starts with
// the tag. It does on a registry that honours any `last`; distribution 3.0.0 skips the tag, one
// that ignores `last` starts elsewhere, and a listing that lags the write misses it: all of
// those go the full way. The PUT already checked the registry stored the tag as the digest
// written (Docker-Content-Digest), so no HEAD is needed; entry tags are unique (stamp and nonce)
// and never moved.
func (l *Ledger) readBack(ctx context.Context, entry Entry) bool {
	last, ok := justBefore(entry.Tag)
	if !ok {
		return false
	}
	page, err := l.client.ListTags(ctx, l.repo, registry.TagQuery{Last: last, N: 2})
	if err != nil || len(page.Tags) == 0 || page.Tags[0] != entry.Tag {
		return false
	}
	// The same answer the probe of a seek wants: a `last` that is not a tag, honoured.
	l.seekVerified.Store(true)
	return true
}

// checkOrder runs when the ordering read trusted a seek that the read-back then could not
// verify: on a registry that skips the first tag after a `last` that is not a tag, that read may
// have missed the newest entry, and the new entry's stamp may not be after it. A full scan shows
// whether an entry that read could have missed (sorting before its first tag) is not older than
// the new one (a shared stamp included: the clock must order, not the status); that is a
// *misordered, which Append repairs (restamp).
func (l *Ledger) checkOrder(ctx context.Context, entry Entry, before *reading) error {
	var clash *Entry
	_, err := l.scanMode(ctx, entry.Env, true, func(e Entry) bool {
		if e.Stamp.Less(entry.Stamp) {
			return false // older than the new entry, as is every one after it: order kept
		}
		if e.Tag == entry.Tag {
			return true // a tie with the new entry would be ordered by status, not by the clock
		}
		if before.firstTag == "" || e.Tag < before.firstTag {
			c := e
			clash = &c
			return false
		}
		return true
	})
	if err != nil {
		return fmt.Errorf("checking the order of ledger entry %s: %w", entry.Tag, err)
	}
	if clash != nil {
		return &misordered{entry: entry, clash: *clash}
	}
	return nil
}

// misordered is an entry written with a stamp that an entry the ordering read missed is not
// older than.
type misordered struct{ entry, clash Entry }

func (e *misordered) Error() string {
	return fmt.Sprintf("wrote ledger entry %s, but %s (which the registry's paged listing hid) is not older", e.entry.Tag, e.clash.Tag)
}

// restamp repairs a misordered entry before the mark returns: it removes the entry's tag (and
// its record), which no reader can have relied on yet, then writes the mark again stamped after
// everything a full scan shows, and reads it back in full. A registry that refuses to remove the
// tag leaves the order unproven: the mark fails closed and says so.
func (l *Ledger) restamp(ctx context.Context, m Mark, entry Entry, image *registry.Manifest, mis *misordered) (*Written, error) {
	if err := l.client.DeleteTag(ctx, l.repo, entry.Tag); err != nil && failure.KindOf(err) != failure.NotFound {
		return nil, failure.WithHint(failure.New(failure.Unavailable, "%v; removing it failed (%v): the ledger's order is not proven", mis, err),
			"run the mark again: it reads this registry in full and stamps after every entry")
	}
	if err := l.client.DeleteTag(ctx, l.repo, entry.RecordTag()); err != nil && failure.KindOf(err) != failure.NotFound {
		l.warn(fmt.Sprintf("orphan record %s not removed: %v", entry.RecordTag(), err))
	}
	var latest *Stamp
	rd, err := l.scanMode(ctx, m.Env, true, func(e Entry) bool {
		s := e.Stamp
		latest = &s
		return false
	})
	if err != nil {
		return nil, err
	}
	now, err := l.registryNow(rd.serverTime, image.ServerTime)
	if err != nil {
		return nil, err
	}
	again, err := NewEntry(m.Env, m.Status, After(now, latest), m.Record.Source.Commit, m.Record.Source.Tree)
	if err != nil {
		return nil, err
	}
	written, err := l.write(ctx, m, again, true, image)
	if err != nil {
		return nil, err
	}
	return written, l.confirmFull(ctx, m, again, image.Digest)
}

// confirmFull reads a written entry back: its tag must resolve to the digest, and the scan
// every reader uses must show the entry in its place (newest first, so the scan reaches it
// before any older entry). Registries whose listings lag a write get a few short retries.
func (l *Ledger) confirmFull(ctx context.Context, m Mark, entry Entry, digest v1.Hash) error {
	desc, err := l.client.HeadManifest(ctx, registry.Reference{Repository: l.repo, Tag: entry.Tag})
	if err != nil {
		return fmt.Errorf("reading back ledger entry %s: %w", entry.Tag, err)
	}
	if desc == nil || (desc.Digest.Hex != "" && desc.Digest != digest) {
		return failure.New(failure.Unavailable, "wrote ledger entry %s on %s, but reading it back gave %v", entry.Tag, digest, desc)
	}
	var how string
	for attempt := 0; attempt < 3; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(attempt) * 250 * time.Millisecond):
			}
		}
		found := false
		rd, err := l.scan(ctx, m.Env, func(e Entry) bool {
			if e.Tag == entry.Tag {
				found = true
				return false
			}
			return Newer(e, entry)
		})
		if err != nil {
			return fmt.Errorf("reading back ledger entry %s: %w", entry.Tag, err)
		}
		if found {
			return nil
		}
		how = rd.how
	}
	return failure.WithHint(failure.New(failure.Unavailable,
		"wrote ledger entry %s, but the registry's tag listing (%s) does not show it where readers look: releases, find and rollback would not see it",
		entry.Tag, how), "the entry stays (entries are never moved); report this registry's listing behaviour")
}

// writeRecord puts the record in one request where it can: the record always names the image
// as its subject (a registry with the referrers API indexes it; one without ignores the field,
// and shipgate never writes the shared fallback tag there), so no referrers probe is needed; and
// its 2-byte empty blob is pushed only when the registry refuses the manifest for want of it
// (MANIFEST_BLOB_UNKNOWN), which happens once per repository.
func (l *Ledger) writeRecord(ctx context.Context, entry Entry, rec Record, image *registry.Manifest) error {
	d := image.Descriptor()
	manifest, err := recordManifest(rec, &d)
	if err != nil {
		return err
	}
	err = l.client.PutManifest(ctx, l.repo, entry.RecordTag(), manifest)
	var pe *registry.ProtocolError
	if err == nil || !errors.As(err, &pe) || (pe.Status != 400 && pe.Status != 404) {
		return err
	}
	// The spec's answer to a manifest whose blobs are missing is 400 MANIFEST_BLOB_UNKNOWN
	// (distribution, zot, ECR); some registries send 404 or MANIFEST_INVALID. Push the blob and
	// try once more: a refusal for another reason fails again, with its own message.
	if err := l.client.PushSmallBlob(ctx, l.repo, emptyDescriptor.Digest, emptyDescriptor.Data); err != nil {
		return err
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

// Scan calls visit for env's entries, newest first, until visit returns false. Records and
// markers are skipped; an orphan record (its entry tag never written) is not an entry. A
// repository the registry does not know is an error of kind NotFound.
func (l *Ledger) Scan(ctx context.Context, env string, visit func(Entry) bool) error {
	if err := ValidateEnv(env); err != nil {
		return err
	}
	rd, err := l.scan(ctx, env, visit)
	if err == nil && rd.missing != nil {
		err = rd.missing
	}
	return err
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
	return l.childrenPresent(ctx, m)
}

// childrenPresent reports whether every child manifest of m (an index) is still present.
func (l *Ledger) childrenPresent(ctx context.Context, m *registry.Manifest) (bool, error) {
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

// manifestOf reads the manifest an entry's tag points at (one GET: its digest and its content,
// which a rollback candidate needs both of; a HEAD and then a GET of the same manifest would be
// two). A tag listed but not yet resolvable is errEntryNotVisible, as in DigestOf.
func (l *Ledger) manifestOf(ctx context.Context, e Entry) (*registry.Manifest, error) {
	m, err := l.client.GetManifest(ctx, registry.Reference{Repository: l.repo, Tag: e.Tag})
	if failure.KindOf(err) == failure.NotFound {
		return nil, failure.New(failure.NotFound, "ledger entry %s vanished from %s: %w", e.Tag, l.repo, errEntryNotVisible)
	}
	return m, err
}
