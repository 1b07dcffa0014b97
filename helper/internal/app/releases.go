package app

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/ledger"
	"github.com/shipgate/shipgate/helper/internal/registry"
	"github.com/shipgate/shipgate/helper/internal/safetext"
)

// releaseView is one ledger entry as releases, find and rollback print it.
type releaseView struct {
	Time           string `json:"time"`
	Status         string `json:"status"`
	Image          string `json:"image"`
	Digest         string `json:"digest"`
	Version        string `json:"version,omitempty"`
	PipelineNumber string `json:"pipelineNumber,omitempty"`
	Reason         string `json:"reason,omitempty"`
	Tag            string `json:"tag"`
	Current        bool   `json:"current,omitempty"`
	// MarkedBad is set on the current entry when its digest is marked bad in the environment.
	MarkedBad bool `json:"markedBad,omitempty"`
}

func viewOf(repo registry.Repository, r ledger.Release) releaseView {
	v := releaseView{Time: r.Entry.Time().Format("2006-01-02T15:04:05Z"), Status: string(r.Entry.Status),
		Image: repo.Digest(r.Digest), Digest: r.Digest.String(), Tag: r.Entry.Tag}
	if r.Record != nil {
		v.Version, v.Reason = r.Record.Version, r.Record.Reason
		v.PipelineNumber = r.Record.MarkedBy.Number
		if v.PipelineNumber == "" {
			v.PipelineNumber = r.Record.Source.Pipeline.Number
		}
	}
	return v
}

func repoFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "repo", Usage: "the `REPO`sitory holding the ledger"},
		&cli.StringFlag{Name: "env", Usage: "the `ENV`ironment"},
	}
}

func repoAndEnv(c *cli.Context) (registry.Repository, string, error) {
	if c.String("repo") == "" {
		return registry.Repository{}, "", missingFlag("repo", "the REPO holding the ledger (or $SHIPGATE_FLAG_REPO)")
	}
	repo, err := registry.ParseRepository(c.String("repo"))
	if err != nil {
		return registry.Repository{}, "", err
	}
	env := c.String("env")
	if env == "" {
		return registry.Repository{}, "", missingFlag("env", "the ENV whose ledger to read, e.g. production (or $SHIPGATE_FLAG_ENV)")
	}
	if err := ledger.ValidateEnv(env); err != nil {
		return registry.Repository{}, "", err
	}
	return repo, env, nil
}

func releasesCommand(s *streams) *cli.Command {
	return &cli.Command{
		Name:  "releases",
		Usage: "show an environment's ledger, newest first, and which digest is current",
		Flags: withFlags(repoFlags(), []cli.Flag{
			ledgerRepoFlag(),
			&cli.IntFlag{Name: "limit", Value: 20, Usage: "show at most `N` entries (0: all)"},
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
			if c.Int("limit") < 0 {
				return failure.New(failure.Usage, "--limit %d: want 0 (all) or more", c.Int("limit"))
			}
			l, err := newLedger(c, s, repo)
			if err != nil {
				return err
			}
			history, current, err := l.History(c.Context, env, c.Int("limit"))
			if err != nil {
				return err
			}
			views := make([]releaseView, 0, len(history))
			for _, r := range history {
				v := viewOf(repo, r)
				v.Current = current != nil && r.Entry.Tag == current.Entry.Tag
				v.MarkedBad = v.Current && current.MarkedBad
				views = append(views, v)
			}
			out := map[string]any{"repository": repo.String(), "env": env, "entries": views}
			if current != nil {
				out["current"] = repo.Digest(current.Digest)
				out["currentMarkedBad"] = current.MarkedBad
			}
			return s.printResult(format, out, func() string { return renderReleases(env, repo, current, views) })
		},
	}
}

// renderReleases is the text form of a ledger: the current digest, then one escaped row per
// entry.
func renderReleases(env string, repo registry.Repository, current *ledger.Release, views []releaseView) string {
	var b strings.Builder
	if current != nil && current.MarkedBad {
		fmt.Fprintf(&b, "%s current: %s (marked bad)\n", env, repo.Digest(current.Digest))
	} else if current != nil {
		fmt.Fprintf(&b, "%s current: %s\n", env, repo.Digest(current.Digest))
	} else {
		fmt.Fprintf(&b, "%s: never deployed\n", env)
	}
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "TIME\tSTATUS\tDIGEST\tVERSION\tPIPELINE\tREASON")
	for _, v := range views {
		marker := ""
		if v.Current {
			marker = " (current)"
		}
		if v.MarkedBad {
			marker = " (current, marked bad)"
		}
		safetext.Fprintf(w, "%s\t%s\t%s%s\t%s\t%s\t%s\n", v.Time, v.Status, abbreviate(v.Digest, 19), marker, abbreviate(v.Version, 12), v.PipelineNumber, v.Reason)
	}
	w.Flush()
	return b.String()
}

func abbreviate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
