package ledger

import (
	"context"
	"errors"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/registry"
)

// Release is an entry resolved to its digest, with its record when one exists.
type Release struct {
	Entry  Entry
	Digest v1.Hash
	Record *Record
	// MarkedBad is set by History on the current release when its digest is marked bad in the
	// environment (what is running was found broken).
	MarkedBad bool
}

// Current is the release that may be running in env: that of the newest deploying or deployed
// entry, even after a deploy that failed half-way. It is nil, without error, for an
// environment never deployed (confirmed by a full scan).
func (l *Ledger) Current(ctx context.Context, env string) (*Release, error) {
	current, full, err := l.current(ctx, env, false)
	if err == nil && current == nil && !full {
		current, _, err = l.current(ctx, env, true)
	}
	return current, err
}

func (l *Ledger) current(ctx context.Context, env string, full bool) (current *Release, wasFull bool, err error) {
	res, err := l.scanResolved(ctx, env, full, func(e Entry, digest func() (v1.Hash, error)) (bool, error) {
		if e.Status != Deploying && e.Status != Deployed {
			return true, nil
		}
		d, err := digest()
		if err != nil {
			return false, err
		}
		current = &Release{Entry: e, Digest: d}
		return false, nil
	})
	return current, res.full, err
}

// scanned is what a scanResolved saw: how many entries, and whether it read every tag.
type scanned struct {
	seen int
	full bool
}

// negative reports whether err is an answer that a full scan must confirm before it is given.
func negative(err error) bool {
	k := failure.KindOf(err)
	return k == failure.NotFound || k == failure.Safety
}

// scanResolved scans entries newest first (full: by a full scan), giving visit a lazy digest
// lookup so entries that are not needed cost no request. A repository the registry does not
// know is an error of kind NotFound.
func (l *Ledger) scanResolved(ctx context.Context, env string, full bool, visit func(Entry, func() (v1.Hash, error)) (bool, error)) (scanned, error) {
	var res scanned
	if err := ValidateEnv(env); err != nil {
		return res, err
	}
	var visitErr error
	rd, err := l.scanMode(ctx, env, full, func(e Entry) bool {
		res.seen++
		more, err := visit(e, func() (v1.Hash, error) { return l.DigestOf(ctx, e) })
		if errors.Is(err, errEntryNotVisible) {
			return true // a write in progress: read it next time
		}
		if err != nil {
			visitErr = err
			return false
		}
		return more
	})
	res.full = rd.full
	if err != nil {
		return res, err
	}
	if rd.missing != nil {
		return res, rd.missing
	}
	return res, visitErr
}

// unknownEnv is the error for an environment with no entries in a repository whose ledger has
// other environments (a typo such as --env prodution), or nil when there is none to name.
func (l *Ledger) unknownEnv(ctx context.Context, env string) error {
	envs, err := l.Environments(ctx)
	if err != nil || len(envs) == 0 {
		return err
	}
	return failure.WithHint(failure.New(failure.NotFound, "environment %q has no ledger entries in %s; it has %s", env, l.repo, strings.Join(envs, ", ")),
		"check --env")
}

// Environments lists the environments with at least one entry in the repository (a full scan).
func (l *Ledger) Environments(ctx context.Context) ([]string, error) {
	survey, err := l.Survey(ctx)
	if err != nil {
		return nil, err
	}
	if survey.missing != nil {
		return nil, survey.missing
	}
	return survey.Environments, nil
}

// Survey is one full, checked listing of a repository's tags: the ledger's environments and,
// for a caller that needs to know whether a tag exists (promote's notice of a tag that moves),
// every tag, without a request per tag.
type Survey struct {
	Environments []string
	tags         map[string]bool
	// missing is set when the registry does not know the repository: it has no tags.
	missing error
}

// HasTag reports whether the listing held tag.
func (s *Survey) HasTag(tag string) bool { return s.tags[tag] }

// Survey reads every tag of the repository once, with the listing checks of any full scan (a
// listing that cannot be trusted is an error, never a shorter answer). A repository the
// registry does not know has no environments and no tags.
func (l *Ledger) Survey(ctx context.Context) (*Survey, error) {
	// A reader of no environment (env "" matches no entry) reads every tag once, recording
	// every environment it passes.
	rd := &reader{l: l, ctx: ctx, pageSize: max(l.PageSize, 2)}
	if err := rd.full(func(Entry) bool { return true }, "listing environments"); err != nil {
		return nil, err
	}
	s := &Survey{tags: rd.seen, missing: rd.r.missing}
	for env := range rd.r.envs {
		s.Environments = append(s.Environments, env)
	}
	sort.Strings(s.Environments)
	return s, nil
}

// RollbackQuery selects a rollback target.
type RollbackQuery struct {
	Env string
	// Steps picks the Nth eligible digest going back (1, the default, is the newest).
	Steps int
	// Digest asks for a specific digest; it must have a good entry in Env unless Force.
	Digest v1.Hash
	Force  bool
}

// Rollback is the chosen target.
type Rollback struct {
	Target  Release
	Current *Release
}

// RollbackTarget chooses where to roll back to: the newest good digest that differs from
// current, is not marked bad, and still resolves completely; Steps N takes the Nth such
// distinct digest. It writes nothing. Phases: scan for current and the candidates
// (rollbackSearch), judge what was found (verdict), attach the target's record.
func (l *Ledger) RollbackTarget(ctx context.Context, q RollbackQuery) (*Rollback, error) {
	if err := ValidateEnv(q.Env); err != nil {
		return nil, err
	}
	if q.Steps <= 0 {
		q.Steps = 1
	}
	rb, full, err := l.rollbackTarget(ctx, q, false)
	if negative(err) && !full {
		rb, _, err = l.rollbackTarget(ctx, q, true)
	}
	return rb, err
}

func (l *Ledger) rollbackTarget(ctx context.Context, q RollbackQuery, full bool) (*Rollback, bool, error) {
	s := &rollbackSearch{l: l, q: q, considered: map[v1.Hash]bool{}, remaining: q.Steps}
	res, err := l.scanResolved(ctx, q.Env, full, func(e Entry, digest func() (v1.Hash, error)) (bool, error) {
		return s.visit(ctx, e, digest)
	})
	if err != nil {
		return nil, res.full, err
	}
	if err := s.neverDeployed(ctx); err != nil {
		return nil, res.full, err
	}
	if res.seen == 0 {
		if err := l.unknownEnv(ctx, q.Env); err != nil {
			return nil, true, err
		}
	}
	target, err := s.verdict(ctx)
	if err != nil {
		return nil, res.full, err
	}
	if target.Entry.Tag != "" {
		if target.Record, err = l.RecordOf(ctx, target.Entry); err != nil {
			return nil, res.full, err
		}
	}
	return &Rollback{Target: *target, Current: s.current}, res.full, nil
}

// rollbackSearch is the state of one rollback scan. Good entries newer than current are held
// (pending) until current is known, because current is excluded whichever comes first.
type rollbackSearch struct {
	l          *Ledger
	q          RollbackQuery
	current    *Release
	pending    []Release
	considered map[v1.Hash]bool
	remaining  int
	found      *Release
	// manifests are the good candidates' manifests, read by their entry tags: eligible checks
	// them without reading them again.
	manifests map[v1.Hash]*registry.Manifest
}

// visit takes one entry, newest first; it returns false once the target is found.
func (s *rollbackSearch) visit(ctx context.Context, e Entry, digest func() (v1.Hash, error)) (bool, error) {
	switch e.Status {
	case Deploying, Deployed:
		if s.current != nil {
			return true, nil
		}
		d, err := digest()
		if err != nil {
			return false, err
		}
		s.current = &Release{Entry: e, Digest: d}
		pending := s.pending
		s.pending = nil
		return s.considerAll(ctx, pending)
	case Good:
		m, err := s.l.manifestOf(ctx, e)
		if err != nil {
			return false, err
		}
		if s.manifests == nil {
			s.manifests = map[v1.Hash]*registry.Manifest{}
		}
		s.manifests[m.Digest] = m
		r := Release{Entry: e, Digest: m.Digest}
		if s.current == nil {
			s.pending = append(s.pending, r)
			return true, nil
		}
		return s.considerAll(ctx, []Release{r})
	}
	return true, nil
}

// neverDeployed considers the good entries of an environment that has no current release.
func (s *rollbackSearch) neverDeployed(ctx context.Context) error {
	if s.found != nil || s.current != nil {
		return nil
	}
	_, err := s.considerAll(ctx, s.pending)
	return err
}

// considerAll considers releases in order; it returns false (stop scanning) once one is chosen.
func (s *rollbackSearch) considerAll(ctx context.Context, releases []Release) (bool, error) {
	for _, r := range releases {
		done, err := s.consider(ctx, r)
		if done || err != nil {
			return false, err
		}
	}
	return true, nil
}

// consider counts r when it is a distinct eligible digest, and chooses it when it is the one
// asked for (the Nth, or the requested digest).
func (s *rollbackSearch) consider(ctx context.Context, r Release) (bool, error) {
	if s.considered[r.Digest] || (s.current != nil && r.Digest == s.current.Digest) {
		return false, nil
	}
	s.considered[r.Digest] = true
	if s.q.Digest.Hex != "" && r.Digest != s.q.Digest {
		return false, nil
	}
	if ok, err := s.eligible(ctx, r.Digest); !ok || err != nil {
		return false, err
	}
	s.remaining--
	if s.q.Digest.Hex != "" || s.remaining == 0 {
		s.found = &r
		return true, nil
	}
	return false, nil
}

// eligible: not marked bad (unless a forced, named digest) and still resolving completely.
func (s *rollbackSearch) eligible(ctx context.Context, digest v1.Hash) (bool, error) {
	if !s.q.Force || s.q.Digest.Hex == "" {
		if bad, err := s.l.IsBad(ctx, s.q.Env, digest); err != nil || bad {
			return false, err
		}
	}
	if m := s.manifests[digest]; m != nil {
		return s.l.childrenPresent(ctx, m)
	}
	return s.l.ResolvesCompletely(ctx, digest)
}

// verdict turns what the scan found into the target or the reason there is none.
func (s *rollbackSearch) verdict(ctx context.Context) (*Release, error) {
	q := s.q
	named := q.Digest.Hex != ""
	if named && s.current != nil && q.Digest == s.current.Digest {
		return nil, failure.New(failure.Safety, "%s is already current in %s: nothing to roll back to", q.Digest, q.Env)
	}
	if s.found != nil {
		return s.found, nil
	}
	if named && q.Force {
		// Forced: a digest never good here, chosen by the operator; it must still resolve.
		complete, err := s.l.ResolvesCompletely(ctx, q.Digest)
		if err != nil {
			return nil, err
		}
		if !complete {
			return nil, failure.New(failure.NotFound, "%s does not resolve completely in %s", q.Digest, s.l.repo)
		}
		return &Release{Digest: q.Digest}, nil
	}
	if named {
		return nil, failure.WithHint(failure.New(failure.Safety, "%s was never marked good in %s (or is marked bad, or is current)", q.Digest, q.Env),
			"pass --force to roll back to it anyway")
	}
	return nil, failure.New(failure.NotFound, "no rollback target in %s: no good digest other than the current one that is not marked bad and still resolves", q.Env)
}

// FindQuery looks for the digest that reached Status in Env for a source commit or tree.
type FindQuery struct {
	Env    string
	Status Status
	Commit string
	Tree   string
}

// Find returns the newest release in Env with the given status whose source commit (or tree)
// matches; the 12-digit prefix in the tag narrows the search and the record confirms the full
// SHA.
func (l *Ledger) Find(ctx context.Context, q FindQuery) (*Release, error) {
	found, full, err := l.find(ctx, q, false)
	if negative(err) && !full {
		found, _, err = l.find(ctx, q, true)
	}
	return found, err
}

func (l *Ledger) find(ctx context.Context, q FindQuery, full bool) (*Release, bool, error) {
	want := strings.ToLower(q.Commit)
	field := func(e Entry) string { return e.Commit }
	recordField := func(r *Record) string { return r.Source.Commit }
	if q.Tree != "" {
		want = strings.ToLower(q.Tree)
		field = func(e Entry) string { return e.Tree }
		recordField = func(r *Record) string { return r.Source.Tree }
	}
	if len(want) < 12 || shortSHA(want) == "" {
		return nil, true, failure.New(failure.Usage, "%q is not a commit or tree SHA (at least 12 hex digits)", want)
	}
	var found *Release
	res, err := l.scanResolved(ctx, q.Env, full, func(e Entry, digest func() (v1.Hash, error)) (bool, error) {
		if e.Status != q.Status || field(e) != want[:12] {
			return true, nil
		}
		rec, err := l.RecordOf(ctx, e)
		if err != nil {
			return false, err
		}
		if rec == nil || !strings.HasPrefix(strings.ToLower(recordField(rec)), want) {
			return true, nil
		}
		d, err := digest()
		if err != nil {
			return false, err
		}
		// A digest marked bad here since it passed is never the answer.
		if bad, err := l.IsBad(ctx, q.Env, d); err != nil || bad {
			return err == nil, err
		}
		found = &Release{Entry: e, Digest: d, Record: rec}
		return false, nil
	})
	if err != nil {
		return nil, res.full, err
	}
	if found == nil {
		if res.seen == 0 {
			if err := l.unknownEnv(ctx, q.Env); err != nil {
				return nil, true, err
			}
		}
		what := "commit " + q.Commit
		if q.Tree != "" {
			what = "tree " + q.Tree
		}
		return nil, res.full, failure.New(failure.NotFound, "no digest reached %s in %s for %s", q.Status, q.Env, what)
	}
	return found, res.full, nil
}

// History returns up to limit entries of env, newest first, resolved with their records, and
// the current release (MarkedBad set when its digest is marked bad in env). Past the limit it
// only looks for current, without reading records. An environment with no entries in a
// repository whose ledger has others is an error naming them.
func (l *Ledger) History(ctx context.Context, env string, limit int) ([]Release, *Release, error) {
	var out []Release
	var current *Release
	res, err := l.scanResolved(ctx, env, false, func(e Entry, digest func() (v1.Hash, error)) (bool, error) {
		listed := limit <= 0 || len(out) < limit
		deploy := e.Status == Deploying || e.Status == Deployed
		if !listed && (!deploy || current != nil) {
			return current == nil, nil
		}
		r := Release{Entry: e}
		if listed {
			rec, err := l.RecordOf(ctx, e)
			if err != nil {
				return false, err
			}
			r.Record = rec
			if rec != nil {
				r.Digest, _ = v1.NewHash(rec.Digest)
			}
		}
		if r.Digest.Hex == "" {
			d, err := digest()
			if err != nil {
				return false, err
			}
			r.Digest = d
		}
		if current == nil && deploy {
			c := r
			current = &c
		}
		if listed {
			out = append(out, r)
		}
		return limit <= 0 || len(out) < limit || current == nil, nil
	})
	if err != nil {
		return nil, nil, err
	}
	if res.seen == 0 {
		if err := l.unknownEnv(ctx, env); err != nil {
			return nil, nil, err
		}
	}
	if current != nil {
		if current.MarkedBad, err = l.IsBad(ctx, env, current.Digest); err != nil {
			return nil, nil, err
		}
		for i := range out {
			if out[i].Entry.Tag == current.Entry.Tag {
				out[i].MarkedBad = current.MarkedBad
			}
		}
	}
	return out, current, nil
}
