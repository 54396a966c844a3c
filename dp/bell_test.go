package dp_test

import (
	"testing"

	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/dp/dptest"
	"github.com/softnet/softnet/hdr"
)

// rung reports whether b's channel holds a wake-up, and takes it.
func rung(b *dp.Bell) bool {
	select {
	case <-b.C():
		return true
	default:
		return false
	}
}

// TestBell: a Bell is rung only while its consumer sleeps, once per
// sleep whatever the number of producers' rings, and Awake drains a ring
// that raced with a wake for another reason.
func TestBell(t *testing.T) {
	b := dp.NewBell()
	b.Ring()
	if rung(b) {
		t.Fatal("a Bell rang while its consumer was awake")
	}
	b.Sleep()
	b.Ring()
	b.Ring()
	if !rung(b) {
		t.Fatal("a Bell did not ring while its consumer slept")
	}
	if rung(b) {
		t.Fatal("two rings in one sleep: two wake-ups, want one")
	}
	b.Awake()
	b.Sleep()
	b.Ring()
	b.Awake() // woke for another reason: the ring is drained
	if rung(b) {
		t.Fatal("a ring from the last sleep is left after Awake")
	}
	var none *dp.Bell
	none.Ring() // a ring without a bell is a no-op
	(&dp.Ring{}).Notify()
}

// TestPuntRingsOncePerPoll: a poll that punts rings the punt ring's Bell
// (the control plane's), however many packets it punted; a poll that
// punts nothing does not.
func TestPuntRingsOncePerPoll(t *testing.T) {
	l := dptest.New(t, dptest.Options{NoStatic: true})
	b := dp.NewBell()
	l.Worker.Punt().SetBell(b)
	b.Sleep()
	l.Worker.Poll()
	if rung(b) {
		t.Fatal("an empty poll rang the control plane")
	}
	remote := dptest.Remote.Addr().Next()
	for i := range 5 {
		l.Ports[0].Push(dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, remote, hdr.ProtoUDP, 64, false, dptest.UDP(uint16(i), 9, 18)))
	}
	l.Worker.Poll()
	if n := l.Worker.Punt().Len(); n != 5 {
		t.Fatalf("%d punts, want 5 (packets to resolve)", n)
	}
	if !rung(b) {
		t.Fatal("a poll that punted did not ring the sleeping control plane")
	}
	b.Awake()
	l.Ports[0].Push(dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, remote, hdr.ProtoUDP, 64, false, dptest.UDP(9, 9, 18)))
	l.Worker.Poll()
	if rung(b) {
		t.Fatal("a punt rang the control plane while it was awake")
	}
}
