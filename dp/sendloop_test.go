package dp_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"testing"
)

// TestSendLoopMakesNoCall checks that the per-frame loop of send (the
// first loop over the transmit vector, run for every forwarded frame)
// calls nothing but recs.At and the min builtin: padding short frames
// (pad) has a loop of its own, run only when a frame is short. A call
// in the hot loop, even one never taken, made the compiler spill the
// loop's values around it: 8 more instructions per frame (valgrind
// cachegrind, BenchmarkPipeline/forward).
func TestSendLoopMakesNoCall(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "output.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, decl := range f.Decls {
		fn, ok := decl.(*ast.FuncDecl)
		if !ok || fn.Name.Name != "send" || fn.Recv == nil || fn.Body == nil {
			continue
		}
		for _, st := range fn.Body.List {
			loop, ok := st.(*ast.RangeStmt)
			if !ok {
				continue
			}
			found = true
			ast.Inspect(loop.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				switch fun := call.Fun.(type) {
				case *ast.Ident:
					if fun.Name == "min" || fun.Name == "uint64" || fun.Name == "uint16" {
						return true
					}
				case *ast.SelectorExpr:
					if fun.Sel.Name == "At" {
						return true
					}
				}
				t.Errorf("%s: send's per-frame loop calls %s: keep calls out of it (see the padding loop)",
					fset.Position(call.Pos()), types(call.Fun))
				return true
			})
			break // the first loop is the per-frame one
		}
	}
	if !found {
		t.Fatal("no per-frame loop in (*Worker).send in output.go: update this test")
	}
}

func types(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.SelectorExpr:
		return types(e.X) + "." + e.Sel.Name
	}
	return "a function"
}
