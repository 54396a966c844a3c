package pcapfilter

import (
	"fmt"

	"golang.org/x/net/bpf"
)

// Classic BPF opcode fields (linux/filter.h, pcap/bpf.h).
const (
	clsLD   = 0x00
	clsLDX  = 0x01
	clsST   = 0x02
	clsSTX  = 0x03
	clsALU  = 0x04
	clsJMP  = 0x05
	clsRET  = 0x06
	clsMISC = 0x07

	szW = 0x00
	szH = 0x08
	szB = 0x10

	mIMM = 0x00
	mABS = 0x20
	mIND = 0x40
	mMEM = 0x60
	mLEN = 0x80
	mMSH = 0xa0

	aluADD = 0x00
	aluSUB = 0x10
	aluMUL = 0x20
	aluDIV = 0x30
	aluOR  = 0x40
	aluAND = 0x50
	aluLSH = 0x60
	aluRSH = 0x70
	aluNEG = 0x80
	aluMOD = 0x90
	aluXOR = 0xa0

	jmpJA   = 0x00
	jmpJEQ  = 0x10
	jmpJGT  = 0x20
	jmpJGE  = 0x30
	jmpJSET = 0x40

	srcK = 0x00
	srcX = 0x08

	retK = 0x00
	retA = 0x10

	miscTAX = 0x00
	miscTXA = 0x80

	// memWords is the number of scratch memory words (BPF_MEMWORDS).
	memWords = 16
	// maxInsns is the kernel's limit on a classic program (BPF_MAXINSNS).
	maxInsns = 4096
)

// insn is one instruction in the interpreter's own form: the same fields
// as bpf.RawInstruction, kept in a slice the Program owns.
type insn struct {
	op     uint16
	jt, jf uint8
	k      uint32
}

// Program is a validated classic BPF program, ready for Run. It is
// immutable after NewProgram and safe for concurrent use by any number of
// workers: Run keeps its registers on the stack.
type Program struct {
	ins []insn
	// never[c]: the program rejects every frame of class c (Never);
	// 256 entries so that indexing by a uint8 needs no bounds check.
	never [256]bool
}

// Validate checks a classic BPF program the way the kernel's
// bpf_check_classic does: it is not empty and not longer than 4,096
// instructions, every opcode is known, every jump goes forward and lands
// inside the program, scratch memory indexes are below 16, a division or
// modulus by the constant 0 is refused, and the last instruction is a
// return.
func Validate(raw []bpf.RawInstruction) error {
	n := len(raw)
	if n == 0 {
		return fmt.Errorf("bpf program: empty: a program needs at least a return instruction")
	}
	if n > maxInsns {
		return fmt.Errorf("bpf program: %d instructions, more than the limit of %d", n, maxInsns)
	}
	for i, r := range raw {
		left := uint32(n - i - 1) // instructions after this one
		op := r.Op
		switch op & 0x07 {
		case clsLD:
			switch op {
			case clsLD | szW | mIMM, clsLD | szW | mLEN:
			case clsLD | szW | mABS, clsLD | szH | mABS, clsLD | szB | mABS,
				clsLD | szW | mIND, clsLD | szH | mIND, clsLD | szB | mIND:
			case clsLD | szW | mMEM:
				if r.K >= memWords {
					return fmt.Errorf("bpf program: instruction %d: scratch memory index %d out of range 0-15", i, r.K)
				}
			default:
				return fmt.Errorf("bpf program: instruction %d: unknown load opcode %#x", i, op)
			}
		case clsLDX:
			switch op {
			case clsLDX | szW | mIMM, clsLDX | szW | mLEN, clsLDX | szB | mMSH:
			case clsLDX | szW | mMEM:
				if r.K >= memWords {
					return fmt.Errorf("bpf program: instruction %d: scratch memory index %d out of range 0-15", i, r.K)
				}
			default:
				return fmt.Errorf("bpf program: instruction %d: unknown load opcode %#x", i, op)
			}
		case clsST, clsSTX:
			if op != clsST && op != clsSTX {
				return fmt.Errorf("bpf program: instruction %d: unknown store opcode %#x", i, op)
			}
			if r.K >= memWords {
				return fmt.Errorf("bpf program: instruction %d: scratch memory index %d out of range 0-15", i, r.K)
			}
		case clsALU:
			switch op &^ srcX {
			case clsALU | aluADD, clsALU | aluSUB, clsALU | aluMUL, clsALU | aluOR, clsALU | aluAND,
				clsALU | aluLSH, clsALU | aluRSH, clsALU | aluXOR:
			case clsALU | aluDIV, clsALU | aluMOD:
				if op&srcX == 0 && r.K == 0 {
					return fmt.Errorf("bpf program: instruction %d: division by the constant 0", i)
				}
			case clsALU | aluNEG:
				if op&srcX != 0 {
					return fmt.Errorf("bpf program: instruction %d: unknown ALU opcode %#x", i, op)
				}
			default:
				return fmt.Errorf("bpf program: instruction %d: unknown ALU opcode %#x", i, op)
			}
		case clsJMP:
			switch op &^ srcX {
			case clsJMP | jmpJA:
				if op&srcX != 0 {
					return fmt.Errorf("bpf program: instruction %d: unknown jump opcode %#x", i, op)
				}
				if r.K >= left {
					return fmt.Errorf("bpf program: instruction %d: jump of %d lands past the end of the program", i, r.K)
				}
			case clsJMP | jmpJEQ, clsJMP | jmpJGT, clsJMP | jmpJGE, clsJMP | jmpJSET:
				if uint32(r.Jt) >= left || uint32(r.Jf) >= left {
					return fmt.Errorf("bpf program: instruction %d: jump (true %d, false %d) lands past the end of the program", i, r.Jt, r.Jf)
				}
			default:
				return fmt.Errorf("bpf program: instruction %d: unknown jump opcode %#x", i, op)
			}
		case clsRET:
			if op != clsRET|retK && op != clsRET|retA {
				return fmt.Errorf("bpf program: instruction %d: unknown return opcode %#x", i, op)
			}
		case clsMISC:
			if op != clsMISC|miscTAX && op != clsMISC|miscTXA {
				return fmt.Errorf("bpf program: instruction %d: unknown opcode %#x", i, op)
			}
		}
	}
	if last := raw[n-1].Op; last&0x07 != clsRET {
		return fmt.Errorf("bpf program: the last instruction (%#x) is not a return", last)
	}
	return nil
}

// NewProgram validates raw (see Validate) and returns it ready for Run.
func NewProgram(raw []bpf.RawInstruction) (*Program, error) {
	if err := Validate(raw); err != nil {
		return nil, err
	}
	p := &Program{ins: make([]insn, len(raw))}
	for i, r := range raw {
		p.ins[i] = insn{op: r.Op, jt: r.Jt, jf: r.Jf, k: r.K}
	}
	p.computeNever()
	return p, nil
}

// Raw returns the program's instructions, e.g. for SO_ATTACH_FILTER.
func (p *Program) Raw() []bpf.RawInstruction {
	raw := make([]bpf.RawInstruction, len(p.ins))
	for i, in := range p.ins {
		raw[i] = bpf.RawInstruction{Op: in.op, Jt: in.jt, Jf: in.jf, K: in.k}
	}
	return raw
}

// Len is the number of instructions.
func (p *Program) Len() int { return len(p.ins) }

// Run runs the program on frame, the captured bytes of a packet whose
// length on the wire is wireLen (what `len`, `greater` and `less` test),
// and returns the program's verdict: 0 rejects, anything else accepts
// (a compiled filter returns Accept). A load beyond the captured bytes
// rejects the packet (returns 0), as the kernel and libpcap do, and so
// does a division by a zero X. Run does not allocate.
func (p *Program) Run(frame []byte, wireLen int) uint32 {
	var a, x uint32
	var mem [memWords]uint32
	ins := p.ins
	n := uint64(len(frame))
	for pc := 0; pc < len(ins); pc++ {
		in := &ins[pc]
		switch in.op {
		case clsLD | szW | mABS:
			off := uint64(in.k)
			if off+4 > n {
				return 0
			}
			a = uint32(frame[off])<<24 | uint32(frame[off+1])<<16 | uint32(frame[off+2])<<8 | uint32(frame[off+3])
		case clsLD | szH | mABS:
			off := uint64(in.k)
			if off+2 > n {
				return 0
			}
			a = uint32(frame[off])<<8 | uint32(frame[off+1])
		case clsLD | szB | mABS:
			off := uint64(in.k)
			if off >= n {
				return 0
			}
			a = uint32(frame[off])
		case clsLD | szW | mIND:
			off := uint64(in.k) + uint64(x)
			if off+4 > n {
				return 0
			}
			a = uint32(frame[off])<<24 | uint32(frame[off+1])<<16 | uint32(frame[off+2])<<8 | uint32(frame[off+3])
		case clsLD | szH | mIND:
			off := uint64(in.k) + uint64(x)
			if off+2 > n {
				return 0
			}
			a = uint32(frame[off])<<8 | uint32(frame[off+1])
		case clsLD | szB | mIND:
			off := uint64(in.k) + uint64(x)
			if off >= n {
				return 0
			}
			a = uint32(frame[off])
		case clsLD | szW | mIMM:
			a = in.k
		case clsLD | szW | mLEN:
			a = uint32(wireLen)
		case clsLD | szW | mMEM:
			a = mem[in.k&(memWords-1)]
		case clsLDX | szW | mIMM:
			x = in.k
		case clsLDX | szW | mLEN:
			x = uint32(wireLen)
		case clsLDX | szW | mMEM:
			x = mem[in.k&(memWords-1)]
		case clsLDX | szB | mMSH:
			off := uint64(in.k)
			if off >= n {
				return 0
			}
			x = uint32(frame[off]&0x0f) << 2
		case clsST:
			mem[in.k&(memWords-1)] = a
		case clsSTX:
			mem[in.k&(memWords-1)] = x
		case clsALU | aluADD | srcK:
			a += in.k
		case clsALU | aluADD | srcX:
			a += x
		case clsALU | aluSUB | srcK:
			a -= in.k
		case clsALU | aluSUB | srcX:
			a -= x
		case clsALU | aluMUL | srcK:
			a *= in.k
		case clsALU | aluMUL | srcX:
			a *= x
		case clsALU | aluDIV | srcK:
			if in.k == 0 {
				return 0
			}
			a /= in.k
		case clsALU | aluDIV | srcX:
			if x == 0 {
				return 0
			}
			a /= x
		case clsALU | aluMOD | srcK:
			if in.k == 0 {
				return 0
			}
			a %= in.k
		case clsALU | aluMOD | srcX:
			if x == 0 {
				return 0
			}
			a %= x
		case clsALU | aluOR | srcK:
			a |= in.k
		case clsALU | aluOR | srcX:
			a |= x
		case clsALU | aluAND | srcK:
			a &= in.k
		case clsALU | aluAND | srcX:
			a &= x
		case clsALU | aluXOR | srcK:
			a ^= in.k
		case clsALU | aluXOR | srcX:
			a ^= x
		case clsALU | aluLSH | srcK:
			a = shl(a, in.k)
		case clsALU | aluLSH | srcX:
			a = shl(a, x)
		case clsALU | aluRSH | srcK:
			a = shr(a, in.k)
		case clsALU | aluRSH | srcX:
			a = shr(a, x)
		case clsALU | aluNEG:
			a = -a
		case clsJMP | jmpJA:
			pc += int(in.k)
		case clsJMP | jmpJEQ | srcK:
			pc += jump(a == in.k, in)
		case clsJMP | jmpJEQ | srcX:
			pc += jump(a == x, in)
		case clsJMP | jmpJGT | srcK:
			pc += jump(a > in.k, in)
		case clsJMP | jmpJGT | srcX:
			pc += jump(a > x, in)
		case clsJMP | jmpJGE | srcK:
			pc += jump(a >= in.k, in)
		case clsJMP | jmpJGE | srcX:
			pc += jump(a >= x, in)
		case clsJMP | jmpJSET | srcK:
			pc += jump(a&in.k != 0, in)
		case clsJMP | jmpJSET | srcX:
			pc += jump(a&x != 0, in)
		case clsRET | retK:
			return in.k
		case clsRET | retA:
			return a
		case clsMISC | miscTAX:
			x = a
		case clsMISC | miscTXA:
			a = x
		default:
			// Unreachable for a validated program.
			return 0
		}
	}
	return 0
}

func jump(cond bool, in *insn) int {
	if cond {
		return int(in.jt)
	}
	return int(in.jf)
}

// shl and shr shift as Go (and golang.org/x/net/bpf's VM) do: a shift by
// 32 or more gives 0.
func shl(a, s uint32) uint32 { return a << s }
func shr(a, s uint32) uint32 { return a >> s }
