package app

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCommandReferenceIsCurrent fails when docs/commands.md differs from what the CLI prints.
func TestCommandReferenceIsCurrent(t *testing.T) {
	t.Parallel()
	path := filepath.Join("..", "..", "..", "docs", "commands.md")
	want := CommandReference()
	got, err := os.ReadFile(path)
	if err != nil || string(got) != want {
		t.Fatalf("docs/commands.md is stale or missing: run `make docs` and commit the result")
	}
}
