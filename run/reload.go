package run

import (
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"runtime"
	"slices"

	"github.com/softnet/softnet/config"
	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/neigh"
)

// ReloadResult says what a Reload changed.
type ReloadResult struct {
	File    string          `json:"file"`
	Summary string          `json:"summary"` // the new config, as softnet check prints it
	Changes control.Changes `json:"changes"`
	// Blocklists says what the reload did to each blocklist of the
	// config: loaded, reloaded (its file, match or interfaces changed),
	// unchanged (not parsed again) or removed; a list or filter table
	// whose file had entries with host bits set says how many it took
	// masked and quotes the first (config.Notes).
	Blocklists []string `json:"blocklists,omitempty"`
	// Warnings name the routes and static neighbours added at run time
	// (the API) that the reload removed because the file does not have
	// them: add them to the file to keep them across reloads.
	Warnings []string `json:"warnings,omitempty"`
}

// reloadNice is the nice value of a reload's config check (see Reload):
// below every worker (0, or SCHED_FIFO with --rt-priority).
const reloadNice = 10

// checkLow is config.CheckCached on a new thread at nice reloadNice,
// which ends with it.
func (r *Router) checkLow(file string) (cfg *config.Config, tables []config.Table, err error) {
	onLowThread(func() { cfg, tables, err = config.CheckCached(file, &r.tables) })
	return cfg, tables, err
}

// onLowThread runs f on a thread of its own at nice reloadNice and waits
// for it; the thread, and its lowered priority, end with f. A panic in f
// is raised again in the caller.
func onLowThread(f func()) {
	var caught any
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() { caught = recover() }()
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		if mainThread() {
			// The runtime never ends the main thread (it would stay at
			// the lowered priority): keep it locked here, so that the
			// goroutine below runs on another, and give it back after.
			onLowThread(f)
			runtime.UnlockOSThread()
			return
		}
		lowerThreadPriority()
		f()
	}()
	<-done
	if caught != nil {
		panic(caught)
	}
}

// Reload re-reads the router's config file (or file, if not ""), checks
// it exactly as softnet check does, and applies the difference to the
// running router in one published snapshot: routes, route files,
// neighbours, interface addresses, MTU, admin state, the ICMP rate and
// the always-on captures (added, removed, changed; an unchanged one goes
// on writing its file); then the blocklists whose file (its bytes), match
// or interfaces changed are swapped in (the others are not parsed again).
// A config with errors, or one that changes what only a restart can
// (interfaces added, removed, renamed or reordered, a backend, device,
// MAC or pcap setting, the workers, the api section), is rejected with
// config.Errors pointing at its lines, and the running router is left as
// it was. Reloads are serialised.
//
// The config and its route files are read and checked on a thread of
// its own at nice reloadNice (checkLow): parsing a changed full table is
// seconds of CPU, which on a small machine the scheduler would otherwise
// share with the workers' threads, stalling them long enough for their
// receive rings to overflow. The rest (control.Reconfigure) runs at the
// caller's priority: it holds the control plane's lock in chunks, and a
// low priority there would make every API call wait behind it.
func (r *Router) Reload(file string) (*ReloadResult, error) {
	r.reloadMu.Lock()
	defer r.reloadMu.Unlock()
	r.mu.Lock()
	old := r.cfg
	r.mu.Unlock()
	if file == "" {
		file = old.File
	}
	// Route files that did not change since the last reload are not
	// parsed again (config.TableCache): most reloads change a route or a
	// neighbour, not the full table. The blocklists: below, only those
	// that changed.
	cfg, tables, err := r.checkLow(file)
	if err != nil {
		return nil, err
	}
	if err := restartNeeded(old, cfg); err != nil {
		return nil, err
	}
	d := control.Desired{ICMPRate: cfg.ICMP.Rate, ICMPBurst: cfg.ICMP.Burst}
	mtus := make([]int, len(r.ifaces))
	var errs config.Errors
	for i, ifc := range r.ifaces {
		ic := &cfg.Interfaces[cfg.Interface(ifc.cfg.Name)] // ports: config order may differ
		// The device's MTU now, not at start-up: it may have changed
		// since (the link watcher follows it).
		dev := ifc.opened.mtu
		if dev != 0 && ic.Device != "" {
			if d, err := net.InterfaceByName(ic.Device); err == nil && d.MTU >= config.MinMTU {
				dev = d.MTU
			}
		}
		m, err := ifaceMTU(cfg, ic, dev, nil)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		mtus[i] = m
		d.Ifaces = append(d.Ifaces, control.IfaceState{MTU: m, Addrs: slices.Clone(ic.Addresses), Down: ic.Down})
	}
	// The VLAN sub-interfaces and bridge routed interfaces follow the
	// ports, in the router's order.
	for j, ifc := range r.ctl.Interfaces()[len(r.ifaces):] {
		ci := -1
		if !ifc.Deleted {
			ci = cfg.Interface(ifc.Name)
		}
		if ci < 0 {
			// Added or deleted at run time (softnet vlan): not the
			// config's to change, kept as it is.
			st := control.IfaceState{MTU: ifc.MTU, Down: !r.ctl.AdminUp(len(r.ifaces) + j)}
			for _, a := range ifc.Addrs {
				st.Addrs = append(st.Addrs, a.Prefix())
			}
			d.Ifaces = append(d.Ifaces, st)
			continue
		}
		ic := &cfg.Interfaces[ci]
		m := ic.MTU
		if m == 0 && ifc.TagLen != 0 {
			m = mtus[ifc.Parent] - int(ifc.TagLen) // the parent's new MTU
		}
		if m == 0 {
			m = ifc.MTU
		}
		d.Ifaces = append(d.Ifaces, control.IfaceState{MTU: m, Addrs: slices.Clone(ic.Addresses), Down: ic.Down})
	}
	if len(errs) > 0 {
		return nil, errs
	}
	if errs := deletedRefs(cfg, r.ctl); len(errs) > 0 {
		return nil, errs
	}
	// The routes of both families, replaced together in one snapshot.
	var vias []netip.Addr
	for _, rt := range cfg.Routes {
		d.Routes = append(d.Routes, rt.Prefix)
		vias = append(vias, rt.Via)
	}
	// Route files: one gateway each (via, and via6 for their IPv6
	// prefixes), looked up by index range.
	type span struct {
		end int
		via netip.Addr
	}
	var spans []span
	for i, rf := range cfg.RouteFiles {
		d.Routes = append(d.Routes, tables[i].Prefixes...)
		spans = append(spans, span{len(d.Routes), rf.Via})
		d.Routes = append(d.Routes, tables[i].Prefixes6...)
		spans = append(spans, span{len(d.Routes), rf.Via6})
	}
	nstatic := len(vias)
	d.Via = func(i int) netip.Addr {
		if i < nstatic {
			return vias[i]
		}
		for _, s := range spans {
			if i < s.end {
				return s.via
			}
		}
		return netip.Addr{}
	}
	for _, nb := range cfg.Neighbors {
		d.Neighbors = append(d.Neighbors, control.StaticNeighbor{Iface: r.ctl.InterfaceIndex(nb.Interface), Addr: nb.Address, MAC: nb.MAC})
	}
	// Blocklists: every file is read and hashed; only a list whose file
	// (its bytes), match or interfaces changed is parsed and built, before
	// anything is applied, and swapped in after the rest.
	lists, lerrs := configBlocklists(cfg, r.ctl)
	if len(lerrs) > 0 {
		return nil, lerrs
	}
	warn := r.runtimeLost(old, cfg, d.Routes)
	// The captures first: one that cannot start (its file) leaves the
	// router as it was.
	if err := applyCaptures(r.ctl, cfg); err != nil {
		return nil, err
	}
	ch, err := r.ctl.Reconfigure(d)
	if err != nil {
		return nil, config.Errors{{File: file, Msg: fmt.Sprintf("not applied, the running config stays: %v", err)}}
	}
	bl, err := r.ctl.SetConfigBlocklists(lists)
	if err != nil {
		return nil, config.Errors{cfg.Errorf("blocklists", "the rest of the config is applied, but not its blocklists: %v", err)}
	}
	// The filter's rules after the interfaces (rules name them); states
	// stay. Its errors are the table files' (checked by Check already)
	// and interfaces deleted at run time.
	if err := r.applyFilter(cfg, true); err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.cfg = cfg
	for i, ifc := range r.ifaces {
		ifc.cfg = &cfg.Interfaces[cfg.Interface(ifc.cfg.Name)]
		ifc.mtu = mtus[i]
	}
	r.routes = len(d.Routes)
	r.mu.Unlock()
	bl = append(bl, cfg.Notes()...) // the filter tables' (the blocklists' are in bl)
	return &ReloadResult{File: file, Summary: cfg.Summary(tables), Changes: ch, Blocklists: bl, Warnings: warn}, nil
}

// runtimeLost lists what a reload to cfg takes away that was added at run
// time: configured routes added through the API (control.RuntimeRoutes)
// and static neighbours that neither the old config nor cfg has.
func (r *Router) runtimeLost(old, cfg *config.Config, routes []netip.Prefix) []string {
	var out []string
	const keep = "it was added at run time and is not in %s: add it there to keep it across reloads"
	if rt := r.ctl.RuntimeRoutes(); len(rt) > 0 {
		want := make(map[netip.Prefix]bool, len(routes))
		for _, p := range routes {
			want[p.Masked()] = true
		}
		slices.SortFunc(rt, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr())*64 + a.Bits() - b.Bits() })
		for _, p := range rt {
			if !want[p] {
				out = append(out, fmt.Sprintf("route %v removed: "+keep, p, cfg.File))
			}
		}
	}
	ifs := r.ctl.Interfaces()
	has := func(c *config.Config, iface string, a netip.Addr) bool {
		return slices.ContainsFunc(c.Neighbors, func(n config.Neighbor) bool { return n.Interface == iface && n.Address == a })
	}
	for _, e := range r.ctl.Neighbors() {
		if e.State != neigh.Static || e.Key.Iface >= len(ifs) {
			continue
		}
		name := ifs[e.Key.Iface].Name
		if !has(old, name, e.Key.Addr) && !has(cfg, name, e.Key.Addr) {
			out = append(out, fmt.Sprintf("neighbor %v on %s removed: "+keep, e.Key.Addr, name, cfg.File))
		}
	}
	return out
}

// restartNeeded returns the differences between the running config and
// cfg that a reload cannot apply, as errors at cfg's lines.
func restartNeeded(old, cfg *config.Config) error {
	var errs config.Errors
	const how = "needs a restart of softnet run (reload applies routes, route files, neighbors, blocklists, addresses, mtu, down and icmp)"
	if old.Workers != cfg.Workers {
		errs = append(errs, cfg.Errorf("workers", "changed from %d to %d: %s", old.Workers, cfg.Workers, how))
	}
	if old.PollMode != cfg.PollMode || old.PollWindow != cfg.PollWindow {
		errs = append(errs, cfg.Errorf("poll_mode", "poll_mode or poll_window changed (from %s to %s): %s", pollDesc(old), pollDesc(cfg), how))
	}
	if old.API != cfg.API {
		errs = append(errs, cfg.Errorf("api", "the api section changed: %s", how))
	}
	if len(old.Interfaces) != len(cfg.Interfaces) {
		errs = append(errs, cfg.Errorf("interfaces", "%d interfaces, the config the router started from has %d (VLAN sub-interfaces added with softnet vlan add are not in it, and a reload keeps them): adding or removing interfaces in the file %s", len(cfg.Interfaces), len(old.Interfaces), how))
		return errs
	}
	for i := range cfg.Interfaces {
		o, n := &old.Interfaces[i], &cfg.Interfaces[i]
		what := ""
		switch {
		case o.Name != n.Name:
			what = fmt.Sprintf("interface %d is %s, was %s (interfaces cannot be renamed or reordered)", i, n.Name, o.Name)
		case o.Backend != n.Backend:
			what = fmt.Sprintf("interface %s: backend changed from %s to %s", n.Name, o.Backend, n.Backend)
		case o.Device != n.Device:
			what = fmt.Sprintf("interface %s: device changed from %q to %q", n.Name, o.Device, n.Device)
		case o.MAC != n.MAC:
			what = fmt.Sprintf("interface %s: mac changed", n.Name)
		case absPath(old, o.RX) != absPath(cfg, n.RX) || absPath(old, o.TX) != absPath(cfg, n.TX) || o.Loop != n.Loop || o.Rate != n.Rate || o.Limit != n.Limit:
			what = fmt.Sprintf("interface %s: a pcap setting (rx, tx, loop, rate, limit) changed", n.Name)
		case o.Parent != n.Parent || o.VLAN != n.VLAN || o.OuterVLAN != n.OuterVLAN || o.TPID != n.TPID:
			what = fmt.Sprintf("interface %s: a VLAN setting (parent, vlan, outer_vlan, tpid) changed", n.Name)
		case o.Bridge != n.Bridge:
			what = fmt.Sprintf("interface %s: bridge changed", n.Name)
		case o.RouterAdvertisements != n.RouterAdvertisements:
			what = fmt.Sprintf("interface %s: router_advertisements changed", n.Name)
		}
		if what != "" {
			errs = append(errs, cfg.Errorf(n.Field, "%s: %s", what, how))
		}
	}
	if !slices.EqualFunc(old.Bridges, cfg.Bridges, func(a, b config.Bridge) bool {
		return a.Name == b.Name && slices.Equal(a.Members, b.Members) && a.MaxMACs == b.MaxMACs && a.Ageing == b.Ageing && a.FloodRate == b.FloodRate && a.FloodBurst == b.FloodBurst
	}) {
		errs = append(errs, cfg.Errorf("bridges", "the bridges changed: %s", how))
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// absPath is path p of config c made absolute, so that the same file
// named from two directories compares equal.
func absPath(c *config.Config, p string) string {
	if p == "" {
		return ""
	}
	if a, err := filepath.Abs(c.Path(p)); err == nil {
		return a
	}
	return c.Path(p)
}

// ifaceMTU is config.IfaceMTU (the checks softnet check applies too),
// warning when the device's MTU is capped.
func ifaceMTU(cfg *config.Config, ic *config.Interface, devMTU int, warn func(string, ...any)) (int, *config.Error) {
	m, capped, err := cfg.IfaceMTU(ic, devMTU)
	if capped && warn != nil {
		warn("device MTU above what a buffer holds: using the maximum", "interface", ic.Name, "device_mtu", devMTU, "mtu", config.MaxMTU)
	}
	return m, err
}

// WorkerCounters returns each worker's published counters, in worker
// order.
func (r *Router) WorkerCounters() []dp.Counters {
	out := make([]dp.Counters, len(r.workers))
	for i, w := range r.workers {
		out[i] = w.Counters()
	}
	return out
}

// deletedRefs finds the config's neighbours and routes on a VLAN
// sub-interface of the config that was deleted at run time (softnet vlan
// del): the running router has no such interface any more, so reload
// cannot apply them. Each error names the entry, the deleted VLAN and the
// ways on: remove the entry (or the VLAN) from the file, or restart softnet
// run, which creates the VLAN again.
func deletedRefs(cfg *config.Config, ctl *control.Router) config.Errors {
	var errs config.Errors
	gone := func(name string) bool {
		ci := cfg.Interface(name)
		return ci >= 0 && cfg.Interfaces[ci].Parent != "" && ctl.InterfaceIndex(name) < 0
	}
	const how = "remove it from the config, or restart softnet run to create the VLAN again"
	for _, nb := range cfg.Neighbors {
		if gone(nb.Interface) {
			errs = append(errs, cfg.Errorf(nb.Field, "neighbor %v is on %s, which was deleted at run time (softnet vlan del): %s", nb.Address, nb.Interface, how))
		}
	}
	for _, rt := range cfg.Routes {
		if !rt.Via.IsValid() {
			continue
		}
		for _, ic := range cfg.Interfaces {
			if !gone(ic.Name) {
				continue
			}
			for _, a := range ic.Addresses {
				if a.Masked().Contains(rt.Via) {
					errs = append(errs, cfg.Errorf(rt.Field, "route %v via %v: the gateway is on %s (%v), which was deleted at run time (softnet vlan del): %s", rt.Prefix, rt.Via, ic.Name, a.Masked(), how))
				}
			}
		}
	}
	for _, rf := range cfg.RouteFiles {
		for _, ic := range cfg.Interfaces {
			for _, a := range ic.Addresses {
				if rf.Via.IsValid() && gone(ic.Name) && a.Masked().Contains(rf.Via) {
					errs = append(errs, cfg.Errorf(rf.Field, "route file %s via %v: the gateway is on %s (%v), which was deleted at run time (softnet vlan del): %s", rf.Path, rf.Via, ic.Name, a.Masked(), how))
				}
			}
		}
	}
	return errs
}

// pollDesc is c's poll mode and window, for messages.
func pollDesc(c *config.Config) string {
	if c.PollWindow != 0 {
		return fmt.Sprintf("%s %v", c.PollMode, c.PollWindow)
	}
	return c.PollMode
}
