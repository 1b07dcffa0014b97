package artifact

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shipgate/shipgate/helper/internal/failure"
)

func TestWriteKeepsUnknownFields(t *testing.T) {
	path := filepath.Join(t.TempDir(), "release.json")
	original := `{"schemaVersion":1,"repository":"r/app","digest":"sha256:` + strings.Repeat("ab", 32) + `","teamNote":{"x":1}}`
	if err := os.WriteFile(path, []byte(original), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	r.Size = 42
	if err := Write(path, r); err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	data, _ := os.ReadFile(path)
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if back["teamNote"] == nil || back["size"].(float64) != 42 {
		t.Fatalf("rewritten file lost data: %s", data)
	}
}

func TestReadRejects(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]string{
		"garbage":   "not json",
		"version":   `{"schemaVersion":2,"repository":"r","digest":"d"}`,
		"no digest": `{"schemaVersion":1,"repository":"r"}`,
	}
	for name, content := range cases {
		path := filepath.Join(dir, name)
		os.WriteFile(path, []byte(content), 0o644)
		if _, err := Read(path); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := Read(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing file accepted")
	}
}

func TestWriteRefusesSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	os.WriteFile(target, []byte("keep"), 0o600)
	link := filepath.Join(dir, "release.json")
	os.Symlink(target, link)
	if err := Write(link, &Release{Repository: "r", Digest: "d"}); err == nil {
		t.Fatal("release.json was written through a symlink")
	}
	if b, _ := os.ReadFile(target); string(b) != "keep" {
		t.Fatal("the link's target changed")
	}
}

// TestReadRefusesInconsistentFiles (issue 14 class 5): the reported cases (a digest that
// disagrees with the one in image, a duplicate key, an oversized file) and variants (another
// repository in image, a duplicate nested key, an image by tag, a malformed digest, a FIFO)
// are usage errors that name the field, returned at once.
func TestReadRefusesInconsistentFiles(t *testing.T) {
	dir := t.TempDir()
	d1, d2 := "sha256:"+strings.Repeat("a", 64), "sha256:"+strings.Repeat("b", 64)
	cases := []struct{ name, content, want string }{
		{"digest mismatch", `{"schemaVersion":1,"image":"r/app@` + d1 + `","repository":"r/app","digest":"` + d2 + `"}`, `field "image" has digest ` + d1 + ` but field "digest" is ` + d2},
		{"duplicate digest", `{"schemaVersion":1,"repository":"r/app","digest":"` + d1 + `","digest":"` + d2 + `"}`, `duplicate field ".digest"`},
		{"oversized", `{"schemaVersion":1,"repository":"r/app","digest":"` + d1 + `","pad":"` + strings.Repeat("x", MaxFileSize) + `"}`, "larger than the 1 MiB allowed"},
		{"repository mismatch", `{"schemaVersion":1,"image":"r/other@` + d1 + `","repository":"r/app","digest":"` + d1 + `"}`, `field "image" names repository r/other but field "repository" is r/app`},
		{"duplicate in another case", `{"schemaVersion":1,"repository":"r/app","digest":"` + d1 + `","Digest":"` + d2 + `"}`, `duplicate field ".Digest"`},
		{"duplicate nested", `{"schemaVersion":1,"repository":"r/app","digest":"` + d1 + `","source":{"commit":"a","commit":"b"}}`, `duplicate field ".source.commit"`},
		{"image by tag", `{"schemaVersion":1,"image":"r/app:v1","repository":"r/app","digest":"` + d1 + `"}`, `field "image" "r/app:v1" is not pinned by digest`},
		{"short digest", `{"schemaVersion":1,"repository":"r/app","digest":"sha256:abc"}`, `field "digest" "sha256:abc"`},
	}
	for _, tc := range cases {
		path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"))
		if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Read(path)
		if err == nil || failure.KindOf(err) != failure.Usage || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want a usage error containing %q", tc.name, err, tc.want)
		}
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := Read(fifo); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("FIFO: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("FIFO: took %s", d)
	}
	ok := filepath.Join(dir, "ok")
	os.WriteFile(ok, []byte(`{"schemaVersion":1,"image":"r/app@`+d1+`","repository":"r/app","digest":"`+d1+`","source":{"commit":"c"}}`), 0o644)
	if r, err := Read(ok); err != nil || r.Digest != d1 {
		t.Errorf("a consistent file: %v", err)
	}
}
