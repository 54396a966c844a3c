package pcapfilter

import (
	"fmt"

	"golang.org/x/net/bpf"
)

// Accept is what a compiled filter returns for a packet it accepts
// (tcpdump's default snapshot length, as tcpdump -ddd prints it).
const Accept = 262144

// cond is a boolean expression before code generation: a test (straight
// code then one conditional jump), or and/or/not of conds.
type cond struct {
	kind  condKind
	a, b  *cond
	stmts []insn
	jop   uint16 // clsJMP|jmpXXX|srcK or srcX
	k     uint32
}

type condKind uint8

const (
	cTest condKind = iota
	cAnd
	cOr
	cNot
	cTrue
)

func and(a, b *cond) *cond { return &cond{kind: cAnd, a: a, b: b} }
func or(a, b *cond) *cond  { return &cond{kind: cOr, a: a, b: b} }
func not(a *cond) *cond    { return &cond{kind: cNot, a: a} }

func ld(size uint16, off uint32) insn { return insn{op: clsLD | size | mABS, k: off} }

// cmp tests that the size-byte field at off equals v.
func cmp(off uint32, size uint16, v uint32) *cond {
	return &cond{kind: cTest, stmts: []insn{ld(size, off)}, jop: clsJMP | jmpJEQ, k: v}
}

// mcmp tests that the field at off, masked, equals v.
func mcmp(off uint32, size uint16, v, mask uint32) *cond {
	full := uint32(0xffffffff)
	switch size {
	case szH:
		full = 0xffff
	case szB:
		full = 0xff
	}
	if mask == full {
		return cmp(off, size, v)
	}
	return &cond{kind: cTest, stmts: []insn{ld(size, off), {op: clsALU | aluAND, k: mask}}, jop: clsJMP | jmpJEQ, k: v}
}

func test(stmts []insn, jop uint16, k uint32) *cond {
	return &cond{kind: cTest, stmts: stmts, jop: jop, k: k}
}

// label-addressed instruction, before jump resolution.
type einsn struct {
	insn
	tl, fl int // label ids of a conditional jump's targets; -1 otherwise
}

type emitter struct {
	out    []einsn
	labels []int
}

func (e *emitter) label() int  { e.labels = append(e.labels, -1); return len(e.labels) - 1 }
func (e *emitter) place(l int) { e.labels[l] = len(e.out) }

func (e *emitter) gen(c *cond, t, f int) {
	switch c.kind {
	case cTrue:
		e.out = append(e.out, einsn{insn{op: clsJMP | jmpJA}, t, -1})
	case cTest:
		for _, s := range c.stmts {
			e.out = append(e.out, einsn{s, -1, -1})
		}
		e.out = append(e.out, einsn{insn{op: c.jop, k: c.k}, t, f})
	case cAnd:
		m := e.label()
		e.gen(c.a, m, f)
		e.place(m)
		e.gen(c.b, t, f)
	case cOr:
		m := e.label()
		e.gen(c.a, t, m)
		e.place(m)
		e.gen(c.b, t, f)
	case cNot:
		e.gen(c.a, f, t)
	}
}

// assemble turns a cond into a program ending in "ret #Accept" and
// "ret #0".
func assemble(c *cond) ([]bpf.RawInstruction, error) {
	var e emitter
	t, f := e.label(), e.label()
	if c != nil {
		e.gen(c, t, f)
	}
	e.place(t)
	e.out = append(e.out, einsn{insn{op: clsRET | retK, k: Accept}, -1, -1})
	e.place(f)
	e.out = append(e.out, einsn{insn{op: clsRET | retK, k: 0}, -1, -1})

	// A conditional jump reaches 255 instructions at most: one going
	// further jumps to a "ja" placed right after it (a trampoline), which
	// reaches anywhere. Adding trampolines moves code, so repeat until
	// every jump fits; the counts only grow, so this ends.
	n := len(e.out)
	tramp := make([]int, n) // trampolines after instruction i (0-2)
	pos := make([]int, n+1) // final position of instruction i
	far := func(i, l int) bool { return pos[e.labels[l]]-(pos[i]+1) > 255 }
	for {
		for i := 0; i < n; i++ {
			pos[i+1] = pos[i] + 1 + tramp[i]
		}
		changed := false
		for i, in := range e.out {
			if in.tl < 0 || in.op == clsJMP|jmpJA {
				continue
			}
			need := 0
			if far(i, in.tl) {
				need++
			}
			if far(i, in.fl) {
				need++
			}
			if need > tramp[i] {
				tramp[i], changed = need, true
			}
		}
		if !changed {
			break
		}
	}
	if pos[n] > maxInsns {
		return nil, &SyntaxError{Col: 1, Msg: fmt.Sprintf("compiles to %d instructions, more than classic BPF's limit of %d: simplify it", pos[n], maxInsns)}
	}
	raw := make([]bpf.RawInstruction, 0, pos[n])
	for i, in := range e.out {
		r := bpf.RawInstruction{Op: in.op, K: in.k}
		var tr []int // labels reached through trampolines
		switch {
		case in.op == clsJMP|jmpJA:
			r.K = uint32(pos[e.labels[in.tl]] - (pos[i] + 1))
		case in.tl >= 0:
			jt, jf := pos[e.labels[in.tl]]-(pos[i]+1), pos[e.labels[in.fl]]-(pos[i]+1)
			if jt > 255 {
				jt = len(tr)
				tr = append(tr, in.tl)
			}
			if jf > 255 {
				jf = len(tr)
				tr = append(tr, in.fl)
			}
			r.Jt, r.Jf = uint8(jt), uint8(jf)
		}
		raw = append(raw, r)
		for j, l := range tr {
			at := pos[i] + 1 + j
			raw = append(raw, bpf.RawInstruction{Op: clsJMP | jmpJA, K: uint32(pos[e.labels[l]] - (at + 1))})
		}
		for j := len(tr); j < tramp[i]; j++ {
			// A trampoline no longer needed (the code moved): jump over
			// nothing, to keep positions as computed.
			raw = append(raw, bpf.RawInstruction{Op: clsJMP | jmpJA, K: 0})
		}
	}
	return raw, nil
}
