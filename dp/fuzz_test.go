package dp_test

import (
	"encoding/binary"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/dp/dptest"
	"github.com/softnet/softnet/dp/ip4"
	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/pkt"
)

// fuzzMaxFrames bounds the frames of one input (a little more than one
// batch, so a poll sees a full vector and the next one the rest).
const fuzzMaxFrames = 300

// fragBound is the most frames one received frame can become: a 1500-byte
// datagram cut into 8-byte pieces, ceil(1500/8).
const fragBound = (1500 + 7) / 8

// fuzzInput encodes frames for FuzzPipeline: byte 0 holds options (bit 0:
// if1 MTU 576; bit 1: the lab with VLAN sub-interfaces, set by the
// caller), byte 1 the number of frames; each frame is a 2-byte
// big-endian header — bit 15 the interface, the low 11 bits the length —
// then its bytes.
func fuzzInput(mtu576 bool, frames [2][][]byte) []byte {
	b := []byte{0, 0}
	if mtu576 {
		b[0] = 1
	}
	for i := range frames {
		for _, f := range frames[i] {
			f = f[:min(len(f), 0x7ff)]
			h := uint16(len(f)) | uint16(i)<<15
			b = binary.BigEndian.AppendUint16(b, h)
			b = append(b, f...)
			b[1]++
		}
	}
	return b
}

// parseFuzz splits a fuzz input into frames per interface. A truncated
// last frame keeps the bytes there are.
func parseFuzz(data []byte) (mtu576 bool, frames [2][][]byte) {
	if len(data) < 2 {
		return false, frames
	}
	mtu576, n := data[0]&1 != 0, int(data[1])
	p := 2
	for range min(n, fuzzMaxFrames) {
		if len(data)-p < 2 {
			break
		}
		h := binary.BigEndian.Uint16(data[p:])
		p += 2
		l := min(int(h&0x7ff), len(data)-p)
		i := int(h >> 15)
		frames[i] = append(frames[i], data[p:p+l])
		p += l
	}
	return mtu576, frames
}

// FuzzPipeline runs arbitrary frames through a two-interface lab and checks
// the invariants that hold whatever comes in: no panic, no buffer leak,
// every frame out well-formed, and every frame in accounted for.
func FuzzPipeline(f *testing.F) {
	// Seeds: the golden inputs, each case as one input and each frame on
	// its own, and a few hand-built ones.
	for _, c := range goldenCases {
		in := c.in()
		var all [2][][]byte
		for i := range in {
			for _, fr := range in[i] {
				all[i] = append(all[i], fr.data)
				var one [2][][]byte
				one[i] = [][]byte{fr.data}
				f.Add(fuzzInput(c.opts.MTU1 == 576, one))
			}
		}
		f.Add(fuzzInput(c.opts.MTU1 == 576, all))
	}
	// Golden directories without a generator (captured traces) too.
	if dirs, err := os.ReadDir(filepath.Join("testdata", "golden")); err == nil {
		for _, d := range dirs {
			var frames [2][][]byte
			for i := range frames {
				b, err := os.ReadFile(filepath.Join("testdata", "golden", d.Name(), "in"+string(rune('0'+i))+".pcap"))
				if err != nil {
					continue
				}
				frames[i], _ = parsePcap(b)
			}
			f.Add(fuzzInput(false, frames))
		}
	}
	g := &gen{}
	full := make([][]byte, fuzzMaxFrames)
	for i := range full {
		full[i] = g.udp(hostA, dptest.HostB, 64, 9, 18, nil)
	}
	f.Add(fuzzInput(false, [2][][]byte{full}))
	big := g.udp(hostA, dptest.HostB, 64, 9, pkt.MaxFrame, nil) // longer than a buffer: truncated on receive
	f.Add(fuzzInput(true, [2][][]byte{{big}, {big}}))
	f.Add([]byte{})
	f.Add([]byte{1, 3, 0, 0, 0x80, 1, 0xff, 0x00, 0x0e})
	// The VLAN lab (bit 1): tagged traffic between its sub-interfaces,
	// and each kind of bad tag.
	for _, v := range vlanSeeds() {
		in := fuzzInput(false, v)
		in[0] |= 2
		f.Add(in)
		in = fuzzInput(true, v)
		in[0] |= 2
		f.Add(in)
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		mtu576, frames := parseFuzz(data)
		vlans := len(data) > 0 && data[0]&2 != 0
		opts := dptest.Options{VLANs: vlans}
		mtu := [2]int{1500, 1500}
		if mtu576 {
			opts.MTU1, mtu[1] = 576, 576
		}
		l := labs.get(t, mtu576, vlans, opts)
		before := l.Counters()
		l.Ports[0].Push(frames[0]...)
		l.Ports[1].Push(frames[1]...)
		l.Run()
		out := [2][][]byte{l.Out(0), l.Out(1)}
		c := delta(l.Counters(), before)
		labs.put(mtu576, vlans, l, c)
		// Per port: the port's own interface and its VLANs.
		cfg := l.Router.Config().Load()
		var rxPort, txPort [2]uint64
		for i := range c.RxPackets {
			p := cfg.PortOf(i)
			rxPort[p] += c.RxPackets[i]
			txPort[p] += c.TxPackets[i]
		}
		sent := len(frames[0]) + len(frames[1])

		if free, size := l.Worker.Pool().Free(), l.Worker.Pool().Size(); free != size {
			t.Fatalf("buffer leak: %d of %d buffers back in the pool", free, size)
		}
		arpReplies := 0
		for i := range out {
			for j, fr := range out[i] {
				if len(fr) < hdr.EthernetLen {
					t.Fatalf("out%d frame %d: %d bytes, shorter than an Ethernet header", i, j, len(fr))
				}
				// Tags: only on frames of the VLAN lab's sub-interfaces.
				tags := 0
				for len(fr) >= hdr.EthernetLen+tags+4 && (binary.BigEndian.Uint16(fr[12+tags:]) == hdr.EtherTypeVLAN || binary.BigEndian.Uint16(fr[12+tags:]) == hdr.EtherTypeQinQ) {
					tags += 4
				}
				if tags > 8 || tags > 0 && !vlans {
					t.Fatalf("out%d frame %d: %d tag bytes: %s", i, j, tags, describe(fr))
				}
				fr = append(fr[:12:12], fr[12+tags:]...)
				switch binary.BigEndian.Uint16(fr[12:]) {
				case hdr.EtherTypeIPv4:
					ip := hdr.IPv4(fr[hdr.EthernetLen:])
					if st := ip.Validate(); st != hdr.OK {
						t.Fatalf("out%d frame %d: invalid IPv4 header (%v): %s", i, j, st, describe(fr))
					}
					if ip.TTL() == 0 {
						t.Fatalf("out%d frame %d: sent with TTL 0: %s", i, j, describe(fr))
					}
					if ip.TotalLen() > mtu[i]-tags {
						t.Fatalf("out%d frame %d: %d bytes exceed the MTU %d (with %d tag bytes): %s", i, j, ip.TotalLen(), mtu[i]-tags, tags, describe(fr))
					}
				case hdr.EtherTypeIPv6:
					// Every interface has a link-local address (derived
					// from its MAC), which Neighbor Discovery and echo
					// requests reach even in this IPv4 lab.
					ip := fr[hdr.EthernetLen:]
					if len(ip) < hdr.IPv6Len || ip[0]>>4 != 6 || hdr.IPv6Len+int(binary.BigEndian.Uint16(ip[4:])) != len(ip) {
						t.Fatalf("out%d frame %d: invalid IPv6 header or payload length: %s", i, j, describe(fr))
					}
					if ip[7] == 0 {
						t.Fatalf("out%d frame %d: sent with hop limit 0: %s", i, j, describe(fr))
					}
					if len(ip) > mtu[i]-tags {
						t.Fatalf("out%d frame %d: %d bytes exceed the MTU %d (with %d tag bytes): %s", i, j, len(ip), mtu[i]-tags, tags, describe(fr))
					}
				case hdr.EtherTypeARP:
					// Only arp-input answers (the control plane only asks).
					// Answers to RFC 5227 probes (target IP 0) are not
					// punted: there is nothing to learn from a probe.
					if a := hdr.ARP(fr[hdr.EthernetLen:]); a.Validate() == hdr.OK && a.Op() == hdr.ARPReply && a.TargetIP() != 0 {
						arpReplies++
					}
				default:
					t.Fatalf("out%d frame %d: EtherType %#04x sent: %s", i, j, binary.BigEndian.Uint16(fr[12:]), describe(fr))
				}
			}
		}
		if n := len(out[0]) + len(out[1]); n > sent*fragBound {
			t.Fatalf("%d frames out for %d in: more than %d each", n, sent, fragBound)
		}

		if rx := rxPort[0] + rxPort[1]; rx != uint64(sent) {
			t.Fatalf("rx packets %d, frames sent %d", rx, sent)
		}
		if rxPort[0] != uint64(len(frames[0])) || rxPort[1] != uint64(len(frames[1])) {
			t.Fatalf("rx packets per interface %v, sent %d and %d", c.RxPackets, len(frames[0]), len(frames[1]))
		}
		if c.Drops[dp.ReasonNone] != 0 {
			t.Fatalf("%d drops without a reason", c.Drops[dp.ReasonNone])
		}
		if tx := txPort[0] + txPort[1]; tx != uint64(len(out[0])+len(out[1])) || txPort[0] != uint64(len(out[0])) {
			t.Fatalf("tx packets %v, frames taken %d and %d", c.TxPackets, len(out[0]), len(out[1]))
		}
		// Conservation of buffers. Every buffer that enters the graph — a
		// received frame, a message the control plane injected, a fragment
		// ip4-frag made — leaves it exactly once: sent, dropped with a
		// reason, or freed silently by one of three stages:
		//   - ip4-frag frees each original it cut:
		//     packets into ip4-frag - its drops;
		//   - ip4-arp frees each packet it punted (Punts counts them);
		//   - arp-input punts (or counts PuntFull for) every ARP packet it
		//     accepts, except probes, and frees those it does not answer.
		// So rx + injected + fragments =
		//     tx + drops + fragmented + punts + punt-full - ARP replies.
		fragmented := c.Packets[ip4.StageFrag]
		for r := dp.Reason(0); r < dp.NumReasons; r++ {
			if r.Stage() == ip4.StageFrag {
				fragmented -= c.Drops[r]
			}
		}
		in := rxPort[0] + rxPort[1] + c.Injected + c.Fragments
		gone := txPort[0] + txPort[1] + c.TotalDrops() + fragmented + c.Punts + c.PuntFull - uint64(arpReplies)
		if in != gone {
			t.Fatalf("buffers in %d (rx %v, injected %d, fragments %d) != out %d (tx %v, drops %d, fragmented %d, punts %d, punt-full %d, ARP replies %d)",
				in, c.RxPackets, c.Injected, c.Fragments, gone, c.TxPackets, c.TotalDrops(), fragmented, c.Punts, c.PuntFull, arpReplies)
		}
	})
}

// fuzzLabs keeps one lab per MTU setting between inputs: building one
// costs milliseconds (the FIB's tables), more than running an input. A lab
// is reused only while the control plane has nothing from earlier inputs —
// no punt, no injected message — so each input meets the same router:
// the static neighbours, no learned ones, nothing queued. (The ICMP token
// bucket and the IPv4 ID of errors carry over; the bucket refills from the
// wall clock anyway, and no invariant here depends on either.)
type fuzzLabs struct {
	mu   sync.Mutex
	labs [4]*dptest.Lab
}

var labs fuzzLabs

func labIndex(mtu576, vlans bool) int {
	i := 0
	if mtu576 {
		i = 1
	}
	if vlans {
		i += 2
	}
	return i
}

func (f *fuzzLabs) get(t *testing.T, mtu576, vlans bool, opts dptest.Options) *dptest.Lab {
	i := labIndex(mtu576, vlans)
	f.mu.Lock()
	l := f.labs[i]
	f.labs[i] = nil
	f.mu.Unlock()
	if l == nil {
		return dptest.New(t, opts)
	}
	l.T = t
	return l
}

func (f *fuzzLabs) put(mtu576, vlans bool, l *dptest.Lab, c dp.Counters) {
	if c.Punts != 0 || c.PuntFull != 0 || c.Injected != 0 || l.Worker.Punt().Len() != 0 {
		return // the control plane learned or queued something: start afresh
	}
	i := labIndex(mtu576, vlans)
	f.mu.Lock()
	f.labs[i] = l
	f.mu.Unlock()
}

// delta returns the counters a - b (for the fields FuzzPipeline reads).
func delta(a, b dp.Counters) dp.Counters {
	d := a
	for i := range d.Drops {
		d.Drops[i] -= b.Drops[i]
	}
	for i := range d.Packets {
		d.Packets[i] -= b.Packets[i]
	}
	for i := range d.ICMPErrors {
		d.ICMPErrors[i] -= b.ICMPErrors[i]
	}
	d.ICMPEchoReplies -= b.ICMPEchoReplies
	d.Punts -= b.Punts
	d.PuntFull -= b.PuntFull
	d.Injected -= b.Injected
	d.Fragments -= b.Fragments
	d.RxPackets, d.TxPackets = slices.Clone(a.RxPackets), slices.Clone(a.TxPackets)
	for i := range d.RxPackets {
		d.RxPackets[i] -= at(b.RxPackets, i)
		d.TxPackets[i] -= at(b.TxPackets, i)
	}
	return d
}

// vlanSeeds are inputs for the VLAN lab: forwarding between VLANs, QinQ
// and the ports, ARP and ping in a VLAN, and the bad tags.
func vlanSeeds() [][2][][]byte {
	ip := func(src, dst netip.Addr, ttl uint8, n int) []byte {
		return dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, src, dst, hdr.ProtoUDP, ttl, false, dptest.UDP(1, 2, n))
	}
	h100, hq, h200 := dptest.SubHost[0], dptest.SubHost[1], dptest.SubHost[2]
	good := [][]byte{
		dptest.Tag(ip(h100, h200, 9, 20), 0x8100, 100),
		dptest.Tag(ip(hq, h100, 9, 20), 0x88a8, 10, 0x8100, 20),
		ip(dptest.HostA, h200, 9, 1400),
		dptest.Tag(ip(h100, h200, 9, 1490), 0x8100, 100),
		dptest.Tag(ip(h100, dptest.SubAddr[0], 1, 20), 0x8100, 100),
		dptest.Tag(dptest.ARPFrame(hdr.ARPRequest, dptest.Broadcast, dptest.HostAMAC, h100, [6]byte{}, dptest.SubAddr[0]), 0x8100, 100),
		dptest.Tag(ip(dptest.HostA, dptest.HostB, 9, 20), 0x8100, 0),
	}
	bad := [][]byte{
		dptest.Tag(ip(h100, h200, 9, 20), 0x8100, 4095),
		dptest.Tag(ip(h100, h200, 9, 20), 0x8100, 300),
		dptest.Tag(ip(h100, h200, 9, 20), 0x8100, 0, 0x8100, 100),
		dptest.Tag(ip(h100, h200, 9, 20), 0x8100, 100, 0x8100, 5),
		dptest.Tag(ip(h100, h200, 9, 20), 0x88a8, 10, 0x8100, 0),
		dptest.Tag(ip(h100, h200, 9, 20), 0x8100, 100)[:17],
	}
	back := dptest.Tag(dptest.IPv4Frame(dptest.R1MAC, dptest.HostBMAC, h200, hq, hdr.ProtoUDP, 9, false, dptest.UDP(1, 2, 20)), 0x8100, 200)
	return [][2][][]byte{{good, {back}}, {bad, nil}, {append(good, bad...), {back, back}}}
}
