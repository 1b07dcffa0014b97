package app

import (
	"github.com/urfave/cli/v2"

	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/ledger"
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
			format, err := outputFormat(c)
			if err != nil {
				return err
			}
			repo, env, err := repoAndEnv(c)
			if err != nil {
				return err
			}
			if (c.String("commit") == "") == (c.String("tree") == "") {
				return failure.New(failure.Usage, "give exactly one of --commit or --tree")
			}
			status, err := ledger.ParseStatus(c.String("status"))
			if err != nil {
				return err
			}
			l, err := openLedger(c, s, repo)
			if err != nil {
				return err
			}
			found, err := l.Find(c.Context, ledger.FindQuery{Env: env, Status: status, Commit: c.String("commit"), Tree: c.String("tree")})
			if err != nil {
				return err
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
