package ip4_test

import (
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"strings"
	"testing"
)

// TestFastLoopsReloadIndex checks that the IPv4 fast loops (ip4InputFast,
// lookupFast, rewriteFast) compact their vector with in.B[k] = in.B[i],
// reading the buffer index again, and keep no local copy of it (x :=
// in.B[i]) across the loop body. With the record base and the record
// pointer live, a kept index is one value too many for the registers: the
// compiler then spills the loop's counters to the stack and reloads them
// for every packet (ip4-input and ip4-rewrite ran 3-4 % slower per packet
// than the engine before the buffer indices, b5d5491, until this).
func TestFastLoopsReloadIndex(t *testing.T) {
	want := map[string]bool{"ip4InputFast": false, "lookupFast": false, "rewriteFast": false}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "ip4.go", nil, 0)
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
			t.Errorf("no function %s in ip4.go: update the list of fast loops in this test", name)
		}
	}
}
