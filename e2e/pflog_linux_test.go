package e2e

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestFilterDropCapture (issue 14's pflog) runs examples/veth-filter.yaml,
// the real binary between namespaces, with one more rule that blocks
// lan0's UDP to port 7007: softnet capture --drop blocked prints a
// blocked datagram with the rule that blocked it, and writes h2's
// blocked ping to a pcapng file whose packet comment names the default
// policy; the example's always-on pflog capture (captures:, reason
// blocked) has both, with their rules, when softnet run stops.
func TestFilterDropCapture(t *testing.T) {
	need(t, "tcpdump")
	h1, rns, h2 := vethRouterTopo(t)
	const icmpRule = "    - pass in on lan0 proto icmp icmp-type echoreq\n"
	const udpRule = "block in on lan0 proto udp to any port 7007"
	dir := editExample(t, "veth-filter.yaml", icmpRule, icmpRule+"    - "+udpRule+"\n", "path: pflog.pcapng", "path: pflog.pcapng")
	r := startCLIRouter(t, dir, "veth-filter.yaml", rns)
	r.waitForwards(t, h1, "10.0.2.2")
	var u *net.UDPConn
	inNS(t, h1, func() (err error) {
		u, err = net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(10, 0, 2, 2), Port: 7007})
		return err
	})
	defer u.Close()
	blockedUDP := func() { u.Write([]byte("blocked")); time.Sleep(100 * time.Millisecond) }
	blockedPing := func() { ping(t, h2, "10.0.1.2", 1, "-W", "1") }

	// during runs a capture command and, until it exits, traffic.
	during := func(run func() cliResult, traffic func()) cliResult {
		t.Helper()
		done := make(chan cliResult, 1)
		go func() { done <- run() }()
		for deadline := time.Now().Add(40 * time.Second); time.Now().Before(deadline); {
			traffic()
			select {
			case res := <-done:
				return res
			default:
			}
		}
		res := <-done
		t.Errorf("the capture did not end while traffic ran for 40 s: %s", res)
		return res
	}

	const byRule = "rule 4 (" + udpRule + ")"
	res := during(func() cliResult {
		return r.cli(t, "capture", "--drop", "blocked", "-c", "1", "--timeout", "50s", "udp")
	}, blockedUDP)
	if res.Code != 0 || !strings.Contains(res.Out, "lan0 drop ip4-filter/blocked by "+byRule+" IP 10.0.1.2.") ||
		!strings.Contains(res.Out, "> 10.0.2.2.7007: UDP") {
		t.Errorf("capture --drop blocked udp: want h1's datagram to 7007 blocked by %s: %s", byRule, res)
	}

	file := filepath.Join(dir, "blocked.pcapng")
	res = during(func() cliResult {
		return r.cli(t, "capture", "--drop", "blocked", "-c", "1", "-w", file, "--timeout", "50s", "icmp")
	}, blockedPing)
	if res.Code != 0 || !strings.Contains(res.Err, "1 packets captured") {
		t.Fatalf("capture --drop blocked -w FILE icmp: %s", res)
	}
	out, err := exec.Command("tcpdump", "-n", "-r", file).CombinedOutput()
	if lines := packetLines(string(out)); err != nil || len(lines) != 1 || !strings.Contains(lines[0], "10.0.2.2 > 10.0.1.2: ICMP echo request") {
		t.Errorf("tcpdump -r %s: %v: want h2's ping:\n%s", file, err, out)
	}
	if b, _ := os.ReadFile(file); !strings.Contains(string(b), "wan0 drop ip4-filter/blocked worker 0, default policy block") {
		t.Errorf("%s: no packet comment %q", file, "wan0 drop ip4-filter/blocked worker 0, default policy block")
	}

	// The config's pflog: complete once softnet run stops.
	blockedUDP()
	blockedPing()
	r.cmd.Process.Signal(syscall.SIGTERM)
	if !r.wait(20 * time.Second) {
		t.Fatalf("softnet run did not stop in 20 s")
	}
	pflog := filepath.Join(dir, "pflog.pcapng")
	out, err = exec.Command("tcpdump", "-n", "-r", pflog).CombinedOutput()
	if err != nil || len(packetLines(string(out))) < 4 {
		t.Errorf("tcpdump -r %s: %v: want the 2 or more datagrams and pings blocked:\n%s", pflog, err, out)
	}
	b, _ := os.ReadFile(pflog)
	for _, want := range []string{"lan0 drop ip4-filter/blocked worker 0, " + byRule, "wan0 drop ip4-filter/blocked worker 0, default policy block"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s (the example's pflog capture): no packet comment %q", pflog, want)
		}
	}
	if strings.Contains(string(b), "ip4-lookup/") || strings.Contains(string(b), "no-state") {
		t.Errorf("%s: a drop other than blocked in the pflog", pflog)
	}
}
