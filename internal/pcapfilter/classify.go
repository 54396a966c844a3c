package pcapfilter

// Pre-classification (issue 14: taps whose cost does not grow). A frame's
// class is what a few loads of its headers say about it: its VLAN tags
// (none; one, with TPID 0x8100, 0x88a8 or 0x9100; or two, the inner one
// 0x8100), its EtherType (IPv4, IPv6, ARP), its IPv4 protocol or IPv6
// next header among a few (TCP, UDP, ICMP, ...), and whether an IPv4
// fragment offset is 0. NewProgram runs the program once per class, in
// an abstract interpreter that knows those bytes and nothing else of the
// frame (not its length, not any other byte), and records the classes on
// which every path it can take returns 0. Program.Never(Classify(frame))
// is then a table index that says, for most traffic a filter does not
// match, that Run would reject the frame: "tcp port 22" never runs on UDP.
//
// Soundness: Never(c) is true only if Run returns 0 on every frame, of
// any length and wire length, whose Classify is c. The abstract values
// are known-bit masks ("tnums": each bit known 0, known 1, or unknown);
// a load of a byte the class does not fix gives unknown bits; every
// branch whose condition the known bits do not decide is taken both
// ways; paths meet by keeping only the bits they agree on. A load beyond
// the frame rejects in Run, so ignoring that outcome loses nothing; the
// bytes a class fixes are inside every frame of that class (Classify
// checks the length). TestNeverSound checks it over the oracle's
// expressions and corpus, FuzzNever over random programs and frames.

// NumClasses is the number of frame classes; Classify returns one below
// it, and class 0 knows nothing about the frame (Never(0) is true only
// for a program that rejects everything).
const NumClasses = numLayouts * perLayout

// Program.never has 256 entries.
var _ [256 - NumClasses]struct{}

// Layouts: untagged, one tag (three TPIDs), two tags (three outer TPIDs,
// inner 0x8100).
const numLayouts = 7

var tpids = [3]uint16{0x8100, 0x88a8, 0x9100}

// The protocols a class names; any other is "unknown" (protoOther).
var classProtos = [...]uint8{1, 2, 6, 17, 44, 47, 50, 58, 132, 0}

const (
	numProtos  = len(classProtos) + 1 // and protoOther
	protoOther = len(classProtos)

	// Sub-classes within a layout: 0, the layout alone (EtherType not
	// known); 1, ARP; then IPv4 by protocol and fragment (offset 0, or
	// not known), then IPv6 by next header.
	subARP    = 1
	subIPv4   = 2
	subIPv6   = subIPv4 + 2*numProtos
	perLayout = subIPv6 + numProtos
)

// protoIndex maps an IP protocol number to its index in classProtos,
// protoOther for the others.
var protoIndex = func() (t [256]uint8) {
	for i := range t {
		t[i] = uint8(protoOther)
	}
	for i, p := range classProtos {
		t[p] = uint8(i)
	}
	return t
}()

func tpidIndex(et uint16) int {
	switch et {
	case 0x8100:
		return 0
	case 0x88a8:
		return 1
	case 0x9100:
		return 2
	}
	return -1
}

// Classify returns frame's class, below NumClasses, for Program.Never.
// It reads at most the EtherType, two tags and one IP header field or
// two; it does not allocate.
func Classify(f []byte) uint8 {
	if len(f) < 14 {
		return 0
	}
	et := uint16(f[12])<<8 | uint16(f[13])
	l3, layout := 14, 0
	if t := tpidIndex(et); t >= 0 {
		if len(f) < 18 {
			return 0
		}
		et = uint16(f[16])<<8 | uint16(f[17])
		l3, layout = 18, 1+t
		if et == 0x8100 {
			if len(f) < 22 {
				return 0
			}
			et = uint16(f[20])<<8 | uint16(f[21])
			l3, layout = 22, 4+t
		}
	}
	base := layout * perLayout
	switch et {
	case 0x0800:
		if len(f) < l3+20 {
			break
		}
		sub := subIPv4 + 2*int(protoIndex[f[l3+9]])
		if f[l3+6]&0x1f != 0 || f[l3+7] != 0 {
			sub++ // a later fragment: offset not known
		}
		return uint8(base + sub)
	case 0x86dd:
		if len(f) < l3+40 {
			break
		}
		return uint8(base + subIPv6 + int(protoIndex[f[l3+6]]))
	case 0x0806:
		return uint8(base + subARP)
	}
	return uint8(base)
}

// Never reports whether the program rejects every frame of class c
// (see Classify): a worker may then skip Run.
func (p *Program) Never(c uint8) bool { return p.never[c] }

// IPv4Class is Classify's class for an IPv4 frame, untagged (tagged
// false: the IPv4 header at byte 14) or under one 0x8100 tag (true: at
// byte 18), of IP protocol proto, a later fragment or not (fragment
// offset not 0). It is small enough to inline, for a caller's own fast
// path of those frames (Classify does not inline); the caller must
// have checked the EtherType(s) and that the frame holds the IPv4
// header (at least 34 or 38 bytes).
func IPv4Class(tagged bool, proto uint8, later bool) uint8 {
	c := subIPv4 + 2*int(protoIndex[proto])
	if tagged {
		c += perLayout
	}
	if later {
		c++
	}
	return uint8(c)
}

// tnum is a 32-bit value with unknown bits: m has a 1 for each unknown
// bit, v the known bits (v&m == 0). The operations are the Linux
// verifier's (kernel/bpf/tnum.c).
type tnum struct{ v, m uint32 }

func tconst(c uint32) tnum { return tnum{c, 0} }

var tunknown = tnum{0, 0xffffffff}

func (a tnum) known() bool { return a.m == 0 }

func tadd(a, b tnum) tnum {
	sm := a.m + b.m
	sv := a.v + b.v
	chi := (sm + sv) ^ sv
	mu := chi | a.m | b.m
	return tnum{sv &^ mu, mu}
}

func tsub(a, b tnum) tnum {
	dv := a.v - b.v
	chi := (dv + a.m) ^ (dv - b.m)
	mu := chi | a.m | b.m
	return tnum{dv &^ mu, mu}
}

func tand(a, b tnum) tnum {
	v := a.v & b.v
	return tnum{v, (a.v | a.m) & (b.v | b.m) &^ v}
}

func tor(a, b tnum) tnum {
	v := a.v | b.v
	return tnum{v, (a.m | b.m) &^ v}
}

func txor(a, b tnum) tnum {
	mu := a.m | b.m
	return tnum{(a.v ^ b.v) &^ mu, mu}
}

// tshift shifts by s as Run does (a shift by 32 or more gives 0).
func tshift(a tnum, s tnum, left bool) tnum {
	if !s.known() {
		return tunknown
	}
	if left {
		return tnum{shl(a.v, s.v), shl(a.m, s.v)}
	}
	return tnum{shr(a.v, s.v), shr(a.m, s.v)}
}

// tjoin is what two paths agree on.
func tjoin(a, b tnum) tnum {
	mu := a.m | b.m | (a.v ^ b.v)
	return tnum{a.v &^ mu, mu}
}

// maybe tells which ways a condition can go: may be true, may be false.
func cmpEQ(a, b tnum) (t, f bool) {
	if a.known() && b.known() {
		return a.v == b.v, a.v != b.v
	}
	if (a.v^b.v)&^(a.m|b.m) != 0 {
		return false, true
	}
	return true, true
}

func cmpGT(a, b tnum) (t, f bool) {
	amin, amax := a.v, a.v|a.m
	bmin, bmax := b.v, b.v|b.m
	return amax > bmin, amin <= bmax
}

func cmpGE(a, b tnum) (t, f bool) {
	amin, amax := a.v, a.v|a.m
	bmin, bmax := b.v, b.v|b.m
	return amax >= bmin, amin < bmax
}

func cmpSET(a, b tnum) (t, f bool) {
	and := tand(a, b)
	return and.v|and.m != 0, and.v == 0
}

// absState is the abstract machine state at one instruction.
type absState struct {
	live bool
	a, x tnum
	mem  [memWords]tnum
}

func (s *absState) join(o *absState) {
	if !s.live {
		*s = *o
		return
	}
	s.a, s.x = tjoin(s.a, o.a), tjoin(s.x, o.x)
	for i := range s.mem {
		s.mem[i] = tjoin(s.mem[i], o.mem[i])
	}
}

// frameFacts is what a class fixes of a frame: for each of the first
// maxFact bytes, its known bits.
const maxFact = 64

type frameFacts struct {
	v, m [maxFact]uint8 // m: unknown bits
}

func (ff *frameFacts) set(off int, v, mask uint8) {
	ff.v[off] = v & mask
	ff.m[off] = ^mask
}

func (ff *frameFacts) set16(off int, v uint16) {
	ff.set(off, uint8(v>>8), 0xff)
	ff.set(off+1, uint8(v), 0xff)
}

// load is a load of size bytes at off: the bytes' known bits, unknown
// for bytes the class does not fix.
func (ff *frameFacts) load(off uint64, size int) tnum {
	var r tnum
	for i := range size {
		o := off + uint64(i)
		r.v <<= 8
		r.m <<= 8
		if o < maxFact {
			r.v |= uint32(ff.v[o])
			r.m |= uint32(ff.m[o])
		} else {
			r.m |= 0xff
		}
	}
	return r
}

// classFacts are the bytes class c fixes (see Classify).
func classFacts(c int) *frameFacts {
	ff := &frameFacts{}
	for i := range ff.m {
		ff.m[i] = 0xff
	}
	layout, sub := c/perLayout, c%perLayout
	l3 := 14
	switch {
	case layout >= 4:
		ff.set16(12, tpids[layout-4])
		ff.set16(16, 0x8100)
		l3 = 22
	case layout >= 1:
		ff.set16(12, tpids[layout-1])
		l3 = 18
	}
	switch {
	case sub == 0:
	case sub == subARP:
		ff.set16(l3-2, 0x0806)
	case sub < subIPv6:
		ff.set16(l3-2, 0x0800)
		i := (sub - subIPv4) / 2
		if i < len(classProtos) {
			ff.set(l3+9, classProtos[i], 0xff)
		}
		if (sub-subIPv4)%2 == 0 { // fragment offset 0
			ff.set(l3+6, 0, 0x1f)
			ff.set(l3+7, 0, 0xff)
		}
	default:
		ff.set16(l3-2, 0x86dd)
		if i := sub - subIPv6; i < len(classProtos) {
			ff.set(l3+6, classProtos[i], 0xff)
		}
	}
	return ff
}

// computeNever fills p.never: for each class, whether no path of the
// program can return other than 0 on a frame of that class.
func (p *Program) computeNever() {
	st := make([]absState, len(p.ins))
	for c := range NumClasses {
		p.never[c] = !p.mayAccept(classFacts(c), st)
	}
}

// mayAccept runs the program abstractly on frames with facts ff: true
// if some path may return other than 0. st is scratch, one state per
// instruction.
func (p *Program) mayAccept(ff *frameFacts, st []absState) bool {
	for i := range st {
		st[i].live = false
	}
	st[0] = absState{live: true, a: tconst(0), x: tconst(0)}
	for i := range st[0].mem {
		st[0].mem[i] = tconst(0)
	}
	ins := p.ins
	for pc := range ins {
		if !st[pc].live {
			continue
		}
		s := st[pc] // a copy: this instruction's out state
		in := &ins[pc]
		next := func(off int) { st[pc+1+off].join(&s) }
		branch := func(t, f bool) {
			if t {
				next(int(in.jt))
			}
			if f {
				next(int(in.jf))
			}
		}
		k := tconst(in.k)
		switch in.op {
		case clsLD | szW | mABS:
			s.a = ff.load(uint64(in.k), 4)
		case clsLD | szH | mABS:
			s.a = ff.load(uint64(in.k), 2)
		case clsLD | szB | mABS:
			s.a = ff.load(uint64(in.k), 1)
		case clsLD | szW | mIND, clsLD | szH | mIND, clsLD | szB | mIND:
			if !s.x.known() {
				s.a = tunknown
				break
			}
			size := 4
			switch in.op & 0x18 {
			case szH:
				size = 2
			case szB:
				size = 1
			}
			s.a = ff.load(uint64(in.k)+uint64(s.x.v), size)
		case clsLD | szW | mIMM:
			s.a = k
		case clsLD | szW | mLEN:
			s.a = tunknown
		case clsLD | szW | mMEM:
			s.a = s.mem[in.k&(memWords-1)]
		case clsLDX | szW | mIMM:
			s.x = k
		case clsLDX | szW | mLEN:
			s.x = tunknown
		case clsLDX | szW | mMEM:
			s.x = s.mem[in.k&(memWords-1)]
		case clsLDX | szB | mMSH:
			b := ff.load(uint64(in.k), 1)
			s.x = tshift(tand(b, tconst(0x0f)), tconst(2), true)
		case clsST:
			s.mem[in.k&(memWords-1)] = s.a
		case clsSTX:
			s.mem[in.k&(memWords-1)] = s.x
		case clsALU | aluADD | srcK, clsALU | aluADD | srcX,
			clsALU | aluSUB | srcK, clsALU | aluSUB | srcX,
			clsALU | aluMUL | srcK, clsALU | aluMUL | srcX,
			clsALU | aluDIV | srcK, clsALU | aluDIV | srcX,
			clsALU | aluMOD | srcK, clsALU | aluMOD | srcX,
			clsALU | aluOR | srcK, clsALU | aluOR | srcX,
			clsALU | aluAND | srcK, clsALU | aluAND | srcX,
			clsALU | aluXOR | srcK, clsALU | aluXOR | srcX,
			clsALU | aluLSH | srcK, clsALU | aluLSH | srcX,
			clsALU | aluRSH | srcK, clsALU | aluRSH | srcX:
			b := k
			if in.op&srcX != 0 {
				b = s.x
			}
			switch in.op &^ srcX {
			case clsALU | aluADD:
				s.a = tadd(s.a, b)
			case clsALU | aluSUB:
				s.a = tsub(s.a, b)
			case clsALU | aluMUL:
				if s.a.known() && b.known() {
					s.a = tconst(s.a.v * b.v)
				} else {
					s.a = tunknown
				}
			case clsALU | aluDIV, clsALU | aluMOD:
				if b.known() && b.v == 0 {
					continue // Run returns 0
				}
				if s.a.known() && b.known() {
					if in.op&^srcX == clsALU|aluDIV {
						s.a = tconst(s.a.v / b.v)
					} else {
						s.a = tconst(s.a.v % b.v)
					}
				} else {
					s.a = tunknown // (a zero X rejects)
				}
			case clsALU | aluOR:
				s.a = tor(s.a, b)
			case clsALU | aluAND:
				s.a = tand(s.a, b)
			case clsALU | aluXOR:
				s.a = txor(s.a, b)
			case clsALU | aluLSH:
				s.a = tshift(s.a, b, true)
			case clsALU | aluRSH:
				s.a = tshift(s.a, b, false)
			}
		case clsALU | aluNEG:
			s.a = tsub(tconst(0), s.a)
		case clsJMP | jmpJA:
			next(int(in.k))
			continue
		case clsJMP | jmpJEQ | srcK, clsJMP | jmpJEQ | srcX,
			clsJMP | jmpJGT | srcK, clsJMP | jmpJGT | srcX,
			clsJMP | jmpJGE | srcK, clsJMP | jmpJGE | srcX,
			clsJMP | jmpJSET | srcK, clsJMP | jmpJSET | srcX:
			b := k
			if in.op&srcX != 0 {
				b = s.x
			}
			switch in.op &^ srcX {
			case clsJMP | jmpJEQ:
				branch(cmpEQ(s.a, b))
			case clsJMP | jmpJGT:
				branch(cmpGT(s.a, b))
			case clsJMP | jmpJGE:
				branch(cmpGE(s.a, b))
			case clsJMP | jmpJSET:
				branch(cmpSET(s.a, b))
			}
			continue
		case clsRET | retK:
			if in.k != 0 {
				return true
			}
			continue
		case clsRET | retA:
			if s.a.v != 0 || s.a.m != 0 {
				return true
			}
			continue
		case clsMISC | miscTAX:
			s.x = s.a
		case clsMISC | miscTXA:
			s.a = s.x
		default:
			continue // Run returns 0
		}
		if pc+1 < len(ins) {
			next(0)
		}
	}
	return false
}
