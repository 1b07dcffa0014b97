package ledger

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/registry"
)

// How the ledger reads a tag listing (docs/ledger.md, "Reading on every registry"):
//
//  1. Seek: `last=<env>.` with n=PageSize returns the environment's newest entries first on a
//     registry that honours a `last` that is not a tag. The first page is trusted only when it
//     is sorted, lies wholly after `<env>.`, and a probe (`last=` a string just below its second
//     tag, n=1; see justBefore) answers with that tag: distribution 3.0.0 skips the tag
//     after a `last` that is not a tag, and that is the one way to see it. No concurrent write
//     can land between the probe and the tag, so a race cannot fool it.
//  2. Full scan, for everything else (zot's 404, ECR's opaque tokens, unsorted pages, a registry
//     that ignores `last`, too few tags to verify the seek with): every page from the start, by Link,
//     then every entry sorted. Nothing is cached across runs: each run detects afresh.
//
// Either way, a listing that cannot be trusted fails closed (never "never deployed"): an empty or
// unreadable body, a page announced at another origin, a page repeated, a full page with no way
// to the next, or a total at a registry's known listing limit.

// futureTolerance is how far after the registry's clock an entry may be stamped and still be
// read: entries are stamped max(registry now, newest + 1 tick), so a real one is at most seconds
// ahead. One planted far in the future (or written while a registry's clock was wrong) would
// otherwise stay "newest" for years and, at the end of the stamp range, block every write.
const futureTolerance = 24 * time.Hour

// listingRemedy is what a user can do about a listing that hit a limit.
const listingRemedy = "prune old ledger entries, or keep the ledger in a dedicated ledger repository"

// reading is the outcome of one scan: how the listing was read, and what was skipped.
type reading struct {
	// how names the listing behaviour seen, for messages ("seek from last=production.", "full
	// scan: the registry answered 404 to a `last` that is not a tag, as zot does").
	how string
	// serverTime is the registry's Date on the first answer (zero when it sent none).
	serverTime time.Time
	// envs are the environments seen (full scans only).
	envs map[string]bool
	// total is the number of distinct tags a full scan saw.
	total    int
	warnings []string
	// missing is set when the repository does not exist (404 NAME_UNKNOWN on a plain listing).
	missing error
	// full is set when every tag was read (a full scan).
	full bool
	// unverified is set when a seek was trusted without its probe (reader.deferProbe); its
	// first page may lack the newest tag on a registry that skips it (distribution 3.0.0).
	unverified bool
	// firstTag is the first tag of a seek's first page.
	firstTag string
}

// reader scans one environment's entries.
type reader struct {
	l        *Ledger
	ctx      context.Context
	env      string
	pageSize int
	r        reading
	// sawLink is set once the registry paged by Link: from then on a page without one is the end.
	sawLink bool
	// seen and entries are a full scan's distinct tags and env's entries among them.
	seen    map[string]bool
	entries []Entry
	// deferProbe leaves a seek's verification to the caller: a mark verifies it with its
	// read-back, which lists from just before the tag it wrote (Ledger.readBack).
	deferProbe bool
}

// scan visits env's entries newest first in the one total order (Newer), until visit returns
// false, and reports how the listing was read.
func (l *Ledger) scan(ctx context.Context, env string, visit func(Entry) bool) (*reading, error) {
	return l.scanMode(ctx, env, false, visit)
}

// scanMode is scan, with full forcing a full scan: a negative answer ("never deployed", "no
// rollback target", "not found") from a seek is confirmed by one, which also counts the tags
// against the registries' known listing limits.
func (l *Ledger) scanMode(ctx context.Context, env string, full bool, visit func(Entry) bool) (*reading, error) {
	return l.scanWith(&reader{l: l, ctx: ctx, env: env, pageSize: max(l.PageSize, 2)}, full, visit)
}

func (l *Ledger) scanWith(rd *reader, full bool, visit func(Entry) bool) (*reading, error) {
	var err error
	if full {
		err = rd.full(visit, "confirming a negative answer")
	} else {
		err = rd.run(visit)
	}
	for _, w := range rd.r.warnings {
		l.warn(w)
	}
	return &rd.r, err
}

// warn writes a warning to Log once per Ledger: one command scans several times (a mark reads
// the ledger, writes, and reads it back) and the reader should see each warning once.
func (l *Ledger) warn(w string) {
	l.warnMu.Lock()
	defer l.warnMu.Unlock()
	if l.warned == nil {
		l.warned = map[string]bool{}
	}
	if !l.warned[w] {
		l.warned[w] = true
		fmt.Fprintf(l.Log, "warning: %s\n", w)
	}
}

func (rd *reader) prefix() string { return entryPrefix(rd.env) }

func (rd *reader) list(q registry.TagQuery) (*registry.TagPage, error) {
	page, err := rd.l.client.ListTags(rd.ctx, rd.l.repo, q)
	if err == nil && rd.r.serverTime.IsZero() && !page.ServerTime.IsZero() {
		// Entries are judged against this clock: a broken one would hide them all, or none.
		if err := checkPlausible(page.ServerTime, "the registry's Date header", rd.l.repo.Registry); err != nil {
			return nil, err
		}
		rd.r.serverTime = page.ServerTime
	}
	return page, err
}

// reference is the time entries are judged against: the registry's clock, else the local one.
func (rd *reader) reference() time.Time {
	if !rd.r.serverTime.IsZero() {
		return rd.r.serverTime
	}
	return rd.l.now()
}

// entry parses tag as one of env's entries, skipping (with a warning) one stamped implausibly
// far after the registry's clock.
func (rd *reader) entry(tag string) (Entry, bool) {
	e, ok := ParseTag(tag)
	if !ok || e.Env != rd.env {
		return Entry{}, false
	}
	if limit := rd.reference().Add(futureTolerance); e.Time().After(limit) {
		rd.r.warnings = append(rd.r.warnings, fmt.Sprintf("ledger entry %s is stamped %s, after the registry's clock (%s) by more than %s: skipped (planted, or written while the registry's clock was wrong)",
			tag, e.Time().Format(time.RFC3339), rd.reference().UTC().Format(time.RFC3339), futureTolerance))
		return Entry{}, false
	}
	return e, true
}

func (rd *reader) run(visit func(Entry) bool) error {
	first, err := rd.list(registry.TagQuery{Last: rd.prefix(), N: rd.pageSize})
	if err != nil {
		if k := failure.KindOf(err); k == failure.Auth || (k == failure.Unavailable && !isProtocol(err)) || rd.ctx.Err() != nil {
			return rd.fail(err)
		}
		return rd.full(visit, describeSeekRefusal(err))
	}
	if why := rd.untrustedSeek(first); why != "" {
		return rd.full(visit, why)
	}
	rd.r.how = "paged from last=" + rd.prefix()
	return rd.seek(first, visit)
}

func isProtocol(err error) bool {
	var pe *registry.ProtocolError
	return errors.As(err, &pe)
}

// justBefore returns a string that is not a tag and sorts after every tag below tag, so no tag,
// not even one written concurrently, lies between it and tag: tag with its last byte lowered and
// "~" appended ('~' sorts after every byte a tag may hold). A registry that honours any `last`
// answers it with tag; distribution 3.0.0 skips tag. It fails when tag ends with '-', the
// smallest byte a tag may hold.
func justBefore(tag string) (string, bool) {
	last := tag[len(tag)-1]
	if last <= '-' {
		return "", false
	}
	return tag[:len(tag)-1] + string(last-1) + "~", true
}

// describeSeekRefusal says what a registry's refusal of `last=<env>.` shows about it.
func describeSeekRefusal(err error) string {
	var pe *registry.ProtocolError
	if errors.As(err, &pe) {
		switch {
		case pe.Status == 404 && len(pe.Codes) == 0:
			return "the registry answered 404 to a `last` that is not a tag, as zot does"
		case pe.Status == 404:
			return fmt.Sprintf("the registry answered 404 %s to the paged listing", strings.Join(pe.Codes, ","))
		case pe.Status == 400:
			return "the registry refused `last=<env>.` (400), as ECR (opaque tokens) and Harbor before 2.5 do"
		}
	}
	return fmt.Sprintf("the paged listing failed (%v)", err)
}

// untrustedSeek returns why the first page of a seek cannot be trusted, or "".
func (rd *reader) untrustedSeek(page *registry.TagPage) string {
	tags := page.Tags
	if !sort.StringsAreSorted(tags) {
		return "the registry's pages are not in lexical order"
	}
	if len(tags) > 0 && tags[0] <= rd.prefix() {
		return "the registry ignores `last`"
	}
	if page.Unfollowed != "" {
		return "the registry's next page is at another origin"
	}
	if len(tags) < 2 {
		return "too few tags after the environment's prefix to verify the registry's paging with"
	}
	if rd.l.seekVerified.Load() {
		return "" // probed earlier in this command (nothing is kept across runs)
	}
	if rd.deferProbe {
		rd.r.unverified, rd.r.firstTag = true, tags[0]
		return ""
	}
	// The second tag, not the first: a registry that ignores `last` answers with the first.
	probe, ok := justBefore(tags[1])
	if !ok {
		return "the registry's paging could not be verified"
	}
	got, err := rd.list(registry.TagQuery{Last: probe, N: 1})
	switch {
	case err != nil || len(got.Tags) == 0:
		return "the registry's paging could not be verified"
	case got.Tags[0] == tags[0]:
		return "the registry ignores `last`"
	case got.Tags[0] != tags[1]:
		return "the registry skips the tag after a `last` that is not a tag, as distribution 3.0.0 does"
	}
	rd.l.seekVerified.Store(true)
	return ""
}

// seek reads pages after `<env>.` until past the environment's entries. Entries sharing the
// stamp of a page's last entry are held until the next page, so ties straddling a page
// boundary are ordered as in a full scan.
func (rd *reader) seek(page *registry.TagPage, visit func(Entry) bool) error {
	var held []Entry
	previous := ""
	for pages := 1; ; pages++ {
		past := false
		for _, tag := range page.Tags {
			if previous != "" && tag <= previous {
				return rd.fail(failure.New(failure.Unavailable, "registry %s changed how it pages mid-listing (%q after %q)", rd.l.repo.Registry, tag, previous))
			}
			previous = tag
			if pastEntries(rd.env, tag) {
				past = true
				break
			}
			if e, ok := rd.entry(tag); ok {
				held = append(held, e)
			}
		}
		sort.SliceStable(held, func(i, j int) bool { return Newer(held[i], held[j]) })
		if past {
			return emit(held, visit)
		}
		// Emit all but the entries tied with the oldest one held (the next page may hold more of
		// that stamp, never a newer one: tags sort by stamp) before asking for the next page, so
		// a reader that stops here (the newest stamp, a rollback target) costs one page.
		if n := len(held); n > 0 {
			oldest := held[n-1].Stamp
			cut := sort.Search(n, func(i int) bool { return held[i].Stamp == oldest })
			if !emitOK(held[:cut], visit) {
				return nil
			}
			held = append(held[:0], held[cut:]...)
		}
		next, err := rd.nextPage(page, pages)
		if err != nil {
			return rd.fail(err)
		}
		if next == nil {
			return emit(held, visit)
		}
		page = next
	}
}

func emitOK(entries []Entry, visit func(Entry) bool) bool {
	for _, e := range entries {
		if !visit(e) {
			return false
		}
	}
	return true
}

func emit(entries []Entry, visit func(Entry) bool) error {
	emitOK(entries, visit)
	return nil
}

// nextPage follows page's Link. A full page without one is continued with `last=<its last
// tag>` (a real tag, which every registry that pages by `last` accepts; go-containerregistry's
// registry honours n and sends no Link). It returns nil at the end.
func (rd *reader) nextPage(page *registry.TagPage, pages int) (*registry.TagPage, error) {
	if pages > 100000 {
		return nil, failure.New(failure.Unavailable, "registry %s kept announcing tag pages (%d read)", rd.l.repo.Registry, pages)
	}
	if page.Unfollowed != "" {
		return nil, failure.WithHint(failure.New(failure.Unavailable,
			"registry %s announced more tags at %s, another origin that shipgate sends no credentials to: the listing cannot be read whole", rd.l.repo.Registry, page.Unfollowed),
			"serve the registry's tag listing from one origin")
	}
	if page.Next != "" {
		rd.sawLink = true
		return rd.list(registry.TagQuery{Next: page.Next})
	}
	if len(page.Tags) >= rd.pageSize && !rd.sawLink {
		next, err := rd.list(registry.TagQuery{Last: page.Tags[len(page.Tags)-1], N: rd.pageSize})
		if err != nil {
			var pe *registry.ProtocolError
			if !errors.As(err, &pe) || pe.Status == 401 || pe.Status == 403 {
				return nil, err
			}
			// Refused (ECR takes only its own tokens as `last`): one listing without n or last
			// settles whether this page was all there is.
			return rd.unpaged(page, err)
		}
		if len(next.Tags) == 0 {
			return nil, nil
		}
		return next, nil
	}
	return nil, nil
}

// unpaged lists without n or last (following the registry's own Links) after a continuation by
// `last` was refused, as ECR refuses any `last` but its own tokens: the page was the end when
// that listing holds nothing beyond what was already read.
func (rd *reader) unpaged(page *registry.TagPage, refusal error) (*registry.TagPage, error) {
	known := map[string]bool{}
	for tag := range rd.seen {
		known[tag] = true
	}
	for _, tag := range page.Tags {
		known[tag] = true
	}
	q := registry.TagQuery{}
	for pages := 1; ; pages++ {
		whole, err := rd.list(q)
		if err != nil {
			return nil, err
		}
		for _, tag := range whole.Tags {
			if !known[tag] {
				return nil, fmt.Errorf("registry %s gave a full page of %d tags and no Link, and refused to continue after its last tag: %w", rd.l.repo.Registry, len(page.Tags), refusal)
			}
		}
		switch {
		case whole.Unfollowed != "":
			return nil, failure.New(failure.Unavailable, "registry %s announced more tags at %s, another origin that shipgate sends no credentials to", rd.l.repo.Registry, whole.Unfollowed)
		case whole.Next == "":
			return nil, nil
		case pages > 100000:
			return nil, failure.New(failure.Unavailable, "registry %s kept announcing tag pages (%d read)", rd.l.repo.Registry, pages)
		}
		q = registry.TagQuery{Next: whole.Next}
	}
}

// full reads every tag, then visits env's entries newest first.
func (rd *reader) full(visit func(Entry) bool, why string) error {
	rd.r.how, rd.r.full = "full scan: "+why, true
	rd.r.envs, rd.seen, rd.entries = map[string]bool{}, map[string]bool{}, nil
	// A full scan asks for the largest page every registry accepts (distribution 3.1.0 refuses
	// n > 1000, ECR too); Quay and others clamp it. Fewer requests, same answer.
	rd.pageSize = rd.l.FullScanPageSize
	if rd.pageSize <= 0 {
		rd.pageSize = 1000
	}
	page, err := rd.list(registry.TagQuery{N: rd.pageSize})
	if err != nil {
		var pe *registry.ProtocolError
		if errors.As(err, &pe) && pe.HasCode("NAME_UNKNOWN") {
			rd.r.missing = failure.Wrap(failure.NotFound, err, "repository %s does not exist on its registry", rd.l.repo)
			return nil
		}
		return rd.fail(err)
	}
	if err := rd.readAll(page); err != nil {
		return rd.fail(err)
	}
	rd.r.total = len(rd.seen)
	for _, limit := range registry.ListingLimits {
		if rd.r.total == limit.Total {
			return rd.fail(failure.WithHint(failure.New(failure.Unavailable,
				"the tag listing of %s holds exactly %d tags, where %s: entries past it would be invisible", rd.l.repo, limit.Total, limit.Who), listingRemedy))
		}
	}
	sort.Slice(rd.entries, func(i, j int) bool { return Newer(rd.entries[i], rd.entries[j]) })
	return emit(rd.entries, visit)
}

// readAll takes page and every page after it, until the listing ends.
func (rd *reader) readAll(page *registry.TagPage) error {
	for pages := 1; ; pages++ {
		if rd.add(page.Tags) == 0 && len(page.Tags) > 0 {
			if page.Next != "" || pages == 1 {
				return failure.New(failure.Unavailable, "registry %s repeated a page of its tag listing", rd.l.repo.Registry)
			}
			return rd.ignoredLast()
		}
		next, err := rd.nextPage(page, pages)
		if err != nil || next == nil {
			return err
		}
		page = next
	}
}

// ignoredLast follows a continuation by `last` that answered only tags already seen: the
// registry ignores `last`. Whether it also honoured n (and so hid the rest) is settled by one
// listing without n or last, which such a registry answers whole.
func (rd *reader) ignoredLast() error {
	whole, err := rd.list(registry.TagQuery{})
	if err != nil {
		return err
	}
	rd.add(whole.Tags)
	if whole.Next != "" || whole.Unfollowed != "" {
		return failure.New(failure.Unavailable, "registry %s ignores `last` but pages its listing: the tags past the first page cannot be reached", rd.l.repo.Registry)
	}
	return nil
}

// add records tags not seen before, with the environments and env's entries among them, and
// says how many were new.
func (rd *reader) add(tags []string) int {
	fresh := 0
	for _, tag := range tags {
		if rd.seen[tag] {
			continue
		}
		rd.seen[tag], fresh = true, fresh+1
		if e, ok := ParseTag(tag); ok {
			rd.r.envs[e.Env] = true
		}
		if e, ok := rd.entry(tag); ok {
			rd.entries = append(rd.entries, e)
		}
	}
	return fresh
}

// fail wraps a listing failure once, naming how the listing was being read.
func (rd *reader) fail(err error) error {
	how := rd.r.how
	if how == "" {
		how = "paged from last=" + rd.prefix()
	}
	what := "the " + rd.env + " ledger"
	if rd.env == "" {
		what = "the ledger" // listing environments
	}
	return fmt.Errorf("reading %s of %s (%s): %w", what, rd.l.repo, how, err)
}
