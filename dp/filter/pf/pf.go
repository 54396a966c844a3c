// Package pf parses the stateful filter's rules, one rule a line, in the
// spirit of OpenBSD's pf.conf:
//
//	pass in on lan0 inet proto tcp from 10.0.0.0/8 to any port {22, 80, 8000:8080}
//	block in quick on wan0 from <bogons> to any
//	pass in inet6 proto ipv6-icmp icmp6-type echoreq
//	pass out on wan0.100 proto udp to ! 192.0.2.0/24 port 53 no state
//	block in proto tcp from any to any flags S/SA
//
// Grammar (words in order; every part but the action is optional):
//
//	pass|block [in|out] [quick] [on [!]IFACE] [inet|inet6]
//	  [proto PROTO | proto {PROTO, ...}]
//	  [all | [from HOST [port PORTS]] [to HOST [port PORTS]]]
//	  [flags F/M | flags any] [icmp-type T [code C]] [icmp6-type T [code C]]
//	  [keep state | no state]
//
//	HOST  = any | [!] ADDR | [!] ADDR/LEN | [!] <TABLE> | [!] {ADDR[/LEN], ...}
//	PORTS = N | N:M | {N, N:M, ...}    (names: ssh, http, https, domain, ntp, ...)
//	      | < N | <= N | > N | >= N | != N | N >< M | N <> M   (pf's comparisons;
//	        >< is the ports between N and M, <> those outside N:M)
//	PROTO = tcp | udp | icmp | ipv6-icmp (icmp6) | a number 0..255
//	F, M  = letters of F S R P A U E W (FIN SYN RST PSH ACK URG ECE CWR)
//
// As in pf, the last rule that matches decides, unless a matching rule is
// quick; a pass rule keeps state unless it says no state, and a TCP pass
// rule that keeps state matches only flags S/SA (a connection's first
// SYN) unless it gives other flags.
//
// Hot path: no. Parsing happens when a config is read or rules reloaded.
package pf

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Action is what a rule does with the packets it decides.
type Action uint8

const (
	Pass Action = iota
	Block
)

func (a Action) String() string {
	if a == Block {
		return "block"
	}
	return "pass"
}

// Dir is the direction a rule matches: a packet received on IFACE (in),
// or routed out of IFACE (out); both when neither is given.
type Dir uint8

const (
	Both Dir = iota
	In
	Out
)

// Protocol numbers the parser knows by name.
const (
	ProtoICMP   = 1
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoICMPv6 = 58
)

// TCP flag bits, as in the TCP header's byte 13.
const (
	FIN = 0x01
	SYN = 0x02
	RST = 0x04
	PSH = 0x08
	ACK = 0x10
	URG = 0x20
	ECE = 0x40
	CWR = 0x80
)

// PortRange is an inclusive range of ports.
type PortRange struct{ Lo, Hi uint16 }

// Host is a rule's source or destination.
type Host struct {
	Any      bool           // any (also when nothing was given)
	Not      bool           // ! before the addresses or table
	Prefixes []netip.Prefix // addresses (as /32 or /128) and prefixes
	Table    string         // <TABLE>: a named table of the config
	Ports    []PortRange    // empty: any port
}

// Rule is one parsed rule.
type Rule struct {
	Action   Action
	Dir      Dir
	Quick    bool
	Iface    string // "" for any
	IfaceNot bool
	Family   uint8   // 0 (both), 4 or 6
	Protos   []uint8 // empty: any
	Src, Dst Host
	// Flags/FlagsMask: the packet's flags under the mask must equal
	// Flags (flags S/SA: SYN set, ACK clear). FlagsMask 0: any.
	Flags, FlagsMask uint8
	ICMPType         int16 // -1: any
	ICMPCode         int16 // -1: any
	KeepState        bool
	Text             string // the rule as written (trimmed)
}

// Error is a parse error at byte Col (0-based) of the rule's text.
type Error struct {
	Col int
	Msg string
}

func (e *Error) Error() string { return fmt.Sprintf("column %d: %s", e.Col+1, e.Msg) }

type token struct {
	s   string
	col int
}

// lex splits a rule into words, with { } , ! < > as their own tokens
// (a <TABLE> is one token). '#' starts a comment.
func lex(s string) ([]token, *Error) {
	var out []token
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == '#':
			return out, nil
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case c == '<' && tableTok(s[i:]) > 0:
			// <TABLE> (before the operators: a name may start with a
			// digit, <6to4>).
			j := tableTok(s[i:])
			out = append(out, token{s[i : i+j], i})
			i += j
		case portOp(s[i:]) != "":
			// pf's port operators: != < <= > >= >< <> (a <TABLE> starts
			// with a letter after its <).
			op := portOp(s[i:])
			out = append(out, token{op, i})
			i += len(op)
		case c == '{' || c == '}' || c == ',' || c == '!' || c == '>':
			out = append(out, token{s[i : i+1], i})
			i++
		case c == '<':
			j := strings.IndexByte(s[i:], '>')
			if j < 0 {
				return nil, &Error{i, "a table name opened with < has no closing > (write <name>)"}
			}
			out = append(out, token{s[i : i+j+1], i})
			i += j + 1
		case c == '"':
			return nil, &Error{i, "quoted strings are not part of this rule language"}
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\r\n{},!<>#", rune(s[j])) {
				j++
			}
			out = append(out, token{s[i:j], i})
			i = j
		}
	}
	return out, nil
}

type parser struct {
	t   []token
	i   int
	end int // length of the text, for errors at the end
}

func (p *parser) peek() string {
	if p.i < len(p.t) {
		return p.t[p.i].s
	}
	return ""
}

func (p *parser) col() int {
	if p.i < len(p.t) {
		return p.t[p.i].col
	}
	return p.end
}

func (p *parser) next() token {
	if p.i < len(p.t) {
		p.i++
		return p.t[p.i-1]
	}
	return token{"", p.end}
}

func (p *parser) errf(col int, f string, a ...any) *Error {
	return &Error{col, fmt.Sprintf(f, a...)}
}

// Parse parses one rule. The error, if any, is an *Error.
func Parse(text string) (Rule, error) {
	r, err := parse(text)
	if err != nil {
		return Rule{}, err
	}
	return r, nil
}

func parse(text string) (Rule, *Error) {
	toks, err := lex(text)
	if err != nil {
		return Rule{}, err
	}
	p := &parser{t: toks, end: len(strings.TrimRight(text, " \t\r\n"))}
	r := Rule{ICMPType: -1, ICMPCode: -1, Src: Host{Any: true}, Dst: Host{Any: true}, Text: strings.TrimSpace(text)}
	switch w := p.next(); w.s {
	case "pass":
		r.Action = Pass
		r.KeepState = true
	case "block":
		r.Action = Block
	case "":
		return r, p.errf(0, "empty rule: write e.g. pass in on lan0 proto tcp to any port 22")
	default:
		return r, p.errf(w.col, "%q: a rule starts with pass or block", w.s)
	}
	if w := p.peek(); w == "in" || w == "out" {
		p.next()
		r.Dir = In
		if w == "out" {
			r.Dir = Out
		}
	}
	if p.peek() == "quick" {
		p.next()
		r.Quick = true
	}
	if p.peek() == "on" {
		p.next()
		if p.peek() == "!" {
			p.next()
			r.IfaceNot = true
		}
		w := p.next()
		if !ifaceName(w.s) {
			return r, p.errf(w.col, "on wants an interface name of the config (e.g. on lan0 or on wan0.100), got %q", w.s)
		}
		r.Iface = w.s
	}
	switch p.peek() {
	case "inet":
		p.next()
		r.Family = 4
	case "inet6":
		p.next()
		r.Family = 6
	}
	if p.peek() == "proto" {
		p.next()
		ps, err := p.list(func(t token) *Error {
			n, ok := protoNumber(t.s)
			if !ok {
				return p.errf(t.col, "%q is not a protocol: write tcp, udp, icmp, ipv6-icmp or a number 0..255", t.s)
			}
			r.Protos = append(r.Protos, n)
			return nil
		})
		if err != nil {
			return r, err
		}
		_ = ps
	}
	if p.peek() == "all" {
		p.next()
	} else {
		if p.peek() == "from" {
			p.next()
			if err := p.host(&r.Src, r.Family); err != nil {
				return r, err
			}
		}
		if p.peek() == "to" {
			p.next()
			if err := p.host(&r.Dst, r.Family); err != nil {
				return r, err
			}
		}
	}
	flagsSet := false
	for p.i < len(p.t) {
		w := p.next()
		switch w.s {
		case "flags":
			f := p.next()
			flagsSet = true
			if f.s == "any" {
				r.Flags, r.FlagsMask = 0, 0
				continue
			}
			a, b, ok := strings.Cut(f.s, "/")
			fl, ok1 := tcpFlags(a)
			ms, ok2 := tcpFlags(b)
			if !ok || !ok1 || !ok2 || a == "" || b == "" || fl&^ms != 0 {
				return r, p.errf(f.col, "flags wants F/M (letters of FSRPAUEW, the flags set within the mask), e.g. flags S/SA, or flags any; got %q", f.s)
			}
			r.Flags, r.FlagsMask = fl, ms
		case "icmp-type", "icmp6-type":
			t := p.next()
			v, ok := icmpType(t.s, w.s == "icmp6-type")
			if !ok {
				return r, p.errf(t.col, "%s wants a number 0..255 or a name (echoreq, echorep, unreach, timex%s), got %q", w.s, map[bool]string{true: ", toobig, paramprob, neighbrsol, neighbradv", false: ", squench, redir, paramprob"}[w.s == "icmp6-type"], t.s)
			}
			r.ICMPType = int16(v)
			want := uint8(ProtoICMP)
			if w.s == "icmp6-type" {
				want = ProtoICMPv6
			}
			if len(r.Protos) != 1 || r.Protos[0] != want {
				name := map[uint8]string{ProtoICMP: "icmp", ProtoICMPv6: "ipv6-icmp"}[want]
				return r, p.errf(w.col, "%s needs proto %s before it (one protocol)", w.s, name)
			}
			if p.peek() == "code" {
				p.next()
				c := p.next()
				n, err := strconv.ParseUint(c.s, 10, 8)
				if err != nil {
					return r, p.errf(c.col, "code wants a number 0..255, got %q", c.s)
				}
				r.ICMPCode = int16(n)
			}
		case "keep", "no":
			s := p.next()
			if s.s != "state" {
				return r, p.errf(s.col, "%s wants state after it (keep state, no state), got %q", w.s, s.s)
			}
			r.KeepState = w.s == "keep"
			if r.KeepState && r.Action == Block {
				return r, p.errf(w.col, "keep state on a block rule: only pass rules make states (remove it)")
			}
		case "from", "to", "port", "proto", "on", "in", "out", "quick", "inet", "inet6", "all":
			return r, p.errf(w.col, "%q is out of order: write pass|block [in|out] [quick] [on IFACE] [inet|inet6] [proto P] [from HOST [port P]] [to HOST [port P]] [flags F/M] [icmp-type T] [keep state|no state]", w.s)
		default:
			return r, p.errf(w.col, "unknown word %q%s", w.s, hint(w.s))
		}
	}
	if flagsSet && r.FlagsMask != 0 && !hasProto(r.Protos, ProtoTCP) {
		return r, p.errf(0, "flags only applies to TCP: add proto tcp (or a list with tcp)")
	}
	if (len(r.Src.Ports) > 0 || len(r.Dst.Ports) > 0) && !portProtos(r.Protos) {
		return r, p.errf(0, "ports only apply to TCP and UDP: add proto tcp or proto udp (or proto {tcp, udp})")
	}
	if r.Action == Pass && r.KeepState && !flagsSet && hasProto(r.Protos, ProtoTCP) {
		r.Flags, r.FlagsMask = SYN, SYN|ACK // pf's default: a state starts at a SYN
	}
	if r.ICMPType >= 0 && r.Family == 0 {
		if r.Protos[0] == ProtoICMP {
			r.Family = 4
		} else {
			r.Family = 6
		}
	}
	return r, nil
}

func hint(w string) string {
	switch {
	case strings.Contains(w, "/") || strings.Contains(w, "."):
		return ": an address goes after from or to (from 10.0.0.0/8)"
	case strings.Contains(w, ":"):
		return ": a port range goes after port (port 1000:2000)"
	}
	return ": known words are in out quick on inet inet6 proto from to port all flags icmp-type icmp6-type code keep no state"
}

func hasProto(ps []uint8, p uint8) bool {
	for _, x := range ps {
		if x == p {
			return true
		}
	}
	return false
}
func portProtos(ps []uint8) bool {
	if len(ps) == 0 {
		return false
	}
	for _, x := range ps {
		if x != ProtoTCP && x != ProtoUDP {
			return false
		}
	}
	return true
}

// list parses one item or a { a, b, ... } list, calling fn per item.
func (p *parser) list(fn func(token) *Error) (int, *Error) {
	if p.peek() != "{" {
		t := p.next()
		if t.s == "" || t.s == "}" || t.s == "," {
			return 0, p.errf(t.col, "missing a value here")
		}
		return 1, fn(t)
	}
	open := p.next()
	n := 0
	for {
		t := p.next()
		switch t.s {
		case "":
			return n, p.errf(open.col, "a list opened with { has no closing }")
		case "}":
			if n == 0 {
				return n, p.errf(t.col, "an empty list { }: give at least one value")
			}
			return n, nil
		case ",":
			continue
		case "{", "!":
			return n, p.errf(t.col, "%q inside a list: lists are flat values, e.g. {22, 80, 443}", t.s)
		}
		if err := fn(t); err != nil {
			return n, err
		}
		n++
	}
}

func (p *parser) host(h *Host, fam uint8) *Error {
	*h = Host{}
	switch p.peek() {
	case "any":
		p.next()
		h.Any = true
	case "port", "":
		return p.errf(p.col(), "from and to want a host first: any, an address, a prefix, <table> or {list}")
	default:
		if p.peek() == "!" {
			p.next()
			h.Not = true
		}
		if t := p.peek(); strings.HasPrefix(t, "<") && !isPortOp(t) {
			tok := p.next()
			name := t[1 : len(t)-1]
			if !ifaceName(name) {
				return p.errf(tok.col, "table name %q: letters, digits, - _ . only", name)
			}
			h.Table = name
			break
		}
		if _, err := p.list(func(t token) *Error {
			pf, err := prefix(t.s)
			if err != nil {
				return p.errf(t.col, "%v", err)
			}
			if fam == 4 && !pf.Addr().Is4() || fam == 6 && pf.Addr().Is4() {
				return p.errf(t.col, "%s is not of the rule's family (inet is IPv4, inet6 is IPv6)", t.s)
			}
			h.Prefixes = append(h.Prefixes, pf)
			return nil
		}); err != nil {
			return err
		}
	}
	if p.peek() == "port" {
		p.next()
		return p.ports(h)
	}
	return nil
}

const notPort = "%q is not a port: write a number 0..65535, a range LO:HI, a comparison (< N, <= N, > N, >= N, != N, LO >< HI, LO <> HI) or a name (ssh, http, https, domain, ntp, smtp)"

// ports parses what follows port: a port, a range, a list of them, or
// one of pf's comparisons, each made the inclusive ranges it means:
// < N, <= N, > N, >= N, != N (N a port), LO >< HI (the ports between,
// not LO nor HI) and LO <> HI (the ports outside LO..HI).
func (p *parser) ports(h *Host) *Error {
	if op := p.peek(); isPortOp(op) {
		opTok := p.next()
		t := p.next()
		n, ok := port(t.s)
		if !ok {
			return p.errf(t.col, notPort, t.s)
		}
		var rs []PortRange
		switch op {
		case "<":
			if n > 0 {
				rs = []PortRange{{0, n - 1}}
			}
		case "<=":
			rs = []PortRange{{0, n}}
		case ">":
			if n < 65535 {
				rs = []PortRange{{n + 1, 65535}}
			}
		case ">=":
			rs = []PortRange{{n, 65535}}
		case "!=":
			if n > 0 {
				rs = append(rs, PortRange{0, n - 1})
			}
			if n < 65535 {
				rs = append(rs, PortRange{n + 1, 65535})
			}
		default: // >< and <> go between two ports
			return p.errf(opTok.col, "%s goes between two ports: LO %s HI", op, op)
		}
		if len(rs) == 0 {
			return p.errf(opTok.col, "port %s %s matches no port", op, t.s)
		}
		h.Ports = append(h.Ports, rs...)
		return nil
	}
	n, err := p.list(func(t token) *Error {
		r, ok := portRange(t.s)
		if !ok {
			if isPortOp(t.s) {
				return p.errf(t.col, "%s inside a list: write the list's ports and ranges (LO:HI), or the comparison alone (port %s N)", t.s, t.s)
			}
			return p.errf(t.col, notPort, t.s)
		}
		h.Ports = append(h.Ports, r)
		return nil
	})
	if err != nil {
		return err
	}
	if op := p.peek(); (op == "><" || op == "<>") && n == 1 && len(h.Ports) == 1 && h.Ports[0].Lo == h.Ports[0].Hi {
		opTok := p.next()
		lo := h.Ports[0].Lo
		t := p.next()
		hi, ok := port(t.s)
		if !ok {
			return p.errf(t.col, notPort, t.s)
		}
		if hi < lo {
			return p.errf(opTok.col, "port %d %s %d: the second port is below the first", lo, op, hi)
		}
		var rs []PortRange
		if op == "><" {
			if hi-lo >= 2 {
				rs = []PortRange{{lo + 1, hi - 1}}
			}
		} else {
			if lo > 0 {
				rs = append(rs, PortRange{0, lo - 1})
			}
			if hi < 65535 {
				rs = append(rs, PortRange{hi + 1, 65535})
			}
		}
		if len(rs) == 0 {
			return p.errf(opTok.col, "port %d %s %d matches no port", lo, op, hi)
		}
		h.Ports = append(h.Ports[:0], rs...)
	} else if isPortOp(op) {
		return p.errf(p.col(), "%s after a port: write LO >< HI or LO <> HI between two single ports, or the comparison first (port %s N)", op, op)
	}
	return nil
}

// tableTok returns the length of the <TABLE> token s starts with (a
// name of letters, digits, - _ . between < and >), 0 if none.
func tableTok(s string) int {
	j := strings.IndexByte(s, '>')
	if j < 2 {
		return 0
	}
	for _, r := range s[1:j] {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return 0
		}
	}
	return j + 1
}

// portOp returns the port operator s starts with ("" if none): != <= >=
// >< <> always, < and > when a space or a digit follows (<name> is a
// table).
func portOp(s string) string {
	for _, op := range []string{"!=", "<=", ">=", "><", "<>"} {
		if strings.HasPrefix(s, op) {
			return op
		}
	}
	if len(s) > 0 && (s[0] == '<' || s[0] == '>') && (len(s) == 1 || s[1] == ' ' || s[1] == '\t' || s[1] >= '0' && s[1] <= '9') {
		return s[:1]
	}
	return ""
}

func isPortOp(s string) bool {
	switch s {
	case "!=", "<", "<=", ">", ">=", "><", "<>":
		return true
	}
	return false
}

func prefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil || p.Addr().Zone() != "" {
			return p, fmt.Errorf("%q is not an address prefix: write e.g. 10.0.0.0/8 or 2001:db8::/32", s)
		}
		if p.Masked() != p {
			return p, fmt.Errorf("%q has host bits set: write %s", s, p.Masked())
		}
		return p, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%q is not an address: write any, an address (192.0.2.1, 2001:db8::1), a prefix, <table> or {list}", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

var portNames = map[string]uint16{"ssh": 22, "smtp": 25, "domain": 53, "http": 80, "ntp": 123, "https": 443, "telnet": 23, "ftp": 21}

func port(s string) (uint16, bool) {
	if n, ok := portNames[s]; ok {
		return n, true
	}
	n, err := strconv.ParseUint(s, 10, 16)
	return uint16(n), err == nil
}

func portRange(s string) (PortRange, bool) {
	a, b, rng := strings.Cut(s, ":")
	lo, ok := port(a)
	if !ok {
		return PortRange{}, false
	}
	if !rng {
		return PortRange{lo, lo}, true
	}
	hi, ok := port(b)
	if !ok || hi < lo {
		return PortRange{}, false
	}
	return PortRange{lo, hi}, true
}

func protoNumber(s string) (uint8, bool) {
	switch s {
	case "tcp":
		return ProtoTCP, true
	case "udp":
		return ProtoUDP, true
	case "icmp":
		return ProtoICMP, true
	case "ipv6-icmp", "icmp6":
		return ProtoICMPv6, true
	}
	n, err := strconv.ParseUint(s, 10, 8)
	return uint8(n), err == nil
}

var icmp4Names = map[string]uint8{"echorep": 0, "unreach": 3, "squench": 4, "redir": 5, "echoreq": 8, "timex": 11, "paramprob": 12}
var icmp6Names = map[string]uint8{"unreach": 1, "toobig": 2, "timex": 3, "paramprob": 4, "echoreq": 128, "echorep": 129, "neighbrsol": 135, "neighbradv": 136, "routersol": 133, "routeradv": 134}

func icmpType(s string, v6 bool) (uint8, bool) {
	names := icmp4Names
	if v6 {
		names = icmp6Names
	}
	if n, ok := names[s]; ok {
		return n, true
	}
	n, err := strconv.ParseUint(s, 10, 8)
	return uint8(n), err == nil
}

func tcpFlags(s string) (uint8, bool) {
	var f uint8
	for _, c := range s {
		i := strings.IndexRune("FSRPAUEW", c)
		if i < 0 {
			return 0, false
		}
		f |= 1 << i
	}
	return f, true
}

// FlagString writes flags as pf does (letters of FSRPAUEW).
func FlagString(f uint8) string {
	var b strings.Builder
	for i, c := range "FSRPAUEW" {
		if f&(1<<i) != 0 {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// ifaceName reports whether s is a plausible interface or table name.
func ifaceName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	switch s {
	case "any", "all", "from", "to", "port", "proto", "in", "out", "quick", "on", "inet", "inet6", "flags", "keep", "no", "state":
		return false
	}
	return true
}
