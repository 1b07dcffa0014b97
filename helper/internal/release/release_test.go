package release

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteKeepsUnknownFields(t *testing.T) {
	path := filepath.Join(t.TempDir(), "release.json")
	original := `{"schemaVersion":1,"repository":"r/app","digest":"sha256:` + "ab" + `","teamNote":{"x":1}}`
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
