package app

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/shipgate/shipgate/helper/internal/artifact"
	"github.com/shipgate/shipgate/helper/internal/ecrauth"
	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/ledger"
	"github.com/shipgate/shipgate/helper/internal/promotion"
	"github.com/shipgate/shipgate/helper/internal/registry"
	"github.com/shipgate/shipgate/helper/internal/safetext"
)

func promoteCommand(s *streams) *cli.Command {
	return &cli.Command{
		Name:  "promote",
		Usage: "copy exactly one digest (and what refers to it) to other repositories or registries",
		Description: "The source is pinned by digest: --from REPO@DIGEST, or --release release.json from the build job.\n" +
			"Within one registry blobs are mounted (no bytes move); across registries each blob streams once.\n" +
			"Tags are written last, after everything they point to is present. Re-running is a cheap no-op.\n" +
			"A digest marked bad in the destination's environment is refused. The environment is --env, else\n" +
			"the one environment of the destination's ledger; --no-env-check is the explicit way to skip the check.",
		Flags: withFlags([]cli.Flag{
			&cli.StringFlag{Name: "from", Usage: "source `REPO@DIGEST`"},
			&cli.StringFlag{Name: "release", Usage: "source from a release `FILE` written by record-artifact"},
			&cli.StringSliceFlag{Name: "to", Usage: "destination `REPO` (repeatable)"},
			&cli.StringSliceFlag{Name: "tag", Usage: "also tag the digest as `TAG` in every destination (repeatable; a tag that moves is reported, old → new)"},
			&cli.StringFlag{Name: "env", Usage: "the destination's environment: refuse a digest marked bad there (default: the one environment of the destination's ledger)"},
			&cli.BoolFlag{Name: "no-env-check", Usage: "promote without checking bad marks (no environment known); the explicit unsafe path"},
			&cli.BoolFlag{Name: "force", Usage: "promote even a digest marked bad in --env"},
			ledgerRepoFlag(),
			&cli.BoolFlag{Name: "allow-tag", Usage: "accept a source given by tag (resolved once, and printed)"},
			&cli.BoolFlag{Name: "no-referrers", Usage: "do not copy signatures, attestations and SBOMs that refer to the digest"},
			&cli.BoolFlag{Name: "dry-run", Usage: "print the plan (per blob: present, mount or copy) and write nothing"},
			&cli.BoolFlag{Name: "quiet", Usage: "no progress lines on stderr (warnings and errors still print)"},
			outputFlag(), exportToFlag(),
		}, registryFlags()),
		Action: func(c *cli.Context) error {
			opts, err := promoteOptionsFrom(c)
			if err != nil {
				return err
			}
			client, err := newRegistryClient(c, s)
			if err != nil {
				return err
			}
			p := &promoteRun{promoteOptions: opts, s: s, client: client, progress: progressWriter(c, s)}
			result, err := p.run(c.Context)
			if err != nil {
				return err
			}
			if !opts.dryRun {
				if err := s.exportVars(c, p.exports(result)); err != nil {
					return err
				}
			}
			return s.printResult(opts.format, result, func() string { return renderPromotion(result) })
		},
	}
}

// promoteOptions are promote's flags, validated before anything is read or sent.
type promoteOptions struct {
	format      string
	source      registry.Reference
	release     *artifact.Release
	releaseFile string
	dsts        []registry.Repository
	tags        []string
	env         string
	noEnvCheck  bool
	force       bool
	dryRun      bool
	referrers   bool
	// ledgerRepo is the dedicated ledger repository (--ledger-repo): the bad marks live there.
	ledgerRepo registry.Repository
}

func promoteOptionsFrom(c *cli.Context) (promoteOptions, error) {
	o := promoteOptions{tags: c.StringSlice("tag"), env: c.String("env"), noEnvCheck: c.Bool("no-env-check"),
		force: c.Bool("force"), dryRun: c.Bool("dry-run"), referrers: !c.Bool("no-referrers"), releaseFile: c.String("release")}
	var err error
	if o.format, err = outputFormat(c); err != nil {
		return o, err
	}
	if o.source, o.release, err = promotionSource(c); err != nil {
		return o, err
	}
	if len(c.StringSlice("to")) == 0 {
		return o, missingFlag("to", "a destination REPO (repeat --to for several)")
	}
	for _, to := range c.StringSlice("to") {
		repo, err := registry.ParseRepository(to)
		if err != nil {
			return o, err
		}
		o.dsts = append(o.dsts, repo)
	}
	if value := c.String("ledger-repo"); value != "" {
		if o.ledgerRepo, err = registry.ParseRepository(value); err != nil {
			return o, err
		}
	}
	// --env may come from the job's SHIPGATE_FLAG_ENV: with --no-env-check it still names the
	// environment exported, and the check is skipped (said on stderr).
	if o.env != "" {
		if err := ledger.ValidateEnv(o.env); err != nil {
			return o, err
		}
	}
	return o, nil
}

// promoteRun is one run of promote, in named phases.
type promoteRun struct {
	promoteOptions
	s        *streams
	client   *registry.Client
	progress io.Writer // nil with --quiet
	// surveys are the destinations' full tag listings read by the bad-mark check, which
	// also answer the tag-move check without a request per tag.
	surveys map[registry.Repository]*ledger.Survey
}

func (p *promoteRun) run(ctx context.Context) (*promotion.Result, error) {
	opts := promotion.Options{
		Source: p.source, Destinations: p.dsts, Tags: p.tags, DryRun: p.dryRun,
		Referrers: p.referrers, SkipArtifactTypes: []string{ledger.RecordArtifactType},
		Progress: p.progress,
	}
	// Every scope is known before the first request: the source pin, the bad-mark check and the
	// tag-move check share the promotion's one token per registry.
	promotion.DeclareScopes(p.client, opts)
	if p.ledgerRepo.Path != "" {
		p.client.DeclareScopes(p.ledgerRepo.Registry, registry.PullScope(p.ledgerRepo.Path))
	}
	if err := p.resolveSource(ctx); err != nil {
		return nil, err
	}
	opts.Source = p.source
	if err := p.checkNotBad(ctx); err != nil {
		return nil, err
	}
	for _, dst := range p.dsts {
		if note := ecrauth.CrossRegistryNote(p.source.Repository.Registry, dst.Registry); note != "" {
			p.s.progress("%s", note)
		}
	}
	if err := p.announceTagMoves(ctx); err != nil {
		return nil, err
	}
	result, err := promotion.Promote(ctx, p.client, opts)
	if err != nil {
		return nil, err
	}
	for _, d := range result.Destinations {
		for _, w := range d.Warnings {
			p.s.progress("warning: %s", w)
		}
	}
	return result, nil
}

// resolveSource pins a tag-only source (--allow-tag) to its digest, once.
func (p *promoteRun) resolveSource(ctx context.Context) error {
	if p.source.HasDigest() {
		return nil
	}
	desc, err := p.client.HeadManifest(ctx, p.source)
	if err != nil {
		return err
	}
	if desc == nil {
		return failure.New(failure.NotFound, "source %s not found", p.source)
	}
	p.source.Digest = desc.Digest
	p.s.progress("resolved %s:%s to %s (once)", p.source.Repository, p.source.Tag, p.source.Digest)
	return nil
}

// checkNotBad applies the ledger's marked-bad rule in each destination's environment (issue 18
// point 4: safety without being asked). The environment is --env; without it, the one
// environment of the destination's ledger; a destination with no ledger has no bad marks; one
// with several environments needs --env (or the explicit --no-env-check).
func (p *promoteRun) checkNotBad(ctx context.Context) error {
	if p.noEnvCheck {
		p.s.progress("warning: --no-env-check: bad marks in the destinations were not checked")
		return nil
	}
	if p.force {
		return nil
	}
	// The verdict lives where the environment's ledger does: a dedicated ledger repository
	// holds it for every destination.
	ledgers := p.dsts
	if p.ledgerRepo.Path != "" {
		ledgers = []registry.Repository{p.ledgerRepo}
	}
	for _, dst := range ledgers {
		l := ledger.New(p.client, dst)
		env := p.env
		if env == "" {
			survey, err := l.Survey(ctx)
			if err != nil {
				return err
			}
			if p.surveys == nil {
				p.surveys = map[registry.Repository]*ledger.Survey{}
			}
			p.surveys[dst] = survey
			envs := survey.Environments
			switch len(envs) {
			case 0:
				p.s.progress("%s has no ledger yet: no bad marks to check", dst)
				continue
			case 1:
				env = envs[0]
				p.s.progress("checking bad marks in %s, the only environment of %s's ledger (--env to name it)", env, dst)
				if len(p.dsts) == 1 {
					p.env = env
				}
			default:
				return failure.WithHint(failure.New(failure.Usage, "%s's ledger has the environments %s: which one is this promotion for?", dst, strings.Join(envs, ", ")),
					"give --env ENV (or --no-env-check to promote without checking bad marks)")
			}
		}
		if err := l.RefuseBad(ctx, env, p.source.Digest); err != nil {
			return err
		}
	}
	return nil
}

// announceTagMoves says, before anything is written, which --tag already points at another
// digest in a destination and will move (old → new), so a moved tag is never silent.
func (p *promoteRun) announceTagMoves(ctx context.Context) error {
	for _, dst := range p.dsts {
		for _, tag := range p.tags {
			if !registry.ValidTag(tag) {
				continue // Promote refuses it, with the reason
			}
			if survey := p.surveys[dst]; survey != nil && !survey.HasTag(tag) {
				continue // the checked listing of dst has no such tag: nothing moves
			}
			desc, err := p.client.HeadManifest(ctx, registry.Reference{Repository: dst, Tag: tag})
			if err != nil {
				if failure.KindOf(err) == failure.NotFound {
					continue
				}
				return err
			}
			if desc == nil || desc.Digest == p.source.Digest {
				continue
			}
			verb := "moves"
			if p.dryRun {
				verb = "would move"
			}
			p.s.progress("tag %s:%s %s: %s → %s", dst, tag, verb, desc.Digest, p.source.Digest)
		}
	}
	return nil
}

// exports are the names later steps read (docs/interface.md).
func (p *promoteRun) exports(result *promotion.Result) map[string]string {
	vars := map[string]string{
		"SHIPGATE_IMAGE":      result.Destinations[0].Image,
		"SHIPGATE_DIGEST":     result.Digest.String(),
		"SHIPGATE_REPOSITORY": result.Destinations[0].Repository,
	}
	if p.release != nil {
		vars["SHIPGATE_VERSION"] = p.release.Version()
		if abs, err := filepath.Abs(p.releaseFile); err == nil {
			// Later mark-* calls read --release from SHIPGATE_RELEASE.
			vars["SHIPGATE_RELEASE"] = abs
		}
	}
	if p.env != "" {
		vars["SHIPGATE_ENV"] = p.env
	}
	return vars
}

// promotionSource reads --from or --release; a tag-only --from needs --allow-tag.
func promotionSource(c *cli.Context) (registry.Reference, *artifact.Release, error) {
	from, releaseFile := c.String("from"), c.String("release")
	switch {
	case from != "" && releaseFile != "":
		return registry.Reference{}, nil, failure.New(failure.Usage, "give --from or --release, not both")
	case releaseFile != "":
		rel, err := artifact.Read(releaseFile)
		if err != nil {
			return registry.Reference{}, nil, err
		}
		ref, err := registry.ParseReference(rel.Repository + "@" + rel.Digest)
		return ref, rel, err
	case from != "":
		ref, err := registry.ParseReference(from)
		if err != nil {
			return registry.Reference{}, nil, withDigestHint(err, from)
		}
		if !ref.HasDigest() && !c.Bool("allow-tag") {
			return registry.Reference{}, nil, failure.WithHint(
				failure.New(failure.Safety, "source %s is a tag, and a tag can move between jobs", from),
				"promote by digest (REPO@sha256:…, or --release release.json), or pass --allow-tag to resolve it once")
		}
		return ref, nil, nil
	}
	return registry.Reference{}, nil, missingFlag("from", "the source REPO@DIGEST, or --release FILE from record-artifact")
}

func renderPromotion(r *promotion.Result) string {
	var b strings.Builder
	for _, d := range r.Destinations {
		if r.DryRun {
			safetext.Fprintf(&b, "plan for %s:\n", d.Image)
			if d.AlreadyPresent {
				fmt.Fprintf(&b, "  already present\n")
			}
			for _, blob := range d.Blobs {
				safetext.Fprintf(&b, "  %-7s %s %d bytes\n", blob.Action, blob.Digest, blob.Size)
			}
			for _, t := range d.Tags {
				safetext.Fprintf(&b, "  tag     %s\n", t)
			}
			for _, r := range d.Referrers {
				fmt.Fprintf(&b, "  referrer %s\n", r)
			}
			for _, t := range d.MergedTags {
				fmt.Fprintf(&b, "  merge   %s (with the destination's own signatures)\n", t)
			}
			if d.ReferrersIndex != "" {
				fmt.Fprintf(&b, "  index   %s (the destination has no referrers API)\n", d.ReferrersIndex)
			}
			continue
		}
		safetext.Fprintf(&b, "%s\n", d.Image)
	}
	return b.String()
}
