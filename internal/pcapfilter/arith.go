package pcapfilter

import (
	"strconv"
)

// anode is an arithmetic expression: a number, len, a packet load
// proto[index:size], a binary operation, or a negation.
type anode struct {
	kind      akind
	k         uint32 // aNum value; aBin ALU op
	l, r      *anode // aBin operands; aLoad index in l; aNeg operand in l
	size      uint16 // aLoad
	base      uint32 // aLoad: offset the index is relative to
	transport bool   // aLoad: index relative to the IPv4 header length (X)
	pre, post *cond  // aLoad: protocol checks before and after the index's
}

type akind uint8

const (
	aNum akind = iota
	aLen
	aLoad
	aBin
	aNeg
)

// relation: arith relop arith.
func (p *parser) relation() (*cond, error) {
	l, err := p.arith(0)
	if err != nil {
		return nil, err
	}
	t := p.peek()
	var jop uint16
	inv := false
	switch {
	case t.kind == tOp && t.s == ">":
		jop = jmpJGT
	case t.kind == tOp && t.s == ">=":
		jop = jmpJGE
	case t.kind == tOp && (t.s == "=" || t.s == "=="):
		jop = jmpJEQ
	case t.kind == tOp && t.s == "!=":
		jop, inv = jmpJEQ, true
	case t.kind == tOp && t.s == "<":
		jop, inv = jmpJGE, true
	case t.kind == tOp && t.s == "<=":
		jop, inv = jmpJGT, true
	default:
		return nil, p.errAt(t, "expected a comparison (=, !=, <, <=, >, >=) after the arithmetic expression, got %s", t)
	}
	p.next()
	r, err := p.arith(0)
	if err != nil {
		return nil, err
	}
	var code []insn
	var k uint32
	if r.kind == aNum {
		code, err = p.gen(l, t)
		if err != nil {
			return nil, err
		}
		k = r.k
		jop |= srcK
	} else {
		lc, err := p.gen(l, t)
		if err != nil {
			return nil, err
		}
		slot, err := p.push(t)
		if err != nil {
			return nil, err
		}
		rc, err := p.gen(r, t)
		if err != nil {
			return nil, err
		}
		p.depth--
		code = append(lc, insn{op: clsST, k: slot})
		code = append(code, rc...)
		code = append(code, insn{op: clsMISC | miscTAX}, insn{op: clsLD | szW | mMEM, k: slot})
		jop |= srcX
	}
	c := test(code, clsJMP|jop, k)
	if inv {
		c = not(c)
	}
	var checks []*cond
	collect(l, &checks)
	collect(r, &checks)
	for i := len(checks) - 1; i >= 0; i-- {
		c = and(checks[i], c)
	}
	return c, nil
}

func collect(n *anode, out *[]*cond) {
	if n == nil {
		return
	}
	if n.pre != nil {
		*out = append(*out, n.pre)
	}
	collect(n.l, out)
	collect(n.r, out)
	if n.post != nil {
		*out = append(*out, n.post)
	}
}

func (p *parser) push(t token) (uint32, error) {
	if p.depth >= memWords {
		return 0, p.errAt(t, "expression too complex: it needs more than %d scratch registers", memWords)
	}
	p.depth++
	return uint32(p.depth - 1), nil
}

// gen emits code leaving n's value in A.
func (p *parser) gen(n *anode, t token) ([]insn, error) {
	switch n.kind {
	case aNum:
		return []insn{{op: clsLD | szW | mIMM, k: n.k}}, nil
	case aLen:
		return []insn{{op: clsLD | szW | mLEN}}, nil
	case aNeg:
		c, err := p.gen(n.l, t)
		return append(c, insn{op: clsALU | aluNEG}), err
	case aBin:
		lc, err := p.gen(n.l, t)
		if err != nil {
			return nil, err
		}
		if n.r.kind == aNum {
			return append(lc, insn{op: clsALU | uint16(n.k) | srcK, k: n.r.k}), nil
		}
		slot, err := p.push(t)
		if err != nil {
			return nil, err
		}
		rc, err := p.gen(n.r, t)
		if err != nil {
			return nil, err
		}
		p.depth--
		c := append(lc, insn{op: clsST, k: slot})
		c = append(c, rc...)
		return append(c, insn{op: clsMISC | miscTAX}, insn{op: clsLD | szW | mMEM, k: slot}, insn{op: clsALU | uint16(n.k) | srcX}), nil
	case aLoad:
		if n.l.kind == aNum {
			if n.transport {
				return []insn{{op: clsLDX | szB | mMSH, k: n.base}, {op: clsLD | n.size | mIND, k: n.base + n.l.k}}, nil
			}
			return []insn{{op: clsLD | n.size | mABS, k: n.base + n.l.k}}, nil
		}
		c, err := p.gen(n.l, t)
		if err != nil {
			return nil, err
		}
		if n.transport {
			slot, err := p.push(t)
			if err != nil {
				return nil, err
			}
			p.depth--
			c = append(c, insn{op: clsST, k: slot}, insn{op: clsLDX | szB | mMSH, k: n.base},
				insn{op: clsLD | szW | mMEM, k: slot}, insn{op: clsALU | aluADD | srcX})
		}
		return append(c, insn{op: clsMISC | miscTAX}, insn{op: clsLD | n.size | mIND, k: n.base}), nil
	}
	return nil, p.errAt(t, "internal error: unknown arithmetic node")
}

// Binary operator precedence, loosest first (libpcap's grammar).
var binLevels = [][]struct {
	s  string
	op uint16
}{
	{{"|", aluOR}},
	{{"^", aluXOR}},
	{{"&", aluAND}},
	{{"<<", aluLSH}, {">>", aluRSH}},
	{{"+", aluADD}, {"-", aluSUB}},
	{{"*", aluMUL}, {"/", aluDIV}, {"%", aluMOD}},
}

func (p *parser) arith(level int) (*anode, error) {
	if level == len(binLevels) {
		return p.unary()
	}
	l, err := p.arith(level + 1)
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		if t.kind != tOp {
			return l, nil
		}
		var op uint16
		found := false
		for _, b := range binLevels[level] {
			if b.s == t.s {
				op, found = b.op, true
			}
		}
		if !found {
			return l, nil
		}
		p.next()
		r, err := p.arith(level + 1)
		if err != nil {
			return nil, err
		}
		if r.kind == aNum {
			switch {
			case (op == aluDIV || op == aluMOD) && r.k == 0:
				return nil, p.errAt(t, "division by zero")
			case (op == aluLSH || op == aluRSH) && r.k > 31:
				return nil, p.errAt(t, "shift by more than 31 bits")
			}
		}
		l = &anode{kind: aBin, k: uint32(op), l: l, r: r}
	}
}

func (p *parser) unary() (*anode, error) {
	t := p.peek()
	if t.kind == tOp && (t.s == "-" || t.s == "(") {
		err := p.enter(t)
		defer p.leave()
		if err != nil {
			return nil, err
		}
	}
	if t.kind == tOp && t.s == "-" {
		p.next()
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &anode{kind: aNeg, l: x}, nil
	}
	if t.kind == tOp && t.s == "(" {
		p.next()
		x, err := p.arith(0)
		if err != nil {
			return nil, err
		}
		if !p.isOp(")") {
			return nil, p.errAt(p.peek(), "expected \")\" to close the \"(\" at column %d, got %s", t.col, p.peek())
		}
		p.next()
		return x, nil
	}
	if t.kind != tWord {
		return nil, p.errAt(t, "expected a number, len or a packet field such as ip[9], got %s", t)
	}
	if v, ok := parseNum(t.s); ok {
		p.next()
		return &anode{kind: aNum, k: v}, nil
	}
	if !t.esc {
		if t.s == "len" {
			p.next()
			return &anode{kind: aLen}, nil
		}
		if v, ok := constants[t.s]; ok {
			p.next()
			return &anode{kind: aNum, k: v}, nil
		}
		if pr, ok := protoNames[t.s]; ok && p.peekN(1).kind == tOp && p.peekN(1).s == "[" {
			p.next()
			return p.load(pr, t)
		}
	}
	return nil, p.errAt(t, "expected a number, len or a packet field such as ip[9], got %s", t)
}

// load: proto "[" arith [":" size] "]".
func (p *parser) load(pr qproto, kw token) (*anode, error) {
	open := p.next()
	idx, err := p.arith(0)
	if err != nil {
		return nil, err
	}
	size := uint16(szB)
	if p.isOp(":") {
		p.next()
		st := p.peek()
		n, err := p.number("a size (1, 2 or 4) after \":\"")
		if err != nil {
			return nil, err
		}
		switch n {
		case 1:
		case 2:
			size = szH
		case 4:
			size = szW
		default:
			return nil, p.errAt(st, "data size must be 1, 2 or 4 bytes, got %d", n)
		}
	}
	if !p.isOp("]") {
		return nil, p.errAt(p.peek(), "expected \"]\" to close the \"[\" at column %d, got %s", open.col, p.peek())
	}
	p.next()
	n := &anode{kind: aLoad, l: idx, size: size, base: p.offLinkpl}
	switch pr {
	case pLink:
		n.base = 0
	case pIP, pIP6, pARP, pRARP:
		n.post = p.protoAbbrev(pr)
	case pTCP, pUDP, pSCTP, pICMP, pIGMP:
		n.transport = true
		n.pre = p.linktype(0x0800)
		n.post = and(cmp(p.offLinkpl+9, szB, map[qproto]uint32{pTCP: 6, pUDP: 17, pSCTP: 132, pICMP: 1, pIGMP: 2}[pr]), p.ipFrag())
	case pICMP6:
		n.base = p.offLinkpl + 40
		n.post = and(p.linktype(0x86dd), cmp(p.offLinkpl+6, szB, 58))
	default:
		return nil, p.errAt(kw, "%s cannot be indexed", strconv.Quote(kw.s))
	}
	return n, nil
}
