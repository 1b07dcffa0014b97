package app

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/shipgate/shipgate/helper/internal/ecrauth"
	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/ledger"
	"github.com/shipgate/shipgate/helper/internal/promotion"
	"github.com/shipgate/shipgate/helper/internal/registry"
	"github.com/shipgate/shipgate/helper/internal/release"
)

func promoteCommand(s *streams) *cli.Command {
	return &cli.Command{
		Name:  "promote",
		Usage: "copy exactly one digest (and what refers to it) to other repositories or registries",
		Description: "The source is pinned by digest: --from REPO@DIGEST, or --release release.json from the build job.\n" +
			"Within one registry blobs are mounted (no bytes move); across registries each blob streams once.\n" +
			"Tags are written last, after everything they point to is present. Re-running is a cheap no-op.",
		Flags: withFlags([]cli.Flag{
			&cli.StringFlag{Name: "from", Usage: "source `REPO@DIGEST`"},
			&cli.StringFlag{Name: "release", Usage: "source from a release `FILE` written by record-artifact"},
			&cli.StringSliceFlag{Name: "to", Usage: "destination `REPO` (repeatable)"},
			&cli.StringSliceFlag{Name: "tag", Usage: "also tag the digest as `TAG` in every destination (repeatable)"},
			&cli.StringFlag{Name: "env", Usage: "the destination's environment: refuse a digest marked bad there"},
			&cli.BoolFlag{Name: "force", Usage: "promote even a digest marked bad in --env"},
			ledgerRepoFlag(),
			&cli.BoolFlag{Name: "allow-tag", Usage: "accept a source given by tag (resolved once, and printed)"},
			&cli.BoolFlag{Name: "no-referrers", Usage: "do not copy signatures, attestations and SBOMs that refer to the digest"},
			&cli.BoolFlag{Name: "dry-run", Usage: "print the plan (per blob: present, mount or copy) and write nothing"},
			&cli.BoolFlag{Name: "quiet", Usage: "no progress lines on stderr (warnings and errors still print)"},
			outputFlag(), exportToFlag(),
		}, registryFlags()),
		Action: func(c *cli.Context) error {
			format, err := outputFormat(c)
			if err != nil {
				return err
			}
			src, rel, err := promotionSource(c)
			if err != nil {
				return err
			}
			if len(c.StringSlice("to")) == 0 {
				return failure.New(failure.Usage, "--to is required (a destination repository)")
			}
			var dsts []registry.Repository
			for _, to := range c.StringSlice("to") {
				repo, err := registry.ParseRepository(to)
				if err != nil {
					return err
				}
				dsts = append(dsts, repo)
			}
			env := c.String("env")
			if env != "" {
				if err := ledger.ValidateEnv(env); err != nil {
					return err
				}
			}
			client, err := newRegistryClient(c, s)
			if err != nil {
				return err
			}
			if !src.HasDigest() {
				desc, err := client.HeadManifest(c.Context, src)
				if err != nil {
					return err
				}
				if desc == nil {
					return failure.New(failure.NotFound, "source %s not found", src)
				}
				src.Digest = desc.Digest
				s.progress("resolved %s:%s to %s (once)", src.Repository, src.Tag, src.Digest)
			}
			if env != "" && !c.Bool("force") {
				// The verdict lives where the environment's ledger does.
				ledgers := dsts
				if value := c.String("ledger-repo"); value != "" {
					repo, err := registry.ParseRepository(value)
					if err != nil {
						return err
					}
					ledgers = []registry.Repository{repo}
				}
				for _, dst := range ledgers {
					bad, err := ledger.New(client, dst).IsBad(c.Context, env, src.Digest)
					if err != nil {
						return err
					}
					if bad {
						return failure.WithHint(failure.New(failure.Safety, "%s is marked bad in %s (%s)", src.Digest, env, dst),
							"promote another digest, or pass --force")
					}
				}
			}
			for _, dst := range dsts {
				if note := ecrauth.CrossRegistryNote(src.Repository.Registry, dst.Registry); note != "" {
					s.progress("%s", note)
				}
			}
			result, err := promotion.Promote(c.Context, client, promotion.Options{
				Source: src, Destinations: dsts, Tags: c.StringSlice("tag"), DryRun: c.Bool("dry-run"),
				Referrers: !c.Bool("no-referrers"), SkipArtifactTypes: []string{ledger.RecordArtifactType},
				Progress: progressWriter(c, s),
			})
			if err != nil {
				return err
			}
			for _, d := range result.Destinations {
				for _, w := range d.Warnings {
					s.progress("warning: %s", w)
				}
			}
			if !c.Bool("dry-run") {
				vars := map[string]string{
					"SHIPGATE_IMAGE":      result.Destinations[0].Image,
					"SHIPGATE_DIGEST":     result.Digest.String(),
					"SHIPGATE_REPOSITORY": result.Destinations[0].Repository,
				}
				if rel != nil {
					vars["SHIPGATE_VERSION"] = rel.Version()
					if abs, err := filepath.Abs(c.String("release")); err == nil {
						// Later mark-* calls read --release from SHIPGATE_RELEASE.
						vars["SHIPGATE_RELEASE"] = abs
					}
				}
				if env != "" {
					vars["SHIPGATE_ENV"] = env
				}
				if err := s.exportVars(c, vars); err != nil {
					return err
				}
			}
			return s.printResult(format, result, func() string { return renderPromotion(result) })
		},
	}
}

// promotionSource reads --from or --release; a tag-only --from needs --allow-tag.
func promotionSource(c *cli.Context) (registry.Reference, *release.Release, error) {
	from, releaseFile := c.String("from"), c.String("release")
	switch {
	case from != "" && releaseFile != "":
		return registry.Reference{}, nil, failure.New(failure.Usage, "give --from or --release, not both")
	case releaseFile != "":
		rel, err := release.Read(releaseFile)
		if err != nil {
			return registry.Reference{}, nil, err
		}
		ref, err := registry.ParseReference(rel.Repository + "@" + rel.Digest)
		return ref, rel, err
	case from != "":
		ref, err := registry.ParseReference(from)
		if err != nil {
			return registry.Reference{}, nil, err
		}
		if !ref.HasDigest() && !c.Bool("allow-tag") {
			return registry.Reference{}, nil, failure.WithHint(
				failure.New(failure.Safety, "source %s is a tag, and a tag can move between jobs", from),
				"promote by digest (REPO@sha256:…, or --release release.json), or pass --allow-tag to resolve it once")
		}
		return ref, nil, nil
	}
	return registry.Reference{}, nil, failure.New(failure.Usage, "--from REPO@DIGEST or --release FILE is required")
}

func renderPromotion(r *promotion.Result) string {
	var b strings.Builder
	for _, d := range r.Destinations {
		if r.DryRun {
			fmt.Fprintf(&b, "plan for %s:\n", d.Image)
			if d.AlreadyPresent {
				fmt.Fprintf(&b, "  already present\n")
			}
			for _, blob := range d.Blobs {
				fmt.Fprintf(&b, "  %-7s %s %d bytes\n", blob.Action, blob.Digest, blob.Size)
			}
			for _, t := range d.Tags {
				fmt.Fprintf(&b, "  tag     %s\n", t)
			}
			continue
		}
		fmt.Fprintln(&b, d.Image)
	}
	return b.String()
}
