package app

import (
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/ledger"
	"github.com/shipgate/shipgate/helper/internal/registry"
)

// ledgerRepoFlag selects a dedicated ledger repository (docs/ledger.md, "Where the ledger
// lives"); as every flag, it can be set as SHIPGATE_FLAG_LEDGER_REPO, which is how the orb passes it.
func ledgerRepoFlag() cli.Flag {
	return &cli.StringFlag{Name: "ledger-repo", Usage: "keep the ledger in this dedicated `REPO`sitory on the same registry (default: the application's repository)"}
}

// ledgerLocation is where the ledger of app lives for this command.
func ledgerLocation(c *cli.Context, app registry.Repository) (ledger.Location, error) {
	var dedicated registry.Repository
	if value := c.String("ledger-repo"); value != "" {
		repo, err := registry.ParseRepository(value)
		if err != nil {
			return ledger.Location{}, err
		}
		dedicated = repo
	}
	return ledger.NewLocation(app, dedicated)
}

// openedLedger is a command's ledger with where it lives and the client it uses.
type openedLedger struct {
	*ledger.Ledger
	loc    ledger.Location
	client *registry.Client
}

// openLedger opens the ledger of the application repository app (in its --ledger-repo when
// one is given).
func openLedger(c *cli.Context, s *streams, app registry.Repository) (*openedLedger, error) {
	loc, err := ledgerLocation(c, app)
	if err != nil {
		return nil, err
	}
	client, err := newRegistryClient(c, s)
	if err != nil {
		return nil, err
	}
	l := ledger.New(client, loc.Ledger)
	l.Log = s.stderr
	return &openedLedger{Ledger: l, loc: loc, client: client}, nil
}

func ledgerCommand(s *streams) *cli.Command {
	return &cli.Command{
		Name:        "ledger",
		Usage:       "maintain the ledger: prune old entries, copy it to another repository",
		Subcommands: []*cli.Command{ledgerPruneCommand(s), ledgerCopyCommand(s)},
	}
}

func ledgerPruneCommand(s *streams) *cli.Command {
	return &cli.Command{
		Name:  "prune",
		Usage: "remove old ledger entries (dry run unless --apply); never current, the rollback target, the newest good ones, recent ones or bad markers",
		Description: "An entry is removed, with its record, only when it is older than --keep-days, is not one of the\n" +
			"newest --keep good entries, is not current, not the rollback target and not the newest entry.\n" +
			"Bad markers are never removed. Without --apply it prints what would go and deletes nothing.\n" +
			"A registry that refuses to delete tags (distribution with deletion disabled, docker-registry 2.8,\n" +
			"immutable tags) stops the run at its first refusal with exit code 5.",
		Flags: withFlags(repoFlags(), []cli.Flag{
			ledgerRepoFlag(),
			&cli.IntFlag{Name: "keep", Value: ledger.DefaultKeepGood, Usage: "keep the newest `N` good entries (at least 1)"},
			&cli.IntFlag{Name: "keep-days", Value: int(ledger.DefaultKeepFor / (24 * time.Hour)), Usage: "keep every entry newer than `D` days"},
			&cli.BoolFlag{Name: "apply", Usage: "delete (without it: a dry run that prints what would go)"},
			outputFlag(),
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
			if c.Int("keep-days") < 0 {
				return failure.New(failure.Usage, "--keep-days %d: want 0 or more", c.Int("keep-days"))
			}
			l, err := openLedger(c, s, repo)
			if err != nil {
				return err
			}
			res, err := l.Prune(c.Context, ledger.PrunePolicy{Env: env, KeepGood: c.Int("keep"),
				KeepFor: time.Duration(c.Int("keep-days")) * 24 * time.Hour, Apply: c.Bool("apply")})
			if err != nil {
				return err
			}
			for _, w := range res.Warnings {
				s.progress("warning: %s", w)
			}
			if c.Bool("apply") {
				s.progress("%s ledger of %s: %d entries, %d kept, %d removed (%d tags deleted, %d already gone)",
					env, l.loc.Ledger, res.Entries, len(res.Kept), len(res.Remove), res.Deleted, res.AlreadyGone)
			} else {
				s.progress("%s ledger of %s: %d entries, %d kept, %d would be removed with their records (dry run: pass --apply to delete)",
					env, l.loc.Ledger, res.Entries, len(res.Kept), len(res.Remove))
			}
			return s.printResult(format, res, func() string {
				var b strings.Builder
				for _, tag := range res.Remove {
					fmt.Fprintf(&b, "remove %s\n", tag)
				}
				return b.String()
			})
		},
	}
}

func ledgerCopyCommand(s *streams) *cli.Command {
	return &cli.Command{
		Name:  "copy",
		Usage: "copy an environment's ledger to another repository on the same registry (dry run unless --apply)",
		Description: "The migration to a dedicated ledger repository (or back): every entry, record and bad marker is\n" +
			"copied under the same name, each digest mounted first (no bytes move). Re-running copies only what is\n" +
			"missing, so run it once, switch the pipelines to --ledger-repo, and run it again.",
		Flags: withFlags(repoFlags(), []cli.Flag{
			&cli.StringFlag{Name: "to", Usage: "the destination `REPO`sitory"},
			&cli.BoolFlag{Name: "apply", Usage: "copy (without it: count what would be copied)"},
			outputFlag(),
		}, registryFlags()),
		Action: func(c *cli.Context) error {
			format, err := outputFormat(c)
			if err != nil {
				return err
			}
			from, env, err := repoAndEnv(c)
			if err != nil {
				return err
			}
			if c.String("to") == "" {
				return failure.New(failure.Usage, "--to is required (the repository to copy the ledger to)")
			}
			to, err := registry.ParseRepository(c.String("to"))
			if err != nil {
				return err
			}
			client, err := newRegistryClient(c, s)
			if err != nil {
				return err
			}
			res, err := ledger.Copy(c.Context, client, from, to, env, c.Bool("apply"))
			if err != nil {
				return err
			}
			summary := fmt.Sprintf("%s ledger: %d entries on %d digests (%d marked bad) from %s to %s", env, res.Entries, res.Digests, res.BadMarkers, from, to)
			if c.Bool("apply") {
				summary += fmt.Sprintf(": %d copied, %d already there", res.Copied, res.Present)
			} else {
				summary += " (dry run: pass --apply to copy)"
			}
			return s.printResult(format, res, func() string { return summary })
		},
	}
}
