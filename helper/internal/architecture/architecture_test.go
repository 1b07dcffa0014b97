package architecture

import (
	"bufio"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/shipgate/shipgate"

// rules reads the table of docs/architecture.md: `| `pkg` | what it holds | `a`, `b` |`. The first
// column names a package (relative to helper/), the last the shipgate packages it may import.
func rules(t *testing.T) map[string]map[string]bool {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "..", "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	code := regexp.MustCompile("`([^`]+)`")
	allowed := map[string]map[string]bool{}
	inTable := false
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		line := strings.TrimSpace(scanner.Text())
		if strings.HasPrefix(line, "| package |") {
			inTable = true
			continue
		}
		if !inTable || strings.HasPrefix(line, "|---") {
			continue
		}
		if !strings.HasPrefix(line, "|") {
			inTable = false
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) < 3 {
			t.Fatalf("docs/architecture.md: a row without three cells: %s", line)
		}
		names := code.FindAllStringSubmatch(cells[0], -1)
		if len(names) != 1 {
			t.Fatalf("docs/architecture.md: the first cell must name one package: %s", line)
		}
		imports := map[string]bool{}
		for _, m := range code.FindAllStringSubmatch(cells[len(cells)-1], -1) {
			imports[m[1]] = true
		}
		allowed[names[0][1]] = imports
	}
	if len(allowed) == 0 {
		t.Fatal("docs/architecture.md has no `| package |` table")
	}
	return allowed
}

type pkg struct {
	Dir        string
	GoFiles    []string
	ImportPath string
	Imports    []string
	Deps       []string
}

func list(t *testing.T, dir string, args ...string) []pkg {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-json"}, args...)...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %v: %v", args, err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// short turns github.com/shipgate/shipgate/helper/internal/ledger into internal/ledger.
func short(path string) string { return strings.TrimPrefix(path, module+"/helper/") }

// TestImportsFollowTheDrawing checks every non-test import between shipgate's packages (both
// modules) against docs/architecture.md; a package missing from the drawing fails too.
func TestImportsFollowTheDrawing(t *testing.T) {
	allowed := rules(t)
	root := filepath.Join("..", "..", "..")
	pkgs := append(list(t, root, "./..."), list(t, filepath.Join(root, "helper", "dev"), "./...")...)
	for _, p := range pkgs {
		name := short(p.ImportPath)
		may, ok := allowed[name]
		if !ok {
			t.Errorf("%s is not in docs/architecture.md: add it to the table with what it may import", name)
			continue
		}
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module+"/") {
				continue
			}
			if !may[short(imp)] {
				t.Errorf("%s imports %s, which docs/architecture.md does not allow", name, short(imp))
			}
		}
	}
}

// TestShippedBinaryStaysLean: the binary links no test peer and no dev tooling, only the command
// layer imports urfave/cli, and the shipped go.mod requires none of the dev tools' modules.
func TestShippedBinaryStaysLean(t *testing.T) {
	root := filepath.Join("..", "..", "..")
	bin := list(t, root, "-deps", "./helper/cmd/shipgate")
	for _, p := range bin {
		if strings.Contains(p.ImportPath, "/testpeer/") || strings.Contains(p.ImportPath, module+"/helper/dev") {
			t.Errorf("the shipped binary links %s", p.ImportPath)
		}
		if !strings.HasPrefix(p.ImportPath, module+"/") {
			continue
		}
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, "github.com/urfave/cli") && short(p.ImportPath) != "internal/app" {
				t.Errorf("%s imports urfave/cli: only internal/app may", short(p.ImportPath))
			}
		}
	}
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, dev := range []string{"github.com/distribution/distribution", "go.opentelemetry.io", "github.com/redis",
		"github.com/sigstore", "oras.land", "github.com/regclient", "github.com/CircleCI-Public", "github.com/open-policy-agent",
		"github.com/santhosh-tekuri/jsonschema"} {
		if strings.Contains(string(gomod), dev) {
			found = append(found, dev)
		}
	}
	sort.Strings(found)
	if len(found) > 0 {
		t.Errorf("the shipped module's go.mod requires dev-only modules %v: they belong in helper/dev or helper/dev/tools", found)
	}
}

// TestReleaseBuildLeavesOutCLIDocs: the release (.goreleaser.yaml) and `make build` build with
// urfave_cli_no_docs, and under that tag the binary links neither blackfriday nor md2man
// (urfave/cli's Markdown and man-page generation, unused by shipgate, whose package
// initialisation every command paid: issue 15).
func TestReleaseBuildLeavesOutCLIDocs(t *testing.T) {
	root := filepath.Join("..", "..", "..")
	for _, name := range []string{".goreleaser.yaml", "Makefile"} {
		b, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "urfave_cli_no_docs") {
			t.Errorf("%s does not build with -tags urfave_cli_no_docs", name)
		}
	}
	for _, p := range list(t, root, "-deps", "-tags", "urfave_cli_no_docs", "./helper/cmd/shipgate") {
		if strings.Contains(p.ImportPath, "blackfriday") || strings.Contains(p.ImportPath, "md2man") {
			t.Errorf("the release build links %s", p.ImportPath)
		}
	}
}

// startupExempt are shipped packages allowed a package-level regexp (none: add one only with
// the reason it cannot wait for first use).
var startupExempt = map[string]bool{}

// TestNoRegexpCompiledAtStartup: no shipped package compiles a regular expression while the
// program initialises (a package-level var, an immediately called func literal, an init
// function). Every shipgate command, --version included, links every package, so each such
// pattern is paid by every CI step (issue 15); sync.OnceValue compiles it on first use instead.
func TestNoRegexpCompiledAtStartup(t *testing.T) {
	root := filepath.Join("..", "..", "..")
	for _, p := range list(t, root, "-deps", "./helper/cmd/shipgate") {
		if !strings.HasPrefix(p.ImportPath, module+"/") || startupExempt[short(p.ImportPath)] {
			continue
		}
		fset := token.NewFileSet()
		for _, name := range p.GoFiles {
			f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, decl := range f.Decls {
				switch d := decl.(type) {
				case *ast.GenDecl:
					if d.Tok == token.VAR {
						for _, spec := range d.Specs {
							for _, v := range spec.(*ast.ValueSpec).Values {
								for _, pos := range compilesAtInit(v) {
									t.Errorf("%s: a regexp compiled at start-up; wrap it in sync.OnceValue", fset.Position(pos))
								}
							}
						}
					}
				case *ast.FuncDecl:
					if d.Recv == nil && d.Name.Name == "init" && d.Body != nil {
						for _, pos := range compilesAtInit(d.Body) {
							t.Errorf("%s: a regexp compiled in init; wrap it in sync.OnceValue", fset.Position(pos))
						}
					}
				}
			}
		}
	}
}

// compilesAtInit returns where n, evaluated during initialisation, calls regexp.Compile or
// regexp.MustCompile: a func literal's body runs then only when the literal is called on the spot.
func compilesAtInit(n ast.Node) []token.Pos {
	var found []token.Pos
	ast.Inspect(n, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.FuncLit:
			return false
		case *ast.CallExpr:
			if lit, ok := x.Fun.(*ast.FuncLit); ok {
				found = append(found, compilesAtInit(lit.Body)...)
			}
			if sel, ok := x.Fun.(*ast.SelectorExpr); ok {
				if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == "regexp" && strings.HasSuffix(sel.Sel.Name, "Compile") {
					found = append(found, x.Pos())
				}
			}
		}
		return true
	})
	return found
}
