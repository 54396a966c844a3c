package dp_test

// Golden cases for VLANs and the bridge, run by TestGolden beside the
// IPv4 ones (testdata/golden/<case>/, the same files: in<N>.pcap per
// port, out<N>.pcap, counters.txt, summary.txt). They run in the dptest
// lab with its VLAN sub-interfaces (see dptest.Options.VLANs) or in the
// bridge lab of bridge_test.go (ports p0..p3: p0, p1 and p2's VLAN 100 in
// bridge br0 with the BVI bvi0 10.50.0.1/24; p3 routed, 10.60.0.1/24),
// whose bridge clock stands still. Every port's frames are queued before
// the router runs, and a poll takes the ports in order, so the frames of
// in0 go through the graph before those of in1, and so on: what a port
// later in the order sends can depend on what was learned from an
// earlier one.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/dp/dptest"
	"github.com/softnet/softnet/hdr"
)

// goldenL2Case is a generated VLAN or bridge case: its lab and the frames
// each port receives.
type goldenL2Case struct {
	name   string
	bridge bool // the bridge lab (4 ports), else the dptest VLAN lab (2)
	// setup changes the VLAN lab's configuration before the run (it is
	// published after).
	setup func(t *testing.T, r *control.Router)
	in    func() [][]frame
}

var goldenL2Cases = []goldenL2Case{
	{name: "vlan", in: vlanGoldenInput},
	{name: "vlan-down", setup: func(t *testing.T, r *control.Router) {
		if err := r.SetInterfaceUp(sub100, false); err != nil {
			t.Fatal(err)
		}
	}, in: vlanDownInput},
	{name: "bridge-learn", bridge: true, in: bridgeLearnInput},
	{name: "bridge-flood", bridge: true, in: bridgeFloodInput},
	{name: "bridge-bvi", bridge: true, in: bridgeBVIInput},
	{name: "bridge-vlan", bridge: true, in: bridgeVLANInput},
}

func goldenL2CaseNamed(name string) *goldenL2Case {
	for i := range goldenL2Cases {
		if goldenL2Cases[i].name == name {
			return &goldenL2Cases[i]
		}
	}
	return nil
}

// ports is how many ports the case's lab has.
func (c *goldenL2Case) ports() int {
	if c.bridge {
		return 4
	}
	return 2
}

// writeL2Inputs writes the case's in<N>.pcap files (none for a port that
// receives nothing).
func writeL2Inputs(t *testing.T, dir string, c *goldenL2Case) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	in := c.in()
	for i := range c.ports() {
		name := filepath.Join(dir, fmt.Sprintf("in%d.pcap", i))
		if i >= len(in) || len(in[i]) == 0 {
			if err := os.Remove(name); err != nil && !errors.Is(err, os.ErrNotExist) {
				t.Fatal(err)
			}
			continue
		}
		writePcap(t, name, frameData(in[i]))
	}
}

// runGoldenL2 replays a VLAN or bridge case directory and compares or
// rewrites its expected files.
func runGoldenL2(t *testing.T, dir string, c *goldenL2Case) {
	n := c.ports()
	in := make([][][]byte, n)
	for i := range in {
		name := filepath.Join(dir, fmt.Sprintf("in%d.pcap", i))
		if _, err := os.Stat(name); errors.Is(err, os.ErrNotExist) {
			continue
		}
		in[i] = readPcap(t, name)
	}
	var l *diffLab
	if c.bridge {
		l = newDiffLab(t, diffBridge, false)
	} else {
		l = newDiffLab(t, diffVLANs, false)
		if c.setup != nil {
			c.setup(t, l.r)
			l.r.Publish()
		}
	}
	out := l.run(t, in)
	if free, size := l.w.Pool().Free(), l.w.Pool().Size(); free != size {
		t.Errorf("buffer leak: %d of %d buffers back in the pool", free, size)
	}
	cs := l.w.Counters()
	if cs.Drops[dp.ReasonNone] != 0 {
		t.Errorf("%d drops without a reason", cs.Drops[dp.ReasonNone])
	}
	for i := range out {
		for j, f := range out[i] {
			if len(f) < hdr.EthernetLen {
				t.Errorf("out%d frame %d: %d bytes, shorter than an Ethernet header", i, j, len(f))
			}
		}
	}
	var notes [][]string
	for _, fs := range c.in() {
		var ns []string
		for _, f := range fs {
			ns = append(ns, f.note)
		}
		notes = append(notes, ns)
	}
	counters := l2CountersText(l.r, cs)
	summary := l2SummaryText(in, out, notes)
	if *update {
		for i := range out {
			writePcap(t, filepath.Join(dir, fmt.Sprintf("out%d.pcap", i)), out[i])
		}
		writeFile(t, filepath.Join(dir, "counters.txt"), counters)
		writeFile(t, filepath.Join(dir, "summary.txt"), summary)
		return
	}
	for i := range out {
		want := readPcap(t, filepath.Join(dir, fmt.Sprintf("out%d.pcap", i)))
		diffFrames(t, fmt.Sprintf("out%d", i), want, out[i])
	}
	diffLines(t, "counters.txt", readFile(t, filepath.Join(dir, "counters.txt")), counters)
	if want := readFile(t, filepath.Join(dir, "summary.txt")); want != summary {
		t.Errorf("summary.txt is stale (the pcaps changed without it?): regenerate with -update")
	}
}

// l2CountersText is countersText for any lab, with the bridge's
// counters.
func l2CountersText(r *control.Router, c dp.Counters) string {
	var lines []string
	add := func(name string, v uint64) {
		if v != 0 {
			lines = append(lines, fmt.Sprintf("%s %d", name, v))
		}
	}
	for rs := dp.Reason(0); rs < dp.NumReasons; rs++ {
		add("drop."+rs.String(), c.Drops[rs])
	}
	for k := range dp.NumICMPErrors {
		add("icmp-error."+dp.ICMPErrorNames[k], c.ICMPErrors[k])
	}
	add("icmp-echo-replies", c.ICMPEchoReplies)
	add("fragments", c.Fragments)
	add("punts", c.Punts)
	add("punt-full", c.PuntFull)
	add("injected", c.Injected)
	add("arp-consumed", c.ARPConsumed)
	add("bridge-moves", c.BridgeMoves)
	add("bridge-floods", c.BridgeFloods)
	add("bridge-learn-full", c.BridgeLearnFull)
	add("flood-copies", c.FloodCopies)
	for i, ifc := range r.Interfaces() {
		add("rx-packets."+ifc.Name, at(c.RxPackets, i))
		add("rx-bytes."+ifc.Name, at(c.RxBytes, i))
		add("tx-packets."+ifc.Name, at(c.TxPackets, i))
		add("tx-bytes."+ifc.Name, at(c.TxBytes, i))
	}
	s := r.Stats()
	add("cp.arp-requests", s.ARPRequests)
	add("cp.resolved", s.Resolved)
	add("cp.queue-drops", s.QueueDrops)
	add("cp.inject-full", s.InjectFull)
	add("cp.neighbor-moves", s.NeighborMoves)
	sort.Strings(lines)
	return strings.Join(lines, "\n") + "\n"
}

func l2SummaryText(in, out [][][]byte, notes [][]string) string {
	var b strings.Builder
	b.WriteString("# Generated by go test ./dp -run TestGolden -update; decoded with gopacket.\n")
	for i := range in {
		for j, f := range in[i] {
			fmt.Fprintf(&b, "in%d  #%-3d %s\n", i, j, describeL2(f))
			if i < len(notes) && j < len(notes[i]) {
				fmt.Fprintf(&b, "           (%s)\n", notes[i][j])
			}
		}
	}
	for i := range out {
		for j, f := range out[i] {
			fmt.Fprintf(&b, "out%d #%-3d %s\n", i, j, describeL2(f))
		}
	}
	return b.String()
}

// describeL2 is describe with the VLAN tags spelled out.
func describeL2(f []byte) string {
	p := gopacket.NewPacket(f, layers.LayerTypeEthernet, gopacket.Default)
	var parts []string
	for _, l := range p.Layers() {
		switch l := l.(type) {
		case *layers.Ethernet:
			parts = append(parts, fmt.Sprintf("%v > %v %v", l.SrcMAC, l.DstMAC, l.EthernetType))
		case *layers.Dot1Q:
			parts = append(parts, fmt.Sprintf("vlan %d pcp %d %v", l.VLANIdentifier, l.Priority, l.Type))
		case *gopacket.DecodeFailure:
			if exp := experimental(f); exp != "" {
				parts = append(parts, exp)
				continue
			}
			parts = append(parts, describeL3(l))
		default:
			parts = append(parts, describeL3(l))
		}
	}
	if len(parts) == 0 {
		return fmt.Sprintf("%d bytes: undecodable", len(f))
	}
	if exp := experimental(f); exp != "" && parts[len(parts)-1] != exp {
		parts = append(parts, exp) // gopacket stops at a tag's unknown EtherType
	}
	return fmt.Sprintf("%d bytes: %s", len(f), strings.Join(parts, " | "))
}

// experimental describes l2's frames (the local experimental EtherType,
// numbered by their first payload byte), "" for others.
func experimental(f []byte) string {
	if off := l2Offset(f); off < len(f) && binary.BigEndian.Uint16(f[off-2:]) == 0x88b5 {
		return fmt.Sprintf("0x88b5 frame #%d", f[off])
	}
	return ""
}

// l2Offset is where the payload of f starts, past its tags.
func l2Offset(f []byte) int {
	off := hdr.EthernetLen
	for off+4 <= len(f) {
		switch binary.BigEndian.Uint16(f[off-2:]) {
		case hdr.EtherTypeVLAN, hdr.EtherTypeQinQ:
			off += 4
			continue
		}
		break
	}
	return off
}

// ---- Inputs ----

// l2gen numbers the frames it makes (the UDP source port, the l2 frame's
// first payload byte) so each output can be told to its input.
type l2gen struct {
	n   int
	out [][]frame
}

func newL2Gen(ports int) *l2gen { return &l2gen{out: make([][]frame, ports)} }

func (g *l2gen) add(port int, note string, f []byte) {
	g.out[port] = append(g.out[port], frame{note, f})
}

// udp is an Ethernet/IPv4/UDP frame with 16 bytes of data, numbered.
func (g *l2gen) udp(dst, src [6]byte, from, to netip.Addr, ttl uint8) []byte {
	g.n++
	return dptest.IPv4Frame(dst, src, from, to, hdr.ProtoUDP, ttl, false, dptest.UDP(uint16(40000+g.n), 9, 16))
}

// raw is a 60-byte frame of the local experimental EtherType, numbered.
func (g *l2gen) raw(dst, src [6]byte) []byte {
	g.n++
	return l2(dst, src, g.n)
}

func vlanGoldenInput() [][]frame {
	g := newL2Gen(2)
	a, b := dptest.HostAMAC, dptest.HostBMAC
	r0, r1 := dptest.R0MAC, dptest.R1MAC
	g.add(0, "802.1Q VLAN 100 to 10.0.200.2: routed out if1 in VLAN 200",
		dptest.Tag(g.udp(r0, a, host100, host200, 64), 0x8100, 100))
	g.add(0, "QinQ 0x88a8 10 / 0x8100 20 to 10.0.100.2: routed out if0 in VLAN 100",
		dptest.Tag(g.udp(r0, a, hostQinQ, host100, 64), 0x88a8, 10, 0x8100, 20))
	g.add(0, "untagged to 10.0.200.2: the tag of VLAN 200 is pushed",
		g.udp(r0, a, dptest.HostA, host200, 64))
	g.add(0, "priority tag (VID 0, PCP 5) to 10.0.2.2: the port's own, routed out if1 untagged",
		dptest.Tag(g.udp(r0, a, dptest.HostA, dptest.HostB, 64), 0x8100, 0xa000))
	g.add(0, "VLAN 100 with PCP 7 and DEI to 10.0.200.2: same VLAN, the tag out is VLAN 200's (PCP 0)",
		dptest.Tag(g.udp(r0, a, host100, host200, 64), 0x8100, 0xf000|100))
	g.add(0, "unknown VLAN 300: drop (vlan-unknown)",
		dptest.Tag(g.udp(r0, a, host100, host200, 64), 0x8100, 300))
	g.add(0, "VID 4095: drop (vlan-reserved)",
		dptest.Tag(g.udp(r0, a, host100, host200, 64), 0x8100, 4095))
	g.add(0, "unknown outer VLAN 11 of QinQ: drop (vlan-unknown)",
		dptest.Tag(g.udp(r0, a, hostQinQ, host100, 64), 0x88a8, 11, 0x8100, 20))
	g.add(0, "a tag behind VLAN 100's: drop (vlan-too-deep)",
		dptest.Tag(g.udp(r0, a, host100, host200, 64), 0x8100, 100, 0x8100, 5))
	g.add(0, "a tag behind a priority tag: drop (vlan-stacked-priority)",
		dptest.Tag(g.udp(r0, a, host100, host200, 64), 0x8100, 0, 0x8100, 100))
	g.add(0, "ends inside its tag: drop (vlan-truncated)",
		dptest.Tag(g.udp(r0, a, host100, host200, 64), 0x8100, 100)[:16])
	g.add(0, "ARP request for 10.0.100.1 in VLAN 100: answered in VLAN 100",
		dptest.Tag(dptest.ARPFrame(hdr.ARPRequest, dptest.Broadcast, a, host100, [6]byte{}, dptest.SubAddr[0]), 0x8100, 100))
	g.add(0, "ping 10.0.120.1 in QinQ 10 / 20: the reply goes back in QinQ",
		dptest.Tag(dptest.IPv4Frame(r0, a, hostQinQ, dptest.SubAddr[1], hdr.ProtoICMP, 64, false, dptest.Echo(7, 1, 16)), 0x88a8, 10, 0x8100, 20))
	g.add(0, "VLAN 100, TTL 1: ICMP time exceeded from 10.0.100.1, back in VLAN 100",
		dptest.Tag(g.udp(r0, a, host100, host200, 1), 0x8100, 100))
	g.add(0, "VLAN 100 to another MAC: drop (ethernet-input not for us)",
		dptest.Tag(g.udp(b, a, host100, host200, 64), 0x8100, 100))
	g.add(1, "VLAN 200 to 10.0.1.2: the tag is popped, routed out if0 untagged",
		dptest.Tag(g.udp(r1, b, host200, dptest.HostA, 64), 0x8100, 200))
	g.add(1, "VLAN 200 to 10.0.120.2: routed out if0 in QinQ (802.1ad outer 10, inner 20)",
		dptest.Tag(g.udp(r1, b, host200, hostQinQ, 64), 0x8100, 200))
	g.add(1, "VLAN 200 to 198.18.0.1: routed out if1 untagged via 10.0.2.2",
		dptest.Tag(g.udp(r1, b, host200, netip.MustParseAddr("198.18.0.1"), 64), 0x8100, 200))
	return g.out
}

func vlanDownInput() [][]frame {
	g := newL2Gen(2)
	a, b := dptest.HostAMAC, dptest.HostBMAC
	r0, r1 := dptest.R0MAC, dptest.R1MAC
	g.add(0, "VLAN 100 (if0.100 is down) to 10.0.200.2: drop (interface down)",
		dptest.Tag(g.udp(r0, a, host100, host200, 64), 0x8100, 100))
	g.add(0, "ARP request for 10.0.100.1 in VLAN 100 (down): drop",
		dptest.Tag(dptest.ARPFrame(hdr.ARPRequest, dptest.Broadcast, a, host100, [6]byte{}, dptest.SubAddr[0]), 0x8100, 100))
	g.add(0, "QinQ 10 / 20 to 10.0.200.2: still routed, out if1 in VLAN 200",
		dptest.Tag(g.udp(r0, a, hostQinQ, host200, 64), 0x88a8, 10, 0x8100, 20))
	g.add(1, "VLAN 200 to 10.0.100.2, behind the down VLAN 100: withdrawn, ICMP host unreachable back",
		dptest.Tag(g.udp(r1, b, host200, host100, 64), 0x8100, 200))
	g.add(1, "VLAN 200 to 10.0.120.2: routed out if0 in QinQ",
		dptest.Tag(g.udp(r1, b, host200, hostQinQ, 64), 0x8100, 200))
	return g.out
}

var (
	bmacD  = [6]byte{0x02, 0xd0, 0, 0, 0, 1} // never seen: unknown unicast
	p2MAC  = [6]byte{0x02, 0x42, 0, 0, 0, 2}
	mcastD = [6]byte{0x01, 0x00, 0x5e, 0, 0, 0x05}
)

func bridgeLearnInput() [][]frame {
	g := newL2Gen(4)
	g.add(0, "A to B, B unknown: flooded to p1 and p2.100 (tagged); A learned on p0", g.raw(bmacB, bmacA))
	g.add(0, "A to B again: flooded again (B still unknown: p1 comes later in the poll)", g.raw(bmacB, bmacA))
	g.add(1, "B to A: A is known on p0, sent there only; B learned on p1", g.raw(bmacA, bmacB))
	g.add(1, "B to A again", g.raw(bmacA, bmacB))
	g.add(1, "D to B from p1, where B was learned: filtered (same member)", g.raw(bmacB, bmacD))
	g.add(2, "VLAN 100 C to A: to p0, the tag popped; C learned on p2.100", dptest.Tag(g.raw(bmacA, bmacC), 0x8100, 100))
	g.add(2, "VLAN 100 C to B: to p1, untagged", dptest.Tag(g.raw(bmacB, bmacC), 0x8100, 100))
	g.add(2, "VLAN 100 A to B: A moves to p2.100 (a move), to p1", dptest.Tag(g.raw(bmacB, bmacA), 0x8100, 100))
	return g.out
}

func bridgeFloodInput() [][]frame {
	g := newL2Gen(4)
	g.add(0, "broadcast from A: flooded to p1 and p2.100; the BVI's copy has an unknown EtherType (drop)", g.raw(dptest.Broadcast, bmacA))
	g.add(0, "unknown unicast A to D: flooded to p1 and p2.100", g.raw(bmacD, bmacA))
	g.add(0, "IPv4 multicast MAC: flooded, the BVI's copy dropped by ip4-input (multicast destination)",
		g.udp(mcastD, bmacA, bhostA, netip.MustParseAddr("224.0.0.5"), 1))
	g.add(0, "to 01:80:c2:00:00:00 (STP): never forwarded (bridge link-local)", g.raw([6]byte{0x01, 0x80, 0xc2, 0, 0, 0}, bmacA))
	g.add(0, "from a multicast source: drop", g.raw(bmacB, [6]byte{0x03, 0, 0, 0, 0, 1}))
	g.add(1, "broadcast from B: flooded to p0 and p2.100", g.raw(dptest.Broadcast, bmacB))
	g.add(2, "VLAN 100 broadcast from C: flooded to p0 and p1, untagged", dptest.Tag(g.raw(dptest.Broadcast, bmacC), 0x8100, 100))
	return g.out
}

func bridgeBVIInput() [][]frame {
	g := newL2Gen(4)
	g.add(0, "ARP request from A for the BVI 10.50.0.1: flooded, answered to p0 from the BVI's MAC; A learned (bridge and ARP)",
		dptest.ARPFrame(hdr.ARPRequest, dptest.Broadcast, bmacA, bhostA, [6]byte{}, bviIP))
	g.add(0, "ping 10.50.0.1 from A: the reply waits for A's MAC (learned from the ARP request above when the control plane runs), then goes through the bridge to p0",
		dptest.IPv4Frame(bviMAC, bmacA, bhostA, bviIP, hdr.ProtoICMP, 64, false, dptest.Echo(3, 1, 16)))
	g.add(0, "A to 10.60.0.2 via the BVI: routed out p3 to C, TTL 63", g.udp(bviMAC, bmacA, bhostA, p3Host, 64))
	g.add(0, "A to 10.60.0.2, TTL 1: ICMP time exceeded from the BVI back to A (after A is resolved, like the reply)", g.udp(bviMAC, bmacA, bhostA, p3Host, 1))
	g.add(3, "10.60.0.2 to 10.50.0.2 (A): routed into the bridge from the BVI (after A is resolved), out p0, TTL 63", g.udp(p3MAC, bmacC, p3Host, bhostA, 64))
	g.add(3, "10.60.0.2 to 10.50.0.3 (not resolved): the control plane ARPs for it from the BVI, flooded in the bridge", g.udp(p3MAC, bmacC, p3Host, bhostB, 64))
	g.add(3, "ping 10.50.0.1 (the BVI) from p3's side: answered out p3",
		dptest.IPv4Frame(p3MAC, bmacC, p3Host, bviIP, hdr.ProtoICMP, 64, false, dptest.Echo(4, 1, 16)))
	return g.out
}

func bridgeVLANInput() [][]frame {
	g := newL2Gen(4)
	g.add(0, "broadcast from A: flooded to p1 and to p2 in VLAN 100 (the tag pushed)", g.raw(dptest.Broadcast, bmacA))
	g.add(1, "B to C (unknown): flooded to p0 and to p2 in VLAN 100", g.raw(bmacC, bmacB))
	g.add(2, "VLAN 100 C to A: to p0, the tag popped", dptest.Tag(g.raw(bmacA, bmacC), 0x8100, 100))
	g.add(2, "VLAN 100 C to B, PCP 6: to p1, untagged", dptest.Tag(g.raw(bmacB, bmacC), 0x8100, 0xc000|100))
	g.add(2, "untagged on p2 (not a member): not for p2's MAC, drop", g.raw(bmacA, bmacC))
	g.add(2, "untagged IPv4 to p2's own MAC (p2 has no address, and is no member): routed as on any L3 interface; 10.50.0.2 is unresolved, so the control plane ARPs for it from the BVI, flooded", g.udp(p2MAC, bmacC, p3Host, bhostA, 64))
	g.add(2, "VLAN 200 on p2 (no such sub-interface): drop (vlan-unknown)", dptest.Tag(g.raw(bmacA, bmacC), 0x8100, 200))
	return g.out
}
