package dp_test

import (
	"strings"
	"testing"

	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/dp/dptest"
	"github.com/softnet/softnet/dp/ip4"
	"github.com/softnet/softnet/dp/tracefmt"
	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/pkt"
)

// A test-only feature node on ip4-unicast: it drops UDP to port 9 under
// its own reason and hands everything else on.
var testFilter = dptest.RegisterPort9Feature("test-filter", "filtered")

type Stage = dp.Stage

// Test-only counting nodes on the other two arcs.
var stageTestRx, stageTestTx Stage

func countNode(name string, s *Stage, a dp.Arc) dp.Node {
	return dp.Node{Name: name, Stage: s, Arc: a, Next: []string{"drop"},
		Run: func(w *dp.Worker, _ *dp.Config, in *pkt.Batch) {
			for _, x := range in.B[:in.N] {
				b := pkt.At(x)
				w.Next(*s, b)
			}
			in.N = 0
		}}
}

var _ = dp.Register(countNode("test-rx", &stageTestRx, dp.ArcDeviceInput))
var _ = dp.Register(countNode("test-tx", &stageTestTx, dp.ArcInterfaceOutput))

// TestFeatureArcs chains features on device-input and interface-output:
// device-input by the receiving port, interface-output by the egress
// interface, each one publish.
func TestFeatureArcs(t *testing.T) {
	l := dptest.New(t, dptest.Options{})
	fromA := dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, remoteHost, hdr.ProtoUDP, 64, false, dptest.UDP(1000, 9, 20))
	fromB := dptest.IPv4Frame(dptest.R1MAC, dptest.HostBMAC, dptest.HostB, dptest.HostA, hdr.ProtoUDP, 64, false, dptest.UDP(1000, 9, 20))
	// if0 receives through test-rx then test-filter; if1 sends through test-tx.
	if err := l.Router.SetFeatures(0, []string{"test-rx", "test-filter"}); err != nil {
		t.Fatal(err)
	}
	if err := l.Router.SetFeatures(1, []string{"test-tx"}); err != nil {
		t.Fatal(err)
	}
	l.Router.Publish()
	l.Send(0, fromA, fromA)
	l.Send(1, fromB)
	c := l.Counters()
	if c.Packets[stageTestRx] != 2 || c.Packets[testFilter.Stage] != 2 || c.Drops[testFilter.Port9] != 2 {
		t.Errorf("if0: test-rx saw %d, test-filter %d (dropped %d), want 2, 2, 2", c.Packets[stageTestRx], c.Packets[testFilter.Stage], c.Drops[testFilter.Port9])
	}
	if c.Packets[stageTestTx] != 0 || len(l.Out(0)) != 1 {
		t.Errorf("if1 -> if0: test-tx saw %d, want 0 (if0 has none on interface-output), and the packet sent", c.Packets[stageTestTx])
	}
	if err := l.Router.SetFeatures(0, nil); err != nil {
		t.Fatal(err)
	}
	l.Router.Publish()
	l.Send(0, fromA)
	c = l.Counters()
	if c.Packets[stageTestRx] != 2 || c.Packets[stageTestTx] != 1 || len(l.Out(1)) != 1 {
		t.Errorf("if0 -> if1: test-rx saw %d (want still 2), test-tx %d (want 1), sent %d", c.Packets[stageTestRx], c.Packets[stageTestTx], len(l.Out(1)))
	}
}

// TestFeatureArc enables the test-only feature node on if0 with one
// publish: if0's traffic runs through it (counted, port 9 dropped under
// its reason), if1's does not; disabling it is another publish.
func TestFeatureArc(t *testing.T) {
	l := dptest.New(t, dptest.Options{})
	fromA := func(port uint16) []byte {
		return dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, remoteHost, hdr.ProtoUDP, 64, false, dptest.UDP(1000, port, 20))
	}
	fromB := func(port uint16) []byte {
		return dptest.IPv4Frame(dptest.R1MAC, dptest.HostBMAC, dptest.HostB, dptest.HostA, hdr.ProtoUDP, 64, false, dptest.UDP(1000, port, 20))
	}
	// Off: nothing runs through it.
	l.Send(0, fromA(9))
	if c := l.Counters(); c.Packets[testFilter.Stage] != 0 || len(l.Out(1)) != 1 {
		t.Fatalf("feature off: test-filter saw %d packets, want 0 and the packet forwarded", c.Packets[testFilter.Stage])
	}
	publishes := l.Router.Stats().Publishes
	if err := l.Router.SetFeatures(0, []string{"test-filter"}); err != nil {
		t.Fatal(err)
	}
	l.Router.Publish()
	if n := l.Router.Stats().Publishes - publishes; n != 1 {
		t.Fatalf("enabling took %d publishes, want 1", n)
	}
	l.Send(0, fromA(53), fromA(9), fromA(54))
	l.Send(1, fromB(9))
	c := l.Counters()
	if c.Packets[testFilter.Stage] != 3 || c.Drops[testFilter.Port9] != 1 {
		t.Errorf("feature on if0: test-filter saw %d packets and dropped %d, want 3 and 1", c.Packets[testFilter.Stage], c.Drops[testFilter.Port9])
	}
	if out := l.Out(1); len(out) != 2 {
		t.Errorf("if0 -> if1: %d forwarded, want 2 (port 9 filtered)", len(out))
	}
	if out := l.Out(0); len(out) != 1 {
		t.Errorf("if1 -> if0: %d forwarded, want 1 (if1 has no features)", len(out))
	}
	if r := testFilter.Port9; r.String() != "test-filter/port-9" || r.Desc() != "UDP to the discard port" {
		t.Errorf("reason %q %q", r.String(), r.Desc())
	}
	// Off again: one more publish.
	if err := l.Router.SetFeatures(0, nil); err != nil {
		t.Fatal(err)
	}
	l.Router.Publish()
	l.Send(0, fromA(9))
	if c := l.Counters(); c.Packets[testFilter.Stage] != 3 || len(l.Out(1)) != 1 {
		t.Errorf("feature disabled: test-filter saw %d packets, want still 3, and the packet forwarded", c.Packets[testFilter.Stage])
	}
	if err := l.Router.SetFeatures(0, []string{"no-such-feature"}); err == nil || !strings.Contains(err.Error(), "no-such-feature is not a registered feature node") || !strings.Contains(err.Error(), "test-filter (ip4-unicast)") {
		t.Errorf("unknown feature: %v", err)
	}
	if err := l.Router.SetFeatures(0, []string{"ip4-lookup"}); err == nil {
		t.Error("a node of the fixed graph accepted as a feature")
	}
	if err := dp.CheckFeatures(&dp.Iface{Name: "if0.100", TagLen: 4, Features: []string{"test-rx"}}); err == nil || !strings.Contains(err.Error(), "enable it on the parent port") {
		t.Errorf("device-input feature on a VLAN: %v", err)
	}
	if err := dp.CheckFeatures(&dp.Iface{Name: "if0.100", TagLen: 4, Features: []string{"test-filter", "test-tx"}}); err != nil {
		t.Errorf("ip4-unicast and interface-output features on a VLAN: %v", err)
	}
}

// TestRegisterErrors: a node the graph cannot take is refused with what
// is wrong.
func TestRegisterErrors(t *testing.T) {
	run := func(*dp.Worker, *dp.Config, *pkt.Batch) {}
	for _, c := range []struct {
		name string
		node dp.Node
		want string
	}{
		{"unknown next", dp.Node{Name: "x-new", Run: run, Next: []string{"ip4-lookup", "nowhere"}}, `node "x-new": next node "nowhere" is not registered`},
		{"duplicate", dp.Node{Name: "ip4-input", Run: run}, `node "ip4-input" registered twice`},
		{"cycle", dp.Node{Name: "x-loop", Run: run, Next: []string{"x-loop"}}, `node "x-loop": next node "x-loop" closes a cycle: list it in Back`},
		{"no run", dp.Node{Name: "x-norun"}, `node "x-norun" has no Run function`},
		{"duplicate reason", dp.Node{Name: "x-r", Run: run, Reasons: []dp.ReasonDef{{Name: "a"}, {Name: "a"}}}, `drop reason "a" is empty or declared twice`},
	} {
		err := dp.ValidateNodes(c.node)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", c.name, err, c.want)
		}
	}
	if err := dp.ValidateNodes(); err != nil {
		t.Errorf("registered graph: %v", err)
	}
	func() {
		defer func() {
			if r := recover(); r == nil || !strings.Contains(r.(string), "before making workers") {
				t.Errorf("Register after NewWorker: panic %v", r)
			}
		}()
		dptest.New(t, dptest.Options{})
		dp.Register(dp.Node{Name: "too-late", Run: run})
	}()
}

// TestDispatchOrder: the order assembled from the Next edges serves every
// Next edge forward (ip4-rewrite before icmp4-error: a packet too big with
// DF set takes one pass less than with the hand-kept enum; icmp6-error
// before interface-output, which it sends link-local errors to), the first
// listed sibling first; the feature node runs before the end of its arc.
func TestDispatchOrder(t *testing.T) {
	var names []string
	for _, s := range dp.Stages() {
		names = append(names, s.String())
	}
	want := "early-drop test-rx ethernet-input l2-bridge arp-input ip4-input ip4-filter test-filter test-pass test-after ip4-lookup ip4-local ip4-rewrite ip4-arp ip4-frag icmp4-error ip6-input ip6-filter ip6-lookup ip6-local nd-input host-punt ip6-rewrite ip6-nd icmp6-error test-tx interface-output drop"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("dispatch order\n got %s\nwant %s", got, want)
	}
	if int(dp.NumStages) != len(names) {
		t.Errorf("NumStages %d, %d listed", dp.NumStages, len(names))
	}
	seen := map[string]bool{}
	for _, r := range dp.Reasons() {
		if seen[r.String()] || r.Name() == "" || r.Desc() == "" {
			t.Errorf("reason %d %q duplicated or unnamed", r, r.String())
		}
		seen[r.String()] = true
	}
	if len(seen) != int(dp.NumReasons)-1 {
		t.Errorf("%d reasons listed, NumReasons-1 = %d", len(seen), dp.NumReasons-1)
	}
}

// TestFeatureArcTrace: a traced packet shows the feature node's step with
// the note its registration declares.
func TestFeatureArcTrace(t *testing.T) {
	l := dptest.New(t, dptest.Options{})
	tr := tracefmt.NewTracer([]*dp.Worker{l.Worker})
	if err := l.Router.SetFeatures(0, []string{"test-filter"}); err != nil {
		t.Fatal(err)
	}
	l.Router.Publish()
	if err := tr.Start(2); err != nil {
		t.Fatal(err)
	}
	from := func(port uint16) []byte {
		return dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, remoteHost, hdr.ProtoUDP, 64, false, dptest.UDP(1000, port, 20))
	}
	l.Send(0, from(53), from(9))
	pkts := tr.Stop()
	if len(pkts) != 2 {
		t.Fatalf("%d packets traced, want 2", len(pkts))
	}
	for i, want := range []string{
		"ethernet-input:IPv4 on if0 ip4-input:header valid test-filter:filtered ip4-lookup:",
		"ethernet-input:IPv4 on if0 ip4-input:header valid test-filter:dropped: port-9 drop:test-filter/port-9: UDP to the discard port",
	} {
		var got []string
		for _, s := range pkts[i].Steps {
			got = append(got, s.Stage+":"+s.Note)
		}
		if g := strings.Join(got, " "); !strings.HasPrefix(g, want) {
			t.Errorf("packet %d: trace %q, want it to start %q", i+1, g, want)
		}
	}
	if p := pkts[1]; p.Fate != tracefmt.FateDrop || p.Reason != "test-filter/port-9" {
		t.Errorf("packet 2: fate %s %s, want drop test-filter/port-9", p.Fate, p.Reason)
	}
}

// Test-only feature nodes on ip4-unicast for PassNext: test-pass hands
// on the packets it keeps (all but UDP to port 9) with one PassNext per
// vector; test-after counts what reaches it.
var stageTestPass, stageTestAfter Stage

var _ = dp.Register(dp.Node{
	Name:  "test-pass",
	Stage: &stageTestPass,
	Arc:   ip4.ArcUnicast,
	Run: func(w *dp.Worker, _ *dp.Config, in *pkt.Batch) {
		k := 0
		for _, x := range in.B[:in.N] {
			if b := pkt.At(x); dptest.ToPort9(b) {
				w.Drop(b, testFilter.Port9)
				continue
			}
			in.B[k] = x
			k++
		}
		w.PassNext(stageTestPass, k)
	},
	Next: []string{"drop"},
})

var _ = dp.Register(countNode("test-after", &stageTestAfter, ip4.ArcUnicast))

// TestPassNext: a feature node that hands on its kept packets with
// PassNext sends them to the next feature of their interface (if0: a
// second feature) or to the arc's end (if1: the lookup, forwarded), as
// Next per packet does; the packets it dropped go nowhere else.
func TestPassNext(t *testing.T) {
	l := dptest.New(t, dptest.Options{})
	fromA := func(port uint16) []byte {
		return dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, remoteHost, hdr.ProtoUDP, 64, false, dptest.UDP(1000, port, 20))
	}
	fromB := func(port uint16) []byte {
		return dptest.IPv4Frame(dptest.R1MAC, dptest.HostBMAC, dptest.HostB, dptest.HostA, hdr.ProtoUDP, 64, false, dptest.UDP(1000, port, 20))
	}
	if err := l.Router.SetFeatures(0, []string{"test-pass", "test-after"}); err != nil {
		t.Fatal(err)
	}
	if err := l.Router.SetFeatures(1, []string{"test-pass"}); err != nil {
		t.Fatal(err)
	}
	l.Router.Publish()
	l.Send(0, fromA(7), fromA(9), fromA(8), fromA(9), fromA(6))
	c := l.Counters()
	if c.Packets[stageTestPass] != 5 || c.Packets[stageTestAfter] != 3 || c.Drops[testFilter.Port9] != 2 || len(l.Out(1)) != 3 {
		t.Errorf("if0: test-pass saw %d, test-after %d, dropped %d, sent %d; want 5, 3, 2, 3", c.Packets[stageTestPass], c.Packets[stageTestAfter], c.Drops[testFilter.Port9], len(l.Out(1)))
	}
	l.Send(1, fromB(7), fromB(9), fromB(8))
	c = l.Counters()
	if c.Packets[stageTestPass] != 8 || c.Packets[stageTestAfter] != 3 || c.Drops[testFilter.Port9] != 3 || len(l.Out(0)) != 2 {
		t.Errorf("if1: test-pass saw %d in all, test-after %d, dropped %d, sent %d; want 8, 3, 3, 2", c.Packets[stageTestPass], c.Packets[stageTestAfter], c.Drops[testFilter.Port9], len(l.Out(0)))
	}
}
