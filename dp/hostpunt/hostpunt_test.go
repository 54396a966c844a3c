package hostpunt_test

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/dp/dptest"
	"github.com/softnet/softnet/dp/hostpunt"
	"github.com/softnet/softnet/dp/ip4"
	"github.com/softnet/softnet/hdr"
)

// sunk is one frame the control plane handed to a host interface.
type sunk struct {
	iface int
	frame []byte
}

// hostLab is the dptest lab (with its VLAN sub-interfaces) where if0 (0)
// and if0.100 (2) have host interfaces, whose frames are collected.
func hostLab(t *testing.T, rate, burst int) (*dptest.Lab, *[]sunk) {
	t.Helper()
	l := dptest.New(t, dptest.Options{VLANs: true})
	got := new([]sunk)
	l.Router.SetHostSink(func(i int, f []byte) { *got = append(*got, sunk{i, bytes.Clone(f)}) })
	for _, i := range []int{0, 2} {
		if err := l.Router.SetHostInterface(i, true); err != nil {
			t.Fatal(err)
		}
	}
	l.Router.SetHostPunt(rate, burst)
	l.Router.Publish()
	return l, got
}

func tcpSYN(sport uint16) []byte {
	t := make([]byte, 20)
	t[0], t[1], t[2], t[3] = byte(sport>>8), byte(sport), 0, 179
	t[12], t[13] = 5<<4, 0x02
	return t
}

// TestHostPunt: on an interface with a host interface, TCP, UDP and
// OSPF to the router's addresses and link-local multicast go to the host
// interface as received (a VLAN sub-interface's untagged), counted per
// class; echo requests are still answered by softnet; an interface
// without one keeps the old fates (TCP dropped, UDP port unreachable);
// an ARP reply to the router is copied to the host interface; frames the
// kernel sends leave by the port, a VLAN's tagged.
func TestHostPunt(t *testing.T) {
	l, got := hostLab(t, 0, 0)
	syn := dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, dptest.R0, hdr.ProtoTCP, 64, true, tcpSYN(40000))
	udp := dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, dptest.R0, hdr.ProtoUDP, 64, true, dptest.UDP(1000, 3784, 10))
	ospf := dptest.IPv4Frame([6]byte{0x01, 0, 0x5e, 0, 0, 5}, dptest.HostAMAC, dptest.HostA, netipMust("224.0.0.5"), 89, 1, false, make([]byte, 44))
	other := dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, dptest.R1, hdr.ProtoTCP, 64, true, tcpSYN(40001)) // if1's address, on if0
	l.Send(0, syn, udp, ospf, other)
	// ip4-input punts the multicast one, before ip4-local the others.
	want := []sunk{{0, ospf}, {0, syn}, {0, udp}, {0, other}}
	if len(*got) != len(want) {
		t.Fatalf("host interface frames: %d, want %d: %v", len(*got), len(want), *got)
	}
	for i, w := range want {
		if g := (*got)[i]; g.iface != w.iface || !bytes.Equal(g.frame, w.frame) {
			t.Errorf("host frame %d: interface %d % x, want %d % x", i, g.iface, g.frame, w.iface, w.frame)
		}
	}
	if out := l.Out(0); len(out) != 0 {
		t.Errorf("if0 sent %d frames for traffic its host interface answers: want none (no ICMP port unreachable)", len(out))
	}
	c := l.Counters()
	if c.HostPuntTCP != 2 || c.HostPuntUDP != 1 || c.HostPuntMulticast != 1 || c.HostPunts() != 4 {
		t.Errorf("host punt counters tcp %d udp %d multicast %d total %d, want 2 1 1 4", c.HostPuntTCP, c.HostPuntUDP, c.HostPuntMulticast, c.HostPunts())
	}

	// An echo request is softnet's to answer.
	*got = nil
	l.Send(0, dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, dptest.R0, hdr.ProtoICMP, 64, false, dptest.Echo(1, 1, 8)))
	if out := l.Out(0); len(out) != 1 || len(*got) != 0 {
		t.Errorf("echo request: %d replies, %d frames to the host interface; want 1 and 0", len(out), len(*got))
	}
	// if1 has no host interface: TCP is dropped, UDP answered.
	l.Send(1, dptest.IPv4Frame(dptest.R1MAC, dptest.HostBMAC, dptest.HostB, dptest.R1, hdr.ProtoTCP, 64, true, tcpSYN(40002)),
		dptest.IPv4Frame(dptest.R1MAC, dptest.HostBMAC, dptest.HostB, dptest.R1, hdr.ProtoUDP, 64, true, dptest.UDP(1, 2, 4)))
	if c := l.Counters(); len(*got) != 0 || c.Drops[ip4.LocalTCP] != 1 || len(l.Out(1)) != 1 {
		t.Errorf("if1 (no host interface): %d host frames, ip4-local/tcp %d; want 0, 1 and a port unreachable", len(*got), c.Drops[ip4.LocalTCP])
	}

	// A VLAN sub-interface's punt is untagged, and its host frames tagged.
	vsyn := dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, dptest.SubAddr[0], hdr.ProtoTCP, 64, true, tcpSYN(40003))
	l.Send(0, dptest.Tag(vsyn, 0x8100, 100))
	if len(*got) != 1 || (*got)[0].iface != 2 || !bytes.Equal((*got)[0].frame, vsyn) {
		t.Fatalf("TCP on if0.100: host frames %v, want the untagged frame for interface 2", *got)
	}
	reply := dptest.IPv4Frame(dptest.HostAMAC, dptest.R0MAC, dptest.SubAddr[0], dptest.HostA, hdr.ProtoTCP, 64, true, tcpSYN(179))
	if err := l.Router.SendHostFrame(2, reply); err != nil {
		t.Fatal(err)
	}
	if err := l.Router.SendHostFrame(0, syn); err != nil {
		t.Fatal(err)
	}
	if err := l.Router.SendHostFrame(1, syn); err == nil {
		t.Error("SendHostFrame on if1, which has no host interface: no error")
	}
	l.Run()
	out := l.Out(0)
	if len(out) != 2 || !bytes.Equal(out[0][:len(reply)+4], dptest.Tag(reply, 0x8100, 100)) || !bytes.Equal(out[1][:len(syn)], syn) {
		t.Errorf("host frames out of if0 (padded to 60 bytes): % x\nwant the VLAN one tagged, then the other as is", out)
	}

	// An ARP reply to the router reaches the kernel too (its own
	// resolutions); an ARP request is softnet's to answer.
	*got = nil
	l.Send(0, dptest.ARPFrame(2, dptest.R0MAC, dptest.HostAMAC, dptest.HostA, dptest.R0MAC, dptest.R0))
	if len(*got) != 1 || (*got)[0].iface != 0 || len((*got)[0].frame) != 42 || (*got)[0].frame[12] != 0x08 || (*got)[0].frame[13] != 0x06 {
		t.Errorf("ARP reply: host frames %v, want one ARP frame for interface 0", *got)
	}
	*got = nil
	l.Send(0, dptest.ARPFrame(1, dptest.Broadcast, dptest.HostAMAC, dptest.HostA, [6]byte{}, dptest.R0))
	if len(*got) != 0 || len(l.Out(0)) != 1 {
		t.Errorf("ARP request: %d host frames (want 0) and softnet's reply", len(*got))
	}
}

// TestHostPuntRateLimit: each class has its own token bucket per worker:
// a burst of TCP over it is dropped under rate-limited-tcp while UDP still
// gets its own burst through.
func TestHostPuntRateLimit(t *testing.T) {
	l, got := hostLab(t, 1, 5)
	var frames [][]byte
	for i := range 20 {
		frames = append(frames, dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, dptest.R0, hdr.ProtoTCP, 64, true, tcpSYN(uint16(30000+i))))
	}
	for i := range 6 {
		frames = append(frames, dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, dptest.R0, hdr.ProtoUDP, 64, true, dptest.UDP(uint16(1000+i), 3784, 4)))
	}
	l.Send(0, frames...)
	c := l.Counters()
	if c.HostPuntTCP != 5 || c.HostPuntUDP != 5 || len(*got) != 10 {
		t.Errorf("punted tcp %d udp %d (host frames %d), want 5 and 5: the burst of each class", c.HostPuntTCP, c.HostPuntUDP, len(*got))
	}
	if d := c.Drops[hostpunt.RateLimited[hostpunt.TCP]]; d != 15 {
		t.Errorf("host-punt/rate-limited-tcp %d, want 15", d)
	}
	if d := c.Drops[hostpunt.RateLimited[hostpunt.UDP]]; d != 1 {
		t.Errorf("host-punt/rate-limited-udp %d, want 1", d)
	}
	if r := hostpunt.RateLimited[hostpunt.TCP]; r.String() != "host-punt/rate-limited-tcp" {
		t.Errorf("reason name %q", r.String())
	}
	_ = dp.ReasonNone
}

func netipMust(s string) netip.Addr { return netip.MustParseAddr(s) }

// TestHostOwnsARP: with Linux owning ARP (control's SetHostNeighbors,
// linux_cp arp_nd: linux), an ARP request for an address of an interface
// with a host interface goes to the host interface and softnet does not
// answer it (it still learns the sender); on if1, which has none, softnet
// answers as before.
func TestHostOwnsARP(t *testing.T) {
	l, got := hostLab(t, 0, 0)
	l.Router.SetHostNeighbors(true)
	l.Router.Publish()
	l.Send(0, dptest.ARPFrame(1, dptest.Broadcast, dptest.HostAMAC, dptest.HostA, [6]byte{}, dptest.R0))
	if out := l.Out(0); len(out) != 0 {
		t.Errorf("softnet answered an ARP request Linux owns: % x", out)
	}
	if len(*got) != 1 || (*got)[0].iface != 0 || (*got)[0].frame[21] != 1 || !bytes.Equal((*got)[0].frame[0:6], dptest.R0MAC[:]) {
		t.Fatalf("host frames %v, want the ARP request for interface 0", *got)
	}
	*got = nil
	l.Send(1, dptest.ARPFrame(1, dptest.Broadcast, dptest.HostBMAC, dptest.HostB, [6]byte{}, dptest.R1))
	if out := l.Out(1); len(out) != 1 || len(*got) != 0 {
		t.Errorf("if1 (no host interface): %d replies, %d host frames; want 1 and 0", len(out), len(*got))
	}
}
