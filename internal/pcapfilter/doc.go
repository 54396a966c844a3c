// Package pcapfilter compiles packet filters written in tcpdump's
// language (pcap-filter(7)) to classic BPF, in pure Go, and runs them
// with an allocation-free interpreter. It is what `softnet capture` and
// the capture taps (issue 14) filter with: the control plane compiles
// (Compile, NewProgram), a worker runs (Program.Run) on each frame a tap
// sees. The programs are for Ethernet frames (DLT_EN10MB) and are also
// valid kernel socket filters (Program.Raw, SO_ATTACH_FILTER).
//
// Hot path: Classify, Program.Never and Program.Run. They allocate
// nothing, take no lock and make no interface call; a Program is
// immutable after NewProgram and any number of workers may run it at
// once. Compile and NewProgram allocate and are for the control plane.
//
// # Pre-classification
//
// A tap's filter usually rejects what it sees ("tcp port 22" on a link
// of UDP), and a tap on each of 4,094 VLANs would run its filter on
// every packet. So NewProgram also runs the program once per frame class
// (Classify: the VLAN layout, up to two tags, TPID 0x8100, 0x88a8 or
// 0x9100 outside; the EtherType, IPv4, IPv6 or ARP; the IPv4 protocol or
// IPv6 next header among ICMP, IGMP, TCP, UDP, IPv6-Frag, GRE, ESP,
// ICMPv6, SCTP and hop-by-hop; whether an IPv4 fragment offset is 0),
// in an abstract interpreter that knows those bytes and nothing else of
// the frame (known-bit masks, both ways at undecided branches), and keeps
// a table of the classes on which no path can return other than 0.
// Program.Never(Classify(frame)) is that table's answer: when true, Run
// would reject the frame, and a worker need not run it (a few byte loads
// and a table index instead of the program). It is sound, not complete:
// false says nothing. TestNeverSound checks it over every oracle
// expression and corpus frame and over mutants of the frames that keep
// their class (every byte the class does not fix randomized, some cut
// short, any wire length); FuzzNever over random programs and frames.
//
// # Grammar
//
// As libpcap's, for the subset below; "and" ("&&") and "or" ("||") have
// the same precedence and associate to the left, "not" ("!") binds
// tighter:
//
//	expr      = term { ("and" | "or") (term | value) }
//	term      = "not" term | "(" expr ")" | primitive | arith relop arith
//	primitive = [proto] [dir] [type] value     (at least one qualifier)
//	          | proto                          tcp, udp, icmp, ip6, arp...
//	          | ["ip" | "ip6" | "ether"] "proto" value
//	          | "vlan" [ID] | "greater" N | "less" N
//	          | ["ether" | "ip" | "ip6"] ("broadcast" | "multicast")
//	proto     = ether | link | ip | ip6 | arp | rarp | tcp | udp | sctp
//	          | icmp | icmp6 | igmp
//	dir       = src | dst | src or dst | src and dst
//	type      = host | net | port | portrange
//	value     = address | number | name | "not" value | "(" value {and|or value} ")"
//	arith     = arith op arith | "-" arith | "(" arith ")" | number | len
//	          | constant | proto "[" arith [":" 1|2|4] "]"
//	op        = | ^ & << >> + - * / %   (loosest to tightest, C-like)
//	relop     = = == != < <= > >=
//
// Parentheses, "not" ("!") and unary minus nest at most MaxNesting (100)
// levels deep: the parser recurses on each, and deeper is an error at the
// column of the level too many (a hostile expression cannot overflow the
// stack of the process that compiles it).
//
// Values: IPv4 addresses (partial ones as libpcap: "host 10.1" is
// 10.1.0.0/16, "net 10" is 10.0.0.0/8, "host 10" is 0.0.0.10), networks
// as A.B.C.D/len or "A.B.C.D mask M", IPv6 addresses and prefixes, MAC
// addresses (aa:bb:cc:dd:ee:ff, aa-bb-..., aabb.ccdd.eeff), port numbers
// and common service names (ssh, domain, http, https, ...: a name known
// for TCP only means "tcp port N", as with Debian's /etc/services),
// ranges N-M, protocol numbers or escaped names (\tcp, \ip6).
// Constants: tcpflags, tcp-fin ... tcp-cwr, icmptype, icmpcode, icmp-echo
// and the other icmp-*, icmp6type, icmp6code, icmp6-echo and the other
// icmp6-*. A bare value after and/or keeps the qualifiers of the
// primitive before it: "host a or b", "tcp dst port 80 or 443",
// "host a and not b".
//
// The code is libpcap's code generation, unoptimized: IPv4 port and
// transport-header loads (port, portrange, tcp[], udp[], icmp[]) use the
// IPv4 header length (ldxb 4*([14]&0xf)) and skip non-first fragments;
// IPv6 port matches read the ports right after the fixed 40-byte header
// (extension headers are not walked), "ip6 proto N" (and tcp, udp, icmp6)
// also matches N behind a fragment header; "vlan" (0x8100, 0x88a8 or
// 0x9100) shifts every link-type and network-layer offset parsed after
// it by 4 bytes, whatever the and/or structure, as in tcpdump; a load
// beyond the captured bytes rejects the packet. Jumps beyond classic
// BPF's 255 instructions go through "ja" trampolines.
//
// # Tested against tcpdump
//
// TestOracleTcpdump compiles about 500 expressions (every primitive,
// hand-written tricky ones, 300 generated from a grammar) with Compile
// and with Debian's `tcpdump -ddd -y EN10MB` (no device, unprivileged),
// with and without libpcap's optimizer, and runs the programs on about
// 3,500 frames built with gopacket: IPv4/IPv6 TCP, UDP, ICMP, IGMP, SCTP,
// IPv4 options, first and later fragments, IPv6 hop-by-hop and fragment
// headers, VLAN-tagged and QinQ, ARP and RARP, 802.3/LLC, broadcast and
// multicast, and each truncated at 15 lengths. Verdicts must be identical
// to the unoptimized program's on every frame and to the optimized one's
// on whole frames (libpcap's optimizer drops and reorders loads, so on a
// truncated frame it can accept where its own unoptimized code rejects).
// Both programs are also run in golang.org/x/net/bpf's VM, which must
// agree with Run. TestRefusedByBoth checks that what tcpdump refuses,
// Compile refuses, with an error naming the column:
//
//	expression: column 16: expected a port number after "port", got "foo"
//
// FuzzCompile (no panic; accepted expressions validate and agree with
// x/net/bpf's VM), FuzzRun (random programs and frames: Run agrees
// with x/net/bpf's VM) and FuzzNever run in scripts/test.sh's fuzz step.
//
// # Differences from tcpdump
//
//   - Host names are not resolved (no DNS, /etc/hosts or /etc/ethers):
//     addresses only. Service names come from a built-in table, not
//     /etc/services.
//   - Refused where tcpdump accepts a filter that cannot be meant: a
//     value larger than its field ("ip proto 300", "ether proto 70000"),
//     a malformed mask ("mask 255.0") or range ("portrange 1-2-3"), and
//     "ip broadcast" (it needs the interface's netmask).
//   - tcpdump refuses a filter its optimizer proves matches nothing
//     ("expression rejects all packets"); Compile compiles it to a
//     program that rejects every packet.
//   - Not supported: link types other than Ethernet, gateway,
//     protochain, inbound/outbound, ifname/pflog fields, mpls, pppoe,
//     geneve, 802.11, decnet/atalk/iso/ipx, "llc", "ip6 broadcast".
//   - No optimizer: programs are longer than tcpdump's (e.g. "tcp port
//     80" is 22 instructions, tcpdump's 20), not slower per match in
//     practice; a program is at most 4,096 instructions.
//
// # Figures
//
// Run on this project's 2-core test machine (shared, loaded), average
// over the corpus's whole frames (BenchmarkRun): "tcp port 80" 9 ns a
// packet, "host 10.0.0.1 and not port 22" 16 ns, "vlan 100 and udp"
// 19 ns, "tcp[tcpflags] & (tcp-syn|tcp-ack) = tcp-syn" 9 ns,
// "ip6 net 2001:db8::/32 or arp" 11 ns, "not (port 53 or port 22 or port
// 80 or port 443)" 31 ns; 0 allocations (TestRunAllocs).
package pcapfilter
