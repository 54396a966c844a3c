package control_test

import (
	"net/netip"
	"testing"

	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/dp/dptest"
	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/port"
	"github.com/softnet/softnet/port/mem"
)

// TestVLANIndexReuseWaitsForWorkers: with a worker attached, a deleted
// VLAN's index is not given to a new interface until the worker has
// polled past the delete (its in-flight batch may still name the index);
// then it is.
func TestVLANIndexReuseWaitsForWorkers(t *testing.T) {
	r := control.New(control.Options{})
	if _, err := r.AddInterface(control.IfaceConfig{Name: "eth0", MAC: dptest.R0MAC, Addrs: []netip.Prefix{netip.PrefixFrom(dptest.R0, 24)}}); err != nil {
		t.Fatal(err)
	}
	r.Publish()
	q := mem.NewQueue("eth0")
	w := dp.NewWorker(0, r.Config(), []port.Port{q}, []dp.RxQueue{{Iface: 0}}, dp.Options{PoolSize: 256})
	r.AttachWorkers([]*dp.Worker{w})
	add := func(name string, vid int) int {
		t.Helper()
		i, err := r.AddInterface(control.IfaceConfig{Name: name, Parent: "eth0", VLAN: vid})
		if err != nil {
			t.Fatal(err)
		}
		r.Publish()
		return i
	}
	a := add("a", 10)
	if err := r.DeleteVLAN("a"); err != nil {
		t.Fatal(err)
	}
	if b := add("b", 11); b == a {
		t.Fatalf("index %d reused before the worker polled past its delete", a)
	}
	// Traffic (an unknown tag, dropped) so that the worker publishes its
	// poll count.
	f := dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, dptest.R0, hdr.ProtoUDP, 64, false, dptest.UDP(1, 2, 8))
	f = dptest.Tag(f, hdr.EtherTypeVLAN, 999)
	for n := 0; n < 64; n++ {
		q.Push(f)
		w.Poll()
	}
	if c := add("c", 12); c != a {
		t.Fatalf("after 64 polls: new VLAN at %d, want the deleted index %d", c, a)
	}
}
