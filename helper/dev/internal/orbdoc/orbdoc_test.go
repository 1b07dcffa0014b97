package orbdoc

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReferenceIsCurrent fails when docs/orb-reference.md differs from what the packed orb.yml
// renders.
func TestReferenceIsCurrent(t *testing.T) {
	root := filepath.Join("..", "..", "..", "..")
	packed, err := os.ReadFile(filepath.Join(root, "orb.yml"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := Reference(packed)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(root, "docs", "orb-reference.md"))
	if err != nil || string(got) != want {
		t.Fatal("docs/orb-reference.md is stale or missing: run `make orb` and commit the result")
	}
	for _, name := range []string{"job `shipgate/deploy_release`", "command `shipgate/install`", "`auto_rollback`"} {
		if !strings.Contains(want, name) {
			t.Errorf("reference lacks %s", name)
		}
	}
}
