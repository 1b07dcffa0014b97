package promotion_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shipgate/shipgate/helper/internal/app"
	"github.com/shipgate/shipgate/helper/internal/testpeer/devtool"
	"github.com/shipgate/shipgate/helper/internal/testpeer/registrykinds"
	"github.com/shipgate/shipgate/helper/internal/testpeer/testimage"
)

// judge runs a third-party client (cosign, oras) pinned in helper/dev/tools/<name>.
type judge struct {
	path string
	env  []string
	dir  string // working directory (oras refuses absolute file paths)
}

func newJudge(t *testing.T, name string, env ...string) *judge {
	t.Helper()
	home := t.TempDir()
	// Nothing of the machine's own configuration (docker credentials, cosign's TUF cache).
	base := []string{"HOME=" + home, "DOCKER_CONFIG=" + home, "PATH=" + os.Getenv("PATH"), "TMPDIR=" + os.TempDir()}
	return &judge{path: devtool.PathT(t, name), env: append(base, env...)}
}

// run runs the client with args and returns its output; the test fails when its exit code
// differs from what wantOK says.
func (j *judge) run(t *testing.T, wantOK bool, args ...string) string {
	t.Helper()
	out, err := j.try(wantOK, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// try is run without the test: safe from several goroutines at once.
func (j *judge) try(wantOK bool, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, j.path, args...)
	cmd.Env, cmd.Dir = j.env, j.dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if (err == nil) != wantOK {
		return "", fmt.Errorf("%s %s: %v (want success: %v)\nstdout: %s\nstderr: %s", filepath.Base(j.path), strings.Join(args, " "), err, wantOK, stdout.String(), stderr.String())
	}
	return stdout.String(), nil
}

// verifyAll runs read-only judges at once (they share nothing but the registry) and reports
// every one that fails.
func verifyAll(t *testing.T, checks map[*judge][][]string) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for j, runs := range checks {
		for _, args := range runs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := j.try(true, args...); err != nil {
					errs <- err
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// shipgate runs the whole CLI in-process, as a pipeline step would.
func shipgate(t *testing.T, args ...string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := app.Run(context.Background(), append([]string{"shipgate"}, args...), &stdout, &stderr); code != 0 {
		t.Fatalf("shipgate %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, stdout.String(), stderr.String())
	}
}

// cosignSigArtifactType is the artifactType cosign gives a signature pushed with
// --registry-referrers-mode=oci-1-1 (cosign pkg/oci/experimental ArtifactType("sig")); it is
// what `cosign verify --experimental-oci11` filters the referrers by.
const cosignSigArtifactType = "application/vnd.dev.cosign.artifact.sig.v1+json"

// judges are the clients and keys one judged promotion uses.
type judges struct {
	cosign, oras *judge
	keys, sbom   string
}

func newJudges(t *testing.T) *judges {
	t.Helper()
	j := &judges{
		cosign: newJudge(t, "cosign", "COSIGN_PASSWORD=", "COSIGN_YES=true", "COSIGN_EXPERIMENTAL=1"),
		oras:   newJudge(t, "oras"),
		keys:   t.TempDir(),
	}
	j.oras.dir = j.keys
	for _, k := range []string{"source", "oci11", "destination"} {
		j.cosign.run(t, true, "generate-key-pair", "--output-key-prefix", filepath.Join(j.keys, k))
	}
	j.sbom = filepath.Join(j.keys, "sbom.spdx.json")
	if err := os.WriteFile(j.sbom, []byte(`{"spdxVersion":"SPDX-2.3","name":"app"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	return j
}

func (j *judges) key(name, ext string) string { return filepath.Join(j.keys, name+"."+ext) }

// On every registry kind, and from a registry with the referrers API to one without and back,
// what the source had is found at the destination by the clients users run, after `shipgate
// promote`: cosign verifies classic-tag signatures and attestations made with the source's key
// and, merged beside them, the destination's own; an OCI 1.1 signature (made only in oci-1-1 mode, with a key
// nothing else uses, so the tag fallback of `--experimental-oci11` cannot answer for it); an
// attestation; and oras discovers the same referrers (an SBOM it attached, cosign's OCI 1.1
// signature). Before the promotion the OCI 1.1 judge fails at the destination, so each check can
// fail.
func TestJudgesFindAtTheDestinationWhatTheSourceHad(t *testing.T) {
	if testing.Short() {
		t.Skip("runs cosign and oras (built once per pinned version by devtool)")
	}
	j := newJudges(t)
	registrykinds.ForEach(t, func(t *testing.T, k *registrykinds.Kind) {
		j.promoteAndJudge(t, k, k)
	})
	// zot and ECR have the referrers API (FACTS.md "Registry behaviour…"): their listing doubles
	// in front of go-containerregistry's registry with referrers.
	for _, name := range []string{"zot", "ecr"} {
		t.Run(name+"-with-referrers-api", func(t *testing.T) {
			k := registrykinds.StartOn(t, name, registrykinds.StartGGCR(t).URL(), true)
			j.promoteAndJudge(t, k, k)
		})
	}
	t.Run("ggcr-to-distribution-v3", func(t *testing.T) {
		j.promoteAndJudge(t, registrykinds.Start(t, "ggcr"), registrykinds.Start(t, "distribution-v3"))
	})
	t.Run("distribution-v3-to-ggcr", func(t *testing.T) {
		j.promoteAndJudge(t, registrykinds.Start(t, "distribution-v3"), registrykinds.Start(t, "ggcr"))
	})
}

func (j *judges) promoteAndJudge(t *testing.T, from, to *registrykinds.Kind) {
	noTlog := "--tlog-upload=false"
	ignoreTlog := "--insecure-ignore-tlog=true"
	digest := testimage.Image(t, from.Repo("app:v1"), 1)
	src, dst := from.Repo("app@"+digest.String()), to.Repo("prod/app@"+digest.String())

	j.cosign.run(t, true, "sign", "--key", j.key("source", "key"), noTlog, src)
	j.cosign.run(t, true, "attest", "--key", j.key("source", "key"), "--type", "spdxjson", "--predicate", j.sbom, noTlog, src)
	j.cosign.run(t, true, "sign", "--key", j.key("oci11", "key"), "--registry-referrers-mode=oci-1-1", noTlog, src)
	j.oras.run(t, true, "attach", "--plain-http", "--artifact-type", "application/spdx+json", src, filepath.Base(j.sbom)+":application/spdx+json")
	attached := discovered(t, j.oras.run(t, true, "discover", "--plain-http", "--format", "json", "--depth", "1", src))
	// Two referrers: cosign's OCI 1.1 signature and oras's SBOM. go-containerregistry's registry
	// lists the SBOM under its config's media type (the empty type), not its artifactType (FACTS:
	// learned from third-party software), so the referrers are compared by digest, and only
	// cosign's type (its config type too) by type.
	if len(attached) != 2 || attached[cosignSigDigest(t, attached)] != cosignSigArtifactType {
		t.Fatalf("the source's referrers as oras sees them: %v", attached)
	}

	// The destination already holds the digest, signed and attested there with its own key.
	shipgate(t, "promote", "--from", src, "--to", to.Repo("prod/app"), "--no-referrers")
	j.cosign.run(t, true, "sign", "--key", j.key("destination", "key"), noTlog, dst)
	j.cosign.run(t, true, "attest", "--key", j.key("destination", "key"), "--type", "spdxjson", "--predicate", j.sbom, noTlog, dst)
	j.cosign.run(t, false, "verify", "--key", j.key("oci11", "pub"), ignoreTlog, "--experimental-oci11", dst)

	shipgate(t, "promote", "--from", src, "--to", to.Repo("prod/app"))

	verifyAll(t, map[*judge][][]string{j.cosign: {
		{"verify", "--key", j.key("source", "pub"), ignoreTlog, dst},
		{"verify", "--key", j.key("destination", "pub"), ignoreTlog, dst},
		{"verify", "--key", j.key("oci11", "pub"), ignoreTlog, "--experimental-oci11", dst},
		{"verify-attestation", "--key", j.key("source", "pub"), ignoreTlog, "--type", "spdxjson", dst},
		{"verify-attestation", "--key", j.key("destination", "pub"), ignoreTlog, "--type", "spdxjson", dst},
	}})
	found := discovered(t, j.oras.run(t, true, "discover", "--plain-http", "--format", "json", "--depth", "1", dst))
	if len(found) != len(attached) || found[cosignSigDigest(t, attached)] != cosignSigArtifactType {
		t.Errorf("oras discovers %v at the destination, the source had %v", found, attached)
	}
	for d := range attached {
		if _, ok := found[d]; !ok {
			t.Errorf("oras does not discover %s at the destination: %v", d, found)
		}
	}
}

func cosignSigDigest(t *testing.T, byDigest map[string]string) string {
	t.Helper()
	for d, artifactType := range byDigest {
		if artifactType == cosignSigArtifactType {
			return d
		}
	}
	return ""
}

// discovered reads `oras discover --format json`: the referrers' artifactType by digest.
func discovered(t *testing.T, out string) map[string]string {
	t.Helper()
	var tree struct {
		Referrers []struct {
			Digest       string `json:"digest"`
			ArtifactType string `json:"artifactType"`
		} `json:"referrers"`
	}
	if err := json.Unmarshal([]byte(out), &tree); err != nil {
		t.Fatalf("oras discover output: %v\n%s", err, out)
	}
	found := map[string]string{}
	for _, r := range tree.Referrers {
		found[r.Digest] = r.ArtifactType
	}
	return found
}
