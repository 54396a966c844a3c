package config

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"hash/maphash"
	"io"
	"net"
	"net/netip"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/softnet/softnet"
	"github.com/softnet/softnet/dp/edrop/blocklist"
	"github.com/softnet/softnet/fib"
	"github.com/softnet/softnet/internal/rules"
	"github.com/softnet/softnet/port/pcapfile"
)

// CheckSystem checks what a config needs from this host: afpacket
// devices exist, with an MTU at least the config's (IfaceMTU), also for
// their VLAN sub-interfaces (the tags on top), pcap files to replay exist
// and begin with a classic pcap header of Ethernet frames, and the directories of pcap files to write do, route files exist, and
// the API's group exists. These are the checks softnet run and reload
// apply too. The error, if any, is an Errors pointing at the config's
// lines. TAP devices need not exist: the tap backend creates them.
func (c *Config) CheckSystem() error {
	e := errs{file: c.File}
	mtu := map[string]int{} // port interface name -> the MTU softnet run gives it
	for i := range c.Interfaces {
		ic := &c.Interfaces[i]
		f := ic.Field
		if ic.Backend == AFPacket || ic.Backend == AFXDP {
			if d, err := net.InterfaceByName(ic.Device); err == nil {
				dev := 0
				if d.MTU >= MinMTU {
					dev = d.MTU
				}
				if m, _, err := c.IfaceMTU(ic, dev); err != nil {
					e.add(err.Pos, err.Field, "%s", err.Msg)
				} else {
					mtu[ic.Name] = m
				}
			}
		}
		switch ic.Backend {
		case AFPacket, AFXDP:
			d, err := net.InterfaceByName(ic.Device)
			if err != nil {
				e.add(c.pos[f+".device"], f+".device", "no network device %q on this host (see ip link; create it, e.g. ip link add %s type veth peer name %s-peer, or fix the name)", ic.Device, ic.Device, trim(ic.Device, 10))
			} else if ic.Backend == AFXDP && d.MTU > AFXDPMaxMTU {
				e.add(c.pos[f+".device"], f+".device", "device %s has MTU %d, above what the afxdp backend holds (%d: a 4096-byte UMEM chunk less the kernel's 256-byte XDP headroom and L2 headers): lower it (ip link set %s mtu %d), or use backend: afpacket", ic.Device, d.MTU, AFXDPMaxMTU, ic.Device, AFXDPMaxMTU)
			}
		case PCAP:
			if ic.RX != "" {
				if err := readable(c.Path(ic.RX)); err != nil {
					e.add(c.pos[f+".rx"], f+".rx", "cannot read %s: %v (paths are relative to the config file's directory)", c.Path(ic.RX), err)
				} else if err := pcapHeader(c.Path(ic.RX)); err != nil {
					e.add(c.pos[f+".rx"], f+".rx", "%v: rx replays a classic pcap file of Ethernet frames (tcpdump -w writes one)", err)
				}
			}
			if ic.TX != "" {
				dir := filepath.Dir(c.Path(ic.TX))
				if st, err := os.Stat(dir); err != nil || !st.IsDir() {
					e.add(c.pos[f+".tx"], f+".tx", "directory %s does not exist: create it or fix the path (paths are relative to the config file's directory)", dir)
				}
			}
		}
	}
	// A VLAN sub-interface of an afpacket port whose MTU the config
	// leaves to the device: its MTU must fit the device's minus the tags
	// (validate checks it against a parent MTU the config gives).
	for i := range c.Interfaces {
		ic := &c.Interfaces[i]
		j := c.Interface(ic.Parent)
		if !ic.IsVLAN() || ic.MTU == 0 || j < 0 || c.Interfaces[j].MTU != 0 || mtu[ic.Parent] == 0 {
			continue
		}
		tags := 4
		if ic.OuterVLAN != 0 {
			tags = 8
		}
		if pm := mtu[ic.Parent]; ic.MTU > pm-tags {
			e.add(c.pos[ic.Field+".mtu"], ic.Field+".mtu", "%d is above the MTU of parent %s (%d) minus %d tag bytes: use at most %d, or leave it out (the default)", ic.MTU, ic.Parent, pm, tags, pm-tags)
		}
	}
	for _, r := range c.RouteFiles {
		if r.Path == EmbeddedFullTable || r.Path == "" {
			continue
		}
		if err := readable(c.Path(r.Path)); err != nil {
			e.add(c.pos[r.Field+".path"], r.Field+".path", "cannot read %s: %v (paths are relative to the config file's directory)", c.Path(r.Path), err)
		}
	}
	for _, b := range c.Blocklists {
		if b.File == "" {
			continue
		}
		if err := readable(c.Path(b.File)); err != nil {
			e.add(c.pos[b.Field+".file"], b.Field+".file", "cannot read %s: %v (paths are relative to the config file's directory)", c.Path(b.File), err)
		}
	}
	for _, cp := range c.Captures {
		if cp.Path == "" {
			continue
		}
		path := c.Path(cp.Path)
		dir := filepath.Dir(path)
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			e.add(c.pos[cp.Field+".path"], cp.Field+".path", "directory %s does not exist: create it or fix the path (paths are relative to the config file's directory)", dir)
		} else if st, err := os.Stat(path); err == nil && st.IsDir() && cp.MaxSize == 0 {
			e.add(c.pos[cp.Field+".path"], cp.Field+".path", "%s is a directory: give a file in it, e.g. %s", path, filepath.Join(path, orWord(cp.Name, "wan")+".pcapng"))
		}
	}
	if c.API.Group != "" {
		if _, err := LookupGroup(c.API.Group); err != nil {
			e.add(c.pos["api.group"], "api.group", "%v", err)
		}
	}
	c.checkLinuxCP(&e)
	c.checkFilterTables(&e)
	return e.err()
}

// IfaceMTU is the MTU softnet run gives interface ic: the config's, else
// its device's (devMTU, 0 if the backend has none) capped to MaxMTU
// (capped says so), else 1500. A config MTU above the device's is an
// error at ic's mtu line: the device would refuse (or the peer drop)
// frames that big, silently, and no ICMP "fragmentation needed" would
// ever be sent.
func (c *Config) IfaceMTU(ic *Interface, devMTU int) (mtu int, capped bool, err *Error) {
	switch {
	case ic.MTU != 0 && devMTU != 0 && ic.MTU > devMTU:
		return 0, false, c.Errorf(ic.Field+".mtu", "%d is above the MTU of device %s (%d): lower it, or raise the device's (ip link set %s mtu %d)", ic.MTU, ic.Device, devMTU, ic.Device, ic.MTU)
	case ic.MTU != 0:
		return ic.MTU, false, nil
	case devMTU > MaxMTU:
		return MaxMTU, true, nil
	case devMTU >= MinMTU:
		return devMTU, false, nil
	}
	return 1500, false, nil
}

// LookupGroup returns the gid of the group the API socket is to belong
// to (api.group), or an error that says how to fix it.
func LookupGroup(name string) (int, error) {
	g, err := user.LookupGroup(name)
	if err != nil {
		return 0, fmt.Errorf("group %q: %v (create it, or set api: {group: ...} to an existing group)", name, err)
	}
	gid, err := strconv.Atoi(g.Gid)
	if err != nil {
		return 0, fmt.Errorf("group %q has gid %q", name, g.Gid)
	}
	return gid, nil
}

func trim(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// pcapHeader checks the file header of the pcap file at path as the pcap
// backend does when it opens it (softnet run would fail on it).
func pcapHeader(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return pathErr(err)
	}
	defer f.Close()
	var b [24]byte
	n, err := io.ReadFull(f, b[:])
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return pathErr(err)
	}
	return pcapfile.Header(b[:n], path)
}

func readable(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return pathErr(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return pathErr(err)
	}
	if st.IsDir() {
		return fmt.Errorf("it is a directory")
	}
	return nil
}

// Table is the prefixes of one route file: its IPv4 ones, and its IPv6
// ones if the route file has via6.
// MaxRouteFilePrefixes bounds the prefixes of one route file (IPv6 ones
// skipped without via6 count too): each costs memory while the file is
// loaded, and a gzip of a few hundred KB can repeat a line millions of
// times.
const MaxRouteFilePrefixes = 1 << 24

type Table struct {
	Prefixes  []netip.Prefix
	Prefixes6 []netip.Prefix // loaded only with via6
	Skipped   int            // IPv6 prefixes in the file, not routed (no via6)
}

// LoadRouteFiles reads every route file, in order. Errors (unreadable
// file, a line that is not a prefix) point at the route file's entry.
// Its IPv4 prefixes, and its IPv6 ones if it has via6 (else they are
// counted in Skipped), follow the rules of config routes (package rules): no
// host bits set, no IPv4-mapped ::ffff: prefix (refused with the IPv4 one to
// write, with or without via6), and not one of the router's own prefixes (an interface
// address, a connected subnet, a subnet's network or broadcast address);
// the first line that breaks them is reported with its number.
func (c *Config) LoadRouteFiles() ([]Table, error) {
	return c.LoadRouteFilesCached(nil)
}

// TableCache keeps the route files that LoadRouteFilesCached (CheckCached)
// read, so that a reload whose route files did not change takes their
// prefixes from memory instead of parsing and checking every line again:
// about 2 s of CPU for the full table, which a reload would otherwise
// take from the workers on a small machine, and the time an API client
// waits for the reload's answer. A file counts as unchanged while its
// content is (a 64-bit hash of its bytes, read through once per load) and
// so are the interface addresses its prefixes were checked against; the
// embedded full table never changes. It holds the tables of the last load
// only. The zero value is ready; one load at a time (softnet run
// serialises reloads). Tables it returns share their Prefixes: read-only.
type TableCache struct {
	seed maphash.Seed
	m    map[string]cachedTable // by the file's path (Config.Path) or EmbeddedFullTable, and whether it has via6
}

type cachedTable struct {
	sum   uint64         // the file's hash (0: the embedded table)
	addrs []netip.Prefix // the interface addresses, in config order
	t     Table
}

// get returns the table kept for key if its hash and the addresses it was
// checked against are still sum and addrs.
func (tc *TableCache) get(key string, sum uint64, addrs []netip.Prefix) (Table, bool) {
	if tc == nil {
		return Table{}, false
	}
	e, ok := tc.m[key]
	if !ok || e.sum != sum || !slices.Equal(e.addrs, addrs) {
		return Table{}, false
	}
	return e.t, true
}

// fileSum hashes what fh holds (with tc's seed) and rewinds it.
func (tc *TableCache) fileSum(fh *os.File) (uint64, error) {
	if tc.seed == (maphash.Seed{}) {
		tc.seed = maphash.MakeSeed()
	}
	var h maphash.Hash
	h.SetSeed(tc.seed)
	if _, err := io.Copy(&h, fh); err != nil {
		return 0, err
	}
	if _, err := fh.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	return h.Sum64(), nil
}

// LoadRouteFilesCached is LoadRouteFiles, taking from tc (if not nil) the
// route files that did not change since tc last saw them, and keeping in
// tc the ones it read (see TableCache).
func (c *Config) LoadRouteFilesCached(tc *TableCache) ([]Table, error) {
	return c.loadRouteFiles(context.Background(), tc)
}

// cancelEvery is how many prefixes loadRouteFiles reads between two looks
// at its context: about a millisecond's worth.
const cancelEvery = 1 << 12

// loadRouteFiles is LoadRouteFilesCached, given up when ctx ends (the
// error is then ctx.Err()).
func (c *Config) loadRouteFiles(ctx context.Context, tc *TableCache) ([]Table, error) {
	e := errs{file: c.File}
	own := rules.NewOwn(c.ruleIfaces())
	var addrs []netip.Prefix
	for _, ic := range c.Interfaces {
		addrs = append(addrs, ic.Addresses...)
	}
	out := make([]Table, len(c.RouteFiles))
	keep := map[string]cachedTable{}
	for i, r := range c.RouteFiles {
		f := r.Field + ".path"
		var rd io.Reader
		key, sum := c.Path(r.Path), uint64(0)
		if r.Via6.IsValid() {
			key += "\x00ipv6" // with its IPv6 prefixes: another table
		}
		if r.Path == EmbeddedFullTable {
			rd = bytes.NewReader(softnet.FullTableGz)
		} else {
			fh, err := os.Open(c.Path(r.Path))
			if err != nil {
				e.add(c.pos[f], f, "cannot read %s: %v (paths are relative to the config file's directory)", c.Path(r.Path), pathErr(err))
				continue
			}
			defer fh.Close()
			if st, err := fh.Stat(); err == nil && !st.Mode().IsRegular() {
				e.add(c.pos[f], f, "%s is not a regular file (%v): give a route table file", c.Path(r.Path), st.Mode().Type())
				continue
			}
			if tc != nil {
				if sum, err = tc.fileSum(fh); err != nil {
					e.add(c.pos[f], f, "cannot read %s: %v", c.Path(r.Path), pathErr(err))
					continue
				}
			}
			rd = fh
		}
		if t, ok := tc.get(key, sum, addrs); ok {
			out[i] = t
			keep[key] = cachedTable{sum, addrs, t}
			continue
		}
		var t Table
		n := 0
		err := fib.ReadPrefixesFunc(rd, func(_ int, p netip.Prefix) error {
			if n++; n%cancelEvery == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			if n > MaxRouteFilePrefixes {
				return fmt.Errorf("more than %d prefixes: a route file holds at most that (as many as IPv4 has /24s; the full Internet table is about 1 M): split it, or check that it is a route file", MaxRouteFilePrefixes)
			}
			// A mapped ::ffff:A.B.C.D/N is IPv4 written as IPv6: refused
			// here (with the IPv4 prefix to write), as in routes: and
			// the API, before the skip of IPv6 lines without via6.
			if err := rules.Mapped(p.String(), p); err != nil {
				return err
			}
			if !p.Addr().Is4() && !r.Via6.IsValid() {
				t.Skipped++
				return nil
			}
			if err := rules.Canonical(p.String(), p); err != nil {
				return err
			}
			if err := own.Check(p); err != nil {
				return err
			}
			if p.Addr().Is4() {
				t.Prefixes = append(t.Prefixes, p)
			} else {
				t.Prefixes6 = append(t.Prefixes6, p)
			}
			return nil
		})
		if cerr := ctx.Err(); cerr != nil {
			return nil, cerr
		}
		if err != nil {
			e.add(c.pos[f], f, "%s: %v", c.Path(r.Path), err)
			continue
		}
		out[i] = t
		keep[key] = cachedTable{sum, addrs, t}
	}
	if err := e.err(); err != nil {
		return nil, err
	}
	if tc != nil {
		tc.m = keep // the last load's tables only
	}
	return out, nil
}

// ReadBlocklist reads the file of blocklist i (c.Blocklists[i]): its
// bytes and their SHA-256, which tells a reload whether the list changed.
// The error is at the entry's file line.
func (c *Config) ReadBlocklist(i int) (data []byte, sum [32]byte, err *Error) {
	b := &c.Blocklists[i]
	f := b.Field + ".file"
	path := c.Path(b.File)
	fh, oerr := os.Open(path)
	if oerr != nil {
		return nil, sum, c.Errorf(f, "cannot read %s: %v (paths are relative to the config file's directory)", path, pathErr(oerr))
	}
	defer fh.Close()
	if st, serr := fh.Stat(); serr == nil && !st.Mode().IsRegular() {
		return nil, sum, c.Errorf(f, "%s is not a regular file (%v): give a list of addresses and prefixes, one a line", path, st.Mode().Type())
	}
	data, rerr := io.ReadAll(io.LimitReader(fh, blocklist.MaxText+1))
	if rerr != nil {
		return nil, sum, c.Errorf(f, "cannot read %s: %v", path, pathErr(rerr))
	}
	if len(data) > blocklist.MaxText {
		return nil, sum, c.Errorf(f, "%s: more than %d GiB: a list holds at most that; split it, or check that it is a list file", path, blocklist.MaxText>>30)
	}
	return data, sha256.Sum256(data), nil
}

// ParseBlocklist parses data, the file of blocklist i as ReadBlocklist
// read it (plain or gzip). A bad line is an error at the entry's file
// line that also names the list file's line (path:N).
func (c *Config) ParseBlocklist(i int, data []byte) (blocklist.Entries, *Error) {
	b := &c.Blocklists[i]
	var e blocklist.Entries
	if err := blocklist.Parse(c.Path(b.File), data, &e); err != nil {
		return e, c.Errorf(b.Field+".file", "%v", err)
	}
	return e, nil
}

// LoadBlocklists reads and parses every blocklist's file, in order (what
// softnet check and softnet run do; a reload reads each file and parses
// only those that changed).
func (c *Config) LoadBlocklists() ([]blocklist.Entries, error) {
	var errs Errors
	out := make([]blocklist.Entries, len(c.Blocklists))
	for i := range c.Blocklists {
		data, _, err := c.ReadBlocklist(i)
		if err == nil {
			out[i], err = c.ParseBlocklist(i, data)
			c.setMasked(c.Blocklists[i].Field, out[i].MaskedNote())
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return out, nil
}
