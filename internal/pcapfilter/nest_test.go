package pcapfilter

import (
	"strings"
	"testing"
)

// TestCompileNestingBounded: parentheses, "not" and unary minus nest
// by recursion of the parser. A hostile expression of a million "("
// (an API request body holds one) overflowed the goroutine's stack, a
// fatal error that took the router down, and 5,000 levels took seconds
// of backtracking; beyond MaxNesting levels Compile says so at once.
func TestCompileNestingBounded(t *testing.T) {
	deep := MaxNesting + 1
	for _, expr := range []string{
		strings.Repeat("(", 1_000_000),
		strings.Repeat("(", 100_000) + "udp" + strings.Repeat(")", 100_000),
		strings.Repeat("not ", 200_000) + "udp",
		strings.Repeat("!", 200_000) + "udp",
		"len = " + strings.Repeat("-", 200_000) + "1",
		"host 10.0.0.1 or " + strings.Repeat("(", 200_000) + "10.0.0.2",
		"len = " + strings.Repeat("(", 200_000) + "1",
		strings.Repeat("(", deep) + "udp" + strings.Repeat(")", deep),
		strings.Repeat("not (", deep/2+1) + "udp" + strings.Repeat(")", deep/2+1),
	} {
		_, err := Compile(expr)
		if err == nil || !strings.Contains(err.Error(), "nested more than") || !strings.Contains(err.Error(), "levels deep") {
			t.Errorf("Compile(%.40q... %d bytes): %v, want the nesting error", expr, len(expr), err)
		}
		if err != nil && len(err.Error()) > 300 {
			t.Errorf("error of %d bytes", len(err.Error()))
		}
	}
	// At the limit, it compiles as before.
	for _, expr := range []string{
		strings.Repeat("(", MaxNesting) + "udp" + strings.Repeat(")", MaxNesting),
		strings.Repeat("not ", MaxNesting) + "udp",
		"host 10.0.0.1 or " + strings.Repeat("(", MaxNesting) + "10.0.0.2" + strings.Repeat(")", MaxNesting),
		"len = " + strings.Repeat("-", MaxNesting-1) + "1",
	} {
		if _, err := Compile(expr); err != nil {
			t.Errorf("Compile(%.40q...): %v", expr, err)
		}
	}
}
