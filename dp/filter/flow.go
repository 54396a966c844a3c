package filter

import (
	"encoding/binary"
	"math/bits"

	"github.com/softnet/softnet/dp/filter/pf"
)

// Flow is what the filter reads of a packet: its addresses (IPv4 ones
// IPv4-mapped), protocol, ports (ICMP queries: the identifier as both),
// TCP segment, ICMP type and code, and for an ICMP error the flow of the
// packet it quotes.
type Flow struct {
	Fam          uint8 // 4 or 6
	Proto        uint8
	Frag         bool // a later fragment: no transport header
	Short        bool // the transport header is cut short
	Src, Dst     [16]byte
	SPort, DPort uint16
	Seg          Segment
	ICMPType     uint8
	ICMPCode     uint8
	ICMPErr      bool
	Len          int
}

// ICMP types that carry an identifier (queries) and errors that quote.
func icmp4Query(t uint8) (reply bool, ok bool) {
	switch t {
	case 8, 13, 15, 17:
		return false, true
	case 0, 14, 16, 18:
		return true, true
	}
	return false, false
}

func icmp6Query(t uint8) (bool, bool) {
	switch t {
	case 128:
		return false, true
	case 129:
		return true, true
	}
	return false, false
}

func icmp4Error(t uint8) bool { return t == 3 || t == 4 || t == 5 || t == 11 || t == 12 }
func icmp6Error(t uint8) bool { return t >= 1 && t <= 4 }

// parse fills f from the IP packet ip (its L3 bytes). It returns the
// offset of the transport header, -1 when there is none to read. ip has
// passed ip4-input or ip6-input (a valid header).
func parse(ip []byte, f *Flow) int {
	*f = Flow{Len: len(ip)}
	off := 0
	if len(ip) < 1 {
		f.Short = true
		return -1
	}
	if ip[0]>>4 == 4 {
		if len(ip) < 20 {
			f.Short = true
			return -1
		}
		f.Fam = 4
		f.Proto = ip[9]
		f.Src[10], f.Src[11], f.Dst[10], f.Dst[11] = 0xff, 0xff, 0xff, 0xff
		copy(f.Src[12:], ip[12:16])
		copy(f.Dst[12:], ip[16:20])
		if binary.BigEndian.Uint16(ip[6:8])&0x1fff != 0 {
			f.Frag = true
			return -1
		}
		off = int(ip[0]&0xf) * 4
	} else {
		if len(ip) < 40 {
			f.Short = true
			return -1
		}
		f.Fam = 6
		copy(f.Src[:], ip[8:24])
		copy(f.Dst[:], ip[24:40])
		proto := ip[6]
		off = 40
		for n := 0; n < 8; n++ {
			switch proto {
			case 0, 43, 60: // hop-by-hop, routing, destination options
				if off+8 > len(ip) {
					f.Short = true
					return -1
				}
				proto = ip[off]
				off += (int(ip[off+1]) + 1) * 8
				continue
			case 44: // fragment
				if off+8 > len(ip) {
					f.Short = true
					return -1
				}
				if binary.BigEndian.Uint16(ip[off+2:])&0xfff8 != 0 {
					f.Proto = ip[off]
					f.Frag = true
					return -1
				}
				proto = ip[off]
				off += 8
				continue
			case 51: // AH
				if off+8 > len(ip) {
					f.Short = true
					return -1
				}
				proto = ip[off]
				off += (int(ip[off+1]) + 2) * 4
				continue
			}
			break
		}
		f.Proto = proto
	}
	l4 := ip[min(off, len(ip)):]
	switch f.Proto {
	case pf.ProtoTCP:
		if len(l4) < 20 {
			f.Short = true
			return -1
		}
		f.SPort, f.DPort = binary.BigEndian.Uint16(l4), binary.BigEndian.Uint16(l4[2:])
		g := &f.Seg
		g.Seq, g.Ack = binary.BigEndian.Uint32(l4[4:]), binary.BigEndian.Uint32(l4[8:])
		g.Flags = l4[13]
		g.Win = binary.BigEndian.Uint16(l4[14:])
		g.WScale = -1
		doff := int(l4[12]>>4) * 4
		if doff < 20 || doff > len(l4) {
			f.Short = true
			return -1
		}
		g.Len = uint32(len(l4) - doff)
		if g.Flags&fSYN != 0 {
			g.WScale = wscaleOption(l4[20:doff])
		}
	case pf.ProtoUDP:
		if len(l4) < 8 {
			f.Short = true
			return -1
		}
		f.SPort, f.DPort = binary.BigEndian.Uint16(l4), binary.BigEndian.Uint16(l4[2:])
	case pf.ProtoICMP, pf.ProtoICMPv6:
		if len(l4) < 8 {
			f.Short = true
			return -1
		}
		f.ICMPType, f.ICMPCode = l4[0], l4[1]
		var ok bool
		if f.Proto == pf.ProtoICMP {
			_, ok = icmp4Query(f.ICMPType)
			f.ICMPErr = icmp4Error(f.ICMPType)
		} else {
			_, ok = icmp6Query(f.ICMPType)
			f.ICMPErr = icmp6Error(f.ICMPType)
		}
		if ok {
			id := binary.BigEndian.Uint16(l4[4:])
			f.SPort, f.DPort = id, id
		}
	}
	return off
}

// wscaleOption returns the window scale option's shift in TCP options
// opts, -1 if absent.
func wscaleOption(opts []byte) int8 {
	for i := 0; i < len(opts); {
		switch opts[i] {
		case 0:
			return -1
		case 1:
			i++
			continue
		}
		if i+1 >= len(opts) || opts[i+1] < 2 {
			return -1
		}
		if opts[i] == 3 && opts[i+1] == 3 && i+2 < len(opts) {
			return int8(min(opts[i+2], 14))
		}
		i += int(opts[i+1])
	}
	return -1
}

// key returns f's normalised key and the side f's sender is on.
func (f *Flow) key(k *Key) int {
	k.Proto, k.Fam = f.Proto, f.Fam
	if f.Frag {
		// A later fragment has no ports: it can only match its own
		// port-less pseudo-flow.
		f.SPort, f.DPort = 0, 0
	}
	if less(&f.Src, f.SPort, &f.Dst, f.DPort) {
		k.A, k.PA, k.B, k.PB = f.Src, f.SPort, f.Dst, f.DPort
		return 0
	}
	k.A, k.PA, k.B, k.PB = f.Dst, f.DPort, f.Src, f.SPort
	return 1
}

func less(a *[16]byte, pa uint16, b *[16]byte, pb uint16) bool {
	x, y := binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(b[:8])
	if x != y {
		return x < y
	}
	x, y = binary.BigEndian.Uint64(a[8:]), binary.BigEndian.Uint64(b[8:])
	if x != y {
		return x < y
	}
	return pa <= pb
}

// quoted parses the packet an ICMP error quotes (at l4+8 of ip) into q,
// reversed as the flow it belongs to is seen: the error travels back
// toward the quoted packet's sender. ok false: too short to tell.
func quoted(ip []byte, l4 int, q *Flow) bool {
	if l4 < 0 || l4+8 > len(ip) {
		return false
	}
	in := ip[l4+8:]
	parse(in, q)
	if q.Fam == 0 || q.Frag {
		return false
	}
	// A quote holds at least the first 8 bytes of the transport header:
	// the ports (TCP, UDP) or type and identifier (ICMP).
	if q.Short {
		off := 20
		if q.Fam == 4 && len(in) >= 20 {
			off = int(in[0]&0xf) * 4
		} else if q.Fam == 6 {
			off = 40
		}
		if off+8 > len(in) {
			return false
		}
		l := in[off:]
		switch q.Proto {
		case pf.ProtoTCP, pf.ProtoUDP:
			q.SPort, q.DPort = binary.BigEndian.Uint16(l), binary.BigEndian.Uint16(l[2:])
		case pf.ProtoICMP, pf.ProtoICMPv6:
			id := binary.BigEndian.Uint16(l[4:])
			q.SPort, q.DPort = id, id
		default:
			return false
		}
	}
	return true
}

// key4 is an IPv4 Key in the three words of it that can differ, as they
// lie in memory in a State (see eq4): side A's and side B's address
// IPv4-mapped (bytes 8 to 15 of Key.A and Key.B), and the ports,
// protocol and family (bytes 32 to 37). Bytes 0 to 7 of both addresses
// are zero in every IPv4 key.
type key4 struct{ a, b, p uint64 }

// key writes the Key that w is.
func (w *key4) key(k *Key) {
	le := binary.LittleEndian
	le.PutUint64(k.A[:8], 0)
	le.PutUint64(k.A[8:], w.a)
	le.PutUint64(k.B[:8], 0)
	le.PutUint64(k.B[8:], w.b)
	k.PA, k.PB, k.Proto, k.Fam = uint16(w.p), uint16(w.p>>16), uint8(w.p>>32), uint8(w.p>>40)
}

// fastKey4w is parse and key in one for the common packets, unfragmented
// IPv4 without IP options: a UDP datagram, or a TCP segment without SYN,
// FIN or RST (an established connection's data and ACKs; those flags are
// rare and a SYN's options need reading). It writes the key's words w
// (key4: three stores, which eq4 compares to a state's key) straight from
// the header at its fixed offsets (ip4-input has checked the header), and
// for TCP the segment g that tcpTrack reads (sequence and ACK numbers,
// window, flags, payload length), and returns the sender's side; ok false
// for any other packet (parse then reads it). The key (w.key), side and
// segment are the ones parse and Flow.key give, h the key's hash
// (Key.hash, from the values in registers); decide parses the packet in
// full, and makes the Key, only when it needs more (no state).
func fastKey4w(ip []byte, w *key4, g *Segment) (side int, h uint64, ok bool) {
	if len(ip) < 28 || ip[0] != 0x45 || binary.BigEndian.Uint16(ip[6:8])&0x1fff != 0 {
		return 0, 0, false
	}
	proto := ip[9]
	switch proto {
	case pf.ProtoUDP:
	case pf.ProtoTCP:
		if len(ip) < 40 || ip[33]&(fSYN|fFIN|fRST) != 0 {
			return 0, 0, false
		}
		doff := int(ip[32]>>4) * 4
		if doff < 20 || 20+doff > len(ip) {
			return 0, 0, false
		}
		g.Seq, g.Ack = binary.BigEndian.Uint32(ip[24:28]), binary.BigEndian.Uint32(ip[28:32])
		g.Flags, g.Win = ip[33], binary.BigEndian.Uint16(ip[34:36])
		g.Len, g.WScale = uint32(len(ip)-20-doff), -1
	default:
		return 0, 0, false
	}
	side, h = words4(ip, proto, w)
	return side, h, true
}

// udp4 reports whether ip is a UDP datagram fastKey4w takes: the common
// case, which run keys with words4 without calling fastKey4w.
func udp4(ip []byte) bool {
	return len(ip) >= 28 && ip[0] == 0x45 && ip[9] == pf.ProtoUDP && binary.BigEndian.Uint16(ip[6:8])&0x1fff == 0
}

// words4 writes the key words of the IPv4 packet ip (no options, its
// ports at 20 and 22) of protocol proto and returns its sender's side
// and its hash.
func words4(ip []byte, proto uint8, w *key4) (side int, h uint64) {
	src, dst := binary.BigEndian.Uint32(ip[12:16]), binary.BigEndian.Uint32(ip[16:20])
	sport, dport := binary.BigEndian.Uint16(ip[20:22]), binary.BigEndian.Uint16(ip[22:24])
	if src > dst || (src == dst && sport > dport) {
		src, dst, sport, dport, side = dst, src, dport, sport, 1
	}
	// An IPv4-mapped address: ten zero bytes, two 0xff, the address; its
	// last eight bytes, read as a little-endian word.
	const mapped = 0xffff << 32
	w.a = bits.ReverseBytes64(mapped | uint64(src))
	w.b = bits.ReverseBytes64(mapped | uint64(dst))
	w.p = uint64(sport) | uint64(dport)<<16 | uint64(proto)<<32 | 4<<40
	return side, hash4(src, dst, sport, dport, proto)
}
