package app

import (
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/urfave/cli/v2"

	"github.com/shipgate/shipgate/helper/internal/artifact"
	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/ledger"
	"github.com/shipgate/shipgate/helper/internal/registry"
)

func rollbackCommand(s *streams) *cli.Command {
	return &cli.Command{
		Name:  "rollback",
		Usage: "choose the rollback target (read-only); the job redeploys it and records it",
		Description: "Default target: the newest good digest that differs from current, is not marked bad, and still\n" +
			"resolves completely. --steps N takes the Nth such distinct digest. --digest picks one that was\n" +
			"good in ENV (--force for any). Exports SHIPGATE_IMAGE, SHIPGATE_DIGEST, SHIPGATE_ROLLBACK_FROM and\n" +
			"SHIPGATE_VERSION; --out writes a release file for the redeploy's ledger entries.",
		Flags: withFlags(repoFlags(), []cli.Flag{
			ledgerRepoFlag(),
			&cli.StringFlag{Name: "digest", Usage: "roll back to this `DIGEST`"},
			&cli.IntFlag{Name: "steps", Value: 1, Usage: "take the `N`th eligible digest going back"},
			&cli.BoolFlag{Name: "force", Usage: "accept a --digest that was never good in ENV, or is marked bad"},
			&cli.StringFlag{Name: "out", Usage: "write the target's release `FILE` (source and version from its ledger record)"},
			outputFlag(), exportToFlag(),
		}, registryFlags()),
		Action: func(c *cli.Context) error {
			o, err := rollbackOptionsFrom(c)
			if err != nil {
				return err
			}
			format, repo, env, q := o.format, o.repo, o.query.Env, o.query
			l, err := openLedger(c, s, repo)
			if err != nil {
				return err
			}
			if o.shortDigest != "" {
				if q.Digest, err = resolveShortDigest(c.Context, l.Ledger, env, o.shortDigest); err != nil {
					return err
				}
				s.progress("resolved --digest %s to %s (the only match in the %s ledger)", o.shortDigest, q.Digest, env)
			}
			rb, err := l.RollbackTarget(c.Context, q)
			if err != nil {
				return err
			}
			// With a dedicated ledger repository the application's repository may have lost the
			// image; the ledger's entry tags keep it there.
			from, err := l.loc.Deployable(c.Context, l.client, rb.Target.Digest)
			if err != nil {
				return err
			}
			if from != repo {
				s.progress("%s no longer resolves in %s: deploying it from the ledger repository %s", rb.Target.Digest, repo, from)
			}
			target := viewOf(from, rb.Target)
			if rb.Target.Entry.Tag == "" {
				target.Time, target.Status = "", "forced"
			}
			vars := map[string]string{
				"SHIPGATE_IMAGE": target.Image, "SHIPGATE_DIGEST": target.Digest,
				"SHIPGATE_REPOSITORY": repo.String(), "SHIPGATE_ENV": env,
			}
			rollbackFrom := ""
			if rb.Current != nil {
				rollbackFrom = rb.Current.Digest.String()
			}
			// Always exported, empty when unknown: a value left over from the failed release
			// (its version, say) must not describe the target.
			vars["SHIPGATE_ROLLBACK_FROM"] = rollbackFrom
			vars["SHIPGATE_VERSION"] = target.Version
			if out := c.String("out"); out != "" {
				if err := artifact.Write(out, rollbackRelease(from, rb.Target.Digest, rb.Target.Record)); err != nil {
					return err
				}
				if abs, err := filepath.Abs(out); err == nil {
					// The redeploy's mark-* calls read --release from SHIPGATE_RELEASE.
					vars["SHIPGATE_RELEASE"] = abs
				}
			}
			if err := s.exportVars(c, vars); err != nil {
				return err
			}
			s.progress("%s: roll back from %s to %s", env, orNone(rollbackFrom), target.Image)
			result := map[string]any{"env": env, "target": target, "image": target.Image, "rollbackFrom": rollbackFrom}
			return s.printResult(format, result, func() string { return target.Image })
		},
	}
}

// rollbackOptions are rollback's flags, validated before the registry is asked.
type rollbackOptions struct {
	format      string
	repo        registry.Repository
	query       ledger.RollbackQuery
	shortDigest string // a --digest prefix, resolved against the ledger
}

func rollbackOptionsFrom(c *cli.Context) (rollbackOptions, error) {
	var o rollbackOptions
	var err error
	if o.format, err = outputFormat(c); err != nil {
		return o, err
	}
	var env string
	if o.repo, env, err = repoAndEnv(c); err != nil {
		return o, err
	}
	o.query = ledger.RollbackQuery{Env: env, Steps: c.Int("steps"), Force: c.Bool("force")}
	if c.Int("steps") < 1 {
		return o, failure.New(failure.Usage, "--steps %d: want 1 or more", c.Int("steps"))
	}
	if d := c.String("digest"); d != "" {
		if o.query.Digest, o.shortDigest, err = parseRollbackDigest(d); err != nil {
			return o, err
		}
		if c.IsSet("steps") {
			return o, failure.New(failure.Usage, "give --digest or --steps, not both")
		}
	}
	return o, nil
}

func orNone(s string) string {
	if s == "" {
		return "(nothing deployed)"
	}
	return s
}

// rollbackRelease rebuilds a release file for a rollback target from its ledger record, so the
// redeploy's entries carry the original source and version.
func rollbackRelease(repo registry.Repository, digest v1.Hash, rec *ledger.Record) *artifact.Release {
	rel := &artifact.Release{Image: repo.Digest(digest), Repository: repo.String(), Digest: digest.String(),
		CreatedAt: time.Now().UTC().Format(time.RFC3339)}
	if rec != nil {
		rel.Source = artifact.Source{Commit: rec.Source.Commit, Tree: rec.Source.Tree, Branch: rec.Source.Branch, Tag: rec.Source.Tag}
		if rel.Source.Commit == "" {
			rel.Source.Commit = rec.Version
		}
		rel.Pipeline = artifact.Pipeline(rec.Source.Pipeline)
	}
	return rel
}
