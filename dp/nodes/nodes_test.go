package nodes_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/softnet/softnet/dp"
	_ "github.com/softnet/softnet/dp/nodes"
)

// TestGraph: the graph assembled from every protocol package lists every
// node and drop reason the router had before the nodes moved to their
// folders, in the same order, with the same names and descriptions
// (testdata/graph.txt): show errors, the metrics and the golden
// counters.txt files name them.
func TestGraph(t *testing.T) {
	var b strings.Builder
	for _, s := range dp.Stages() {
		fmt.Fprintf(&b, "node %s\n", s)
	}
	for _, r := range dp.Reasons() {
		fmt.Fprintf(&b, "reason %s: %s\n", r, r.Desc())
	}
	want, err := os.ReadFile("testdata/graph.txt")
	if err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != string(want) {
		t.Errorf("assembled graph:\n%s\nwant (testdata/graph.txt):\n%s", got, want)
	}
	if err := dp.ValidateNodes(); err != nil {
		t.Errorf("the whole graph does not validate: %v", err)
	}
}
