package exportenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// adversarialValues are values that would execute or break out of quoting if written naively.
var adversarialValues = []string{
	"plain",
	"",
	"it's",
	"'; touch MARK; '",
	"$(touch MARK)",
	"`touch MARK`",
	"a\nb\ntouch MARK",
	`\'"$HOME"`,
	"'''",
	"\\",
	"${IFS}touch${IFS}MARK",
	"\u00e9\u4e2d\u6587",
}

func TestExportLinesRoundTripInBash(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash not installed")
	}
	dir := t.TempDir()
	mark := filepath.Join(dir, "MARK")
	exportFile := filepath.Join(dir, "bash_env")
	vars := map[string]string{}
	for i, v := range adversarialValues {
		vars["V"+string(rune('A'+i))] = strings.ReplaceAll(v, "MARK", mark)
	}
	if err := Append(exportFile, vars); err != nil {
		t.Fatal(err)
	}
	for name, want := range vars {
		cmd := exec.Command("bash", "-c", `source "$1" && printf '%s' "${!2}"`, "bash", exportFile, name)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("sourcing %s: %v", name, err)
		}
		if string(out) != want {
			t.Errorf("%s: got %q, want %q", name, out, want)
		}
	}
	if _, err := os.Stat(mark); err == nil {
		t.Fatal("sourcing the export file executed a payload")
	}
	info, err := os.Stat(exportFile)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("new export file mode %o, want 600", perm)
	}
}

func TestRejectsBadNamesAndNul(t *testing.T) {
	for _, name := range []string{"", "1A", "A-B", "A B", "A;B", "$(x)"} {
		if _, err := Line(name, "v"); err == nil {
			t.Errorf("name %q accepted", name)
		}
	}
	if _, err := Line("A", "a\x00b"); err == nil {
		t.Error("NUL byte accepted")
	}
}

func TestRefusesSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := Append(link, map[string]string{"A": "secret"}); err == nil {
		t.Fatal("a symlinked export file was followed")
	}
	if b, _ := os.ReadFile(target); len(b) != 0 {
		t.Fatal("value written through a symlink")
	}
}

func FuzzQuoteRoundTrip(f *testing.F) {
	for _, v := range adversarialValues {
		f.Add(v)
	}
	if _, err := exec.LookPath("bash"); err != nil {
		f.Skip("bash not installed")
	}
	f.Fuzz(func(t *testing.T, value string) {
		line, err := Line("V", value)
		if err != nil {
			if strings.ContainsRune(value, 0) {
				return
			}
			t.Fatal(err)
		}
		out, err := exec.Command("bash", "-c", line+`printf '%s' "$V"`).Output()
		if err != nil {
			t.Fatalf("bash failed on %q: %v", line, err)
		}
		if string(out) != value {
			t.Fatalf("round trip: got %q want %q", out, value)
		}
	})
}

// TestAppendStartsOnANewLine (issue 14 class 4): a file whose last line has no newline does
// not swallow the first export (or unset) line; variants: a comment, an unfinished export,
// a single byte, and an empty file (no blank line added).
func TestAppendStartsOnANewLine(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash not installed")
	}
	for _, before := range []string{"# set by an earlier step", "export EARLIER=1", "x=1", ""} {
		path := filepath.Join(t.TempDir(), "bash_env")
		if err := os.WriteFile(path, []byte(before), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := AppendLines(path, "unset AWS_PROFILE\n"); err != nil {
			t.Fatal(err)
		}
		if err := Append(path, map[string]string{"SHIPGATE_IMAGE": "r/app@sha256:1"}); err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(path)
		want := "unset AWS_PROFILE\nexport SHIPGATE_IMAGE='r/app@sha256:1'\n"
		if before != "" {
			want = before + "\n" + want
		}
		if string(data) != want {
			t.Errorf("after %q: file %q, want %q", before, data, want)
		}
		out, err := exec.Command("bash", "-c", `AWS_PROFILE=x; source "$1" && printf '%s|%s' "${AWS_PROFILE-unset}" "$SHIPGATE_IMAGE"`, "bash", path).Output()
		if err != nil || string(out) != "unset|r/app@sha256:1" {
			t.Errorf("after %q: sourced %q (%v)", before, out, err)
		}
	}
}

// TestAppendRefusesAFIFO: a FIFO at the export path is refused at once, never waited on.
func TestAppendRefusesAFIFO(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skip(err)
	}
	if err := Append(path, map[string]string{"A": "1"}); err == nil {
		t.Fatal("a FIFO was accepted as an export file")
	}
	if err := Check(path); err == nil {
		t.Fatal("Check accepted a FIFO")
	}
}
