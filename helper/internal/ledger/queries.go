package ledger

import (
	"context"
	"errors"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/shipgate/shipgate/helper/internal/failure"
)

// Release is an entry resolved to its digest, with its record when one exists.
type Release struct {
	Entry  Entry
	Digest v1.Hash
	Record *Record
}

// Current is the digest that may be running in env: that of the newest deploying or deployed
// entry, even after a deploy that failed half-way. ok is false for an environment never
// deployed.
func (l *Ledger) Current(ctx context.Context, env string) (current *Release, err error) {
	err = l.scanResolved(ctx, env, func(e Entry, digest func() (v1.Hash, error)) (bool, error) {
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
	return current, err
}

// scanResolved scans entries newest first, giving visit a lazy digest lookup so entries that
// are not needed cost no request.
func (l *Ledger) scanResolved(ctx context.Context, env string, visit func(Entry, func() (v1.Hash, error)) (bool, error)) error {
	var visitErr error
	err := l.Scan(ctx, env, func(e Entry) bool {
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
	if err != nil {
		return err
	}
	return visitErr
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
// distinct digest. It writes nothing.
func (l *Ledger) RollbackTarget(ctx context.Context, q RollbackQuery) (*Rollback, error) {
	if err := ValidateEnv(q.Env); err != nil {
		return nil, err
	}
	if q.Steps <= 0 {
		q.Steps = 1
	}
	var current *Release
	currentKnown := false
	var pending []Release // good entries seen before current was known
	var found *Release
	considered := map[v1.Hash]bool{}
	remaining := q.Steps
	consider := func(r Release) (bool, error) {
		if considered[r.Digest] || (current != nil && r.Digest == current.Digest) {
			return false, nil
		}
		considered[r.Digest] = true
		if q.Digest.Hex != "" && r.Digest != q.Digest {
			return false, nil
		}
		if !q.Force || q.Digest.Hex == "" {
			bad, err := l.IsBad(ctx, q.Env, r.Digest)
			if err != nil || bad {
				return false, err
			}
		}
		complete, err := l.ResolvesCompletely(ctx, r.Digest)
		if err != nil || !complete {
			return false, err
		}
		remaining--
		if q.Digest.Hex != "" || remaining == 0 {
			found = &r
			return true, nil
		}
		return false, nil
	}
	err := l.scanResolved(ctx, q.Env, func(e Entry, digest func() (v1.Hash, error)) (bool, error) {
		switch e.Status {
		case Deploying, Deployed:
			if currentKnown {
				return true, nil
			}
			d, err := digest()
			if err != nil {
				return false, err
			}
			current, currentKnown = &Release{Entry: e, Digest: d}, true
			for _, p := range pending {
				if done, err := consider(p); done || err != nil {
					return false, err
				}
			}
			pending = nil
		case Good:
			d, err := digest()
			if err != nil {
				return false, err
			}
			r := Release{Entry: e, Digest: d}
			if !currentKnown {
				pending = append(pending, r)
				return true, nil
			}
			if done, err := consider(r); done || err != nil {
				return false, err
			}
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	if found == nil {
		for _, p := range pending { // the environment was never deployed: no current
			if done, err := consider(p); err != nil {
				return nil, err
			} else if done {
				break
			}
		}
	}
	if q.Digest.Hex != "" && current != nil && q.Digest == current.Digest {
		return nil, failure.New(failure.Safety, "%s is already current in %s: nothing to roll back to", q.Digest, q.Env)
	}
	if found == nil && q.Digest.Hex != "" && q.Force {
		// Forced: a digest never good here, chosen by the operator; it must still resolve.
		complete, err := l.ResolvesCompletely(ctx, q.Digest)
		if err != nil {
			return nil, err
		}
		if !complete {
			return nil, failure.New(failure.NotFound, "%s does not resolve completely in %s", q.Digest, l.repo)
		}
		found = &Release{Digest: q.Digest}
	}
	if found == nil {
		if q.Digest.Hex != "" {
			return nil, failure.WithHint(failure.New(failure.Safety, "%s was never marked good in %s (or is marked bad, or is current)", q.Digest, q.Env),
				"pass --force to roll back to it anyway")
		}
		return nil, failure.New(failure.NotFound, "no rollback target in %s: no good digest other than the current one that is not marked bad and still resolves", q.Env)
	}
	if found.Entry.Tag != "" {
		rec, err := l.RecordOf(ctx, found.Entry)
		if err != nil {
			return nil, err
		}
		found.Record = rec
	}
	return &Rollback{Target: *found, Current: current}, nil
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
	want := strings.ToLower(q.Commit)
	field := func(e Entry) string { return e.Commit }
	recordField := func(r *Record) string { return r.Source.Commit }
	if q.Tree != "" {
		want = strings.ToLower(q.Tree)
		field = func(e Entry) string { return e.Tree }
		recordField = func(r *Record) string { return r.Source.Tree }
	}
	if len(want) < 12 || shortSHA(want) == "" {
		return nil, failure.New(failure.Usage, "%q is not a commit or tree SHA (at least 12 hex digits)", want)
	}
	var found *Release
	err := l.scanResolved(ctx, q.Env, func(e Entry, digest func() (v1.Hash, error)) (bool, error) {
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
		return nil, err
	}
	if found == nil {
		what := "commit " + q.Commit
		if q.Tree != "" {
			what = "tree " + q.Tree
		}
		return nil, failure.New(failure.NotFound, "no digest reached %s in %s for %s", q.Status, q.Env, what)
	}
	return found, nil
}

// History returns up to limit entries of env, newest first, resolved with their records, and
// the current release. Past the limit it only looks for current, without reading records.
func (l *Ledger) History(ctx context.Context, env string, limit int) ([]Release, *Release, error) {
	var out []Release
	var current *Release
	err := l.scanResolved(ctx, env, func(e Entry, digest func() (v1.Hash, error)) (bool, error) {
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
	return out, current, err
}
