package awsrole

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestUpdateINIRefusesAFIFO (issue 14 class 6): a FIFO at ~/.aws/credentials is refused at
// once instead of blocking the command until a writer appears.
func TestUpdateINIRefusesAFIFO(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skip(err)
	}
	start := time.Now()
	err := updateINI(path, "ci", [][2]string{{"aws_access_key_id", "x"}})
	if err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("error %v, want a refusal", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("took %s", d)
	}
}
