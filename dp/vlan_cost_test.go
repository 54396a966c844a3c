package dp_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// funcDecls parses the non-test sources of dp and its sub-packages and
// returns the functions named in names (it fails the test for any
// missing: the check must follow the nodes when they move).
func funcDecls(t *testing.T, names ...string) (*token.FileSet, map[string]*ast.FuncDecl) {
	t.Helper()
	fset := token.NewFileSet()
	found := map[string]*ast.FuncDecl{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "testdata" {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			if fn, ok := decl.(*ast.FuncDecl); ok && fn.Body != nil {
				for _, n := range names {
					if fn.Name.Name == n {
						found[n] = fn
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if found[n] == nil {
			t.Fatalf("function %s not found in dp's sources: update this test", n)
		}
	}
	return fset, found
}

// mentions reports whether expression e names the field or variable id.
func mentions(e ast.Node, id string) bool {
	seen := false
	ast.Inspect(e, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.Ident:
			seen = seen || x.Name == id
		case *ast.SelectorExpr:
			seen = seen || x.Sel.Name == id
		}
		return !seen
	})
	return seen
}

// TestRewriteNoTagBranch: ip4-rewrite writes a tagged header as it writes
// an untagged one, one fixed-size store of the adjacency's ready-made
// header (Adj.L2), so a VLAN costs it nothing: no if or switch in
// rewriteFast or writeL2 looks at the tag length (a branch per header
// length, with a store per piece, made the VLAN scenario's rewrite a
// third slower than the untagged one).
func TestRewriteNoTagBranch(t *testing.T) {
	fset, fns := funcDecls(t, "rewriteFast", "writeL2")
	for name, fn := range fns {
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			var cond ast.Node
			switch s := n.(type) {
			case *ast.IfStmt:
				cond = s.Cond
			case *ast.SwitchStmt:
				cond = s.Tag
				if cond == nil {
					cond = s.Body // tagless switch: its cases are the conditions
				}
			default:
				return true
			}
			if cond != nil && mentions(cond, "TagLen") {
				t.Errorf("%s: %s branches on the tag length: write Adj.L2 whole, tagged or not", fset.Position(n.Pos()), name)
			}
			return true
		})
	}
}
