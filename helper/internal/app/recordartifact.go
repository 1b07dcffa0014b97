package app

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/shipgate/shipgate/helper/internal/artifact"
	"github.com/shipgate/shipgate/helper/internal/promotion"
	"github.com/shipgate/shipgate/helper/internal/registry"
)

func recordArtifactCommand(s *streams) *cli.Command {
	return &cli.Command{
		Name:  "record-artifact",
		Usage: "resolve an image to its digest once and write release.json for later jobs",
		Description: "Run in the build job after pushing. The digest, platforms, size and the source and CircleCI\n" +
			"context go into release.json, which the job persists to the workspace. Outside a git checkout (and\n" +
			"without $CIRCLE_SHA1) give --commit and --tree, or `shipgate find` cannot match the release: a\n" +
			"warning says so.",
		Flags: withFlags([]cli.Flag{
			&cli.StringFlag{Name: "image", Usage: "the pushed image, `REF` (tag or digest)"},
			&cli.StringFlag{Name: "out", Value: "release.json", Usage: "where to write the release `FILE`"},
			&cli.StringFlag{Name: "commit", Usage: "the source commit `SHA` (default $CIRCLE_SHA1, else git in the working directory)"},
			&cli.StringFlag{Name: "tree", Usage: "the source git tree `SHA` (default: git's tree of the commit)"},
			&cli.StringFlag{Name: "branch", Usage: "the source `BRANCH` (default $CIRCLE_BRANCH, else git)"},
			outputFlag(), exportToFlag(),
		}, registryFlags()),
		Action: func(c *cli.Context) error {
			format, err := outputFormat(c)
			if err != nil {
				return err
			}
			if c.String("image") == "" {
				return missingFlag("image", "the pushed image, REPO:TAG or REPO@DIGEST")
			}
			ref, err := registry.ParseReference(c.String("image"))
			if err != nil {
				return withDigestHint(err, c.String("image"))
			}
			// Checked before the registry is asked: a bad --commit is bad usage.
			src, pipeline := artifact.Context(s.getenv, ".")
			if err := src.Override(artifact.Source{Commit: c.String("commit"), Tree: c.String("tree"), Branch: c.String("branch")}, "."); err != nil {
				return err
			}
			for _, gap := range src.Gaps() {
				s.progress("warning: %s", gap)
			}
			client, err := newRegistryClient(c, s)
			if err != nil {
				return err
			}
			desc, err := promotion.Describe(c.Context, client, ref)
			if err != nil {
				return fmt.Errorf("resolving %s: %w", ref, err)
			}
			rel := &artifact.Release{
				Image:      ref.Repository.Digest(desc.Digest),
				Repository: ref.Repository.String(),
				Digest:     desc.Digest.String(),
				MediaType:  desc.MediaType,
				Platforms:  desc.Platforms,
				Size:       desc.Size,
				Source:     src,
				Pipeline:   pipeline,
				CreatedAt:  time.Now().UTC().Format(time.RFC3339),
			}
			if ref.Tag != "" {
				rel.ResolvedFrom = ref.Repository.String() + ":" + ref.Tag
				s.progress("resolved %s to %s (once; later jobs use the digest)", rel.ResolvedFrom, desc.Digest)
			}
			if err := artifact.Write(c.String("out"), rel); err != nil {
				return err
			}
			if err := s.exportVars(c, releaseVars(rel)); err != nil {
				return err
			}
			return s.printResult(format, rel, func() string { return rel.Image })
		},
	}
}

// releaseVars are the exported names for a release (docs/interface.md).
func releaseVars(rel *artifact.Release) map[string]string {
	return map[string]string{
		"SHIPGATE_IMAGE":      rel.Image,
		"SHIPGATE_DIGEST":     rel.Digest,
		"SHIPGATE_REPOSITORY": rel.Repository,
		"SHIPGATE_VERSION":    rel.Version(),
	}
}
