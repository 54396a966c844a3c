package control_test

import (
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"

	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/dp/dptest"
	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/pkt"
)

func TestRouterAddInterfaceValidation(t *testing.T) {
	good := [6]byte{0x02, 0, 0, 0, 0, 1}
	v4 := []netip.Prefix{netip.MustParsePrefix("10.9.0.1/24")}
	maxMTU := pkt.MaxFrame - hdr.EthernetLen - 8 // a VLAN tag pair still fits a buffer
	tests := []struct {
		name    string
		c       control.IfaceConfig
		wantErr string // "" = accepted
	}{
		{"default MTU", control.IfaceConfig{Name: "a", MAC: good, Addrs: v4}, ""},
		{"MTU 68", control.IfaceConfig{Name: "a", MAC: good, MTU: 68}, ""},
		{"largest MTU", control.IfaceConfig{Name: "a", MAC: good, MTU: maxMTU}, ""},
		{"MTU 67", control.IfaceConfig{Name: "a", MAC: good, MTU: 67}, "MTU 67 out of range"},
		{"MTU too large", control.IfaceConfig{Name: "a", MAC: good, MTU: maxMTU + 1}, "out of range"},
		{"negative MTU", control.IfaceConfig{Name: "a", MAC: good, MTU: -1}, "out of range"},
		{"multicast MAC", control.IfaceConfig{Name: "a", MAC: [6]byte{0x01, 0x00, 0x5e, 0, 0, 1}}, "not a unicast address"},
		{"broadcast MAC", control.IfaceConfig{Name: "a", MAC: dptest.Broadcast}, "not a unicast address"},
		{"zero MAC", control.IfaceConfig{Name: "a", MAC: [6]byte{}}, "not a unicast address"},
		{"IPv4-mapped address", control.IfaceConfig{Name: "a", MAC: good, Addrs: []netip.Prefix{netip.MustParsePrefix("::ffff:10.9.0.1/120")}}, "IPv4-mapped"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := control.New(control.Options{})
			idx, err := r.AddInterface(tc.c)
			if tc.wantErr == "" {
				if err != nil || idx != 0 || len(r.Interfaces()) != 1 {
					t.Fatalf("AddInterface: %d, %v; want index 0, accepted", idx, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("AddInterface accepted %+v", tc.c)
			}
			if !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "interface a") {
				t.Fatalf("error %q does not name the interface and say %q", err, tc.wantErr)
			}
			if n := len(r.Interfaces()); n != 0 {
				t.Fatalf("a rejected interface was added (%d interfaces)", n)
			}
			if n := r.Routes(); n != 0 {
				t.Fatalf("a rejected interface left %d routes", n)
			}
		})
	}
}

func TestRouterAddInterfaceRoutes(t *testing.T) {
	r := control.New(control.Options{})
	mac := [6]byte{0x02, 0, 0, 0, 0, 1}
	if i, err := r.AddInterface(control.IfaceConfig{Name: "a", MAC: mac, Addrs: []netip.Prefix{netip.MustParsePrefix("10.9.0.1/24")}}); err != nil || i != 0 {
		t.Fatal(i, err)
	}
	if i, err := r.AddInterface(control.IfaceConfig{Name: "b", MAC: mac, MTU: 9000 / 10, Addrs: []netip.Prefix{netip.MustParsePrefix("10.9.1.0/31")}}); err != nil || i != 1 {
		t.Fatal(i, err)
	}
	r.Publish()
	cfg := r.Config().Load()
	tests := []struct {
		addr string
		kind dp.AdjKind
	}{
		{"10.9.0.1", dp.AdjLocal},
		{"10.9.0.7", dp.AdjGlean},
		{"10.9.0.0", dp.AdjBroadcast},
		{"10.9.0.255", dp.AdjBroadcast},
		{"10.9.1.0", dp.AdjLocal},
		{"10.9.1.1", dp.AdjGlean}, // RFC 3021: a /31 has no broadcast address
		{"10.9.2.1", dp.AdjNone},
	}
	for _, tc := range tests {
		nh := cfg.FIB.Lookup(u32(netip.MustParseAddr(tc.addr)))
		if got := cfg.Adj[nh].Kind; got != tc.kind {
			t.Errorf("%s: adjacency kind %d, want %d", tc.addr, got, tc.kind)
		}
	}
	if ifs := r.Interfaces(); ifs[0].MTU != 1500 || ifs[1].MTU != 900 || !ifs[0].Up {
		t.Errorf("interfaces %+v", ifs)
	}
}

// TestRouterSetInterfaceMTU: after the egress MTU drops, a DF packet that
// fit before gets "fragmentation needed" with the new MTU, and one without
// DF is fragmented.
func TestRouterSetInterfaceMTU(t *testing.T) {
	l := newLab(t, true, true)
	big := func(df bool) []byte {
		return dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, remoteDst, hdr.ProtoUDP, 9, df, dptest.UDP(1, 2, 972))
	}
	l.Send(0, big(true))
	one(t, l, 1, "1000-byte DF packet at MTU 1500")
	if err := l.Router.SetInterfaceMTU(1, 576); err != nil {
		t.Fatal(err)
	}
	if err := l.Router.SetInterfaceMTU(1, 40); err == nil {
		t.Fatal("MTU 40 accepted")
	}
	l.Router.Publish()
	l.Send(0, big(true))
	f := one(t, l, 0, "fragmentation needed")
	p := hdr.IPv4(f[hdr.EthernetLen:]).Payload()
	if p[0] != hdr.ICMPv4DestUnreach || p[1] != hdr.ICMPv4FragNeeded || binary.BigEndian.Uint16(p[6:8]) != 576 {
		t.Fatalf("want frag needed with MTU 576, got type %d code %d mtu %d", p[0], p[1], binary.BigEndian.Uint16(p[6:8]))
	}
	l.Send(0, big(false))
	if out := l.Out(1); len(out) != 2 {
		t.Fatalf("%d fragments, want 2", len(out))
	}
}
