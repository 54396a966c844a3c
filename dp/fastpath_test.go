package dp_test

// The differential test of the stages' fast loops: the same frames run
// through two identical routers, one as built and one with its fast loops
// turned off (dp.SetGeneralPath: etherFast, etherVLANFast, ip4InputFast,
// lookupFast, rewriteFast, ip6InputFast, ip6-lookup's lookupFast, interface-output's
// one-interface shortcut and l2-bridge's last source and destination),
// must come out the same: the frames each port sends, in order and byte
// for byte, and every counter (drops by reason, per stage, per
// interface, ICMP, punts, bridge). A fast loop is an optimisation of the
// general path, never a different behaviour.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/dp/dptest"
	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/port/mem"
)

// Lab kinds of the differential test (bits of a fuzz input's byte 0).
const (
	diffMTU576 = 1 << iota // the dptest lab with if1 at MTU 576
	diffVLANs              // the dptest lab with its VLAN sub-interfaces
	diffBridge             // the bridge lab (bridge_test.go) instead
	diffDown               // with diffVLANs: if0.100 administratively down
	diffIPv6               // the dptest lab with its IPv6 addresses, neighbours and route
)

// diffMaxBridgeFrames bounds the frames of a bridge-lab input: a bridge
// pair is built per input (its MAC tables are state), and flood copies
// of more frames could run its pool dry.
const diffMaxBridgeFrames = 64

// diffLab is one router of a pair: its control plane, worker and ports.
type diffLab struct {
	r     *control.Router
	w     *dp.Worker
	ports []*mem.Queue
}

// newDiffLab builds a lab of the given kind; general turns its fast loops
// off. The ICMP bucket is too deep to run dry, so rate limiting (which
// reads the wall clock) never makes the two differ.
func newDiffLab(t *testing.T, kind int, general bool) *diffLab {
	t.Helper()
	var d *diffLab
	if kind&diffBridge != 0 {
		l := newBridgeLabCP(t, control.BridgeConfig{}, false, control.Options{ICMPRate: 1 << 20, ICMPBurst: 1 << 20})
		d = &diffLab{r: l.r, w: l.w, ports: l.ports[:]}
	} else {
		o := dptest.Options{VLANs: kind&diffVLANs != 0, IPv6: kind&diffIPv6 != 0, ICMPRate: 1 << 20, Burst: 1 << 20}
		if kind&diffMTU576 != 0 {
			o.MTU1 = 576
		}
		l := dptest.New(t, o)
		d = &diffLab{r: l.Router, w: l.Worker, ports: l.Ports[:]}
		if kind&diffIPv6 != 0 {
			// A route that covers fe80::/10, so link-local destinations
			// reach ip6-lookup's rules with a forward route.
			if err := l.Router.AddRoute(netip.MustParsePrefix("8000::/1"), dptest.HostB6); err != nil {
				t.Fatal(err)
			}
			l.Router.Publish()
		}
		if kind&(diffVLANs|diffDown) == diffVLANs|diffDown {
			if err := l.Router.SetInterfaceUp(sub100, false); err != nil {
				t.Fatal(err)
			}
			l.Router.Publish()
		}
	}
	dp.SetGeneralPath(d.w, general)
	return d
}

// run pushes frames (per port) and runs the router until it settles; it
// returns what each port sent.
func (d *diffLab) run(t *testing.T, frames [][][]byte) [][][]byte {
	t.Helper()
	for i, f := range frames {
		d.ports[i%len(d.ports)].Push(f...)
	}
	settled := false
	for range 100 {
		n := d.w.Poll()
		did := d.r.Service()
		pending := 0
		for _, p := range d.ports {
			pending += p.Pending()
		}
		if n == 0 && !did && pending == 0 && d.w.Inject().Len() == 0 && d.w.Punt().Len() == 0 {
			settled = true
			break
		}
	}
	if !settled {
		t.Fatal("the router did not settle in 100 rounds")
	}
	out := make([][][]byte, len(d.ports))
	for i, p := range d.ports {
		out[i] = p.Take()
	}
	return out
}

// flatCounters lists every exported counter of c as name -> value
// (arrays and slices by index, drops by reason name), except the
// sampled timings, which measure time, not packets.
func flatCounters(c dp.Counters) map[string]uint64 {
	m := map[string]uint64{}
	v := reflect.ValueOf(c)
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if !f.IsExported() || f.Name == "SampledNanos" || f.Name == "SampledPkts" {
			continue
		}
		fv := v.Field(i)
		switch fv.Kind() {
		case reflect.Uint64:
			m[f.Name] = fv.Uint()
		case reflect.Array, reflect.Slice:
			for j := range fv.Len() {
				name := fmt.Sprintf("%s[%d]", f.Name, j)
				switch f.Name {
				case "Drops":
					name = "Drops[" + dp.Reason(j).String() + "]"
				case "Calls", "Packets":
					name = fmt.Sprintf("%s[%v]", f.Name, dp.Stage(j))
				}
				if x := fv.Index(j).Uint(); x != 0 {
					m[name] = x
				}
			}
		}
	}
	return m
}

// diffCounters describes how the counters of the general path (g) differ
// from the fast one's (f), one line a counter; empty when they agree.
func diffCounters(f, g dp.Counters) string {
	fm, gm := flatCounters(f), flatCounters(g)
	var lines []string
	for k, v := range fm {
		if gm[k] != v {
			lines = append(lines, fmt.Sprintf("  %s: fast %d, general %d\n", k, v, gm[k]))
		}
	}
	for k, v := range gm {
		if _, ok := fm[k]; !ok && v != 0 {
			lines = append(lines, fmt.Sprintf("  %s: fast 0, general %d\n", k, v))
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "")
}

// diffPair is a fast lab and a general one of the same kind.
type diffPair struct{ fast, gen *diffLab }

func newDiffPair(t *testing.T, kind int) *diffPair {
	return &diffPair{newDiffLab(t, kind, false), newDiffLab(t, kind, true)}
}

// check runs frames through both and fails t on the first difference.
// It returns the fast lab's counters after the run.
func (p *diffPair) check(t *testing.T, frames [][][]byte) dp.Counters {
	t.Helper()
	fb, gb := p.fast.w.Counters(), p.gen.w.Counters()
	fo := p.fast.run(t, frames)
	gout := p.gen.run(t, frames)
	for i := range fo {
		if len(fo[i]) != len(gout[i]) {
			t.Fatalf("port %d: the fast path sent %d frames, the general path %d", i, len(fo[i]), len(gout[i]))
		}
		for j := range fo[i] {
			if !bytes.Equal(fo[i][j], gout[i][j]) {
				t.Fatalf("port %d frame %d differs:\n  fast:    %s\n  general: %s\n--- fast\n%s--- general\n%s",
					i, j, describeL2(fo[i][j]), describeL2(gout[i][j]), dump(fo[i][j]), dump(gout[i][j]))
			}
		}
	}
	fc := deltaAll(p.fast.w.Counters(), fb)
	if d := diffCounters(fc, deltaAll(p.gen.w.Counters(), gb)); d != "" {
		t.Fatalf("counters differ between the fast and the general path:\n%s", d)
	}
	for _, l := range []*diffLab{p.fast, p.gen} {
		if free, size := l.w.Pool().Free(), l.w.Pool().Size(); free != size {
			t.Fatalf("buffer leak: %d of %d buffers back in the pool", free, size)
		}
	}
	return fc
}

// deltaAll returns a - b for every counter flatCounters reads.
func deltaAll(a, b dp.Counters) dp.Counters {
	d := a
	av, bv, dv := reflect.ValueOf(a), reflect.ValueOf(b), reflect.ValueOf(&d).Elem()
	for i := range av.NumField() {
		if !av.Type().Field(i).IsExported() {
			continue
		}
		fa, fb, fd := av.Field(i), bv.Field(i), dv.Field(i)
		switch fa.Kind() {
		case reflect.Uint64:
			fd.SetUint(fa.Uint() - fb.Uint())
		case reflect.Array:
			for j := range fa.Len() {
				fd.Index(j).SetUint(fa.Index(j).Uint() - fb.Index(j).Uint())
			}
		case reflect.Slice:
			s := reflect.MakeSlice(fa.Type(), fa.Len(), fa.Len())
			for j := range fa.Len() {
				var old uint64
				if j < fb.Len() {
					old = fb.Index(j).Uint()
				}
				s.Index(j).SetUint(fa.Index(j).Uint() - old)
			}
			fd.Set(s)
		}
	}
	return d
}

// diffCase is one input of the table test: the lab kind and the frames
// received on each port.
type diffCase struct {
	name   string
	kind   int
	frames [][][]byte
}

// diffCases: every golden case's input, the VLAN fuzz seeds, bridge
// traffic, and batches that go in and out of the fast loops.
func diffCases() []diffCase {
	var cs []diffCase
	for _, c := range goldenCases {
		in := c.in()
		kind := 0
		if c.opts.MTU1 == 576 {
			kind = diffMTU576
		}
		cs = append(cs, diffCase{"golden-" + c.name, kind, [][][]byte{frameData(in[0]), frameData(in[1])}})
	}
	for _, c := range goldenL2Cases {
		kind := 0
		switch {
		case c.bridge:
			kind = diffBridge
		case c.name == "vlan-down":
			kind = diffVLANs | diffDown
		case c.setup == nil:
			kind = diffVLANs
		default:
			continue // a set-up the diff labs do not have
		}
		cs = append(cs, diffCase{"golden-" + c.name, kind, frameLists(c.in())})
	}
	for i, v := range vlanSeeds() {
		cs = append(cs, diffCase{fmt.Sprintf("vlan-seed-%d", i), diffVLANs, v[:]})
		cs = append(cs, diffCase{fmt.Sprintf("vlan-seed-%d-mtu576", i), diffVLANs | diffMTU576, v[:]})
	}
	// Full batches mixing what the fast loops take with what they stop
	// at, in runs of every length from 1 to 5, so each loop is left and
	// re-entered at every position.
	h100, h200 := dptest.SubHost[0], dptest.SubHost[2]
	udp := func(src, dst netip.Addr, ttl uint8, n int) []byte {
		return dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, src, dst, hdr.ProtoUDP, ttl, false, dptest.UDP(1, 2, n))
	}
	kinds := [][]byte{
		udp(dptest.HostA, dptest.HostB, 9, 18),                              // all fast
		dptest.Tag(udp(h100, h200, 9, 18), 0x8100, 100),                     // VLAN fast, tagged out
		udp(dptest.HostA, dptest.R0, 9, 18),                                 // local: port unreachable
		udp(dptest.HostA, dptest.HostB, 1, 18),                              // TTL exceeded
		udp(dptest.HostA, netip.MustParseAddr("198.18.0.9"), 9, 1400),       // fragmented at 576
		dptest.Tag(udp(h100, h200, 9, 18), 0x8100, 300),                     // unknown VLAN
		dptest.Tag(udp(h100, h200, 9, 18), 0x88a8, 10, 0x8100, 20),          // QinQ (general path)
		udp(dptest.HostA, netip.MustParseAddr("10.0.2.99"), 9, 18),          // unresolved: punted
		append(udp(dptest.HostA, dptest.HostB, 9, 18), make([]byte, 30)...), // Ethernet padding
		dptest.IPv4Frame(dptest.Broadcast, dptest.HostAMAC, dptest.HostA, dptest.HostB, hdr.ProtoUDP, 9, false, dptest.UDP(1, 2, 8)),          // L2 broadcast
		dptest.IPv4Frame(dptest.R1MAC, dptest.HostAMAC, dptest.HostA, dptest.HostB, hdr.ProtoUDP, 9, false, dptest.UDP(1, 2, 8)),              // other MAC
		dptest.Tag(udp(dptest.HostA, dptest.HostB, 9, 18), 0x8100, 0xa000),                                                                    // priority tag
		dptest.IPv4Frame(dptest.R0MAC, [6]byte{1, 0, 0x5e, 0, 0, 1}, dptest.HostA, dptest.HostB, hdr.ProtoUDP, 9, false, dptest.UDP(1, 2, 8)), // multicast source
		dptest.Tag(dptest.IPv4Frame(dptest.R0MAC, dptest.R0MAC, h100, h200, hdr.ProtoUDP, 9, false, dptest.UDP(1, 2, 8)), 0x8100, 100),        // own source, VLAN
		ip6UDPFrame(dptest.R0MAC, dptest.HostAMAC, netip.MustParseAddr("2001:db8:1::2"), netip.MustParseAddr("2001:db8:2::2")),                // IPv6
	}
	for run := 1; run <= 5; run++ {
		var batch [][]byte
		for i := 0; len(batch) < 256; i++ {
			for range run {
				batch = append(batch, kinds[i%len(kinds)])
			}
		}
		batch = batch[:256]
		for _, kind := range []int{diffVLANs, diffVLANs | diffMTU576, 0} {
			cs = append(cs, diffCase{fmt.Sprintf("runs-of-%d-kind-%d", run, kind), kind, [][][]byte{batch, {batch[0], batch[3]}}})
		}
	}
	// The same for IPv6 (ip6-lookup's lookupFast): what it takes
	// (forward, glean) mixed with what it stops at, each rule of the
	// general loop (Hop Limit, link-local source or destination, the
	// receiving interface's link-local address, link-layer multicast,
	// local, no route).
	udp6 := func(dstMAC [6]byte, src, dst string, hops uint8) []byte {
		f := ip6UDPFrame(dstMAC, dptest.HostAMAC, netip.MustParseAddr(src), netip.MustParseAddr(dst))
		f[hdr.EthernetLen+7] = hops
		return f
	}
	a6 := dptest.HostA6.String()
	kinds6 := [][]byte{
		udp6(dptest.R0MAC, a6, "2001:db8:100::5", 9),                    // routed via HostB6: fast
		udp6(dptest.R0MAC, a6, "2001:db8:2::2", 9),                      // connected, resolved: fast
		udp6(dptest.R0MAC, a6, "2001:db8:100::5", 1),                    // Hop Limit exceeded
		udp6(dptest.R0MAC, "fe80::9", "2001:db8:100::5", 9),             // link-local source
		udp6(dptest.R0MAC, a6, "fe80::77", 9),                           // link-local destination
		udp6(dptest.R0MAC, a6, "fe80::52:ff:fe00:1", 9),                 // if0's link-local: local
		udp6([6]byte{0x33, 0x33, 0, 0, 0, 1}, a6, "2001:db8:100::5", 9), // link-layer multicast
		udp6(dptest.R0MAC, a6, dptest.R0v6.String(), 9),                 // local: port unreachable
		udp6(dptest.R0MAC, a6, "2001:db9::1", 9),                        // no route
		udp6(dptest.R0MAC, a6, "2001:db8:100::6", 2),                    // fast, Hop Limit 2
		udp6(dptest.R0MAC, a6, "2001:db8:2::99", 9),                     // glean: fast, then ND
	}
	// And ip6-input's ip6InputFast: what it stops at.
	set := func(f []byte, off int, v ...byte) []byte {
		f = append([]byte(nil), f...)
		copy(f[hdr.EthernetLen+off:], v)
		return f
	}
	fwd := kinds6[0]
	kinds6 = append(kinds6,
		append(append([]byte(nil), fwd...), make([]byte, 7)...), // Ethernet padding: fast, trimmed
		set(fwd, 6, hdr.ProtoHopByHop),                          // extension header (a bad one)
		set(fwd, 6, hdr.ProtoICMPv6, 0, 128),                    // ICMPv6
		set(fwd, 5, 9),                                          // payload length past the frame
		set(fwd, 0, 0x40),                                       // version 4
		udp6(dptest.R0MAC, "::", "2001:db8:100::5", 9),          // unspecified source
		udp6(dptest.R0MAC, "ff02::1", "2001:db8:100::5", 9),     // multicast source
		udp6(dptest.R0MAC, "::1", "2001:db8:100::5", 9),         // loopback source
		udp6(dptest.R0MAC, a6, "::1", 9),                        // loopback destination
		udp6(dptest.R0MAC, a6, "ff05::1", 9),                    // multicast destination
		udp6(dptest.R0MAC, a6, "::", 9),                         // unspecified destination
		udp6(dptest.R0MAC, "1::1", "2001:db8:100::5", 9),        // source 1::1: fast
		udp6(dptest.R0MAC, a6, "fe00::1", 9),                    // destination fe00::1: fast
		set(set(udp6(dptest.R0MAC, "fe80::9", "fe80::52:ff:fe00:1", 255), 6, hdr.ProtoICMPv6), 40, 135), // NS (a bad one): nd-input
		fwd[:hdr.EthernetLen+30], // too short
	)
	for run := 1; run <= 5; run++ {
		var batch [][]byte
		for i := 0; len(batch) < 256; i++ {
			for range run {
				batch = append(batch, kinds6[i%len(kinds6)])
			}
		}
		batch = batch[:256]
		for _, kind := range []int{diffIPv6, diffIPv6 | diffMTU576} {
			cs = append(cs, diffCase{fmt.Sprintf("ip6-runs-of-%d-kind-%d", run, kind), kind, [][][]byte{batch, {batch[0], batch[3]}}})
		}
	}
	// A whole vector for a down sub-interface (interface-output's
	// one-interface shortcut must check it is up), then one for an up one.
	toDown := dptest.Tag(dptest.IPv4Frame(dptest.R1MAC, dptest.HostBMAC, h200, h100, hdr.ProtoUDP, 9, false, dptest.UDP(1, 2, 8)), 0x8100, 200)
	toUp := dptest.Tag(dptest.IPv4Frame(dptest.R1MAC, dptest.HostBMAC, h200, dptest.SubHost[1], hdr.ProtoUDP, 9, false, dptest.UDP(1, 2, 8)), 0x8100, 200)
	cs = append(cs, diffCase{"vector-to-down-vlan", diffVLANs | diffDown, [][][]byte{nil, {toDown, toDown, toDown}}},
		diffCase{"vector-to-up-vlan", diffVLANs | diffDown, [][][]byte{nil, {toUp, toUp, toUp}}},
		diffCase{"vector-from-down-vlan", diffVLANs | diffDown, [][][]byte{{dptest.Tag(udp(h100, h200, 9, 18), 0x8100, 100), dptest.Tag(udp(h100, h200, 9, 18), 0x8100, 100)}}})
	// A MAC moving within a batch: the bridge must forget the
	// destination it looked up before the move (B to p0, then B moves to
	// p1, then a frame to B from p1 is filtered).
	bmacX := [6]byte{0x02, 0xee, 0, 0, 0, 1}
	cs = append(cs, diffCase{"bridge-move-in-batch", diffBridge, [][][]byte{
		{l2(bmacX, bmacB, 1)},
		{l2(bmacB, bmacC, 2), l2(bmacX, bmacB, 3), l2(bmacB, bmacC, 4), l2(bmacB, bmacC, 5)}}})
	// Bridge traffic: FuzzBridge's seeds, sent on the ports they name.
	cs = append(cs,
		diffCase{"bridge-learn", diffBridge, [][][]byte{{l2(bmacB, bmacA, 1), l2(bmacB, bmacA, 2)}, {l2(bmacA, bmacB, 3)}, {dptest.Tag(l2(bmacA, bmacC, 4), 0x8100, 100)}}},
		diffCase{"bridge-bvi", diffBridge, [][][]byte{
			{dptest.ARPFrame(hdr.ARPRequest, dptest.Broadcast, bmacA, bhostA, [6]byte{}, bviIP),
				dptest.IPv4Frame(bviMAC, bmacA, bhostA, p3Host, hdr.ProtoUDP, 64, false, dptest.UDP(1, 2, 8)),
				dptest.IPv4Frame(bviMAC, bmacA, bhostA, bviIP, hdr.ProtoICMP, 64, false, dptest.Echo(1, 1, 8))},
			nil, nil,
			{dptest.IPv4Frame(p3MAC, bmacC, p3Host, bhostA, hdr.ProtoUDP, 64, false, dptest.UDP(2, 1, 8)),
				dptest.IPv4Frame(p3MAC, bmacC, p3Host, bviIP, hdr.ProtoUDP, 1, false, dptest.UDP(2, 1, 8))}}},
	)
	return cs
}

func frameData(fs []frame) [][]byte {
	var out [][]byte
	for _, f := range fs {
		out = append(out, f.data)
	}
	return out
}

func frameLists(in [][]frame) [][][]byte {
	out := make([][][]byte, len(in))
	for i := range in {
		out[i] = frameData(in[i])
	}
	return out
}

// TestFastPathDifferential runs each case through a fast lab and a
// general one and requires the same frames and counters.
func TestFastPathDifferential(t *testing.T) {
	for _, c := range diffCases() {
		t.Run(c.name, func(t *testing.T) {
			p := newDiffPair(t, c.kind)
			fc := p.check(t, c.frames)
			// The case must have sent something through the graph.
			var rx uint64
			for _, n := range fc.RxPackets {
				rx += n
			}
			if rx == 0 {
				t.Fatalf("no frame received")
			}
		})
	}
}

// diffFuzzInput encodes a fuzz input for FuzzFastPath: byte 0 the lab
// kind (diffMTU576 | diffVLANs | diffBridge | diffDown | diffIPv6), byte 1 the number of frames,
// each frame a 2-byte big-endian header — bit 15 and bit 14 the port's
// low and high bit, the low 11 bits the length — then its bytes. Inputs
// of FuzzPipeline (bit 14 clear) read the same.
func diffFuzzInput(kind int, frames [][][]byte) []byte {
	b := []byte{byte(kind), 0}
	for i := range frames {
		for _, f := range frames[i] {
			f = f[:min(len(f), 0x7ff)]
			h := uint16(len(f)) | uint16(i&1)<<15 | uint16(i>>1&1)<<14
			b = binary.BigEndian.AppendUint16(b, h)
			b = append(b, f...)
			b[1]++
		}
	}
	return b
}

func parseDiffFuzz(data []byte) (kind int, frames [][][]byte) {
	frames = make([][][]byte, 4)
	if len(data) < 2 {
		return 0, frames
	}
	kind, n := int(data[0]&31), int(data[1])
	if kind&diffVLANs == 0 {
		kind &^= diffDown
	}
	if kind&diffBridge != 0 {
		n = min(n, diffMaxBridgeFrames)
	}
	p := 2
	for range min(n, fuzzMaxFrames) {
		if len(data)-p < 2 {
			break
		}
		h := binary.BigEndian.Uint16(data[p:])
		p += 2
		l := min(int(h&0x7ff), len(data)-p)
		i := int(h>>15) | int(h>>14&1)<<1
		frames[i] = append(frames[i], data[p:p+l])
		p += l
	}
	return kind, frames
}

// diffPairs keeps one pair of dptest labs per kind between fuzz inputs,
// under FuzzPipeline's rule (see fuzzLabs): only while neither control
// plane got anything from earlier inputs. Bridge pairs are built per
// input: their MAC tables are state.
type diffPairs struct {
	mu    sync.Mutex
	pairs [32]*diffPair
}

var fuzzPairs diffPairs

// FuzzFastPath is the differential test on fuzzed input: whatever comes
// in, the fast loops and the general path must send the same frames and
// count the same.
func FuzzFastPath(f *testing.F) {
	for _, c := range diffCases() {
		f.Add(diffFuzzInput(c.kind, c.frames))
	}
	for _, c := range goldenCases {
		in := c.in()
		for i := range in {
			for _, fr := range in[i] {
				one := make([][][]byte, 2)
				one[i] = [][]byte{fr.data}
				f.Add(diffFuzzInput(diffVLANs, one))
			}
		}
	}
	f.Add([]byte{})
	f.Add([]byte{diffBridge, 2, 0x40, 0x0e, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x88, 0xb5})
	f.Fuzz(func(t *testing.T, data []byte) {
		kind, frames := parseDiffFuzz(data)
		if kind&diffBridge != 0 {
			kind = diffBridge
			newDiffPair(t, kind).check(t, frames)
			return
		}
		frames = [][][]byte{append(frames[0], frames[2]...), append(frames[1], frames[3]...)}
		fuzzPairs.mu.Lock()
		p := fuzzPairs.pairs[kind]
		fuzzPairs.pairs[kind] = nil
		fuzzPairs.mu.Unlock()
		if p == nil {
			p = newDiffPair(t, kind)
		}
		c := p.check(t, frames)
		if c.Punts != 0 || c.PuntFull != 0 || c.Injected != 0 || p.fast.w.Punt().Len() != 0 {
			return // the control plane learned or queued something: start afresh
		}
		fuzzPairs.mu.Lock()
		fuzzPairs.pairs[kind] = p
		fuzzPairs.mu.Unlock()
	})
}
