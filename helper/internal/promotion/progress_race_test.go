package promotion

import (
	"bytes"
	"strings"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// TestRaceProgressLinesFromManyGoroutinesStayWhole: blobs finish on parallel goroutines and each
// reports a line; through the writer Promote installs, a plain bytes.Buffer (no lock of its
// own) gets every line whole (and `go test -race` sees no race).
func TestRaceProgressLinesFromManyGoroutinesStayWhole(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&syncWriter{w: &buf}, 0, "test")
	p.totalBlobs = 64
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.blob(v1.Descriptor{Digest: v1.Hash{Algorithm: "sha256", Hex: strings.Repeat(string(rune('a'+i%6)), 64)}, Size: 10}, BlobCopy)
		}()
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 64 {
		t.Fatalf("%d lines, want 64:\n%s", len(lines), buf.String())
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "shipgate: blob ") {
			t.Fatalf("a torn line: %q", l)
		}
	}
}
