package run

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/softnet/softnet/config"
	"github.com/softnet/softnet/control"
)

// Saved is the running state written as a config file (softnet config
// save, GET /v1/config).
type Saved struct {
	// YAML is a config that softnet check accepts and that softnet run
	// starts with the routes, static neighbours, interfaces (with their
	// addresses and admin state), VLAN sub-interfaces and bridges the
	// router has now.
	YAML string `json:"yaml"`
	// Warnings name what the file cannot say the way the router runs it
	// (a route of a route file, IPv4 or IPv6, deleted or changed at run
	// time).
	Warnings []string `json:"warnings,omitempty"`
}

// RunningConfig writes the router's running state as a config: the
// config it runs (workers, backends, devices, route files, bridges, icmp,
// api) with the interfaces' addresses and admin state as they are now,
// VLAN sub-interfaces added at run time (softnet vlan add) and not those
// deleted (one deleted and added again under its name is written as it
// runs now), every static neighbour, and every configured route (IPv4 and
// IPv6) that its route files do not already give with the same next hop
// (via, via6) (so routes added through the API are in, those deleted are
// out), and every blocklist as it runs (those loaded at run time too).
// Paths are written
// absolute. The router's state is read at one moment. It waits for a
// reload in progress.
func (r *Router) RunningConfig() (*Saved, error) {
	r.reloadMu.Lock()
	defer r.reloadMu.Unlock()
	cfg := r.Config()
	out := *cfg
	out.Interfaces, out.Bridges, out.Routes, out.Neighbors = nil, nil, nil, nil
	// One snapshot: interfaces, VLANs, routes and neighbours by the same
	// indices, however the API changes them meanwhile.
	st := r.ctl.RunningState()
	d := st.Desired
	index := func(name string) int {
		for i, n := range st.Names {
			if n == name && i < len(d.Ifaces) {
				return i
			}
		}
		return -1
	}
	vlans := make(map[string]control.VLANInfo, len(st.VLANs))
	for _, v := range st.VLANs {
		vlans[v.Name] = v
	}
	var warn []string
	have := map[string]bool{}
	for _, ic := range cfg.Interfaces {
		i := index(ic.Name)
		if i < 0 {
			continue // a VLAN of the config deleted at run time
		}
		if ic.IsVLAN() {
			v, ok := vlans[ic.Name]
			if !ok {
				continue
			}
			if reAdded(ic, v) {
				// Deleted and added again at run time, with other tags
				// or MTU: write what runs.
				ic = runtimeVLAN(v)
			}
		}
		ic.Addresses, ic.Down = slices.Clone(d.Ifaces[i].Addrs), d.Ifaces[i].Down
		out.Interfaces = append(out.Interfaces, ic)
		have[ic.Name] = true
	}
	for _, v := range st.VLANs {
		if have[v.Name] || v.Index >= len(d.Ifaces) {
			continue
		}
		// Added at run time.
		ic := runtimeVLAN(v)
		ic.Addresses, ic.Down = slices.Clone(d.Ifaces[v.Index].Addrs), d.Ifaces[v.Index].Down
		out.Interfaces = append(out.Interfaces, ic)
		have[v.Name] = true
	}
	for _, b := range cfg.Bridges {
		b.Members = slices.DeleteFunc(slices.Clone(b.Members), func(m string) bool { return !have[m] })
		out.Bridges = append(out.Bridges, b)
	}
	for _, n := range d.Neighbors {
		if n.Iface >= 0 && n.Iface < len(st.Names) && st.Names[n.Iface] != "" {
			out.Neighbors = append(out.Neighbors, config.Neighbor{Interface: st.Names[n.Iface], Address: n.Addr, MAC: n.MAC})
		}
	}

	// Route files stay route files: a route is written in routes only if
	// no route file gives it with the same next hop.
	fromFile := map[netip.Prefix]int{} // prefix -> route file (the last listing it wins, as in run and reload)
	if len(cfg.RouteFiles) > 0 {
		tables, err := cfg.LoadRouteFiles()
		if err != nil {
			return nil, fmt.Errorf("reading the route files of %s again: %w", cfg.File, err)
		}
		for i, t := range tables {
			for _, p := range t.Prefixes {
				fromFile[p.Masked()] = i
			}
			for _, p := range t.Prefixes6 { // with via6
				fromFile[p.Masked()] = i
			}
		}
	}
	seen := make(map[netip.Prefix]bool, len(fromFile))
	for i, p := range d.Routes {
		if p.Addr().Is6() {
			break // the IPv6 routes come last: st.Routes6 below
		}
		via := d.Via(i)
		if f, ok := fromFile[p]; ok {
			seen[p] = true
			rf := cfg.RouteFiles[f]
			if rf.Via == via {
				continue
			}
			warn = append(warn, fmt.Sprintf("route %v is %s now, but route file %s gives it %s, and a route file comes after routes: edit the route file (or the saved file) to keep %s",
				p, viaText(via), rf.Path, viaText(rf.Via), viaText(via)))
		}
		out.Routes = append(out.Routes, config.Route{Prefix: p, Via: via, Blackhole: !via.IsValid()})
	}
	// IPv6 routes, after the IPv4 ones; those of route files (via6) as
	// the IPv4 ones.
	for i, p := range st.Routes6 {
		via := st.Via6[i]
		if f, ok := fromFile[p]; ok {
			seen[p] = true
			rf := cfg.RouteFiles[f]
			if rf.Via6 == via {
				continue
			}
			warn = append(warn, fmt.Sprintf("route %v is %s now, but route file %s gives it %s, and a route file comes after routes: edit the route file (or the saved file) to keep %s",
				p, viaText(via), rf.Path, viaText(rf.Via6), viaText(via)))
		}
		out.Routes = append(out.Routes, config.Route{Prefix: p, Via: via, Blackhole: !via.IsValid()})
	}
	if len(seen) < len(fromFile) {
		var gone []netip.Prefix
		for p := range fromFile {
			if !seen[p] {
				gone = append(gone, p)
			}
		}
		slices.SortFunc(gone, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr())*64 + a.Bits() - b.Bits() })
		for j, p := range gone {
			if j == 10 {
				warn = append(warn, fmt.Sprintf("and %d more routes of route files deleted at run time", len(gone)-j))
				break
			}
			warn = append(warn, fmt.Sprintf("route %v was deleted at run time, but route file %s still has it: delete it from the route file to leave it out",
				p, cfg.RouteFiles[fromFile[p]].Path))
		}
	}
	// The blocklists as they run: the config's and those loaded at run
	// time (softnet blocklist load), in load order, each with its file,
	// match and interfaces.
	if bls := r.ctl.Blocklists(); len(bls) > 0 {
		out.Blocklists = nil
		for _, b := range bls {
			out.Blocklists = append(out.Blocklists, config.Blocklist{Name: b.Name, File: b.File, Match: b.Match, Interfaces: slices.Clone(b.Interfaces)})
		}
	}
	y, err := out.Marshal()
	if err != nil {
		return nil, err
	}
	return &Saved{YAML: "# softnet config save: the running state of the router started from " + cfg.File + "\n" + string(y), Warnings: warn}, nil
}

// reAdded reports whether the run-time VLAN v, of the same name as the
// config's VLAN ic, is another one: deleted and added again with other
// tags, parent or MTU.
func reAdded(ic config.Interface, v control.VLANInfo) bool {
	tpid := ic.TPID
	if ic.OuterVLAN == 0 {
		tpid = 0
	} else if tpid == 0 {
		tpid = 0x88a8 // the default
	}
	return ic.Parent != v.Parent || ic.VLAN != v.VLAN || ic.OuterVLAN != v.OuterVLAN || tpid != v.TPID ||
		(ic.MTU != 0 && ic.MTU != v.MTU)
}

// runtimeVLAN is the config entry of the VLAN sub-interface v as it runs.
func runtimeVLAN(v control.VLANInfo) config.Interface {
	return config.Interface{Name: v.Name, Parent: v.Parent, VLAN: v.VLAN, OuterVLAN: v.OuterVLAN, TPID: v.TPID, MTU: v.MTU}
}

func viaText(a netip.Addr) string {
	if !a.IsValid() {
		return "a blackhole"
	}
	return "via " + a.String()
}
