// Package reporoot finds the shipgate checkout a dev tool runs in, so the tools take paths
// relative to the repository root wherever they are started from (`go run -C helper/dev …`
// starts them in helper/dev).
package reporoot

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// Find walks up from dir to the directory holding shipgate's go.mod.
func Find(dir string) (string, error) {
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(data), "module github.com/shipgate/shipgate\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the shipgate repository")
		}
		dir = parent
	}
}

// Chdir makes the repository root the working directory.
func Chdir() error {
	cwd, err := os.Getwd()
	if err != nil {
		return err
	}
	root, err := Find(cwd)
	if err != nil {
		return err
	}
	return os.Chdir(root)
}
