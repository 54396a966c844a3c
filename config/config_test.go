package config

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// base is a valid config the error cases below edit. Line numbers matter:
// the cases' expected messages count from here.
const base = `workers: 1
interfaces:
  - name: lan0
    backend: mem
    addresses: [10.0.1.1/24]
  - name: wan0
    backend: pcap
    tx: out.pcap
    mac: 02:00:00:00:00:02
    addresses: [10.0.2.1/24]
routes:
  - {prefix: 198.18.0.0/15, via: 10.0.2.2}
neighbors:
  - {interface: wan0, address: 10.0.2.2, mac: 02:bb:00:00:00:02}
`

func TestParseValid(t *testing.T) {
	c, err := Parse("t.yaml", []byte(base+"icmp: {rate: 10, burst: 5}\nroute_files:\n  - {path: embedded:full-table, blackhole: true}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Workers != 1 || len(c.Interfaces) != 2 || len(c.Routes) != 1 || len(c.Neighbors) != 1 || len(c.RouteFiles) != 1 {
		t.Fatalf("parsed %+v", c)
	}
	w := c.Interfaces[1]
	if w.Name != "wan0" || w.Backend != PCAP || w.TX != "out.pcap" || w.MAC != [6]byte{2, 0, 0, 0, 0, 2} ||
		len(w.Addresses) != 1 || w.Addresses[0] != netip.MustParsePrefix("10.0.2.1/24") {
		t.Errorf("wan0 = %+v", w)
	}
	if r := c.Routes[0]; r.Prefix != netip.MustParsePrefix("198.18.0.0/15") || r.Via != netip.MustParseAddr("10.0.2.2") || r.Blackhole {
		t.Errorf("route = %+v", r)
	}
	if c.ICMP != (ICMP{Rate: 10, Burst: 5}) {
		t.Errorf("icmp = %+v", c.ICMP)
	}
	if !c.RouteFiles[0].Blackhole || c.RouteFiles[0].Path != EmbeddedFullTable {
		t.Errorf("route file = %+v", c.RouteFiles[0])
	}
	if got := c.Path("out.pcap"); got != "out.pcap" {
		t.Errorf("Path = %q", got)
	}
	c.File = "/etc/softnet/r.yaml"
	if got := c.Path("out.pcap"); got != "/etc/softnet/out.pcap" {
		t.Errorf("Path relative to the config = %q", got)
	}
	if got, want := c.Summary(nil), "2 interfaces, 1 route, 1 route file, 1 neighbor, 1 worker"; got != want {
		t.Errorf("Summary = %q, want %q", got, want)
	}
}

func TestDefaults(t *testing.T) {
	c, err := Parse("t.yaml", []byte("interfaces:\n  - {name: a, backend: mem}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Workers != 1 || c.ICMP != (ICMP{Rate: 1000, Burst: 100}) || c.PollMode != PollInterrupt || c.PollWindow != 0 {
		t.Errorf("defaults: workers %d icmp %+v poll_mode %q poll_window %v", c.Workers, c.ICMP, c.PollMode, c.PollWindow)
	}
}

// TestPollMode: poll_mode and poll_window are read as written.
func TestPollMode(t *testing.T) {
	for _, m := range PollModes {
		src := "poll_mode: " + m + "\ninterfaces:\n  - {name: a, backend: mem}\n"
		if m == PollAdaptive {
			src += "poll_window: 2ms\n"
		}
		c, err := Parse("t.yaml", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		if c.PollMode != m {
			t.Errorf("poll_mode %s read as %q", m, c.PollMode)
		}
		if m == PollAdaptive && c.PollWindow != 2*time.Millisecond {
			t.Errorf("poll_window 2ms read as %v", c.PollWindow)
		}
	}
}

// edit replaces old (which must occur once) in base.
func edit(t *testing.T, old, new string) string {
	t.Helper()
	if strings.Count(base, old) != 1 {
		t.Fatalf("%q is not in base once", old)
	}
	return strings.Replace(base, old, new, 1)
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, old, new string
		want           []string
	}{
		{"unknown top field", "workers: 1", "wrokers: 1", []string{
			`t.yaml:1:1: unknown field "wrokers": did you mean "workers"? known fields are workers, poll_mode, poll_window, interfaces, routes, route_files, neighbors, bridges, blocklists, icmp, api, linux_cp, filter, captures`}},
		{"bad poll mode", "workers: 1", "workers: 1\npoll_mode: busy", []string{
			`t.yaml:2:12: poll_mode: "busy" is not a poll mode: choose interrupt, adaptive, polling`}},
		{"bad poll window", "workers: 1", "workers: 1\npoll_mode: adaptive\npoll_window: 5", []string{
			`t.yaml:3:14: poll_window: "5" is not a duration: write e.g. 500us or 2ms`}},
		{"poll window out of range", "workers: 1", "workers: 1\npoll_mode: adaptive\npoll_window: 2s", []string{
			`t.yaml:3:14: poll_window: 2s is out of range: use 1µs..1s`}},
		{"poll window with the default mode", "workers: 1", "workers: 1\npoll_window: 1ms", []string{
			`t.yaml:2:14: poll_window: applies to poll_mode adaptive, and poll_mode is interrupt: drop poll_window, or set poll_mode: adaptive`}},
		{"poll window without adaptive", "workers: 1", "workers: 1\npoll_mode: polling\npoll_window: 1ms", []string{
			`t.yaml:3:14: poll_window: applies to poll_mode adaptive, and poll_mode is polling: drop poll_window, or set poll_mode: adaptive`}},
		{"unknown interface field", "    tx: out.pcap", "    tx: out.pcap\n    speed: 10", []string{
			`t.yaml:9:5: interfaces[1]: unknown field "speed": known fields are name, backend, device, rx, tx, loop, rate, limit, mac, mtu, addresses, down, stack_drop, router_advertisements, parent, vlan, outer_vlan, tpid, bridge`}},
		{"duplicate key", "    tx: out.pcap", "    tx: out.pcap\n    tx: b.pcap", []string{
			`t.yaml:9:5: interfaces[1].tx: set twice (first at line 8): keep one`}},
		{"duplicate name", "name: wan0", "name: lan0", []string{
			`t.yaml:6:11: interfaces[1].name: "lan0" is already the name of interfaces[0] (line 3): names must be unique`,
			`t.yaml:14:17: neighbors[0].interface: no interface is named "wan0" (interfaces: lan0)`}},
		{"bad name", "name: wan0", "name: wan 0", []string{
			`t.yaml:6:11: interfaces[1].name: "wan 0" is not a valid name: use 1..32 letters, digits, '-', '_' and '.'`,
			`t.yaml:14:17: neighbors[0].interface: no interface is named "wan0" (interfaces: lan0, wan 0)`}},
		{"missing name", "  - name: lan0\n    backend: mem", "  - backend: mem", []string{
			`t.yaml:3:5: interfaces[0].name: missing: every interface needs a name, e.g. name: lan0`}},
		{"bad address", "[10.0.2.1/24]", "[10.0.2.300/24]", []string{
			`t.yaml:10:17: interfaces[1].addresses[0]: "10.0.2.300/24" is not an IPv4 prefix (write it as A.B.C.D/N, e.g. 192.0.2.1/24)`,
			`t.yaml:12:34: routes[0].via: 10.0.2.2 is on no interface's subnet (lan0 10.0.1.0/24) (some interface addresses are invalid: fix them first): add an address on its subnet to an interface, or fix the next hop`}},
		{"address without length", "[10.0.1.1/24]", "[10.0.1.1]", []string{
			`t.yaml:5:17: interfaces[0].addresses[0]: "10.0.1.1" has no prefix length (write it as A.B.C.D/N, e.g. 192.0.2.1/24)`}},
		{"IPv4-mapped address", "[10.0.1.1/24]", "[10.0.1.1/24, '::ffff:10.0.9.1/120']", []string{
			`t.yaml:5:30: interfaces[0].addresses[1]: "::ffff:10.0.9.1/120" is not an IPv4 prefix (write it as A.B.C.D/N, e.g. 192.0.2.1/24)`}},
		{"network address", "[10.0.1.1/24]", "[10.0.1.0/24]", []string{
			`t.yaml:5:17: interfaces[0].addresses[0]: 10.0.1.0/24 is the subnet's network address: an interface address needs a host part, e.g. 10.0.1.1/24`}},
		{"broadcast address", "[10.0.1.1/24]", "[10.0.1.255/24]", []string{
			`t.yaml:5:17: interfaces[0].addresses[0]: 10.0.1.255/24 is the subnet's broadcast address: use a host address, e.g. 10.0.1.1/24`}},
		{"overlapping subnets", "[10.0.2.1/24]", "[10.0.1.9/16]", []string{
			`t.yaml:10:17: interfaces[1].addresses[0]: 10.0.1.9/16 overlaps 10.0.1.1/24 of lan0 (line 5): each interface needs its own subnet`}},
		{"addresses not a list", "[10.0.1.1/24]", "10.0.1.1/24", []string{
			`t.yaml:5:16: interfaces[0].addresses: want a list, e.g. [192.0.2.1/24]; got "10.0.1.1/24"`}},
		{"bad MAC", "mac: 02:00:00:00:00:02", "mac: 02:00:00:00:00", []string{
			`t.yaml:9:10: interfaces[1].mac: "02:00:00:00:00" is not a MAC address (write six hex bytes, e.g. 02:00:00:00:00:01)`}},
		{"multicast MAC", "mac: 02:00:00:00:00:02", "mac: 01:00:5e:00:00:01", []string{
			`t.yaml:9:10: interfaces[1].mac: 01:00:5e:00:00:01 is not a unicast MAC address: the first byte must be even and the address not all zeros (e.g. 02:00:00:00:00:01)`}},
		{"MTU out of range", "    tx: out.pcap", "    tx: out.pcap\n    mtu: 60", []string{
			`t.yaml:9:10: interfaces[1].mtu: 60 is out of range: use 68..9258`}},
		{"MTU not a number", "    tx: out.pcap", "    tx: out.pcap\n    mtu: big", []string{
			`t.yaml:9:10: interfaces[1].mtu: "big" is not a whole number (write e.g. 1500)`}},
		{"workers out of range", "workers: 1", "workers: 65", []string{
			`t.yaml:1:10: workers: 65 is out of range: use 1..64`}},
		{"unknown backend", "backend: mem", "backend: dpdk", []string{
			`t.yaml:4:14: interfaces[0].backend: unknown backend "dpdk": choose one of afpacket, afxdp, tap, pcap, mem`}},
		{"missing backend", "    backend: mem\n", "", []string{
			`t.yaml:3:5: interfaces[0].backend: missing: choose one of afpacket, afxdp, tap, pcap, mem`}},
		{"afpacket without device", "backend: mem", "backend: afpacket", []string{
			`t.yaml:3:5: interfaces[0].device: missing: the afpacket backend needs the Linux device to use, e.g. device: eth0`}},
		{"afxdp without device", "backend: mem", "backend: afxdp", []string{
			`t.yaml:3:5: interfaces[0].device: missing: the afxdp backend needs the Linux device to use, e.g. device: eth0`}},
		{"afxdp mtu above a UMEM chunk", "backend: mem", "backend: afxdp\n    device: eth0\n    mtu: 3819", []string{
			`t.yaml:6:10: interfaces[0].mtu: 3819 is above what the afxdp backend holds: at most 3818 (a 4096-byte UMEM chunk less the kernel's 256-byte XDP headroom, the Ethernet header and two VLAN tags); lower it, or use backend: afpacket for larger frames`}},
		{"bad device name", "backend: mem", "backend: afpacket\n    device: a/b", []string{
			`t.yaml:5:13: interfaces[0].device: "a/b" is not a Linux device name: use 1..15 characters, no '/', ':' or spaces`}},
		{"device on mem", "backend: mem", "backend: mem\n    device: eth0", []string{
			`t.yaml:5:13: interfaces[0].device: only the afpacket, afxdp and tap backends have device: remove it (this interface's backend is mem)`}},
		{"pcap field on afpacket", "backend: mem", "backend: afpacket\n    device: eth0\n    rx: in.pcap", []string{
			`t.yaml:6:9: interfaces[0].rx: only the pcap backend has rx: remove it (this interface's backend is afpacket)`}},
		{"stack_drop on afxdp", "backend: mem", "backend: afxdp\n    device: eth0\n    stack_drop: true", []string{
			`t.yaml:6:17: interfaces[0].stack_drop: only the afpacket backend has stack_drop: remove it (this interface's backend is afxdp)`}},
		{"same device twice", "backend: mem", "backend: afpacket\n    device: eth0", nil}, // fixed up below
		{"pcap without files", "    tx: out.pcap\n", "", []string{
			`t.yaml:6:5: interfaces[1]: the pcap backend needs rx (a file to replay) or tx (a file to write), or both`}},
		{"loop without rx", "    tx: out.pcap", "    tx: out.pcap\n    loop: true", []string{
			`t.yaml:9:11: interfaces[1].loop: loop replays rx, and there is no rx`}},
		{"loop not a bool", "    tx: out.pcap", "    tx: out.pcap\n    loop: yes", []string{
			`t.yaml:9:11: interfaces[1].loop: "yes" is not a boolean: write true or false`}},
		{"negative rate", "    tx: out.pcap", "    tx: out.pcap\n    rate: -1", []string{
			`t.yaml:9:11: interfaces[1].rate: "-1" is not a number >= 0 (write e.g. 1000)`}},
		{"route prefix not a prefix", "198.18.0.0/15", "198.18.0.0/33", []string{
			`t.yaml:12:14: routes[0].prefix: "198.18.0.0/33" is not an IPv4 prefix (write it as A.B.C.D/N, e.g. 192.0.2.1/24)`}},
		{"route host bits", "198.18.0.0/15", "198.19.0.0/15", []string{
			`t.yaml:12:14: routes[0].prefix: "198.19.0.0/15" has host bits set: write 198.18.0.0/15`}},
		{"via on no subnet", "via: 10.0.2.2}", "via: 192.0.2.2}", []string{
			`t.yaml:12:34: routes[0].via: 192.0.2.2 is on no interface's subnet (lan0 10.0.1.0/24, wan0 10.0.2.0/24): add an address on its subnet to an interface, or fix the next hop`}},
		{"via is ours", "via: 10.0.2.2}", "via: 10.0.2.1}", []string{
			`t.yaml:12:34: routes[0].via: 10.0.2.1 is wan0's own address: a next hop must be another host on its subnet`}},
		{"via not an address", "via: 10.0.2.2}", "via: gw}", []string{
			`t.yaml:12:34: routes[0].via: "gw" is not an IPv4 address (write it as A.B.C.D)`}},
		{"route without next hop", ", via: 10.0.2.2}", "}", []string{
			`t.yaml:12:5: routes[0]: needs a next hop (via: A.B.C.D) or blackhole: true`}},
		{"route with both", "via: 10.0.2.2}", "via: 10.0.2.2, blackhole: true}", []string{
			`t.yaml:12:55: routes[0]: has both via and blackhole: keep one`}},
		{"route without prefix", "prefix: 198.18.0.0/15, ", "", []string{
			`t.yaml:12:5: routes[0].prefix: missing: write the destination, e.g. prefix: 198.18.0.0/15`}},
		{"duplicate route", "via: 10.0.2.2}\n", "via: 10.0.2.2}\n  - {prefix: 198.18.0.0/15, blackhole: true}\n", []string{
			`t.yaml:13:14: routes[1].prefix: 198.18.0.0/15 is already routed by routes[0] (line 12): keep one`}},
		{"route is not a mapping", "  - {prefix: 198.18.0.0/15, via: 10.0.2.2}", "  - 198.18.0.0/15 via 10.0.2.2", []string{
			`t.yaml:12:5: routes[0]: want a mapping (key: value lines), e.g. {prefix: 198.18.0.0/15, via: 192.0.2.2}; got "198.18.0.0/15 via 10.0.2.2"`}},
		{"neighbor on unknown interface", "{interface: wan0,", "{interface: dmz0,", []string{
			`t.yaml:14:17: neighbors[0].interface: no interface is named "dmz0" (interfaces: lan0, wan0)`}},
		{"neighbor off subnet", "address: 10.0.2.2,", "address: 10.0.1.2,", []string{
			`t.yaml:14:32: neighbors[0].address: 10.0.1.2 is not on a subnet of wan0 (10.0.2.0/24): fix the address or the interface`}},
		{"neighbor without mac", ", mac: 02:bb:00:00:00:02}", "}", []string{
			`t.yaml:14:5: neighbors[0].mac: missing: a neighbor needs interface, address and mac`}},
		{"route file without path", "workers: 1", "workers: 1\nroute_files:\n  - {via: 10.0.2.2}", []string{
			`t.yaml:3:5: route_files[0].path: missing: write a file of prefixes, or embedded:full-table`}},
		{"unknown embedded table", "workers: 1", "workers: 1\nroute_files:\n  - {path: embedded:small, via: 10.0.2.2}", []string{
			`t.yaml:3:12: route_files[0].path: "embedded:small": the only embedded table is embedded:full-table`}},
		{"icmp unknown field", "workers: 1", "workers: 1\nicmp: {rate: 5, bucket: 10}", []string{
			`t.yaml:2:17: icmp: unknown field "bucket": known fields are rate, burst`}},
		{"no interfaces", base, "workers: 2\n", []string{
			`t.yaml:1:1: interfaces: missing: a router needs at least one interface (see examples/two-port-mem.yaml)`}},
		{"top level is a list", base, "- a\n- b\n", []string{
			`t.yaml:1:1: want a mapping (key: value lines), e.g. interfaces: [...]; got a list`}},
		{"two documents", base, base + "---\nworkers: 2\n", []string{
			`t.yaml:15:1: a second YAML document (after ---): a config is one document, remove the ---`}},
		{"syntax error", "    backend: mem\n", "    backend: mem\n   bad: [\n", nil}, // line checked below
		{"empty", base, "", []string{
			`t.yaml: the config is empty: it needs at least an interfaces list (see examples/two-port-mem.yaml)`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := edit(t, tc.old, tc.new)
			if tc.old == base {
				src = tc.new
			}
			if tc.name == "same device twice" {
				src = strings.Replace(src, "backend: pcap\n    tx: out.pcap", "backend: tap\n    device: eth0", 1)
				tc.want = []string{`t.yaml:9:13: interfaces[1].device: device "eth0" is already used by interfaces[0] (line 5): one interface per device`}
			}
			_, err := Parse("t.yaml", []byte(src))
			if err == nil {
				t.Fatalf("no error for\n%s", src)
			}
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("error %T is not Errors", err)
			}
			if tc.name == "syntax error" {
				// The line of the problem: TestSyntaxErrorLine.
				if len(es) != 1 || es[0].Pos.Line == 0 || !strings.HasPrefix(es[0].Error(), fmt.Sprintf("t.yaml:%d: YAML syntax: ", es[0].Pos.Line)) {
					t.Fatalf("got %v", err)
				}
				return
			}
			var got []string
			for _, e := range es {
				got = append(got, e.Error())
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("source:\n%s\ngot:\n%s\nwant:\n%s", src, strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestMaxErrors(t *testing.T) {
	var b strings.Builder
	b.WriteString("interfaces:\n  - {name: a, backend: mem}\nroutes:\n")
	for i := range 30 {
		fmt.Fprintf(&b, "  - {prefix: 10.%d.0.0/16, via: 192.0.2.1}\n", i)
	}
	_, err := Parse("t.yaml", []byte(b.String()))
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("got %v", err)
	}
	if len(es) != MaxErrors+1 || !strings.Contains(es[MaxErrors].Msg, "10 more errors not shown") {
		t.Errorf("got %d errors, last %v", len(es), es[len(es)-1])
	}
}

func TestLoadMissing(t *testing.T) {
	_, err := Load("/nonexistent/x.yaml")
	if err == nil || err.Error() != "/nonexistent/x.yaml: cannot read the config: no such file or directory" {
		t.Errorf("got %v", err)
	}
}

func TestCheckSystem(t *testing.T) {
	dir := t.TempDir()
	routes := filepath.Join(dir, "routes.txt")
	if err := os.WriteFile(routes, []byte("# test\n203.0.113.0/24\n2001:db8::/32\n198.51.100.0/24\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := `interfaces:
  - {name: a, backend: afpacket, device: nosuchdev0, addresses: [10.0.1.1/24]}
  - {name: b, backend: pcap, rx: missing.pcap, tx: nodir/out.pcap}
  - {name: c, backend: tap, device: nosuchtap0}
route_files:
  - {path: routes.txt, via: 10.0.1.2}
  - {path: other.txt, via: 10.0.1.2}
`
	file := filepath.Join(dir, "r.yaml")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(file)
	if err != nil {
		t.Fatal(err)
	}
	err = c.CheckSystem()
	want := []string{
		file + `:2:42: interfaces[0].device: no network device "nosuchdev0" on this host (see ip link; create it, e.g. ip link add nosuchdev0 type veth peer name nosuchdev0-peer, or fix the name)`,
		file + `:3:34: interfaces[1].rx: cannot read ` + dir + `/missing.pcap: no such file or directory (paths are relative to the config file's directory)`,
		file + `:3:52: interfaces[1].tx: directory ` + dir + `/nodir does not exist: create it or fix the path (paths are relative to the config file's directory)`,
		file + `:7:12: route_files[1].path: cannot read ` + dir + `/other.txt: no such file or directory (paths are relative to the config file's directory)`,
	}
	if err == nil || err.Error() != strings.Join(want, "\n") {
		t.Errorf("got:\n%v\nwant:\n%s", err, strings.Join(want, "\n"))
	}
	// A pcap file to replay that is not one: what softnet run refuses.
	notPcap := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notPcap, []byte("192.0.2.1 is not a pcap file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pcapng := filepath.Join(dir, "ng.pcapng")
	if err := os.WriteFile(pcapng, []byte{0x0a, 0x0d, 0x0d, 0x0a, 0x1c, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1c, 0, 0, 0}, 0o644); err != nil {
		t.Fatal(err)
	}
	c2 := *c
	c2.Interfaces = slices.Clone(c.Interfaces)
	c2.Interfaces[1].TX = ""
	c2.Interfaces[0].Backend, c2.Interfaces[2].Backend = Mem, Mem
	c2.RouteFiles = nil
	for _, x := range []struct{ rx, want string }{
		{"notes.txt", `:3:34: interfaces[1].rx: pcapfile: ` + notPcap + `: not a pcap file (magic 3139322e): rx replays a classic pcap file of Ethernet frames (tcpdump -w writes one)`},
		{"ng.pcapng", `:3:34: interfaces[1].rx: pcapfile: ` + pcapng + `: not a pcap file (magic a0d0d0a): it is pcapng, which is not supported; convert it with 'editcap -F pcap': rx replays a classic pcap file of Ethernet frames (tcpdump -w writes one)`},
	} {
		c2.Interfaces[1].RX = x.rx
		if err := c2.CheckSystem(); err == nil || err.Error() != file+x.want {
			t.Errorf("rx %s: got\n%v\nwant\n%s", x.rx, err, file+x.want)
		}
	}
	c.RouteFiles = c.RouteFiles[:1]
	tables, err := c.LoadRouteFiles()
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) != 1 || len(tables[0].Prefixes) != 2 || tables[0].Skipped != 1 {
		t.Errorf("tables = %+v", tables)
	}
	if err := os.WriteFile(routes, []byte("203.0.113.0/24\nnot-a-prefix\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := c.LoadRouteFiles(); err == nil || !strings.HasPrefix(err.Error(), file+":6:12: route_files[0].path: "+routes+": fib: line 2: ") {
		t.Errorf("bad route file: got %v", err)
	}
}

func TestEmbeddedTable(t *testing.T) {
	if testing.Short() {
		t.Skip("reads the full table")
	}
	c, err := Parse("t.yaml", []byte("interfaces:\n  - {name: a, backend: mem, addresses: [10.0.0.1/24]}\nroute_files:\n  - {path: embedded:full-table, via: 10.0.0.2}\n"))
	if err != nil {
		t.Fatal(err)
	}
	tables, err := c.LoadRouteFiles()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(tables[0].Prefixes); n != 901899 {
		t.Errorf("embedded table: %d IPv4 prefixes, want 901899", n)
	}
}

// TestExamples parses every example but bad.yaml (which must fail).
func TestExamples(t *testing.T) {
	files, err := filepath.Glob("../examples/*.yaml")
	if err != nil || len(files) < 4 {
		t.Fatalf("examples: %v %v", files, err)
	}
	for _, f := range files {
		_, err := Load(f)
		if bad := filepath.Base(f) == "bad.yaml"; bad != (err != nil) {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(base))
	if b, err := os.ReadFile("../examples/bad.yaml"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("interfaces: &a\n  - *a\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("f.yaml", data)
		if (c == nil) == (err == nil) {
			t.Fatalf("config %v and error %v", c, err)
		}
		if err != nil {
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 || len(es) > MaxErrors+1 {
				t.Fatalf("error %T %v", err, err)
			}
		}
	})
}

// TestCheckMoreErrorsOnce: with more errors than MaxErrors from both the
// parse and the host checks, Check lists MaxErrors in file order and ends
// with exactly one summary line, whose count is what was left out.
func TestCheckMoreErrorsOnce(t *testing.T) {
	var b strings.Builder
	b.WriteString("interfaces:\n")
	for i := range 25 {
		fmt.Fprintf(&b, "  - {name: if%d, backend: afpacket, device: nosuchdev%d, addresses: [10.%d.0.300/24]}\n", i, i, i)
	}
	path := filepath.Join(t.TempDir(), "many.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := Check(path)
	es, ok := err.(Errors)
	if !ok {
		t.Fatalf("Check: %v", err)
	}
	summaries := 0
	for i, e := range es {
		if e.More > 0 {
			summaries++
			if i != len(es)-1 {
				t.Errorf("summary at %d of %d, want last", i, len(es))
			}
		}
	}
	if summaries != 1 || len(es) != MaxErrors+1 {
		t.Fatalf("%d errors listed with %d summaries, want %d and 1:\n%v", len(es), summaries, MaxErrors+1, err)
	}
	for i := 1; i < MaxErrors; i++ {
		if es[i].Pos.Line < es[i-1].Pos.Line {
			t.Fatalf("errors out of file order at %d: %v then %v", i, es[i-1], es[i])
		}
	}
	if last := es[len(es)-1]; last.More < 5 {
		t.Errorf("summary counts %d more, want at least 5 (25 bad addresses alone exceed %d)", last.More, MaxErrors)
	}
}

func TestRateNaNRejected(t *testing.T) {
	_, err := Parse("r.yaml", []byte("interfaces:\n  - {name: p0, backend: pcap, rx: in.pcap, rate: !!float .nan, addresses: [10.0.0.1/24]}\n"))
	if err == nil || !strings.Contains(err.Error(), "rate") {
		t.Fatalf("NaN rate accepted: %v", err)
	}
}

// TestSyntaxErrorLine: a YAML syntax error is reported at the line where
// the problem is. yaml.v3's message names the 0-based line of the block
// the parser was in ("line 2" for an indentation error on line 5); the
// parser finds the first line at which the file stops parsing.
func TestSyntaxErrorLine(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      string
	}{
		{"indentation", "workers: 1\ninterfaces:\n  - name: lan0\n    backend: mem\n   mtu: 1500\n",
			"t.yaml:5: YAML syntax: did not find expected '-' indicator"},
		{"indentation deeper in", "workers: 1\ninterfaces:\n  - name: lan0\n    backend: mem\n  - name: wan0\n    backend: mem\n    addresses:\n      - 10.0.2.1/24\n     - 10.0.3.1/24\n",
			"t.yaml:9: YAML syntax: "},
		{"tab", "workers: 1\ninterfaces:\n\t- name: lan0\n",
			"t.yaml:3: YAML syntax: found character that cannot start any token"},
		// An unclosed [: the last line before the end showed it unclosed.
		{"unclosed flow", "workers: 1\ninterfaces: [\n  {name: lan0, backend: mem}\nroutes: []\n",
			"t.yaml:3: YAML syntax: did not find expected ',' or ']'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(tc.src))
			var es Errors
			if !errors.As(err, &es) || len(es) != 1 || !strings.HasPrefix(es[0].Error(), tc.want) {
				t.Errorf("got %v, want %q...", err, tc.want)
			}
		})
	}
}

// stack_drop on an afpacket interface parses into Interface.StackDrop.
func TestStackDropField(t *testing.T) {
	src := "interfaces:\n  - name: wan0\n    backend: afpacket\n    device: eth0\n    stack_drop: true\n    addresses: [10.0.2.1/24]\n"
	c, err := Parse("t.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Interfaces[0].StackDrop {
		t.Errorf("stack_drop: true parsed as %+v", c.Interfaces[0])
	}
}
