// Package inputfile opens the files a command is told to read (--release, --checks, lint
// settings and configs, token and credentials files, CA bundles): each must be a regular file
// of bounded size, or the command stops at once with a usage error (exit 2) that names the
// flag. A FIFO, a device or /dev/zero named by mistake or by an attacker would otherwise
// block the command forever (ignoring SIGTERM, issue 14 class 6) or be read into memory
// without end (a 1 GiB release.json, class 5).
package inputfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"

	"github.com/shipgate/shipgate/helper/internal/failure"
)

// Limits for the kinds of input shipgate reads. Real files are far below them: a release.json
// is about 1 KiB, a CircleCI config rarely above 200 KiB (CircleCI's own limit for a compiled
// config is 3 MB), an OIDC token about 1 KiB.
const (
	SmallLimit  = 1 << 20 // 1 MiB: release.json, tokens, credentials, settings, checks files
	ConfigLimit = 8 << 20 // 8 MiB: CircleCI configs, CA bundles
)

// Read returns the contents of path, which what names in errors ("--release", "release file").
func Read(path, what string, limit int64) ([]byte, error) {
	f, err := Open(path, what, limit)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// File is an opened input file whose reads stop with an error past its limit.
type File struct {
	f     *os.File
	r     io.Reader
	path  string
	what  string
	limit int64
	read  int64
}

// Open opens path for reading after checking that it is a regular file no larger than limit.
// The file is opened with O_NONBLOCK, so opening a FIFO never waits for a writer, and then
// checked with fstat, so what is checked is what is read (no race with a rename).
func Open(path, what string, limit int64) (*File, error) {
	if path == "" {
		return nil, failure.New(failure.Usage, "%s: no file named", what)
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		// A socket cannot be opened at all (ENXIO): say what it is rather than why.
		if info, serr := os.Stat(path); serr == nil && !info.Mode().IsRegular() {
			return nil, failure.New(failure.Usage, "%s %q is not a regular file (%s)", what, path, kind(info.Mode()))
		}
		return nil, failure.New(failure.Usage, "reading %s %q: %v", what, path, cause(err))
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, failure.New(failure.Usage, "reading %s %q: %v", what, path, cause(err))
	}
	if !info.Mode().IsRegular() {
		f.Close()
		return nil, failure.New(failure.Usage, "%s %q is not a regular file (%s)", what, path, kind(info.Mode()))
	}
	if info.Size() > limit {
		f.Close()
		return nil, failure.New(failure.Usage, "%s %q is larger than the %s allowed (%d bytes)", what, path, size(limit), info.Size())
	}
	// Clear O_NONBLOCK again: it has no effect on regular files, but keep reads plain.
	_ = syscall.SetNonblock(int(f.Fd()), false)
	return &File{f: f, r: f, path: path, what: what, limit: limit}, nil
}

// Read reads from the file, failing once more than the limit was read (a file that grew
// after it was checked).
func (f *File) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	f.read += int64(n)
	if f.read > f.limit {
		return n, failure.New(failure.Usage, "%s %q grew past the %s allowed while it was read", f.what, f.path, size(f.limit))
	}
	return n, err
}

// Close closes the file.
func (f *File) Close() error { return f.f.Close() }

func cause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a folder"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return m.Type().String()
}

func size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
