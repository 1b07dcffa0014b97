package app

import (
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/shipgate/shipgate/helper/internal/artifact"
	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/ledger"
	"github.com/shipgate/shipgate/helper/internal/registry"
)

// markCommand builds mark-deployed, mark-good and mark-bad: each appends one ledger entry.
func markCommand(s *streams, name string, status ledger.Status, usage string) *cli.Command {
	flags := []cli.Flag{
		&cli.StringFlag{Name: "image", Usage: "the deployed `REPO@DIGEST` (default: $SHIPGATE_IMAGE)"},
		&cli.StringFlag{Name: "env", Usage: "the `ENV`ironment, [a-z][a-z0-9-]{0,30}"},
		&cli.StringFlag{Name: "reason", Usage: "why, in a few words (kept in the entry's record)"},
		&cli.StringFlag{Name: "release", Usage: "the release `FILE` the digest came from (source and pipeline context; default: $SHIPGATE_RELEASE)"},
		&cli.StringFlag{Name: "version", Usage: "the release's `VERSION` (default: the release file's commit; $SHIPGATE_VERSION)"},
		&cli.StringFlag{Name: "rollback-from", Usage: "the `DIGEST` this deploy rolls back from (default: $SHIPGATE_ROLLBACK_FROM)"},
		&cli.StringSliceFlag{Name: "alias", Usage: "also move the moving tag `TAG` (e.g. production-current) to the digest"},
		&cli.BoolFlag{Name: "force", Usage: "record even a digest marked bad in the environment"},
		ledgerRepoFlag(),
		outputFlag(),
	}
	if status == ledger.Deployed {
		flags = append(flags, &cli.StringFlag{Name: "status", Value: "deployed", Usage: "`deploying` (before the deploy steps) or deployed (after they succeeded)"})
	}
	return &cli.Command{
		Name:  name,
		Usage: usage,
		Flags: withFlags(flags, registryFlags()),
		Action: func(c *cli.Context) error {
			o, err := markOptionsFrom(c, s, status)
			if err != nil {
				return err
			}
			format, ref, env, st := o.format, o.ref, o.mark.Env, o.mark.Status
			l, err := openLedger(c, s, ref.Repository)
			if err != nil {
				return err
			}
			// A dedicated ledger repository gets the digest first (mounted: no bytes move).
			if _, err := l.loc.Bring(c.Context, l.client, ref.Digest); err != nil {
				return err
			}
			written, err := l.Append(c.Context, o.mark)
			if err != nil {
				return err
			}
			for _, w := range written.Warnings {
				s.progress("warning: %s", w)
			}
			s.progress("%s: %s is %s (%s)", env, ref.Repository.Digest(ref.Digest), st, written.Tag)
			return s.printResult(format, map[string]any{
				"env": env, "status": st, "image": ref.Repository.Digest(ref.Digest), "tag": written.Tag,
				"recordTag": written.Record, "warnings": nonNil(written.Warnings), "existing": written.Existing,
			}, func() string { return written.Tag })
		},
	}
}

// markOptions are a mark-* command's flags, validated before the registry is asked.
type markOptions struct {
	format string
	ref    registry.Reference
	mark   ledger.Mark
}

func markOptionsFrom(c *cli.Context, s *streams, status ledger.Status) (markOptions, error) {
	var o markOptions
	var err error
	if o.format, err = outputFormat(c); err != nil {
		return o, err
	}
	st := status
	if status == ledger.Deployed {
		switch c.String("status") {
		case "deploying":
			st = ledger.Deploying
		case "deployed":
		default:
			return o, failure.New(failure.Usage, "--status %q: want deploying or deployed", c.String("status"))
		}
	}
	if o.ref, err = digestReference(handedOver(c, s, "image", "SHIPGATE_IMAGE"), "--image"); err != nil {
		return o, err
	}
	env := c.String("env")
	if env == "" {
		return o, missingFlag("env", "the ENV this entry is for, e.g. production (or $SHIPGATE_FLAG_ENV)")
	}
	if err := ledger.ValidateEnv(env); err != nil {
		return o, err
	}
	rec := ledger.Record{Reason: c.String("reason"), Version: handedOver(c, s, "version", "SHIPGATE_VERSION"),
		RollbackFrom: handedOver(c, s, "rollback-from", "SHIPGATE_ROLLBACK_FROM"), Tool: "shipgate " + Version}
	_, pipeline := artifact.Context(s.getenv, ".")
	rec.MarkedBy = ledger.Pipeline(pipeline)
	if file := handedOver(c, s, "release", "SHIPGATE_RELEASE"); file != "" {
		if rec.Source, err = releaseSource(s, file, o.ref); err != nil {
			return o, err
		}
	}
	if rec.Version == "" {
		rec.Version = rec.Source.Commit
	}
	o.mark = ledger.Mark{Env: env, Digest: o.ref.Digest, Status: st, Record: rec, Force: c.Bool("force"), Aliases: c.StringSlice("alias")}
	return o, nil
}

// releaseSource is the source a release file gives the entry of ref: the file must describe
// that digest, except an inherited $SHIPGATE_RELEASE (the job's release), which an explicitly
// named other image is recorded without.
func releaseSource(s *streams, file string, ref registry.Reference) (ledger.Source, error) {
	rel, err := artifact.Read(file)
	if err != nil {
		return ledger.Source{}, err
	}
	switch {
	case rel.Digest == ref.Digest.String():
		return ledger.Source{Commit: rel.Source.Commit, Tree: rel.Source.Tree, Branch: rel.Source.Branch, Tag: rel.Source.Tag,
			Pipeline: ledger.Pipeline(rel.Pipeline)}, nil
	case file == s.getenv("SHIPGATE_RELEASE"):
		s.progress("%s is not the release in $SHIPGATE_RELEASE (%s): recording it without that release's details", ref.Digest, rel.Digest)
		return ledger.Source{}, nil
	}
	return ledger.Source{}, failure.New(failure.Safety, "release file %s is for %s, not %s", file, rel.Digest, ref.Digest)
}

// digestReference parses a REPO@DIGEST flag value; a tag is refused because ledger entries
// and rollbacks are about digests.
func digestReference(value, flag string) (registry.Reference, error) {
	if value == "" {
		return registry.Reference{}, missingFlag(strings.TrimPrefix(flag, "--"), "the image as REPO@DIGEST")
	}
	ref, err := registry.ParseReference(value)
	if err != nil {
		return registry.Reference{}, withDigestHint(err, value)
	}
	if !ref.HasDigest() {
		return registry.Reference{}, failure.New(failure.Safety, "%s %s is not pinned by digest (REPO@sha256:…)", flag, value)
	}
	return ref, nil
}

func markCommands(s *streams) []*cli.Command {
	return []*cli.Command{
		markCommand(s, "mark-deployed", ledger.Deployed, "ledger: a deploy of this digest started (--status deploying) or finished"),
		markCommand(s, "mark-good", ledger.Good, "ledger: this digest passed its checks in ENV (a rollback target from now on)"),
		markCommand(s, "mark-bad", ledger.Bad, "ledger: never deploy or promote this digest to ENV again (unless forced)"),
	}
}
