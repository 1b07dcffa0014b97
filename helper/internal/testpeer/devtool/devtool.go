// Package devtool builds and locates the programs the tests run but did not write: the CNCF
// distribution registry they write to, and the third-party clients that judge the results
// (cosign, oras, regctl, crane, CircleCI's CLI).
//
// Each one is pinned in a Go module of its own, helper/dev/tools/<name>/go.mod, holding a single
// `tool` directive, so none of their dependencies enters the shipped module's graph (ggcr keeps
// cmd/krane in its own go.mod for the same reason). A binary is built once per pinned version, into
// <user cache dir>/shipgate-tools/<name>-<hash of that go.mod and go.sum> (shared by every checkout
// on the machine: the hash names the pin), and reused by every later test process; a lock file
// keeps parallel test binaries from building the same tool twice. CI builds them all up
// front (`make tools`); a test that needs one that is missing builds it on first use.
package devtool

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
)

// DirEnv overrides where built tools are kept (default: shipgate-tools in the user cache dir).
const DirEnv = "SHIPGATE_TOOLS_DIR"

// Path returns the path of the named tool's binary, building it first when this pinned version
// has not been built yet.
func Path(name string) (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	module := filepath.Join(root, "helper", "dev", "tools", name)
	pkg, sum, err := readToolModule(module)
	if err != nil {
		return "", fmt.Errorf("devtool %s: %w", name, err)
	}
	dir := os.Getenv(DirEnv)
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("devtool: no folder for built tools (set %s): %w", DirEnv, err)
		}
		dir = filepath.Join(cache, "shipgate-tools")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	binary := filepath.Join(dir, name+"-"+sum)
	if isExecutable(binary) {
		return binary, nil
	}
	unlock, err := lock(filepath.Join(dir, "."+name+".lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if isExecutable(binary) { // built by another process while this one waited for the lock
		return binary, nil
	}
	partial := binary + ".partial"
	build := exec.Command("go", "build", "-trimpath", "-o", partial, pkg)
	build.Dir = module
	build.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly")
	if out, err := build.CombinedOutput(); err != nil {
		os.Remove(partial)
		return "", fmt.Errorf("devtool: building %s (%s): %v\n%s", name, pkg, err, out)
	}
	if err := os.Rename(partial, binary); err != nil {
		return "", err
	}
	return binary, nil
}

// PathT is Path for tests: it fails the test when the tool cannot be built.
func PathT(t testing.TB, name string) string {
	t.Helper()
	path, err := Path(name)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// Names lists every pinned tool (the folders of helper/dev/tools).
func Names() ([]string, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(filepath.Join(root, "helper", "dev", "tools"))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// readToolModule returns the package named by the module's `tool` directive and a short hash of
// its go.mod and go.sum (the pinned version, so a changed pin builds a new binary).
func readToolModule(dir string) (pkg, sum string, err error) {
	mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return "", "", err
	}
	gosum, _ := os.ReadFile(filepath.Join(dir, "go.sum"))
	scanner := bufio.NewScanner(strings.NewReader(string(mod)))
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		if len(fields) == 2 && fields[0] == "tool" {
			if pkg != "" {
				return "", "", errors.New("go.mod names more than one tool")
			}
			pkg = fields[1]
		}
	}
	if pkg == "" {
		return "", "", errors.New("go.mod has no `tool` directive")
	}
	h := sha256.New()
	h.Write(mod)
	h.Write(gosum)
	return pkg, hex.EncodeToString(h.Sum(nil))[:12], nil
}

// repoRoot walks up from the working directory (a test's package folder) to the folder that
// holds helper/dev/tools.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if fi, err := os.Stat(filepath.Join(dir, "helper", "dev", "tools")); err == nil && fi.IsDir() {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("devtool: not inside the shipgate repository (no helper/dev/tools above the working directory)")
		}
		dir = parent
	}
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

func lock(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
