package e2e

import (
	"bytes"
	"context"
	be "encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/softnet/softnet/dp/dptest"
	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/internal/netns"
	"github.com/softnet/softnet/lab"
)

// The VLAN lab: softnet's ra carries VLAN 100 and QinQ 10/20, rb VLAN
// 200. The kernel here has no 802.1Q module, so host A's side is Go code:
// an AF_PACKET socket on a0 that sends tagged frames and reads the tagged
// answers (putting back the tag the receive path moves into the packet's
// auxiliary data).
var (
	v100Router  = netip.MustParseAddr("10.12.100.1")
	v100Host    = netip.MustParseAddr("10.12.100.2")
	qinqRouter  = netip.MustParseAddr("10.12.120.1")
	qinqHost    = netip.MustParseAddr("10.12.120.2")
	macA        = mustMAC(lab.MACA)
	macSoftnetA = mustMAC(lab.MACSoftnetA)
)

func mustMAC(s string) [6]byte {
	hw, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return [6]byte(hw)
}

// rawSock is an AF_PACKET socket bound to one device of a namespace.
type rawSock struct{ fd int }

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func openRaw(ns, dev string) (*rawSock, error) {
	s := &rawSock{fd: -1}
	err := netns.Do(ns, func() error {
		ifi, err := net.InterfaceByName(dev)
		if err != nil {
			return err
		}
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
		if err != nil {
			return err
		}
		s.fd = fd
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index}); err != nil {
			return err
		}
		if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_AUXDATA, 1); err != nil {
			return err
		}
		tv := unix.NsecToTimeval((200 * time.Millisecond).Nanoseconds())
		return unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	})
	if err != nil {
		if s.fd >= 0 {
			unix.Close(s.fd)
		}
		return nil, err
	}
	return s, nil
}

func (s *rawSock) Close() { unix.Close(s.fd) }

func (s *rawSock) send(f []byte) error {
	_, err := unix.Write(s.fd, f)
	return err
}

// recv returns the first incoming frame within d that match accepts, with
// its outer tag put back in front of the EtherType.
func (s *rawSock) recv(d time.Duration, match func([]byte) bool) ([]byte, error) {
	buf := make([]byte, 4096)
	oob := make([]byte, 256)
	for deadline := time.Now().Add(d); time.Now().Before(deadline); {
		n, oobn, _, from, err := unix.Recvmsg(s.fd, buf, oob, 0)
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING {
			continue
		}
		f := append([]byte(nil), buf[:n]...)
		msgs, _ := unix.ParseSocketControlMessage(oob[:oobn])
		for _, m := range msgs {
			if m.Header.Level != unix.SOL_PACKET || m.Header.Type != unix.PACKET_AUXDATA || len(m.Data) < 20 {
				continue
			}
			status := be.NativeEndian.Uint32(m.Data[0:])
			tci := be.NativeEndian.Uint16(m.Data[16:])
			tpid := be.NativeEndian.Uint16(m.Data[18:])
			if status&unix.TP_STATUS_VLAN_VALID != 0 && len(f) >= 12 {
				if status&unix.TP_STATUS_VLAN_TPID_VALID == 0 {
					tpid = hdr.EtherTypeVLAN
				}
				f = dptest.Tag(f, tpid, tci)
			}
		}
		if match(f) {
			return f, nil
		}
	}
	return nil, fmt.Errorf("no matching frame in %v", d)
}

// tagWords returns the frame's tags as TPID, TCI pairs and the rest.
func tagWords(f []byte) ([]uint16, []byte) {
	var tags []uint16
	off := 12
	for len(f) >= off+4 {
		t := be.BigEndian.Uint16(f[off:])
		if t != hdr.EtherTypeVLAN && t != hdr.EtherTypeQinQ {
			break
		}
		tags = append(tags, t, be.BigEndian.Uint16(f[off+2:]))
		off += 4
	}
	return tags, append(append([]byte(nil), f[:12]...), f[off:]...)
}

func sameTags(a []uint16, b ...uint16) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i]&0x0fff != b[i]&0x0fff || (i%2 == 0 && a[i] != b[i]) {
			return false
		}
	}
	return true
}

// isIPv4 reports whether untagged frame u is IPv4 from src to dst with
// protocol proto.
func isIPv4(u []byte, src, dst netip.Addr, proto uint8) bool {
	if len(u) < hdr.EthernetLen+hdr.IPv4MinLen || be.BigEndian.Uint16(u[12:]) != hdr.EtherTypeIPv4 {
		return false
	}
	ip := hdr.IPv4(u[hdr.EthernetLen:])
	return ip.Src() == dptest.U32(src) && ip.Dst() == dptest.U32(dst) && ip.Protocol() == proto
}

// TestVLAN runs softnet with VLAN sub-interfaces between namespaces and
// talks to them with tagged frames: ARP and ping in VLAN 100 and in QinQ,
// forwarding between two VLANs on one veth, and between a VLAN and host
// B's plain port.
func TestVLAN(t *testing.T) {
	need(t)
	ctx := context.Background()
	topo, err := lab.New(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := topo.Close(); err != nil {
			t.Error(err)
		}
	})
	topo.Extra = lab.Extra{
		Interfaces: []string{
			"{name: ra.100, parent: ra, vlan: 100, addresses: [10.12.100.1/24]}",
			"{name: ra.qinq, parent: ra, outer_vlan: 10, vlan: 20, addresses: [10.12.120.1/24]}",
			"{name: rb.200, parent: rb, vlan: 200, addresses: [10.12.200.1/24]}",
		},
		Neighbors: []string{
			fmt.Sprintf("{interface: ra.100, address: %v, mac: %q}", v100Host, lab.MACA),
			fmt.Sprintf("{interface: ra.qinq, address: %v, mac: %q}", qinqHost, lab.MACA),
		},
	}
	sn, err := topo.StartSoftnet(ctx, binary, 1, -1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		out, err := sn.Stop()
		if err != nil || t.Failed() {
			t.Logf("softnet: %v\n%s", err, out)
		}
	})
	// Host B answers the VLANs' hosts through the router.
	if _, err := netns.IP(ctx, "-n", topo.B, "route", "add", "10.12.0.0/16", "via", lab.AddrRB.Addr().String()); err != nil {
		t.Fatal(err)
	}
	s, err := openRaw(topo.A, lab.DevA)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	// exchange sends f (retrying: the first frames can meet a router
	// still settling) and returns the first answer match accepts.
	exchange := func(f []byte, match func(tags []uint16, u []byte) bool) ([]uint16, []byte) {
		t.Helper()
		for try := 0; try < 5; try++ {
			if err := s.send(f); err != nil {
				t.Fatal(err)
			}
			got, err := s.recv(time.Second, func(g []byte) bool { tags, u := tagWords(g); return match(tags, u) })
			if err == nil {
				return tagWords(got)
			}
		}
		t.Fatalf("no answer to % x", f[:min(len(f), 40)])
		return nil, nil
	}

	t.Run("arp-vlan100", func(t *testing.T) {
		req := dptest.Tag(dptest.ARPFrame(hdr.ARPRequest, dptest.Broadcast, macA, v100Host, [6]byte{}, v100Router), hdr.EtherTypeVLAN, 100)
		tags, u := exchange(req, func(tags []uint16, u []byte) bool {
			return len(u) >= hdr.EthernetLen+hdr.ARPLen && be.BigEndian.Uint16(u[12:]) == hdr.EtherTypeARP && hdr.ARP(u[hdr.EthernetLen:]).Op() == hdr.ARPReply
		})
		a := hdr.ARP(u[hdr.EthernetLen:])
		if !sameTags(tags, hdr.EtherTypeVLAN, 100) || a.SenderIP() != dptest.U32(v100Router) || !bytes.Equal(a.SenderMAC(), macSoftnetA[:]) {
			t.Fatalf("ARP reply tags %x: % x", tags, u)
		}
	})
	t.Run("ping-vlan100", func(t *testing.T) {
		req := dptest.Tag(dptest.IPv4Frame(macSoftnetA, macA, v100Host, v100Router, hdr.ProtoICMP, 64, false, dptest.Echo(1, 1, 32)), hdr.EtherTypeVLAN, 100)
		tags, _ := exchange(req, func(tags []uint16, u []byte) bool { return isIPv4(u, v100Router, v100Host, hdr.ProtoICMP) })
		if !sameTags(tags, hdr.EtherTypeVLAN, 100) {
			t.Fatalf("echo reply tags %x, want 8100/100", tags)
		}
	})
	t.Run("ping-qinq", func(t *testing.T) {
		req := dptest.Tag(dptest.IPv4Frame(macSoftnetA, macA, qinqHost, qinqRouter, hdr.ProtoICMP, 64, false, dptest.Echo(1, 2, 32)), hdr.EtherTypeQinQ, 10, hdr.EtherTypeVLAN, 20)
		tags, _ := exchange(req, func(tags []uint16, u []byte) bool { return isIPv4(u, qinqRouter, qinqHost, hdr.ProtoICMP) })
		if !sameTags(tags, hdr.EtherTypeQinQ, 10, hdr.EtherTypeVLAN, 20) {
			t.Fatalf("echo reply tags %x, want 88a8/10 8100/20", tags)
		}
	})
	t.Run("vlan-to-qinq-same-port", func(t *testing.T) {
		req := dptest.Tag(dptest.IPv4Frame(macSoftnetA, macA, v100Host, qinqHost, hdr.ProtoUDP, 64, false, dptest.UDP(4000, 9, 32)), hdr.EtherTypeVLAN, 100)
		tags, u := exchange(req, func(tags []uint16, u []byte) bool { return isIPv4(u, v100Host, qinqHost, hdr.ProtoUDP) })
		if !sameTags(tags, hdr.EtherTypeQinQ, 10, hdr.EtherTypeVLAN, 20) || hdr.IPv4(u[hdr.EthernetLen:]).TTL() != 63 || !bytes.Equal(u[0:6], macA[:]) {
			t.Fatalf("forwarded tags %x, frame % x", tags, u[:34])
		}
	})
	t.Run("vlan-to-port-and-back", func(t *testing.T) {
		// Host B's kernel answers the ping; the reply comes back into
		// VLAN 100.
		b := lab.AddrB.Addr()
		req := dptest.Tag(dptest.IPv4Frame(macSoftnetA, macA, v100Host, b, hdr.ProtoICMP, 64, false, dptest.Echo(1, 3, 32)), hdr.EtherTypeVLAN, 100)
		tags, u := exchange(req, func(tags []uint16, u []byte) bool { return isIPv4(u, b, v100Host, hdr.ProtoICMP) })
		if !sameTags(tags, hdr.EtherTypeVLAN, 100) || hdr.IPv4(u[hdr.EthernetLen:]).TTL() != 63 {
			t.Fatalf("reply from B tags %x, frame % x", tags, u[:34])
		}
	})
	t.Run("bad-tags", func(t *testing.T) {
		ip := dptest.IPv4Frame(macSoftnetA, macA, v100Host, v100Router, hdr.ProtoICMP, 64, false, dptest.Echo(1, 4, 32))
		for _, f := range [][]byte{
			dptest.Tag(ip, hdr.EtherTypeVLAN, 4095),
			dptest.Tag(ip, hdr.EtherTypeVLAN, 300),
			dptest.Tag(ip, hdr.EtherTypeVLAN, 100, hdr.EtherTypeVLAN, 5),
		} {
			if err := s.send(f); err != nil {
				t.Fatal(err)
			}
			if got, err := s.recv(300*time.Millisecond, func(g []byte) bool { _, u := tagWords(g); return isIPv4(u, v100Router, v100Host, hdr.ProtoICMP) }); err == nil {
				t.Fatalf("answered a bad tag: % x", got[:30])
			}
		}
	})
	// softnet's final counters (printed when it stops) name the VLAN
	// drops by reason.
	out, err := sn.Stop()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"vlan-reserved", "vlan-unknown", "vlan-too-deep"} {
		if !strings.Contains(out, want) {
			t.Errorf("softnet's counters do not mention %s:\n%s", want, out)
		}
	}
}

// TestBridge runs softnet with a bridge of VLAN 300 on ra and on rb (with
// a routed interface) between the namespaces: host A's and host B's Go
// AF_PACKET sockets send tagged frames through it. An unknown destination
// floods, the answer comes back switched (learned), and the BVI answers
// ARP and ping in the bridge.
func TestBridge(t *testing.T) {
	need(t)
	ctx := context.Background()
	topo, err := lab.New(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := topo.Close(); err != nil {
			t.Error(err)
		}
	})
	topo.Extra = lab.Extra{Interfaces: []string{
		"{name: ra.300, parent: ra, vlan: 300}",
		"{name: rb.300, parent: rb, vlan: 300}",
		"{name: irb0, bridge: br0, mac: \"02:53:4e:03:00:01\", addresses: [10.13.0.1/24]}",
	}}
	topo.ExtraTop = "bridges:\n  - {name: br0, members: [ra.300, rb.300]}\n"
	sn, err := topo.StartSoftnet(ctx, binary, 1, -1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		out, err := sn.Stop()
		if err != nil || t.Failed() {
			t.Logf("softnet: %v\n%s", err, out)
		}
	})
	sa, err := openRaw(topo.A, lab.DevA)
	if err != nil {
		t.Fatal(err)
	}
	defer sa.Close()
	sb, err := openRaw(topo.B, lab.DevB)
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	x := [6]byte{0x02, 0x77, 0, 0, 0, 1} // host A's station in VLAN 300
	y := [6]byte{0x02, 0x77, 0, 0, 0, 2} // host B's
	frame := func(dst, src [6]byte, seq byte) []byte {
		f := make([]byte, 60)
		copy(f[0:6], dst[:])
		copy(f[6:12], src[:])
		be.BigEndian.PutUint16(f[12:], 0x88b5)
		f[14], f[15] = 0x5e, seq
		return dptest.Tag(f, hdr.EtherTypeVLAN, 300)
	}
	is := func(seq byte) func([]byte) bool {
		return func(g []byte) bool {
			tags, u := tagWords(g)
			return sameTags(tags, hdr.EtherTypeVLAN, 300) && len(u) > 15 && be.BigEndian.Uint16(u[12:]) == 0x88b5 && u[14] == 0x5e && u[15] == seq
		}
	}
	// X to unknown Y: flooded to rb in VLAN 300. Retried: the first
	// frames can meet a router still settling.
	var err2 error
	for seq := byte(1); seq < 6; seq++ {
		if err := sa.send(frame(y, x, seq)); err != nil {
			t.Fatal(err)
		}
		if _, err2 = sb.recv(time.Second, is(seq)); err2 == nil {
			break
		}
	}
	if err2 != nil {
		t.Fatalf("the flooded frame did not reach host B: %v", err2)
	}
	// Y answers X: X was learned on ra.300.
	if err := sb.send(frame(x, y, 10)); err != nil {
		t.Fatal(err)
	}
	if _, err := sa.recv(10*time.Second, is(10)); err != nil {
		t.Fatalf("the answer did not reach host A: %v", err)
	}
	// The BVI answers ARP and ping from host B's side of the bridge.
	irb := mustMAC("02:53:4e:03:00:01")
	bh := netip.MustParseAddr("10.13.0.3")
	if err := sb.send(dptest.Tag(dptest.ARPFrame(hdr.ARPRequest, dptest.Broadcast, y, bh, [6]byte{}, netip.MustParseAddr("10.13.0.1")), hdr.EtherTypeVLAN, 300)); err != nil {
		t.Fatal(err)
	}
	got, err := sb.recv(10*time.Second, func(g []byte) bool {
		tags, u := tagWords(g)
		return sameTags(tags, hdr.EtherTypeVLAN, 300) && be.BigEndian.Uint16(u[12:]) == hdr.EtherTypeARP && hdr.ARP(u[hdr.EthernetLen:]).Op() == hdr.ARPReply
	})
	if err != nil {
		t.Fatalf("no ARP reply from the BVI: %v", err)
	}
	if _, u := tagWords(got); !bytes.Equal(hdr.ARP(u[hdr.EthernetLen:]).SenderMAC(), irb[:]) {
		t.Fatalf("ARP reply % x", u[:42])
	}
	echo := dptest.Tag(dptest.IPv4Frame(irb, y, bh, netip.MustParseAddr("10.13.0.1"), hdr.ProtoICMP, 64, false, dptest.Echo(9, 1, 16)), hdr.EtherTypeVLAN, 300)
	if err := sb.send(echo); err != nil {
		t.Fatal(err)
	}
	if _, err := sb.recv(10*time.Second, func(g []byte) bool {
		tags, u := tagWords(g)
		return sameTags(tags, hdr.EtherTypeVLAN, 300) && isIPv4(u, netip.MustParseAddr("10.13.0.1"), bh, hdr.ProtoICMP)
	}); err != nil {
		t.Fatalf("no echo reply from the BVI: %v", err)
	}
}
