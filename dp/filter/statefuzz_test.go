package filter_test

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/dp/dptest"
	"github.com/softnet/softnet/dp/filter"
	"github.com/softnet/softnet/dp/filter/pf"
	"github.com/softnet/softnet/dp/ip4"
	"github.com/softnet/softnet/hdr"
)

// The rule sets FuzzFilter starts with (the first) and reloads. Each has
// a default block and keeps state on every pass: nothing comes in on if1
// (or if1.200) but by a state or an ICMP error quoting one, and whatever
// the router forwards has a state of its own flow (or quotes one).
var fuzzRuleSets = [][]string{
	{"pass out", "pass in on if0", "pass in on if0.100", "pass in on if0.10.20"},
	{"pass out", "pass in on if0 proto tcp to any port 80", "pass in on if0 proto udp", "pass in on if0 proto icmp", "pass in on if0 inet6"},
	{"pass out", "pass in on if0", "block in quick on if0 proto udp to any port 9"},
	{"pass out on if1", "pass in on if0 proto tcp", "pass in on if0.100 proto udp"},
}

// fuzzStateLimit is the states per worker in FuzzFilter: small, so the
// limit and the ageing of a full table are reached.
const fuzzStateLimit = 8

// Ops of a FuzzFilter input, one byte each, then its operands:
//
//	0x00-0x7f  a frame: bit 6 the interface (if0, if1), bits 0-5 and the
//	           next byte its length (14 bits; a truncated last frame keeps
//	           the bytes there are), then the frame (its IPv4 header
//	           checksum is set: fixSum)
//	0x80-0xbf  run the router on the frames queued, then move the
//	           filter's clock on by (op&0x3f) x 5 s (0: run only)
//	0xc0-0xff  run, then reload the rules with fuzzRuleSets[op&3] and
//	           a state limit of 8>>(op>>2&3) (the worker remakes its
//	           table at its next vector, keeping the states that fit)
//
// The router runs at the end of the input too.
const (
	opRun    = 0x80
	opReload = 0xc0
)

type fuzzOps []byte

func (o fuzzOps) frame(iface int, f []byte) fuzzOps {
	n := min(len(f), 0x3fff)
	o = append(o, byte(iface)<<6|byte(n>>8), byte(n))
	return append(o, f[:n]...)
}

func (o fuzzOps) advance(d time.Duration) fuzzOps {
	return append(o, opRun|byte(d/(5*time.Second)))
}

var (
	server6  = netip.MustParseAddr("2001:db8:100::9")
	icmpEcho = func(id, seq uint16) []byte { return dptest.Echo(id, seq, 8) }
)

func ip6Frame(dst, src [6]byte, from, to netip.Addr, next uint8, payload []byte) []byte {
	f := make([]byte, 14+40+len(payload))
	copy(f, dst[:])
	copy(f[6:], src[:])
	binary.BigEndian.PutUint16(f[12:], hdr.EtherTypeIPv6)
	ip := f[14:]
	ip[0] = 0x60
	binary.BigEndian.PutUint16(ip[4:], uint16(len(payload)))
	ip[6], ip[7] = next, 64
	s, d := from.As16(), to.As16()
	copy(ip[8:], s[:])
	copy(ip[24:], d[:])
	copy(ip[40:], payload)
	return f
}

// frag returns f (an IPv4 frame) as a fragment at byte offset off, with
// more fragments to come when mf.
func frag(f []byte, off uint16, mf bool) []byte {
	f = slices.Clone(f)
	ip := hdr.IPv4(f[hdr.EthernetLen:])
	ip.SetFlagsFrag(false, mf, off/8)
	ip.SetChecksum(0)
	ip.SetChecksum(ip.ComputeChecksum())
	return f
}

// fuzzSeeds are real flows: a TCP connection (handshake, data both ways,
// FINs both ways), a UDP request and reply, an ICMP echo, an ICMP error
// about the passed UDP flow (and about it after its state expired:
// blocked), fragments, an IPv6 flow, a VLAN flow, and more flows than
// the state limit with the clock moved on past their timeouts.
func fuzzSeeds() []fuzzOps {
	var seeds []fuzzOps
	var o fuzzOps
	o = o.frame(0, fromA(hdr.ProtoTCP, tcp(40000, 80, 1000, 0, syn, 0))).advance(0)
	o = o.frame(1, fromB(hdr.ProtoTCP, tcp(80, 40000, 5000, 1001, syn|ack, 0))).advance(0)
	o = o.frame(0, fromA(hdr.ProtoTCP, tcp(40000, 80, 1001, 5001, ack, 0)))
	o = o.frame(0, fromA(hdr.ProtoTCP, tcp(40000, 80, 1001, 5001, ack, 100))).advance(0)
	o = o.frame(1, fromB(hdr.ProtoTCP, tcp(80, 40000, 5001, 1101, ack, 50))).advance(time.Second * 10)
	o = o.frame(0, fromA(hdr.ProtoTCP, tcp(40000, 80, 1101, 5051, ack|pf.FIN, 0))).advance(0)
	o = o.frame(1, fromB(hdr.ProtoTCP, tcp(80, 40000, 5051, 1102, ack|pf.FIN, 0))).advance(0)
	o = o.frame(0, fromA(hdr.ProtoTCP, tcp(40000, 80, 1102, 5052, ack, 0)))
	o = o.frame(1, fromB(hdr.ProtoTCP, tcp(80, 40000, 5052, 1102, rst, 0)))
	seeds = append(seeds, o)

	req := fromA(hdr.ProtoUDP, dptest.UDP(3333, 53, 10))
	quote := slices.Clone(req[14 : 14+28])
	icmpErr := append([]byte{3, 3, 0, 0, 0, 0, 0, 0}, quote...)
	binary.BigEndian.PutUint16(icmpErr[2:], hdr.Checksum(icmpErr, 0))
	o = nil
	o = o.frame(1, fromB(hdr.ProtoUDP, dptest.UDP(53, 3333, 10))).advance(0) // before the request: blocked
	o = o.frame(0, req).advance(0)
	o = o.frame(1, fromB(hdr.ProtoUDP, dptest.UDP(53, 3333, 10)))
	o = o.frame(1, fromB(hdr.ProtoICMP, icmpErr)).advance(0)
	o = o.frame(0, fromA(hdr.ProtoICMP, icmpEcho(7, 1))).advance(0)
	echoReply := icmpEcho(7, 1)
	echoReply[0] = 0
	echoReply[2], echoReply[3] = 0, 0
	binary.BigEndian.PutUint16(echoReply[2:], hdr.Checksum(echoReply, 0))
	o = o.frame(1, fromB(hdr.ProtoICMP, echoReply)).advance(65 * time.Second)
	o = o.frame(1, fromB(hdr.ProtoUDP, dptest.UDP(53, 3333, 10))) // after the timeout: blocked
	o = o.frame(1, fromB(hdr.ProtoICMP, icmpErr))                 // the error about it too
	seeds = append(seeds, o)

	// Fragments of a UDP datagram, both ways.
	big := fromA(hdr.ProtoUDP, dptest.UDP(5000, 53, 64))
	bigB := fromB(hdr.ProtoUDP, dptest.UDP(53, 5000, 64))
	o = nil
	o = o.frame(0, frag(big, 0, true)).frame(0, frag(big, 24, false)).advance(0)
	o = o.frame(1, frag(bigB, 0, true)).frame(1, frag(bigB, 24, false))
	seeds = append(seeds, o)

	// IPv6 and VLANs.
	o = nil
	o = o.frame(0, ip6Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA6, server6, hdr.ProtoUDP, dptest.UDP(4000, 53, 4))).advance(0)
	o = o.frame(1, ip6Frame(dptest.R1MAC, dptest.HostBMAC, server6, dptest.HostA6, hdr.ProtoUDP, dptest.UDP(53, 4000, 4)))
	o = o.frame(0, ip6Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA6, server6, hdr.ProtoTCP, tcp(40000, 80, 1, 0, syn, 0))).advance(0)
	o = o.frame(1, ip6Frame(dptest.R1MAC, dptest.HostBMAC, server6, dptest.HostA6, hdr.ProtoTCP, tcp(80, 40000, 9, 2, syn|ack, 0)))
	v := dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.SubHost[0], server, hdr.ProtoUDP, 64, false, dptest.UDP(1, 2, 1))
	o = o.frame(0, dptest.Tag(v, 0x8100, 100)).advance(0)
	back := dptest.IPv4Frame(dptest.R1MAC, dptest.HostBMAC, server, dptest.SubHost[0], hdr.ProtoUDP, 64, false, dptest.UDP(2, 1, 1))
	o = o.frame(1, back)
	o = append(o, opReload|1)
	o = o.frame(1, back)
	o = append(o, opReload|1<<2) // limit 4
	o = o.frame(0, dptest.Tag(v, 0x8100, 100))
	o = append(o, opReload)
	seeds = append(seeds, o)

	// More flows than the limit, in one vector and then after the clock
	// moved on past their timeout (the sweep and the lazy expiry).
	o = nil
	for p := range uint16(12) {
		o = o.frame(0, fromA(hdr.ProtoUDP, dptest.UDP(100+p, 53, 1)))
	}
	o = o.advance(0)
	for p := range uint16(12) {
		o = o.frame(1, fromB(hdr.ProtoUDP, dptest.UDP(53, 100+p, 1)))
	}
	o = o.advance(5 * 63 * time.Second)
	for p := range uint16(12) {
		o = o.frame(0, fromA(hdr.ProtoUDP, dptest.UDP(200+p, 53, 1))).advance(0)
	}
	seeds = append(seeds, o)
	return seeds
}

// FuzzFilter drives the filter node and its state table with sequences
// of frames both ways through a router (IPv4, IPv6, VLANs), moves of the
// clock and reloads of the rules, with a state limit of 8, and checks,
// after each run of the router, what holds whatever comes in: the state
// table is consistent (filter.CheckTable), whatever was forwarded
// (not sent by the router itself) has a live state of its own flow or
// is an ICMP error quoting one, and, at the end, no buffer leaked and
// every frame in was sent, dropped with a reason or consumed.
func FuzzFilter(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add([]byte(s))
	}
	own := map[netip.Addr]bool{dptest.R0: true, dptest.R1: true, dptest.R0v6: true, dptest.R1v6: true}
	for _, a := range dptest.SubAddr {
		own[a] = true
	}
	cfg := rules(f, pf.Block, fuzzRuleSets[0]...)
	cfg.Limit = fuzzStateLimit
	cfg.Timeouts = filter.Timeouts{TCPOpening: int64(30 * time.Second), TCPEstablished: int64(600 * time.Second),
		TCPClosing: int64(90 * time.Second), TCPClosed: int64(20 * time.Second), UDP: int64(60 * time.Second),
		ICMP: int64(20 * time.Second), Other: int64(60 * time.Second)}
	// One lab is kept between inputs (building one costs more than
	// running an input: its FIB's tables), as FuzzPipeline keeps its
	// own: only while the control plane has nothing from earlier inputs
	// (no punt, no injected message), and with its rules reset and its
	// states flushed before each input.
	var kept *dptest.Lab
	f.Fuzz(func(t *testing.T, data []byte) {
		l := kept
		kept = nil
		if l == nil {
			l = dptest.New(t, dptest.Options{IPv6: true, VLANs: true})
		}
		l.T = t
		if err := l.Router.SetFilter(cfg); err != nil {
			t.Fatal(err)
		}
		if h := l.Router.Config().Load().Filter.(*filter.Holder); h.Table(0) != nil {
			var err error
			polling(l, func() { _, err = l.Router.FlushStates(control.StateFilter{}) })
			l.Run()
			if err != nil || h.Table(0).Len() != 0 {
				t.Fatalf("flushing the states of the last input: %v, %d left", err, h.Table(0).Len())
			}
		}
		before := l.Counters()
		sent := [2]int{}
		outs := [2][][]byte{}
		run := func() {
			now := filter.Now()
			l.Run()
			h := l.Router.Config().Load().Filter.(*filter.Holder)
			tb := h.Table(0)
			if tb == nil {
				return // no vector reached the filter yet
			}
			if err := filter.CheckTable(tb); err != nil {
				t.Fatalf("state table: %v", err)
			}
			for i := range 2 {
				out := l.Out(i)
				outs[i] = append(outs[i], out...)
				for _, fr := range out {
					checkForwarded(t, tb, now, own, i, fr)
				}
			}
		}
		frames := 0
		for p := 0; p < len(data); {
			op := data[p]
			p++
			switch {
			case op < opRun:
				if p >= len(data) || frames == 300 {
					p = len(data)
					break
				}
				n := min(int(op&0x3f)<<8|int(data[p]), len(data)-p-1)
				p++
				i := int(op>>6) & 1
				l.Ports[i].Push(fixSum(slices.Clone(data[p : p+n])))
				p += n
				sent[i]++
				frames++
			case op < opReload:
				run()
				filter.Advance(time.Duration(op&0x3f) * 5 * time.Second)
			default:
				run()
				c := rules(t, pf.Block, fuzzRuleSets[op&3]...)
				c.Limit, c.Timeouts = fuzzStateLimit>>(op>>2&3), cfg.Timeouts // 8, 4, 2 or 1: the worker remakes its table
				if err := l.Router.SetFilter(c); err != nil {
					t.Fatal(err)
				}
			}
		}
		run()
		checkAccounting(t, l, before, sent, outs)
		if c := l.Counters(); c.Punts == before.Punts && c.PuntFull == before.PuntFull && c.Injected == before.Injected && l.Worker.Punt().Len() == 0 {
			kept = l
		}
	})
}

// fixSum sets the header checksum of fr's IPv4 header, if it has one
// (after up to two VLAN tags), so that the fuzzer's changes to the
// addresses and the other fields reach the filter rather than end at
// ip4-input's checksum check (FuzzPipeline covers that).
func fixSum(fr []byte) []byte {
	e := 12
	for range 2 {
		if len(fr) >= e+6 && (binary.BigEndian.Uint16(fr[e:]) == hdr.EtherTypeVLAN || binary.BigEndian.Uint16(fr[e:]) == hdr.EtherTypeQinQ) {
			e += 4
		}
	}
	if len(fr) < e+2+hdr.IPv4MinLen || binary.BigEndian.Uint16(fr[e:]) != hdr.EtherTypeIPv4 {
		return fr
	}
	ip := hdr.IPv4(fr[e+2:])
	if ihl := int(ip[0]&0xf) * 4; ihl >= hdr.IPv4MinLen && ihl <= len(ip) {
		ip.SetChecksum(0)
		ip.SetChecksum(hdr.Checksum(ip[:ihl], 0))
	}
	return fr
}

// checkForwarded checks frame fr, sent out of port i: an IP packet not
// from the router itself has a state of its own flow, live at now (the
// clock before the run that sent it), or is an ICMP error quoting a
// flow with a state.
func checkForwarded(t *testing.T, tb *filter.Table, now int64, own map[netip.Addr]bool, i int, fr []byte) {
	t.Helper()
	tags := 0
	for len(fr) >= 14+tags+4 && (binary.BigEndian.Uint16(fr[12+tags:]) == hdr.EtherTypeVLAN || binary.BigEndian.Uint16(fr[12+tags:]) == hdr.EtherTypeQinQ) {
		tags += 4
	}
	if len(fr) < 14+tags+20 {
		return
	}
	ip := fr[14+tags:]
	var src netip.Addr
	switch binary.BigEndian.Uint16(fr[12+tags:]) {
	case hdr.EtherTypeIPv4:
		ip = ip[:min(len(ip), hdr.IPv4(ip).TotalLen())]
		src = netip.AddrFrom4([4]byte(ip[12:16]))
	case hdr.EtherTypeIPv6:
		if len(ip) < 40 {
			return
		}
		ip = ip[:min(len(ip), 40+int(binary.BigEndian.Uint16(ip[4:])))]
		src = netip.AddrFrom16([16]byte(ip[8:24]))
		if src.IsLinkLocalUnicast() {
			return // the router's Neighbor Discovery (a host's is not forwarded)
		}
	default:
		return
	}
	if own[src] {
		return // sent by the router (an ICMP error, an echo reply): not filtered
	}
	k, q, hasQ, ok := filter.FrameKeys(ip)
	if !ok {
		t.Fatalf("out%d: a packet cut short was forwarded: %x", i, fr)
	}
	if filter.Holds(tb, &k, now) || hasQ && filter.Holds(tb, &q, now) {
		return
	}
	t.Fatalf("out%d: forwarded without a state of its flow (key %+v, ICMP error quoting one: %v): %x", i, k, hasQ, fr)
}

// checkAccounting checks that no buffer leaked and that every frame in
// was sent, dropped with a reason or consumed (FuzzPipeline's
// conservation of buffers).
func checkAccounting(t *testing.T, l *dptest.Lab, before dp.Counters, sent [2]int, outs [2][][]byte) {
	t.Helper()
	if free, size := l.Worker.Pool().Free(), l.Worker.Pool().Size(); free != size {
		t.Fatalf("buffer leak: %d of %d buffers back in the pool", free, size)
	}
	c := l.Counters()
	var rx, tx uint64
	for i := range c.RxPackets {
		rx += c.RxPackets[i] - at(before.RxPackets, i)
		tx += c.TxPackets[i] - at(before.TxPackets, i)
	}
	if rx != uint64(sent[0]+sent[1]) {
		t.Fatalf("rx packets %d, frames sent %d", rx, sent[0]+sent[1])
	}
	if tx != uint64(len(outs[0])+len(outs[1])) {
		t.Fatalf("tx packets %d, frames taken %d", tx, len(outs[0])+len(outs[1]))
	}
	if n := c.Drops[dp.ReasonNone] - before.Drops[dp.ReasonNone]; n != 0 {
		t.Fatalf("%d drops without a reason", n)
	}
	arpReplies := uint64(0)
	for i := range outs {
		for _, fr := range outs[i] {
			e := fr[12:]
			for len(e) >= 6 && (binary.BigEndian.Uint16(e) == hdr.EtherTypeVLAN || binary.BigEndian.Uint16(e) == hdr.EtherTypeQinQ) {
				e = e[4:]
			}
			if len(e) >= 2 && binary.BigEndian.Uint16(e) == hdr.EtherTypeARP {
				if a := hdr.ARP(e[2:]); a.Validate() == hdr.OK && a.Op() == hdr.ARPReply && a.TargetIP() != 0 {
					arpReplies++
				}
			}
		}
	}
	fragmented := c.Packets[ip4.StageFrag] - before.Packets[ip4.StageFrag]
	drops := c.TotalDrops() - before.TotalDrops()
	for r := dp.Reason(0); r < dp.NumReasons; r++ {
		if r.Stage() == ip4.StageFrag {
			fragmented -= c.Drops[r] - before.Drops[r]
		}
	}
	in := rx + c.Injected - before.Injected + c.Fragments - before.Fragments
	gone := tx + drops + fragmented + c.Punts - before.Punts + c.PuntFull - before.PuntFull - arpReplies
	if in != gone {
		t.Fatalf("buffers in %d (rx %d, injected %d, fragments %d) != out %d (tx %d, drops %d, fragmented %d, punts %d, punt-full %d, ARP replies %d)",
			in, rx, c.Injected-before.Injected, c.Fragments-before.Fragments, gone, tx, drops, fragmented, c.Punts-before.Punts, c.PuntFull-before.PuntFull, arpReplies)
	}
}

func at(s []uint64, i int) uint64 {
	if i < len(s) {
		return s[i]
	}
	return 0
}
