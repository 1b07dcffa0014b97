package app

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/promotion"
	"github.com/shipgate/shipgate/helper/internal/registry"
	"github.com/shipgate/shipgate/helper/internal/release"
)

func recordArtifactCommand(s *streams) *cli.Command {
	return &cli.Command{
		Name:  "record-artifact",
		Usage: "resolve an image to its digest once and write release.json for later jobs",
		Description: "Run in the build job after pushing. The digest, platforms, size and the source and CircleCI\n" +
			"context go into release.json, which the job persists to the workspace.",
		Flags: withFlags([]cli.Flag{
			&cli.StringFlag{Name: "image", Usage: "the pushed image, `REF` (tag or digest)"},
			&cli.StringFlag{Name: "out", Value: "release.json", Usage: "where to write the release `FILE`"},
			outputFlag(), exportToFlag(),
		}, registryFlags()),
		Action: func(c *cli.Context) error {
			format, err := outputFormat(c)
			if err != nil {
				return err
			}
			if c.String("image") == "" {
				return failure.New(failure.Usage, "--image is required")
			}
			ref, err := registry.ParseReference(c.String("image"))
			if err != nil {
				return err
			}
			client, err := newRegistryClient(c, s)
			if err != nil {
				return err
			}
			artifact, err := promotion.Describe(c.Context, client, ref)
			if err != nil {
				return fmt.Errorf("resolving %s: %w", ref, err)
			}
			src, pipeline := release.Context(s.getenv, ".")
			rel := &release.Release{
				Image:      ref.Repository.Digest(artifact.Digest),
				Repository: ref.Repository.String(),
				Digest:     artifact.Digest.String(),
				MediaType:  artifact.MediaType,
				Platforms:  artifact.Platforms,
				Size:       artifact.Size,
				Source:     src,
				Pipeline:   pipeline,
				CreatedAt:  time.Now().UTC().Format(time.RFC3339),
			}
			if ref.Tag != "" {
				rel.ResolvedFrom = ref.Repository.String() + ":" + ref.Tag
				s.progress("resolved %s to %s (once; later jobs use the digest)", rel.ResolvedFrom, artifact.Digest)
			}
			if err := release.Write(c.String("out"), rel); err != nil {
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
func releaseVars(rel *release.Release) map[string]string {
	return map[string]string{
		"SHIPGATE_IMAGE":      rel.Image,
		"SHIPGATE_DIGEST":     rel.Digest,
		"SHIPGATE_REPOSITORY": rel.Repository,
		"SHIPGATE_VERSION":    rel.Version(),
	}
}
