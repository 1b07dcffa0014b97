package app

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shipgate/shipgate/helper/internal/testpeer/registryserver"
	"github.com/shipgate/shipgate/helper/internal/testpeer/testimage"
)

// TestRecordArtifactOutsideGit (issue 18 point 7): the real binary in a folder that is not a
// git checkout, without $CIRCLE_SHA1, warns that find cannot match the release; --commit,
// --tree and --branch fill the source; a malformed --commit is refused before any request.
func TestRecordArtifactOutsideGit(t *testing.T) {
	t.Parallel()
	bin := shipgateBinary(t)
	reg := registryserver.StartT(t, registryserver.Options{})
	testimage.Image(t, reg.Repo("app:v1"), 1)
	commit, tree := strings.Repeat("c", 40), strings.Repeat("e", 40)
	run := func(args ...string) (string, int, map[string]any) {
		dir := t.TempDir() // not inside any git checkout: the test's temporary folder
		var stderr bytes.Buffer
		cmd := exec.Command(bin, append([]string{"record-artifact", "--image", reg.Repo("app:v1")}, args...)...)
		cmd.Dir = dir
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "DOCKER_CONFIG=" + dir, "GIT_CEILING_DIRECTORIES=" + filepath.Dir(dir)}
		cmd.Stderr = &stderr
		_ = cmd.Run()
		var rel map[string]any
		data, _ := os.ReadFile(filepath.Join(dir, "release.json"))
		_ = json.Unmarshal(data, &rel)
		return stderr.String(), cmd.ProcessState.ExitCode(), rel
	}

	// The reported case: source {} written silently; now a warning for each gap.
	stderr, code, rel := run()
	if code != 0 || !strings.Contains(stderr, "warning: no source commit") || !strings.Contains(stderr, "warning: no source tree") {
		t.Errorf("outside git: exit %d, stderr %q", code, stderr)
	}
	if src, _ := rel["source"].(map[string]any); len(src) != 0 {
		t.Errorf("outside git: source %v", src)
	}
	// Given explicitly: recorded, no warning.
	stderr, code, rel = run("--commit", commit, "--tree", tree, "--branch", "main")
	src, _ := rel["source"].(map[string]any)
	if code != 0 || strings.Contains(stderr, "warning") || src["commit"] != commit || src["tree"] != tree || src["branch"] != "main" {
		t.Errorf("explicit source: exit %d, stderr %q, source %v", code, stderr, src)
	}
	// A commit alone (no git to find its tree): the tree gap is still reported.
	stderr, code, _ = run("--commit", commit)
	if code != 0 || strings.Contains(stderr, "no source commit") || !strings.Contains(stderr, "no source tree") {
		t.Errorf("commit only: exit %d, stderr %q", code, stderr)
	}
	// Short or malformed SHAs, and a branch with a newline: bad usage, nothing written.
	for _, args := range [][]string{{"--commit", "abc1234"}, {"--tree", "XYZ"}, {"--branch", "main\nx"}} {
		stderr, code, rel = run(args...)
		if code != 2 || rel != nil {
			t.Errorf("%q: exit %d, release %v, stderr %q", args, code, rel, stderr)
		}
	}
}
