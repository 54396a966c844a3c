package e2e

import (
	"context"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/softnet/softnet/dp/dptest"
	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/internal/netns"
)

// captureConfig is examples/veth-router.yaml with a VLAN sub-interface
// on wan0 and a blackhole route.
const captureConfig = `workers: 1
interfaces:
  - name: wan0
    backend: afpacket
    device: veth-r1
    addresses: [10.0.2.1/24]
  - name: wan0.100
    parent: wan0
    vlan: 100
    addresses: [10.0.3.1/24]
  - name: lan0
    backend: afpacket
    device: veth-r0
    addresses: [10.0.1.1/24]
routes:
  - {prefix: 203.0.113.0/24, blackhole: true}
neighbors:
  - {interface: wan0.100, address: 10.0.3.2, mac: 02:53:4e:0b:00:02}
icmp: {rate: 1000, burst: 100}
`

// TestCLICapture runs softnet capture, the real binary, against a router
// forwarding pings between namespaces: a filtered capture written to a
// pcapng file that tcpdump -r reads, -w - piped into tcpdump -r -, a
// --drop capture that shows the blackhole's reason, a capture on a VLAN
// sub-interface, and a filter error that points at its column.
func TestCLICapture(t *testing.T) {
	need(t, "tcpdump", "sh")
	h1, rns, h2 := vethRouterTopo(t)
	ctx := context.Background()
	dir := copyExample(t, "veth-router.yaml")
	if err := os.WriteFile(filepath.Join(dir, "capture.yaml"), []byte(captureConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	r := startCLIRouter(t, dir, "capture.yaml", rns)
	r.waitForwards(t, h1, "10.0.2.2")

	// during runs a capture command in the background and, until it
	// exits, traffic (one ping at a time from ns to each of dsts; with
	// no dsts, traffic()).
	var traffic func()
	during := func(t *testing.T, run func() cliResult, ns string, dsts ...string) cliResult {
		t.Helper()
		done := make(chan cliResult, 1)
		go func() { done <- run() }()
		for deadline := time.Now().Add(40 * time.Second); time.Now().Before(deadline); {
			for _, d := range dsts {
				cmd := netns.Command(ctx, ns, "ping", "-n", "-c", "1", "-W", "1", d)
				cmd.Run()
			}
			if len(dsts) == 0 {
				traffic()
			}
			select {
			case res := <-done:
				return res
			default:
			}
		}
		res := <-done
		t.Errorf("the capture did not end while pings ran for 40 s: %s", res)
		return res
	}

	t.Run("filter-to-file", func(t *testing.T) {
		file := filepath.Join(dir, "lan0.pcapng")
		res := during(t, func() cliResult {
			return r.cli(t, "capture", "-i", "lan0", "-c", "4", "-w", file, "--timeout", "50s", "icmp", "and", "host", "10.0.2.2")
		}, h1, "10.0.2.2", "10.0.1.1")
		if res.Code != 0 || !strings.Contains(res.Err, "4 packets captured") || !strings.Contains(res.Err, "packets dropped by the router's capture rings") {
			t.Fatalf("capture -c 4 -w FILE: %s", res)
		}
		out, err := exec.Command("tcpdump", "-n", "-r", file).CombinedOutput()
		if err != nil {
			t.Fatalf("tcpdump -r %s: %v\n%s", file, err, out)
		}
		lines := packetLines(string(out))
		if len(lines) != 4 {
			t.Fatalf("tcpdump read %d packets, want 4:\n%s", len(lines), out)
		}
		req, rep := 0, 0
		for _, l := range lines {
			switch {
			case strings.Contains(l, "10.0.1.2 > 10.0.2.2: ICMP echo request"):
				req++
			case strings.Contains(l, "10.0.2.2 > 10.0.1.2: ICMP echo reply"):
				rep++
			default:
				t.Errorf("a packet the filter (icmp and host 10.0.2.2) should have kept out, or garbled: %q", l)
			}
		}
		if req == 0 || rep == 0 {
			t.Errorf("want lan0's requests (rx) and replies (tx): %d and %d\n%s", req, rep, out)
		}
		b, _ := os.ReadFile(file)
		if !strings.Contains(string(b), "lan0 rx worker 0") || !strings.Contains(string(b), "lan0 tx worker 0") {
			t.Errorf("the pcapng file has no packet comments naming the interface, point and worker")
		}
	})

	t.Run("stdout-to-tcpdump", func(t *testing.T) {
		res := during(t, func() cliResult {
			cctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			cmd := exec.CommandContext(cctx, "sh", "-c", binary+" capture -i wan0 --tx -c 2 -w - icmp | tcpdump -n -r -")
			cmd.Env = append(os.Environ(), "SOFTNET_API="+r.Sock)
			var out, errb strings.Builder
			cmd.Stdout, cmd.Stderr = &out, &errb
			err := cmd.Run()
			res := cliResult{Out: out.String(), Err: errb.String()}
			if err != nil {
				res.Code = 1
				res.Err += "\n" + err.Error()
			}
			return res
		}, h1, "10.0.2.2")
		lines := packetLines(res.Out)
		if res.Code != 0 || len(lines) != 2 || !strings.Contains(res.Err, "2 packets captured") {
			t.Fatalf("softnet capture -i wan0 --tx -c 2 -w - icmp | tcpdump -n -r -: want 2 packets: %s", res)
		}
		for _, l := range lines {
			if !strings.Contains(l, "10.0.1.2 > 10.0.2.2: ICMP echo request") {
				t.Errorf("wan0 tx: want the requests forwarded to h2, got %q", l)
			}
		}
	})

	t.Run("drop-reason", func(t *testing.T) {
		res := during(t, func() cliResult {
			return r.cli(t, "capture", "--drop", "ip4-lookup/blackhole", "-c", "1", "--timeout", "50s")
		}, h1, "203.0.113.9")
		if res.Code != 0 || !strings.Contains(res.Out, "lan0 drop ip4-lookup/blackhole IP 10.0.1.2 > 203.0.113.9: ICMP echo request") {
			t.Fatalf("capture --drop ip4-lookup/blackhole: want the ping to 203.0.113.9 with its reason: %s", res)
		}
	})

	// The kernel here has no 802.1Q module: h2's side of VLAN 100 is an
	// AF_PACKET socket sending tagged pings to the router's 10.0.3.1.
	t.Run("vlan", func(t *testing.T) {
		wan, ok := r.ifaces(t)["wan0"]
		if !ok {
			t.Fatal("no wan0 in show interfaces")
		}
		rmac := mustMAC(wan.MAC)
		s, err := openRaw(h2, "veth-h2")
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		host, rtr := netip.MustParseAddr("10.0.3.2"), netip.MustParseAddr("10.0.3.1")
		seq := uint16(0)
		traffic = func() {
			seq++
			f := dptest.Tag(dptest.IPv4Frame(rmac, mustMAC(macH2), host, rtr, hdr.ProtoICMP, 64, false, dptest.Echo(7, seq, 32)), hdr.EtherTypeVLAN, 100)
			if err := s.send(f); err != nil {
				t.Error(err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		res := during(t, func() cliResult {
			return r.cli(t, "capture", "-i", "wan0.100", "-c", "2", "--timeout", "50s", "icmp")
		}, h2)
		if res.Code != 0 || !strings.Contains(res.Out, "wan0.100 rx vlan 100, IP 10.0.3.2 > 10.0.3.1: ICMP echo request") ||
			!strings.Contains(res.Out, "wan0.100 tx vlan 100, IP 10.0.3.1 > 10.0.3.2: ICMP echo reply") {
			t.Fatalf("capture -i wan0.100: want the tagged request (rx) and reply (tx): %s", res)
		}
	})

	t.Run("filter-error", func(t *testing.T) {
		r.fails(t, []string{"capture", "-i", "lan0", "tcp port foo"}, "column 10", "  tcp port foo\n           ^")
	})

	t.Run("all-commands-ran", func(t *testing.T) { checkAllRan(t, "TestCLICapture") })
}

// packetLines is tcpdump -r's packet lines (it prints "reading from file"
// on stderr, and nothing else on stdout).
func packetLines(out string) []string {
	var l []string
	for _, s := range strings.Split(out, "\n") {
		if s != "" && !strings.HasPrefix(s, "reading from") {
			l = append(l, s)
		}
	}
	return l
}
