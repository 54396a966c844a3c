package config

import (
	"os"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/softnet/softnet/linuxcp"
)

var linuxCPFields = []string{"namespace", "interfaces", "tables", "protocols", "rcvbuf", "host_interfaces", "punt_rate", "punt_burst", "arp_nd"}

var hostIfFields = []string{"interface", "name"}

// linuxCP parses the linux_cp section. Its interfaces are checked
// against the config's in validateLinuxCP.
func (p *parser) linuxCP(n *yaml.Node, field string) *LinuxCP {
	lc := &LinuxCP{}
	p.fields(n, field, "{namespace: router, tables: [main], protocols: [bgp, ospf]}", linuxCPFields, func(key string, v *yaml.Node) {
		f := join(field, key)
		switch key {
		case "namespace":
			lc.Namespace = p.str(v, f, "router")
			if lc.Namespace != "" && (!validName(lc.Namespace) || strings.Contains(lc.Namespace, "/")) {
				p.add(at(v), f, "%q is not a network namespace name: use 1..%d %s (as ip netns add NAME)", lc.Namespace, maxName, nameChars)
			}
		case "interfaces":
			p.list(v, f, "[wan0, wan1]", func(_ int, g string, v *yaml.Node) {
				lc.Interfaces = append(lc.Interfaces, p.str(v, g, "wan0"))
			})
		case "tables":
			p.list(v, f, "[main, 100]", func(_ int, g string, v *yaml.Node) {
				s, ok := p.scalar(v, g, "main")
				if !ok {
					return
				}
				if s == "main" {
					lc.Tables = append(lc.Tables, 254)
					return
				}
				t, err := strconv.ParseUint(s, 0, 32)
				if err != nil || t == 0 {
					p.add(at(v), g, "%q is not a routing table: write main or a table number 1..4294967295 (as in ip route show table N)", s)
					return
				}
				lc.Tables = append(lc.Tables, int(t))
			})
		case "protocols":
			p.list(v, f, "[bgp, ospf]", func(_ int, g string, v *yaml.Node) {
				s, ok := p.scalar(v, g, "bgp")
				if !ok {
					return
				}
				if n, err := strconv.ParseUint(s, 0, 8); err == nil {
					lc.Protocols = append(lc.Protocols, int(n))
					return
				}
				n, ok := linuxcp.ProtoNumber(s)
				if !ok {
					p.add(at(v), g, "%q is not a route protocol: write a name (bgp, ospf, isis, rip, babel, zebra, bird, kernel, boot, static, dhcp, ra) or a number 0..255 (as in ip route's proto)", s)
					return
				}
				lc.Protocols = append(lc.Protocols, n)
			})
		case "rcvbuf":
			lc.RcvBuf = int(p.integer(v, f, "67108864", 4096, 1<<31-1))
		case "host_interfaces":
			p.list(v, f, "[wan0, {interface: wan1, name: host-wan1}]", func(_ int, g string, v *yaml.Node) {
				h := HostInterface{Field: g}
				if v.Kind == yaml.ScalarNode {
					h.Interface = p.str(v, g, "wan0")
				} else {
					p.fields(v, g, "{interface: wan1, name: host-wan1}", hostIfFields, func(key string, v *yaml.Node) {
						switch key {
						case "interface":
							h.Interface = p.str(v, join(g, key), "wan1")
						case "name":
							h.Name = p.str(v, join(g, key), "host-wan1")
							if h.Name != "" && (len(h.Name) > 15 || strings.ContainsAny(h.Name, "/: \t\n%") || h.Name == "." || h.Name == "..") {
								p.add(at(v), join(g, key), "%q is not a Linux interface name: 1..15 bytes, no '/', ':', '%%' or spaces", h.Name)
							}
						}
					})
					if h.Interface == "" && !p.bad[g] {
						p.add(at(v), g, "a host interface needs its softnet interface: {interface: wan1, name: host-wan1}")
					}
				}
				lc.HostInterfaces = append(lc.HostInterfaces, h)
			})
		case "punt_rate":
			lc.PuntRate = int(p.integer(v, f, "10000", 1, 1<<31-1))
		case "punt_burst":
			lc.PuntBurst = int(p.integer(v, f, "2000", 1, 1<<31-1))
		case "arp_nd":
			lc.ArpND = p.str(v, f, "linux")
			if lc.ArpND != "" && lc.ArpND != "softnet" && lc.ArpND != "linux" {
				p.add(at(v), f, "%q: write softnet (softnet answers ARP and Neighbor Solicitations, the default) or linux (the kernel behind the host interfaces does)", lc.ArpND)
			}
		}
	})
	return lc
}

// validateLinuxCP checks that linux_cp's interfaces are the config's.
func (p *parser) validateLinuxCP() {
	lc := p.cfg.LinuxCP
	if lc == nil {
		return
	}
	for i, name := range lc.Interfaces {
		f := "linux_cp.interfaces[" + strconv.Itoa(i) + "]"
		if name != "" && p.cfg.Interface(name) < 0 {
			p.add(p.cfg.pos[f], f, "no interface %q in this config: linux_cp mirrors routes through softnet's interfaces (%s)", name, p.cfg.nameList())
		}
	}
	names := map[string]string{} // TAP name -> its field
	for _, h := range lc.HostInterfaces {
		if h.Interface == "" {
			continue
		}
		f := h.Field
		if _, ok := p.cfg.pos[f+".interface"]; ok {
			f += ".interface"
		}
		i := p.cfg.Interface(h.Interface)
		if i < 0 {
			p.add(p.cfg.pos[f], f, "no interface %q in this config: a host interface stands for one of softnet's interfaces (%s)", h.Interface, p.cfg.nameList())
			continue
		}
		if p.cfg.Interfaces[i].Bridge != "" {
			p.add(p.cfg.pos[f], f, "interface %q is a bridge's routed interface: host interfaces stand for ports and VLAN sub-interfaces", h.Interface)
			continue
		}
		n := h.HostName()
		if other, dup := names[n]; dup {
			if _, ok := p.cfg.pos[h.Field+".name"]; ok {
				f = h.Field + ".name"
			}
			p.add(p.cfg.pos[f], f, "host interface name %q is already %s's: give one of them another name ({interface: %s, name: ...})", n, other, h.Interface)
			continue
		}
		names[n] = h.Field
	}
}

// checkLinuxCP is CheckSystem's part for linux_cp: the namespace exists.
func (c *Config) checkLinuxCP(e *errs) {
	if c.LinuxCP == nil || c.LinuxCP.Namespace == "" {
		return
	}
	if _, err := os.Stat("/run/netns/" + c.LinuxCP.Namespace); err != nil {
		e.add(c.pos["linux_cp.namespace"], "linux_cp.namespace", "no network namespace %q on this host (see ip netns list; create it with ip netns add %s, or fix the name)", c.LinuxCP.Namespace, c.LinuxCP.Namespace)
	}
}
