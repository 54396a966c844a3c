package config

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/softnet/softnet/internal/rules"
)

// validate checks what the structure alone does not: required fields,
// names, which fields go with which backend, subnets, next hops and
// duplicates. A value that failed to parse is zero and is not checked
// again, so one mistake gives one message.
func (p *parser) validate() {
	c := p.cfg
	badAddr := false // some interface address did not parse: skip subnet checks
	names := map[string]string{}
	devices := map[string]string{}
	type subnet struct {
		p           netip.Prefix
		field, name string
	}
	var subnets []subnet
	for i := range c.Interfaces {
		ic := &c.Interfaces[i]
		f := ic.Field
		if p.bad[f] {
			continue
		}
		switch {
		case ic.Name == "":
			if _, set := c.pos[f+".name"]; !set {
				p.add(c.pos[f], f+".name", "missing: every interface needs a name, e.g. name: lan0")
			}
		case !validName(ic.Name):
			p.add(c.pos[f+".name"], f+".name", "%q is not a valid name: use 1..%d %s", ic.Name, maxName, nameChars)
		default:
			if first, dup := names[ic.Name]; dup {
				p.add(c.pos[f+".name"], f+".name", "%q is already the name of %s (line %d): names must be unique", ic.Name, first, c.pos[first+".name"].Line)
			} else {
				names[ic.Name] = f
			}
		}
		switch {
		case vlanKeys(c, f):
			p.vlanFields(ic)
		case ic.Bridge != "" || c.pos[f+".bridge"] != (Pos{}):
			p.bviFields(ic)
		default:
			p.backendFields(ic)
		}
		if ic.RouterAdvertisements && !slices.ContainsFunc(ic.Addresses, func(a netip.Prefix) bool { return a.IsValid() && a.Addr().Is6() }) {
			p.add(c.pos[f+".router_advertisements"], f+".router_advertisements", "true, but %s has no IPv6 address to advertise a prefix of: add one (e.g. 2001:db8:1::1/64) or remove router_advertisements", ic.Name)
		}
		for j, a := range ic.Addresses {
			af := fmt.Sprintf("%s.addresses[%d]", f, j)
			if !a.IsValid() {
				badAddr = true
				continue
			}
			if a.Addr().Is4() && a.Bits() <= 30 { // IPv6 has no broadcast address
				m := a.Masked().Addr()
				switch a.Addr() {
				case m:
					p.add(c.pos[af], af, "%v is the subnet's network address: an interface address needs a host part, e.g. %v", a, netip.PrefixFrom(m.Next(), a.Bits()))
					continue
				case lastAddr(a):
					p.add(c.pos[af], af, "%v is the subnet's broadcast address: use a host address, e.g. %v", a, netip.PrefixFrom(m.Next(), a.Bits()))
					continue
				}
			}
			for _, s := range subnets {
				if s.p.Overlaps(a) {
					p.add(c.pos[af], af, "%v overlaps %v of %s (line %d): each interface needs its own subnet", a, s.p, s.name, c.pos[s.field].Line)
					break
				}
			}
			subnets = append(subnets, subnet{a, af, ic.Name})
		}
		if ic.Device != "" && (ic.Backend == AFPacket || ic.Backend == AFXDP || ic.Backend == TAP) {
			if first, dup := devices[ic.Device]; dup {
				p.add(c.pos[f+".device"], f+".device", "device %q is already used by %s (line %d): one interface per device", ic.Device, first, c.pos[first+".device"].Line)
			} else {
				devices[ic.Device] = f
			}
		}
	}

	p.vlans()
	p.bridges()
	p.blocklists()
	p.validateLinuxCP()

	// Next hops, route prefixes and neighbours are checked by package
	// rules, as the control plane checks them (softnet run, reload and
	// the API): a next hop is another host on a connected subnet, and a
	// route is not one of the router's own prefixes.
	ifs := c.ruleIfaces()
	own := rules.NewOwn(ifs)
	nextHop := func(via netip.Addr, f string) {
		if !via.IsValid() {
			return
		}
		if _, err := rules.NextHop(ifs, via); err != nil {
			msg := err.Error()
			if badAddr && rules.IfaceFor(ifs, via) < 0 {
				msg = strings.Replace(msg, "): add", ") (some interface addresses are invalid: fix them first): add", 1)
			}
			p.add(c.pos[f], f, "%s", msg)
		}
	}
	via := func(f string, v netip.Addr, blackhole bool) {
		_, hasVia := c.pos[f+".via"]
		_, hasBH := c.pos[f+".blackhole"]
		switch {
		case hasVia && hasBH:
			p.add(c.pos[f+".blackhole"], f, "has both via and blackhole: keep one")
		case !hasVia && !blackhole:
			if hasBH {
				p.add(c.pos[f+".blackhole"], f+".blackhole", "false with no via: give a next hop (via: A.B.C.D) or set blackhole: true")
			} else {
				p.add(c.pos[f], f, "needs a next hop (via: A.B.C.D) or blackhole: true")
			}
		case hasVia:
			nextHop(v, f+".via")
		}
	}

	prefixes := map[netip.Prefix]string{}
	for _, r := range c.Routes {
		f := r.Field
		if p.bad[f] {
			continue
		}
		if _, set := c.pos[f+".prefix"]; !set {
			p.add(c.pos[f], f+".prefix", "missing: write the destination, e.g. prefix: 198.18.0.0/15")
		} else if r.Prefix.IsValid() {
			if first, dup := prefixes[r.Prefix]; dup {
				p.add(c.pos[f+".prefix"], f+".prefix", "%v is already routed by %s (line %d): keep one", r.Prefix, first, c.pos[first].Line)
			} else {
				prefixes[r.Prefix] = f
			}
			if err := own.Check(r.Prefix); err != nil {
				p.add(c.pos[f+".prefix"], f+".prefix", "%v", err)
			}
		}
		if r.Prefix.IsValid() && r.Via.IsValid() && r.Prefix.Addr().Is4() != r.Via.Is4() {
			p.add(c.pos[f+".via"], f+".via", "%v is of the other address family than %v: an IPv4 route needs an IPv4 next hop, an IPv6 route an IPv6 one", r.Via, r.Prefix)
			continue
		}
		via(f, r.Via, r.Blackhole)
	}
	for _, r := range c.RouteFiles {
		f := r.Field
		if p.bad[f] {
			continue
		}
		if _, set := c.pos[f+".path"]; !set {
			p.add(c.pos[f], f+".path", "missing: write a file of prefixes, or %s", EmbeddedFullTable)
		} else if strings.HasPrefix(r.Path, "embedded:") && r.Path != EmbeddedFullTable {
			p.add(c.pos[f+".path"], f+".path", "%q: the only embedded table is %s", r.Path, EmbeddedFullTable)
		}
		via(f, r.Via, r.Blackhole)
	}

	seen := map[string]string{}
	for _, nb := range c.Neighbors {
		f := nb.Field
		if p.bad[f] {
			continue
		}
		for _, k := range []string{"interface", "address", "mac"} {
			if _, set := c.pos[f+"."+k]; !set {
				p.add(c.pos[f], f+"."+k, "missing: a neighbor needs interface, address and mac")
			}
		}
		i := -1
		if nb.Interface != "" {
			if i = c.Interface(nb.Interface); i < 0 {
				p.add(c.pos[f+".interface"], f+".interface", "no interface is named %q (interfaces: %s)", nb.Interface, c.nameList())
			}
		}
		if i < 0 || !nb.Address.IsValid() || badAddr {
			continue
		}
		if err := rules.Neighbor(ifs, i, nb.Address); err != nil {
			p.add(c.pos[f+".address"], f+".address", "%v", err)
			continue
		}
		key := nb.Interface + " " + nb.Address.String()
		if first, dup := seen[key]; dup {
			p.add(c.pos[f+".address"], f+".address", "%v on %s is already set by %s (line %d): keep one", nb.Address, nb.Interface, first, c.pos[first].Line)
		} else {
			seen[key] = f
		}
	}
}

// bviFields checks a bridge's routed interface (BVI): no port fields.
func (p *parser) bviFields(ic *Interface) {
	c := p.cfg
	f := ic.Field
	for _, k := range []string{"backend", "device", "rx", "tx", "loop", "rate", "limit", "stack_drop", "parent", "vlan", "outer_vlan", "tpid"} {
		if _, ok := c.pos[f+"."+k]; ok {
			p.add(c.pos[f+"."+k], f+"."+k, "a bridge's routed interface (bridge: %s) has no port of its own: remove %s", ic.Bridge, k)
		}
	}
}

// bridges checks the bridges: a unique name, members that exist, have no
// addresses and are in one bridge, and at most one routed interface.
func (p *parser) bridges() {
	c := p.cfg
	names := map[string]string{}
	member := map[string]string{}
	for _, b := range c.Bridges {
		f := b.Field
		if p.bad[f] {
			continue
		}
		switch {
		case b.Name == "":
			p.add(c.pos[f], f+".name", "missing: every bridge needs a name, e.g. name: br0")
		case names[b.Name] != "":
			p.add(c.pos[f+".name"], f+".name", "%q is already the name of %s (line %d): names must be unique", b.Name, names[b.Name], c.pos[names[b.Name]+".name"].Line)
		default:
			names[b.Name] = f
		}
		if len(b.Members) == 0 {
			p.add(c.pos[f], f+".members", "missing: a bridge needs its member interfaces, e.g. members: [lan0, lan1]")
		}
		for j, m := range b.Members {
			mf := fmt.Sprintf("%s.members[%d]", f, j)
			i := c.Interface(m)
			switch {
			case m == "":
			case i < 0:
				p.add(c.pos[mf], mf, "no interface is named %q (interfaces: %s)", m, c.nameList())
			case c.Interfaces[i].Bridge != "":
				p.add(c.pos[mf], mf, "%s is a bridge's routed interface, not a port: list the ports and VLANs the bridge switches", m)
			case len(c.Interfaces[i].Addresses) > 0:
				p.add(c.pos[mf], mf, "%s has addresses: a member is a switch port; move them to the bridge's routed interface (an interface with bridge: %s)", m, b.Name)
			case member[m] != "":
				p.add(c.pos[mf], mf, "%s is already a member of %s: an interface is in one bridge", m, member[m])
			default:
				member[m] = f
			}
		}
	}
	bvi := map[string]string{}
	for _, ic := range c.Interfaces {
		if ic.Bridge == "" {
			continue
		}
		f := ic.Field + ".bridge"
		switch {
		case names[ic.Bridge] == "":
			p.add(c.pos[f], f, "no bridge is named %q: add it under bridges", ic.Bridge)
		case bvi[ic.Bridge] != "":
			p.add(c.pos[f], f, "bridge %s already has a routed interface (%s): one per bridge", ic.Bridge, bvi[ic.Bridge])
		default:
			bvi[ic.Bridge] = ic.Name
		}
	}
}

// blocklists checks the blocklists: a unique valid name, a file, and
// interfaces that are ports of this config (early drop runs on a port's
// device-input, before VLAN tags are looked at), each named once.
func (p *parser) blocklists() {
	c := p.cfg
	names := map[string]string{}
	for _, b := range c.Blocklists {
		f := b.Field
		if p.bad[f] {
			continue
		}
		switch {
		case b.Name == "":
			if _, set := c.pos[f+".name"]; !set {
				p.add(c.pos[f], f+".name", "missing: every blocklist needs a name, e.g. name: flood")
			}
		case !validName(b.Name):
			p.add(c.pos[f+".name"], f+".name", "%q is not a valid name: use 1..%d %s", b.Name, maxName, nameChars)
		case names[b.Name] != "":
			p.add(c.pos[f+".name"], f+".name", "%q is already the name of %s (line %d): names must be unique", b.Name, names[b.Name], c.pos[names[b.Name]+".name"].Line)
		default:
			names[b.Name] = f
		}
		if _, set := c.pos[f+".file"]; !set {
			p.add(c.pos[f], f+".file", "missing: write the list's file (one address or prefix a line, plain or gzip), e.g. file: flood.txt.gz")
		}
		if _, set := c.pos[f+".interfaces"]; set && len(b.Interfaces) == 0 && !p.bad[f+".interfaces"] {
			p.add(c.pos[f+".interfaces"], f+".interfaces", "an empty list: name the ports to drop on, e.g. [wan0], or leave interfaces out for every port")
		}
		seen := map[string]bool{}
		for j, n := range b.Interfaces {
			jf := fmt.Sprintf("%s.interfaces[%d]", f, j)
			i := c.Interface(n)
			switch {
			case n == "":
			case i < 0:
				p.add(c.pos[jf], jf, "no interface is named %q (interfaces: %s)", n, c.nameList())
			case c.Interfaces[i].IsVLAN():
				p.add(c.pos[jf], jf, "%s is a VLAN sub-interface: early drop runs per port, name its parent %s", n, c.Interfaces[i].Parent)
			case c.Interfaces[i].Bridge != "":
				p.add(c.pos[jf], jf, "%s is a bridge's routed interface, which has no port: name the bridge's member ports", n)
			case seen[n]:
				p.add(c.pos[jf], jf, "%s is listed twice: keep one", n)
			default:
				seen[n] = true
			}
		}
	}
}

// vlanKeys reports whether interface f sets any VLAN field.
func vlanKeys(c *Config, f string) bool {
	for _, k := range []string{"parent", "vlan", "outer_vlan", "tpid"} {
		if _, ok := c.pos[f+"."+k]; ok {
			return true
		}
	}
	return false
}

// vlanFields checks a VLAN sub-interface's own fields: it has a parent and
// a VLAN, and none of a port's fields.
func (p *parser) vlanFields(ic *Interface) {
	c := p.cfg
	f := ic.Field
	set := func(k string) bool { _, ok := c.pos[f+"."+k]; return ok }
	if !set("parent") {
		p.add(c.pos[f], f+".parent", "missing: a VLAN sub-interface needs the interface it is on, e.g. parent: lan0")
	}
	if !set("vlan") {
		p.add(c.pos[f], f+".vlan", "missing: a VLAN sub-interface needs its VLAN ID, e.g. vlan: 100")
	}
	if set("tpid") && !set("outer_vlan") {
		p.add(c.pos[f+".tpid"], f+".tpid", "a TPID is for the outer tag of QinQ: add outer_vlan, or remove tpid (a single tag is always 0x8100)")
	}
	for _, k := range []string{"backend", "device", "rx", "tx", "loop", "rate", "limit", "stack_drop"} {
		if set(k) {
			p.add(c.pos[f+"."+k], f+"."+k, "a VLAN sub-interface uses its parent's port: remove %s", k)
		}
	}
	if set("mac") {
		p.add(c.pos[f+".mac"], f+".mac", "a VLAN sub-interface has its parent's MAC: remove mac")
	}
}

// vlans checks the VLAN sub-interfaces against each other and their
// parents: the parent exists and is a port, one sub-interface per tag (or
// tag pair) on a parent, one TPID per outer tag, no 0x8100 tag that is
// both a VLAN and an outer tag, and an MTU that fits the parent's minus
// the tags.
func (p *parser) vlans() {
	c := p.cfg
	type key struct {
		parent       string
		outer, inner int
	}
	seen := map[key]string{}
	outerTPID := map[key]string{} // (parent, outer, 0) -> first field using it
	for i := range c.Interfaces {
		ic := &c.Interfaces[i]
		f := ic.Field
		if p.bad[f] || ic.Parent == "" {
			continue
		}
		j := c.Interface(ic.Parent)
		switch {
		case j < 0:
			p.add(c.pos[f+".parent"], f+".parent", "no interface is named %q (interfaces: %s)", ic.Parent, c.nameList())
			continue
		case j == i:
			p.add(c.pos[f+".parent"], f+".parent", "%q is this interface: name the port interface it is on", ic.Parent)
			continue
		case c.Interfaces[j].IsVLAN():
			p.add(c.pos[f+".parent"], f+".parent", "%s is itself a VLAN sub-interface: VLANs nest no deeper than QinQ; use parent: %s with outer_vlan: %d", ic.Parent, c.Interfaces[j].Parent, c.Interfaces[j].VLAN)
			continue
		}
		if ic.VLAN == 0 {
			continue // missing or invalid: said already
		}
		k := key{ic.Parent, ic.OuterVLAN, ic.VLAN}
		if first, dup := seen[k]; dup {
			what := fmt.Sprintf("VLAN %d", ic.VLAN)
			if ic.OuterVLAN != 0 {
				what = fmt.Sprintf("outer VLAN %d inner VLAN %d", ic.OuterVLAN, ic.VLAN)
			}
			p.add(c.pos[f+".vlan"], f+".vlan", "%s on %s is already %s's (line %d): one sub-interface per tag", what, ic.Parent, nameOf(c, first), c.pos[first+".vlan"].Line)
			continue
		}
		seen[k] = f
		tags := 4
		if ic.OuterVLAN != 0 {
			tags = 8
			tpid := ic.TPID
			if tpid == 0 {
				tpid = 0x88a8
			}
			ok := key{ic.Parent, ic.OuterVLAN, 0}
			if first, had := outerTPID[ok]; had {
				if t := tpidOf(c, first); t != tpid {
					p.add(c.pos[f], f+".tpid", "outer VLAN %d on %s has TPID %#04x (line %d), not %#04x: one TPID per outer tag", ic.OuterVLAN, ic.Parent, t, c.pos[first].Line, tpid)
				}
			} else {
				outerTPID[ok] = f
			}
		}
		pm := c.Interfaces[j].MTU
		if pm == 0 && c.Interfaces[j].Backend != AFPacket && c.Interfaces[j].Backend != AFXDP {
			pm = 1500 // no device MTU to take: the default (an afpacket parent's is checked by CheckSystem)
		}
		if pm != 0 && ic.MTU > pm-tags {
			p.add(c.pos[f+".mtu"], f+".mtu", "%d is above the MTU of parent %s (%d) minus %d tag bytes: use at most %d, or leave it out (the default)", ic.MTU, ic.Parent, pm, tags, pm-tags)
		} else if ic.MTU > MaxMTU-tags {
			p.add(c.pos[f+".mtu"], f+".mtu", "%d leaves no room for %d tag bytes in a buffer: use at most %d", ic.MTU, tags, MaxMTU-tags)
		}
	}
	// A 0x8100 outer tag must not be a single-tag VLAN of the same parent:
	// the frame could not say which it is.
	for k, f := range outerTPID {
		if tpidOf(c, f) != 0x8100 {
			continue
		}
		if other, clash := seen[key{k.parent, 0, k.outer}]; clash {
			p.add(c.pos[f], f+".tpid", "tag 0x8100 VLAN %d on %s is both an outer tag here and the VLAN of %s (line %d): use tpid 0x88a8 for the outer tag", k.outer, k.parent, nameOf(c, other), c.pos[other].Line)
		}
	}
}

// nameOf returns the name of the interface whose field path is f.
func nameOf(c *Config, f string) string {
	for i := range c.Interfaces {
		if c.Interfaces[i].Field == f {
			return c.Interfaces[i].Name
		}
	}
	return f
}

func tpidOf(c *Config, f string) uint16 {
	for i := range c.Interfaces {
		if ic := &c.Interfaces[i]; ic.Field == f {
			if ic.TPID == 0 {
				return 0x88a8
			}
			return ic.TPID
		}
	}
	return 0
}

// backendFields checks the backend and the fields that go with it.
func (p *parser) backendFields(ic *Interface) {
	c := p.cfg
	f := ic.Field
	set := func(k string) bool { _, ok := c.pos[f+"."+k]; return ok }
	only := func(keys []string, which string) {
		has := "backend has"
		if strings.Contains(which, " and ") {
			has = "backends have"
		}
		for _, k := range keys {
			if set(k) {
				p.add(c.pos[f+"."+k], f+"."+k, "only the %s %s %s: remove it (this interface's backend is %s)", which, has, k, ic.Backend)
			}
		}
	}
	pcapKeys := []string{"rx", "tx", "loop", "rate", "limit"}
	switch ic.Backend {
	case "":
		if !set("backend") {
			p.add(c.pos[f], f+".backend", "missing: choose one of %s", backendList())
		}
	case AFPacket, AFXDP, TAP:
		if !set("device") {
			p.add(c.pos[f], f+".device", "missing: the %s backend needs the Linux device to use, e.g. device: %s", ic.Backend, map[Backend]string{AFPacket: "eth0", AFXDP: "eth0", TAP: "tap0"}[ic.Backend])
		} else if ic.Device != "" && !validDevice(ic.Device) {
			p.add(c.pos[f+".device"], f+".device", "%q is not a Linux device name: use 1..15 characters, no '/', ':' or spaces", ic.Device)
		}
		only(pcapKeys, "pcap")
		if ic.Backend != AFPacket {
			only([]string{"stack_drop"}, "afpacket")
		}
		if ic.Backend == AFXDP && ic.MTU > AFXDPMaxMTU {
			p.add(c.pos[f+".mtu"], f+".mtu", "%d is above what the afxdp backend holds: at most %d (a 4096-byte UMEM chunk less the kernel's 256-byte XDP headroom, the Ethernet header and two VLAN tags); lower it, or use backend: afpacket for larger frames", ic.MTU, AFXDPMaxMTU)
		}
	case PCAP:
		only([]string{"device"}, "afpacket, afxdp and tap")
		only([]string{"stack_drop"}, "afpacket")
		if !set("rx") && !set("tx") {
			p.add(c.pos[f], f, "the pcap backend needs rx (a file to replay) or tx (a file to write), or both")
		}
		if ic.Loop && !set("rx") {
			p.add(c.pos[f+".loop"], f+".loop", "loop replays rx, and there is no rx")
		}
	case Mem:
		only([]string{"device"}, "afpacket, afxdp and tap")
		only([]string{"stack_drop"}, "afpacket")
		only(pcapKeys, "pcap")
	default:
		p.add(c.pos[f+".backend"], f+".backend", "unknown backend %q: choose one of %s", ic.Backend, backendList())
	}
}

func backendList() string {
	s := make([]string, len(backends))
	for i, b := range backends {
		s[i] = string(b)
	}
	return strings.Join(s, ", ")
}

// ValidName reports whether s can name an interface or a bridge: 1 to
// maxName letters, digits, '-', '_' or '.'.
func ValidName(s string) bool { return validName(s) }

func validName(s string) bool {
	if len(s) == 0 || len(s) > maxName {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// validDevice follows the kernel's dev_valid_name: at most IFNAMSIZ-1
// bytes, not "." or "..", no '/', ':' or whitespace.
func validDevice(s string) bool {
	if len(s) == 0 || len(s) > 15 || s == "." || s == ".." {
		return false
	}
	return !strings.ContainsAny(s, "/: \t\n")
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// ruleIfaces is the interfaces as package rules sees them: their names
// and the addresses that parsed.
func (c *Config) ruleIfaces() []rules.Iface {
	ifs := make([]rules.Iface, len(c.Interfaces))
	for i, ic := range c.Interfaces {
		ifs[i].Name = ic.Name
		for _, q := range ic.Addresses {
			if q.IsValid() {
				ifs[i].Addrs = append(ifs[i].Addrs, q)
			}
		}
	}
	return ifs
}

func (c *Config) nameList() string {
	var s []string
	for _, ic := range c.Interfaces {
		if ic.Name != "" && !slices.Contains(s, ic.Name) {
			s = append(s, ic.Name)
		}
	}
	return strings.Join(s, ", ")
}
