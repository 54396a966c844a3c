package bench

import (
	"testing"
	"time"

	"github.com/softnet/softnet/hdr"
)

func TestARPRequestFrame(t *testing.T) {
	f := ARPRequestFrame()
	a := hdr.ARP(f[hdr.EthernetLen:])
	if a.Validate() != hdr.OK || a.Op() != hdr.ARPRequest {
		t.Fatalf("not an ARP request: % x", f)
	}
	if got, want := a.TargetIP(), InAddr.Addr().As4(); got != uint32(want[0])<<24|uint32(want[1])<<16|uint32(want[2])<<8|uint32(want[3]) {
		t.Fatalf("target %#x", got)
	}
	mix := ARPMix(make([][]byte, 10), 4)
	for i, m := range mix {
		if (m != nil) != (i%4 == 0) {
			t.Fatalf("ARP at %d: %v", i, m != nil)
		}
	}
}

// TestOverload runs the overload scenario briefly: forwarding must
// plateau (loosely: a shared machine), the data plane must keep answering
// ARP at 2×, and livelocks must show at 2× and not at 0.5×.
func TestOverload(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the full table and runs for a few seconds")
	}
	rep, err := RunOverload(OverloadOptions{Duration: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Runs {
		t.Logf("%g×: offered %.2f forwarded %.2f Mpps, ifq drops %d, livelocks %d/%d busy/%d polls, ARP %d offered %d ring-dropped %d answered, drops %v",
			r.Load, r.OfferedMpps, r.ForwardedMpps, r.IfqDrops, r.Livelocks, r.BusyPolls, r.Polls,
			r.ARPRequestsOffered, r.ARPRequestsIfqDropped, r.ARPRepliesSent, r.Drops)
		t.Logf("   other load %.2f steal %.2f punts %d full %d", r.OtherLoad, r.Steal, r.Punts, r.PuntFull)
		// Each slice may stop with a ring's worth pending.
		if pending := r.Offered - r.Received - r.IfqDrops; r.Received+r.IfqDrops > r.Offered || pending > uint64(rep.Ring*overloadSlices) {
			t.Errorf("%g×: offered %d, received %d + ifq drops %d + at most %d in the rings", r.Load, r.Offered, r.Received, r.IfqDrops, rep.Ring*overloadSlices)
		}
		if r.ARPRepliesSent != r.ARPRequestsReceived || r.ARPRequestsReceived+r.ARPRequestsIfqDropped > r.ARPRequestsOffered {
			t.Errorf("%g×: ARP offered %d, ring-dropped %d, received %d, replies %d", r.Load, r.ARPRequestsOffered, r.ARPRequestsIfqDropped, r.ARPRequestsReceived, r.ARPRepliesSent)
		}
	}
	t.Logf("capacity %.2f Mpps, plateau %.3f", rep.CapacityMpps, rep.Plateau)
	if rep.Plateau < 0.8 {
		t.Errorf("plateau %.3f: forwarding at 2× fell below 0.8 of 1×", rep.Plateau)
	}
	half, two := rep.Run(0.5), rep.Run(2)
	if two.ARPRepliesSent == 0 {
		t.Errorf("no ARP reply at 2× (%d requests offered)", two.ARPRequestsOffered)
	}
	if two.Livelocks == 0 || two.IfqDrops == 0 {
		t.Errorf("2×: %d livelocks, %d ifq drops; want both > 0", two.Livelocks, two.IfqDrops)
	}
	// At 0.5× the worker keeps up, so livelocks should be 0; on a shared
	// VM its thread is paused for 50–500 µs hundreds of times a second (a
	// 1024-slot ring fills in ~80 µs at this rate), and pauses in quick
	// succession while the ring drains look like a few livelocks. Allow
	// those, not a sustained count: under 2% of the 2× figure.
	if half.Livelocks*50 > two.Livelocks {
		t.Errorf("0.5×: %d livelocks against %d at 2×; want (nearly) none", half.Livelocks, two.Livelocks)
	}
}
