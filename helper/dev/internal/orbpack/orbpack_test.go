package orbpack

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
)

// The goldens are the CircleCI CLI's own output (testdata/README.md); the CLI adds one
// newline with fmt.Println, which Pack leaves out.
func TestPackMatchesCLIGoldens(t *testing.T) {
	for _, name := range []string{"mini", "edge"} {
		t.Run(name, func(t *testing.T) {
			got, err := Pack(filepath.Join("testdata", name, "src"))
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join("testdata", name, "orb.yml"))
			if err != nil {
				t.Fatal(err)
			}
			want = bytes.TrimSuffix(want, []byte("\n"))
			if !bytes.Equal(got, want) {
				t.Errorf("packed %s differs from the CLI's output\n--- got\n%s\n--- want\n%s", name, got, want)
			}
		})
	}
}

func TestPackErrors(t *testing.T) {
	tests := []struct {
		name string
		fs   fstest.MapFS
	}{
		{"no @orb.yml", fstest.MapFS{"commands/a.yml": {Data: []byte("steps: []\n")}}},
		{"missing include", fstest.MapFS{
			"@orb.yml":       {Data: []byte("version: 2.1\n")},
			"commands/a.yml": {Data: []byte("steps:\n  - run: <<include(scripts/none.sh)>>\n")},
		}},
		{"partial include", fstest.MapFS{
			"@orb.yml":       {Data: []byte("version: 2.1\n")},
			"scripts/x.sh":   {Data: []byte("echo\n")},
			"commands/a.yml": {Data: []byte("steps:\n  - run: echo <<include(scripts/x.sh)>>\n")},
		}},
		{"include leaving the orb", fstest.MapFS{
			"@orb.yml":       {Data: []byte("version: 2.1\n")},
			"commands/a.yml": {Data: []byte("steps:\n  - run: <<include(../etc/passwd)>>\n")},
		}},
		{"list file", fstest.MapFS{
			"@orb.yml":       {Data: []byte("version: 2.1\n")},
			"commands/a.yml": {Data: []byte("- a\n")},
		}},
		{"bad yaml", fstest.MapFS{
			"@orb.yml":       {Data: []byte("version: 2.1\n")},
			"commands/a.yml": {Data: []byte("a: [\n")},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if out, err := PackFS(tt.fs); err == nil {
				t.Errorf("PackFS succeeded, want an error; output:\n%s", out)
			}
		})
	}
}

func TestPackIgnoresOtherFoldersAndFiles(t *testing.T) {
	base := fstest.MapFS{
		"@orb.yml":       {Data: []byte("version: 2.1\ndescription: d\n")},
		"commands/a.yml": {Data: []byte("description: a\nsteps: []\n")},
	}
	want, err := PackFS(base)
	if err != nil {
		t.Fatal(err)
	}
	noisy := fstest.MapFS{}
	for k, v := range base {
		noisy[k] = v
	}
	noisy["scripts/a.yml"] = &fstest.MapFile{Data: []byte("description: ignored\n")}
	noisy["commands/.hidden.yml"] = &fstest.MapFile{Data: []byte("description: ignored\n")}
	noisy["commands/README.md"] = &fstest.MapFile{Data: []byte("# ignored\n")}
	noisy["commands/nested/b.yml"] = &fstest.MapFile{Data: []byte("description: ignored\n")}
	got, err := PackFS(noisy)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("extra files changed the output:\n%s\nwant\n%s", got, want)
	}
}

func FuzzPack(f *testing.F) {
	f.Add([]byte("description: x\nsteps:\n  - run:\n      command: <<include(scripts/a.sh)>>\n"), []byte("cat <<EOF\nx\nEOF\n"))
	f.Add([]byte("parameters:\n  a: {type: string, default: \"yes\"}\n"), []byte(""))
	f.Add([]byte("steps: [{run: {command: \"<<include(scripts/a.sh)>>\", name: x}}]"), []byte("a\\<<b<<<c"))
	f.Fuzz(func(t *testing.T, command, script []byte) {
		fsys := fstest.MapFS{
			"@orb.yml":       {Data: []byte("version: 2.1\ndescription: fuzz\n")},
			"commands/c.yml": {Data: command},
			"scripts/a.sh":   {Data: script},
		}
		out, err := PackFS(fsys)
		if err != nil {
			return
		}
		// Packing is deterministic and its output is YAML that packs to itself as a root file.
		again, err := PackFS(fsys)
		if err != nil || !bytes.Equal(out, again) {
			t.Fatalf("second pack differs: %v", err)
		}
		if _, err := PackFS(fstest.MapFS{"@orb.yml": {Data: out}}); err != nil {
			t.Fatalf("packed output does not parse again: %v\n%s", err, out)
		}
	})
}

// The committed orb.yml is generated: it must equal the packed src/.
func TestCommittedOrbIsPacked(t *testing.T) {
	got, err := Pack("../../../../src")
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile("../../../../orb.yml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, committed) {
		t.Error("orb.yml differs from the packed src/: run `make orb` and commit orb.yml")
	}
}

// filetree reads symlinked YAML files like regular ones (through the link), also in folders.
func TestPackFollowsSymlinkedFiles(t *testing.T) {
	dir := t.TempDir()
	mustWrite := func(name, content string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mustWrite("src/@orb.yml", "version: 2.1\n")
	mustWrite("shared/greet.yml", "description: shared\nsteps: []\n")
	if err := os.MkdirAll(filepath.Join(dir, "src", "commands"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "shared", "greet.yml"), filepath.Join(dir, "src", "commands", "greet.yml")); err != nil {
		t.Skip("no symlinks here:", err)
	}
	out, err := Pack(filepath.Join(dir, "src"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out, []byte("greet:\n        description: shared")) {
		t.Errorf("symlinked command missing:\n%s", out)
	}
}
