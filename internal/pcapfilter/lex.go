package pcapfilter

import (
	"fmt"
	"strconv"
)

// SyntaxError is an expression the compiler refuses: Col is the 1-based
// column (in bytes) of the offending token.
type SyntaxError struct {
	Col int
	Msg string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("expression: column %d: %s", e.Col, e.Msg)
}

type tokKind int

const (
	tEOF  tokKind = iota
	tWord         // identifier, keyword, address, number (text in s)
	tOp           // punctuation and operators (text in s)
)

type token struct {
	kind tokKind
	s    string
	col  int  // 1-based
	esc  bool // written with a backslash: never a keyword
}

func (t token) String() string {
	if t.kind == tEOF {
		return "the end of the expression"
	}
	return strconv.Quote(t.s)
}

func isWordByte(c byte, inBracket bool) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	case c == '.' || c == '_' || c == '-':
		return true
	case c == ':':
		return !inBracket
	}
	return false
}

// lex splits an expression into tokens, as libpcap's scanner does for the
// subset supported: words (keywords, names, numbers, addresses; '-', '.'
// and, outside brackets, ':' continue a word), and operators.
func lex(s string) ([]token, error) {
	var toks []token
	depth := 0
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
			continue
		case c == '\\':
			j := i + 1
			for j < len(s) && isWordByte(s[j], depth > 0) {
				j++
			}
			if j == i+1 {
				return nil, &SyntaxError{i + 1, "a backslash must be followed by a name, as in \\tcp"}
			}
			toks = append(toks, token{tWord, s[i+1 : j], i + 1, true})
			i = j
			continue
		case isWordByte(c, depth > 0) && c != '-' && c != '.':
			j := i
			for j < len(s) && isWordByte(s[j], depth > 0) {
				j++
			}
			// A word does not end with '-' (as in "len-" before a number
			// written apart): leave it to be an operator.
			for j > i+1 && s[j-1] == '-' {
				j--
			}
			toks = append(toks, token{tWord, s[i:j], i + 1, false})
			i = j
			continue
		}
		two := ""
		if i+1 < len(s) {
			two = s[i : i+2]
		}
		switch two {
		case "&&", "||", "==", "!=", "<=", ">=", "<<", ">>":
			toks = append(toks, token{tOp, two, i + 1, false})
			i += 2
			continue
		}
		switch c {
		case '(', ')', '!', '&', '|', '=', '<', '>', '+', '-', '*', '/', '%', '^', ':':
			toks = append(toks, token{tOp, string(c), i + 1, false})
		case '[':
			depth++
			toks = append(toks, token{tOp, "[", i + 1, false})
		case ']':
			if depth > 0 {
				depth--
			}
			toks = append(toks, token{tOp, "]", i + 1, false})
		default:
			return nil, &SyntaxError{i + 1, fmt.Sprintf("unexpected character %q", c)}
		}
		i++
	}
	toks = append(toks, token{kind: tEOF, col: len(s) + 1})
	return toks, nil
}

// parseNum parses a number as libpcap does: decimal, 0x hexadecimal, or
// octal with a leading 0.
func parseNum(s string) (uint32, bool) {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 0, false
	}
	base := 10
	t := s
	if len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X") {
		base, t = 16, s[2:]
	} else if len(s) > 1 && s[0] == '0' {
		base, t = 8, s[1:]
	}
	v, err := strconv.ParseUint(t, base, 32)
	if err != nil {
		return 0, false
	}
	return uint32(v), true
}

// keywords are the words the parser gives a meaning; written with a
// backslash they are names.
var keywords = map[string]bool{
	"host": true, "net": true, "mask": true, "port": true, "portrange": true,
	"src": true, "dst": true, "ether": true, "link": true, "ip": true, "ip6": true,
	"arp": true, "rarp": true, "tcp": true, "udp": true, "icmp": true, "icmp6": true,
	"igmp": true, "sctp": true, "vlan": true, "proto": true, "greater": true,
	"less": true, "len": true, "and": true, "or": true, "not": true,
	"broadcast": true, "multicast": true, "gateway": true, "protochain": true,
	"inbound": true, "outbound": true, "mpls": true, "pppoed": true, "pppoes": true,
	"geneve": true, "ifname": true, "on": true, "rnr": true, "rulenum": true,
	"reason": true, "rset": true, "srnr": true, "subrulenum": true, "action": true,
	"fddi": true, "tr": true, "wlan": true, "decnet": true, "atalk": true, "aarp": true,
	"ipx": true, "iso": true, "esis": true, "isis": true, "clnp": true, "stp": true,
	"netbeui": true, "lat": true, "mopdl": true, "moprc": true, "sca": true, "igrp": true,
	"pim": true, "vrrp": true, "carp": true, "ah": true, "esp": true, "radio": true,
	"type": true, "subtype": true, "dir": true, "ra": true, "ta": true, "addr1": true,
	"addr2": true, "addr3": true, "addr4": true, "llc": true, "index": true,
	"iso8473": true, "bcast": true, "mcast": true,
}

// constants are libpcap's named values usable in arithmetic.
var constants = map[string]uint32{
	"icmptype": 0, "icmpcode": 1,
	"icmp-echoreply": 0, "icmp-unreach": 3, "icmp-sourcequench": 4, "icmp-redirect": 5,
	"icmp-echo": 8, "icmp-routeradvert": 9, "icmp-routersolicit": 10, "icmp-timxceed": 11,
	"icmp-paramprob": 12, "icmp-tstamp": 13, "icmp-tstampreply": 14, "icmp-ireq": 15,
	"icmp-ireqreply": 16, "icmp-maskreq": 17, "icmp-maskreply": 18,
	"icmp6type": 0, "icmp6code": 1,
	"icmp6-destinationunreach": 1, "icmp6-packettoobig": 2, "icmp6-timeexceeded": 3,
	"icmp6-parameterproblem": 4, "icmp6-echo": 128, "icmp6-echoreply": 129,
	"icmp6-multicastlistenerquery": 130, "icmp6-multicastlistenerreportv1": 131,
	"icmp6-multicastlistenerdone": 132, "icmp6-routersolicit": 133,
	"icmp6-routeradvert": 134, "icmp6-neighborsolicit": 135, "icmp6-neighboradvert": 136,
	"icmp6-redirect": 137,
	"tcpflags":       13, "tcp-fin": 0x01, "tcp-syn": 0x02, "tcp-rst": 0x04, "tcp-push": 0x08,
	"tcp-ack": 0x10, "tcp-urg": 0x20, "tcp-ece": 0x40, "tcp-cwr": 0x80,
}

// services are the port names accepted, with the transports Debian's
// /etc/services lists them for (libpcap reads /etc/services): a name
// known for TCP only means "tcp port N", as in tcpdump.
var services = map[string]service{
	"ftp-data": {20, true, false}, "ftp": {21, true, false}, "ssh": {22, true, false},
	"telnet": {23, true, false}, "smtp": {25, true, false}, "domain": {53, true, true},
	"http": {80, true, false}, "www": {80, true, false}, "kerberos": {88, true, true},
	"pop3": {110, true, false}, "ntp": {123, false, true}, "imap": {143, true, false},
	"snmp": {161, true, true}, "snmp-trap": {162, true, true}, "bgp": {179, true, false},
	"ldap": {389, true, true}, "https": {443, true, true}, "ldaps": {636, true, true},
	"imaps": {993, true, false}, "pop3s": {995, true, false}, "openvpn": {1194, true, true},
	"radius": {1812, true, true}, "nfs": {2049, true, true}, "mysql": {3306, true, false},
	"postgresql": {5432, true, false},
}

type service struct {
	port     uint32
	tcp, udp bool
}

// ipProtos are the protocol names accepted after "proto" (escaped).
var ipProtos = map[string]uint32{
	"icmp": 1, "igmp": 2, "tcp": 6, "udp": 17, "ipv6": 41, "gre": 47, "esp": 50,
	"ah": 51, "icmp6": 58, "ipv6-icmp": 58, "ospf": 89, "pim": 103, "vrrp": 112,
	"sctp": 132,
}

// etherProtos are the names accepted after "ether proto" (escaped).
var etherProtos = map[string]uint32{
	"ip": 0x0800, "ip6": 0x86dd, "arp": 0x0806, "rarp": 0x8035,
}

func isKeyword(t token) bool { return t.kind == tWord && !t.esc && keywords[t.s] }
