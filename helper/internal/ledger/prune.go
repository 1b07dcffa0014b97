package ledger

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/registry"
)

// Pruning bounds a ledger's tag count with guarantees, not heuristics (docs/ledger.md,
// "Pruning"). An entry is removed only when none of these keeps it:
//
//   - it is newer than KeepFor (by its stamp, against the registry's clock);
//   - it is one of the newest KeepGood good entries of the environment;
//   - it is current (the newest deploying or deployed entry);
//   - it is the rollback target's entry (the target as RollbackTarget chooses it);
//   - it is the newest entry of the environment (the anchor of the next stamp).
//
// Bad markers are never entries, so they are never removed. An entry goes with its record:
// the record first, then the entry tag, so a run cut short leaves an entry without a record
// (which every reader handles, and the next run removes), never an orphan record.

// DefaultKeepGood and DefaultKeepFor are prune's defaults: ten rollback candidates, and a
// quarter of history, whichever keeps more.
const (
	DefaultKeepGood = 10
	DefaultKeepFor  = 90 * 24 * time.Hour
)

// recheckEvery is how many deletions run between two checks that the rollback target has not
// moved (a digest marked bad, or a rollback, meanwhile): every 50, or every tenth of a larger
// run, because on registries where every read is a full walk (ECR) a check costs one.
func recheckEvery(removals int) int { return max(50, removals/10) }

// PrunePolicy says what to keep in one environment.
type PrunePolicy struct {
	Env string
	// KeepGood keeps the newest N good entries (at least 1).
	KeepGood int
	// KeepFor keeps every entry newer than this (0 keeps nothing for its age alone).
	KeepFor time.Duration
	// Apply deletes; without it Prune only plans (a dry run).
	Apply bool
}

// Kept is an entry prune keeps and the first rule that keeps it.
type Kept struct {
	Tag    string `json:"tag"`
	Reason string `json:"reason"`
}

// Reasons an entry is kept.
const (
	KeptRecent   = "recent"
	KeptGood     = "newest-good"
	KeptCurrent  = "current"
	KeptTarget   = "rollback-target"
	KeptNewest   = "newest"
	KeptRechecks = "rollback-target (moved during the prune)"
	// KeptUnsettled keeps a good entry while the rollback target cannot be read.
	KeptUnsettled = "good (the rollback target could not be read)"
)

// PruneResult is a plan and, with Apply, what was deleted.
type PruneResult struct {
	Env string `json:"env"`
	// Now is the registry's time the ages were measured against.
	Now     time.Time `json:"now"`
	Cutoff  time.Time `json:"cutoff"`
	Entries int       `json:"entries"`
	Kept    []Kept    `json:"kept"`
	// Remove lists the entry tags that go (each with its record tag, <entry>.r).
	Remove []string `json:"remove"`
	Apply  bool     `json:"apply"`
	// Deleted counts tags removed by this run (entries and records); AlreadyGone those another
	// run removed first.
	Deleted     int `json:"deleted"`
	AlreadyGone int `json:"alreadyGone"`
	// Warnings say why a run kept more than the rules ask.
	Warnings []string `json:"warnings,omitempty"`
}

// Prune plans, and with Apply performs, the removal of old entries of one environment.
// Running it twice, or two at once, removes nothing the first would not: a tag already gone
// counts as done. A registry that refuses to delete tags stops the run at the first refusal
// (registry.ErrDeleteRefused, exit code 5) with nothing else attempted.
func (l *Ledger) Prune(ctx context.Context, p PrunePolicy) (*PruneResult, error) {
	if err := ValidateEnv(p.Env); err != nil {
		return nil, err
	}
	if p.KeepGood < 1 {
		return nil, failure.New(failure.Usage, "keep at least 1 good entry (a rollback target), not %d", p.KeepGood)
	}
	if p.KeepFor < 0 {
		return nil, failure.New(failure.Usage, "keep-for %s: want 0 or more", p.KeepFor)
	}
	now, err := l.pruneClock(ctx)
	if err != nil {
		return nil, err
	}
	res := &PruneResult{Env: p.Env, Now: now, Cutoff: now.Add(-p.KeepFor), Apply: p.Apply, Kept: []Kept{}, Remove: []string{}}

	var entries []Entry
	if err := l.Scan(ctx, p.Env, func(e Entry) bool { entries = append(entries, e); return true }); err != nil {
		return nil, err
	}
	res.Entries = len(entries)
	target, err := l.targetTag(ctx, p.Env)
	// The listing held the environment's entries but the rollback target could not be settled:
	// typically a repository at a registry's listing limit, where every negative answer fails
	// closed. Prune then keeps every good entry (the target is always one) and removes only
	// older deploying, deployed and bad entries with their records: enough to bring the
	// repository back under the limit, after which a normal run applies every rule.
	degraded := err != nil && failure.KindOf(err) == failure.Unavailable && ctx.Err() == nil
	if degraded {
		res.Warnings = append(res.Warnings, fmt.Sprintf("every good entry is kept this run: %v", err))
	} else if err != nil {
		return nil, err
	}
	good, currentSeen := 0, false
	var remove []Entry
	for i, e := range entries {
		reason := ""
		switch {
		case i == 0:
			reason = KeptNewest
		case e.Tag == target:
			reason = KeptTarget
		case !currentSeen && (e.Status == Deploying || e.Status == Deployed):
			reason = KeptCurrent
		case e.Status == Good && good < p.KeepGood:
			reason = KeptGood
		case p.KeepFor > 0 && !e.Time().Before(res.Cutoff):
			reason = KeptRecent
		case degraded && e.Status == Good:
			reason = KeptUnsettled
		}
		if e.Status == Deploying || e.Status == Deployed {
			currentSeen = true
		}
		if e.Status == Good {
			good++
		}
		if reason != "" {
			res.Kept = append(res.Kept, Kept{Tag: e.Tag, Reason: reason})
			continue
		}
		remove = append(remove, e)
		res.Remove = append(res.Remove, e.Tag)
	}
	if !p.Apply || len(remove) == 0 {
		return res, nil
	}
	// Oldest first: a run cut short leaves the newest history, never a hole in the middle.
	every := recheckEvery(len(remove))
	kept := map[string]bool{} // planned removals the recheck kept
	for i := len(remove) - 1; i >= 0; i-- {
		if !degraded && (len(remove)-1-i)%every == 0 {
			moved, err := l.targetTag(ctx, p.Env)
			if err != nil {
				return res, err
			}
			if moved != target && moved != "" {
				target = moved
				res.Kept = append(res.Kept, Kept{Tag: moved, Reason: KeptRechecks})
			}
		}
		e := remove[i]
		if e.Tag == target {
			kept[e.Tag] = true
			continue
		}
		for _, tag := range []string{e.RecordTag(), e.Tag} {
			// The first deletion of a run is read back: a registry that accepts a DELETE and
			// keeps the tag must stop the run, not be counted as pruned.
			gone, err := l.deleteTag(ctx, tag, res.Deleted == 0)
			if err != nil {
				return res, fmt.Errorf("pruning the %s ledger of %s: %w", p.Env, l.repo, err)
			}
			if gone {
				res.AlreadyGone++
			} else {
				res.Deleted++
			}
		}
	}
	res.Remove = withoutTags(res.Remove, kept)
	return res, nil
}

// deleteTag removes one tag; alreadyGone reports a tag another run (or, for a record, no write)
// left absent. A 404 is believed only when a HEAD confirms the tag is gone: ECR answered the
// Docker API's DELETE with 404 while keeping the image (fluxcd/pkg#328), which would otherwise
// read as "already pruned". With verify, a deletion the registry accepted is read back too.
func (l *Ledger) deleteTag(ctx context.Context, tag string, verify bool) (alreadyGone bool, err error) {
	err = l.client.DeleteTag(ctx, l.repo, tag)
	notFound := failure.KindOf(err) == failure.NotFound
	if err != nil && !notFound {
		return false, err
	}
	if !notFound && !verify {
		return false, nil
	}
	desc, herr := l.client.HeadManifest(ctx, registry.Reference{Repository: l.repo, Tag: tag})
	if herr != nil {
		return false, fmt.Errorf("reading back the deletion of %s: %w", tag, herr)
	}
	if desc != nil {
		what := "accepted the deletion of"
		if notFound {
			what = "answered 404 to the deletion of"
		}
		return false, failure.WithHint(failure.New(failure.Safety, "%w: %s %s %s, which still resolves", registry.ErrDeleteRefused, l.repo.Registry, what, tag),
			"this registry does not delete single tags through its API; use its own retention rules (docs/ledger.md, \"Pruning\")")
	}
	return notFound, nil
}

// withoutTags drops the tags a recheck kept from the list of removals.
func withoutTags(tags []string, kept map[string]bool) []string {
	out := tags[:0]
	for _, t := range tags {
		if !kept[t] {
			out = append(out, t)
		}
	}
	return out
}

// targetTag is the tag of the entry that makes the rollback target one ("" when there is
// none). Any failure other than "no target" stops the prune: it must not guess.
func (l *Ledger) targetTag(ctx context.Context, env string) (string, error) {
	rb, err := l.RollbackTarget(ctx, RollbackQuery{Env: env})
	if failure.KindOf(err) == failure.NotFound && !errors.Is(err, errEntryNotVisible) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("finding the %s rollback target to keep: %w", env, err)
	}
	return rb.Target.Entry.Tag, nil
}

// pruneClock is the registry's clock (the clock entry stamps come from), read from the Date of
// a one-tag listing; the local clock only when the registry sends no Date.
func (l *Ledger) pruneClock(ctx context.Context) (time.Time, error) {
	page, err := l.client.ListTagsPage(ctx, l.repo, "", 1, "")
	if err != nil {
		return time.Time{}, fmt.Errorf("reading the registry's time from %s: %w", l.repo, err)
	}
	if page.ServerTime.IsZero() {
		return l.now().UTC(), nil
	}
	return page.ServerTime.UTC(), nil
}
