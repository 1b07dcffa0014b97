package app

import (
	"github.com/urfave/cli/v2"

	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/ledger"
	"github.com/shipgate/shipgate/helper/internal/registry"
)

func findCommand(s *streams) *cli.Command {
	return &cli.Command{
		Name:  "find",
		Usage: "the digest that reached a status in ENV for a commit or source tree",
		Description: "A main pipeline can promote what passed staging on develop without rebuilding: a merge commit\n" +
			"has a new SHA but often the same tree, so --tree $(git rev-parse HEAD^{tree}) finds it.",
		Flags: withFlags(repoFlags(), []cli.Flag{
			ledgerRepoFlag(),
			&cli.StringFlag{Name: "commit", Usage: "the source commit `SHA`"},
			&cli.StringFlag{Name: "tree", Usage: "the source git tree `SHA`"},
			&cli.StringFlag{Name: "status", Value: "good", Usage: "the `STATUS` the digest must have reached"},
			outputFlag(), exportToFlag(),
		}, registryFlags()),
		Action: func(c *cli.Context) error {
			o, err := findOptionsFrom(c, s)
			if err != nil {
				return err
			}
			format, repo := o.format, o.repo
			l, err := openLedger(c, s, repo)
			if err != nil {
				return err
			}
			found, err := l.Find(c.Context, o.query)
			if err != nil {
				if o.query.Commit != "" {
					return shortSHAHint(err, "--commit", o.query.Commit)
				}
				return shortSHAHint(err, "--tree", o.query.Tree)
			}
			from, err := l.loc.Deployable(c.Context, l.client, found.Digest)
			if err != nil {
				return err
			}
			view := viewOf(from, *found)
			vars := map[string]string{"SHIPGATE_IMAGE": view.Image, "SHIPGATE_DIGEST": view.Digest, "SHIPGATE_REPOSITORY": repo.String()}
			if view.Version != "" {
				vars["SHIPGATE_VERSION"] = view.Version
			}
			if err := s.exportVars(c, vars); err != nil {
				return err
			}
			return s.printResult(format, view, func() string { return view.Image })
		},
	}
}

// findOptions are find's flags, validated (and a short SHA resolved with local git) before the
// registry is asked.
type findOptions struct {
	format string
	repo   registry.Repository
	query  ledger.FindQuery
}

func findOptionsFrom(c *cli.Context, s *streams) (findOptions, error) {
	var o findOptions
	var err error
	if o.format, err = outputFormat(c); err != nil {
		return o, err
	}
	if o.repo, o.query.Env, err = repoAndEnv(c); err != nil {
		return o, err
	}
	commit, tree := c.String("commit"), c.String("tree")
	if (commit == "") == (tree == "") {
		return o, failure.New(failure.Usage, "give exactly one of --commit or --tree")
	}
	if full, ok := expandShortSHA(c.Context, commit, "commit"); ok {
		s.progress("resolved commit %s to %s (local git)", commit, full)
		commit = full
	}
	if full, ok := expandShortSHA(c.Context, tree, "tree"); ok {
		s.progress("resolved tree %s to %s (local git)", tree, full)
		tree = full
	}
	o.query.Commit, o.query.Tree = commit, tree
	if o.query.Status, err = ledger.ParseStatus(c.String("status")); err != nil {
		return o, err
	}
	return o, nil
}
