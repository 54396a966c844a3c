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

// TestFastLoopsHoistRecords checks that the forwarding fast loops (and the
// batch loops around them) resolve buffer indices with a pkt.Recs taken
// before the loop (recs := pkt.Records(); recs.At(x)) and never call
// pkt.At inside a loop: pkt.At loads the global record base again for
// every packet, a load the compiler cannot hoist. It reads the sources of
// dp and its sub-packages, so it follows the nodes when they move.
func TestFastLoopsHoistRecords(t *testing.T) {
	want := map[string]bool{
		"etherFast": false, "etherVLANFast": false, "ip4Input": false, "ip4InputFast": false,
		"ip4Lookup": false, "lookupFast": false, "ip4Rewrite": false, "rewriteFast": false,
		"interfaceOutput": false, "send": false,
	}
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata") {
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
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			if _, ok := want[fn.Name.Name]; !ok {
				continue
			}
			want[fn.Name.Name] = true
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				var body *ast.BlockStmt
				switch l := n.(type) {
				case *ast.ForStmt:
					body = l.Body
				case *ast.RangeStmt:
					body = l.Body
				default:
					return true
				}
				ast.Inspect(body, func(n ast.Node) bool {
					call, ok := n.(*ast.CallExpr)
					if !ok {
						return true
					}
					if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "At" {
						if id, ok := sel.X.(*ast.Ident); ok && id.Name == "pkt" {
							t.Errorf("%s: %s calls pkt.At in a loop: take recs := pkt.Records() before the loop and call recs.At",
								fset.Position(call.Pos()), fn.Name.Name)
						}
					}
					return true
				})
				return false
			})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, found := range want {
		if !found {
			t.Errorf("no function %s under dp/: update the list of fast loops in this test", name)
		}
	}
}
