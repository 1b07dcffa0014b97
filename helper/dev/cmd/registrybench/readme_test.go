package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shipgate/shipgate/helper/dev/internal/reporoot"
)

// TestReadmeTablesComeFromTheReport: the README's benchmark block is exactly what `make bench`
// derives from the committed bench/RESULTS.md (edit neither by hand: run make bench).
func TestReadmeTablesComeFromTheReport(t *testing.T) {
	wd, _ := os.Getwd()
	root, err := reporoot.Find(wd)
	if err != nil {
		t.Fatal(err)
	}
	report, err := os.ReadFile(filepath.Join(root, "bench", "RESULTS.md"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := readmeBlock(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if want := readmeTables(string(report)); got != want {
		t.Fatalf("README.md's benchmark block differs from bench/RESULTS.md's tables: run make bench (or copy them with registrybench -readme-only)\n--- README\n%s\n--- from the report\n%s", got, want)
	}
}

// TestReadmeTablesPickTheirSections: tables and verdict lines of the named sections, nothing of
// the others.
func TestReadmeTablesPickTheirSections(t *testing.T) {
	report := "# R\n\n## docker-registry 2.8 (Debian), anonymous\n\n| a | b |\n|---|---|\n| x | 1 |\n\n" +
		"## distribution v3.1.2, anonymous\n\n| a | b |\n|---|---|\n| y | 2 |\n\nshipgate had more requests than regctl in no row of this run.\n\nshipgate's requests by kind:\n\n- y: GET 1\n\n" +
		"## Cross-registry wall time\n\nprose\n\n| c | d |\n|---|---|\n| z | 3 |\n\nshipgate had a slower median than crane in: z.\n"
	got := readmeTables(report)
	for _, want := range []string{"| y | 2 |", "in no row of this run.", "| z | 3 |", "in: z."} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	for _, not := range []string{"| x | 1 |", "GET 1", "prose"} {
		if strings.Contains(got, not) {
			t.Errorf("%q should not be copied:\n%s", not, got)
		}
	}
}
