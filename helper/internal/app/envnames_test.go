package app

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// allFlagInputs lists every flag of every command with the variable that sets it.
func allFlagInputs(t *testing.T) map[string]string {
	t.Helper()
	inputs := map[string]string{}
	var walk func(prefix string, cmds []*cli.Command)
	walk = func(prefix string, cmds []*cli.Command) {
		for _, c := range cmds {
			for _, f := range c.Flags {
				for _, name := range f.Names()[:1] {
					inputs[prefix+c.Name+" --"+name] = FlagEnvName(name)
				}
			}
			walk(prefix+c.Name+" ", c.Subcommands)
		}
	}
	walk("", newApp(&streams{getenv: func(string) string { return "" }}).Commands)
	if len(inputs) < 50 {
		t.Fatalf("only %d flags found: the walk is broken", len(inputs))
	}
	return inputs
}

// Inputs and outputs have separate names (issue 12 point 3): no flag is set by a variable that a
// command exports or the orb hands over by name, so no list of exceptions is needed.
func TestNoFlagInputIsAnExportedName(t *testing.T) {
	reserved := map[string]bool{}
	for _, n := range append(append([]string(nil), ExportedNames...), HandOverNames...) {
		reserved[n] = true
	}
	for flag, variable := range allFlagInputs(t) {
		if reserved[variable] {
			t.Errorf("%s is set by %s, which is also an exported or handed-over name", flag, variable)
		}
		if !strings.HasPrefix(variable, FlagEnvPrefix) {
			t.Errorf("%s is set by %s, outside %s*", flag, variable, FlagEnvPrefix)
		}
	}
}

// Every name a command exports is in ExportedNames: read from the commands' own source, so a new
// export cannot slip past the test above.
func TestExportedNamesAreDeclared(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	key := regexp.MustCompile(`"(SHIPGATE_[A-Z0-9_]+)":`)
	declared := map[string]bool{}
	for _, n := range ExportedNames {
		declared[n] = true
	}
	found := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range key.FindAllStringSubmatch(string(data), -1) {
			found++
			if !declared[m[1]] {
				t.Errorf("%s exports %s, which ExportedNames does not list", f, m[1])
			}
		}
		for _, m := range regexp.MustCompile(`vars\["(SHIPGATE_[A-Z0-9_]+)"\]`).FindAllStringSubmatch(string(data), -1) {
			found++
			if !declared[m[1]] {
				t.Errorf("%s exports %s, which ExportedNames does not list", f, m[1])
			}
		}
	}
	if found < 10 {
		t.Fatalf("found only %d exported names in the source: the scan is broken", found)
	}
}

// An exported name is never read as a flag: promote's SHIPGATE_DIGEST does not become
// rollback's --digest, record-artifact's --image ignores SHIPGATE_IMAGE, and the old input
// spelling (SHIPGATE_<FLAG>) is not read but named in a note.
func TestOutputsAreNotReadAsFlags(t *testing.T) {
	digest := "sha256:" + strings.Repeat("b", 64)
	r := runCLI(t, map[string]string{"SHIPGATE_DIGEST": digest, "SHIPGATE_FLAG_ENV": "production"},
		"rollback", "--repo", "127.0.0.1:1/app", "--digest", "not-a-digest")
	if r.code != 2 || strings.Contains(r.stderr, digest) {
		t.Fatalf("explicit bad --digest: exit %d, stderr %q", r.code, r.stderr)
	}
	r = runCLI(t, map[string]string{"SHIPGATE_IMAGE": "127.0.0.1:1/app@" + digest}, "record-artifact")
	if r.code != 2 || !strings.Contains(r.stderr, "--image") {
		t.Fatalf("record-artifact without --image took SHIPGATE_IMAGE: exit %d, stderr %q", r.code, r.stderr)
	}
	r = runCLI(t, map[string]string{"SHIPGATE_REPO": "127.0.0.1:1/app"}, "rollback", "--env", "production")
	if r.code != 2 || !strings.Contains(r.stderr, "SHIPGATE_REPO is not read any more; set SHIPGATE_FLAG_REPO for --repo") {
		t.Fatalf("old spelling SHIPGATE_REPO: exit %d, stderr %q", r.code, r.stderr)
	}
	r = runCLI(t, map[string]string{"SHIPGATE_FLAG_REPO": "127.0.0.1:1/app"}, "rollback", "--env", "production", "--digest", "bad")
	if r.code != 2 || strings.Contains(r.stderr, "not read any more") || !strings.Contains(r.stderr, "digest") {
		t.Fatalf("SHIPGATE_FLAG_REPO: exit %d, stderr %q", r.code, r.stderr)
	}
}
