package app

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/shipgate/shipgate/helper/internal/testpeer/registryserver"
	"github.com/shipgate/shipgate/helper/internal/testpeer/testimage"
)

// TestPromotePrintsProgressUnlessQuiet (issue 18.2): `shipgate promote` across registries prints
// line-oriented progress and a summary on stderr; --quiet turns it off; stdout (JSON) is the
// same either way.
func TestPromotePrintsProgressUnlessQuiet(t *testing.T) {
	t.Parallel()
	src := registryserver.StartT(t, registryserver.Options{})
	dst := registryserver.StartT(t, registryserver.Options{})
	digest := testimage.Image(t, src.Repo("app:build"), 2)
	var outputs []map[string]any
	for i, quiet := range []bool{false, true} {
		args := []string{"promote", "--from", src.Repo("app@" + digest.String()), "--to", dst.Repo("prod" + string(rune('a'+i))), "--output", "json"}
		if quiet {
			args = append(args, "--quiet")
		}
		r := runCLI(t, nil, args...)
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		var out map[string]any
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
			t.Fatalf("stdout is not one JSON object: %v\n%s", err, r.stdout)
		}
		outputs = append(outputs, out)
		progress := strings.Contains(r.stderr, "shipgate: copying ") && strings.Contains(r.stderr, "shipgate: blob 3/3 ") &&
			strings.Contains(r.stderr, "shipgate: promoted sha256:")
		if progress == quiet {
			t.Errorf("quiet=%v: stderr %q", quiet, r.stderr)
		}
	}
	if len(outputs[0]) != len(outputs[1]) {
		t.Errorf("--quiet changed the JSON: %v vs %v", outputs[0], outputs[1])
	}
}
