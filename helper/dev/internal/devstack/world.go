package devstack

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/shipgate/shipgate/helper/dev/internal/installhashes"
	"github.com/shipgate/shipgate/helper/dev/internal/localrunner"
	"github.com/shipgate/shipgate/helper/dev/internal/orbpack"
	"github.com/shipgate/shipgate/helper/dev/internal/reporoot"
	"github.com/shipgate/shipgate/helper/internal/testpeer/oidcissuer"
)

// LocalVersion is the version the local "release" of the helper carries.
const LocalVersion = "v0.0.0-local"

// World is a Stack plus everything a pipeline run needs: the helper built and served as a
// release (so the orb's install command downloads and verifies it for real), the orb packed
// from src/ with that release's hash pinned, stubs on PATH, and a git source repository.
type World struct {
	*Stack
	Root      string // the shipgate repository
	Dir       string
	BinDir    string // stubs
	SourceDir string // the application's git repository
	OrbFile   string
	// ReleaseBaseURL serves <base>/<version>/shipgate_<version>_<os>_<arch>.
	ReleaseBaseURL string

	release  *http.Server
	pipeline int
}

// NewWorld starts a world under dir. root is the shipgate repository (for src/ and the helper's
// source); self is the executable that implements the stubs (`self stub NAME ...`).
func NewWorld(ctx context.Context, root, dir, self string) (*World, error) {
	stack, err := Start(dir)
	if err != nil {
		return nil, err
	}
	w := &World{Stack: stack, Root: root, Dir: dir, BinDir: filepath.Join(dir, "stubs"), SourceDir: filepath.Join(dir, "source")}
	if err := w.setup(ctx, self); err != nil {
		w.Close()
		return nil, err
	}
	return w, nil
}

func (w *World) setup(ctx context.Context, self string) error {
	for _, d := range []string{w.BinDir, w.SourceDir, filepath.Join(w.Dir, "home")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := WriteStubs(w.BinDir, self, BaseStubs...); err != nil {
		return err
	}
	if err := w.writeTools(self); err != nil {
		return err
	}
	// The helper, built as a release asset.
	asset := fmt.Sprintf("shipgate_%s_linux_amd64", strings.TrimPrefix(LocalVersion, "v"))
	releaseDir := filepath.Join(w.Dir, "release", LocalVersion)
	if err := os.MkdirAll(releaseDir, 0o755); err != nil {
		return err
	}
	binary := filepath.Join(releaseDir, asset)
	// The release's flags (.goreleaser.yaml): static, stripped, without urfave/cli's docs.
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-tags", "urfave_cli_no_docs",
		"-ldflags", "-s -w -X github.com/shipgate/shipgate/helper/internal/app.Version="+LocalVersion,
		"-o", binary, "./helper/cmd/shipgate")
	build.Dir = w.Root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("building the helper: %v\n%s", err, out)
	}
	sum, err := fileSHA256(binary)
	if err != nil {
		return err
	}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	w.release = &http.Server{Handler: http.FileServer(http.Dir(filepath.Join(w.Dir, "release")))}
	go func() { _ = w.release.Serve(listener) }()
	w.ReleaseBaseURL = "http://" + listener.Addr().String()

	// The orb, packed from a copy of src/ whose install script pins the local release.
	orbSrc := filepath.Join(w.Dir, "orb-src")
	if err := copyTree(filepath.Join(w.Root, "src"), orbSrc); err != nil {
		return err
	}
	script := filepath.Join(orbSrc, "scripts", "install.sh")
	current, err := os.ReadFile(script)
	if err != nil {
		return err
	}
	pinned, err := installhashes.WriteHashes(current, LocalVersion, map[string]string{"linux_amd64": sum})
	if err != nil {
		return err
	}
	if err := os.WriteFile(script, pinned, 0o755); err != nil {
		return err
	}
	packed, err := orbpack.Pack(orbSrc)
	if err != nil {
		return err
	}
	w.OrbFile = filepath.Join(w.Dir, "orb.yml")
	if err := os.WriteFile(w.OrbFile, packed, 0o644); err != nil {
		return err
	}
	return w.git("init", "-q", "-b", "main")
}

// Close stops the world.
func (w *World) Close() {
	if w.release != nil {
		_ = w.release.Close()
	}
	w.Stack.Close()
}

// Commit writes the application source (a version file, and a BROKEN marker when broken) on
// branch and commits it, returning the commit SHA.
func (w *World) Commit(branch, message string, broken bool) (string, error) {
	if err := w.git("checkout", "-q", "-B", branch); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(w.SourceDir, "app.txt"), []byte(message+"\n"), 0o644); err != nil {
		return "", err
	}
	brokenFile := filepath.Join(w.SourceDir, "BROKEN")
	if broken {
		if err := os.WriteFile(brokenFile, []byte("this release panics on every request\n"), 0o644); err != nil {
			return "", err
		}
	} else {
		_ = os.Remove(brokenFile)
	}
	if err := w.git("add", "-A"); err != nil {
		return "", err
	}
	if err := w.git("-c", "user.name=Demo", "-c", "user.email=demo@example.com", "commit", "-q", "--allow-empty", "-m", message); err != nil {
		return "", err
	}
	return w.gitOutput("rev-parse", "HEAD")
}

// Merge merges from into branch with a merge commit (same tree as from when branch has no
// changes of its own) and returns the merge commit's SHA.
func (w *World) Merge(branch, from string) (string, error) {
	if err := w.git("checkout", "-q", branch); err != nil {
		return "", err
	}
	if err := w.git("-c", "user.name=Demo", "-c", "user.email=demo@example.com", "merge", "-q", "--no-ff", "-m", "Merge "+from, from); err != nil {
		return "", err
	}
	return w.gitOutput("rev-parse", "HEAD")
}

func (w *World) git(args ...string) error {
	_, err := w.gitOutput(args...)
	return err
}

func (w *World) gitOutput(args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = w.SourceDir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// ExampleConfig returns the `usage` of an orb example as the packed orb publishes it (the
// packer keeps only version, setup, orbs, jobs and workflows of it: what users copy from the
// orb registry), as a config file.
func (w *World) ExampleConfig(name string) ([]byte, error) {
	data, err := os.ReadFile(w.OrbFile)
	if err != nil {
		return nil, err
	}
	var orb struct {
		Examples map[string]struct {
			Usage yaml.Node `yaml:"usage"`
		} `yaml:"examples"`
	}
	if err := yaml.Unmarshal(data, &orb); err != nil {
		return nil, err
	}
	example, ok := orb.Examples[name]
	if !ok || example.Usage.Kind == 0 {
		return nil, fmt.Errorf("the packed orb has no example %s with a usage", name)
	}
	return yaml.Marshal(&example.Usage)
}

// Pipeline names one workflow of an example to run, unmodified, as a pipeline on Branch.
type Pipeline struct {
	Example, Workflow, Branch string
	// Params are pipeline parameters; Values are pipeline values such as trigger.type.
	Params map[string]any
	Values map[string]any
	// Env adds variables to every job of the run ("KEY=VALUE"), e.g. RolloutFailsEnv.
	Env []string
}

// Run runs one workflow of an example, unmodified, through the local runner.
func (w *World) Run(ctx context.Context, pl Pipeline, log io.Writer) (*localrunner.Result, error) {
	example, workflow, branch, params := pl.Example, pl.Workflow, pl.Branch, pl.Params
	config, err := w.ExampleConfig(example)
	if err != nil {
		return nil, err
	}
	pipeline, err := localrunner.Parse(example+".yml", config, w.Orbs())
	if err != nil {
		return nil, err
	}
	if err := w.git("checkout", "-q", branch); err != nil {
		return nil, err
	}
	revision, err := w.gitOutput("rev-parse", "HEAD")
	if err != nil {
		return nil, err
	}
	w.pipeline++
	env := append(w.BaseEnv(), "SHIPGATE_RELEASE_BASE_URL="+w.ReleaseBaseURL, ToolStoreEnv+"="+w.toolStore())
	env = append(env, pl.Env...)
	// CircleCI injects both OIDC tokens into every job; the local issuer mints them for this
	// pipeline's branch.
	for name, version := range map[string]int{"CIRCLE_OIDC_TOKEN": 1, "CIRCLE_OIDC_TOKEN_V2": 2} {
		token, err := w.Issuer.Mint(oidcissuer.Token{Version: version, VCSRef: "refs/heads/" + branch})
		if err != nil {
			return nil, err
		}
		env = append(env, name+"="+token)
	}
	return pipeline.RunWorkflow(ctx, workflow, localrunner.RunOptions{
		Branch: branch, Revision: revision, Parameters: params, PipelineValues: pl.Values, PipelineNumber: w.pipeline,
		ProjectUsername: "acme", ProjectReponame: "app",
		Env: env, PathPrepend: []string{w.BinDir}, ImagePath: w.imagePath, Contexts: w.Contexts(),
		Source: w.SourceDir, LogWriter: log, WorkDir: filepath.Join(w.Dir, "runs", fmt.Sprintf("pipeline-%d-%s", w.pipeline, workflow)),
	})
}

// FindRoot walks up from dir to the directory holding shipgate's go.mod.
func FindRoot(dir string) (string, error) { return reporoot.Find(dir) }

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func copyTree(src, dst string) error {
	return filepath.Walk(src, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, info.Mode().Perm())
	})
}
