package dp_test

// The whole-graph tests of this package (golden, fastpath differential,
// pipeline, fuzz, alloc) run the router's graph: every protocol package.
import _ "github.com/softnet/softnet/dp/nodes"
