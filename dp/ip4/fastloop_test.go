package ip4_test

import (
	"testing"

	"github.com/softnet/softnet/dp/dptest"
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
	dptest.CheckFastLoopsReloadIndex(t, "ip4.go", "ip4InputFast", "lookupFast", "rewriteFast")
}
