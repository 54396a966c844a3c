package e2e

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/softnet/softnet/api"
	"github.com/softnet/softnet/internal/netns"
	"github.com/softnet/softnet/lab"
)

// iface returns the API's entry for interface name.
func iface(t *testing.T, c *api.Client, name string) api.Interface {
	t.Helper()
	ifs, err := c.Interfaces(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range ifs {
		if i.Name == name {
			return i
		}
	}
	t.Fatalf("no interface %s in %+v", name, ifs)
	return api.Interface{}
}

// waitLink polls the API until name's link is want, for up to 10 s.
func waitLink(t *testing.T, c *api.Client, name, want string) api.Interface {
	t.Helper()
	var i api.Interface
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if i = iface(t, c, name); i.Link == want {
			return i
		}
	}
	t.Fatalf("interface %s: link %q after 10 s, want %q: %+v", name, i.Link, want, i)
	return i
}

// drops returns the router's drop counts by "stage/reason".
func drops(t *testing.T, c *api.Client) map[string]uint64 {
	t.Helper()
	e, err := c.Errors(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]uint64{}
	for _, d := range e.Drops {
		m[d.Stage+"/"+d.Reason] = d.Count
	}
	return m
}

// TestNoCarrier (issue 17, defect 6): host B sets its veth down, so the
// router's rb is up without carrier (NO-CARRIER). softnet says link down
// (API, metrics), withdraws the routes through it (ICMP destination
// unreachable to the sender) rather than counting a full ring or a busy
// device, and once B's veth is up again
// the link is up with no stale last error and pings pass.
func TestNoCarrier(t *testing.T) {
	need(t)
	topo, sn := router(t)
	ctx := context.Background()
	c := api.NewClient(sn.API)
	b := lab.AddrB.Addr().String()
	if p := ping(t, topo.A, b, 3); p.Received == 0 {
		t.Fatalf("no reply from B before the test:\n%s", p.Output)
	}
	if _, err := netns.IP(ctx, "-n", topo.B, "link", "set", lab.DevB, "down"); err != nil {
		t.Fatal(err)
	}
	out, err := netns.IP(ctx, "-n", topo.R, "link", "show", lab.DevRB)
	if err != nil || !strings.Contains(out, "NO-CARRIER") {
		t.Fatalf("rb with b0 down: want NO-CARRIER, got %q (%v)", out, err)
	}
	rb := waitLink(t, c, lab.DevRB, "down")
	if !strings.Contains(rb.LastError, "no carrier") {
		t.Errorf("rb without carrier: last_error %q, want it to say \"no carrier\"", rb.LastError)
	}
	m, err := c.Metrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("softnet_interface_up{interface=%q} 0", lab.DevRB); !strings.Contains(string(m), want) {
		t.Errorf("metrics: no %q", want)
	}

	before, portBefore := drops(t, c), rb.PortDrops
	p := ping(t, topo.A, b, 5)
	if p.Received != 0 {
		t.Fatalf("B answered with its veth down:\n%s", p.Output)
	}
	after := drops(t, c)
	rb = iface(t, c, lab.DevRB)
	t.Logf("drops %v; rb port drops %v", after, rb.PortDrops)
	for _, k := range []string{"interface-output/tx-full"} {
		if after[k] != before[k] {
			t.Errorf("%s grew by %d while rb had no carrier: the link is down, not a full ring", k, after[k]-before[k])
		}
	}
	for _, k := range []string{"tx-busy", "tx-ring-full"} {
		if rb.PortDrops[k] != portBefore[k] {
			t.Errorf("rb port drop %s grew by %d while rb had no carrier", k, rb.PortDrops[k]-portBefore[k])
		}
	}
	// Once softnet saw the link down, the routes through rb are withdrawn
	// (issue 16 d): A's pings get ICMP destination unreachable from the
	// router, and none is forwarded into rb to be dropped as iface-down.
	if !strings.Contains(p.Output, "Unreachable") {
		t.Errorf("no ICMP destination unreachable for the pings routed to rb without carrier:\n%s", p.Output)
	}
	for k, v := range after {
		if strings.HasSuffix(k, "/iface-down") && v != before[k] {
			t.Errorf("%s grew by %d: the routes through rb (link down) were not withdrawn", k, v-before[k])
		}
	}

	if _, err := netns.IP(ctx, "-n", topo.B, "link", "set", lab.DevB, "up"); err != nil {
		t.Fatal(err)
	}
	// Setting b0 down took host B's route to A with it.
	if _, err := netns.IP(ctx, "-n", topo.B, "route", "replace", lab.AddrA.Masked().String(), "via", lab.AddrRB.Addr().String()); err != nil {
		t.Fatal(err)
	}
	rb = waitLink(t, c, lab.DevRB, "up")
	if rb.LastError != "" {
		t.Errorf("rb up again, but last_error still %q", rb.LastError)
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if p = ping(t, topo.A, b, 2); p.Received > 0 {
			break
		}
	}
	if p.Received == 0 {
		t.Fatalf("no reply from B after its veth came back up:\n%s", p.Output)
	}
	if strings.Contains(p.Output, "DUP!") {
		t.Errorf("duplicate replies:\n%s", p.Output)
	}
}

// bNeighbor returns the router's neighbour entry for host B, or nil.
func bNeighbor(t *testing.T, c *api.Client) *api.Neighbor {
	t.Helper()
	ns, err := c.Neighbors(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range ns {
		if n.Address == lab.AddrB.Addr().String() && n.Interface == lab.DevRB {
			return &n
		}
	}
	return nil
}

// TestDeviceRecreatedNewMAC (issue 17, defect 8): the veth pair rb/b0 is
// deleted and re-created with a new MAC on host B's end. softnet forgets
// what it learned on rb when the device went away, resolves B afresh, and
// pings pass again within seconds, not after the 30 s a reachable entry
// with the old MAC would last.
func TestDeviceRecreatedNewMAC(t *testing.T) {
	need(t)
	topo, sn := router(t)
	ctx := context.Background()
	c := api.NewClient(sn.API)
	b := lab.AddrB.Addr().String()
	if p := ping(t, topo.A, b, 3); p.Received == 0 {
		t.Fatalf("no reply from B before the test:\n%s", p.Output)
	}
	if n := bNeighbor(t, c); n == nil || n.MAC != lab.MACB {
		t.Fatalf("host B not learned with %s: %+v", lab.MACB, n)
	}
	const newMAC = "02:53:4e:02:00:42"
	if err := topo.DeleteB(ctx); err != nil {
		t.Fatal(err)
	}
	// Re-created at once, as lab.RestoreB does, but B has a new NIC.
	if err := netns.AddVeth(ctx, netns.End{NS: topo.R, Name: lab.DevRB, MAC: lab.MACRB}, netns.End{NS: topo.B, Name: lab.DevB, MAC: newMAC}, topo.MTU); err != nil {
		t.Fatal(err)
	}
	for _, d := range []struct{ ns, dev string }{{topo.B, lab.DevB}, {topo.R, lab.DevRB}} {
		if err := lab.DisableOffloads(ctx, d.ns, d.dev); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := netns.IP(ctx, "-n", topo.B, "addr", "add", lab.AddrB.String(), "dev", lab.DevB); err != nil {
		t.Fatal(err)
	}
	if _, err := netns.IP(ctx, "-n", topo.B, "route", "add", lab.AddrA.Masked().String(), "via", lab.AddrRB.Addr().String()); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	var p lab.Ping
	for time.Since(t0) < 30*time.Second { // a deadline, not a threshold: the port retries every 200 ms
		if p = ping(t, topo.A, b, 1, "-W", "1"); p.Received > 0 {
			break
		}
	}
	took := time.Since(t0)
	if p.Received == 0 {
		n := bNeighbor(t, c)
		t.Fatalf("no reply from B within 30 s of re-creating its veth with a new MAC (softnet's entry for B: %+v):\n%s", n, p.Output)
	}
	t.Logf("B answered %v after the veth was re-created", took.Round(time.Millisecond))
	if n := bNeighbor(t, c); n == nil || n.MAC != newMAC {
		t.Errorf("softnet's neighbour entry for B: %+v, want MAC %s", n, newMAC)
	}
}

// sendARP sends one ARP packet (op 1 request, 2 reply) from host B's
// namespace on b0, with sender MAC sha (also the frame's source) and the
// given sender and target addresses, broadcast.
func sendARP(t *testing.T, topo *lab.Topology, op uint16, sha string, sip, tip netip.Addr) {
	t.Helper()
	mac, err := net.ParseMAC(sha)
	if err != nil {
		t.Fatal(err)
	}
	htons := func(v uint16) uint16 { return v<<8 | v>>8 }
	err = netns.Do(topo.B, func() error {
		ifc, err := net.InterfaceByName(lab.DevB)
		if err != nil {
			return err
		}
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		f := make([]byte, 42)
		for i := range 6 {
			f[i] = 0xff
		}
		copy(f[6:12], mac)
		f[12], f[13] = 0x08, 0x06 // ARP
		copy(f[14:], []byte{0, 1, 8, 0, 6, 4})
		f[20], f[21] = byte(op>>8), byte(op)
		s, d := sip.As4(), tip.As4()
		copy(f[22:28], mac)
		copy(f[28:32], s[:])
		copy(f[38:42], d[:])
		to := &unix.SockaddrLinklayer{Ifindex: ifc.Index, Protocol: htons(unix.ETH_P_ARP), Halen: 6, Addr: [8]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}
		return unix.Sendto(fd, f, 0, to)
	})
	if err != nil {
		t.Fatalf("sending ARP from %s: %v", topo.B, err)
	}
}

// waitBMAC polls the API until softnet's entry for B has mac, for up to
// 10 s (the control plane learns within milliseconds, unless the machine
// is loaded; no ageing involved: entries stay reachable for 30 s).
func waitBMAC(t *testing.T, c *api.Client, mac, what string) {
	t.Helper()
	var n *api.Neighbor
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if n = bNeighbor(t, c); n != nil && n.MAC == mac {
			return
		}
	}
	t.Fatalf("%s: softnet's entry for B is %+v, want MAC %s at once", what, n, mac)
}

// TestARPUpdatesNeighbor (issue 17, defect 8): host B announces a new MAC
// and softnet's neighbour table follows at once (RFC 826 merge): first
// with an ARP request for another host on the link (not aimed at the
// router, not gratuitous: it used to be ignored), then with a gratuitous
// ARP (arping -U).
func TestARPUpdatesNeighbor(t *testing.T) {
	need(t)
	topo, sn := router(t)
	c := api.NewClient(sn.API)
	b := lab.AddrB.Addr().String()
	if p := ping(t, topo.A, b, 3); p.Received == 0 {
		t.Fatalf("no reply from B before the test:\n%s", p.Output)
	}
	waitBMAC(t, c, lab.MACB, "before")
	other := netip.MustParseAddr("10.11.2.77")
	sendARP(t, topo, 1, "02:53:4e:02:00:51", lab.AddrB.Addr(), other)
	waitBMAC(t, c, "02:53:4e:02:00:51", "after B's ARP request for "+other.String())
	sendARP(t, topo, 1, "02:53:4e:02:00:52", lab.AddrB.Addr(), lab.AddrB.Addr())
	waitBMAC(t, c, "02:53:4e:02:00:52", "after B's gratuitous ARP")
	// Back to B's real MAC (a gratuitous reply this time): pings pass.
	sendARP(t, topo, 2, lab.MACB, lab.AddrB.Addr(), lab.AddrB.Addr())
	waitBMAC(t, c, lab.MACB, "after B's gratuitous ARP reply")
	if p := ping(t, topo.A, b, 3); p.Received == 0 {
		t.Fatalf("no reply from B after it announced its own MAC again:\n%s", p.Output)
	}
}

// TestSecondRouterRefused (issue 17, defect 7): a second `softnet run` on
// the lab router's devices exits at once with an error naming the device
// and the first router's pid; the first keeps forwarding, without
// duplicate replies.
func TestSecondRouterRefused(t *testing.T) {
	need(t)
	topo, sn := router(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := netns.Command(ctx, topo.R, binary, "run", "-c", sn.Config, "--api", sn.API+".2", "--duration", "10s")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("a second softnet on ra and rb ran (and exited 0):\n%s", out)
	}
	msg := string(out)
	t.Logf("second softnet: %v\n%s", err, msg)
	for _, want := range []string{"device " + lab.DevRA, "already used by another softnet process", fmt.Sprintf("pid %d", sn.Pid()), "stop that router first"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the second softnet's error does not say %q:\n%s", want, msg)
		}
	}
	if !sn.Alive() {
		t.Fatal("the first softnet exited")
	}
	p := ping(t, topo.A, lab.AddrB.Addr().String(), 5)
	if p.Received < 4 || strings.Contains(p.Output, "DUP!") {
		t.Errorf("ping A → B through the first router: %d/5 replies (DUP!: %v)\n%s", p.Received, strings.Contains(p.Output, "DUP!"), p.Output)
	}
}
