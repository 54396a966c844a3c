package ip6_test

import (
	"testing"

	"github.com/softnet/softnet/dp/dptest"
)

// TestFastLoopsReloadIndex checks that ip6-input and ip6-lookup have
// their fast loops (ip6InputFast and lookupFast, as IPv4's: the ordinary
// transit packet passes a few tests at once instead of the general loop's
// per-rule branches; issue 12, ip6-input about 2 ns/packet less,
// ip6-lookup 1-2) and that they compact its vector as the IPv4 ones do (see dp/ip4's
// TestFastLoopsReloadIndex): in.B[k] = in.B[i], no local copy of the
// index. TestFastPathDifferential (dp) checks it against the general path.
func TestFastLoopsReloadIndex(t *testing.T) {
	dptest.CheckFastLoopsReloadIndex(t, "ip6.go", "ip6InputFast", "lookupFast")
}
