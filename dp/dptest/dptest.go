// Package dptest builds small routers over in-memory queue ports for
// tests: a control plane, one worker, and helpers to send frames, run the
// graph to quiescence and collect what came out.
//
// Hot path: no (test support).
package dptest

import (
	"encoding/binary"
	_ "github.com/softnet/softnet/dp/nodes" // the whole packet graph
	"net/netip"
	"testing"
	"time"

	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/neigh"
	"github.com/softnet/softnet/port"
	"github.com/softnet/softnet/port/mem"
)

// The standard two-interface lab:
//
//	host A 10.0.1.2 (HostAMAC) --- if0 10.0.1.1/24 (R0MAC)
//	                               router
//	host B 10.0.2.2 (HostBMAC) --- if1 10.0.2.1/24 (R1MAC), MTU 1500
//
// with a route 198.18.0.0/15 via 10.0.2.2 and a static neighbour for
// HostA and HostB unless Options.NoStatic.
var (
	R0MAC    = [6]byte{0x02, 0x52, 0, 0, 0, 0x01}
	R1MAC    = [6]byte{0x02, 0x52, 0, 0, 0, 0x02}
	HostAMAC = [6]byte{0x02, 0xaa, 0, 0, 0, 0x02}
	HostBMAC = [6]byte{0x02, 0xbb, 0, 0, 0, 0x02}
	R0       = netip.MustParseAddr("10.0.1.1")
	R1       = netip.MustParseAddr("10.0.2.1")
	HostA    = netip.MustParseAddr("10.0.1.2")
	HostB    = netip.MustParseAddr("10.0.2.2")
	Remote   = netip.MustParsePrefix("198.18.0.0/15")
)

// Options shape the lab.
type Options struct {
	NoStatic bool // do not add static neighbours for HostA and HostB
	MTU1     int  // MTU of if1 (default 1500)
	ICMPRate int  // default 1000 per second
	Burst    int  // default 100
	// VLANs adds the VLAN sub-interfaces (see the Sub* variables) with a
	// static neighbour each.
	VLANs bool
	// IPv6 adds the IPv6 lab (see R0v6): an IPv6 address on if0 and,
	// unless LinkLocalOnly1, on if1, static neighbours HostA6 and HostB6,
	// and a route Remote6 via HostB6.
	IPv6 bool
	// LinkLocalOnly1 (with IPv6): if1 has no IPv6 address of its own,
	// only the link-local one derived from its MAC; HostB6 and Remote6
	// are then not configured.
	LinkLocalOnly1 bool
	// RA (with IPv6): if0 sends Router Advertisements.
	RA bool
}

// The IPv6 lab Options.IPv6 adds:
//
//	host A 2001:db8:1::2 (HostAMAC) --- if0 2001:db8:1::1/64, fe80::52:ff:fe00:1 (derived)
//	host B 2001:db8:2::2 (HostBMAC) --- if1 2001:db8:2::1/64, fe80::52:ff:fe00:2 (derived)
//
// with a route 2001:db8:100::/40 via 2001:db8:2::2.
var (
	R0v6    = netip.MustParseAddr("2001:db8:1::1")
	R1v6    = netip.MustParseAddr("2001:db8:2::1")
	HostA6  = netip.MustParseAddr("2001:db8:1::2")
	HostB6  = netip.MustParseAddr("2001:db8:2::2")
	Remote6 = netip.MustParsePrefix("2001:db8:100::/40")
)

// The VLAN sub-interfaces Options.VLANs adds, after if0 and if1:
//
//	2 if0.100   VLAN 100 on if0                 10.0.100.1/24, host 10.0.100.2 (HostAMAC)
//	3 if0.10.20 QinQ 0x88a8 10 / 20 on if0      10.0.120.1/24, host 10.0.120.2 (HostAMAC)
//	4 if1.200   VLAN 200 on if1                 10.0.200.1/24, host 10.0.200.2 (HostBMAC)
var (
	SubAddr = [3]netip.Addr{netip.MustParseAddr("10.0.100.1"), netip.MustParseAddr("10.0.120.1"), netip.MustParseAddr("10.0.200.1")}
	SubHost = [3]netip.Addr{netip.MustParseAddr("10.0.100.2"), netip.MustParseAddr("10.0.120.2"), netip.MustParseAddr("10.0.200.2")}
	SubCfg  = [3]control.IfaceConfig{
		{Name: "if0.100", Parent: "if0", VLAN: 100},
		{Name: "if0.10.20", Parent: "if0", VLAN: 20, OuterVLAN: 10},
		{Name: "if1.200", Parent: "if1", VLAN: 200},
	}
)

// Lab is a router with two queue ports and a manual clock.
type Lab struct {
	T      testing.TB
	Router *control.Router
	Worker *dp.Worker
	Ports  [2]*mem.Queue
	Now    time.Time
}

// New builds the lab.
func New(t testing.TB, o Options) *Lab {
	t.Helper()
	l := &Lab{T: t, Now: time.Unix(1_000_000, 0)}
	if o.ICMPRate == 0 {
		o.ICMPRate = 1000
	}
	if o.Burst == 0 {
		o.Burst = 100
	}
	l.Router = control.New(control.Options{
		ICMPRate: o.ICMPRate, ICMPBurst: o.Burst,
		Now:   func() time.Time { return l.Now },
		Neigh: neigh.Options{},
	})
	must := func(_ int, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	addrs0 := []netip.Prefix{netip.PrefixFrom(R0, 24)}
	addrs1 := []netip.Prefix{netip.PrefixFrom(R1, 24)}
	v6b := o.IPv6 && !o.LinkLocalOnly1
	if o.IPv6 {
		addrs0 = append(addrs0, netip.PrefixFrom(R0v6, 64))
	}
	if v6b {
		addrs1 = append(addrs1, netip.PrefixFrom(R1v6, 64))
	}
	must(l.Router.AddInterface(control.IfaceConfig{Name: "if0", MAC: R0MAC, Addrs: addrs0, RA: o.IPv6 && o.RA}))
	must(l.Router.AddInterface(control.IfaceConfig{Name: "if1", MAC: R1MAC, MTU: o.MTU1, Addrs: addrs1}))
	if !o.NoStatic {
		if err := l.Router.AddNeighbor(0, HostA, HostAMAC); err != nil {
			t.Fatal(err)
		}
		if err := l.Router.AddNeighbor(1, HostB, HostBMAC); err != nil {
			t.Fatal(err)
		}
		if o.IPv6 {
			if err := l.Router.AddNeighbor(0, HostA6, HostAMAC); err != nil {
				t.Fatal(err)
			}
		}
		if v6b {
			if err := l.Router.AddNeighbor(1, HostB6, HostBMAC); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := l.Router.AddRoute(Remote, HostB); err != nil {
		t.Fatal(err)
	}
	if v6b {
		if err := l.Router.AddRoute(Remote6, HostB6); err != nil {
			t.Fatal(err)
		}
	}
	if o.VLANs {
		for i, c := range SubCfg {
			c.Addrs = []netip.Prefix{netip.PrefixFrom(SubAddr[i], 24)}
			idx, err := l.Router.AddInterface(c)
			if err != nil {
				t.Fatal(err)
			}
			mac := HostAMAC
			if c.Parent == "if1" {
				mac = HostBMAC
			}
			if err := l.Router.AddNeighbor(idx, SubHost[i], mac); err != nil {
				t.Fatal(err)
			}
		}
	}
	l.Router.Publish()
	l.Ports = [2]*mem.Queue{mem.NewQueue("if0"), mem.NewQueue("if1")}
	ports := []port.Port{l.Ports[0], l.Ports[1]}
	l.Worker = dp.NewWorker(0, l.Router.Config(), ports, []dp.RxQueue{{Iface: 0}, {Iface: 1}}, dp.Options{PoolSize: 1024})
	l.Router.AttachWorkers([]*dp.Worker{l.Worker})
	return l
}

// Run polls the worker and services the control plane until nothing is
// left to do.
func (l *Lab) Run() {
	for i := 0; i < 100; i++ {
		n := l.Worker.Poll()
		did := l.Router.Service()
		if n == 0 && !did && l.Ports[0].Pending() == 0 && l.Ports[1].Pending() == 0 && l.Worker.Inject().Len() == 0 && l.Worker.Punt().Len() == 0 {
			return
		}
	}
	l.T.Fatal("dptest: the router did not settle in 100 rounds")
}

// Advance moves the manual clock and services the router's timers.
func (l *Lab) Advance(d time.Duration) {
	l.Now = l.Now.Add(d)
	l.Run()
}

// Send queues frames on interface i and runs the router.
func (l *Lab) Send(i int, frames ...[]byte) {
	l.Ports[i].Push(frames...)
	l.Run()
}

// Out returns and forgets what interface i sent.
func (l *Lab) Out(i int) [][]byte { return l.Ports[i].Take() }

// Counters returns the worker's counters.
func (l *Lab) Counters() dp.Counters { return l.Worker.Counters() }

// U32 converts an IPv4 address.
func U32(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

// IPv4Frame builds an Ethernet/IPv4 frame with the given protocol and
// payload, TTL, and DF flag, with a correct header checksum.
func IPv4Frame(dstMAC, srcMAC [6]byte, src, dst netip.Addr, proto uint8, ttl uint8, df bool, payload []byte) []byte {
	f := make([]byte, hdr.EthernetLen+hdr.IPv4MinLen+len(payload))
	copy(f[0:6], dstMAC[:])
	copy(f[6:12], srcMAC[:])
	binary.BigEndian.PutUint16(f[12:], hdr.EtherTypeIPv4)
	ip := hdr.IPv4(f[hdr.EthernetLen:])
	ip.SetVersionIHL(hdr.IPv4MinLen)
	ip.SetTotalLen(hdr.IPv4MinLen + len(payload))
	ip.SetID(0x1234)
	ip.SetFlagsFrag(df, false, 0)
	ip.SetTTL(ttl)
	ip.SetProtocol(proto)
	ip.SetSrc(U32(src))
	ip.SetDst(U32(dst))
	ip.SetChecksum(ip.ComputeChecksum())
	copy(f[hdr.EthernetLen+hdr.IPv4MinLen:], payload)
	return f
}

// UDP builds a UDP datagram (checksum zero: none, RFC 768) with n payload bytes.
func UDP(sport, dport uint16, n int) []byte {
	u := make([]byte, 8+n)
	binary.BigEndian.PutUint16(u[0:], sport)
	binary.BigEndian.PutUint16(u[2:], dport)
	binary.BigEndian.PutUint16(u[4:], uint16(8+n))
	for i := range n {
		u[8+i] = byte(i)
	}
	return u
}

// Echo builds an ICMP echo request with id, seq and n data bytes.
func Echo(id, seq uint16, n int) []byte {
	c := make([]byte, 8+n)
	c[0] = hdr.ICMPv4Echo
	binary.BigEndian.PutUint16(c[4:], id)
	binary.BigEndian.PutUint16(c[6:], seq)
	for i := range n {
		c[8+i] = byte(i)
	}
	binary.BigEndian.PutUint16(c[2:], hdr.Checksum(c, 0))
	return c
}

// ARPFrame builds an ARP request or reply.
func ARPFrame(op uint16, dstMAC, senderMAC [6]byte, sender netip.Addr, targetMAC [6]byte, target netip.Addr) []byte {
	f := make([]byte, 60)
	copy(f[0:6], dstMAC[:])
	copy(f[6:12], senderMAC[:])
	binary.BigEndian.PutUint16(f[12:], hdr.EtherTypeARP)
	a := hdr.ARP(f[hdr.EthernetLen:])
	binary.BigEndian.PutUint16(a[0:], 1)
	binary.BigEndian.PutUint16(a[2:], 0x0800)
	a[4], a[5] = 6, 4
	a.SetOp(op)
	copy(a.SenderMAC(), senderMAC[:])
	a.SetSenderIP(U32(sender))
	copy(a.TargetMAC(), targetMAC[:])
	a.SetTargetIP(U32(target))
	return f
}

// Broadcast is the Ethernet broadcast address.
var Broadcast = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// Tag returns f with VLAN tags inserted after the MAC addresses, each a
// TPID and a TCI (outermost first).
func Tag(f []byte, tags ...uint16) []byte {
	out := append([]byte(nil), f[:12]...)
	for _, t := range tags {
		out = binary.BigEndian.AppendUint16(out, t)
	}
	return append(out, f[12:]...)
}

// Untag returns f without n tags (4 bytes each) after the MAC addresses.
func Untag(f []byte, n int) []byte {
	if len(f) < 12+4*n {
		return f
	}
	return append(append([]byte(nil), f[:12]...), f[12+4*n:]...)
}
