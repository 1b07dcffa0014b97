package app

import (
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/urfave/cli/v2"

	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/ledger"
	"github.com/shipgate/shipgate/helper/internal/registry"
	"github.com/shipgate/shipgate/helper/internal/release"
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
			format, err := outputFormat(c)
			if err != nil {
				return err
			}
			repo, env, err := repoAndEnv(c)
			if err != nil {
				return err
			}
			q := ledger.RollbackQuery{Env: env, Steps: c.Int("steps"), Force: c.Bool("force")}
			if c.Int("steps") < 1 {
				return failure.New(failure.Usage, "--steps %d: want 1 or more", c.Int("steps"))
			}
			if d := c.String("digest"); d != "" {
				if q.Digest, err = registry.ParseDigest(d); err != nil {
					return err
				}
				if c.IsSet("steps") {
					return failure.New(failure.Usage, "give --digest or --steps, not both")
				}
			}
			l, err := openLedger(c, s, repo)
			if err != nil {
				return err
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
				if err := release.Write(out, rollbackRelease(from, rb.Target.Digest, rb.Target.Record)); err != nil {
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

func orNone(s string) string {
	if s == "" {
		return "(nothing deployed)"
	}
	return s
}

// rollbackRelease rebuilds a release file for a rollback target from its ledger record, so the
// redeploy's entries carry the original source and version.
func rollbackRelease(repo registry.Repository, digest v1.Hash, rec *ledger.Record) *release.Release {
	rel := &release.Release{Image: repo.Digest(digest), Repository: repo.String(), Digest: digest.String(),
		CreatedAt: time.Now().UTC().Format(time.RFC3339)}
	if rec != nil {
		rel.Source = release.Source{Commit: rec.Source.Commit, Tree: rec.Source.Tree, Branch: rec.Source.Branch, Tag: rec.Source.Tag}
		if rel.Source.Commit == "" {
			rel.Source.Commit = rec.Version
		}
		rel.Pipeline = release.Pipeline(rec.Source.Pipeline)
	}
	return rel
}
