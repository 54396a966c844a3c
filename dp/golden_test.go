package dp_test

// Golden pcap tests, in the manner of Click's testies: each directory under
// testdata/golden/<case>/ holds the traffic received on each interface
// (in0.pcap, optionally in1.pcap), what each interface must transmit
// (out0.pcap, out1.pcap), the non-zero counters (counters.txt) and a decoded
// listing of all of it (summary.txt, for reviewers). The inputs of the cases
// in goldenCases are generated here with gopacket; `go test ./dp -run
// TestGolden -update` rewrites inputs and expected outputs. A directory
// without a generator (a captured trace, say) is replayed as it is.
//
// The VLAN and bridge cases (goldenL2Cases, golden_l2_test.go) live in
// the same directory and are replayed in their own labs.
//
// The golden files are not the only check: checkRFC asserts, for every
// frame sent, the properties RFC 791, 792 and 1812 require (valid
// checksums, TTL decremented once, ICMP errors quoting the offending header
// and data, fragments that reassemble to the original, ...).

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/dp/dptest"
	"github.com/softnet/softnet/hdr"
)

var update = flag.Bool("update", false, "rewrite the golden files of TestGolden (generated inputs and expected outputs)")

// goldenEpoch is the timestamp of the first packet of every golden pcap;
// packet i is stamped goldenEpoch + i ms, so the files are byte-stable.
var goldenEpoch = time.Unix(1_000_000, 0).UTC()

// frame is one generated input frame with a note saying what it tests.
type frame struct {
	note string
	data []byte
}

// goldenCase is a generated case: the lab it runs in and its inputs.
type goldenCase struct {
	name string
	opts dptest.Options
	in   func() [2][]frame
}

var goldenCases = []goldenCase{
	{name: "mixed", in: mixedInput},
	{name: "malformed", in: malformedInput},
	{name: "frag", opts: dptest.Options{MTU1: 576}, in: fragInput},
}

func TestGolden(t *testing.T) {
	root := filepath.Join("testdata", "golden")
	if *update {
		for _, c := range goldenCases {
			writeInputs(t, filepath.Join(root, c.name), c.in())
		}
		for i := range goldenL2Cases {
			writeL2Inputs(t, filepath.Join(root, goldenL2Cases[i].name), &goldenL2Cases[i])
		}
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatalf("%v (generate the golden files with: go test ./dp -run TestGolden -update)", err)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		seen[e.Name()] = true
		if c := goldenL2CaseNamed(e.Name()); c != nil { // VLANs and the bridge: golden_l2_test.go
			t.Run(e.Name(), func(t *testing.T) { runGoldenL2(t, filepath.Join(root, e.Name()), c) })
			continue
		}
		var opts dptest.Options
		var notes [2][]string
		for _, c := range goldenCases {
			if c.name == e.Name() {
				opts = c.opts
				in := c.in()
				for i := range in {
					for _, f := range in[i] {
						notes[i] = append(notes[i], f.note)
					}
				}
			}
		}
		t.Run(e.Name(), func(t *testing.T) {
			runGolden(t, filepath.Join(root, e.Name()), opts, notes)
		})
	}
	for _, c := range goldenCases {
		if !seen[c.name] {
			t.Errorf("case %s has no directory under %s: run go test ./dp -run TestGolden -update", c.name, root)
		}
	}
	for _, c := range goldenL2Cases {
		if !seen[c.name] {
			t.Errorf("case %s has no directory under %s: run go test ./dp -run TestGolden -update", c.name, root)
		}
	}
}

func writeInputs(t *testing.T, dir string, in [2][]frame) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range in {
		name := filepath.Join(dir, fmt.Sprintf("in%d.pcap", i))
		if len(in[i]) == 0 {
			if err := os.Remove(name); err != nil && !errors.Is(err, os.ErrNotExist) {
				t.Fatal(err)
			}
			continue
		}
		var frames [][]byte
		for _, f := range in[i] {
			frames = append(frames, f.data)
		}
		writePcap(t, name, frames)
	}
}

// runGolden replays one case directory and compares or rewrites its
// expected files.
func runGolden(t *testing.T, dir string, opts dptest.Options, notes [2][]string) {
	var in [2][][]byte
	for i := range in {
		name := filepath.Join(dir, fmt.Sprintf("in%d.pcap", i))
		if _, err := os.Stat(name); i > 0 && errors.Is(err, os.ErrNotExist) {
			continue
		}
		in[i] = readPcap(t, name)
	}
	l := dptest.New(t, opts)
	// Both interfaces' traffic is queued before the router runs, so the
	// first poll sees a batch on each: the order of what comes out is
	// the graph's, not the test's.
	l.Ports[0].Push(in[0]...)
	l.Ports[1].Push(in[1]...)
	l.Run()
	out := [2][][]byte{l.Out(0), l.Out(1)}
	if free, size := l.Worker.Pool().Free(), l.Worker.Pool().Size(); free != size {
		t.Errorf("buffer leak: %d of %d buffers back in the pool", free, size)
	}
	c := l.Counters()
	if c.Drops[dp.ReasonNone] != 0 {
		t.Errorf("%d drops without a reason", c.Drops[dp.ReasonNone])
	}
	mtu := [2]int{1500, 1500}
	if opts.MTU1 != 0 {
		mtu[1] = opts.MTU1
	}
	checkRFC(t, in, out, mtu)
	var own6 [2][]netip.Addr
	if opts.IPv6 {
		own6[0] = []netip.Addr{dptest.R0v6}
		if !opts.LinkLocalOnly1 {
			own6[1] = []netip.Addr{dptest.R1v6}
		}
	}
	checkRFC6(t, in, out, mtu, own6)
	counters := countersText(l)
	summary := summaryText(in, out, notes)

	checkGolden(t, dir, out[:], counters, summary)
}

// checkGolden compares a case's output frames per port, counters and
// summary with the files in dir, or writes them there under -update.
func checkGolden(t *testing.T, dir string, out [][][]byte, counters, summary string) {
	t.Helper()
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

// countersText lists the lab's non-zero counters, one `name value` a
// line, sorted.
func countersText(l *dptest.Lab) string {
	return goldenCounters(l.Router, l.Counters(), false)
}

// goldenCounters lists a router's non-zero counters, one `name value` a
// line, sorted: drops by reason, ICMP errors, the worker and control-plane
// counters and packets per interface; with l2 (the VLAN and bridge cases)
// also the bridge's counters and bytes per interface.
func goldenCounters(r *control.Router, c dp.Counters, l2 bool) string {
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
	if l2 {
		add("arp-consumed", c.ARPConsumed)
		add("bridge-moves", c.BridgeMoves)
		add("bridge-floods", c.BridgeFloods)
		add("bridge-learn-full", c.BridgeLearnFull)
		add("flood-copies", c.FloodCopies)
	}
	for i, ifc := range r.Interfaces() {
		add("rx-packets."+ifc.Name, at(c.RxPackets, i))
		add("tx-packets."+ifc.Name, at(c.TxPackets, i))
		if l2 {
			add("rx-bytes."+ifc.Name, at(c.RxBytes, i))
			add("tx-bytes."+ifc.Name, at(c.TxBytes, i))
		}
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

func summaryText(in, out [2][][]byte, notes [2][]string) string {
	var b strings.Builder
	b.WriteString("# Generated by go test ./dp -run TestGolden -update; decoded with gopacket.\n")
	for i := range in {
		for j, f := range in[i] {
			fmt.Fprintf(&b, "in%d  #%-3d %s\n", i, j, describe(f))
			if j < len(notes[i]) {
				fmt.Fprintf(&b, "           (%s)\n", notes[i][j])
			}
		}
	}
	for i := range out {
		for j, f := range out[i] {
			fmt.Fprintf(&b, "out%d #%-3d %s\n", i, j, describe(f))
		}
	}
	return b.String()
}

// The pcap files are classic libpcap files (microsecond timestamps,
// little-endian, link type 1 = Ethernet), written and read here rather
// than with gopacket's pcapgo, which needs golang.org/x/net (not in
// go.mod).
const (
	pcapMagic    = 0xa1b2c3d4
	pcapSnaplen  = 65535
	pcapEthernet = 1
)

func writePcap(t *testing.T, name string, frames [][]byte) {
	t.Helper()
	le := binary.LittleEndian
	var b []byte
	b = le.AppendUint32(b, pcapMagic)
	b = le.AppendUint16(b, 2) // version 2.4
	b = le.AppendUint16(b, 4)
	b = le.AppendUint32(b, 0) // thiszone
	b = le.AppendUint32(b, 0) // sigfigs
	b = le.AppendUint32(b, pcapSnaplen)
	b = le.AppendUint32(b, pcapEthernet)
	for i, f := range frames {
		ts := goldenEpoch.Add(time.Duration(i) * time.Millisecond)
		b = le.AppendUint32(b, uint32(ts.Unix()))
		b = le.AppendUint32(b, uint32(ts.Nanosecond()/1000))
		b = le.AppendUint32(b, uint32(len(f))) // captured
		b = le.AppendUint32(b, uint32(len(f))) // on the wire
		b = append(b, f...)
	}
	if err := os.WriteFile(name, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readPcap(t *testing.T, name string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatalf("%v (regenerate with: go test ./dp -run TestGolden -update)", err)
	}
	frames, err := parsePcap(b)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return frames
}

// parsePcap decodes a classic pcap file of either byte order.
func parsePcap(b []byte) ([][]byte, error) {
	if len(b) < 24 {
		return nil, errors.New("not a pcap file: shorter than its header")
	}
	var bo binary.ByteOrder = binary.LittleEndian
	switch {
	case binary.LittleEndian.Uint32(b) == pcapMagic:
	case binary.BigEndian.Uint32(b) == pcapMagic:
		bo = binary.BigEndian
	default:
		return nil, fmt.Errorf("not a microsecond pcap file (magic %#08x)", binary.LittleEndian.Uint32(b))
	}
	if lt := bo.Uint32(b[20:]); lt != pcapEthernet {
		return nil, fmt.Errorf("link type %d, want %d (Ethernet)", lt, pcapEthernet)
	}
	var frames [][]byte
	for p := 24; p < len(b); {
		if len(b)-p < 16 {
			return nil, fmt.Errorf("truncated record header at byte %d", p)
		}
		n := int(bo.Uint32(b[p+8:]))
		p += 16
		if n > len(b)-p {
			return nil, fmt.Errorf("truncated record at byte %d", p)
		}
		frames = append(frames, slices.Clone(b[p:p+n]))
		p += n
	}
	return frames, nil
}

func writeFile(t *testing.T, name, s string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatalf("%v (regenerate with: go test ./dp -run TestGolden -update)", err)
	}
	return string(b)
}

// diffFrames reports, frame by frame, where got differs from want: the
// first differing byte offset and both frames decoded by gopacket.
func diffFrames(t *testing.T, what string, want, got [][]byte) {
	t.Helper()
	shown := 0
	for i := range max(len(want), len(got)) {
		var w, g []byte
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		if bytes.Equal(w, g) {
			continue
		}
		if shown++; shown > 5 {
			t.Errorf("%s: more differences not shown", what)
			break
		}
		switch {
		case w == nil:
			t.Errorf("%s frame %d: unexpected frame\n  got:  %s\n%s", what, i, describe(g), dump(g))
		case g == nil:
			t.Errorf("%s frame %d: missing frame\n  want: %s\n%s", what, i, describe(w), dump(w))
		default:
			off := 0
			for off < len(w) && off < len(g) && w[off] == g[off] {
				off++
			}
			at := "length differs"
			if off < len(w) && off < len(g) {
				at = fmt.Sprintf("want %#02x got %#02x", w[off], g[off])
			}
			t.Errorf("%s frame %d differs at byte %d (%s; %s; lengths want %d got %d)\n  want: %s\n  got:  %s\n--- want\n%s--- got\n%s",
				what, i, off, at, layerAt(w, off), len(w), len(g), describe(w), describe(g), dump(w), dump(g))
		}
	}
	if len(want) != len(got) {
		t.Errorf("%s: want %d frames, got %d", what, len(want), len(got))
	}
}

// layerAt names the gopacket layer holding byte off of frame f.
func layerAt(f []byte, off int) string {
	p := gopacket.NewPacket(f, layers.LayerTypeEthernet, gopacket.Default)
	start := 0
	for _, l := range p.Layers() {
		n := len(l.LayerContents())
		if off < start+n {
			return fmt.Sprintf("in %v at offset %d", l.LayerType(), off-start)
		}
		start += n
	}
	return "past the decoded layers"
}

func dump(f []byte) string {
	return gopacket.NewPacket(f, layers.LayerTypeEthernet, gopacket.Default).String()
}

func diffLines(t *testing.T, what, want, got string) {
	t.Helper()
	if want == got {
		return
	}
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for _, s := range w {
		if !slices.Contains(g, s) {
			fmt.Fprintf(&b, "- %s\n", s)
		}
	}
	for _, s := range g {
		if !slices.Contains(w, s) {
			fmt.Fprintf(&b, "+ %s\n", s)
		}
	}
	t.Errorf("%s differs (- want, + got):\n%s", what, b.String())
}

// describe is a one-line decode of a frame with gopacket.
func describe(f []byte) string {
	p := gopacket.NewPacket(f, layers.LayerTypeEthernet, gopacket.Default)
	var parts []string
	for _, l := range p.Layers() {
		switch l := l.(type) {
		case *layers.Ethernet:
			parts = append(parts, fmt.Sprintf("%v > %v %v", l.SrcMAC, l.DstMAC, l.EthernetType))
		default:
			parts = append(parts, describeL3(l))
		}
	}
	if len(parts) == 0 {
		return fmt.Sprintf("%d bytes: undecodable", len(f))
	}
	return fmt.Sprintf("%d bytes: %s", len(f), strings.Join(parts, " | "))
}

func describeL3(l gopacket.Layer) string {
	switch l := l.(type) {
	case *layers.IPv4:
		s := fmt.Sprintf("IPv4 %v > %v ttl %d id %#04x len %d", l.SrcIP, l.DstIP, l.TTL, l.Id, l.Length)
		if l.Flags&layers.IPv4DontFragment != 0 {
			s += " DF"
		}
		if l.Flags&layers.IPv4MoreFragments != 0 {
			s += " MF"
		}
		if l.FragOffset != 0 {
			s += fmt.Sprintf(" frag %d", l.FragOffset*8)
		}
		if l.IHL > 5 {
			s += fmt.Sprintf(" ihl %d", l.IHL)
		}
		return s
	case *layers.ARP:
		op := "request"
		if l.Operation == layers.ARPReply {
			op = "reply"
		}
		return fmt.Sprintf("ARP %s %v (%v) > %v (%v)", op,
			net.IP(l.SourceProtAddress), net.HardwareAddr(l.SourceHwAddress),
			net.IP(l.DstProtAddress), net.HardwareAddr(l.DstHwAddress))
	case *layers.UDP:
		return fmt.Sprintf("UDP %d > %d", l.SrcPort, l.DstPort)
	case *layers.TCP:
		return fmt.Sprintf("TCP %d > %d", l.SrcPort, l.DstPort)
	case *layers.ICMPv4:
		s := fmt.Sprintf("ICMP %v", l.TypeCode)
		switch l.TypeCode.Type() {
		case layers.ICMPv4TypeEchoRequest, layers.ICMPv4TypeEchoReply:
			s += fmt.Sprintf(" id %d seq %d", l.Id, l.Seq)
		case layers.ICMPv4TypeDestinationUnreachable, layers.ICMPv4TypeTimeExceeded:
			q := gopacket.NewPacket(l.Payload, layers.LayerTypeIPv4, gopacket.Default)
			var in []string
			for _, ql := range q.Layers() {
				in = append(in, describeL3(ql))
			}
			s += fmt.Sprintf(" [quote %d bytes: %s]", len(l.Payload), strings.Join(in, " | "))
		}
		return s
	case *layers.IPv6:
		s := fmt.Sprintf("IPv6 %v > %v hlim %d flow %#x len %d", l.SrcIP, l.DstIP, l.HopLimit, l.FlowLabel, l.Length)
		if l.NextHeader != layers.IPProtocolUDP && l.NextHeader != layers.IPProtocolTCP && l.NextHeader != layers.IPProtocolICMPv6 {
			s += fmt.Sprintf(" next %d", l.NextHeader)
		}
		return s
	case *layers.ICMPv6:
		s := fmt.Sprintf("ICMPv6 %v", l.TypeCode)
		if t := l.TypeCode.Type(); t < 128 && len(l.Payload) >= 4 {
			if rest := binary.BigEndian.Uint32(l.Payload); t == layers.ICMPv6TypePacketTooBig {
				s += fmt.Sprintf(" mtu %d", rest)
			} else if t == layers.ICMPv6TypeParameterProblem {
				s += fmt.Sprintf(" pointer %d", rest)
			}
			q := gopacket.NewPacket(l.Payload[4:], layers.LayerTypeIPv6, gopacket.Default)
			var in []string
			for _, ql := range q.Layers() {
				in = append(in, describeL3(ql))
			}
			s += fmt.Sprintf(" [quote %d bytes: %s]", len(l.Payload)-4, strings.Join(in, " | "))
		}
		return s
	case *layers.ICMPv6Echo:
		return fmt.Sprintf("id %d seq %d", l.Identifier, l.SeqNumber)
	case *layers.ICMPv6NeighborSolicitation:
		return fmt.Sprintf("NS target %v%s", l.TargetAddress, ndOpts(l.Options))
	case *layers.ICMPv6NeighborAdvertisement:
		var fl string
		for k, c := range "RSO" {
			if l.Flags&(0x80>>k) != 0 {
				fl += string(c)
			}
		}
		return fmt.Sprintf("NA target %v flags %q%s", l.TargetAddress, fl, ndOpts(l.Options))
	case *layers.ICMPv6RouterSolicitation:
		return "RS" + ndOpts(l.Options)
	case *layers.ICMPv6RouterAdvertisement:
		return fmt.Sprintf("RA hlim %d flags %#02x lifetime %d reachable %d retrans %d%s", l.HopLimit, l.Flags, l.RouterLifetime, l.ReachableTime, l.RetransTimer, ndOpts(l.Options))
	case *gopacket.Payload:
		return fmt.Sprintf("payload %d", len(*l))
	case *gopacket.DecodeFailure:
		return fmt.Sprintf("undecodable: %v", l.Error())
	default:
		return l.LayerType().String()
	}
}

// ndOpts describes Neighbor Discovery options.
func ndOpts(os layers.ICMPv6Options) string {
	var s string
	for _, o := range os {
		switch o.Type {
		case layers.ICMPv6OptSourceAddress, layers.ICMPv6OptTargetAddress:
			s += fmt.Sprintf(" %v %v", o.Type, net.HardwareAddr(o.Data))
		case layers.ICMPv6OptPrefixInfo:
			if len(o.Data) >= 30 {
				s += fmt.Sprintf(" prefix %v/%d flags %#02x valid %d preferred %d", net.IP(o.Data[14:30]), o.Data[0], o.Data[1],
					binary.BigEndian.Uint32(o.Data[2:]), binary.BigEndian.Uint32(o.Data[6:]))
			}
		case layers.ICMPv6OptMTU:
			if len(o.Data) >= 6 {
				s += fmt.Sprintf(" mtu %d", binary.BigEndian.Uint32(o.Data[2:]))
			}
		default:
			s += fmt.Sprintf(" %v", o.Type)
		}
	}
	return s
}

// ---- Input generation ----

// host is a sender in the dptest lab.
type host struct {
	iface int
	mac   [6]byte
	addr  netip.Addr
}

var (
	hostA = host{0, dptest.HostAMAC, dptest.HostA}
	hostB = host{1, dptest.HostBMAC, dptest.HostB}
)

// routerMAC is the MAC of the router's interface facing h.
func (h host) routerMAC() [6]byte {
	if h.iface == 0 {
		return dptest.R0MAC
	}
	return dptest.R1MAC
}

// gen builds frames with gopacket; every IPv4 packet gets a fresh ID so
// the checks can pair outputs with inputs.
type gen struct {
	id  uint16
	out [2][]frame
}

func (g *gen) add(iface int, note string, data []byte) {
	g.out[iface] = append(g.out[iface], frame{note, data})
}

func serialize(ls ...gopacket.SerializableLayer) []byte {
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		panic(err)
	}
	return slices.Clone(buf.Bytes())
}

func ether(dst, src [6]byte, t layers.EthernetType) *layers.Ethernet {
	return &layers.Ethernet{DstMAC: slices.Clone(dst[:]), SrcMAC: slices.Clone(src[:]), EthernetType: t}
}

// ip builds an Ethernet/IPv4 frame from h to dst with the given
// transport layers; mod, if not nil, adjusts the IPv4 layer first.
func (g *gen) ip(h host, dst netip.Addr, ttl uint8, proto layers.IPProtocol, mod func(*layers.IPv4), l4 ...gopacket.SerializableLayer) []byte {
	g.id++
	ip := &layers.IPv4{
		Version: 4, TTL: ttl, Protocol: proto, Id: 0x4000 + g.id,
		SrcIP: h.addr.AsSlice(), DstIP: dst.AsSlice(),
	}
	if mod != nil {
		mod(ip)
	}
	if len(l4) > 0 {
		switch l := l4[0].(type) {
		case *layers.UDP:
			_ = l.SetNetworkLayerForChecksum(ip)
		case *layers.TCP:
			_ = l.SetNetworkLayerForChecksum(ip)
		}
	}
	return serialize(append([]gopacket.SerializableLayer{ether(h.routerMAC(), h.mac, layers.EthernetTypeIPv4), ip}, l4...)...)
}

func payload(n int) gopacket.Payload {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i)
	}
	return p
}

func (g *gen) udp(h host, dst netip.Addr, ttl uint8, dport uint16, n int, mod func(*layers.IPv4)) []byte {
	return g.ip(h, dst, ttl, layers.IPProtocolUDP, mod,
		&layers.UDP{SrcPort: 40000 + layers.UDPPort(g.id), DstPort: layers.UDPPort(dport)}, payload(n))
}

func (g *gen) tcp(h host, dst netip.Addr, ttl uint8, dport uint16) []byte {
	return g.ip(h, dst, ttl, layers.IPProtocolTCP, nil,
		&layers.TCP{SrcPort: 50000, DstPort: layers.TCPPort(dport), Seq: 1000, SYN: true, Window: 65535})
}

func (g *gen) icmp(h host, dst netip.Addr, ttl uint8, typ, code uint8, id, seq uint16, body []byte, mod func(*layers.IPv4)) []byte {
	return g.ip(h, dst, ttl, layers.IPProtocolICMPv4, mod,
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(typ, code), Id: id, Seq: seq}, gopacket.Payload(body))
}

func (g *gen) ping(h host, dst netip.Addr, ttl uint8, seq uint16, n int) []byte {
	return g.icmp(h, dst, ttl, layers.ICMPv4TypeEchoRequest, 0, 0x77, seq, payload(n), nil)
}

func arp(h host, op uint16, dstMAC [6]byte, target netip.Addr) []byte {
	return serialize(ether(dstMAC, h.mac, layers.EthernetTypeARP), &layers.ARP{
		AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4,
		HwAddressSize: 6, ProtAddressSize: 4, Operation: op,
		SourceHwAddress: slices.Clone(h.mac[:]), SourceProtAddress: h.addr.AsSlice(),
		DstHwAddress: make([]byte, 6), DstProtAddress: target.AsSlice(),
	})
}

var (
	remote1   = netip.MustParseAddr("198.18.0.10")
	remote2   = netip.MustParseAddr("198.19.255.1")
	noRoute   = netip.MustParseAddr("203.0.113.5")
	unknownA  = netip.MustParseAddr("10.0.1.50") // on if0's subnet, never answers ARP
	bcast1    = netip.MustParseAddr("10.0.2.255")
	limited   = netip.MustParseAddr("255.255.255.255")
	mcast     = netip.MustParseAddr("224.0.0.5")
	otherMAC  = [6]byte{0x02, 0xcc, 0, 0, 0, 0x09}
	ipOptions = []layers.IPv4Option{
		{OptionType: 148, OptionLength: 4, OptionData: []byte{0, 0}}, // Router Alert (RFC 2113), copied
		{OptionType: 1}, // no-operation
		{OptionType: 7, OptionLength: 7, OptionData: make([]byte, 5)}, // Record Route with one empty slot (RFC 791)
		{OptionType: 0}, // end of list
	}
)

func mixedInput() [2][]frame {
	g := &gen{}
	a, b := hostA, hostB
	g.add(0, "ARP request for 10.0.1.1 from HostA: answered by the data plane", arp(a, layers.ARPRequest, dptest.Broadcast, dptest.R0))
	g.add(0, "UDP to HostB: forwarded, TTL 64 -> 63", g.udp(a, dptest.HostB, 64, 9, 32, nil))
	g.add(0, "TCP SYN to 198.18.0.10 via HostB: forwarded", g.tcp(a, remote1, 64, 80))
	g.add(0, "ICMP echo to 198.19.255.1: forwarded", g.ping(a, remote2, 30, 1, 24))
	g.add(0, "ping 10.0.1.1: echo reply to HostA", g.ping(a, dptest.R0, 64, 2, 56))
	g.add(0, "ping 10.0.2.1 (the other interface's address): echo reply", g.ping(a, dptest.R1, 64, 3, 56))
	g.add(0, "UDP to HostB with TTL 1: ICMP time exceeded", g.udp(a, dptest.HostB, 1, 33434, 12, nil))
	g.add(0, "UDP to 198.18.1.1 with TTL 0: ICMP time exceeded", g.udp(a, netip.MustParseAddr("198.18.1.1"), 0, 33435, 12, nil))
	g.add(0, "UDP to 203.0.113.5 (no route): ICMP net unreachable", g.udp(a, noRoute, 64, 9, 20, nil))
	g.add(0, "UDP to 10.0.1.1 port 33434: ICMP port unreachable", g.udp(a, dptest.R0, 64, 33434, 20, nil))
	g.add(0, "GRE to 10.0.1.1: ICMP protocol unreachable", g.ip(a, dptest.R0, 64, layers.IPProtocolGRE, nil, payload(16)))
	g.add(0, "TCP to 10.0.1.1: dropped, no TCP service", g.tcp(a, dptest.R0, 64, 22))
	g.add(0, "ICMP timestamp to 10.0.1.1: consumed", g.icmp(a, dptest.R0, 64, layers.ICMPv4TypeTimestampRequest, 0, 1, 1, make([]byte, 12), nil))
	g.add(0, "UDP with IP options (router alert, NOP, record route) to HostB: forwarded with options unchanged (record route is not filled in)",
		g.udp(a, dptest.HostB, 64, 9, 16, func(ip *layers.IPv4) { ip.Options = ipOptions }))
	f := g.udp(a, dptest.HostB, 64, 9, 4, nil)
	for i := len(f) - 14; i < len(f); i++ {
		f[i] = 0xee // non-zero Ethernet padding: must not be forwarded
	}
	g.add(0, "UDP with 14 bytes of Ethernet padding to HostB: forwarded trimmed", f)
	g.add(0, "UDP 1400 bytes to 198.18.0.10: forwarded whole (MTU 1500)", g.udp(a, remote1, 64, 9, 1400-28, nil))
	g.add(0, "UDP of exactly 1500 bytes, DF, to HostB: forwarded whole", g.udp(a, dptest.HostB, 64, 9, 1500-28, func(ip *layers.IPv4) { ip.Flags = layers.IPv4DontFragment }))
	g.add(0, "UDP to 10.0.1.50 (connected, unresolved): ARP request out if0, packet kept waiting", g.udp(a, unknownA, 64, 9, 8, nil))
	g.add(0, "UDP to 10.0.2.255 (directed broadcast): dropped", g.udp(a, bcast1, 64, 9, 8, nil))
	g.add(0, "ping 203.0.113.5 with TTL 1: net unreachable (the route is looked up before the TTL is checked, as Linux does)", g.ping(a, noRoute, 1, 4, 8))

	g.add(1, "UDP from HostB to HostA: forwarded", g.udp(b, dptest.HostA, 64, 9, 32, nil))
	g.add(1, "ping 10.0.1.1 from HostB: echo reply out if1", g.ping(b, dptest.R0, 64, 1, 32))
	g.add(1, "ping 10.0.2.1 from HostB: echo reply out if1", g.ping(b, dptest.R1, 64, 2, 32))
	g.add(1, "UDP to 10.0.2.1: ICMP port unreachable from 10.0.2.1", g.udp(b, dptest.R1, 64, 7, 8, nil))
	g.add(1, "UDP from HostB to HostA with TTL 1: time exceeded from 10.0.2.1", g.udp(b, dptest.HostA, 1, 33434, 8, nil))
	g.add(1, "TCP from HostB to 203.0.113.5: net unreachable", g.tcp(b, noRoute, 64, 443))
	return g.out
}

// fixSum recomputes the IPv4 header checksum of frame f.
func fixSum(f []byte) []byte {
	ip := hdr.IPv4(f[hdr.EthernetLen:])
	ip.SetChecksum(0)
	ip.SetChecksum(ip.ComputeChecksum())
	return f
}

func malformedInput() [2][]frame {
	g := &gen{}
	a := hostA
	good := func() []byte { return g.udp(a, dptest.HostB, 64, 9, 32, nil) }
	g.add(0, "empty frame: runt", []byte{})
	g.add(0, "13-byte frame: runt", good()[:13])
	g.add(0, "Ethernet header only: too short for IPv4", good()[:14])
	g.add(0, "IPv4 header cut at 19 bytes: too short", good()[:14+19])
	f := good()
	f[14] = 0x65
	g.add(0, "version 6 in an IPv4 EtherType: bad version", fixSum(f))
	f = good()
	f[14] = 0x44
	g.add(0, "IHL 4: bad IHL", f)
	f = g.udp(a, dptest.HostB, 64, 9, 0, nil)[:14+28]
	f[14] = 0x4f
	g.add(0, "IHL 15 (60 bytes) in a 28-byte packet: bad IHL", f)
	f = good()
	f[14+10] ^= 0x55
	g.add(0, "header checksum wrong: bad checksum", f)
	f = good()
	binary.BigEndian.PutUint16(f[16:], 1000)
	g.add(0, "total length 1000 in a 60-byte packet: bad total length", fixSum(f))
	f = good()
	binary.BigEndian.PutUint16(f[16:], 19)
	g.add(0, "total length 19: bad total length", fixSum(f))
	for _, s := range []string{"0.1.2.3", "127.0.0.1", "224.1.1.1", "240.0.0.1", "255.255.255.255"} {
		src := host{0, dptest.HostAMAC, netip.MustParseAddr(s)}
		g.add(0, "source "+s+": martian source", g.udp(src, dptest.HostB, 64, 9, 8, nil))
	}
	for _, d := range []string{"0.0.0.1", "127.0.0.1", "240.0.0.1"} {
		g.add(0, "destination "+d+": martian destination", g.udp(a, netip.MustParseAddr(d), 64, 9, 8, nil))
	}
	g.add(0, "destination 224.0.0.5: multicast, not routed", g.udp(a, mcast, 64, 9, 8, nil))
	g.add(0, "destination 255.255.255.255: limited broadcast", g.udp(a, limited, 64, 67, 8, nil))
	f = good()
	copy(f[0:6], dptest.Broadcast[:])
	g.add(0, "unicast IPv4 in a broadcast frame: not forwarded (RFC 1812 5.3.4)", f)
	f = g.udp(a, dptest.HostB, 1, 9, 8, nil)
	copy(f[0:6], []byte{0x01, 0x00, 0x5e, 0, 0, 5})
	g.add(0, "TTL 1 in a multicast frame: no time exceeded (RFC 1812 4.3.2.7)", f)
	g.add(0, "IPv6 frame", serialize(ether(a.routerMAC(), a.mac, layers.EthernetTypeIPv6),
		&layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolNoNextHeader,
			SrcIP: net.ParseIP("2001:db8::2"), DstIP: net.ParseIP("2001:db8::1")}))
	g.add(0, "802.1Q-tagged IPv4 frame", serialize(ether(a.routerMAC(), a.mac, layers.EthernetTypeDot1Q),
		&layers.Dot1Q{VLANIdentifier: 10, Type: layers.EthernetTypeIPv4},
		&layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: a.addr.AsSlice(), DstIP: dptest.HostB.AsSlice()}))
	f = good()
	f[12], f[13] = 0x88, 0xb5 // IEEE local experimental EtherType
	g.add(0, "unknown EtherType 0x88b5", f)
	g.add(0, "ARP request truncated to 20 bytes of ARP", arp(a, layers.ARPRequest, dptest.Broadcast, dptest.R0)[:14+20])
	f = arp(a, layers.ARPRequest, dptest.Broadcast, dptest.R0)
	f[14+1] = 6 // htype 6 (IEEE 802)
	g.add(0, "ARP with htype 6: malformed", f)
	f = arp(a, layers.ARPRequest, dptest.Broadcast, dptest.R1)
	g.add(0, "ARP request for 10.0.2.1 on if0: not for us", f)
	g.add(0, "ARP request from 192.0.2.9 (off-subnet sender): bad sender",
		arp(host{0, dptest.HostAMAC, netip.MustParseAddr("192.0.2.9")}, layers.ARPRequest, dptest.Broadcast, dptest.R0))
	// An ICMP destination unreachable (quoting some UDP packet) being
	// forwarded with TTL 1: RFC 1812 4.3.2.7 forbids an error about it.
	quoted := g.udp(host{1, dptest.HostBMAC, dptest.HostB}, dptest.HostA, 64, 9, 8, nil)[14 : 14+28]
	g.add(0, "ICMP port unreachable to HostB with TTL 1: no error about an error",
		g.icmp(a, dptest.HostB, 1, layers.ICMPv4TypeDestinationUnreachable, layers.ICMPv4CodePort, 0, 0, quoted, nil))
	g.add(0, "non-first fragment (offset 1480) with TTL 1: no error about a fragment",
		g.ip(a, dptest.HostB, 1, layers.IPProtocolUDP, func(ip *layers.IPv4) { ip.FragOffset = 185 }, payload(40)))
	g.add(0, "fragment to 10.0.1.1: no reassembly, dropped",
		g.ip(a, dptest.R0, 64, layers.IPProtocolUDP, func(ip *layers.IPv4) { ip.Flags = layers.IPv4MoreFragments }, payload(40)))
	g.add(0, "ICMP echo to 10.0.1.1 with a bad ICMP checksum: dropped",
		func() []byte {
			f := g.ping(a, dptest.R0, 64, 9, 16)
			f[14+20+2] ^= 0xff
			return f
		}())
	f = good()
	copy(f[0:6], otherMAC[:])
	g.add(0, "unicast frame to another MAC: not for us", f)
	g.add(1, "UDP from 0.0.0.0 on if1: martian source",
		g.udp(host{1, dptest.HostBMAC, netip.MustParseAddr("0.0.0.0")}, dptest.HostA, 64, 68, 8, nil))
	return g.out
}

func fragInput() [2][]frame {
	g := &gen{}
	a := hostA
	g.add(0, "UDP 1400 bytes, DF=0, to HostB over if1 (MTU 576): three fragments", g.udp(a, dptest.HostB, 64, 9, 1400-28, nil))
	g.add(0, "UDP 1400 bytes, DF=1, to 198.18.0.10: ICMP fragmentation needed, MTU 576", g.udp(a, remote1, 64, 9, 1400-28, func(ip *layers.IPv4) { ip.Flags = layers.IPv4DontFragment }))
	g.add(0, "UDP 1000 bytes with IP options, DF=0: the first fragment keeps every option, the others only copied ones",
		g.udp(a, dptest.HostB, 64, 9, 1000-28-16, func(ip *layers.IPv4) { ip.Options = ipOptions }))
	g.add(0, "a first fragment (MF, 996 bytes, offset 0): cut again, the last piece keeps MF",
		g.ip(a, dptest.HostB, 64, layers.IPProtocolUDP, func(ip *layers.IPv4) { ip.Flags = layers.IPv4MoreFragments }, payload(976)))
	g.add(0, "a last fragment (offset 800, 700 bytes): cut again at offsets from 800",
		g.ip(a, dptest.HostB, 64, layers.IPProtocolUDP, func(ip *layers.IPv4) { ip.FragOffset = 100 }, payload(680)))
	g.add(0, "UDP of exactly 576 bytes to HostB: forwarded whole", g.udp(a, dptest.HostB, 64, 9, 576-28, nil))
	g.add(0, "UDP 577 bytes, DF=0, TTL 2: fragmented, TTL 1 in each", g.udp(a, dptest.HostB, 2, 9, 577-28, nil))
	g.add(0, "UDP 1400 bytes, DF=1, TTL 1: time exceeded, not fragmentation needed", g.udp(a, dptest.HostB, 1, 9, 1400-28, func(ip *layers.IPv4) { ip.Flags = layers.IPv4DontFragment }))
	g.add(0, "ping 10.0.2.1 of 1000 bytes, DF=0: the reply goes back over if0 whole", g.ping(a, dptest.R1, 64, 1, 1000-28))
	g.add(0, "UDP 1400 bytes, DF=1, to 10.0.2.50 (on if1, unresolved): waits for ARP, then ICMP fragmentation needed from 10.0.1.1 (the interface it leaves by)",
		g.udp(a, netip.MustParseAddr("10.0.2.50"), 64, 9, 1400-28, func(ip *layers.IPv4) { ip.Flags = layers.IPv4DontFragment }))
	g.add(1, "ARP reply from 10.0.2.50 to 10.0.2.1: resolves 10.0.2.50",
		arp(host{1, [6]byte{0x02, 0xbb, 0, 0, 0, 0x50}, netip.MustParseAddr("10.0.2.50")}, layers.ARPReply, dptest.R1MAC, dptest.R1))
	g.add(1, "ping 10.0.2.1 from HostB of 1000 bytes (ingress MTU is not checked): the reply is fragmented for if1", g.ping(hostB, dptest.R1, 64, 2, 1000-28))
	return g.out
}

// ---- Property checks (RFC 791, 792, 1812) ----

// topo is what the checks know of the dptest lab: the router's addresses
// and MACs, and the neighbours (HostB static, others learned from ARP in
// the input).
type topo struct {
	mtu   [2]int
	nbr   map[uint32][6]byte
	local map[uint32]bool
}

// egress returns the interface and next-hop MAC for dst, as the lab routes.
func (tp *topo) egress(dst uint32) (iface int, mac [6]byte, ok bool) {
	remote := dptest.U32(dptest.Remote.Addr())
	switch {
	case dst&0xfffe0000 == remote:
		return 1, dptest.HostBMAC, true
	case dst&0xffffff00 == dptest.U32(dptest.R0)&0xffffff00:
		mac, ok = tp.nbr[dst]
		return 0, mac, ok
	case dst&0xffffff00 == dptest.U32(dptest.R1)&0xffffff00:
		mac, ok = tp.nbr[dst]
		return 1, mac, ok
	}
	return 0, mac, false
}

// inPkt is a valid IPv4 packet received, trimmed to its total length.
type inPkt struct {
	iface int
	ip    hdr.IPv4
}

func addrOf(v uint32) netip.Addr {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	return netip.AddrFrom4(b)
}

// checkRFC asserts the properties every frame the router sent must have,
// independently of the golden files.
func checkRFC(t *testing.T, in, out [2][][]byte, mtu [2]int) {
	t.Helper()
	tp := &topo{mtu: mtu,
		nbr:   map[uint32][6]byte{dptest.U32(dptest.HostA): dptest.HostAMAC, dptest.U32(dptest.HostB): dptest.HostBMAC},
		local: map[uint32]bool{dptest.U32(dptest.R0): true, dptest.U32(dptest.R1): true}}
	routerMAC := [2][6]byte{dptest.R0MAC, dptest.R1MAC}
	routerIP := [2]uint32{dptest.U32(dptest.R0), dptest.U32(dptest.R1)}
	var pkts []inPkt
	for i := range in {
		for _, f := range in[i] {
			if len(f) < 14 {
				continue
			}
			switch binary.BigEndian.Uint16(f[12:]) {
			case hdr.EtherTypeARP:
				if a := hdr.ARP(f[14:]); a.Validate() == hdr.OK {
					var m [6]byte
					copy(m[:], a.SenderMAC())
					tp.nbr[a.SenderIP()] = m
				}
			case hdr.EtherTypeIPv4:
				if ip := hdr.IPv4(f[14:]); ip.Validate() == hdr.OK {
					pkts = append(pkts, inPkt{i, ip[:ip.TotalLen()]})
				}
			}
		}
	}
	type fragKey struct {
		src, dst uint32
		id       uint16
		proto    uint8
	}
	frags := map[fragKey][]hdr.IPv4{}
	var fragOrder []fragKey
	for i := range out {
		for j, f := range out[i] {
			where := fmt.Sprintf("out%d frame %d (%s)", i, j, describe(f))
			if len(f) < hdr.EthernetLen {
				t.Errorf("%s: shorter than an Ethernet header", where)
				continue
			}
			if !bytes.Equal(f[6:12], routerMAC[i][:]) {
				t.Errorf("%s: source MAC is not interface %d's", where, i)
			}
			switch binary.BigEndian.Uint16(f[12:]) {
			case hdr.EtherTypeARP:
				checkARPOut(t, where, f, routerMAC[i], routerIP[i])
				continue
			case hdr.EtherTypeIPv4:
			case hdr.EtherTypeIPv6:
				continue // checkRFC6
			default:
				t.Errorf("%s: unexpected EtherType", where)
				continue
			}
			ip := hdr.IPv4(f[hdr.EthernetLen:])
			if st := ip.Validate(); st != hdr.OK {
				t.Errorf("%s: IPv4 header invalid: %v", where, st)
				continue
			}
			if n := ip.TotalLen(); n < len(ip) && len(f) == dp.MinFrame && n >= hdr.IPv4MinLen {
				// Padded to the minimum frame as it left: zeros only.
				if pad := ip[n:]; !bytes.Equal(pad, make([]byte, len(pad))) {
					t.Errorf("%s: padding to %d bytes is not zero: % x", where, dp.MinFrame, pad)
				}
				ip = ip[:n]
			}
			if ip.TotalLen() != len(ip) {
				t.Errorf("%s: %d bytes after the header, total length says %d (padding forwarded?)", where, len(ip), ip.TotalLen())
			}
			if ip.TTL() == 0 {
				t.Errorf("%s: sent with TTL 0 (RFC 1812 5.3.1)", where)
			}
			if ip.TotalLen() > mtu[i] {
				t.Errorf("%s: %d bytes exceed interface %d's MTU %d", where, ip.TotalLen(), i, mtu[i])
			}
			if e, mac, ok := tp.egress(ip.Dst()); !ok || e != i || !bytes.Equal(f[0:6], mac[:]) {
				t.Errorf("%s: sent on interface %d to %x; the route to %v says interface %d, %x (known %v)", where, i, f[0:6], addrOf(ip.Dst()), e, mac, ok)
			}
			if !ip.MF() && ip.FragOffset() == 0 {
				checkL4Sum(t, where, ip)
			}
			k := fragKey{ip.Src(), ip.Dst(), ip.ID(), ip.Protocol()}
			if ip.MF() || ip.FragOffset() != 0 {
				if _, ok := frags[k]; !ok {
					fragOrder = append(fragOrder, k)
				}
				frags[k] = append(frags[k], ip)
				continue
			}
			if tp.local[ip.Src()] && ip.Protocol() == hdr.ProtoICMP && len(ip.Payload()) >= 8 {
				c := hdr.ICMPv4(ip.Payload())
				switch {
				case c.IsError():
					checkICMPError(t, where, i, ip, pkts, tp, routerIP)
					continue
				case c.Type() == hdr.ICMPv4EchoReply:
					checkEchoReply(t, where, ip, pkts)
					continue
				}
			}
			// Forwarded: pair with the input of the same source,
			// destination, ID and protocol.
			var orig hdr.IPv4
			for _, p := range pkts {
				if p.ip.Src() == k.src && p.ip.Dst() == k.dst && p.ip.ID() == k.id && p.ip.Protocol() == k.proto {
					orig = p.ip
				}
			}
			if orig == nil {
				t.Errorf("%s: forwarded packet matches no input", where)
				continue
			}
			if ip.TTL() != orig.TTL()-1 {
				t.Errorf("%s: TTL %d, received %d: must be decremented by exactly 1 (RFC 1812 5.3.1)", where, ip.TTL(), orig.TTL())
			}
			want := slices.Clone(orig)
			hdr.IPv4(want).SetTTL(orig.TTL() - 1)
			hdr.IPv4(want).SetChecksum(ip.Checksum())
			if !bytes.Equal(want, ip) {
				t.Errorf("%s: forwarded packet changed beyond TTL and checksum", where)
			}
		}
	}
	for _, k := range fragOrder {
		var orig hdr.IPv4
		for _, p := range pkts {
			if p.ip.Src() == k.src && p.ip.Dst() == k.dst && p.ip.ID() == k.id && p.ip.Protocol() == k.proto {
				orig = p.ip
			}
		}
		where := fmt.Sprintf("fragments of %v > %v id %#04x", addrOf(k.src), addrOf(k.dst), k.id)
		if orig == nil && tp.local[k.src] {
			// The router's own packet (an echo reply) cut for the egress
			// MTU: reassemble it and check the whole.
			whole, ok := reassemble(frags[k])
			if !ok {
				t.Errorf("%s: the router's fragments do not reassemble", where)
				continue
			}
			if c := hdr.ICMPv4(whole.Payload()); whole.Protocol() == hdr.ProtoICMP && len(c) >= 8 && c.Type() == hdr.ICMPv4EchoReply {
				checkL4Sum(t, where, whole)
				checkEchoReply(t, where, whole, pkts)
			} else {
				t.Errorf("%s: the router fragmented a packet of its own that is not an echo reply", where)
			}
			continue
		}
		if orig == nil {
			t.Errorf("%s: match no input", where)
			continue
		}
		checkFragments(t, where, orig, frags[k])
	}
}

// reassemble rebuilds an unfragmented datagram from all its pieces.
func reassemble(pieces []hdr.IPv4) (hdr.IPv4, bool) {
	var first hdr.IPv4
	end := 0
	for _, ip := range pieces {
		if ip.FragOffset() == 0 {
			first = ip
		}
		if !ip.MF() {
			end = int(ip.FragOffset())*8 + len(ip.Payload())
		}
	}
	if first == nil || end == 0 {
		return nil, false
	}
	hl := first.HeaderLen()
	whole := make(hdr.IPv4, hl+end)
	copy(whole, first[:hl])
	n := 0
	for _, ip := range pieces {
		off := int(ip.FragOffset()) * 8
		if off+len(ip.Payload()) > end {
			return nil, false
		}
		n += copy(whole[hl+off:], ip.Payload())
	}
	if n != end {
		return nil, false
	}
	whole.SetTotalLen(len(whole))
	whole.SetFlagsFrag(false, false, 0)
	whole.SetChecksum(0)
	whole.SetChecksum(whole.ComputeChecksum())
	return whole, true
}

func checkARPOut(t *testing.T, where string, f []byte, mac [6]byte, addr uint32) {
	t.Helper()
	a := hdr.ARP(f[hdr.EthernetLen:])
	if a.Validate() != hdr.OK {
		t.Errorf("%s: invalid ARP", where)
		return
	}
	if !bytes.Equal(a.SenderMAC(), mac[:]) {
		t.Errorf("%s: ARP sender MAC is not the interface's", where)
	}
	switch a.Op() {
	case hdr.ARPReply:
		// RFC 826: the reply goes to the requester, from the address asked for.
		if !bytes.Equal(f[0:6], a.TargetMAC()) || a.SenderIP() != addr {
			t.Errorf("%s: ARP reply not addressed back to the requester from %v", where, addrOf(addr))
		}
	case hdr.ARPRequest:
		if !bytes.Equal(f[0:6], dptest.Broadcast[:]) || a.SenderIP() != addr {
			t.Errorf("%s: ARP request not broadcast from %v", where, addrOf(addr))
		}
	}
}

// checkL4Sum verifies the UDP, TCP or ICMP checksum of a whole datagram.
func checkL4Sum(t *testing.T, where string, ip hdr.IPv4) {
	t.Helper()
	p := ip.Payload()
	var ok bool
	switch ip.Protocol() {
	case hdr.ProtoUDP:
		if len(p) < 8 || binary.BigEndian.Uint16(p[6:]) == 0 {
			return // no checksum (RFC 768)
		}
		ok = hdr.Checksum(p, hdr.PseudoSumIPv4(ip.Src(), ip.Dst(), hdr.ProtoUDP, uint16(len(p)))) == 0
	case hdr.ProtoTCP:
		ok = hdr.Checksum(p, hdr.PseudoSumIPv4(ip.Src(), ip.Dst(), hdr.ProtoTCP, uint16(len(p)))) == 0
	case hdr.ProtoICMP:
		ok = hdr.Checksum(p, 0) == 0
	default:
		return
	}
	if !ok {
		t.Errorf("%s: protocol %d checksum is wrong", where, ip.Protocol())
	}
}

// checkICMPError checks an error the router sent on interface i
// (RFC 792, RFC 1812 4.3.2).
func checkICMPError(t *testing.T, where string, i int, ip hdr.IPv4, pkts []inPkt, tp *topo, routerIP [2]uint32) {
	t.Helper()
	c := hdr.ICMPv4(ip.Payload())
	quote := c.Payload()
	// RFC 1812 4.3.2.3: no longer than 576 bytes.
	if ip.TotalLen() > 576 {
		t.Errorf("%s: ICMP error of %d bytes exceeds 576", where, ip.TotalLen())
	}
	var orig hdr.IPv4
	for _, p := range pkts {
		if len(quote) >= hdr.IPv4MinLen && bytes.HasPrefix(p.ip, quote) {
			orig = p.ip
			break
		}
	}
	if orig == nil {
		t.Errorf("%s: the quote is not the start of any received packet", where)
		return
	}
	// RFC 1812 4.3.2.3: as much of the original as fits in 576 bytes, and
	// at least the header and 8 bytes (RFC 792).
	if want := min(len(orig), 576-28); len(quote) != want {
		t.Errorf("%s: quotes %d bytes of a %d-byte packet, want %d", where, len(quote), len(orig), want)
	}
	// RFC 1812 4.3.2.4: the source is an address of the interface the
	// error is sent on.
	if ip.Src() != routerIP[i] {
		t.Errorf("%s: ICMP error from %v, sent on the interface of %v (RFC 1812 4.3.2.4)", where, addrOf(ip.Src()), addrOf(routerIP[i]))
	}
	if ip.Dst() != orig.Src() {
		t.Errorf("%s: sent to %v, not to the offending packet's source %v", where, addrOf(ip.Dst()), addrOf(orig.Src()))
	}
	if hdr.IPv4(quote).FragOffset() != 0 {
		t.Errorf("%s: error about a non-first fragment (RFC 1812 4.3.2.7)", where)
	}
	if orig.Protocol() == hdr.ProtoICMP && len(orig.Payload()) >= 1 && hdr.ICMPv4(orig.Payload()).IsError() {
		t.Errorf("%s: error about an ICMP error (RFC 1812 4.3.2.7)", where)
	}
	rest := binary.BigEndian.Uint32(c.Rest())
	if c.Type() == hdr.ICMPv4DestUnreach && c.Code() == hdr.ICMPv4FragNeeded {
		// RFC 1191 4: the next-hop MTU in the low 16 bits.
		e, _, _ := tp.egress(orig.Dst())
		if rest != uint32(tp.mtu[e]) {
			t.Errorf("%s: fragmentation needed with next-hop MTU %d, want %d", where, rest, tp.mtu[e])
		}
		if !orig.DF() || orig.TotalLen() <= tp.mtu[e] {
			t.Errorf("%s: fragmentation needed for a packet that may be fragmented or fits", where)
		}
	} else if rest != 0 {
		t.Errorf("%s: unused ICMP header bytes are %#08x, must be zero (RFC 792)", where, rest)
	}
	if c.Type() == hdr.ICMPv4TimeExceeded && orig.TTL() > 1 {
		t.Errorf("%s: time exceeded for a packet received with TTL %d", where, orig.TTL())
	}
}

// checkEchoReply checks an echo reply against its request (RFC 792).
func checkEchoReply(t *testing.T, where string, ip hdr.IPv4, pkts []inPkt) {
	t.Helper()
	c := hdr.ICMPv4(ip.Payload())
	for _, p := range pkts {
		q := p.ip
		if q.Protocol() != hdr.ProtoICMP || q.Src() != ip.Dst() || q.Dst() != ip.Src() || len(q.Payload()) != len(c) {
			continue
		}
		rq := hdr.ICMPv4(q.Payload())
		if rq.Type() == hdr.ICMPv4Echo && rq.ID() == c.ID() && rq.Seq() == c.Seq() {
			if !bytes.Equal(rq.Payload(), c.Payload()) || c.Code() != 0 {
				t.Errorf("%s: echo reply data differs from the request's", where)
			}
			return
		}
	}
	t.Errorf("%s: echo reply matches no request", where)
}

// checkFragments checks the pieces of orig (RFC 791 3.2, RFC 1812 5.2.6):
// TTL decremented once, each within the MTU, payload offsets in 8-byte
// units, and together exactly the original payload.
func checkFragments(t *testing.T, where string, orig hdr.IPv4, pieces []hdr.IPv4) {
	t.Helper()
	if orig.DF() {
		t.Errorf("%s: fragmented a DF packet", where)
	}
	base := int(orig.FragOffset()) * 8
	data := orig.Payload()
	got := make([]byte, len(data))
	seen := make([]bool, len(data))
	sawLast := false
	for n, ip := range pieces {
		p := ip.Payload()
		off := int(ip.FragOffset())*8 - base
		if off < 0 || off+len(p) > len(data) {
			t.Errorf("%s: piece %d at offset %d+%d outside the original", where, n, off, len(p))
			continue
		}
		if ip.MF() && len(p)%8 != 0 {
			t.Errorf("%s: piece %d (not last) has %d bytes, not a multiple of 8", where, n, len(p))
		}
		if ip.TTL() != orig.TTL()-1 {
			t.Errorf("%s: piece %d TTL %d, received %d", where, n, ip.TTL(), orig.TTL())
		}
		if ip.TOS() != orig.TOS() || ip.DF() {
			t.Errorf("%s: piece %d TOS or DF changed", where, n)
		}
		if off == 0 && !bytes.Equal(ip.Options(), orig.Options()) {
			t.Errorf("%s: the first piece lost options (RFC 791 3.2)", where)
		}
		if off > 0 && len(ip.Options()) > len(orig.Options()) {
			t.Errorf("%s: piece %d has more options than the original", where, n)
		}
		if off+len(p) == len(data) {
			sawLast = true
			if ip.MF() != orig.MF() {
				t.Errorf("%s: last piece MF %v, original %v", where, ip.MF(), orig.MF())
			}
		} else if !ip.MF() {
			t.Errorf("%s: piece %d is not the last but has MF clear", where, n)
		}
		for k := range p {
			if seen[off+k] {
				t.Errorf("%s: piece %d overlaps another at byte %d", where, n, off+k)
				break
			}
			seen[off+k] = true
		}
		copy(got[off:], p)
	}
	if !sawLast || slices.Contains(seen, false) || !bytes.Equal(got, data) {
		t.Errorf("%s: the pieces do not reassemble to the original payload", where)
	}
}
