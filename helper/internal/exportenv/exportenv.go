// Package exportenv writes `export NAME='value'` lines for a later bash step to source (the
// orb passes $BASH_ENV as --export-to). Values are single-quoted with every quote escaped, so
// no value can execute when the file is sourced, whatever it holds.
package exportenv

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"

	"github.com/shipgate/shipgate/helper/internal/failure"
)

var posixName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`) })

// Quote returns value as one bash single-quoted word: 'it'\”s' for it's.
func Quote(value string) string {
	return "'" + strings.ReplaceAll(value, "'", `'\''`) + "'"
}

// Line returns the export line for name and value, or an error when the name is not a POSIX
// variable name or the value holds a NUL byte (which bash cannot carry).
func Line(name, value string) (string, error) {
	if !posixName().MatchString(name) {
		return "", failure.New(failure.Usage, "export name %q is not a POSIX variable name", name)
	}
	if strings.ContainsRune(value, 0) {
		return "", failure.New(failure.Usage, "value for %s contains a NUL byte", name)
	}
	return "export " + name + "=" + Quote(value) + "\n", nil
}

// Unset returns an `unset NAME` line, used to clear variables that would shadow exported ones
// (for example static AWS keys shadowing an assumed role).
func Unset(name string) (string, error) {
	if !posixName().MatchString(name) {
		return "", failure.New(failure.Usage, "unset name %q is not a POSIX variable name", name)
	}
	return "unset " + name + "\n", nil
}

// Append appends export lines for vars, in name order, to path with a single write. A new file
// is created with mode 0600; a symbolic link at path is refused rather than followed, so a
// planted link cannot redirect values into another file.
func Append(path string, vars map[string]string) error {
	names := make([]string, 0, len(vars))
	for name := range vars {
		names = append(names, name)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, name := range names {
		line, err := Line(name, vars[name])
		if err != nil {
			return err
		}
		b.WriteString(line)
	}
	return AppendLines(path, b.String())
}

// AppendLines appends already-built lines (from Line and Unset) to path, as Append does.
func AppendLines(path, lines string) error {
	if path == "" {
		return failure.New(failure.Usage, "--export-to needs a file path")
	}
	// O_NONBLOCK: a FIFO planted at path fails (or returns) at once instead of hanging the
	// command until a reader appears; it is then refused as not a regular file.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0o600)
	if err != nil {
		return failure.Wrap(failure.Usage, err, "opening export file %q", path)
	}
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		f.Close()
		return failure.New(failure.Usage, "export file %q is not a regular file", path)
	}
	// A file that does not end in a newline (a last line written by `echo -n`, or by an editor)
	// would glue the first export line onto it, where it is lost or changes meaning (issue 14
	// class 4): start on a new line.
	if size := info.Size(); size > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, size-1); err != nil {
			f.Close()
			return failure.Wrap(failure.Internal, err, "reading export file %q", path)
		}
		if last[0] != '\n' {
			lines = "\n" + lines
		}
	}
	// One write: a later step sources either none or all of these lines.
	if _, err := f.WriteString(lines); err != nil {
		f.Close()
		return failure.Wrap(failure.Internal, err, "writing export file %q", path)
	}
	if err := f.Close(); err != nil {
		return failure.Wrap(failure.Internal, err, "closing export file %q", path)
	}
	return nil
}

// Describe lists the names written, for a progress line on stderr (never the values).
func Describe(path string, vars map[string]string) string {
	names := make([]string, 0, len(vars))
	for name := range vars {
		names = append(names, name)
	}
	sort.Strings(names)
	return fmt.Sprintf("exported %s to %s", strings.Join(names, ", "), path)
}

// Check reports, before any work is attempted, whether path can take export lines: not a
// symbolic link, a regular file if it exists, in an existing folder. AppendLines checks again
// when it writes.
func Check(path string) error {
	if path == "" {
		return failure.New(failure.Usage, "--export-to needs a file path")
	}
	if info, err := os.Lstat(path); err == nil {
		if info.Mode()&os.ModeSymlink != 0 {
			return failure.New(failure.Usage, "export file %q is a symbolic link: refusing to follow it", path)
		}
		if !info.Mode().IsRegular() {
			return failure.New(failure.Usage, "export file %q is not a regular file", path)
		}
		return nil
	}
	if info, err := os.Stat(filepath.Dir(path)); err != nil || !info.IsDir() {
		return failure.New(failure.Usage, "export file %q: its folder does not exist", path)
	}
	return nil
}
