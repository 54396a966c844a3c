package control

import (
	"fmt"
	"slices"
	"time"

	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/dp/l2"
)

// BridgeConfig describes a bridge domain: a learning switch across
// Members (interfaces already added: ports or VLAN sub-interfaces, with
// no addresses, in no other bridge), with an optional routed interface in
// it (BVI) that AddBridge creates.
type BridgeConfig struct {
	Name    string
	Members []string
	// BVI, if its Name is set, is the bridge's routed interface: an L3
	// interface with its own MAC and addresses, reached through the
	// bridge. Parent, VLAN, OuterVLAN and TPID must be unset. Its MTU is
	// capped to the smallest of the members' (what it sends leaves
	// through a member), now and whenever a member's is lowered.
	BVI IfaceConfig
	// MaxMACs is the table limit per worker (default 4096); Ageing how
	// long a learned MAC lives unseen (default 300 s, as IEEE 802.1D);
	// FloodRate and FloodBurst the per-worker flood limit in frames per
	// second (default 10000 and 1000).
	MaxMACs               int
	Ageing                time.Duration
	FloodRate, FloodBurst int
}

// AddBridge adds a bridge domain and returns its index. Its members' frames
// go to l2-bridge from the next published snapshot on. Nothing is
// half-applied: on an error the router is as before.
func (r *Router) AddBridge(c BridgeConfig) (int, error) {
	if c.MaxMACs == 0 {
		c.MaxMACs = 4096
	}
	if c.Ageing == 0 {
		c.Ageing = 300 * time.Second
	}
	if c.FloodRate == 0 {
		c.FloodRate = 10000
	}
	if c.FloodBurst == 0 {
		c.FloodBurst = 1000
	}
	fail := func(format string, args ...any) (int, error) {
		return 0, fmt.Errorf("bridge %s: "+format, append([]any{c.Name}, args...)...)
	}
	switch {
	case c.Name == "":
		return 0, fmt.Errorf("a bridge needs a name")
	case c.MaxMACs < 1 || c.MaxMACs > 1<<20:
		return fail("max MACs %d: use 1..%d", c.MaxMACs, 1<<20)
	case c.Ageing < time.Second:
		return fail("ageing %v: use at least 1s", c.Ageing)
	case c.FloodRate < 1 || c.FloodBurst < 1:
		return fail("flood rate %d and burst %d: both must be at least 1", c.FloodRate, c.FloodBurst)
	case len(c.Members) < 1:
		return fail("no members: list at least one interface")
	case c.BVI.Parent != "" || c.BVI.VLAN != 0:
		return fail("the BVI %s is not a VLAN: remove parent and vlan", c.BVI.Name)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	bi := len(r.bridges)
	var members []uint16
	for _, name := range c.Members {
		i := r.index(name)
		var err error
		switch {
		case i < 0:
			err = fmt.Errorf("bridge %s: no member interface %q: add it first", c.Name, name)
		case r.ifaces[i].Bridge != 0:
			err = fmt.Errorf("bridge %s: %s is already in bridge %s", c.Name, name, r.bridges[r.ifaces[i].Bridge-1].Name)
		case len(r.ifaces[i].Addrs) > 0:
			err = fmt.Errorf("bridge %s: member %s has addresses: a member is a switch port; put the addresses on the BVI", c.Name, name)
		case slices.Contains(members, uint16(i)):
			err = fmt.Errorf("bridge %s: %s is listed twice", c.Name, name)
		}
		if err != nil {
			return 0, err
		}
		members = append(members, uint16(i))
	}
	if slices.ContainsFunc(r.bridges, func(b dp.Bridge) bool { return b.Name == c.Name }) {
		return fail("the name is taken")
	}
	// The BVI last: everything else is checked, so a failure here leaves
	// nothing half-applied.
	bvi := -1
	if c.BVI.Name != "" {
		var err error
		if bvi, err = r.addInterface(c.BVI); err != nil {
			return fail("BVI: %v", err)
		}
	}
	r.bridges = append(r.bridges, dp.Bridge{Name: c.Name, Members: members, BVI: bvi, MaxMACs: c.MaxMACs,
		Ageing: c.Ageing.Nanoseconds(), FloodRate: c.FloodRate, FloodBurst: c.FloodBurst, Shared: l2.NewShared()})
	for _, m := range members {
		r.ifaces[m].Bridge = uint16(bi + 1)
		if r.ifaces[m].TagLen != 0 {
			r.setVLANEntry(int(m))
		}
	}
	if bvi >= 0 {
		r.ifaces[bvi].Bridge = uint16(bi + 1)
	}
	r.capBVIs()
	r.dirty = true
	return bi, nil
}

// memberMTU is the smallest MTU of bridge b's members, and the member
// that has it. Caller holds mu.
func (r *Router) memberMTU(b *dp.Bridge) (mtu int, name string) {
	for _, m := range b.Members {
		if ifc := &r.ifaces[m]; name == "" || ifc.MTU < mtu {
			mtu, name = ifc.MTU, ifc.Name
		}
	}
	return mtu, name
}

// bviOf returns the bridge interface idx is the routed interface of, or
// nil. Caller holds mu.
func (r *Router) bviOf(idx int) *dp.Bridge {
	if bi := int(r.ifaces[idx].Bridge) - 1; bi >= 0 && bi < len(r.bridges) && r.bridges[bi].BVI == idx {
		return &r.bridges[bi]
	}
	return nil
}

// capBVIs lowers each routed interface's MTU to its bridge's smallest
// member MTU: what the BVI sends leaves through a member, so a larger
// packet would be dropped there instead of fragmented or answered with
// "fragmentation needed". Caller holds mu.
func (r *Router) capBVIs() {
	for i := range r.bridges {
		b := &r.bridges[i]
		if b.BVI < 0 {
			continue
		}
		if m, _ := r.memberMTU(b); r.ifaces[b.BVI].MTU > m {
			r.setMTU(b.BVI, m)
		}
	}
}

// BridgeInfo is one bridge as `softnet show bridge` lists it.
type BridgeInfo struct {
	Name    string
	Members []string
	BVI     string // "" if none
	// BVIMTU is the routed interface's MTU, at most MemberMTU: the
	// smallest of the members' MTUs, MemberMTUOf's.
	BVIMTU      int
	MemberMTU   int
	MemberMTUOf string
	MACs        []MACEntry
}

// MACEntry is one learned MAC: on which member, in which worker's table
// (each worker learns what it sees; every worker looks up in all tables).
type MACEntry struct {
	MAC    [6]byte
	Member string
	Worker int
}

// Bridges lists the bridges with the MACs each worker has learned and
// seen within the bridge's ageing time: an aged-out MAC the worker has
// not swept yet is left out, and so is one whose member went down since
// it was learned (flushed; see l2.MAC.Flushed).
func (r *Router) Bridges() []BridgeInfo {
	r.mu.Lock()
	ws := r.workers
	names := make([]string, len(r.ifaces))
	for i := range r.ifaces {
		names[i] = r.ifaces[i].Name
	}
	var out []BridgeInfo
	var ageing []int64 // ms, per bridge
	for _, b := range r.bridges {
		ageing = append(ageing, b.Ageing/1e6)
		bi := BridgeInfo{Name: b.Name}
		for _, m := range b.Members {
			bi.Members = append(bi.Members, names[m])
		}
		if b.BVI >= 0 {
			bi.BVI, bi.BVIMTU = names[b.BVI], r.ifaces[b.BVI].MTU
		}
		bi.MemberMTU, bi.MemberMTUOf = r.memberMTU(&b)
		out = append(out, bi)
	}
	r.mu.Unlock()
	cfg := r.cur.Load()
	for i := range out {
		for _, w := range ws {
			now := l2.Now(w)
			for _, m := range l2.MACs(w, i) {
				if now-m.Seen > ageing[i] || cfg != nil && m.Flushed(cfg) {
					continue // aged out or its member went down; the worker removes it lazily
				}
				name := ""
				if int(m.Member) < len(names) {
					name = names[m.Member]
				}
				out[i].MACs = append(out[i].MACs, MACEntry{MAC: m.MAC, Member: name, Worker: w.ID})
			}
		}
	}
	return out
}

// memberMTUIn is memberMTU with the members' MTUs of desired state ifs.
// Caller holds mu.
func (r *Router) memberMTUIn(b *dp.Bridge, ifs []IfaceState) int {
	mtu := maxMTU
	for _, m := range b.Members {
		if int(m) < len(ifs) && !r.ifaces[m].Deleted {
			mtu = min(mtu, ifs[m].MTU)
		}
	}
	return mtu
}
