package circleci_test

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The model is a leaf: the shipped linter and the dev tools both build on it, so it imports
// the standard library and the YAML parser only (never the CLI, a registry, or a dev package).
func TestModelImportsOnlyTheStandardLibraryAndYAML(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range parsed.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if path != "gopkg.in/yaml.v3" && strings.Contains(strings.Split(path, "/")[0], ".") {
				t.Errorf("%s imports %s", f, path)
			}
		}
	}
}
