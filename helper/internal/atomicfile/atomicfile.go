// Package atomicfile writes files the way shipgate writes anything a later reader trusts
// (credentials, release.json): whole or not at all, with a chosen mode, and never through a
// symbolic link planted at the path.
package atomicfile

import (
	"io/fs"
	"os"
	"path/filepath"

	"github.com/shipgate/shipgate/helper/internal/failure"
)

// Write writes data to path through a temporary file in the same folder (created with mode,
// synced) renamed into place, so a reader never sees half a file and an existing file's wider
// mode is not kept. A symbolic link or another non-regular file at path is refused, not
// followed. Missing folders are created with mode 0700.
func Write(path string, data []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&fs.ModeSymlink != 0 {
			return failure.New(failure.Usage, "%q is a symbolic link: refusing to follow it", path)
		}
		if !fi.Mode().IsRegular() {
			return failure.New(failure.Usage, "%q is not a regular file", path)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return failure.Wrap(failure.Usage, err, "creating folder %q", dir)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".shipgate-*")
	if err != nil {
		return failure.Wrap(failure.Usage, err, "creating a temporary file in %q", dir)
	}
	name := tmp.Name()
	fail := func(err error, what string) error {
		tmp.Close()
		os.Remove(name)
		return failure.Wrap(failure.Internal, err, "%s %q", what, name)
	}
	if err := tmp.Chmod(mode); err != nil {
		return fail(err, "setting the mode of")
	}
	if _, err := tmp.Write(data); err != nil {
		return fail(err, "writing")
	}
	if err := tmp.Sync(); err != nil {
		return fail(err, "syncing")
	}
	if err := tmp.Close(); err != nil {
		os.Remove(name)
		return failure.Wrap(failure.Internal, err, "closing %q", name)
	}
	if err := os.Rename(name, path); err != nil {
		os.Remove(name)
		return failure.Wrap(failure.Internal, err, "renaming %q to %q", name, path)
	}
	return nil
}
