package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPackCheckAndWrite(t *testing.T) {
	src := filepath.Join("..", "..", "internal", "orbpack", "testdata", "mini", "src")
	out := filepath.Join(t.TempDir(), "orb.yml")
	if err := os.WriteFile(out, []byte("stale\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"pack", "-src", src, "-out", out, "-check"}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "make orb") {
		t.Errorf("stale check: exit %d, stderr %q", code, stderr.String())
	}
	if code := run([]string{"pack", "-src", src, "-out", out}, &stdout, &stderr); code != 0 {
		t.Fatalf("pack: exit %d, stderr %q", code, stderr.String())
	}
	stderr.Reset()
	if code := run([]string{"pack", "-src", src, "-out", out, "-check"}, &stdout, &stderr); code != 0 {
		t.Errorf("fresh check: exit %d, stderr %q", code, stderr.String())
	}
	if code := run([]string{"nope"}, &stdout, &stderr); code != 2 {
		t.Errorf("unknown command: exit %d", code)
	}
}

func TestRepositoryValidatesAndReviews(t *testing.T) {
	root := filepath.Join("..", "..", "..", "..")
	var stdout, stderr bytes.Buffer
	for _, args := range [][]string{
		{"validate", "-src", filepath.Join(root, "src"), "-orb", filepath.Join(root, "orb.yml"),
			"-schema", filepath.Join(root, "schemas", "circleci-yaml-language-server.schema.json"), "-config", filepath.Join(root, ".circleci")},
		{"review", "-src", filepath.Join(root, "src")},
	} {
		if code := run(args, &stdout, &stderr); code != 0 {
			t.Errorf("%s: exit %d\n%s%s", args[0], code, stdout.String(), stderr.String())
		}
	}
}

func TestPublishedChecksWhatCircleCIDoes(t *testing.T) {
	src := t.TempDir()
	if err := os.MkdirAll(filepath.Join(src, "commands"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "commands", "deploy.yml"), []byte("description: x\nsteps: [{run: {name: x, command: echo}}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"published", "-src", src}, &stdout, &stderr); code != 1 || !strings.Contains(stdout.String(), "[CC003]") {
		t.Errorf("a command named deploy: exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
}
