package ip6_test

import (
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"strings"
	"testing"
)

// TestFastLoopsReloadIndex checks that ip6-input and ip6-lookup have
// their fast loops (ip6InputFast and lookupFast, as IPv4's: the ordinary
// transit packet passes a few tests at once instead of the general loop's
// per-rule branches; issue 12, ip6-input about 2 ns/packet less,
// ip6-lookup 1-2) and that they compact its vector as the IPv4 ones do (see dp/ip4's
// TestFastLoopsReloadIndex): in.B[k] = in.B[i], no local copy of the
// index. TestFastPathDifferential (dp) checks it against the general path.
func TestFastLoopsReloadIndex(t *testing.T) {
	want := map[string]bool{"ip6InputFast": false, "lookupFast": false}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "ip6.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	src := func(e ast.Expr) string {
		var b strings.Builder
		printer.Fprint(&b, fset, e)
		return b.String()
	}
	for _, decl := range f.Decls {
		fn, ok := decl.(*ast.FuncDecl)
		if !ok || fn.Body == nil {
			continue
		}
		if _, ok := want[fn.Name.Name]; !ok {
			continue
		}
		stores := 0
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			as, ok := n.(*ast.AssignStmt)
			if !ok || len(as.Lhs) != 1 || len(as.Rhs) != 1 {
				return true
			}
			lhs, rhs := src(as.Lhs[0]), src(as.Rhs[0])
			switch {
			case lhs == "in.B[k]":
				stores++
				if rhs != "in.B[i]" {
					t.Errorf("%s: %s stores %s into in.B[k]: store in.B[i] (read the index again, keep no copy)",
						fset.Position(as.Pos()), fn.Name.Name, rhs)
				}
			case as.Tok == token.DEFINE && rhs == "in.B[i]":
				t.Errorf("%s: %s keeps the index in %s: use recs.At(in.B[i]) and store in.B[i]",
					fset.Position(as.Pos()), fn.Name.Name, lhs)
			}
			return true
		})
		if stores != 1 {
			t.Errorf("%s: %d stores into in.B[k], want 1: update this test", fn.Name.Name, stores)
		}
		want[fn.Name.Name] = true
	}
	for name, found := range want {
		if !found {
			t.Errorf("no function %s in ip6.go: update the list of fast loops in this test", name)
		}
	}
}
