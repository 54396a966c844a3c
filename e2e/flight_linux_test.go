package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/softnet/softnet/api"
)

// flightConfig is examples/veth-router.yaml with two always-on
// captures: lan0's ICMP to rotating pcapng files, wan0's tx to a pcap.
const flightConfig = `workers: 1
interfaces:
  - name: wan0
    backend: afpacket
    device: veth-r1
    addresses: [10.0.2.1/24]
  - name: lan0
    backend: afpacket
    device: veth-r0
    addresses: [10.0.1.1/24]
captures:
  - name: lan
    interface: lan0
    filter: icmp and host 10.0.2.2
    path: flight/lan.pcapng
    max_size: 8KiB
    max_files: 3
  - {name: wan, interface: wan0, point: tx, path: wan.pcap, format: pcap}
`

// TestCLIFlight runs softnet run, the real binary, with always-on
// captures in its config while pings go through it: softnet check points
// at a bad filter's column; softnet show captures counts what they
// wrote; a reload that drops one keeps the other (same files); on
// shutdown every file is complete: tcpdump -r reads lan0's rotated files
// (no more than max_files) and wan0's pcap, with the pings in them.
func TestCLIFlight(t *testing.T) {
	need(t, "tcpdump")
	h1, rns, _ := vethRouterTopo(t)
	dir := copyExample(t, "veth-router.yaml")
	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "flight"), 0o755); err != nil {
		t.Fatal(err)
	}
	write("flight.yaml", flightConfig)

	bad := strings.Replace(flightConfig, "filter: icmp and host 10.0.2.2", "filter: icmp and port", 1)
	write("bad.yaml", bad)
	res := softnet(t, dir, "", time.Minute, "check", "-c", "bad.yaml")
	// (Outside the router's namespace check also misses the devices.)
	if res.Code == 0 || !strings.Contains(res.Err, `bad.yaml:14:26: captures[0].filter: "icmp and port": expression: column 14:`) {
		t.Errorf("check of a bad capture filter: want bad.yaml:14:26 (column 14 of the expression): %s", res)
	}

	r := startCLIRouter(t, dir, "flight.yaml", rns)
	r.waitForwards(t, h1, "10.0.2.2")
	const n = 60
	if p := ping(t, h1, "10.0.2.2", n, "-s", "200"); p.Received < n/2 {
		t.Fatalf("%d of %d pings answered:\n%s", p.Received, n, p.Output)
	}
	status := func() map[string]api.CaptureStatus {
		t.Helper()
		var cs []api.CaptureStatus
		out := r.ok(t, "show", "captures", "--json")
		if err := json.Unmarshal([]byte(out), &cs); err != nil {
			t.Fatalf("show captures --json: %v\n%s", err, out)
		}
		m := map[string]api.CaptureStatus{}
		for _, c := range cs {
			m[c.Name] = c
		}
		return m
	}
	var st map[string]api.CaptureStatus
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		st = status()
		if st["lan"].Packets >= 2*n/2 && st["wan"].Packets >= n/2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("show captures: %+v: want lan's requests and replies and wan's requests written", st)
		}
	}
	if st["lan"].Files < 3 || st["lan"].RingDrops != 0 || st["lan"].Error != "" {
		t.Errorf("lan: %+v: want 3 files or more (8KiB each), no drops or error", st["lan"])
	}
	human := r.ok(t, "show", "captures")
	if !strings.Contains(human, "PACKETS WRITTEN") || !strings.Contains(human, "lan0") || !strings.Contains(human, "wan.pcap") {
		t.Errorf("show captures:\n%s", human)
	}

	// Reload without wan: lan goes on (the same run, its count too).
	write("flight.yaml", strings.Replace(flightConfig, "  - {name: wan, interface: wan0, point: tx, path: wan.pcap, format: pcap}\n", "", 1))
	r.ok(t, "reload")
	after := status()
	if _, ok := after["wan"]; ok || after["lan"].Packets < st["lan"].Packets || after["lan"].Files < st["lan"].Files {
		t.Errorf("after the reload: %+v; want lan kept (was %+v), wan gone", after, st["lan"])
	}
	if p := ping(t, h1, "10.0.2.2", 3); p.Received == 0 {
		t.Errorf("no ping after the reload:\n%s", p.Output)
	}

	// Stop: the files are complete.
	r.cmd.Process.Signal(syscall.SIGTERM)
	if !r.wait(20 * time.Second) {
		t.Fatalf("softnet run did not stop in 20 s")
	}
	read := func(file string) []string {
		t.Helper()
		out, err := exec.Command("tcpdump", "-n", "-r", file).CombinedOutput()
		if err != nil {
			t.Fatalf("tcpdump -r %s: %v\n%s", file, err, out)
		}
		return packetLines(string(out))
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "flight"))
	var files []string
	for _, e := range ents {
		files = append(files, e.Name())
	}
	if len(files) != 3 {
		t.Fatalf("flight/: %v: want the newest 3 (max_files) of lan.pcapng.N", files)
	}
	total := 0
	for _, f := range files {
		lines := read(filepath.Join(dir, "flight", f))
		if len(lines) == 0 {
			t.Errorf("%s: no packets", f)
		}
		for _, l := range lines {
			if !strings.Contains(l, "10.0.1.2 > 10.0.2.2: ICMP echo request") && !strings.Contains(l, "10.0.2.2 > 10.0.1.2: ICMP echo reply") {
				t.Errorf("%s: a packet the filter should have kept out: %q", f, l)
			}
		}
		total += len(lines)
	}
	for _, f := range files {
		if !strings.HasPrefix(f, "lan.pcapng.") {
			t.Errorf("flight/%s: want only lan.pcapng.N", f)
		}
	}
	if total < 10 {
		t.Errorf("%d packets in the kept files %v", total, files)
	}
	wan := read(filepath.Join(dir, "wan.pcap"))
	if len(wan) < n/2 || !strings.Contains(strings.Join(wan, "\n"), "10.0.1.2 > 10.0.2.2: ICMP echo request") {
		t.Errorf("wan.pcap (wan0 tx, closed by the reload): %d packets:\n%s", len(wan), strings.Join(wan, "\n"))
	}
	t.Run("all-commands-ran", func(t *testing.T) { checkAllRan(t, "TestCLIFlight") })
}
