package app

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode"

	"github.com/shipgate/shipgate/helper/internal/testpeer/registryserver"
	"github.com/shipgate/shipgate/helper/internal/testpeer/testimage"
)

// TestTextOutputCannotBeForged (issue 14 class 3): values that came from a flag, the
// environment or the registry (a ledger record's reason, version and pipeline number) cannot
// add rows, rewrite lines or hide text in `releases` text output; JSON keeps them exactly.
func TestTextOutputCannotBeForged(t *testing.T) {
	t.Parallel()
	reg := registryserver.StartT(t, registryserver.Options{})
	repo := reg.Repo("app")
	good := testimage.Image(t, repo+":good", 1).String()
	bad := testimage.Image(t, repo+":bad", 2).String()
	forgedRow := "\n2026-01-01T00:00:00Z  good      " + good[:19] + " (current)  cafe  1  fine"
	marks := []struct {
		args []string
		env  map[string]string
	}{
		// The reported case: a newline in --reason adds a fake "good … (current)" row.
		{[]string{"mark-bad", "--image", repo + "@" + bad, "--env", "prod", "--reason", "smoke failed" + forgedRow}, nil},
		// Variants: CR and ESC through the pipeline number (an environment variable), a bidi
		// override and a C1 CSI through --version.
		{[]string{"mark-deployed", "--image", repo + "@" + bad, "--env", "prod", "--force"}, map[string]string{"SHIPGATE_PIPELINE_NUMBER": "7\r\x1b[2K\x1b[1A(current)"}},
		{[]string{"mark-good", "--image", repo + "@" + good, "--env", "prod", "--version", "v1\u202e\u0085\u009b31m"}, nil},
	}
	for _, m := range marks {
		mustCode(t, runCLI(t, m.env, m.args...), 0)
	}
	r := runCLI(t, nil, "releases", "--repo", repo, "--env", "prod")
	mustCode(t, r, 0)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != 2+len(marks) {
		t.Errorf("want %d lines (current, header, one per entry), got %d:\n%s", 2+len(marks), len(lines), r.stdout)
	}
	currentRows := 0
	for _, line := range lines[2:] {
		if f := strings.Fields(line); len(f) > 3 && strings.HasPrefix(f[3], "(current") {
			currentRows++
			if f[1] != "deployed" {
				t.Errorf("row %q is marked current", line)
			}
		}
	}
	if currentRows != 1 {
		t.Errorf("%d rows marked current, want 1:\n%s", currentRows, r.stdout)
	}
	for _, line := range lines {
		for _, c := range line {
			if unicode.IsControl(c) && c != '\t' || c >= 0x202a && c <= 0x202e {
				t.Errorf("unescaped %U in %q", c, line)
			}
		}
	}
	for _, want := range []string{`smoke failed\n2026-01-01T00:00:00Z`, `7\r\x1b[2K\x1b[1A(current)`} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("text output does not show %s escaped:\n%s", want, r.stdout)
		}
	}
	// JSON output is the exact value.
	r = runCLI(t, nil, "releases", "--repo", repo, "--env", "prod", "--output", "json")
	mustCode(t, r, 0)
	var out struct{ Entries []releaseView }
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range out.Entries {
		found = found || e.Reason == "smoke failed"+forgedRow
	}
	if !found {
		t.Errorf("JSON lost the exact reason: %s", r.stdout)
	}
}

// TestErrorAndProgressLinesAreEscaped: an error cause or a progress argument quoting a
// server's or a file's words cannot add a line or an escape sequence to stderr.
func TestErrorAndProgressLinesAreEscaped(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	code := reportError(&b, errors.New("registry said: denied\x1b[2K\rshipgate: done \u202e"))
	if code != 1 || strings.Count(b.String(), "\n") != 1 || strings.ContainsAny(b.String(), "\x1b\r\u202e") {
		t.Errorf("error line %q (exit %d)", b.String(), code)
	}
	b.Reset()
	s := &streams{stderr: &b}
	s.progress("warning: %s", "tag moved\nshipgate: all good\x1b]8;;http://x\x07")
	if strings.Count(b.String(), "\n") != 1 || strings.ContainsAny(b.String(), "\x1b\x07") {
		t.Errorf("progress line %q", b.String())
	}
}
