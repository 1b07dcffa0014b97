// Command orbtool packs, validates and reviews the shipgate orb, and writes release hashes
// into its install script. It is a development tool for this repository, not part of the
// shipped helper.
//
//	orbtool pack     [-src src] [-out orb.yml] [-check]
//	orbtool validate [-src src] [-orb orb.yml] [-schema schemas/...json] [-config .circleci]
//	orbtool review   [-src src] [-major 1]
//	orbtool published [-src src]   (what CircleCI does with the orb: packer, compiler, lint)
//	orbtool hashes   -version v1.2.3 -checksums dist/checksums.txt [-script src/scripts/install.sh]
//	orbtool reference [-orb orb.yml] [-out docs/orb-reference.md]
//	orbtool seed-image -ref localhost:5000/app/staging:TAG [-content TEXT]  (integration pipelines)
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/shipgate/shipgate/helper/dev/internal/installhashes"
	"github.com/shipgate/shipgate/helper/dev/internal/orbcheck"
	"github.com/shipgate/shipgate/helper/dev/internal/orbdoc"
	"github.com/shipgate/shipgate/helper/dev/internal/orbpack"
	"github.com/shipgate/shipgate/helper/dev/internal/reporoot"
	"github.com/shipgate/shipgate/helper/internal/testpeer/imageseed"
)

func main() {
	// Paths (flags and their defaults) are relative to the repository root, wherever this runs.
	if err := reporoot.Chdir(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: orbtool pack|validate|review|published|hashes|reference|seed-image [flags]")
		return 2
	}
	var err error
	switch args[0] {
	case "pack":
		err = pack(args[1:], stdout)
	case "validate":
		err = validate(args[1:], stdout)
	case "review":
		err = review(args[1:], stdout)
	case "published":
		err = published(args[1:], stdout)
	case "hashes":
		err = hashes(args[1:], stdout)
	case "seed-image":
		err = seedImage(args[1:], stdout)
	case "reference":
		err = reference(args[1:], stdout)
	default:
		fmt.Fprintf(stderr, "orbtool: unknown command %q\n", args[0])
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "orbtool %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

func pack(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("pack", flag.ContinueOnError)
	src := fs.String("src", "src", "orb source folder (holds @orb.yml)")
	out := fs.String("out", "", "write orb.yml here instead of stdout")
	check := fs.Bool("check", false, "fail when -out differs from the packed source instead of writing it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	packed, err := orbpack.Pack(*src)
	if err != nil {
		return err
	}
	switch {
	case *out == "":
		_, err = stdout.Write(packed)
		return err
	case *check:
		current, err := os.ReadFile(*out)
		if err != nil {
			return err
		}
		if !bytes.Equal(current, packed) {
			return fmt.Errorf("%s differs from the packed %s: run `make orb` and commit the result", *out, *src)
		}
		return nil
	default:
		return writeFile(*out, packed)
	}
}

func validate(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	src := fs.String("src", "src", "orb source folder")
	orb := fs.String("orb", "orb.yml", "packed orb")
	schema := fs.String("schema", orbcheck.DefaultSchemaPath, "CircleCI JSON schema")
	configs := fs.String("config", ".circleci", "folder of CircleCI configs to validate (*.yml)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	v, err := orbcheck.NewValidator(*schema)
	if err != nil {
		return err
	}
	var problems []orbcheck.Problem
	add := func(p []orbcheck.Problem, err error) error {
		problems = append(problems, p...)
		return err
	}
	if err := add(v.ValidateOrbFile(*orb)); err != nil {
		return err
	}
	if err := add(v.ValidateExamples(*src)); err != nil {
		return err
	}
	files, _ := filepath.Glob(filepath.Join(*configs, "*.yml"))
	for _, f := range files {
		if err := add(v.ValidateConfigWithOrb(f, *src)); err != nil {
			return err
		}
	}
	if err := add(orbcheck.CheckIncludedScripts(*src)); err != nil {
		return err
	}
	// What CircleCI itself does with the orb (CC001-CC006): the orb passes them all now, so CI's
	// validate step keeps it that way.
	if err := add(orbcheck.CheckCircleCIRules(*src)); err != nil {
		return err
	}
	return report(stdout, problems)
}

func review(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("review", flag.ContinueOnError)
	src := fs.String("src", "src", "orb source folder")
	major := fs.Int("major", orbcheck.CurrentMajor, "the orb's current major version (RC011)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	problems, err := orbcheck.Review(*src, *major)
	if err != nil {
		return err
	}
	return report(stdout, problems)
}

// published checks the orb against what CircleCI itself does with it: the examples as the
// real packer publishes them compile and lint clean, no command or job is named like a
// built-in step, deploy markers are named, no retired pipeline value (orbcheck CC001-CC006).
func published(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("published", flag.ContinueOnError)
	src := fs.String("src", "src", "orb source folder")
	if err := fs.Parse(args); err != nil {
		return err
	}
	problems, err := orbcheck.CheckCircleCIRules(*src)
	if err != nil {
		return err
	}
	return report(stdout, problems)
}

func hashes(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("hashes", flag.ContinueOnError)
	version := fs.String("version", "", "release version, e.g. v1.2.3")
	checksums := fs.String("checksums", "dist/checksums.txt", "goreleaser checksums file")
	script := fs.String("script", "src/scripts/install.sh", "install script to write the hashes into")
	if err := fs.Parse(args); err != nil {
		return err
	}
	sums, err := os.ReadFile(*checksums)
	if err != nil {
		return err
	}
	table, err := installhashes.ParseChecksums(sums, *version)
	if err != nil {
		return err
	}
	current, err := os.ReadFile(*script)
	if err != nil {
		return err
	}
	updated, err := installhashes.WriteHashes(current, *version, table)
	if err != nil {
		return err
	}
	if err := writeFile(*script, updated); err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "wrote %d hashes for %s into %s\n", len(table), *version, *script)
	return err
}

func seedImage(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("seed-image", flag.ContinueOnError)
	ref := fs.String("ref", "", "host/repository:tag on a plain-HTTP, anonymous registry")
	content := fs.String("content", "", "text of the image's only layer (makes the digest unique)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d, err := imageseed.Push(ctx, http.DefaultClient, *ref, *content)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, d)
	return err
}

func report(stdout io.Writer, problems []orbcheck.Problem) error {
	for _, p := range problems {
		fmt.Fprintln(stdout, p)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%d problem(s)", len(problems))
	}
	return nil
}

// writeFile replaces path through a temporary file in the same folder, so a reader never sees
// half a file and an existing symlink is not followed.
func writeFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// reference writes the orb's parameter reference, rendered from the packed orb.
func reference(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("reference", flag.ContinueOnError)
	orbFile := fs.String("orb", "orb.yml", "packed orb to document")
	out := fs.String("out", "docs/orb-reference.md", "Markdown file to write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	packed, err := os.ReadFile(*orbFile)
	if err != nil {
		return err
	}
	doc, err := orbdoc.Reference(packed)
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out, []byte(doc), 0o644); err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "wrote %s\n", *out)
	return err
}
