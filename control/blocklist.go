package control

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/softnet/softnet/dp/edrop"
	"github.com/softnet/softnet/dp/edrop/blocklist"
)

// BlocklistConfig is one blocklist of the early-drop stage (dp/edrop):
// the addresses and prefixes in File (plain or gzip, one a line, '#'
// comments), matched against the source address of the frames received on
// Interfaces (port names; none: every port at the time of the load), or
// against the destination if Match is "dst".
type BlocklistConfig struct {
	Name       string
	File       string
	Match      string // "src" (default) or "dst"
	Interfaces []string
}

// BlocklistInfo describes a blocklist in force (show blocklists).
type BlocklistInfo struct {
	Name       string   `json:"name"`
	File       string   `json:"file,omitempty"`
	Match      string   `json:"match"`
	Interfaces []string `json:"interfaces,omitempty"` // empty: every port
	Entries    int      `json:"entries"`
	IPv4       int      `json:"ipv4"`
	IPv6       int      `json:"ipv6"`
	Bytes      int      `json:"bytes"`  // memory of its lookup tables
	Drops      uint64   `json:"drops"`  // frames it dropped, all workers
	LoadS      float64  `json:"load_s"` // seconds its last load or change took (parse and build)
	// Masked: how many lines of the file the list was last loaded from
	// had host bits set (10.1.2.3/8), taken masked (10.0.0.0/8);
	// FirstMasked quotes the first, "FILE:LINE: 10.1.2.3/8 as 10.0.0.0/8".
	Masked      int    `json:"masked,omitempty"`
	FirstMasked string `json:"first_masked,omitempty"`
}

type blocklistState struct {
	mu    sync.Mutex // one change at a time; builds run outside Router.mu
	lists []*blEntry
	hold  edrop.Holder
}

type blEntry struct {
	cfg   BlocklistConfig
	table *blocklist.Table
	hits  *edrop.Counters
	loadS float64
	// fromConfig: loaded by SetConfigBlocklists (softnet run, reload)
	// from a file whose bytes hash to sum.
	fromConfig bool
	sum        [32]byte
	// masked, firstMasked: the last file load's (BlocklistInfo).
	masked      int
	firstMasked string
}

// LoadBlocklist loads (or reloads) blocklist c.Name from c.File and swaps
// it in atomically: the workers go on with the old table until they load
// the new one at their next vector; no packet waits. A reload that names
// no Match and no Interfaces keeps the list's. Its counters survive.
func (r *Router) LoadBlocklist(c BlocklistConfig) (BlocklistInfo, error) {
	if c.Name == "" {
		return BlocklistInfo{}, fmt.Errorf("blocklist: a name is required")
	}
	if c.File == "" {
		return BlocklistInfo{}, fmt.Errorf("blocklist %s: a file is required (one address or prefix a line, plain or gzip)", c.Name)
	}
	bs := &r.bl
	bs.mu.Lock()
	defer bs.mu.Unlock()
	if old := bs.find(c.Name); old != nil && c.Match == "" && c.Interfaces == nil {
		c.Match, c.Interfaces = old.cfg.Match, old.cfg.Interfaces
	}
	if err := r.checkBlocklist(&c); err != nil {
		return BlocklistInfo{}, err
	}
	start := time.Now()
	e, err := blocklist.Load(c.File)
	if err != nil {
		return BlocklistInfo{}, fmt.Errorf("blocklist %s: %v", c.Name, err)
	}
	t := blocklist.Build(e)
	if _, err := r.swapBlocklist(c, t, time.Since(start), nil); err != nil {
		return BlocklistInfo{}, err
	}
	l := bs.find(c.Name)
	l.masked, l.firstMasked = e.Masked, e.FirstMasked
	return l.info(), nil
}

// BlocklistChange adds (del false) or deletes the addresses and prefixes
// entries to or from blocklist name, which must exist, and swaps the new
// table in.
func (r *Router) BlocklistChange(name string, entries []string, del bool) (BlocklistInfo, error) {
	bs := &r.bl
	bs.mu.Lock()
	defer bs.mu.Unlock()
	old := bs.find(name)
	if old == nil {
		return BlocklistInfo{}, fmt.Errorf("no blocklist %q: load it first (softnet blocklist load %s FILE)%s", name, name, bs.names())
	}
	start := time.Now()
	e := old.table.Entries()
	if !del {
		for _, s := range entries {
			p, err := blocklist.CheckEntry(s)
			if err != nil {
				return BlocklistInfo{}, fmt.Errorf("blocklist %s: %v", name, err)
			}
			e.Add(p)
		}
	} else {
		var rm blocklist.Entries
		for _, s := range entries {
			p, err := blocklist.CheckEntry(s)
			if err != nil {
				return BlocklistInfo{}, fmt.Errorf("blocklist %s: %v", name, err)
			}
			if !old.table.Contains(p) {
				return BlocklistInfo{}, fmt.Errorf("blocklist %s: %s is not an entry of it (delete entries as listed: softnet blocklist show %s)", name, s, name)
			}
			rm.Add(p)
		}
		e.Remove(rm)
	}
	t := blocklist.Build(e)
	return r.swapBlocklist(old.cfg, t, time.Since(start), old)
}

// Blocklists describes the blocklists in force, in load order.
func (r *Router) Blocklists() []BlocklistInfo {
	bs := &r.bl
	bs.mu.Lock()
	defer bs.mu.Unlock()
	out := make([]BlocklistInfo, 0, len(bs.lists))
	for _, l := range bs.lists {
		out = append(out, l.info())
	}
	return out
}

// BlocklistEntries returns the entries of blocklist name, at most max
// (0: all), as text.
func (r *Router) BlocklistEntries(name string, max int) ([]string, error) {
	bs := &r.bl
	bs.mu.Lock()
	defer bs.mu.Unlock()
	l := bs.find(name)
	if l == nil {
		return nil, fmt.Errorf("no blocklist %q%s", name, bs.names())
	}
	var out []string
	for _, p := range l.table.Prefixes() {
		if max > 0 && len(out) == max {
			break
		}
		if p.Bits() == p.Addr().BitLen() {
			out = append(out, p.Addr().String())
		} else {
			out = append(out, p.String())
		}
	}
	return out, nil
}

func (l *blEntry) info() BlocklistInfo {
	return BlocklistInfo{Name: l.cfg.Name, File: l.cfg.File, Match: l.cfg.Match, Interfaces: l.cfg.Interfaces,
		Entries: l.table.Len(), IPv4: l.table.Len4(), IPv6: l.table.Len6(), Bytes: l.table.Bytes(),
		Drops: l.hits.Total(), LoadS: l.loadS, Masked: l.masked, FirstMasked: l.firstMasked}
}

func (bs *blocklistState) find(name string) *blEntry {
	for _, l := range bs.lists {
		if l.cfg.Name == name {
			return l
		}
	}
	return nil
}

func (bs *blocklistState) names() string {
	if len(bs.lists) == 0 {
		return " (there are none)"
	}
	s := "; blocklists are:"
	for _, l := range bs.lists {
		s += " " + l.cfg.Name
	}
	return s
}

// checkBlocklist validates c's match and interfaces (ports, not VLAN
// sub-interfaces: early-drop runs on device-input, per port).
func (r *Router) checkBlocklist(c *BlocklistConfig) error {
	switch c.Match {
	case "":
		c.Match = "src"
	case "src", "dst":
	default:
		return fmt.Errorf("blocklist %s: match %q: want src or dst", c.Name, c.Match)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	// The config's checks (config.validate's blocklists), so that what is
	// loaded at run time is what softnet config save can write back.
	for j, n := range c.Interfaces {
		i := r.ifaceIndexLocked(n)
		switch {
		case i < 0:
			return fmt.Errorf("blocklist %s: no interface %q: name a port interface", c.Name, n)
		case r.ifaces[i].TagLen != 0:
			return fmt.Errorf("blocklist %s: interface %s is a VLAN sub-interface: early drop runs per port, name its parent %s", c.Name, n, r.ifaces[r.ifaces[i].Parent].Name)
		case r.bviOf(i) != nil:
			return fmt.Errorf("blocklist %s: interface %s is a bridge's routed interface, which has no port: name the bridge's member ports", c.Name, n)
		case slices.Contains(c.Interfaces[:j], n):
			return fmt.Errorf("blocklist %s: interface %s is listed twice: keep one", c.Name, n)
		}
	}
	return nil
}

func (r *Router) ifaceIndexLocked(name string) int {
	for i := range r.ifaces {
		if r.ifaces[i].Name == name {
			return i
		}
	}
	return -1
}

// ConfigBlocklist is one blocklist of the config file, as softnet run
// and reload apply it (SetConfigBlocklists).
type ConfigBlocklist struct {
	BlocklistConfig
	Sum   [32]byte         // SHA-256 of the file's bytes
	Table *blocklist.Table // nil: unchanged (BlocklistCurrent), keep the table in force
	Took  time.Duration    // to parse and build Table
	// Masked, FirstMasked: the file's entries with host bits set, taken
	// masked (blocklist.Entries).
	Masked      int
	FirstMasked string
}

// BlocklistCurrent reports whether blocklist c is in force as the config
// loaded it, from a file whose bytes hash to sum, with the same file,
// match and interfaces: a reload need not parse it again.
func (r *Router) BlocklistCurrent(c BlocklistConfig, sum [32]byte) bool {
	bs := &r.bl
	bs.mu.Lock()
	defer bs.mu.Unlock()
	l := bs.find(c.Name)
	return l != nil && l.fromConfig && l.sum == sum && sameBlocklist(l.cfg, c)
}

func sameBlocklist(a, b BlocklistConfig) bool {
	if a.Match == "" {
		a.Match = "src"
	}
	if b.Match == "" {
		b.Match = "src"
	}
	return a.Name == b.Name && a.File == b.File && a.Match == b.Match && slices.Equal(a.Interfaces, b.Interfaces)
}

// SetConfigBlocklists makes lists the blocklists of the config, swapped
// in together (one Set): a list with a Table replaces the list of its
// name (its counters carry over) or is added; a list without one is kept
// as it is in force (it must be, see BlocklistCurrent); the lists an
// earlier config loaded that lists does not name are removed. Lists
// loaded at run time (LoadBlocklist) that the config does not name stay.
// It returns what it did to each list, for the reload's report.
func (r *Router) SetConfigBlocklists(lists []ConfigBlocklist) ([]string, error) {
	bs := &r.bl
	bs.mu.Lock()
	defer bs.mu.Unlock()
	want := map[string]bool{}
	for i := range lists {
		c := &lists[i]
		want[c.Name] = true
		if err := r.checkBlocklist(&c.BlocklistConfig); err != nil {
			return nil, err
		}
		if c.Table == nil && bs.find(c.Name) == nil {
			return nil, fmt.Errorf("blocklist %s: not loaded, and no table given", c.Name)
		}
	}
	var out []string
	var next []*blEntry
	for _, l := range bs.lists {
		if l.fromConfig && !want[l.cfg.Name] {
			out = append(out, fmt.Sprintf("blocklist %s: removed (not in the config)", l.cfg.Name))
			continue
		}
		next = append(next, l)
	}
	for _, c := range lists {
		if c.Table == nil {
			out = append(out, fmt.Sprintf("blocklist %s: unchanged", c.Name))
			continue
		}
		ne := &blEntry{cfg: c.BlocklistConfig, table: c.Table, hits: new(edrop.Counters), loadS: c.Took.Seconds(), fromConfig: true, sum: c.Sum,
			masked: c.Masked, firstMasked: c.FirstMasked}
		what := "loaded"
		if i := slices.IndexFunc(next, func(l *blEntry) bool { return l.cfg.Name == c.Name }); i >= 0 {
			ne.hits = next[i].hits
			next[i] = ne
			what = "reloaded"
		} else {
			next = append(next, ne)
		}
		msg := fmt.Sprintf("blocklist %s: %s (%d entries from %s in %.2f s)", c.Name, what, c.Table.Len(), c.File, c.Took.Seconds())
		if n := (blocklist.Entries{Masked: c.Masked, FirstMasked: c.FirstMasked}).MaskedNote(); n != "" {
			msg += "; " + n
		}
		out = append(out, msg)
	}
	r.installBlocklists(next)
	return out, nil
}

// swapBlocklist replaces (or appends) list c with table t (a change of
// old's entries, if old is not nil: it stays the config's), makes the new
// Set, enables early-drop first on the interfaces with lists (and off on
// the others) and publishes. Caller holds r.bl.mu.
func (r *Router) swapBlocklist(c BlocklistConfig, t *blocklist.Table, took time.Duration, old *blEntry) (BlocklistInfo, error) {
	bs := &r.bl
	ne := &blEntry{cfg: c, table: t, hits: new(edrop.Counters), loadS: took.Seconds()}
	if old != nil {
		ne.fromConfig, ne.sum = old.fromConfig, old.sum
		ne.masked, ne.firstMasked = old.masked, old.firstMasked
	}
	lists := slices.Clone(bs.lists)
	replaced := false
	for i, l := range lists {
		if l.cfg.Name == c.Name {
			ne.hits = l.hits
			lists[i] = ne
			replaced = true
		}
	}
	if !replaced {
		lists = append(lists, ne)
	}
	r.installBlocklists(lists)
	return ne.info(), nil
}

// installBlocklists makes lists the blocklists in force: the new Set,
// early-drop enabled first on the interfaces with lists (and off on the
// others), published. Caller holds r.bl.mu.
func (r *Router) installBlocklists(lists []*blEntry) {
	bs := &r.bl
	r.mu.Lock()
	defer r.mu.Unlock()
	n := len(r.ifaces)
	var dl []*edrop.List
	for _, l := range lists {
		el := &edrop.List{Name: l.cfg.Name, Dst: l.cfg.Match == "dst", Table: l.table, Hits: l.hits}
		for _, name := range l.cfg.Interfaces {
			if i := r.ifaceIndexLocked(name); i >= 0 {
				el.Ifaces = append(el.Ifaces, i)
			}
		}
		if l.cfg.Interfaces != nil && el.Ifaces == nil {
			el.Ifaces = []int{} // its interfaces are gone: none
		}
		dl = append(dl, el)
	}
	set := edrop.NewSet(dl, n, func(i int) bool { return r.ifaces[i].TagLen == 0 })
	for i := 0; i < n; i++ {
		on := len(set.On(i)) > 0
		f := r.ifaces[i].Features
		has := slices.Contains(f, edrop.NodeName)
		switch {
		case on && !has:
			r.ifaces[i].Features = append([]string{edrop.NodeName}, f...)
			r.dirty = true
		case !on && has:
			r.ifaces[i].Features = slices.DeleteFunc(slices.Clone(f), func(s string) bool { return s == edrop.NodeName })
			r.dirty = true
		}
	}
	bs.hold.Store(set)
	bs.lists = lists
	if r.dirty {
		r.publish()
	}
}
