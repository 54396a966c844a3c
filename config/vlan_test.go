package config

import (
	"strings"
	"testing"
)

// vlanBase adds VLAN sub-interfaces (lines 11-18) to base's interfaces.
var vlanBase = strings.Replace(base, "routes:\n", `  - {name: lan0.100, parent: lan0, vlan: 100, addresses: [10.1.0.1/24]}
  - {name: lan0.10.20, parent: lan0, outer_vlan: 10, vlan: 20, addresses: [10.2.0.1/24]}
  - name: wan0.7
    parent: wan0
    vlan: 7
    outer_vlan: 8
    tpid: 0x9100
    mtu: 1400
routes:
`, 1)

func TestParseVLAN(t *testing.T) {
	c, err := Parse("t.yaml", []byte(vlanBase))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Interfaces) != 5 {
		t.Fatalf("%d interfaces", len(c.Interfaces))
	}
	v := c.Interfaces[4]
	if !v.IsVLAN() || v.Parent != "wan0" || v.VLAN != 7 || v.OuterVLAN != 8 || v.TPID != 0x9100 || v.MTU != 1400 || v.Backend != "" {
		t.Errorf("wan0.7 = %+v", v)
	}
	if q := c.Interfaces[3]; q.OuterVLAN != 10 || q.VLAN != 20 || q.TPID != 0 {
		t.Errorf("lan0.10.20 = %+v", q)
	}
	if c.Interfaces[0].IsVLAN() {
		t.Error("lan0 is a VLAN")
	}
}

func TestParseVLANErrors(t *testing.T) {
	cases := []struct {
		name, old, new, want string
	}{
		{"vid 0", "vlan: 100,", "vlan: 0,", `t.yaml:11:42: interfaces[2].vlan: 0 is not a VLAN ID: use 1..4094 (0 means a priority tag and 4095 is reserved)`},
		{"vid 4095", "vlan: 100,", "vlan: 4095,", `t.yaml:11:42: interfaces[2].vlan: 4095 is not a VLAN ID: use 1..4094`},
		{"vid text", "vlan: 100,", "vlan: ten,", `t.yaml:11:42: interfaces[2].vlan: "ten" is not a VLAN ID`},
		{"outer vid", "outer_vlan: 10,", "outer_vlan: 5000,", `t.yaml:12:50: interfaces[3].outer_vlan: 5000 is not a VLAN ID`},
		{"duplicate", "vlan: 100,", "vlan: 100, mtu: 1400,", ""},
		{"duplicate vid", "outer_vlan: 10, vlan: 20,", "vlan: 100,", `t.yaml:12:44: interfaces[3].vlan: VLAN 100 on lan0 is already lan0.100's (line 11): one sub-interface per tag`},
		{"missing parent", "parent: lan0, vlan: 100", "parent: lan9, vlan: 100", `t.yaml:11:30: interfaces[2].parent: no interface is named "lan9" (interfaces: lan0, wan0, lan0.100, lan0.10.20, wan0.7)`},
		{"parent is vlan", "parent: lan0, outer_vlan", "parent: lan0.100, outer_vlan", `t.yaml:12:32: interfaces[3].parent: lan0.100 is itself a VLAN sub-interface: VLANs nest no deeper than QinQ; use parent: lan0 with outer_vlan: 100`},
		{"no vlan", "parent: lan0, vlan: 100,", "parent: lan0,", `t.yaml:11:5: interfaces[2].vlan: missing: a VLAN sub-interface needs its VLAN ID, e.g. vlan: 100`},
		{"no parent", "parent: lan0, vlan: 100,", "vlan: 100,", `t.yaml:11:5: interfaces[2].parent: missing: a VLAN sub-interface needs the interface it is on, e.g. parent: lan0`},
		{"backend", "parent: lan0, vlan: 100,", "parent: lan0, vlan: 100, backend: mem,", `t.yaml:11:56: interfaces[2].backend: a VLAN sub-interface uses its parent's port: remove backend`},
		{"mac", "parent: lan0, vlan: 100,", "parent: lan0, vlan: 100, mac: 02:00:00:00:00:09,", `t.yaml:11:52: interfaces[2].mac: a VLAN sub-interface has its parent's MAC: remove mac`},
		{"tpid no outer", "parent: lan0, vlan: 100,", "parent: lan0, vlan: 100, tpid: 0x88a8,", `t.yaml:11:53: interfaces[2].tpid: a TPID is for the outer tag of QinQ: add outer_vlan, or remove tpid`},
		{"tpid value", "tpid: 0x9100", "tpid: 0x1234", `t.yaml:17:11: interfaces[4].tpid: 0x1234 is not a QinQ outer TPID: use 0x88a8 (802.1ad, the default), 0x8100 or 0x9100`},
		{"mtu above the parent's default", "mtu: 1400", "mtu: 1830", `t.yaml:18:10: interfaces[4].mtu: 1830 is above the MTU of parent wan0 (1500) minus 8 tag bytes: use at most 1492, or leave it out (the default)`},
		{"tpid mismatch", "parent: wan0\n    vlan: 7\n    outer_vlan: 8", "parent: lan0\n    vlan: 7\n    outer_vlan: 10", `t.yaml:13:5: interfaces[4].tpid: outer VLAN 10 on lan0 has TPID 0x88a8 (line 12), not 0x9100: one TPID per outer tag`},
		{"outer 8100 clash", "outer_vlan: 10, vlan: 20,", "outer_vlan: 100, vlan: 20, tpid: 0x8100,", `t.yaml:12:5: interfaces[3].tpid: tag 0x8100 VLAN 100 on lan0 is both an outer tag here and the VLAN of lan0.100 (line 11): use tpid 0x88a8 for the outer tag`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if strings.Count(vlanBase, tc.old) < 1 {
				t.Fatalf("%q not in the config", tc.old)
			}
			cfg := strings.Replace(vlanBase, tc.old, tc.new, 1)
			_, err := Parse("t.yaml", []byte(cfg))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted:\n%s", cfg)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got:\n%v\nwant a line containing:\n%s", err, tc.want)
			}
		})
	}
}

// TestParseVLANMTUParent: a sub-interface's MTU must leave room for its
// tags under an MTU its parent sets.
func TestParseVLANMTUParent(t *testing.T) {
	cfg := strings.Replace(vlanBase, "    mac: 02:00:00:00:00:02\n", "    mac: 02:00:00:00:00:02\n    mtu: 1400\n", 1)
	_, err := Parse("t.yaml", []byte(cfg))
	if err == nil || !strings.Contains(err.Error(), "interfaces[4].mtu: 1400 is above the MTU of parent wan0 (1400) minus 8 tag bytes: use at most 1392") {
		t.Fatalf("got %v", err)
	}
}

func TestParseBridge(t *testing.T) {
	good := vlanBase + `bridges:
  - {name: br0, members: [lan1, lan1.5], ageing: 60, max_macs: 100}
`
	good = strings.Replace(good, "  - name: wan0.7\n", `  - {name: lan1, backend: mem}
  - {name: lan1.5, parent: lan1, vlan: 5}
  - {name: irb0, bridge: br0, addresses: [10.9.0.1/24]}
  - name: wan0.7
`, 1)
	c, err := Parse("t.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Bridges) != 1 || c.Bridges[0].Ageing != 60 || c.Bridges[0].MaxMACs != 100 || len(c.Bridges[0].Members) != 2 || c.Interfaces[c.Interface("irb0")].Bridge != "br0" {
		t.Fatalf("bridges %+v", c.Bridges)
	}
	for _, tc := range []struct{ old, new, want string }{
		{"members: [lan1, lan1.5]", "members: [lan1, nope]", `bridges[0].members[1]: no interface is named "nope"`},
		{"members: [lan1, lan1.5]", "members: [lan1, lan0]", `bridges[0].members[1]: lan0 has addresses: a member is a switch port`},
		{"members: [lan1, lan1.5]", "members: [lan1, irb0]", `bridges[0].members[1]: irb0 is a bridge's routed interface, not a port`},
		{"{name: irb0, bridge: br0,", "{name: irb0, bridge: br9,", `interfaces[6].bridge: no bridge is named "br9": add it under bridges`},
		{"{name: irb0, bridge: br0,", "{name: irb0, bridge: br0, backend: mem,", `interfaces[6].backend: a bridge's routed interface (bridge: br0) has no port of its own: remove backend`},
		{"ageing: 60", "ageing: 0", `bridges[0].ageing: 0 is out of range: use 1..1000000`},
	} {
		_, err := Parse("t.yaml", []byte(strings.Replace(good, tc.old, tc.new, 1)))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s -> %s: got %v, want %s", tc.old, tc.new, err, tc.want)
		}
	}
}

// TestParseVLANMTUBuffer: a sub-interface of an afpacket port whose MTU is
// the device's (not known to Parse) must still fit a buffer with its tags;
// CheckSystem checks it against the device's MTU.
func TestParseVLANMTUBuffer(t *testing.T) {
	src := "interfaces:\n  - {name: wan0, backend: afpacket, device: eth0, addresses: [10.0.2.1/24]}\n  - {name: wan0.7, parent: wan0, vlan: 7, mtu: 9255}\n"
	_, err := Parse("t.yaml", []byte(src))
	if want := "t.yaml:3:48: interfaces[1].mtu: 9255 leaves no room for 4 tag bytes in a buffer: use at most 9254"; err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
}
