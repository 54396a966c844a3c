package linuxcp

import (
	"encoding/binary"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// FuzzParse: the in-place netlink parsers (parse: parseRoute's
// attributes and RTA_MULTIPATH's next hops, parseNeigh, parseAddr, links)
// never read out of bounds nor panic on a truncated or malformed
// message, and what they accept is well formed: a route's prefix valid
// and masked, its next hops' gateways unmapped or absent, a neighbour's
// address valid and unmapped, an address's prefix valid. The seeds are
// a well-formed route with a gateway, table and metric, a multipath
// route, a neighbour and an address, and their truncations.
func FuzzParse(f *testing.F) {
	attr := func(typ uint16, v []byte) []byte {
		b := make([]byte, 4, 4+len(v)+3)
		binary.NativeEndian.PutUint16(b, uint16(4+len(v)))
		binary.NativeEndian.PutUint16(b[2:], typ)
		b = append(b, v...)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
		return b
	}
	u32 := func(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }
	rtm := []byte{unix.AF_INET, 24, 0, 0, unix.RT_TABLE_MAIN, unix.RTPROT_BOOT, unix.RT_SCOPE_UNIVERSE, unix.RTN_UNICAST, 0, 0, 0, 0}
	route := append(append([]byte{}, rtm...), attr(unix.RTA_DST, []byte{10, 1, 2, 0})...)
	route = append(route, attr(unix.RTA_GATEWAY, []byte{10, 0, 0, 1})...)
	route = append(route, attr(unix.RTA_OIF, u32(3))...)
	route = append(route, attr(unix.RTA_TABLE, u32(254))...)
	route = append(route, attr(unix.RTA_PRIORITY, u32(100))...)
	nh := func(link uint32, gw []byte) []byte {
		a := attr(unix.RTA_GATEWAY, gw)
		b := make([]byte, 8)
		binary.NativeEndian.PutUint16(b, uint16(8+len(a)))
		b[3] = 1
		binary.NativeEndian.PutUint32(b[4:], link)
		return append(b, a...)
	}
	mp := append(append([]byte{}, rtm...), attr(unix.RTA_DST, []byte{10, 9, 0, 0})...)
	mp = append(mp, attr(unix.RTA_MULTIPATH, append(nh(3, []byte{10, 0, 0, 1}), nh(4, []byte{10, 0, 1, 1})...))...)
	nd := []byte{unix.AF_INET, 0, 0, 0, 3, 0, 0, 0, nudReachable, 0, 0, 0}
	nd = append(nd, attr(unix.NDA_DST, []byte{10, 0, 0, 2})...)
	nd = append(nd, attr(unix.NDA_LLADDR, []byte{2, 0, 0, 0, 0, 2})...)
	ad := []byte{unix.AF_INET, 24, 0, 0, 3, 0, 0, 0}
	ad = append(ad, attr(unix.IFA_LOCAL, []byte{10, 0, 0, 1})...)
	ad = append(ad, attr(unix.IFA_ADDRESS, []byte{10, 0, 0, 1})...)
	for _, s := range []struct {
		typ uint16
		b   []byte
	}{{unix.RTM_NEWROUTE, route}, {unix.RTM_DELROUTE, route}, {unix.RTM_NEWROUTE, mp},
		{unix.RTM_NEWNEIGH, nd}, {unix.RTM_DELNEIGH, nd}, {unix.RTM_NEWADDR, ad}, {unix.RTM_DELADDR, ad}} {
		for _, n := range []int{len(s.b), len(s.b) - 1, len(s.b) - 5, 13, 11, 0} {
			if n >= 0 && n <= len(s.b) {
				f.Add(s.typ, s.b[:n])
			}
		}
	}
	f.Add(uint16(unix.RTM_NEWLINK), make([]byte, unix.SizeofIfInfomsg+3))
	f.Fuzz(func(t *testing.T, typ uint16, data []byte) {
		// The parsers cast the payload to its header struct: give them
		// the kernel's 4-byte alignment, as the reader does.
		buf := make([]byte, len(data)+4)
		d := buf[:len(data)]
		copy(d, data)
		m := syscall.NetlinkMessage{Header: syscall.NlMsghdr{Len: uint32(unix.NLMSG_HDRLEN + len(d)), Type: typ}, Data: d}
		e, ok := parse(&m)
		if !ok {
			return
		}
		switch e.Kind {
		case RouteAdd, RouteDel:
			p := e.Route.Prefix
			if !p.IsValid() || p != p.Masked() || p.Addr().Is4In6() {
				t.Fatalf("route prefix %v from % x", p, data)
			}
			for _, h := range e.Route.Hops {
				if h.Via.Is4In6() || h.Weight < 1 {
					t.Fatalf("route %v hop %+v from % x", p, h, data)
				}
			}
		case NeighSet, NeighDel:
			if !e.Neigh.Addr.IsValid() || e.Neigh.Addr.Is4In6() {
				t.Fatalf("neighbour %+v from % x", e.Neigh, data)
			}
		case AddrSet, AddrDel:
			if !e.Addr.Prefix.IsValid() {
				t.Fatalf("address %+v from % x", e.Addr, data)
			}
		}
	})
}
