package e2e

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/softnet/softnet/api"
	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/internal/netns"
	"github.com/softnet/softnet/lab"
)

func init() {
	cliCovered["show rules"] = "TestFilterVeth"
	cliCovered["show states"] = "TestFilterVeth"
	cliCovered["states flush"] = "TestFilterVeth"
	cliCovered["table add"] = "TestFilterTableVeth"
	cliCovered["table del"] = "TestFilterTableVeth"
	cliCovered["table show"] = "TestFilterTableVeth"
}

// inNS runs f with its sockets made in namespace ns.
func inNS(t *testing.T, ns string, f func() error) {
	t.Helper()
	if err := netns.Do(ns, f); err != nil {
		t.Fatal(err)
	}
}

// TestFilterVeth runs examples/veth-filter.yaml (a default block, pass
// out, TCP and UDP from lan0 to a few ports, ping from lan0) as the
// router between two namespaces, with Go-crafted traffic: an established
// TCP connection passes both ways; a SYN to a port no rule passes, and
// one from the wan side, are dropped; a UDP reply passes while its state
// lives and not after it expired; an ICMP port unreachable about a
// passed UDP flow reaches its sender; show rules counts, show states
// lists, states flush removes (the flushed connection's next segment is
// dropped as no-state).
func TestFilterVeth(t *testing.T) {
	need(t)
	h1, rns, h2 := vethRouterTopo(t)
	dir := copyExample(t, "veth-filter.yaml")
	r := startCLIRouter(t, dir, "veth-filter.yaml", rns)
	r.waitForwards(t, h1, "10.0.2.2")
	if p := ping(t, h2, "10.0.1.2", 2, "-W", "1"); p.Received != 0 {
		t.Errorf("ping h2 → h1 (wan side, no rule): %d replies, want 0\n%s", p.Received, p.Output)
	}

	// TCP: h2 listens on 5201 (passed) and 5300 (not).
	var l5201, l5300 net.Listener
	inNS(t, h2, func() (err error) {
		if l5201, err = net.Listen("tcp4", "10.0.2.2:5201"); err != nil {
			return err
		}
		l5300, err = net.Listen("tcp4", "10.0.2.2:5300")
		return err
	})
	defer l5201.Close()
	defer l5300.Close()
	go func() {
		for {
			c, err := l5201.Accept()
			if err != nil {
				return
			}
			go func() {
				buf := make([]byte, 1500)
				for {
					n, err := c.Read(buf)
					if err != nil {
						c.Close()
						return
					}
					c.Write(buf[:n])
				}
			}()
		}
	}()
	var conn net.Conn
	inNS(t, h1, func() (err error) {
		conn, err = net.DialTimeout("tcp4", "10.0.2.2:5201", 5*time.Second)
		return err
	})
	defer conn.Close()
	echo := func(msg string) error {
		conn.SetDeadline(time.Now().Add(3 * time.Second))
		if _, err := conn.Write([]byte(msg)); err != nil {
			return err
		}
		buf := make([]byte, len(msg))
		n := 0
		for n < len(msg) {
			k, err := conn.Read(buf[n:])
			if err != nil {
				return err
			}
			n += k
		}
		if string(buf) != msg {
			return errors.New("echo differs")
		}
		return nil
	}
	for i := 0; i < 5; i++ {
		if err := echo(strings.Repeat("x", 1000)); err != nil {
			t.Fatalf("TCP echo %d through the established connection: %v", i, err)
		}
	}
	inNS(t, h1, func() error {
		c, err := net.DialTimeout("tcp4", "10.0.2.2:5300", 2*time.Second)
		if err == nil {
			c.Close()
			t.Errorf("TCP h1 → h2:5300 (no rule passes it) connected")
		} else if errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("TCP h1 → h2:5300: refused, so the SYN reached h2: want it dropped (a timeout)")
		}
		return nil
	})
	inNS(t, h2, func() error {
		l, err := net.Listen("tcp4", "0.0.0.0:0")
		if err != nil {
			return err
		}
		l.Close()
		c, err := net.DialTimeout("tcp4", "10.0.1.2:22", 2*time.Second)
		if err == nil || errors.Is(err, syscall.ECONNREFUSED) {
			if c != nil {
				c.Close()
			}
			t.Errorf("TCP h2 → h1:22 (wan side): %v, want a timeout (SYN dropped)", err)
		}
		return nil
	})

	// UDP: h2 answers on 7000; h1 sends from a connected socket.
	var u2 *net.UDPConn
	var u1, u1b *net.UDPConn
	inNS(t, h2, func() (err error) {
		u2, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(10, 0, 2, 2), Port: 7000})
		return err
	})
	defer u2.Close()
	inNS(t, h1, func() (err error) {
		if u1, err = net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(10, 0, 2, 2), Port: 7000}); err != nil {
			return err
		}
		u1b, err = net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(10, 0, 2, 2), Port: 7005}) // nothing listens
		return err
	})
	defer u1.Close()
	defer u1b.Close()
	if _, err := u1.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	u2.SetReadDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 100)
	n, from, err := u2.ReadFromUDP(buf)
	if err != nil || string(buf[:n]) != "ping" {
		t.Fatalf("UDP h1 → h2:7000: %v", err)
	}
	recv := func(what string, want bool) {
		t.Helper()
		if _, err := u2.WriteToUDP([]byte(what), from); err != nil {
			t.Fatal(err)
		}
		u1.SetReadDeadline(time.Now().Add(1500 * time.Millisecond))
		n, err := u1.Read(buf)
		got := err == nil && string(buf[:n]) == what
		if got != want {
			t.Errorf("UDP reply %q: arrived %v (%v), want %v", what, got, err, want)
		}
	}
	recv("reply while the state lives", true)

	// An ICMP port unreachable from h2 about h1's datagram to 7005.
	if _, err := u1b.Write([]byte("anyone?")); err != nil {
		t.Fatal(err)
	}
	u1b.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := u1b.Read(buf); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("UDP to h2:7005 (closed): read %v, want connection refused (the ICMP error about the passed flow reaches h1)", err)
	}

	// show rules and show states.
	var fr api.FilterRules
	if r.json(t, &fr, "show", "rules") {
		if len(fr.Rules) != 4 || fr.Rules[1].States < 2 || fr.Rules[0].States == 0 && fr.Rules[1].Packets == 0 || fr.Stats.States < 3 {
			t.Errorf("show rules: %+v", fr)
		}
		if fr.Rules[3].Packets == 0 {
			t.Errorf("show rules: the default policy decided nothing, but h2's SYNs and pings were blocked: %+v", fr.Rules[3])
		}
	}
	out := r.ok(t, "show", "rules")
	t.Logf("softnet show rules:\n%s", out)
	if !strings.Contains(out, "pass in on lan0 proto {tcp, udp} from <lan> to any port {5201, 7000:7010}") || !strings.Contains(out, "default block") {
		t.Errorf("show rules:\n%s", out)
	}
	var states []control.StateInfo
	if r.json(t, &states, "show", "states", "10.0.2.2", "5201", "tcp") {
		if len(states) != 1 || states[0].State != "ESTABLISHED:ESTABLISHED" || states[0].Iface != "lan0" || states[0].Rule != 2 {
			t.Errorf("show states 10.0.2.2 5201 tcp: %+v", states)
		}
	}
	out = r.ok(t, "show", "states")
	t.Logf("softnet show states:\n%s", out)
	if !strings.Contains(out, "udp") || !strings.Contains(out, "10.0.1.2:") {
		t.Errorf("show states:\n%s", out)
	}

	// The UDP state expires (timeouts udp 5 s): the reply no longer passes.
	time.Sleep(6500 * time.Millisecond)
	recv("reply after the state expired", false)

	// Flush the TCP state: the connection's next segment has none.
	if out := r.ok(t, "states", "flush", "tcp"); !strings.Contains(out, "flushed 1 states") {
		t.Errorf("states flush tcp: %q", out)
	}
	if err := echo("after the flush"); err == nil {
		t.Errorf("TCP echo after states flush: passed, want dropped (no state)")
	}
	if out := r.ok(t, "show", "errors"); !strings.Contains(out, "no-state") || !strings.Contains(out, "blocked") {
		t.Errorf("show errors: want ip4-filter/no-state and blocked:\n%s", out)
	}
	checkAllRan(t, "TestFilterVeth")
}

// TestFilterWorkersSymmetric: with two workers, on AF_PACKET and on
// AF_XDP (veths with two queues), both directions of every flow reach
// the worker that holds its state: many TCP connections open through a
// default-block filter (a reply on the other worker would find no state
// and be dropped), and every state counts packets from both sides.
// AF_PACKET spreads with PACKET_FANOUT_HASH: the kernel's flow hash,
// symmetric (__flow_hash_consistentify orders the addresses and ports).
// An AF_XDP queue is the NIC's choice (on veth the sender's queue): with
// a filter, run spreads such queues in software by rss's symmetric
// Toeplitz hash (run.filterSpread; without it 8 of 24 SYN-ACKs here
// reached the other worker and were dropped).
func TestFilterWorkersSymmetric(t *testing.T) {
	need(t)
	for _, backend := range []string{"afpacket", "afxdp"} {
		t.Run(backend, func(t *testing.T) {
			h1, rns, h2 := vethRouterTopo(t)
			dir := editExample(t, "veth-filter.yaml", "workers: 1", "workers: 2", "backend: afpacket", "backend: "+backend)
			if backend == "afxdp" {
				twoQueues(t, h1, rns, h2)
				for _, c := range []struct{ ns, dev string }{{h1, "veth-h1"}, {rns, "veth-r0"}, {rns, "veth-r1"}, {h2, "veth-h2"}} {
					netns.Output(context.Background(), c.ns, "ethtool", "-K", c.dev, "tx", "off", "rx", "off", "tso", "off", "gso", "off", "gro", "off")
				}
			}
			r := startCLIRouter(t, dir, "veth-filter.yaml", rns)
			r.waitForwards(t, h1, "10.0.2.2")
			var l net.Listener
			inNS(t, h2, func() (err error) {
				l, err = net.Listen("tcp4", "10.0.2.2:5201")
				return err
			})
			defer l.Close()
			go func() {
				for {
					c, err := l.Accept()
					if err != nil {
						return
					}
					go func() { io.Copy(c, c); c.Close() }()
				}
			}()
			const flows = 24
			var conns []net.Conn
			failed := 0
			for i := 0; i < flows; i++ {
				inNS(t, h1, func() error {
					c, err := net.DialTimeout("tcp4", "10.0.2.2:5201", 3*time.Second)
					if err != nil {
						failed++
						t.Errorf("connection %d: %v (its SYN-ACK reached another worker than its SYN?)", i, err)
						return nil
					}
					conns = append(conns, c)
					return nil
				})
			}
			for i, c := range conns {
				c.SetDeadline(time.Now().Add(3 * time.Second))
				buf := []byte("symmetric")
				if _, err := c.Write(buf); err != nil {
					t.Errorf("connection %d: write: %v", i, err)
					continue
				}
				if _, err := io.ReadFull(c, buf); err != nil {
					t.Errorf("connection %d: echo: %v", i, err)
				}
			}
			var states []control.StateInfo
			workers := map[int]int{}
			if r.json(t, &states, "show", "states", "tcp", "5201") {
				for _, s := range states {
					workers[s.Worker]++
					if s.Packets[0] == 0 || s.Packets[1] == 0 || s.State != "ESTABLISHED:ESTABLISHED" {
						t.Errorf("state %+v: want packets from both sides, established", s)
					}
				}
				if len(states) != len(conns) {
					t.Errorf("%d states for %d connections", len(states), len(conns))
				}
			}
			t.Logf("%s: %d connections, states per worker %v", backend, len(conns), workers)
			for _, c := range conns {
				c.Close()
			}
		})
	}
}

// TestFilterWorkersDeviceRecreated (the audit's bug): softnet with
// workers: 2 and a filter on AF_PACKET forwards h1's pings to h2; then
// the wan veth (veth-r1/veth-h2) is deleted and re-created, five times,
// and after each the pings must pass again. A filter's state lives on
// the worker that made it, so the reply must reach the worker its request
// did: queue i of every port must be member i of its fanout group. The
// wan port's queues reopen on their own workers when the device is back;
// before the fix each joined the new group as it reopened, so about every
// other re-creation the wan's members came in the other order, and every
// reply reached the other worker and was dropped ("blocked (in: default
// policy block)"): 0 of 10 pings.
func TestFilterWorkersDeviceRecreated(t *testing.T) {
	need(t)
	ctx := context.Background()
	h1, rns, h2 := vethRouterTopo(t)
	dir := editExample(t, "veth-filter.yaml", "workers: 1", "workers: 2")
	if b, err := os.ReadFile(filepath.Join(dir, "veth-filter.yaml")); err != nil || strings.Count(string(b), "backend: afpacket") != 2 {
		t.Fatalf("examples/veth-filter.yaml no longer has two afpacket interfaces (%v):\n%s", err, b)
	}
	r := startCLIRouter(t, dir, "veth-filter.yaml", rns)
	r.waitForwards(t, h1, "10.0.2.2")
	if p := ping(t, h1, "10.0.2.2", 10, "-W", "1"); p.Received != 10 {
		t.Fatalf("before any re-creation: %d of 10 pings h1 → h2 answered\n%s", p.Received, p.Output)
	}
	c := api.NewClient(r.Sock)
	for i := 1; i <= 5; i++ {
		if _, err := netns.IP(ctx, "-n", rns, "link", "del", "veth-r1"); err != nil {
			t.Fatal(err)
		}
		waitLink(t, c, "wan0", "down")
		if err := netns.AddVeth(ctx, netns.End{NS: rns, Name: "veth-r1"}, netns.End{NS: h2, Name: "veth-h2", MAC: macH2}, 1500); err != nil {
			t.Fatal(err)
		}
		for _, a := range [][]string{
			{"-n", h2, "addr", "add", "10.0.2.2/24", "dev", "veth-h2"},
			{"-n", h2, "route", "add", "default", "via", "10.0.2.1"},
		} {
			if _, err := netns.IP(ctx, a...); err != nil {
				t.Fatal(err)
			}
		}
		waitLink(t, c, "wan0", "up")
		// The first reply may wait for ARP on the new device; then all
		// must pass.
		var p lab.Ping
		for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); {
			if p = ping(t, h1, "10.0.2.2", 1, "-W", "1"); p.Received == 1 {
				break
			}
			r.mustAlive(t, "the wan veth was re-created")
		}
		if p.Received == 1 {
			p = ping(t, h1, "10.0.2.2", 10, "-W", "1")
		}
		if p.Received != 10 {
			nonzero := map[string]uint64{}
			for k, n := range drops(t, c) {
				if n != 0 {
					nonzero[k] = n
				}
			}
			t.Fatalf("re-creation %d: %d of 10 pings h1 → h2 answered (with 2 workers and a filter: the replies reached another worker than the requests?)\n%s\nsoftnet drops: %v",
				i, p.Received, p.Output, nonzero)
		}
		t.Logf("re-creation %d: 10 of 10 pings answered", i)
	}
}

// twoQueues re-creates vethRouterTopo's veths with two queues each (an
// AF_XDP socket per queue, one per worker).
func twoQueues(t *testing.T, h1, r, h2 string) {
	t.Helper()
	ctx := context.Background()
	for _, c := range [][]string{
		{"-n", h1, "link", "del", "veth-h1"},
		{"-n", h2, "link", "del", "veth-h2"},
		{"link", "add", "name", "veth-h1", "netns", h1, "address", macH1, "numtxqueues", "2", "numrxqueues", "2", "type", "veth", "peer", "name", "veth-r0", "netns", r, "numtxqueues", "2", "numrxqueues", "2"},
		{"link", "add", "name", "veth-r1", "netns", r, "numtxqueues", "2", "numrxqueues", "2", "type", "veth", "peer", "name", "veth-h2", "netns", h2, "address", macH2, "numtxqueues", "2", "numrxqueues", "2"},
		{"-n", h1, "link", "set", "veth-h1", "up"},
		{"-n", r, "link", "set", "veth-r0", "up"},
		{"-n", r, "link", "set", "veth-r1", "up"},
		{"-n", h2, "link", "set", "veth-h2", "up"},
		{"-n", h1, "addr", "add", "10.0.1.2/24", "dev", "veth-h1"},
		{"-n", h1, "route", "add", "default", "via", "10.0.1.1"},
		{"-n", h2, "addr", "add", "10.0.2.2/24", "dev", "veth-h2"},
		{"-n", h2, "route", "add", "default", "via", "10.0.2.1"},
	} {
		if _, err := netns.IP(ctx, c...); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFilterTableVeth changes examples/veth-filter.yaml's table <lan>
// (the rule pass in on lan0 ... from <lan> to port 5201) with the real
// binary while a connection through it echoes: softnet table del takes
// h1's prefix out, and a new connection from h1 is dropped while the
// established one goes on echoing (its state decides, and the swap
// stalls no worker); softnet table add puts h1 back and a new connection
// passes; table show lists the entries; mistakes are refused with what
// to do.
func TestFilterTableVeth(t *testing.T) {
	need(t)
	h1, rns, h2 := vethRouterTopo(t)
	dir := copyExample(t, "veth-filter.yaml")
	r := startCLIRouter(t, dir, "veth-filter.yaml", rns)
	r.waitForwards(t, h1, "10.0.2.2")
	var l net.Listener
	inNS(t, h2, func() (err error) {
		l, err = net.Listen("tcp4", "10.0.2.2:5201")
		return err
	})
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	dial := func() (net.Conn, error) {
		var c net.Conn
		err := netns.Do(h1, func() (err error) {
			c, err = net.DialTimeout("tcp4", "10.0.2.2:5201", 2*time.Second)
			return err
		})
		return c, err
	}
	conn, err := dial()
	if err != nil {
		t.Fatalf("TCP h1 → h2:5201 with h1 in <lan>: %v", err)
	}
	defer conn.Close()
	echo := func(what string) {
		t.Helper()
		msg := []byte(strings.Repeat("y", 500))
		conn.SetDeadline(time.Now().Add(3 * time.Second))
		if _, err := conn.Write(msg); err != nil {
			t.Fatalf("echo %s: %v", what, err)
		}
		if _, err := io.ReadFull(conn, msg); err != nil {
			t.Fatalf("echo %s through the established connection: %v", what, err)
		}
	}
	echo("before any change")

	out := r.ok(t, "table", "show")
	if !strings.Contains(out, "lan") || !strings.Contains(out, "NAME") {
		t.Errorf("table show:\n%s", out)
	}
	if out := r.ok(t, "table", "del", "lan", "10.0.1.0/24"); !strings.Contains(out, "table <lan>: 0 entries") {
		t.Errorf("table del lan 10.0.1.0/24: %q", out)
	}
	echo("after h1 left <lan>")
	if c, err := dial(); err == nil {
		c.Close()
		t.Errorf("TCP h1 → h2:5201 after table del: connected, want the SYN dropped (h1 no longer in <lan>)")
	}
	if out := r.ok(t, "table", "add", "lan", "10.0.1.2", "2001:db8:1::/48"); !strings.Contains(out, "table <lan>: 2 entries") {
		t.Errorf("table add lan 10.0.1.2 2001:db8:1::/48: %q", out)
	}
	c2, err := dial()
	if err != nil {
		t.Errorf("TCP h1 → h2:5201 after table add lan 10.0.1.2: %v", err)
	} else {
		c2.Close()
	}
	echo("after h1 came back")
	out = r.ok(t, "table", "show", "lan", "--entries", "0")
	if !strings.Contains(out, "\n  10.0.1.2\n") || !strings.Contains(out, "2001:db8:1::/48") {
		t.Errorf("table show lan --entries 0:\n%s", out)
	}
	r.fails(t, []string{"table", "add", "nosuch", "10.0.0.1"}, "no filter table <nosuch>", "lan")
	r.fails(t, []string{"table", "del", "lan", "10.9.9.9"}, "not an entry")
	r.fails(t, []string{"table", "add", "lan", "not-an-address"}, "table <lan>")
	var fr api.FilterRules
	if r.json(t, &fr, "show", "rules") && (len(fr.Rules) < 2 || fr.Rules[1].States < 2) {
		t.Errorf("show rules after the table changes: rule 2 made %+v states, want its counters kept across the swaps (2 or more)", fr.Rules)
	}
	checkAllRan(t, "TestFilterTableVeth")
}
