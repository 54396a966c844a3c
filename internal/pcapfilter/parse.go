package pcapfilter

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"golang.org/x/net/bpf"
)

// Compile compiles a filter expression in tcpdump's language
// (pcap-filter(7), the subset in the package doc) to a classic BPF
// program for Ethernet frames (DLT_EN10MB). The program returns Accept
// for a packet the expression matches and 0 otherwise. An empty
// expression accepts every packet. Errors are *SyntaxError and name the
// column.
func Compile(expr string) ([]bpf.RawInstruction, error) {
	toks, err := lex(expr)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks, offLinktype: 12, offLinkpl: 14}
	var c *cond
	if p.peek().kind != tEOF {
		c, _, err = p.expr()
		if err != nil {
			return nil, err
		}
		if t := p.peek(); t.kind != tEOF {
			return nil, p.errAt(t, "expected \"and\", \"or\" or the end of the expression, got %s", t)
		}
	}
	return assemble(c)
}

// MustCompile is Compile for expressions known to be valid; it panics
// on an error.
func MustCompile(expr string) *Program {
	raw, err := Compile(expr)
	if err != nil {
		panic(err)
	}
	p, err := NewProgram(raw)
	if err != nil {
		panic(err)
	}
	return p
}

// Qualifiers (pcap-filter(7)): protocol, direction, address type.
type qproto uint8

const (
	pDefault qproto = iota
	pLink
	pIP
	pIP6
	pARP
	pRARP
	pTCP
	pUDP
	pSCTP
	pICMP
	pICMP6
	pIGMP
)

var protoNames = map[string]qproto{
	"ether": pLink, "link": pLink, "ip": pIP, "ip6": pIP6, "arp": pARP, "rarp": pRARP,
	"tcp": pTCP, "udp": pUDP, "sctp": pSCTP, "icmp": pICMP, "icmp6": pICMP6, "igmp": pIGMP,
}

var protoText = map[qproto]string{
	pLink: "ether", pIP: "ip", pIP6: "ip6", pARP: "arp", pRARP: "rarp", pTCP: "tcp",
	pUDP: "udp", pSCTP: "sctp", pICMP: "icmp", pICMP6: "icmp6", pIGMP: "igmp",
}

type qdir uint8

const (
	dDefault qdir = iota
	dSrc
	dDst
	dOr
	dAnd
)

type qaddr uint8

const (
	aDefault qaddr = iota
	aHost
	aNet
	aPort
	aPortrange
	aProto
)

type quals struct {
	proto qproto
	dir   qdir
	addr  qaddr
	ok    bool  // usable by a following bare id ("host a or b")
	kw    token // the keyword a value follows, for messages
	ptok  token // the protocol qualifier's token, for messages
}

type parser struct {
	toks                   []token
	pos                    int
	offLinktype, offLinkpl uint32
	depth                  int // scratch memory words in use
	far                    *SyntaxError
	nesting                int // open "(", "not", "!" and unary "-" (enter)
}

// MaxNesting bounds how deep parentheses, "not" ("!") and unary minus
// nest in an expression. Each level is a recursive call of the parser: a
// hostile expression of a million "(" would overflow the goroutine's stack
// (a fatal error that takes the process down, not a panic), and a few
// thousand levels cost seconds of backtracking. tcpdump users never come
// near it.
const MaxNesting = 100

// enter counts one more level of nesting at token t, refused beyond
// MaxNesting; leave undoes it (defer p.leave() after a successful enter).
func (p *parser) enter(t token) error {
	p.nesting++
	if p.nesting > MaxNesting {
		return p.errAt(t, "nested more than %d levels deep (parentheses, not, unary minus): simplify the expression", MaxNesting)
	}
	return nil
}

func (p *parser) leave() { p.nesting-- }

func (p *parser) peek() token { return p.toks[p.pos] }
func (p *parser) peekN(n int) token {
	if p.pos+n < len(p.toks) {
		return p.toks[p.pos+n]
	}
	return p.toks[len(p.toks)-1]
}
func (p *parser) next() token { t := p.toks[p.pos]; p.pos++; return t }

func (p *parser) errAt(t token, format string, args ...any) *SyntaxError {
	return &SyntaxError{Col: t.col, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) isKw(s string) bool {
	t := p.peek()
	return t.kind == tWord && !t.esc && t.s == s
}

func (p *parser) isOp(s string) bool {
	t := p.peek()
	return t.kind == tOp && t.s == s
}

func (p *parser) isAnd() bool { return p.isKw("and") || p.isOp("&&") }
func (p *parser) isOr() bool  { return p.isKw("or") || p.isOp("||") }
func (p *parser) isNot() bool { return p.isKw("not") || p.isOp("!") }

// state saves the parse position and the vlan offsets for backtracking.
type state struct {
	pos    int
	lt, lp uint32
	depth  int
}

func (p *parser) save() state { return state{p.pos, p.offLinktype, p.offLinkpl, p.depth} }
func (p *parser) restore(s state) {
	p.pos, p.offLinktype, p.offLinkpl, p.depth = s.pos, s.lt, s.lp, s.depth
}

// keep remembers the error that got furthest, the one to report when
// every alternative fails.
func (p *parser) keep(err error) *SyntaxError {
	se, _ := err.(*SyntaxError)
	if se != nil && (p.far == nil || se.Col > p.far.Col) {
		p.far = se
	}
	return se
}

// expr: term { (and|or) (term | id) }; and and or have the same
// precedence and associate to the left, as in libpcap.
func (p *parser) expr() (*cond, quals, error) {
	c, q, err := p.term()
	if err != nil {
		return nil, q, err
	}
	for p.isAnd() || p.isOr() {
		isAnd := p.isAnd()
		p.next()
		var r *cond
		var rq quals
		if q.ok && p.startsID() {
			s := p.save()
			r, err = p.id(q)
			rq = q
			if err != nil {
				// Not a value for q: maybe a primitive. If it is neither,
				// the value's error says more ("port 80 or foo").
				idErr := p.keep(err)
				p.restore(s)
				r, rq, err = p.term()
				if err != nil {
					if se, ok := err.(*SyntaxError); ok && idErr != nil && idErr.Col >= se.Col {
						return nil, rq, idErr
					}
					return nil, rq, p.furthest(err)
				}
			}
		} else {
			r, rq, err = p.term()
			if err != nil {
				return nil, rq, err
			}
		}
		if isAnd {
			c = and(c, r)
		} else {
			c = or(c, r)
		}
		q = rq
	}
	return c, q, nil
}

func (p *parser) furthest(err error) error {
	se := p.keep(err)
	if p.far != nil && (se == nil || p.far.Col > se.Col) {
		return p.far
	}
	return err
}

// startsID: a bare value (not a keyword), "not", or "(" may continue the
// previous qualifiers.
func (p *parser) startsID() bool {
	t := p.peek()
	if t.kind == tWord && !isKeyword(t) {
		if _, isConst := constants[t.s]; isConst && !t.esc {
			return false
		}
		return true
	}
	return p.isNot() || p.isOp("(")
}

// id: not id | "(" id {and|or id} ")" | value, with the qualifiers q.
func (p *parser) id(q quals) (*cond, error) {
	if p.isNot() || p.isOp("(") {
		err := p.enter(p.peek())
		defer p.leave()
		if err != nil {
			return nil, err
		}
	}
	if p.isNot() {
		p.next()
		c, err := p.id(q)
		if err != nil {
			return nil, err
		}
		return not(c), nil
	}
	if p.isOp("(") {
		p.next()
		c, err := p.id(q)
		if err != nil {
			return nil, err
		}
		for p.isAnd() || p.isOr() {
			isAnd := p.isAnd()
			p.next()
			r, err := p.id(q)
			if err != nil {
				return nil, err
			}
			if isAnd {
				c = and(c, r)
			} else {
				c = or(c, r)
			}
		}
		if !p.isOp(")") {
			return nil, p.errAt(p.peek(), "expected \")\", got %s", p.peek())
		}
		p.next()
		return c, nil
	}
	return p.value(q)
}

func (p *parser) term() (*cond, quals, error) {
	if p.isNot() {
		err := p.enter(p.peek())
		defer p.leave()
		if err != nil {
			return nil, quals{}, err
		}
		p.next()
		c, q, err := p.term()
		if err != nil {
			return nil, q, err
		}
		return not(c), q, nil
	}
	return p.rterm()
}

// startsArith: the token can begin an arithmetic expression.
func (p *parser) startsArith() bool {
	t := p.peek()
	if t.kind == tOp {
		return t.s == "(" || t.s == "-"
	}
	if t.kind != tWord {
		return false
	}
	if _, ok := parseNum(t.s); ok {
		return true
	}
	if t.esc {
		return false
	}
	if t.s == "len" {
		return true
	}
	if _, ok := constants[t.s]; ok {
		return true
	}
	if _, ok := protoNames[t.s]; ok {
		n := p.peekN(1)
		return n.kind == tOp && n.s == "["
	}
	return false
}

func (p *parser) rterm() (*cond, quals, error) {
	t := p.peek()
	if p.startsArith() {
		s := p.save()
		c, err := p.relation()
		if err == nil {
			return c, quals{}, nil
		}
		p.keep(err)
		p.restore(s)
		if !p.isOp("(") {
			return nil, quals{}, p.furthest(err)
		}
	}
	if p.isOp("(") {
		if err := p.enter(t); err != nil {
			return nil, quals{}, err
		}
		defer p.leave()
		p.next()
		c, q, err := p.expr()
		if err != nil {
			return nil, q, p.furthest(err)
		}
		if !p.isOp(")") {
			return nil, q, p.furthest(p.errAt(p.peek(), "expected \")\" to close the \"(\" at column %d, got %s", t.col, p.peek()))
		}
		p.next()
		return c, q, nil
	}
	if t.kind != tWord || t.esc {
		return nil, quals{}, p.furthest(p.errAt(t, "expected a primitive (such as host, net, port, tcp, ip, vlan) or \"(\", got %s", t))
	}
	switch t.s {
	case "greater", "less":
		p.next()
		n, err := p.number("a length after \"" + t.s + "\"")
		if err != nil {
			return nil, quals{}, err
		}
		l := []insn{{op: clsLD | szW | mLEN}}
		if t.s == "greater" {
			return test(l, clsJMP|jmpJGE, n), quals{}, nil
		}
		return not(test(l, clsJMP|jmpJGT, n)), quals{}, nil
	case "vlan":
		p.next()
		c := or(or(cmp(p.offLinktype, szH, 0x8100), cmp(p.offLinktype, szH, 0x88a8)), cmp(p.offLinktype, szH, 0x9100))
		if nt := p.peek(); nt.kind == tWord {
			if v, ok := parseNum(nt.s); ok {
				p.next()
				if v > 4095 {
					return nil, quals{}, p.errAt(nt, "VLAN ID %d is greater than the maximum, 4095", v)
				}
				c = and(c, mcmp(p.offLinkpl, szH, v, 0x0fff))
			}
		}
		p.offLinktype += 4
		p.offLinkpl += 4
		return c, quals{}, nil
	case "broadcast", "multicast":
		p.next()
		return p.castPrim(pDefault, t)
	}
	return p.headID()
}

func (p *parser) castPrim(pr qproto, t token) (*cond, quals, error) {
	switch {
	case t.s == "broadcast" && (pr == pDefault || pr == pLink):
		return ehost(0, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}), quals{}, nil
	case t.s == "multicast" && (pr == pDefault || pr == pLink):
		return test([]insn{ld(szB, 0)}, clsJMP|jmpJSET, 1), quals{}, nil
	case t.s == "multicast" && pr == pIP:
		return and(p.linktype(0x0800), test([]insn{ld(szB, p.offLinkpl+16)}, clsJMP|jmpJGE, 224)), quals{}, nil
	case t.s == "multicast" && pr == pIP6:
		return and(p.linktype(0x86dd), cmp(p.offLinkpl+24, szB, 255)), quals{}, nil
	case t.s == "broadcast" && pr == pIP:
		return nil, quals{}, p.errAt(t, "\"ip broadcast\" needs the interface's netmask, which a compiled filter does not know: write \"ip dst host A.B.C.255\" instead")
	}
	return nil, quals{}, p.errAt(t, "%q does not apply to %q", t.s, protoText[pr])
}

// headID: [proto] [dir] [addrtype] id, [proto] proto N, or a protocol
// name alone.
func (p *parser) headID() (*cond, quals, error) {
	q := quals{kw: p.peek()}
	t := p.peek()
	hasProto := false
	if pr, ok := protoNames[t.s]; ok && !t.esc {
		q.proto = pr
		q.ptok = t
		hasProto = true
		p.next()
	}
	nt := p.peek()
	isWord := nt.kind == tWord && !nt.esc
	switch {
	case hasProto && isWord && (nt.s == "broadcast" || nt.s == "multicast"):
		p.next()
		return p.castPrim(q.proto, nt)
	case hasProto && isWord && nt.s == "proto":
		p.next()
		q.addr, q.ok = aProto, true
		c, err := p.id(q)
		return c, q, err
	}
	hasDir := false
	if isWord && (nt.s == "src" || nt.s == "dst") {
		p.next()
		hasDir = true
		q.dir = dSrc
		if nt.s == "dst" {
			q.dir = dDst
		}
		// "src or dst", "src and dst"
		if (p.isKw("or") || p.isKw("and")) && p.peekN(1).kind == tWord && !p.peekN(1).esc &&
			(p.peekN(1).s == "src" || p.peekN(1).s == "dst") && p.peekN(1).s != nt.s {
			if p.isKw("or") {
				q.dir = dOr
			} else {
				q.dir = dAnd
			}
			p.next()
			p.next()
		}
	}
	hasAddr := false
	at := p.peek()
	if at.kind == tWord && !at.esc {
		switch at.s {
		case "host":
			q.addr = aHost
		case "net":
			q.addr = aNet
		case "port":
			q.addr = aPort
		case "portrange":
			q.addr = aPortrange
		case "proto":
			if !hasProto {
				q.addr = aProto
			}
		}
		if q.addr != aDefault {
			hasAddr = true
			p.next()
		}
	}
	if !hasProto && !hasDir && !hasAddr {
		return nil, q, p.errAt(t, "expected a primitive (such as host, net, port, tcp, ip, vlan) or \"(\", got %s", t)
	}
	if hasProto && !hasDir && !hasAddr {
		// A protocol name alone: "tcp", "ip6".
		return p.protoAbbrev(q.proto), quals{}, nil
	}
	q.ok = true
	if q.kw = t; hasAddr {
		q.kw = at
	}
	c, err := p.id(q)
	return c, q, err
}

func (p *parser) linktype(v uint32) *cond {
	if v <= 1500 {
		c := not(test([]insn{ld(szH, p.offLinktype)}, clsJMP|jmpJGT, 1500))
		switch v {
		case 0x06, 0xf0, 0xfe: // IP, NetBEUI, ISO: DSAP and SSAP
			return and(c, cmp(p.offLinkpl, szH, v<<8|v))
		}
		return and(c, cmp(p.offLinkpl, szB, v))
	}
	return cmp(p.offLinktype, szH, v)
}

func (p *parser) ipProto(v uint32) *cond { return and(p.linktype(0x0800), cmp(p.offLinkpl+9, szB, v)) }

func (p *parser) ip6Proto(v uint32) *cond {
	nh := p.offLinkpl + 6
	return and(p.linktype(0x86dd), or(cmp(nh, szB, v), and(cmp(nh, szB, 44), cmp(p.offLinkpl+40, szB, v))))
}

func (p *parser) protoAbbrev(pr qproto) *cond {
	switch pr {
	case pLink:
		return &cond{kind: cTrue}
	case pIP:
		return p.linktype(0x0800)
	case pIP6:
		return p.linktype(0x86dd)
	case pARP:
		return p.linktype(0x0806)
	case pRARP:
		return p.linktype(0x8035)
	case pTCP:
		return or(p.ipProto(6), p.ip6Proto(6))
	case pUDP:
		return or(p.ipProto(17), p.ip6Proto(17))
	case pSCTP:
		return or(p.ipProto(132), p.ip6Proto(132))
	case pICMP:
		return p.ipProto(1)
	case pIGMP:
		return p.ipProto(2)
	case pICMP6:
		return p.ip6Proto(58)
	}
	return nil
}

func (p *parser) number(what string) (uint32, error) {
	t := p.peek()
	if t.kind == tWord {
		if v, ok := parseNum(t.s); ok {
			p.next()
			return v, nil
		}
	}
	return 0, p.errAt(t, "expected %s, got %s", what, t)
}

// ipFrag is true for a first (or only) fragment: ip[6:2] & 0x1fff = 0.
func (p *parser) ipFrag() *cond {
	return not(test([]insn{ld(szH, p.offLinkpl+6)}, clsJMP|jmpJSET, 0x1fff))
}

// value compiles one value (address, port, number) under qualifiers q.
func (p *parser) value(q quals) (*cond, error) {
	t := p.peek()
	if t.kind != tWord {
		return nil, p.errAt(t, "expected a value after %q, got %s", q.kw.s, t)
	}
	if isKeyword(t) {
		return nil, p.errAt(t, "expected a value after %q, got the keyword %s", q.kw.s, t)
	}
	p.next()
	switch q.addr {
	case aPort:
		return p.port(q, t)
	case aPortrange:
		return p.portrange(q, t)
	case aProto:
		return p.protoValue(q, t)
	}
	// host, net, or a bare address: what it looks like decides.
	if mac, ok := parseMAC(t.s); ok {
		if q.addr == aNet {
			return nil, p.errAt(t, "%q is a MAC address: \"net\" takes an IP network such as 10.0.0.0/8", t.s)
		}
		if q.proto != pDefault && q.proto != pLink {
			return nil, p.errAt(t, "%q is a MAC address: write \"ether host %s\"", t.s, t.s)
		}
		return p.dirOp(q.dir, func(dst bool) *cond {
			if dst {
				return ehost(0, mac)
			}
			return ehost(6, mac)
		}), nil
	}
	if strings.Contains(t.s, ":") {
		a, err := netip.ParseAddr(t.s)
		if err != nil || !a.Is6() || a.Zone() != "" {
			return nil, p.errAt(t, "%q is neither a MAC address nor an IPv6 address", t.s)
		}
		bits := 128
		if p.isOp("/") {
			p.next()
			nt := p.peek()
			n, err := p.number("a prefix length after \"/\"")
			if err != nil {
				return nil, err
			}
			if n > 128 {
				return nil, p.errAt(nt, "IPv6 prefix length %d is more than 128", n)
			}
			bits = int(n)
			if pf := netip.PrefixFrom(a, bits); pf.Masked().Addr() != a {
				return nil, p.errAt(t, "non-network bits set in \"%s/%d\": write %s", t.s, bits, pf.Masked())
			}
		}
		if q.proto != pDefault && q.proto != pIP6 {
			return nil, p.errAt(q.ptok, "%q cannot qualify the IPv6 address %q", protoText[q.proto], t.s)
		}
		return p.host6(a.As16(), bits, q.dir), nil
	}
	if n, ok := parseNum(t.s); ok && !strings.Contains(t.s, ".") {
		// A plain number: "host 10" is 0.0.0.10; "net 10" is
		// 10.0.0.0/8 (shifted up to its first non-zero byte), as libpcap.
		mask := uint32(0xffffffff)
		if q.addr == aNet {
			for n != 0 && n&0xff000000 == 0 {
				n <<= 8
				mask <<= 8
			}
		}
		if p.isOp("/") || p.isKw("mask") {
			return nil, p.errAt(p.peek(), "a prefix length or mask needs a dotted network, as in \"net 10.0.0.0/8\"")
		}
		return p.host(n, mask, q)
	}
	v, parts, ok := parseIPv4(t.s)
	if !ok {
		if strings.ContainsAny(t.s, "0123456789") && t.s[0] >= '0' && t.s[0] <= '9' {
			return nil, p.errAt(t, "%q is not an IPv4 address", t.s)
		}
		return nil, p.errAt(t, "%q is not an address: host names are not resolved, write an IPv4, IPv6 or MAC address", t.s)
	}
	var mask uint32
	switch {
	case p.isOp("/"):
		if q.addr != aNet && q.addr != aDefault {
			return nil, p.errAt(p.peek(), "a prefix length (\"/\") needs \"net\", as in \"net %s/N\"", t.s)
		}
		p.next()
		nt := p.peek()
		n, err := p.number("a prefix length after \"/\"")
		if err != nil {
			return nil, err
		}
		if n > 32 {
			return nil, p.errAt(nt, "IPv4 prefix length %d is more than 32", n)
		}
		v <<= 32 - 8*uint32(parts) // "10/8" is 10.0.0.0/8
		mask = 0
		if n > 0 {
			mask = 0xffffffff << (32 - n)
		}
	case p.isKw("mask"):
		mt := p.next()
		if q.addr != aNet {
			return nil, p.errAt(mt, "\"mask\" needs \"net\", as in \"net %s mask 255.255.255.0\"", t.s)
		}
		m := p.peek()
		mv, mparts, ok := parseIPv4(m.s)
		if m.kind != tWord || !ok || mparts != 4 {
			return nil, p.errAt(m, "expected a dotted IPv4 netmask after \"mask\", got %s", m)
		}
		p.next()
		v <<= 32 - 8*uint32(parts)
		mask = mv
	case q.addr == aNet:
		v <<= 32 - 8*uint32(parts)
		mask = 0xffffffff << (32 - 8*uint32(parts))
		if parts == 4 {
			mask = 0xffffffff
		}
	default: // host: a partial address is promoted, as libpcap does
		mask = 0xffffffff << (32 - 8*uint32(parts))
		v <<= 32 - 8*uint32(parts)
		if parts == 4 {
			mask = 0xffffffff
		}
	}
	if v&^mask != 0 {
		return nil, p.errAt(t, "non-network bits set in %q: the address has bits outside the mask", t.s)
	}
	return p.host(v, mask, q)
}

func (p *parser) dirOp(d qdir, f func(dst bool) *cond) *cond {
	switch d {
	case dSrc:
		return f(false)
	case dDst:
		return f(true)
	case dAnd:
		return and(f(false), f(true))
	}
	return or(f(false), f(true))
}

// ehost compares 6 bytes at off with mac: the last 4 first, as libpcap.
func ehost(off uint32, mac []byte) *cond {
	w := uint32(mac[2])<<24 | uint32(mac[3])<<16 | uint32(mac[4])<<8 | uint32(mac[5])
	h := uint32(mac[0])<<8 | uint32(mac[1])
	return and(cmp(off+2, szW, w), cmp(off, szH, h))
}

func (p *parser) host(v, mask uint32, q quals) (*cond, error) {
	hostop := func(lt, srcOff, dstOff uint32) *cond {
		return and(p.linktype(lt), p.dirOp(q.dir, func(dst bool) *cond {
			if dst {
				return mcmp(p.offLinkpl+dstOff, szW, v, mask)
			}
			return mcmp(p.offLinkpl+srcOff, szW, v, mask)
		}))
	}
	switch q.proto {
	case pDefault:
		return or(or(hostop(0x0800, 12, 16), hostop(0x0806, 14, 24)), hostop(0x8035, 14, 24)), nil
	case pIP:
		return hostop(0x0800, 12, 16), nil
	case pARP:
		return hostop(0x0806, 14, 24), nil
	case pRARP:
		return hostop(0x8035, 14, 24), nil
	}
	return nil, p.errAt(q.ptok, "%q cannot qualify an IPv4 host or net: use ip, arp or rarp", protoText[q.proto])
}

func (p *parser) host6(a [16]byte, bits int, d qdir) *cond {
	op := func(off uint32) *cond {
		var c *cond
		// All four words, the first first, those the prefix does not
		// cover masked with 0: the loads happen as in libpcap's code (a
		// truncated address rejects the packet).
		for w := 0; w < 4; w++ {
			n := bits - 32*w
			mask := uint32(0xffffffff)
			switch {
			case n <= 0:
				mask = 0
			case n < 32:
				mask <<= 32 - n
			}
			v := uint32(a[4*w])<<24 | uint32(a[4*w+1])<<16 | uint32(a[4*w+2])<<8 | uint32(a[4*w+3])
			m := mcmp(off+uint32(4*w), szW, v, mask)
			if c == nil {
				c = m
			} else {
				c = and(c, m)
			}
		}
		return c
	}
	return and(p.linktype(0x86dd), p.dirOp(d, func(dst bool) *cond {
		if dst {
			return op(p.offLinkpl + 24)
		}
		return op(p.offLinkpl + 8)
	}))
}

// portNum parses a port number or service name; a name known for one
// transport only narrows q to it, as libpcap does.
func (p *parser) portNum(q *quals, t token) (uint32, error) {
	if v, ok := parseNum(t.s); ok {
		if v > 65535 {
			return 0, p.errAt(t, "port %d is greater than 65535", v)
		}
		return v, nil
	}
	if s, ok := services[t.s]; ok {
		switch {
		case s.tcp && s.udp:
		case s.tcp && (q.proto == pDefault || q.proto == pTCP):
			q.proto = pTCP
		case s.udp && (q.proto == pDefault || q.proto == pUDP):
			q.proto = pUDP
		default:
			return 0, p.errAt(t, "port %q is not a %s port: see /etc/services", t.s, protoText[q.proto])
		}
		return s.port, nil
	}
	return 0, p.errAt(t, "expected a port number after %q, got %q", q.kw.s, t.s)
}

func (p *parser) portProtos(q quals) ([]uint32, error) {
	switch q.proto {
	case pDefault:
		return []uint32{6, 17, 132}, nil
	case pTCP:
		return []uint32{6}, nil
	case pUDP:
		return []uint32{17}, nil
	case pSCTP:
		return []uint32{132}, nil
	}
	return nil, p.errAt(q.ptok, "%q cannot qualify a port: use tcp, udp or sctp", protoText[q.proto])
}

// ports builds the IPv4 and IPv6 port tests; atom tests the 16-bit
// field at a transport-header offset (0 source, 2 destination).
func (p *parser) ports(q quals, atom4, atom6 func(off uint32) *cond) (*cond, error) {
	protos, err := p.portProtos(q)
	if err != nil {
		return nil, err
	}
	var c4, c6 *cond
	for _, pr := range protos {
		o4 := and(and(cmp(p.offLinkpl+9, szB, pr), p.ipFrag()), p.dirOp(q.dir, func(dst bool) *cond {
			if dst {
				return atom4(2)
			}
			return atom4(0)
		}))
		o6 := and(cmp(p.offLinkpl+6, szB, pr), p.dirOp(q.dir, func(dst bool) *cond {
			if dst {
				return atom6(2)
			}
			return atom6(0)
		}))
		if c4 == nil {
			c4, c6 = o4, o6
		} else {
			c4, c6 = or(c4, o4), or(c6, o6)
		}
	}
	return or(and(p.linktype(0x0800), c4), and(p.linktype(0x86dd), c6)), nil
}

func (p *parser) port(q quals, t token) (*cond, error) {
	if _, err := p.portProtos(q); err != nil {
		return nil, err
	}
	v, err := p.portNum(&q, t)
	if err != nil {
		return nil, err
	}
	lp := p.offLinkpl
	return p.ports(q, func(off uint32) *cond {
		return test([]insn{{op: clsLDX | szB | mMSH, k: lp}, {op: clsLD | szH | mIND, k: lp + off}}, clsJMP|jmpJEQ, v)
	}, func(off uint32) *cond {
		return cmp(lp+40+off, szH, v)
	})
}

func (p *parser) portrange(q quals, t token) (*cond, error) {
	if _, err := p.portProtos(q); err != nil {
		return nil, err
	}
	lo, hi, ok := strings.Cut(t.s, "-")
	if !ok {
		hi = lo // "portrange 80" is 80-80, as in tcpdump
	}
	if strings.Contains(hi, "-") {
		return nil, p.errAt(t, "expected a port range such as 1024-2047 after %q, got %q", q.kw.s, t.s)
	}
	l, err := p.portNum(&q, token{s: lo, col: t.col})
	if err != nil {
		return nil, err
	}
	h, err := p.portNum(&q, token{s: hi, col: t.col + len(lo) + 1})
	if err != nil {
		return nil, err
	}
	if l > h {
		l, h = h, l
	}
	lp := p.offLinkpl
	rng := func(load []insn) *cond {
		return and(test(load, clsJMP|jmpJGE, l), not(test(load, clsJMP|jmpJGT, h)))
	}
	return p.ports(q, func(off uint32) *cond {
		return rng([]insn{{op: clsLDX | szB | mMSH, k: lp}, {op: clsLD | szH | mIND, k: lp + off}})
	}, func(off uint32) *cond {
		return rng([]insn{ld(szH, lp+40+off)})
	})
}

func (p *parser) protoValue(q quals, t token) (*cond, error) {
	names := ipProtos
	if q.proto == pLink {
		names = etherProtos
	}
	v, ok := parseNum(t.s)
	if !ok {
		if v, ok = names[t.s]; !ok {
			return nil, p.errAt(t, "expected a protocol number or name after \"proto\", got %q", t.s)
		}
	}
	switch q.proto {
	case pDefault:
		if v > 255 {
			return nil, p.errAt(t, "IP protocol %d is greater than 255", v)
		}
		return or(p.ipProto(v), p.ip6Proto(v)), nil
	case pIP:
		if v > 255 {
			return nil, p.errAt(t, "IP protocol %d is greater than 255", v)
		}
		return p.ipProto(v), nil
	case pIP6:
		if v > 255 {
			return nil, p.errAt(t, "IP protocol %d is greater than 255", v)
		}
		return p.ip6Proto(v), nil
	case pLink:
		if v > 65535 {
			return nil, p.errAt(t, "ether proto %d is greater than 65535", v)
		}
		return p.linktype(v), nil
	}
	return nil, p.errAt(q.ptok, "\"proto\" does not apply to %q: use ip, ip6 or ether", protoText[q.proto])
}

// parseMAC accepts aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff and
// aabb.ccdd.eeff.
func parseMAC(s string) ([]byte, bool) {
	var hex string
	switch {
	case strings.Count(s, ":") == 5:
		parts := strings.Split(s, ":")
		for _, x := range parts {
			if len(x) == 0 || len(x) > 2 {
				return nil, false
			}
			hex += strings.Repeat("0", 2-len(x)) + x
		}
	case strings.Count(s, "-") == 5 && len(s) == 17:
		hex = strings.ReplaceAll(s, "-", "")
	case strings.Count(s, ".") == 2 && len(s) == 14:
		hex = strings.ReplaceAll(s, ".", "")
	default:
		return nil, false
	}
	if len(hex) != 12 {
		return nil, false
	}
	mac := make([]byte, 6)
	for i := range mac {
		b, err := strconv.ParseUint(hex[2*i:2*i+2], 16, 8)
		if err != nil {
			return nil, false
		}
		mac[i] = byte(b)
	}
	return mac, true
}

// parseIPv4 parses 1 to 4 dotted parts (each 0-255, decimal); v holds
// the parts right-aligned ("10.1" is 0x0a01 with parts 2).
func parseIPv4(s string) (v uint32, parts int, ok bool) {
	for _, f := range strings.Split(s, ".") {
		n, err := strconv.ParseUint(f, 10, 8)
		if err != nil || f == "" {
			return 0, 0, false
		}
		v = v<<8 | uint32(n)
		parts++
	}
	if parts > 4 {
		return 0, 0, false
	}
	return v, parts, true
}
