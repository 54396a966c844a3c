package pcapfilter

import (
	"fmt"
	"math/rand"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/softnet/softnet/internal/testenv"
	"golang.org/x/net/bpf"
)

// tcpdumpProgram compiles expr with tcpdump -ddd -y EN10MB (no device,
// no privileges), with libpcap's optimizer or without it (-O); refused is tcpdump's error text when it refuses expr.
func tcpdumpProgram(t *testing.T, expr string, optimize bool) (prog []bpf.RawInstruction, refused string) {
	t.Helper()
	args := []string{"-ddd", "-y", "EN10MB"}
	if !optimize {
		args = append(args, "-O")
	}
	out, err := exec.Command("tcpdump", append(args, "--", expr)...).CombinedOutput()
	if err != nil {
		return nil, strings.TrimSpace(string(out))
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	n, err := strconv.Atoi(lines[0])
	if err != nil || n != len(lines)-1 {
		t.Errorf("tcpdump -ddd %q: unexpected output %q", expr, out)
		return nil, "unparsable output"
	}
	for _, l := range lines[1:] {
		var op, jt, jf, k uint64
		if _, err := fmt.Sscanf(l, "%d %d %d %d", &op, &jt, &jf, &k); err != nil {
			t.Errorf("tcpdump -ddd %q: line %q: %v", expr, l, err)
			return nil, "unparsable output"
		}
		prog = append(prog, bpf.RawInstruction{Op: uint16(op), Jt: uint8(jt), Jf: uint8(jf), K: uint32(k)})
	}
	return prog, ""
}

// atoms are the primitives the generated expressions combine.
var atoms = []string{
	"host 10.0.0.1", "src host 10.0.0.2", "dst host 192.168.1.10", "ip host 172.16.5.4",
	"ip src 10.0.0.1", "ip dst 10.0.0.2", "arp host 10.0.0.2", "rarp host 10.0.0.1",
	"src or dst host 10.0.0.1", "src and dst host 10.0.0.1", "host 10.0.0", "host 10", "arp src 10.0.0.1",
	"host 2001:db8::1", "ip6 host 2001:db8::2", "src host fe80::1", "dst host ff02::1",
	"net 2001:db8::/32", "dst net 2001:db8:1::/48", "ip6 net fe80::/10", "ip6 src net 2001:db8::/64",
	"net 10.0.0.0/8", "net 192.168.1.0/24", "net 10.0.0.0 mask 255.255.255.0", "dst net 172.16",
	"src net 10", "net 224.0.0.0/4", "arp net 10.0.0.0/24", "net 10/8",
	"port 80", "port 53", "tcp port 443", "udp port 53", "src port 22", "dst port 8080",
	"tcp dst port 80", "udp src port 1024", "sctp port 22", "tcp src or dst port 443",
	"tcp src and dst port 22", "port http", "tcp port ssh",
	"portrange 20-100", "tcp portrange 1000-9000", "udp src portrange 50-60", "dst portrange 440-8080",
	"portrange 100-20",
	"ether host 02:00:00:00:00:01", "ether src 02:00:00:00:00:02", "ether dst ff:ff:ff:ff:ff:ff",
	"ether src or dst 01:00:5e:00:00:01", "ether host 02-00-00-00-00-02", "ether dst 0200.0000.0001",
	"ether broadcast", "ether multicast", "broadcast", "multicast", "ip multicast", "ip6 multicast",
	"ether proto 0x800", "ether proto \\ip6", "ether proto \\arp", "ether proto 100", "ether proto 0x8035",
	"ether proto \\ip", "ether proto 6",
	"ip", "ip6", "arp", "rarp", "tcp", "udp", "icmp", "icmp6", "igmp", "sctp",
	"vlan", "vlan 100", "vlan 200", "vlan 7",
	"proto 6", "ip proto 17", "ip6 proto 58", "proto \\udp", "ip proto \\icmp", "ip6 proto 44",
	"ip6 proto 0", "ip proto 2",
	"greater 60", "less 80", "len > 70", "len <= 64", "len = 60", "greater 0",
	"tcp[13] & 2 != 0", "tcp[tcpflags] & tcp-syn != 0", "tcp[tcpflags] & (tcp-syn|tcp-ack) = tcp-syn",
	"tcp[tcpflags] & (tcp-fin|tcp-rst) != 0", "ip[6:2] & 0x1fff = 0", "ip[9] = 6", "udp[0:2] = 53",
	"udp[2:2] > 1000", "icmp[icmptype] = icmp-echo", "icmp[icmptype] != icmp-echo and icmp[icmptype] != icmp-echoreply",
	"icmp6[icmp6type] = icmp6-echo", "icmp6[0] = 135", "ether[0] & 1 = 1", "ip[0] & 0xf > 5",
	"tcp[12:1] >> 4 > 5", "ip6[6] = 6", "arp[7] = 1", "ip[2:2] - 20 > 30", "len - 14 > 60",
	"ether[12:2] = 0x8100", "ip[16:4] & 0xffffff00 = 0xc0a80100", "tcp[(tcp[12] >> 4) * 4] = 0x68",
	"ip[ip[0] & 0xf] = 0", "udp[8:4] = 0x7061796c", "tcp[4:4] = 1", "ip[0] + ip[1] * 2 > 70",
	"ether[0:4] / 2 > 100", "ip[8] % 7 = 1", "ip[8] ^ 0x40 = 0", "-ip[8] != 0", "ip[1] | ip[8] << 1 > 100",
	"link[14] = 0x45", "ip6[40:2] = 80", "tcp[2:2] = ip[2:2]", "ip[12:4] = ip[16:4]",
	"sctp[0:2] = 22", "igmp[0] = 0x16", "rarp[6:2] = 1",
	"tcp[14:2] > 500", "ip[9] > 5 and ip[9] < 18", "icmp[1] = 0",
}

// tricky are hand-written expressions: continuation of qualifiers,
// precedence, vlan offsets, fragments.
var tricky = []string{
	"host 10.0.0.1 or 10.0.0.2", "host 10.0.0.1 and not 10.0.0.2", "port 80 or 443",
	"tcp dst port 80 or 443 or 8080", "net 10.0.0.0/8 or 192.168.1.0/24", "ip proto 6 or 17",
	"src host 10.0.0.1 or dst host 10.0.0.2 and tcp", "tcp or udp and port 53",
	"not tcp and not udp", "! tcp && ! udp || icmp", "not (tcp or udp)", "not host 10.0.0.1 or 10.0.0.2",
	"host (10.0.0.1 or 10.0.0.2)", "port (22 or 80) and tcp", "host 10.0.0.1 or (10.0.0.2 and tcp)",
	"vlan and ip", "vlan 100 and tcp port 80", "vlan and vlan and udp", "vlan 7 and vlan 100 and ip",
	"ip or vlan and ip", "vlan or ip", "(vlan) and host 10.0.0.1", "not vlan and tcp", "vlan and not vlan",
	"vlan 100 and (tcp[13] & 2 != 0)", "vlan and ip6 and port 80", "vlan 100 or vlan 200 and udp",
	"vlan and ether host 02:00:00:00:00:01", "vlan and ether[14:2] & 0xfff = 100", "vlan and arp host 10.0.0.2",
	"tcp[13] & 2 != 0 and not (ip[6:2] & 0x1fff != 0)", "(tcp[13] & 2) != 0", "((ip[9])) = 6",
	"(ip[9] = 6)", "(tcp or udp) and (port 53 or port 80)", "ip and (ip[6:2] & 0x1fff = 0)",
	"ether proto \\ip and host 10.0.0.1", "tcp port 80 and (tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x47455420)",
	"greater 100 and less 200", "less 60 or greater 1000", "len >= 60 and len < 100",
	"ip6 and tcp", "ip6 and udp port 53", "ip6 proto 44 or ip6 proto 17", "icmp6 or icmp",
	"src port 22 or dst port 22", "port 22 and port 80", "tcp src port 22 and tcp dst port 80",
	"ip host 10.0.0.1 or ip6 host 2001:db8::1", "host 10.0.0.1 && host 10.0.0.2", "ether host 02:00:00:00:00:01 or 02:00:00:00:00:02",
	"udp port 53 or 80 and ip6", "not port 22 and not port 53", "not not tcp", "!(!udp)",
	"arp or rarp", "ip or ip6 or arp", "tcp[tcpflags] == tcp-syn", "ip[6] & 0x20 = 0x20 or ip[6:2] & 0x1fff != 0",
	"ip[8] >= 64", "ip[8] <= 63", "ip[8] < 65", "ip[8] > 63 && ip[8] != 0", "1 = 1", "len = len",
	"ip[2:2] > len", "ether[0] = ether[6]", "tcp[0:2] > tcp[2:2]", "tcp[0:2] * 2 + 1 > udp[0:2] / 3",
	"ip and ip[0] & 0xf != 5", "icmp and icmp[icmptype] = 8", "vlan and icmp[icmptype] = 8",
	"portrange 22-22", "tcp portrange 0-65535", "proto \\tcp or proto \\udp",
	"host 10.0.0.1 and port 80 or 443", "dst net 10.0.0.0/24 or 172.16.0.0/16 and not tcp",
	"src 10.0.0.1",
	"dst 10.0.0.1 or 10.0.0.2",
	"ether src host 02:00:00:00:00:01",
	"ip6 src 2001:db8::1",
	"host ::1",
	"net ::/0",
	"vlan 0",
	"tcp&&udp",
	"port 010",
	"ether host 2:0:0:0:0:1",
	"ip6 dst net 2001:db8::/33",
	"udp port 53 and not src net 10",
	"ip[0:4] > 0",
	"tcp[tcpflags] & tcp-push != 0",
	"icmp[icmptype] == icmp-unreach",
	"ether[0] & 1 != 0 or ether[0:2] == 0xffff",
	"net 192.168.1.0 mask 255.255.255.0 or 10.0.0.0/8",
	"host 10.0.0.1 and (port 22 or 80)",
	"not vlan 100",
	"src port 22 and not dst port 80 or 443",
	"ip proto 6 and not 17",
	"less 0",
	"greater 65536",
	"len != 60",
	"ether proto 1500",
	"ether proto 1501",
	"arp dst host 10.0.0.2",
	"tcp port 80 and ip6",
	"ip6 and not ip6 proto 58",
	"vlan and vlan 200 and vlan",
	"ether broadcast or ether multicast and not ip6",
	"ip multicast or ip6 multicast",
}

// refusedByBoth are expressions tcpdump refuses, which Compile must
// refuse too.
var refusedByBoth = []string{
	"tcp or 80", "10.0.0.1", "host", "port foo", "port 70000", "host 10.0.0.1 or", "and tcp",
	"(tcp", "tcp)", "ip[", "ip[1:3] = 1", "ip[1] =", "vlan 5000", "net 10.0.0.1/8", "net 10.0.0.0/33",
	"ip6 net 2001:db8::1/32", "ip6 net 2001:db8::/129", "tcp host 10.0.0.1", "ip port 80",
	"udp proto 6", "tcp[1] / 0 = 1", "tcp[1] % 0 = 1",
	"ip[1] << 40 = 1", "ether host 10.0.0.1", "ip6 host 10.0.0.1", "ip host 2001:db8::1",
	"tcp port 1-2", "host 10.0.0.1 mask 255.0.0.0",
	"!", "not", "tcp and and udp", "()", "1 = ", "= 1", "tcp[] = 1",
	"ether[0:3] = 1", "icmp proto 1", "src", "dst port", "greater", "less x", "ether proto foo",
	"ip proto tcp", "len-14 > 1", "host 1.2.3.4.5", "host 300.1.1.1", "ip6 host 2001:db8::zz",
	"tcp[0:2", "host 10.0.0.1 10.0.0.2", "tcp src 80", "TCP", "Host 10.0.0.1", "tcp udp", "@", "ether dst 02:00:00:00:00",
}

// refusedByUsOnly are expressions tcpdump accepts and Compile refuses on
// purpose (see the package doc): values that cannot fit the field they
// are compared with, malformed masks and ranges, and "ip broadcast",
// which needs a netmask a compiled filter does not know.
var refusedByUsOnly = []string{
	"ip proto 300", "ether proto 70000", "net 10.0.0.0 mask 255.0", "ip broadcast", "portrange 10-20-30",
}

// generate builds n random expressions from atoms.
func generate(n int, seed int64) []string {
	r := rand.New(rand.NewSource(seed))
	var term func(depth int) string
	var expr func(depth int) string
	term = func(depth int) string {
		switch k := r.Intn(10); {
		case k < 6 || depth == 0:
			return atoms[r.Intn(len(atoms))]
		case k < 8:
			return "not " + term(depth-1)
		default:
			return "(" + expr(depth-1) + ")"
		}
	}
	ops := []string{"and", "or", "&&", "||"}
	expr = func(depth int) string {
		e := term(depth)
		for i := r.Intn(3); i > 0; i-- {
			e += " " + ops[r.Intn(len(ops))] + " " + term(depth)
		}
		return e
	}
	out := make([]string, n)
	for i := range out {
		out[i] = expr(2)
	}
	return out
}

// longExpr is "port 0 or port 1 or ... port n-1": its program needs
// jumps longer than 255 instructions.
func longExpr(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(" or ")
		}
		fmt.Fprintf(&b, "port %d", corpusPortsOr(i))
	}
	return b.String()
}

func corpusPortsOr(i int) int {
	if i < len(corpusPorts) {
		return int(corpusPorts[len(corpusPorts)-1-i])
	}
	return 30000 + i
}

func oracleExprs() []string {
	exprs := append([]string(nil), atoms...)
	exprs = append(exprs, tricky...)
	exprs = append(exprs, "not ("+longExpr(40)+")", "vlan and ("+longExpr(12)+") and not host 10.0.0.1",
		"host 10.0.0.1 or 10.0.0.2 or 192.168.1.10 or 172.16.5.4 or 224.0.0.5 or 1.2.3.4 or 5.6.7.8 or 9.10.11.12 or 13.14.15.16 or 17.18.19.20 or 21.22.23.24 or 25.26.27.28 or 29.30.31.32")
	n := 300
	if testing.Short() {
		n = 40 // tcpdump runs twice an expression: tens of ms each
	}
	return append(exprs, generate(n, 14)...)
}

// TestOracleTcpdump compiles a few hundred expressions with Compile and
// with tcpdump -ddd, and requires both programs to accept and reject
// the same frames of the corpus; it also runs both programs in
// golang.org/x/net/bpf's VM and requires the same verdicts as Run.
func TestOracleTcpdump(t *testing.T) {
	testenv.Tools(t, "tcpdump")
	frames := corpus()
	exprs := oracleExprs()
	compared := 0
	// tcpdump takes tens of milliseconds a run here: run it for every
	// expression up front, a few at a time.
	type progs struct {
		want, wantOpt       []bpf.RawInstruction
		refused, refusedOpt string
	}
	all := make([]progs, len(exprs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 6)
	for i, expr := range exprs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			all[i].want, all[i].refused = tcpdumpProgram(t, expr, false)
			all[i].wantOpt, all[i].refusedOpt = tcpdumpProgram(t, expr, true)
		}()
	}
	wg.Wait()
	for n, expr := range exprs {
		// Without libpcap's optimizer, tcpdump's program does exactly
		// what libpcap's code generator says, loads past the end of a
		// truncated frame included: ours must agree on every frame. The
		// optimizer drops and reorders loads (it assumes they succeed),
		// so the optimized program is compared on whole frames only.
		want, refused, wantOpt, refusedOpt := all[n].want, all[n].refused, all[n].wantOpt, all[n].refusedOpt
		got, err := Compile(expr)
		if refused != "" {
			if err == nil {
				t.Errorf("%q: tcpdump refuses it (%s), Compile accepts it", expr, refused)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: tcpdump compiles it, Compile refuses it: %v", expr, err)
			continue
		}
		mine, err := NewProgram(got)
		if err != nil {
			t.Fatalf("%q: our program does not validate: %v", expr, err)
		}
		theirs, err := NewProgram(want)
		if err != nil {
			t.Fatalf("%q: tcpdump's program does not validate: %v", expr, err)
		}
		var theirsOpt *Program
		if refusedOpt == "" {
			if theirsOpt, err = NewProgram(wantOpt); err != nil {
				t.Fatalf("%q: tcpdump's optimized program does not validate: %v", expr, err)
			}
		} else if !strings.Contains(refusedOpt, "rejects all packets") {
			t.Fatalf("%q: tcpdump -O compiles it, tcpdump refuses it: %s", expr, refusedOpt)
		}
		vms := []*bpf.VM{mustVM(t, got), mustVM(t, want)}
		for i, f := range frames {
			g, w := mine.Run(f.b, len(f.b)), theirs.Run(f.b, len(f.b))
			if (g != 0) != (w != 0) {
				t.Errorf("%q on %s frame (%d bytes) % x: ours %d, tcpdump -O's %d\nours:\n%s", expr, f.name, len(f.b), f.b, g, w, dump(got))
				break
			}
			if !f.truncated {
				o := uint32(0) // tcpdump: "expression rejects all packets"
				if theirsOpt != nil {
					o = theirsOpt.Run(f.b, len(f.b))
				}
				if (g != 0) != (o != 0) {
					t.Errorf("%q on %s frame (%d bytes) % x: ours %d, tcpdump's optimized %d\nours:\n%s", expr, f.name, len(f.b), f.b, g, o, dump(got))
					break
				}
			}
			if i%3 == 0 {
				for j, run := range []uint32{g, w} {
					if vms[j] == nil {
						continue
					}
					v, err := vms[j].Run(f.b)
					if err != nil || uint32(v) != run {
						t.Fatalf("%q on %s: Run says %d, x/net/bpf VM says %d (%v)", expr, f.name, run, v, err)
					}
				}
			}
		}
		compared++
	}
	if min := 300; compared < min && !testing.Short() {
		t.Errorf("only %d expressions compared with tcpdump's, want at least %d", compared, min)
	}
	t.Logf("%d expressions, %d frames", compared, len(frames))
}

// TestRefusedByBoth: what tcpdump refuses, Compile refuses, with a
// column in the message.
func TestRefusedByBoth(t *testing.T) {
	testenv.Tools(t, "tcpdump")
	for _, expr := range refusedByUsOnly {
		if _, refused := tcpdumpProgram(t, expr, true); refused != "" {
			t.Errorf("%q: tcpdump refuses it now (%s): move it to refusedByBoth", expr, refused)
		}
		if _, err := Compile(expr); err == nil {
			t.Errorf("%q: Compile accepts it", expr)
		} else if !strings.Contains(err.Error(), "expression: column ") {
			t.Errorf("%q: error %q does not name a column", expr, err)
		}
	}
	for _, expr := range refusedByBoth {
		if _, refused := tcpdumpProgram(t, expr, true); refused == "" {
			t.Errorf("%q: tcpdump accepts it; the list is wrong", expr)
		}
		_, err := Compile(expr)
		if err == nil {
			t.Errorf("%q: tcpdump refuses it, Compile accepts it", expr)
			continue
		}
		if !strings.Contains(err.Error(), "expression: column ") {
			t.Errorf("%q: error %q does not name a column", expr, err)
		}
	}
}

// mustVM loads raw into x/net/bpf's VM; nil for a program with "neg",
// which that VM does not implement.
func mustVM(t *testing.T, raw []bpf.RawInstruction) *bpf.VM {
	t.Helper()
	for _, r := range raw {
		if r.Op == clsALU|aluNEG {
			return nil
		}
	}
	ins, ok := bpf.Disassemble(raw)
	if !ok {
		t.Fatalf("x/net/bpf cannot disassemble:\n%s", dump(raw))
	}
	vm, err := bpf.NewVM(ins)
	if err != nil {
		t.Fatalf("x/net/bpf VM refuses the program: %v\n%s", err, dump(raw))
	}
	return vm
}

func dump(raw []bpf.RawInstruction) string {
	var b strings.Builder
	ins, _ := bpf.Disassemble(raw)
	for i, in := range ins {
		fmt.Fprintf(&b, "%3d %v\n", i, in)
	}
	return b.String()
}
