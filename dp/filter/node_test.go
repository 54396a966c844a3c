package filter_test

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/dp/dptest"
	"github.com/softnet/softnet/dp/filter"
	"github.com/softnet/softnet/dp/filter/pf"
	"github.com/softnet/softnet/dp/ip4"
	_ "github.com/softnet/softnet/dp/nodes"
	"github.com/softnet/softnet/dp/tracefmt"
	"github.com/softnet/softnet/hdr"
)

var server = netip.MustParseAddr("198.18.0.9") // routed out if1

func rules(t testing.TB, def pf.Action, lines ...string) control.FilterConfig {
	t.Helper()
	c := control.FilterConfig{Default: def}
	for _, l := range lines {
		r, err := pf.Parse(l)
		if err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		c.Rules = append(c.Rules, r)
	}
	return c
}

func tcp(sport, dport uint16, seq, ack uint32, flags uint8, n int) []byte {
	b := make([]byte, 20+n)
	binary.BigEndian.PutUint16(b[0:], sport)
	binary.BigEndian.PutUint16(b[2:], dport)
	binary.BigEndian.PutUint32(b[4:], seq)
	binary.BigEndian.PutUint32(b[8:], ack)
	b[12] = 5 << 4
	b[13] = flags
	binary.BigEndian.PutUint16(b[14:], 65535)
	return b
}

// fromA is a frame host A sends to server; fromB the server's answer
// (arriving on if1).
func fromA(proto uint8, payload []byte) []byte {
	return dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, server, proto, 64, false, payload)
}
func fromB(proto uint8, payload []byte) []byte {
	return dptest.IPv4Frame(dptest.R1MAC, dptest.HostBMAC, server, dptest.HostA, proto, 64, false, payload)
}

func drops(l *dptest.Lab, name string) uint64 {
	c := l.Counters()
	for r := dp.Reason(1); r < dp.NumReasons; r++ {
		if r.String() == name {
			return c.Drops[r]
		}
	}
	l.T.Fatalf("no reason %s", name)
	return 0
}

// expect sends f on interface in and checks whether it came out of out.
func expect(t *testing.T, l *dptest.Lab, in, out int, f []byte, pass bool, what string) {
	t.Helper()
	l.Out(out)
	l.Send(in, f)
	got := len(l.Out(out))
	if (got == 1) != pass {
		t.Fatalf("%s: forwarded %d frames, want pass=%v", what, got, pass)
	}
}

const (
	syn = pf.SYN
	ack = pf.ACK
	rst = pf.RST
)

// TestStatefulTCP: with a default block, a SYN that a pass rule allows
// makes a state, and the connection passes both ways; a SYN to another
// port is blocked; a segment with no state and an RST outside the window
// are dropped under their own reasons; the rule's counters count.
func TestStatefulTCP(t *testing.T) {
	l := dptest.New(t, dptest.Options{})
	if err := l.Router.SetFilter(rules(t, pf.Block, "pass out", "pass in on if0 proto tcp to any port 80")); err != nil {
		t.Fatal(err)
	}
	expect(t, l, 0, 1, fromA(hdr.ProtoTCP, tcp(40000, 80, 1000, 0, syn, 0)), true, "SYN to port 80")
	expect(t, l, 1, 0, fromB(hdr.ProtoTCP, tcp(80, 40000, 5000, 1001, syn|ack, 0)), true, "SYN-ACK back")
	expect(t, l, 0, 1, fromA(hdr.ProtoTCP, tcp(40000, 80, 1001, 5001, ack, 100)), true, "data A to server")
	expect(t, l, 1, 0, fromB(hdr.ProtoTCP, tcp(80, 40000, 5001, 1101, ack, 100)), true, "data back")
	expect(t, l, 1, 0, fromB(hdr.ProtoTCP, tcp(80, 40000, 5101+3_000_000, 1101, rst, 0)), false, "out-of-window RST")
	if n := drops(l, "ip4-filter/out-of-window"); n != 1 {
		t.Fatalf("out-of-window drops %d", n)
	}
	expect(t, l, 0, 1, fromA(hdr.ProtoTCP, tcp(40000, 80, 1101, 5101, ack, 10)), true, "the connection lives on after the refused RST")
	expect(t, l, 0, 1, fromA(hdr.ProtoTCP, tcp(40001, 81, 1, 0, syn, 0)), false, "SYN to port 81")
	if n := drops(l, "ip4-filter/blocked"); n != 1 {
		t.Fatalf("blocked drops %d", n)
	}
	expect(t, l, 0, 1, fromA(hdr.ProtoTCP, tcp(40002, 80, 1, 1, ack, 10)), false, "ACK without a state")
	if n := drops(l, "ip4-filter/no-state"); n != 1 {
		t.Fatalf("no-state drops %d", n)
	}
	expect(t, l, 1, 0, fromB(hdr.ProtoTCP, tcp(80, 40000, 5101, 1111, rst, 0)), true, "RST at the expected sequence number")
	rs := l.Router.FilterRules()
	if len(rs) != 3 || rs[1].States != 1 || rs[1].Packets != 1 || rs[2].Packets != 2 {
		t.Fatalf("rule counters %+v", rs)
	}
}

// TestTCPFastPathTracked: the segments of an established connection
// without SYN, FIN or RST, which run keys from their fixed offsets
// (fastKey4) without a full parse, are still tracked: data beyond the
// window the other side allows and an ACK of data never sent are dropped
// as out-of-window, in-window data passes both ways and advances the
// window, and a FIN (the parsed path) closes.
func TestTCPFastPathTracked(t *testing.T) {
	l := dptest.New(t, dptest.Options{})
	if err := l.Router.SetFilter(rules(t, pf.Block, "pass out", "pass in on if0 proto tcp to any port 80")); err != nil {
		t.Fatal(err)
	}
	expect(t, l, 0, 1, fromA(hdr.ProtoTCP, tcp(40000, 80, 1000, 0, syn, 0)), true, "SYN")
	expect(t, l, 1, 0, fromB(hdr.ProtoTCP, tcp(80, 40000, 5000, 1001, syn|ack, 0)), true, "SYN-ACK")
	expect(t, l, 0, 1, fromA(hdr.ProtoTCP, tcp(40000, 80, 1001, 5001, ack, 0)), true, "ACK")
	for i := uint32(0); i < 3; i++ {
		expect(t, l, 0, 1, fromA(hdr.ProtoTCP, tcp(40000, 80, 1001+100*i, 5001, ack, 100)), true, "data to the server")
		expect(t, l, 1, 0, fromB(hdr.ProtoTCP, tcp(80, 40000, 5001+50*i, 1101+100*i, ack, 50)), true, "data back")
	}
	expect(t, l, 0, 1, fromA(hdr.ProtoTCP, tcp(40000, 80, 1301+10_000_000, 5151, ack, 100)), false, "data 10 MB past the window")
	expect(t, l, 0, 1, fromA(hdr.ProtoTCP, tcp(40000, 80, 1301, 5151+500_000, ack, 0)), false, "ACK of data never sent")
	if n := drops(l, "ip4-filter/out-of-window"); n != 2 {
		t.Fatalf("out-of-window drops %d, want 2", n)
	}
	expect(t, l, 0, 1, fromA(hdr.ProtoTCP, tcp(40000, 80, 1301, 5151, ack|pf.FIN, 0)), true, "FIN")
	var states []control.StateInfo
	var err error
	polling(l, func() { states, err = l.Router.FilterStates(control.StateFilter{}, 0) })
	if err != nil || len(states) != 1 || !strings.HasPrefix(states[0].State, "CLOSING:") || states[0].Packets != [2]uint64{6, 4} {
		t.Fatalf("states %+v (%v), want one CLOSING:... with packets [6 4]", states, err)
	}
}

// TestUDPReplyWhileStateLives: a UDP reply passes while the state the
// request made lives, not after its timeout; flushing removes states;
// an ICMP error about a passed flow reaches its sender.
func TestUDPReplyWhileStateLives(t *testing.T) {
	l := dptest.New(t, dptest.Options{})
	c := rules(t, pf.Block, "pass out", "pass in on if0 proto {tcp, udp} to any port 53") // flags S/SA, implied for TCP, leave UDP alone
	c.Timeouts.UDP = int64(30 * time.Second)
	if err := l.Router.SetFilter(c); err != nil {
		t.Fatal(err)
	}
	expect(t, l, 1, 0, fromB(hdr.ProtoUDP, dptest.UDP(53, 3333, 10)), false, "reply before any request")
	expect(t, l, 0, 1, fromA(hdr.ProtoUDP, dptest.UDP(3333, 53, 10)), true, "request")
	expect(t, l, 1, 0, fromB(hdr.ProtoUDP, dptest.UDP(53, 3333, 10)), true, "reply")
	// An ICMP port unreachable from the server about the request.
	quote := append(fromA(hdr.ProtoUDP, dptest.UDP(3333, 53, 10))[14:14+28:14+28], []byte{}...)
	icmp := append([]byte{3, 3, 0, 0, 0, 0, 0, 0}, quote...)
	binary.BigEndian.PutUint16(icmp[2:], hdr.Checksum(icmp, 0))
	expect(t, l, 1, 0, fromB(hdr.ProtoICMP, icmp), true, "ICMP error about the flow")
	var states []control.StateInfo
	var err error
	polling(l, func() { states, err = l.Router.FilterStates(control.StateFilter{}, 0) })
	if err != nil || len(states) != 1 || states[0].Src != "10.0.1.2:3333" || states[0].Proto != "udp" || states[0].State != "MULTIPLE:MULTIPLE" {
		t.Fatalf("states %+v %v", states, err)
	}
	filter.Advance(31 * time.Second)
	expect(t, l, 1, 0, fromB(hdr.ProtoUDP, dptest.UDP(53, 3333, 10)), false, "reply after the state expired")
	expect(t, l, 0, 1, fromA(hdr.ProtoUDP, dptest.UDP(3333, 53, 10)), true, "request again")
	var n int
	polling(l, func() { n, err = l.Router.FlushStates(control.StateFilter{}) })
	if err != nil || n != 1 {
		t.Fatalf("flushed %d %v", n, err)
	}
	expect(t, l, 1, 0, fromB(hdr.ProtoUDP, dptest.UDP(53, 3333, 10)), false, "reply after a flush")
}

// TestReloadKeepsStates: new rules (which would block the flow's first
// packet) leave an existing state alone; a new flow gets the new rules.
func TestReloadKeepsStates(t *testing.T) {
	l := dptest.New(t, dptest.Options{})
	if err := l.Router.SetFilter(rules(t, pf.Pass, "block in on if1", "pass in on if0")); err != nil {
		t.Fatal(err)
	}
	expect(t, l, 0, 1, fromA(hdr.ProtoTCP, tcp(40000, 22, 1000, 0, syn, 0)), true, "SYN")
	if err := l.Router.SetFilter(rules(t, pf.Pass, "block in on if1", "pass in on if0", "block in on if0 proto tcp to any port 22")); err != nil {
		t.Fatal(err)
	}
	expect(t, l, 1, 0, fromB(hdr.ProtoTCP, tcp(22, 40000, 5000, 1001, syn|ack, 0)), true, "SYN-ACK after the reload")
	expect(t, l, 0, 1, fromA(hdr.ProtoTCP, tcp(40000, 22, 1001, 5001, ack, 0)), true, "ACK after the reload")
	expect(t, l, 0, 1, fromA(hdr.ProtoTCP, tcp(40001, 22, 1000, 0, syn, 0)), false, "a new SYN after the reload")
}

// TestStateLimit: the worker's table holds its limit; the next new flow
// is dropped as state-limit.
func TestStateLimit(t *testing.T) {
	l := dptest.New(t, dptest.Options{})
	c := rules(t, pf.Pass, "pass proto udp")
	c.Limit = 3
	if err := l.Router.SetFilter(c); err != nil {
		t.Fatal(err)
	}
	for p := uint16(1); p <= 4; p++ {
		expect(t, l, 0, 1, fromA(hdr.ProtoUDP, dptest.UDP(p, 53, 1)), p <= 3, "flow")
	}
	if n := drops(l, "ip4-filter/state-limit"); n != 1 {
		t.Fatalf("state-limit drops %d", n)
	}
	st, _ := l.Router.FilterStats()
	if st.States != 3 || st.Refused != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestIPv6AndVLAN: the filter runs on IPv6 (ip6-filter) and on VLAN
// sub-interfaces (on if0.100 in a rule).
func TestIPv6AndVLAN(t *testing.T) {
	l := dptest.New(t, dptest.Options{VLANs: true})
	if err := l.Router.SetFilter(rules(t, pf.Pass, "block in on if0.100 proto udp", "block in inet6 proto udp to any port 9")); err != nil {
		t.Fatal(err)
	}
	f := dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.SubHost[0], server, hdr.ProtoUDP, 64, false, dptest.UDP(1, 2, 1))
	expect(t, l, 0, 1, dptest.Tag(f, 0x8100, 100), false, "UDP on if0.100")
	expect(t, l, 0, 1, fromA(hdr.ProtoUDP, dptest.UDP(1, 2, 1)), true, "UDP on if0")
	v6 := make([]byte, 14+40+8)
	copy(v6, dptest.R0MAC[:])
	copy(v6[6:], dptest.HostAMAC[:])
	binary.BigEndian.PutUint16(v6[12:], 0x86dd)
	ip := v6[14:]
	ip[0] = 0x60
	binary.BigEndian.PutUint16(ip[4:], 8)
	ip[6], ip[7] = hdr.ProtoUDP, 64
	s, d := netip.MustParseAddr("2001:db8:1::2").As16(), netip.MustParseAddr("2001:db8:2::2").As16()
	copy(ip[8:], s[:])
	copy(ip[24:], d[:])
	binary.BigEndian.PutUint16(ip[40+2:], 9)
	l.Send(0, v6)
	if n := drops(l, "ip6-filter/blocked"); n != 1 {
		t.Fatalf("ip6-filter/blocked %d", n)
	}
}

// polling runs fn while the lab's worker polls (as a running worker
// would serve a state request).
func polling(l *dptest.Lab, fn func()) {
	done := make(chan struct{})
	go func() { fn(); close(done) }()
	for {
		select {
		case <-done:
			return
		default:
			l.Worker.Poll()
		}
	}
}

// TestFilterZeroAlloc: the filter node allocates nothing per packet,
// for packets of a state (UDP and TCP) and for new states: a run
// through the lab allocates what the same run without a filter does (the
// in-memory queue's frames), no more.
func TestFilterZeroAlloc(t *testing.T) {
	base := allocs(t, false)
	if a := allocs(t, true); a > base {
		t.Fatalf("%v allocations per run with the filter, %v without", a, base)
	}
}

func allocs(t *testing.T, on bool) float64 {
	l := dptest.New(t, dptest.Options{})
	if on {
		if err := l.Router.SetFilter(rules(t, pf.Block, "pass out", "pass in on if0 proto udp", "pass in on if0 proto tcp")); err != nil {
			t.Fatal(err)
		}
	}
	l.Send(0, fromA(hdr.ProtoUDP, dptest.UDP(1, 53, 10))) // the table is made here
	// An established TCP connection: its segments are state hits too.
	l.Send(0, fromA(hdr.ProtoTCP, tcp(40000, 80, 1000, 0, syn, 0)))
	l.Send(1, fromB(hdr.ProtoTCP, tcp(80, 40000, 5000, 1001, syn|ack, 0)))
	l.Send(0, fromA(hdr.ProtoTCP, tcp(40000, 80, 1001, 5001, ack, 0)))
	l.Out(0)
	if got := len(l.Out(1)); got != 3 {
		t.Fatalf("%d of the UDP datagram and the TCP handshake's 2 segments from A forwarded", got)
	}
	port := uint16(100)
	frames := make([][]byte, 64)
	for i := range frames {
		frames[i] = fromA(hdr.ProtoUDP, dptest.UDP(1, 53, 10))
		if i%2 == 1 {
			frames[i] = fromA(hdr.ProtoTCP, tcp(40000, 80, 1001, 5001, ack, 100))
		}
	}
	fresh := make([][]byte, 1000)
	for i := range fresh {
		fresh[i] = fromA(hdr.ProtoUDP, dptest.UDP(port+uint16(i), 53, 10))
	}
	k := 0
	a := testing.AllocsPerRun(200, func() {
		l.Ports[0].Push(frames...)
		l.Ports[0].Push(fresh[k%len(fresh)])
		k++
		for l.Worker.Poll() > 0 {
		}
		l.Ports[1].Take()
	})
	if c := l.Counters(); c.TotalDrops() != 0 {
		d := c.TotalDrops()
		t.Fatalf("%d packets dropped: the runs measured must pass (UDP and TCP state hits, new UDP states)", d)
	}
	if st, _ := l.Router.FilterStats(); on && st.States < 100 {
		t.Fatalf("states %d: the new flows made none", st.States)
	}
	return a
}

// TestTraceNamesRule: a trace says which rule decided a packet of a new
// flow (in and out), and that a later packet matched a state.
func TestTraceNamesRule(t *testing.T) {
	l := dptest.New(t, dptest.Options{})
	tr := tracefmt.NewTracer([]*dp.Worker{l.Worker})
	if err := l.Router.SetFilter(rules(t, pf.Block, "pass out", "pass in on if0 proto udp to any port 53")); err != nil {
		t.Fatal(err)
	}
	var path string // the last traced packet's nodes
	notes := func(f []byte, in int) string {
		t.Helper()
		if err := tr.Start(1); err != nil {
			t.Fatal(err)
		}
		l.Send(in, f)
		ps := tr.Stop()
		if len(ps) != 1 {
			t.Fatalf("%d packets traced", len(ps))
		}
		var s, nodes []string
		for _, st := range ps[0].Steps {
			nodes = append(nodes, st.Stage)
			if st.Stage == filter.Node4 {
				s = append(s, st.Note)
			}
		}
		path = strings.Join(nodes, " ")
		return strings.Join(s, "|")
	}
	if n := notes(fromA(hdr.ProtoUDP, dptest.UDP(9, 53, 1)), 0); n != "in: rule 2 (pass in on if0 proto udp to any port 53); out: rule 1 (pass out); route 198.18.0.9 (cached in the state): adjacency 8, forward via if1" {
		t.Errorf("first packet: %q", n)
	}
	// A packet that passes by a state (this one made it) takes its
	// next hop from the state's route cache: its trace shows it skip
	// ip4-lookup, as it does.
	if !strings.Contains(path, "ip4-filter ip4-rewrite") || strings.Contains(path, "ip4-lookup") {
		t.Errorf("first packet's path %q, want ip4-filter then ip4-rewrite (the route cache)", path)
	}
	if n := notes(fromB(hdr.ProtoUDP, dptest.UDP(53, 9, 1)), 1); n != "matched a state; route 10.0.1.2 (cached in the state): adjacency 7, forward via if0" {
		t.Errorf("reply: %q", n)
	}
	if !strings.Contains(path, "ip4-filter ip4-rewrite") || strings.Contains(path, "ip4-lookup") {
		t.Errorf("reply's path %q, want ip4-filter then ip4-rewrite (the route cache)", path)
	}
	if n := notes(fromA(hdr.ProtoUDP, dptest.UDP(9, 54, 1)), 0); n != "dropped: blocked (in: default policy block)" {
		t.Errorf("blocked: %q", n)
	}
}

// TestDropCaptureNamesRule: a drop capture of the filter's reasons (the
// pflog of issue 14) records, with each blocked packet, the rule that
// blocked it, which the control plane names as softnet show rules
// numbers them (or the default policy); other drops name no rule.
func TestDropCaptureNamesRule(t *testing.T) {
	l := dptest.New(t, dptest.Options{})
	if err := l.Router.SetFilter(rules(t, pf.Block, "pass out", "pass in on if0 proto tcp to any port 80",
		"block in quick on if0 proto udp to any port 9999")); err != nil {
		t.Fatal(err)
	}
	var specs []dp.CaptureSpec
	for _, q := range []control.CaptureRequest{{Drop: true, Reason: "blocked"}, {Drop: true, Reason: "ip4-filter/no-state"}, {Drop: true, Reason: "ip4-input/bad-ihl"}} {
		s, err := l.Router.ResolveCapture(q)
		if err != nil {
			t.Fatal(err)
		}
		specs = append(specs, s)
	}
	cs, err := l.Router.StartCaptures(specs...)
	if err != nil {
		t.Fatal(err)
	}
	blocked9999 := fromA(hdr.ProtoUDP, dptest.UDP(5000, 9999, 4))
	blocked53 := fromA(hdr.ProtoUDP, dptest.UDP(5000, 53, 4))
	expect(t, l, 0, 1, blocked9999, false, "UDP to 9999")
	expect(t, l, 0, 1, blocked53, false, "UDP to 53")
	expect(t, l, 0, 1, fromA(hdr.ProtoTCP, tcp(40000, 80, 1000, 0, syn, 0)), true, "SYN to port 80")
	expect(t, l, 0, 1, fromA(hdr.ProtoTCP, tcp(40002, 81, 1, 1, ack, 10)), false, "ACK without a state")
	badIHL := append([]byte(nil), blocked9999...)
	badIHL[14] = 0x44 // IHL 4: dropped by ip4-input, before the filter
	l.Send(0, badIHL)

	type rec struct {
		reason, rule string
		data         []byte
	}
	drain := func(c *dp.Capture) []rec {
		var out []rec
		c.Drain(func(r *dp.CapRecord) {
			out = append(out, rec{r.Reason.String(), l.Router.DropRule(r.Reason, r.Detail), append([]byte(nil), r.Data...)})
		})
		return out
	}
	got := drain(cs[0])
	if len(got) != 2 || string(got[0].data) != string(blocked9999) || string(got[1].data) != string(blocked53) {
		t.Fatalf("drop capture of blocked: %d records %+v, want the two blocked UDP frames", len(got), got)
	}
	if got[0].reason != "ip4-filter/blocked" || got[0].rule != "rule 3 (block in quick on if0 proto udp to any port 9999)" {
		t.Errorf("UDP to 9999: %q %q, want ip4-filter/blocked by rule 3 (block in quick on if0 proto udp to any port 9999)", got[0].reason, got[0].rule)
	}
	if got[1].rule != "default policy block" {
		t.Errorf("UDP to 53: rule %q, want the default policy block", got[1].rule)
	}
	if got := drain(cs[1]); len(got) != 1 || got[0].reason != "ip4-filter/no-state" || got[0].rule != "default policy block" {
		t.Errorf("drop capture of no-state: %+v, want the ACK by the default policy block", got)
	}
	if got := drain(cs[2]); len(got) != 1 || got[0].rule != "" {
		t.Errorf("drop capture of bad-ihl: %+v, want one record naming no rule", got)
	}
}

// TestStateMadeInTheVector: a vector whose first packets open flows and
// whose later packets belong to them (no rule passes those) passes them
// all, and a vector of many flows' packets finds every state: the batch
// lookup's hints, taken before the vector made its states, do not hide
// them.
func TestStateMadeInTheVector(t *testing.T) {
	l := dptest.New(t, dptest.Options{})
	if err := l.Router.SetFilter(rules(t, pf.Block, "pass out", "pass in on if0 proto tcp to any port 80")); err != nil {
		t.Fatal(err)
	}
	var first, later [][]byte
	for i := 0; i < 100; i++ {
		first = append(first, fromA(hdr.ProtoTCP, tcp(20000+uint16(i), 80, 1000, 0, syn, 0)))
		later = append(later, fromA(hdr.ProtoTCP, tcp(20000+uint16(i), 80, 1001, 0, ack, 0)))
	}
	l.Out(1)
	l.Send(0, append(append([][]byte{}, first...), later...)...)
	if got := len(l.Out(1)); got != 200 {
		t.Fatalf("%d of 200 frames passed (100 SYNs, then an ACK of each flow in the same vector); no-state drops %d", got, drops(l, "ip4-filter/no-state"))
	}
	l.Send(0, later...)
	if got := len(l.Out(1)); got != 100 {
		t.Fatalf("%d of 100 ACKs of known flows passed in a vector of their own", got)
	}
}

// TestRouteCache: a state hit takes the next hop its state cached and
// skips ip4-lookup (its packet count stays), yet follows every routing
// change at once: a more specific route, its removal, an ECMP group
// (each flow keeps the member ip4-lookup would pick) and a member's link
// going down; and a packet ip4-lookup would not send to ip4-rewrite (TTL
// 1) still gets ip4-lookup's answer.
func TestRouteCache(t *testing.T) {
	l := dptest.New(t, dptest.Options{})
	if err := l.Router.SetFilter(rules(t, pf.Block, "pass out", "pass in on if0 proto udp")); err != nil {
		t.Fatal(err)
	}
	lookups := func() uint64 { return l.Counters().Packets[ip4.StageLookup] }
	dst := server
	send := func(sport uint16, ttl uint8, what string) (out0, out1 [][]byte) {
		t.Helper()
		l.Send(0, dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, dst, hdr.ProtoUDP, ttl, false, dptest.UDP(sport, 53, 10)))
		return l.Out(0), l.Out(1)
	}
	one := func(out [][]byte, mac [6]byte, what string) {
		t.Helper()
		if len(out) != 1 || [6]byte(out[0][:6]) != mac || out[0][14+8] != 63 {
			t.Fatalf("%s: %d frames out, want 1 to %x with TTL 63", what, len(out), mac)
		}
	}
	_, o1 := send(1000, 64, "first packet")
	one(o1, dptest.HostBMAC, "first packet")
	n := lookups()
	for i := range 3 {
		_, o1 = send(1000, 64, "state hit")
		one(o1, dptest.HostBMAC, "state hit "+strconv.Itoa(i))
	}
	// The first hit looked its route up in the filter and cached it:
	// no hit reached ip4-lookup.
	if d := lookups() - n; d != 0 {
		t.Fatalf("%d state hits went through ip4-lookup, want 0 (the route cache)", d)
	}
	// A more specific route, back out of if0 to host A.
	more := netip.MustParsePrefix("198.18.0.0/24")
	if err := l.Router.AddRoute(more, dptest.HostA); err != nil {
		t.Fatal(err)
	}
	l.Router.Publish()
	o0, o1 := send(1000, 64, "after a more specific route")
	if len(o1) != 0 {
		t.Fatalf("after a more specific route: %d frames still out of if1", len(o1))
	}
	one(o0, dptest.HostAMAC, "after a more specific route")
	if err := l.Router.DeleteRoute(more); err != nil {
		t.Fatal(err)
	}
	l.Router.Publish()
	_, o1 = send(1000, 64, "after its removal")
	one(o1, dptest.HostBMAC, "after its removal")
	// A new state limit: the worker remakes its table, the states keep
	// their caches and the generation goes on; a routing change after
	// it still takes effect.
	c := rules(t, pf.Block, "pass out", "pass in on if0 proto udp")
	c.Limit = 1024
	if err := l.Router.SetFilter(c); err != nil {
		t.Fatal(err)
	}
	_, o1 = send(1000, 64, "after a new limit")
	one(o1, dptest.HostBMAC, "after a new limit")
	if err := l.Router.AddRoute(more, dptest.HostA); err != nil {
		t.Fatal(err)
	}
	l.Router.Publish()
	o0, _ = send(1000, 64, "a more specific route after the remake")
	one(o0, dptest.HostAMAC, "a more specific route after the remake")
	if err := l.Router.DeleteRoute(more); err != nil {
		t.Fatal(err)
	}
	l.Router.Publish()
	// TTL 1: time exceeded back to host A, as without a filter.
	o0, o1 = send(1000, 1, "TTL 1")
	if len(o1) != 0 || len(o0) != 1 || o0[0][14+9] != hdr.ProtoICMP || o0[0][14+20] != hdr.ICMPv4TimeExceeded {
		t.Fatalf("TTL 1 on a state: %d frames out of if1, %d out of if0 (want one ICMP time exceeded)", len(o1), len(o0))
	}
	// An ECMP group, members on if0 (host A) and if1 (host B): every
	// flow keeps one member (the first packet's, chosen by ip4-lookup,
	// as later ones are by the cache), both are used; then if1 goes down
	// and every flow goes to host A at once.
	dst = netip.MustParseAddr("203.0.113.9")
	res := l.Router.ApplyKernel([]control.KernelRoute{{Prefix: netip.MustParsePrefix("203.0.113.0/24"), Proto: "bgp", NextHops: []control.NextHop{
		{Iface: 0, Via: dptest.HostA}, {Iface: 1, Via: dptest.HostB},
	}}}, nil)
	if len(res.Errors) != 0 {
		t.Fatalf("ApplyKernel: %+v", res)
	}
	l.Router.Publish()
	first := map[uint16][6]byte{}
	for round := range 3 {
		for p := uint16(2000); p < 2200; p++ {
			o0, o1 := send(p, 64, "ecmp")
			out := append(o0, o1...)
			if len(out) != 1 {
				t.Fatalf("ecmp flow %d: %d frames out", p, len(out))
			}
			m := [6]byte(out[0][:6])
			if round == 0 {
				first[p] = m
			} else if m != first[p] {
				t.Fatalf("ecmp flow %d went to %x, then to %x (round %d)", p, first[p], m, round)
			}
		}
	}
	a, b := 0, 0
	for _, m := range first {
		if m == dptest.HostAMAC {
			a++
		} else if m == dptest.HostBMAC {
			b++
		}
	}
	if a == 0 || b == 0 || a+b != 200 {
		t.Fatalf("ecmp: %d flows to host A, %d to host B: want both used", a, b)
	}
	// Each flow's packets go where they go without a filter, its first
	// fragments too (ECMP hashes a fragment without its ports: the
	// route cache must not give it its flow's member).
	plain := dptest.New(t, dptest.Options{})
	if res := plain.Router.ApplyKernel([]control.KernelRoute{{Prefix: netip.MustParsePrefix("203.0.113.0/24"), Proto: "bgp", NextHops: []control.NextHop{
		{Iface: 0, Via: dptest.HostA}, {Iface: 1, Via: dptest.HostB},
	}}}, nil); len(res.Errors) != 0 {
		t.Fatalf("ApplyKernel: %+v", res)
	}
	plain.Router.Publish()
	for p := uint16(2000); p < 2200; p++ {
		whole := dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, dst, hdr.ProtoUDP, 64, false, dptest.UDP(p, 53, 10))
		first := slices.Clone(whole)
		hdr.IPv4(first[14:]).SetFlagsFrag(false, true, 0)
		ip := hdr.IPv4(first[14:])
		ip.SetChecksum(ip.ComputeChecksum())
		for _, f := range [][]byte{whole, first} {
			l.Send(0, f)
			plain.Send(0, f)
			got, want := append(l.Out(0), l.Out(1)...), append(plain.Out(0), plain.Out(1)...)
			if len(got) != 1 || len(want) != 1 || [6]byte(got[0][:6]) != [6]byte(want[0][:6]) {
				t.Fatalf("flow %d, fragment %v: out to %x with the filter, to %x without", p, f[14+6]&0x20 != 0, got, want)
			}
		}
	}
	// A state's route becomes a blackhole: ip4-lookup drops its packets.
	if res := l.Router.ApplyKernel([]control.KernelRoute{{Prefix: netip.MustParsePrefix("203.0.113.0/24"), Proto: "bgp"}}, nil); len(res.Errors) != 0 {
		t.Fatalf("ApplyKernel: %+v", res)
	}
	l.Router.Publish()
	bh := drops(l, "ip4-lookup/blackhole")
	o0, o1 = send(2000, 64, "blackholed")
	if len(o0)+len(o1) != 0 || drops(l, "ip4-lookup/blackhole") != bh+1 {
		t.Fatalf("a state whose route became a blackhole: %d frames out, blackhole drops %d -> %d", len(o0)+len(o1), bh, drops(l, "ip4-lookup/blackhole"))
	}
	// Back to the group; then if1 goes down.
	if res := l.Router.ApplyKernel([]control.KernelRoute{{Prefix: netip.MustParsePrefix("203.0.113.0/24"), Proto: "bgp", NextHops: []control.NextHop{
		{Iface: 0, Via: dptest.HostA}, {Iface: 1, Via: dptest.HostB},
	}}}, nil); len(res.Errors) != 0 {
		t.Fatalf("ApplyKernel: %+v", res)
	}
	if err := l.Router.SetLinkUp(1, false); err != nil {
		t.Fatal(err)
	}
	l.Router.Publish()
	for p := uint16(2000); p < 2200; p++ {
		o0, o1 := send(p, 64, "ecmp, if1 down")
		if len(o1) != 0 || len(o0) != 1 || [6]byte(o0[0][:6]) != dptest.HostAMAC {
			t.Fatalf("ecmp flow %d with if1 down: %d out of if0, %d out of if1, want all to host A", p, len(o0), len(o1))
		}
	}
}

// A test-only feature node on ip4-unicast that drops UDP to port 9.
var after = dptest.RegisterPort9Feature("test-after-filter", "")

// TestRouteCacheNotLast: when another feature comes after the filter on
// an interface, a state hit does not skip it (nor ip4-lookup): the
// route cache is for a filter that is the arc's last feature.
func TestRouteCacheNotLast(t *testing.T) {
	l := dptest.New(t, dptest.Options{})
	if err := l.Router.SetFilter(rules(t, pf.Block, "pass out", "pass in on if0 proto udp")); err != nil {
		t.Fatal(err)
	}
	if err := l.Router.SetFeatures(0, []string{filter.Node4, "test-after-filter"}); err != nil {
		t.Fatal(err)
	}
	l.Router.Publish()
	f := func(port uint16) []byte {
		return dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, server, hdr.ProtoUDP, 64, false, dptest.UDP(1000, port, 10))
	}
	expect(t, l, 0, 1, f(53), true, "a flow to port 53")
	expect(t, l, 0, 1, f(53), true, "its state hit")
	expect(t, l, 0, 1, f(9), false, "a flow to port 9 (the feature after the filter drops it)")
	if err := l.Router.SetFeatures(0, nil); err != nil {
		t.Fatal(err)
	}
	l.Router.Publish()
	expect(t, l, 0, 1, f(9), true, "port 9 once the feature is gone (a new state)")
	if err := l.Router.SetFeatures(0, []string{filter.Node4, "test-after-filter"}); err != nil {
		t.Fatal(err)
	}
	l.Router.Publish()
	expect(t, l, 0, 1, f(9), false, "port 9's state hit with the feature back after the filter")
	if n := drops(l, "test-after-filter/port-9"); n != 2 {
		t.Fatalf("the feature after the filter dropped %d, want 2", n)
	}
}

// withOptions returns frame f (Ethernet, IPv4 without options) with a
// 4-byte IPv4 option (three NOPs and an end of list) after its header:
// run keys such a packet by a full parse and decides it by decide, never
// by its fast paths.
func withOptions(f []byte) []byte {
	g := slices.Concat(f[:14+20], []byte{1, 1, 1, 0}, f[14+20:])
	ip := hdr.IPv4(g[14:])
	ip[0] = 0x46
	ip.SetTotalLen(len(g) - 14)
	ip.SetChecksum(0)
	ip.SetChecksum(hdr.Checksum(ip[:24], 0))
	return g
}

// TestTCPFastPathSameAsDecide: established segments tracked in run's
// decision loop (the TCP hit without decide) pass, drop and move their
// state exactly as decide does: the same random conversation (in-window
// and out-of-window data and ACKs both ways, retransmissions, after a
// handshake, a second apart) sent to two routers, one's packets plain,
// the other's with an IP option (decided by decide), passes and drops the
// same packets and leaves the same state.
func TestTCPFastPathSameAsDecide(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		var labs [2]*dptest.Lab
		for j := range labs {
			labs[j] = dptest.New(t, dptest.Options{})
			if err := labs[j].Router.SetFilter(rules(t, pf.Block, "pass out", "pass in on if0 proto tcp to any port 80")); err != nil {
				t.Fatal(err)
			}
		}
		type seg struct {
			fromA    bool
			seq, ack uint32
			n        int
		}
		// The sides' sequence numbers far apart (a segment tracked
		// against the other side's window is out of it), B's wrapping.
		const isnB = 4_294_000_000
		segs := []seg{{true, 1000, 0, 0}, {false, isnB, 1001, 0}, {true, 1001, isnB + 1, 0}} // SYN, SYN-ACK, ACK below
		nextA, nextB := uint32(1001), uint32(isnB+1)
		for range 60 {
			s := seg{fromA: rng.IntN(2) == 0, n: rng.IntN(3) * 500}
			if s.fromA {
				s.seq, s.ack = nextA, nextB
			} else {
				s.seq, s.ack = nextB, nextA
			}
			switch rng.IntN(6) {
			case 0: // a retransmission
				s.seq -= uint32(rng.IntN(1000))
			case 1: // far beyond the window
				s.seq += uint32(1 + rng.IntN(1<<30))
			case 2: // an ACK of data never sent
				s.ack += uint32(1 + rng.IntN(1<<30))
			}
			segs = append(segs, s)
			if d := int32(s.seq + uint32(s.n) - nextA); s.fromA && d > 0 && d < 1<<20 {
				nextA = s.seq + uint32(s.n)
			}
			if d := int32(s.seq + uint32(s.n) - nextB); !s.fromA && d > 0 && d < 1<<20 {
				nextB = s.seq + uint32(s.n)
			}
		}
		for i, s := range segs {
			flags := uint8(ack)
			switch i {
			case 0:
				flags = syn
			case 1:
				flags = syn | ack
			}
			var f []byte
			in, out := 0, 1
			if s.fromA {
				f = fromA(hdr.ProtoTCP, tcp(40000, 80, s.seq, s.ack, flags, s.n))
			} else {
				f = fromB(hdr.ProtoTCP, tcp(80, 40000, s.seq, s.ack, flags, s.n))
				in, out = 1, 0
			}
			var got [2]int
			for j, l := range labs {
				g := f
				if j == 1 {
					g = withOptions(f)
				}
				l.Out(out)
				l.Send(in, g)
				got[j] = len(l.Out(out))
			}
			// A second between segments: a hit that left the state's
			// expiry alone lets it expire while the connection opens.
			filter.Advance(time.Second)
			if got[0] != got[1] {
				t.Fatalf("seed %d, segment %d %+v: plain forwarded %d, with an option (decide) %d", seed, i, s, got[0], got[1])
			}
		}
		var st [2][]control.StateInfo
		for j, l := range labs {
			polling(l, func() { st[j], _ = l.Router.FilterStates(control.StateFilter{}, 0) })
			if n := drops(l, "ip4-filter/out-of-window"); j == 1 && n != drops(labs[0], "ip4-filter/out-of-window") {
				t.Fatalf("seed %d: out-of-window drops %d plain, %d with an option", seed, drops(labs[0], "ip4-filter/out-of-window"), n)
			}
		}
		if len(st[0]) != 1 || len(st[1]) != 1 || st[0][0].State != st[1][0].State || st[0][0].Packets != st[1][0].Packets {
			t.Fatalf("seed %d: states plain %+v, with an option %+v", seed, st[0], st[1])
		}
	}
}
