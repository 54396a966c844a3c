package dptest

import (
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"strings"
	"testing"
)

// CheckFastLoopsReloadIndex checks that the functions names of the Go
// file file (a node's fast loops) compact their vector with
// in.B[k] = in.B[i], reading the buffer index again, and keep no local
// copy of it (x := in.B[i]) across the loop body: with the record base
// and the record pointer live, a kept index is one value too many for the
// registers, and the compiler then spills the loop's counters to the
// stack and reloads them for every packet. It fails t when a function is
// missing, so the list is kept up to date.
func CheckFastLoopsReloadIndex(t *testing.T, file string, names ...string) {
	t.Helper()
	want := map[string]bool{}
	for _, n := range names {
		want[n] = false
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, nil, 0)
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
			t.Errorf("no function %s in %s: update the list of fast loops in this test", name, file)
		}
	}
}
