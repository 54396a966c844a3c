package config

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/softnet/softnet"
	"github.com/softnet/softnet/fib"
)

// CheckSystem checks what a config needs from this host: afpacket
// devices exist, pcap files to replay exist and the directories of pcap
// files to write do, and route files exist. The error, if any, is an
// Errors pointing at the config's lines. TAP devices need not exist:
// the tap backend creates them.
func (c *Config) CheckSystem() error {
	e := errs{file: c.File}
	for _, ic := range c.Interfaces {
		f := ic.Field
		switch ic.Backend {
		case AFPacket:
			if _, err := net.InterfaceByName(ic.Device); err != nil {
				e.add(c.pos[f+".device"], f+".device", "no network device %q on this host (see ip link; create it, e.g. ip link add %s type veth peer name %s-peer, or fix the name)", ic.Device, ic.Device, trim(ic.Device, 10))
			}
		case PCAP:
			if ic.RX != "" {
				if err := readable(c.Path(ic.RX)); err != nil {
					e.add(c.pos[f+".rx"], f+".rx", "cannot read %s: %v (paths are relative to the config file's directory)", c.Path(ic.RX), err)
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
	for _, r := range c.RouteFiles {
		if r.Path == EmbeddedFullTable || r.Path == "" {
			continue
		}
		if err := readable(c.Path(r.Path)); err != nil {
			e.add(c.pos[r.Field+".path"], r.Field+".path", "cannot read %s: %v (paths are relative to the config file's directory)", c.Path(r.Path), err)
		}
	}
	return e.err()
}

func trim(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
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

// Table is the IPv4 prefixes of one route file.
type Table struct {
	Prefixes []netip.Prefix
	Skipped  int // IPv6 prefixes in the file, not routed
}

// LoadRouteFiles reads every route file, in order. Errors (unreadable
// file, a line that is not a prefix) point at the route file's entry.
func (c *Config) LoadRouteFiles() ([]Table, error) {
	e := errs{file: c.File}
	out := make([]Table, len(c.RouteFiles))
	for i, r := range c.RouteFiles {
		f := r.Field + ".path"
		var rd io.Reader
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
			rd = fh
		}
		ps, err := fib.ReadPrefixes(rd)
		if err != nil {
			e.add(c.pos[f], f, "%s: %v", c.Path(r.Path), err)
			continue
		}
		v4 := ps[:0]
		for _, p := range ps {
			if p.Addr().Is4() {
				v4 = append(v4, p)
			}
		}
		out[i] = Table{Prefixes: v4, Skipped: len(ps) - len(v4)}
	}
	if err := e.err(); err != nil {
		return nil, err
	}
	return out, nil
}
