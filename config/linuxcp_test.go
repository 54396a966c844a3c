package config

import (
	"slices"
	"strings"
	"testing"
)

const linuxCPBase = `interfaces:
  - name: wan0
    backend: mem
    addresses: [10.0.1.1/24]
  - name: wan1
    backend: mem
    addresses: [10.0.2.1/24]
linux_cp:
  namespace: router
  interfaces: [wan0, wan1]
  tables: [main, 100]
  protocols: [bgp, ospf, 17]
  rcvbuf: 1048576
`

// TestLinuxCPParses: the linux_cp section with every field, and a config
// saved and parsed again keeps it.
func TestLinuxCPParses(t *testing.T) {
	c, err := Parse("t.yaml", []byte(linuxCPBase))
	if err != nil {
		t.Fatal(err)
	}
	lc := c.LinuxCP
	if lc == nil || lc.Namespace != "router" || !slices.Equal(lc.Interfaces, []string{"wan0", "wan1"}) ||
		!slices.Equal(lc.Tables, []int{254, 100}) || !slices.Equal(lc.Protocols, []int{186, 188, 17}) || lc.RcvBuf != 1<<20 {
		t.Fatalf("linux_cp %+v", lc)
	}
	out, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	c2, err := Parse("t.yaml", out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if lc2 := c2.LinuxCP; lc2 == nil || lc2.Namespace != lc.Namespace || !slices.Equal(lc2.Protocols, lc.Protocols) || !slices.Equal(lc2.Tables, lc.Tables) {
		t.Fatalf("after save: %+v\n%s", lc2, out)
	}
}

// TestLinuxCPErrors: each mistake is reported at its line and column.
func TestLinuxCPErrors(t *testing.T) {
	for _, tc := range []struct{ old, new, want string }{
		{"[wan0, wan1]", "[wan0, wan9]", `t.yaml:10:22: linux_cp.interfaces[1]: no interface "wan9" in this config: linux_cp mirrors routes through softnet's interfaces (wan0, wan1)`},
		{"[main, 100]", "[main, mian]", `t.yaml:11:18: linux_cp.tables[1]: "mian" is not a routing table: write main or a table number 1..4294967295 (as in ip route show table N)`},
		{"[bgp, ospf, 17]", "[bgp, ospff]", `t.yaml:12:20: linux_cp.protocols[1]: "ospff" is not a route protocol: write a name (bgp, ospf, isis, rip, babel, zebra, bird, kernel, boot, static, dhcp, ra) or a number 0..255 (as in ip route's proto)`},
		{"namespace: router", "namespace: a/b", `t.yaml:9:14: linux_cp.namespace: "a/b" is not a network namespace name: use 1..32 letters, digits, '-', '_' and '.' (as ip netns add NAME)`},
		{"rcvbuf: 1048576", "rcvbuf: 10", `t.yaml:13:11: linux_cp.rcvbuf: 10 is out of range: use 4096..2147483647`},
		{"  rcvbuf: 1048576", "  rcvbuff: 1048576", `t.yaml:13:3: linux_cp: unknown field "rcvbuff": did you mean "rcvbuf"? known fields are namespace, interfaces, tables, protocols, rcvbuf, host_interfaces, punt_rate, punt_burst, arp_nd`},
	} {
		src := strings.Replace(linuxCPBase, tc.old, tc.new, 1)
		_, err := Parse("t.yaml", []byte(src))
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s -> %s:\ngot  %v\nwant %s", tc.old, tc.new, err, tc.want)
		}
	}
}

// TestLinuxCPNamespaceMissing: softnet check says when the namespace
// does not exist.
func TestLinuxCPNamespaceMissing(t *testing.T) {
	src := strings.Replace(linuxCPBase, "namespace: router", "namespace: sn-no-such-ns-42", 1)
	c, err := Parse("t.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	err = c.CheckSystem()
	if err == nil || !strings.Contains(err.Error(), `t.yaml:9:14: linux_cp.namespace: no network namespace "sn-no-such-ns-42" on this host`) {
		t.Fatalf("CheckSystem: %v", err)
	}
}

const hostIfBase = `interfaces:
  - name: wan0
    backend: mem
    addresses: [10.0.1.1/24]
  - name: wan1
    backend: mem
    addresses: [10.0.2.1/24]
  - {name: wan1.100, parent: wan1, vlan: 100, addresses: [10.0.100.1/24]}
linux_cp:
  namespace: router
  host_interfaces: [wan0, {interface: wan1, name: host-wan1}, wan1.100]
  punt_rate: 500
  punt_burst: 50
  arp_nd: linux
`

// TestHostInterfacesParse: linux_cp's host_interfaces (a name, or an
// interface with a TAP name of its own; VLAN sub-interfaces too) and the
// punt rate limit, kept by a save.
func TestHostInterfacesParse(t *testing.T) {
	c, err := Parse("t.yaml", []byte(hostIfBase))
	if err != nil {
		t.Fatal(err)
	}
	want := []HostInterface{{Interface: "wan0", Field: "linux_cp.host_interfaces[0]"}, {Interface: "wan1", Name: "host-wan1", Field: "linux_cp.host_interfaces[1]"}, {Interface: "wan1.100", Field: "linux_cp.host_interfaces[2]"}}
	lc := c.LinuxCP
	if lc == nil || !slices.Equal(lc.HostInterfaces, want) || lc.PuntRate != 500 || lc.PuntBurst != 50 || lc.ArpND != "linux" {
		t.Fatalf("linux_cp %+v", lc)
	}
	if n := lc.HostInterfaces[1].HostName(); n != "host-wan1" {
		t.Errorf("HostName %q", n)
	}
	out, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	c2, err := Parse("t.yaml", out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if lc2 := c2.LinuxCP; lc2 == nil || !slices.Equal(lc2.HostInterfaces, want) || lc2.PuntRate != 500 || lc2.PuntBurst != 50 || lc2.ArpND != "linux" {
		t.Fatalf("after save: %+v\n%s", lc2, out)
	}
}

// TestHostInterfacesErrors: each mistake is reported at its line and
// column.
func TestHostInterfacesErrors(t *testing.T) {
	for _, tc := range []struct{ old, new, want string }{
		{"[wan0, {", "[wan9, {", `t.yaml:11:21: linux_cp.host_interfaces[0]: no interface "wan9" in this config: a host interface stands for one of softnet's interfaces (wan0, wan1, wan1.100)`},
		{"{interface: wan1, name: host-wan1}", "{interface: wan7, name: host-wan1}", `t.yaml:11:39: linux_cp.host_interfaces[1].interface: no interface "wan7" in this config: a host interface stands for one of softnet's interfaces (wan0, wan1, wan1.100)`},
		{"name: host-wan1}", "name: host-wan1-far-too-long}", `t.yaml:11:51: linux_cp.host_interfaces[1].name: "host-wan1-far-too-long" is not a Linux interface name: 1..15 bytes, no '/', ':', '%' or spaces`},
		{"name: host-wan1}", "name: wan0}", `t.yaml:11:51: linux_cp.host_interfaces[1].name: host interface name "wan0" is already linux_cp.host_interfaces[0]'s: give one of them another name ({interface: wan1, name: ...})`},
		{"{interface: wan1, name: host-wan1}", "{name: host-wan1}", `t.yaml:11:27: linux_cp.host_interfaces[1]: a host interface needs its softnet interface: {interface: wan1, name: host-wan1}`},
		{"{interface: wan1, name: host-wan1}", "{interface: wan1, nmae: x}", `t.yaml:11:45: linux_cp.host_interfaces[1]: unknown field "nmae": did you mean "name"? known fields are interface, name`},
		{"arp_nd: linux", "arp_nd: kernel", `t.yaml:14:11: linux_cp.arp_nd: "kernel": write softnet (softnet answers ARP and Neighbor Solicitations, the default) or linux (the kernel behind the host interfaces does)`},
		{"punt_rate: 500", "punt_rate: 0", `t.yaml:12:14: linux_cp.punt_rate: 0 is out of range: use 1..2147483647`},
	} {
		src := strings.Replace(hostIfBase, tc.old, tc.new, 1)
		_, err := Parse("t.yaml", []byte(src))
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s -> %s:\ngot  %v\nwant %s", tc.old, tc.new, err, tc.want)
		}
	}
}
