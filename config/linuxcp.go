package config

import (
	"os"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/softnet/softnet/linuxcp"
)

var linuxCPFields = []string{"namespace", "interfaces", "tables", "protocols", "rcvbuf"}

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
