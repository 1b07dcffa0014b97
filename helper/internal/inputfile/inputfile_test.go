package inputfile

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shipgate/shipgate/helper/internal/failure"
)

// TestRefusesWhatIsNotABoundedRegularFile: a FIFO (the reported case: it used to hang), a
// folder, a socket, a device, an oversized file and a missing file are all usage errors,
// returned at once.
func TestRefusesWhatIsNotABoundedRegularFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.json")
	if err := os.WriteFile(big, make([]byte, 2048), 0o600); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, tc := range []struct{ path, want string }{
		{fifo, "is not a regular file (a FIFO)"},
		{dir, "is not a regular file (a folder)"},
		{sock, "is not a regular file (a socket)"},
		{"/dev/zero", "is not a regular file (a device)"},
		{big, "is larger than the 1 KiB allowed (2048 bytes)"},
		{filepath.Join(dir, "missing"), "no such file"},
	} {
		start := time.Now()
		_, err := Read(tc.path, "--release", 1024)
		if err == nil || failure.KindOf(err) != failure.Usage || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want a usage error containing %q", tc.path, err, tc.want)
		}
		if !strings.Contains(err.Error(), "--release") {
			t.Errorf("%s: error %q does not name the flag", tc.path, err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s: took %s", tc.path, d)
		}
	}
	ok := filepath.Join(dir, "ok.json")
	os.WriteFile(ok, []byte(`{}`), 0o600)
	if data, err := Read(ok, "--release", 1024); err != nil || string(data) != "{}" {
		t.Errorf("a regular file: %q %v", data, err)
	}
}
