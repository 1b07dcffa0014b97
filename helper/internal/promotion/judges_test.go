package promotion_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, j.path, args...)
	cmd.Env, cmd.Dir = j.env, j.dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if (err == nil) != wantOK {
		t.Fatalf("%s %s: %v (want success: %v)\nstdout: %s\nstderr: %s", filepath.Base(j.path), strings.Join(args, " "), err, wantOK, stdout.String(), stderr.String())
	}
	return stdout.String()
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

// On every registry kind, what the source had is found at the destination by the clients users
// run, after `shipgate promote`: cosign verifies classic-tag signatures made with the source's
// key and, merged beside them, the destination's own; an OCI 1.1 signature (made only in
// oci-1-1 mode, with a key nothing else uses, so the tag fallback of `--experimental-oci11`
// cannot answer for it); an attestation; and oras discovers an SBOM it attached. Before the
// promotion the OCI 1.1 judge fails at the destination, so each check can fail.
func TestJudgesFindAtTheDestinationWhatTheSourceHad(t *testing.T) {
	if testing.Short() {
		t.Skip("runs cosign and oras (built once per pinned version by devtool)")
	}
	cosign := newJudge(t, "cosign", "COSIGN_PASSWORD=", "COSIGN_YES=true", "COSIGN_EXPERIMENTAL=1")
	oras := newJudge(t, "oras")
	keys := t.TempDir()
	oras.dir = keys
	for _, k := range []string{"source", "oci11", "destination"} {
		cosign.run(t, true, "generate-key-pair", "--output-key-prefix", filepath.Join(keys, k))
	}
	key := func(name, ext string) string { return filepath.Join(keys, name+"."+ext) }
	sbom := filepath.Join(keys, "sbom.spdx.json")
	if err := os.WriteFile(sbom, []byte(`{"spdxVersion":"SPDX-2.3","name":"app"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	noTlog := []string{"--tlog-upload=false"}
	ignoreTlog := "--insecure-ignore-tlog=true"

	registrykinds.ForEach(t, func(t *testing.T, k *registrykinds.Kind) {
		digest := testimage.Image(t, k.Repo("app:v1"), 1)
		src, dst := k.Repo("app@"+digest.String()), k.Repo("prod/app@"+digest.String())

		cosign.run(t, true, append([]string{"sign", "--key", key("source", "key"), src}, noTlog...)...)
		cosign.run(t, true, append([]string{"attest", "--key", key("source", "key"), "--type", "spdxjson", "--predicate", sbom, src}, noTlog...)...)
		cosign.run(t, true, append([]string{"sign", "--key", key("oci11", "key"), "--registry-referrers-mode=oci-1-1", src}, noTlog...)...)
		oras.run(t, true, "attach", "--plain-http", "--artifact-type", "application/spdx+json", src, filepath.Base(sbom)+":application/spdx+json")
		attached := discovered(t, oras.run(t, true, "discover", "--plain-http", "--format", "json", "--depth", "1", src))
		// Two referrers: cosign's OCI 1.1 signature and oras's SBOM. go-containerregistry's
		// registry lists the SBOM under its config's media type (the empty type), not its
		// artifactType (FACTS: learned from third-party software), so only the count and
		// cosign's type (its config type too) are fixed here; the destination must match.
		if total(attached) != 2 || len(attached[cosignSigArtifactType]) != 1 {
			t.Fatalf("the source's referrers as oras sees them: %v", attached)
		}

		// The destination already holds the digest, signed there with its own key.
		shipgate(t, "promote", "--from", src, "--to", k.Repo("prod/app"), "--no-referrers")
		cosign.run(t, true, append([]string{"sign", "--key", key("destination", "key"), dst}, noTlog...)...)
		cosign.run(t, false, "verify", "--key", key("oci11", "pub"), ignoreTlog, "--experimental-oci11", dst)

		shipgate(t, "promote", "--from", src, "--to", k.Repo("prod/app"))

		cosign.run(t, true, "verify", "--key", key("source", "pub"), ignoreTlog, dst)
		cosign.run(t, true, "verify", "--key", key("destination", "pub"), ignoreTlog, dst)
		cosign.run(t, true, "verify", "--key", key("oci11", "pub"), ignoreTlog, "--experimental-oci11", dst)
		cosign.run(t, true, "verify-attestation", "--key", key("source", "pub"), ignoreTlog, "--type", "spdxjson", dst)
		found := discovered(t, oras.run(t, true, "discover", "--plain-http", "--format", "json", "--depth", "1", dst))
		if total(found) != total(attached) {
			t.Errorf("oras discovers %v at the destination, the source had %v", found, attached)
		}
		for artifactType, digests := range attached {
			if strings.Join(found[artifactType], " ") != strings.Join(digests, " ") {
				t.Errorf("oras discovers %s referrers %v at the destination, the source had %v", artifactType, found[artifactType], digests)
			}
		}
	})
}

// discovered reads `oras discover --format json`: the referrers' digests by artifactType.
func discovered(t *testing.T, out string) map[string][]string {
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
	found := map[string][]string{}
	for _, r := range tree.Referrers {
		found[r.ArtifactType] = append(found[r.ArtifactType], r.Digest)
	}
	return found
}

func total(byType map[string][]string) int {
	n := 0
	for _, digests := range byType {
		n += len(digests)
	}
	return n
}
