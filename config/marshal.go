package config

import (
	"net"
	"path/filepath"

	"go.yaml.in/yaml/v3"
)

// Marshal writes c as a config file that Parse reads back to the same
// Config (softnet config save writes the running state with it). Paths
// (rx, tx, route files, blocklist files) are written absolute, resolved against c's own
// file, so that the saved file works from any directory. Fields at their
// zero value (the defaults) are left out; the defaults Parse applied
// (workers, icmp) are written. Every field Parse accepts is written
// (TestMarshalEveryField checks it).
func (c *Config) Marshal() ([]byte, error) {
	abs := func(p string) string {
		if p == "" || p == EmbeddedFullTable {
			return p
		}
		if a, err := filepath.Abs(c.Path(p)); err == nil {
			return a
		}
		return c.Path(p)
	}
	type ifaceY struct {
		Name      string   `yaml:"name"`
		Backend   string   `yaml:"backend,omitempty"`
		Device    string   `yaml:"device,omitempty"`
		RX        string   `yaml:"rx,omitempty"`
		TX        string   `yaml:"tx,omitempty"`
		Loop      bool     `yaml:"loop,omitempty"`
		Rate      float64  `yaml:"rate,omitempty"`
		Limit     uint64   `yaml:"limit,omitempty"`
		MAC       string   `yaml:"mac,omitempty"`
		MTU       int      `yaml:"mtu,omitempty"`
		Addresses []string `yaml:"addresses,flow,omitempty"`
		Down      bool     `yaml:"down,omitempty"`
		StackDrop bool     `yaml:"stack_drop,omitempty"`
		RA        bool     `yaml:"router_advertisements,omitempty"`
		Parent    string   `yaml:"parent,omitempty"`
		VLAN      int      `yaml:"vlan,omitempty"`
		OuterVLAN int      `yaml:"outer_vlan,omitempty"`
		TPID      int      `yaml:"tpid,omitempty"`
		Bridge    string   `yaml:"bridge,omitempty"`
	}
	type bridgeY struct {
		Name       string   `yaml:"name"`
		Members    []string `yaml:"members,flow"`
		MaxMACs    int      `yaml:"max_macs,omitempty"`
		Ageing     int      `yaml:"ageing,omitempty"`
		FloodRate  int      `yaml:"flood_rate,omitempty"`
		FloodBurst int      `yaml:"flood_burst,omitempty"`
	}
	type routeY struct {
		Prefix    string `yaml:"prefix"`
		Via       string `yaml:"via,omitempty"`
		Blackhole bool   `yaml:"blackhole,omitempty"`
	}
	type routeFileY struct {
		Path      string `yaml:"path"`
		Via       string `yaml:"via,omitempty"`
		Via6      string `yaml:"via6,omitempty"`
		Blackhole bool   `yaml:"blackhole,omitempty"`
	}
	type neighborY struct {
		Interface string `yaml:"interface"`
		Address   string `yaml:"address"`
		MAC       string `yaml:"mac"`
	}
	type blocklistY struct {
		Name       string   `yaml:"name"`
		File       string   `yaml:"file"`
		Match      string   `yaml:"match,omitempty"`
		Interfaces []string `yaml:"interfaces,flow,omitempty"`
	}
	type icmpY struct {
		Rate  int `yaml:"rate"`
		Burst int `yaml:"burst"`
	}
	type apiY struct {
		Socket  string `yaml:"socket,omitempty"`
		Group   string `yaml:"group,omitempty"`
		Metrics string `yaml:"metrics,omitempty"`
	}
	type linuxCPY struct {
		Namespace  string   `yaml:"namespace,omitempty"`
		Interfaces []string `yaml:"interfaces,omitempty,flow"`
		Tables     []int    `yaml:"tables,omitempty,flow"`
		Protocols  []int    `yaml:"protocols,omitempty,flow"`
		RcvBuf     int      `yaml:"rcvbuf,omitempty"`
		HostIfs    []any    `yaml:"host_interfaces,omitempty,flow"`
		PuntRate   int      `yaml:"punt_rate,omitempty"`
		PuntBurst  int      `yaml:"punt_burst,omitempty"`
		ArpND      string   `yaml:"arp_nd,omitempty"`
	}
	type tableY struct {
		Name      string   `yaml:"name"`
		File      string   `yaml:"file,omitempty"`
		Addresses []string `yaml:"addresses,flow,omitempty"`
	}
	type timeoutsY struct {
		TCPOpening     int `yaml:"tcp_opening,omitempty"`
		TCPEstablished int `yaml:"tcp_established,omitempty"`
		TCPClosing     int `yaml:"tcp_closing,omitempty"`
		TCPClosed      int `yaml:"tcp_closed,omitempty"`
		UDP            int `yaml:"udp,omitempty"`
		ICMP           int `yaml:"icmp,omitempty"`
		Other          int `yaml:"other,omitempty"`
	}
	type filterY struct {
		Default  string     `yaml:"default"`
		Limit    int        `yaml:"limit,omitempty"`
		Timeouts *timeoutsY `yaml:"timeouts,flow,omitempty"`
		Tables   []tableY   `yaml:"tables,omitempty"`
		Rules    []string   `yaml:"rules"`
	}
	type captureY struct {
		Name      string `yaml:"name"`
		Interface string `yaml:"interface,omitempty"`
		Point     string `yaml:"point,omitempty"`
		Reason    string `yaml:"reason,omitempty"`
		Filter    string `yaml:"filter,omitempty"`
		Snaplen   int    `yaml:"snaplen,omitempty"`
		Path      string `yaml:"path"`
		MaxSize   int64  `yaml:"max_size,omitempty"`
		MaxFiles  int    `yaml:"max_files,omitempty"`
		Format    string `yaml:"format,omitempty"`
	}
	type fileY struct {
		Workers    int          `yaml:"workers"`
		PollMode   string       `yaml:"poll_mode"`
		PollWindow string       `yaml:"poll_window,omitempty"`
		Interfaces []ifaceY     `yaml:"interfaces"`
		Bridges    []bridgeY    `yaml:"bridges,omitempty"`
		Routes     []routeY     `yaml:"routes,omitempty"`
		RouteFiles []routeFileY `yaml:"route_files,omitempty"`
		Neighbors  []neighborY  `yaml:"neighbors,omitempty"`
		Blocklists []blocklistY `yaml:"blocklists,omitempty"`
		ICMP       icmpY        `yaml:"icmp,flow"`
		API        *apiY        `yaml:"api,omitempty"`
		LinuxCP    *linuxCPY    `yaml:"linux_cp,omitempty"`
		Filter     *filterY     `yaml:"filter,omitempty"`
		Captures   []captureY   `yaml:"captures,omitempty"`
	}
	f := fileY{Workers: c.Workers, PollMode: c.PollMode, ICMP: icmpY{c.ICMP.Rate, c.ICMP.Burst}}
	if c.PollWindow != 0 {
		f.PollWindow = c.PollWindow.String()
	}
	for _, ic := range c.Interfaces {
		y := ifaceY{Name: ic.Name, Backend: string(ic.Backend), Device: ic.Device, RX: abs(ic.RX), TX: abs(ic.TX),
			Loop: ic.Loop, Rate: ic.Rate, Limit: ic.Limit, MTU: ic.MTU, Down: ic.Down,
			StackDrop: ic.StackDrop, RA: ic.RouterAdvertisements, Parent: ic.Parent, VLAN: ic.VLAN, OuterVLAN: ic.OuterVLAN, Bridge: ic.Bridge}
		if ic.MAC != [6]byte{} {
			y.MAC = net.HardwareAddr(ic.MAC[:]).String()
		}
		y.TPID = int(ic.TPID)
		for _, a := range ic.Addresses {
			y.Addresses = append(y.Addresses, a.String())
		}
		f.Interfaces = append(f.Interfaces, y)
	}
	for _, b := range c.Bridges {
		f.Bridges = append(f.Bridges, bridgeY{Name: b.Name, Members: b.Members, MaxMACs: b.MaxMACs, Ageing: b.Ageing,
			FloodRate: b.FloodRate, FloodBurst: b.FloodBurst})
	}
	for _, r := range c.Routes {
		y := routeY{Prefix: r.Prefix.String(), Blackhole: r.Blackhole}
		if r.Via.IsValid() {
			y.Via = r.Via.String()
		}
		f.Routes = append(f.Routes, y)
	}
	for _, r := range c.RouteFiles {
		y := routeFileY{Path: abs(r.Path), Blackhole: r.Blackhole}
		if r.Via.IsValid() {
			y.Via = r.Via.String()
		}
		if r.Via6.IsValid() {
			y.Via6 = r.Via6.String()
		}
		f.RouteFiles = append(f.RouteFiles, y)
	}
	for _, n := range c.Neighbors {
		f.Neighbors = append(f.Neighbors, neighborY{n.Interface, n.Address.String(), net.HardwareAddr(n.MAC[:]).String()})
	}
	for _, b := range c.Blocklists {
		f.Blocklists = append(f.Blocklists, blocklistY{b.Name, abs(b.File), b.Match, b.Interfaces})
	}
	for _, cp := range c.Captures {
		y := captureY{Name: cp.Name, Interface: cp.Interface, Point: cp.Point, Reason: cp.Reason, Filter: cp.Filter,
			Snaplen: cp.Snaplen, Path: abs(cp.Path), Format: cp.Format}
		if cp.MaxSize > 0 {
			y.MaxSize, y.MaxFiles = cp.MaxSize, cp.MaxFiles
		}
		f.Captures = append(f.Captures, y)
	}
	if c.API != (API{}) {
		f.API = &apiY{c.API.Socket, c.API.Group, c.API.Metrics}
	}
	if lc := c.LinuxCP; lc != nil {
		f.LinuxCP = &linuxCPY{Namespace: lc.Namespace, Interfaces: lc.Interfaces, Tables: lc.Tables, Protocols: lc.Protocols, RcvBuf: lc.RcvBuf,
			PuntRate: lc.PuntRate, PuntBurst: lc.PuntBurst, ArpND: lc.ArpND}
		for _, h := range lc.HostInterfaces {
			if h.Name == "" {
				f.LinuxCP.HostIfs = append(f.LinuxCP.HostIfs, h.Interface)
			} else {
				f.LinuxCP.HostIfs = append(f.LinuxCP.HostIfs, map[string]string{"interface": h.Interface, "name": h.Name})
			}
		}
	}
	if fl := c.Filter; fl != nil {
		fy := &filterY{Default: fl.Default.String(), Limit: fl.Limit, Rules: []string{}}
		if fl.Timeouts != (FilterTimeouts{}) {
			t := fl.Timeouts
			fy.Timeouts = &timeoutsY{t.TCPOpening, t.TCPEstablished, t.TCPClosing, t.TCPClosed, t.UDP, t.ICMP, t.Other}
		}
		for _, t := range fl.Tables {
			ty := tableY{Name: t.Name, File: abs(t.File)}
			for _, a := range t.Addresses {
				ty.Addresses = append(ty.Addresses, a.String())
			}
			fy.Tables = append(fy.Tables, ty)
		}
		for _, r := range fl.Rules {
			fy.Rules = append(fy.Rules, r.Text)
		}
		f.Filter = fy
	}
	return yaml.Marshal(&f)
}
