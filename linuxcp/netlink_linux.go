package linuxcp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/softnet/softnet/internal/netns"
)

// DefaultRcvBuf is the notification socket's receive buffer (SO_RCVBUFFORCE):
// 256 MiB, which the kernel doubles to 512 MiB of room, and charges 832
// bytes for an IPv4 route notification, 1280 for an IPv6 one (measured on
// Linux 6.x): room for some 600,000 notifications that softnet has not
// read yet, well over half a full table's burst. The memory is the
// kernel's, taken only while notifications wait. 64 MiB (some 160,000)
// overflowed in the netlink-full-table burst on a loaded machine, and the
// resync of a million routes that follows costs more than the burst.
const DefaultRcvBuf = 256 << 20

// nlSource is a Source on rtnetlink sockets in one network namespace.
type nlSource struct {
	ns     string
	fd     int
	buf    []byte // drain's
	closed atomic.Bool

	// The reader's recvmmsg: a notification is a datagram of its own (the
	// kernel queues one skb per route change), so a burst of a million
	// route changes is a million datagrams; one system call takes up to
	// recvBatch of them.
	bufs []byte // recvBatch buffers of recvBufLen bytes
	iovs []unix.Iovec
	hdrs []unix.Mmsghdr
	hops hopCache // the reader's: routes through the same next hop share its Hops
	// free are event slices of recvBatch the applier is done with
	// (Recycle), for Read to fill again.
	free chan []Event
}

// recvBatch is the most notifications one recvmmsg takes; recvBufLen the
// room for each (a link notification with its statistics is a few KiB, a
// route notification some 100 bytes). A notification longer than that is
// truncated by the kernel (MSG_TRUNC): Read reports it as lost, as it
// does an overflow, and the mirror resyncs.
const recvBatch = 256

var recvBufLen = 32 << 10 // a variable for tests

// Open subscribes to the route and link notifications of network
// namespace ns ("" for softnet's own) with a receive buffer of rcvbuf
// bytes (SO_RCVBUFFORCE, which root may set beyond net.core.rmem_max;
// SO_RCVBUF if that is refused). Dumps use a socket of their own in ns.
func Open(ns string, rcvbuf int) (Source, error) {
	if rcvbuf <= 0 {
		rcvbuf = DefaultRcvBuf
	}
	s := &nlSource{ns: ns, fd: -1, buf: make([]byte, 1<<20),
		bufs: make([]byte, recvBatch*recvBufLen), iovs: make([]unix.Iovec, recvBatch), hdrs: make([]unix.Mmsghdr, recvBatch), hops: hopCache{},
		free: make(chan []Event, recvFree)}
	for i := range s.hdrs {
		s.iovs[i].Base = &s.bufs[i*recvBufLen]
		s.iovs[i].SetLen(recvBufLen)
		s.hdrs[i].Hdr.Iov = &s.iovs[i]
		s.hdrs[i].Hdr.SetIovlen(1)
	}
	err := s.in(func() error {
		fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
		if err != nil {
			return fmt.Errorf("netlink socket: %w", err)
		}
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, rcvbuf); err != nil {
			if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, rcvbuf); err != nil {
				unix.Close(fd)
				return fmt.Errorf("netlink receive buffer of %d bytes: %w", rcvbuf, err)
			}
		}
		// Wake up now and then to see Close.
		tv := unix.NsecToTimeval((200 * time.Millisecond).Nanoseconds())
		if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
			unix.Close(fd)
			return fmt.Errorf("netlink socket timeout: %w", err)
		}
		sa := &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: unix.RTMGRP_LINK | unix.RTMGRP_IPV4_ROUTE | unix.RTMGRP_IPV6_ROUTE}
		if err := unix.Bind(fd, sa); err != nil {
			unix.Close(fd)
			return fmt.Errorf("netlink bind: %w", err)
		}
		// Nexthop objects (group 32: beyond the bind mask's 32 bits).
		// A kernel without them (before 5.3) refuses; routes then carry
		// no RTA_NH_ID either.
		unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_ADD_MEMBERSHIP, unix.RTNLGRP_NEXTHOP)
		// Neighbours and addresses (neigh.go).
		for _, g := range []int{unix.RTNLGRP_NEIGH, unix.RTNLGRP_IPV4_IFADDR, unix.RTNLGRP_IPV6_IFADDR} {
			if err := unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_ADD_MEMBERSHIP, g); err != nil {
				unix.Close(fd)
				return fmt.Errorf("netlink neighbour and address notifications (group %d): %w", g, err)
			}
		}
		s.fd = fd
		return nil
	})
	if err != nil {
		if ns != "" {
			return nil, fmt.Errorf("linux_cp namespace %q: %w", ns, err)
		}
		return nil, err
	}
	return s, nil
}

// in runs f in the source's namespace.
func (s *nlSource) in(f func() error) error {
	if s.ns == "" {
		return f()
	}
	return netns.Do(s.ns, f)
}

func (s *nlSource) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	return nil // the reader closes the socket when it sees closed
}

func (s *nlSource) Read() ([]Event, error) {
	for {
		if s.closed.Load() {
			if s.fd >= 0 {
				unix.Close(s.fd)
				s.fd = -1
			}
			return nil, ErrClosed
		}
		n, err := s.recvmmsg()
		switch {
		case errors.Is(err, unix.EAGAIN):
			return nil, nil // the receive timeout: the caller sees Close
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.ENOBUFS):
			s.drain()
			return nil, ErrOverflow
		case err != nil:
			return nil, err
		}
		for i := range n {
			if s.hdrs[i].Hdr.Flags&unix.MSG_TRUNC != 0 {
				// A notification was cut short: what it said is lost, as
				// in an overflow, and the resync's dump supersedes it and
				// everything queued before it.
				s.drain()
				return nil, ErrOverflow
			}
		}
		var evs []Event
		for i := range n {
			b := s.bufs[i*recvBufLen:][:min(int(s.hdrs[i].Len), recvBufLen)]
			for len(b) >= unix.NLMSG_HDRLEN {
				h := (*unix.NlMsghdr)(ptr(b))
				l := int(h.Len)
				if l < unix.NLMSG_HDRLEN || l > len(b) {
					break
				}
				m := syscall.NetlinkMessage{Header: syscall.NlMsghdr(*h), Data: b[unix.NLMSG_HDRLEN:l]}
				if e, ok := parseWith(&m, s.hops); ok {
					if evs == nil {
						evs = s.events(n)
					}
					evs = append(evs, e)
				}
				b = b[min((l+unix.NLMSG_ALIGNTO-1)&^(unix.NLMSG_ALIGNTO-1), len(b)):]
			}
		}
		if len(evs) > 0 {
			return evs, nil
		}
	}
}

// recvFree bounds nlSource.free: enough for the queue of a burst that
// the applier keeps up with (16 slices, 4096 events), not a burst's whole
// queue when it falls behind (those slices are collected).
const recvFree = 16

// events returns an empty slice for n events: one the applier gave back,
// or a new one (of recvBatch when n is not small, so that it can be given
// back and hold any read).
func (s *nlSource) events(n int) []Event {
	select {
	case evs := <-s.free:
		if cap(evs) >= n {
			return evs[:0]
		}
	default:
	}
	if n < 16 {
		return make([]Event, 0, n)
	}
	return make([]Event, 0, recvBatch)
}

// Recycle takes back a slice Read returned, the applier done with it
// (Recycler). What its events still point at (next hop lists, names) is
// held until it is read into again.
func (s *nlSource) Recycle(evs []Event) {
	if cap(evs) < recvBatch {
		return
	}
	select {
	case s.free <- evs[:0]:
	default:
	}
}

// recvmmsg reads up to recvBatch notifications: it waits for the first
// (up to the socket's receive timeout), then takes what else is queued
// without waiting (MSG_WAITFORONE).
func (s *nlSource) recvmmsg() (int, error) {
	for i := range s.hdrs {
		s.hdrs[i].Len = 0
		s.hdrs[i].Hdr.Flags = 0
	}
	n, _, e := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(s.fd), uintptr(unsafe.Pointer(&s.hdrs[0])), uintptr(len(s.hdrs)), unix.MSG_WAITFORONE, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// drain discards what the socket holds after an overflow: notifications
// from before a gap, which the resync's dump supersedes. What is read
// afterwards is a contiguous run of notifications newer than the drain,
// safe to apply on top of the dump.
func (s *nlSource) drain() {
	for {
		_, _, err := unix.Recvfrom(s.fd, s.buf, unix.MSG_DONTWAIT)
		if err != nil && !errors.Is(err, unix.ENOBUFS) && !errors.Is(err, unix.EINTR) {
			return // EAGAIN: empty
		}
	}
}

func (s *nlSource) Dump() (links []Link, routes []Route, err error) {
	err = s.in(func() error {
		err := dumpEach(unix.RTM_GETLINK, make([]byte, unix.SizeofIfInfomsg), func(m *syscall.NetlinkMessage) {
			if e, ok := parse(m); ok && e.Kind == LinkSet {
				links = append(links, e.Link)
			}
		})
		if err != nil {
			return fmt.Errorf("netlink link dump: %w", err)
		}
		hc := hopCache{} // the dump's own (the reader's is its goroutine's)
		for _, fam := range []byte{unix.AF_INET, unix.AF_INET6} {
			req := make([]byte, unix.SizeofRtMsg)
			req[0] = fam
			err := dumpEach(unix.RTM_GETROUTE, req, func(m *syscall.NetlinkMessage) {
				if e, ok := parseWith(m, hc); ok && e.Kind == RouteAdd {
					routes = append(routes, e.Route)
				}
			})
			if err != nil {
				return fmt.Errorf("netlink route dump: %w", err)
			}
		}
		return nil
	})
	return links, routes, err
}

// dumpEach sends a dump request of type typ with payload (the family
// header) on a socket of its own and hands each answer to fn as it is
// read, in place (fn must not keep m.Data): a full table's dump is not
// gathered into one buffer first. (syscall's NetlinkRIB sends a 1-byte
// rtgenmsg, which the nexthop dump refuses.)
func dumpEach(typ uint16, payload []byte, fn func(m *syscall.NetlinkMessage)) error {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	req := make([]byte, unix.NLMSG_HDRLEN+len(payload))
	binary.NativeEndian.PutUint32(req, uint32(len(req)))
	binary.NativeEndian.PutUint16(req[4:], typ)
	binary.NativeEndian.PutUint16(req[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	binary.NativeEndian.PutUint32(req[8:], 1)
	copy(req[unix.NLMSG_HDRLEN:], payload)
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	buf := make([]byte, 1<<20)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return err
		}
		for b := buf[:n]; len(b) >= unix.NLMSG_HDRLEN; {
			h := (*unix.NlMsghdr)(ptr(b))
			l := int(h.Len)
			if l < unix.NLMSG_HDRLEN || l > len(b) {
				break
			}
			m := syscall.NetlinkMessage{Header: syscall.NlMsghdr(*h), Data: b[unix.NLMSG_HDRLEN:l]}
			switch h.Type {
			case unix.NLMSG_DONE:
				return nil
			case unix.NLMSG_ERROR:
				if len(m.Data) >= 4 {
					if e := int32(binary.NativeEndian.Uint32(m.Data)); e != 0 {
						return unix.Errno(-e)
					}
				}
			default:
				fn(&m)
			}
			b = b[min((l+unix.NLMSG_ALIGNTO-1)&^(unix.NLMSG_ALIGNTO-1), len(b)):]
		}
	}
}

// DumpNexthops returns the kernel's nexthop objects (RTM_GETNEXTHOP); none
// on a kernel without them.
func (s *nlSource) DumpNexthops() (nhs []Nexthop, err error) {
	err = s.in(func() error {
		err := dumpEach(unix.RTM_GETNEXTHOP, make([]byte, sizeofNhmsg), func(m *syscall.NetlinkMessage) {
			if e, ok := parse(m); ok && e.Kind == NexthopSet {
				nhs = append(nhs, e.Nexthop)
			}
		})
		if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EINVAL) {
			nhs = nil
			return nil
		}
		if err != nil {
			return fmt.Errorf("netlink nexthop dump: %w", err)
		}
		return nil
	})
	return nhs, err
}

// sizeofNhmsg is struct nhmsg: family, scope, protocol, reserved, flags.
const sizeofNhmsg = 8

// rtaNHID is RTA_NH_ID: a route's nexthop object.
const rtaNHID = 30

// parseNexthop reads RTM_NEWNEXTHOP and RTM_DELNEXTHOP.
func parseNexthop(m *syscall.NetlinkMessage) (Event, bool) {
	if len(m.Data) < sizeofNhmsg {
		return Event{}, false
	}
	flags := binary.NativeEndian.Uint32(m.Data[4:])
	nh := Nexthop{Dead: flags&(unix.RTNH_F_DEAD|unix.RTNH_F_LINKDOWN) != 0}
	for a := m.Data[sizeofNhmsg:]; len(a) >= 4; {
		al := int(binary.NativeEndian.Uint16(a))
		if al < 4 || al > len(a) {
			break
		}
		v := a[4:al]
		switch binary.NativeEndian.Uint16(a[2:]) & 0x3fff { // NLA_TYPE_MASK
		case unix.NHA_ID:
			if len(v) >= 4 {
				nh.ID = binary.NativeEndian.Uint32(v)
			}
		case unix.NHA_OIF:
			if len(v) >= 4 {
				nh.Link = int(binary.NativeEndian.Uint32(v))
			}
		case unix.NHA_GATEWAY:
			nh.Via, _ = netip.AddrFromSlice(v)
		case unix.NHA_BLACKHOLE:
			nh.Blackhole = true
		case unix.NHA_GROUP:
			// struct nexthop_grp: id, weight - 1 (low byte), its high
			// byte (wide weights), reserved.
			nh.Group = []NexthopMember{}
			for g := v; len(g) >= 8; g = g[8:] {
				nh.Group = append(nh.Group, NexthopMember{ID: binary.NativeEndian.Uint32(g), Weight: int(g[4]) | int(g[5])<<8 + 1})
			}
		}
		a = a[min((al+3)&^3, len(a)):]
	}
	if nh.ID == 0 {
		return Event{}, false
	}
	nh.Via = nh.Via.Unmap()
	if m.Header.Type == unix.RTM_DELNEXTHOP {
		return Event{Kind: NexthopDel, Nexthop: nh}, true
	}
	return Event{Kind: NexthopSet, Nexthop: nh}, true
}

// parse reads one link, route or nexthop message; ok is false for others
// and for routes softnet does not mirror (local, broadcast, multicast,
// cloned).
// hopCache holds the one-next-hop lists parsed routes share (nobody
// writes to a Route's Hops): a full table's routes have a handful of next
// hops among them, and a route then costs no allocation to parse. It is
// cleared when it grows past hopCacheMax.
type hopCache map[Hop][]Hop

const hopCacheMax = 4096

// one returns the shared list of next hop h alone.
func (c hopCache) one(h Hop) []Hop {
	if c == nil {
		return []Hop{h}
	}
	hs, ok := c[h]
	if !ok {
		if len(c) >= hopCacheMax {
			clear(c)
		}
		hs = []Hop{h}
		c[h] = hs
	}
	return hs
}

func parse(m *syscall.NetlinkMessage) (Event, bool) { return parseWith(m, nil) }

// parseWith is parse with a cache of one-next-hop lists (nil: none).
func parseWith(m *syscall.NetlinkMessage, hc hopCache) (Event, bool) {
	switch m.Header.Type {
	case unix.RTM_NEWNEXTHOP, unix.RTM_DELNEXTHOP:
		return parseNexthop(m)
	case unix.RTM_NEWLINK, unix.RTM_DELLINK:
		if len(m.Data) < unix.SizeofIfInfomsg {
			return Event{}, false
		}
		ifi := (*unix.IfInfomsg)(ptr(m.Data))
		l := Link{Index: int(ifi.Index), Up: ifi.Flags&unix.IFF_UP != 0 && ifi.Flags&unix.IFF_RUNNING != 0}
		// The attributes read in place with bounds checks:
		// syscall.ParseNetlinkRouteAttr panics on a last attribute whose
		// length is not a multiple of 4 at the end of the message.
		for a := m.Data[unix.SizeofIfInfomsg:]; len(a) >= unix.SizeofRtAttr; {
			al := int(binary.NativeEndian.Uint16(a))
			if al < unix.SizeofRtAttr || al > len(a) {
				break
			}
			if binary.NativeEndian.Uint16(a[2:]) == unix.IFLA_IFNAME {
				l.Name = cstr(a[unix.SizeofRtAttr:al])
			}
			a = a[min((al+unix.RTA_ALIGNTO-1)&^(unix.RTA_ALIGNTO-1), len(a)):]
		}
		if m.Header.Type == unix.RTM_DELLINK {
			return Event{Kind: LinkDel, Link: l}, true
		}
		return Event{Kind: LinkSet, Link: l}, true
	case unix.RTM_NEWROUTE, unix.RTM_DELROUTE:
		return parseRoute(m, hc)
	case unix.RTM_NEWNEIGH, unix.RTM_DELNEIGH:
		return parseNeigh(m)
	case unix.RTM_NEWADDR, unix.RTM_DELADDR:
		return parseAddr(m)
	}
	return Event{}, false
}

func parseRoute(m *syscall.NetlinkMessage, hc hopCache) (Event, bool) {
	if len(m.Data) < unix.SizeofRtMsg {
		return Event{}, false
	}
	rt := (*unix.RtMsg)(ptr(m.Data))
	if rt.Flags&unix.RTM_F_CLONED != 0 {
		return Event{}, false
	}
	r := Route{Table: int(rt.Table), Proto: int(rt.Protocol)}
	switch rt.Type {
	case unix.RTN_UNICAST:
	case unix.RTN_BLACKHOLE, unix.RTN_UNREACHABLE, unix.RTN_PROHIBIT:
		r.Blackhole = true
	default:
		return Event{}, false
	}
	var dst netip.Addr
	var single Hop
	single.Weight = 1
	// The attributes read in place: no allocation for a route with one
	// next hop but its Hops.
	for a := m.Data[unix.SizeofRtMsg:]; len(a) >= unix.SizeofRtAttr; {
		al := int(binary.NativeEndian.Uint16(a))
		if al < unix.SizeofRtAttr || al > len(a) {
			break
		}
		v := a[unix.SizeofRtAttr:al]
		switch binary.NativeEndian.Uint16(a[2:]) {
		case unix.RTA_DST:
			dst, _ = netip.AddrFromSlice(v)
		case unix.RTA_TABLE:
			if len(v) >= 4 {
				r.Table = int(binary.NativeEndian.Uint32(v))
			}
		case unix.RTA_PRIORITY:
			if len(v) >= 4 {
				r.Metric = int(binary.NativeEndian.Uint32(v))
			}
		case unix.RTA_OIF:
			if len(v) >= 4 {
				single.Link = int(binary.NativeEndian.Uint32(v))
			}
		case unix.RTA_GATEWAY:
			single.Via, _ = netip.AddrFromSlice(v)
		case unix.RTA_MULTIPATH:
			r.Hops = parseMultipath(v)
		case rtaNHID:
			if len(v) >= 4 {
				r.NH = binary.NativeEndian.Uint32(v)
			}
		}
		a = a[min((al+unix.RTA_ALIGNTO-1)&^(unix.RTA_ALIGNTO-1), len(a)):]
	}
	if !dst.IsValid() {
		switch rt.Family {
		case unix.AF_INET:
			dst = netip.IPv4Unspecified()
		case unix.AF_INET6:
			dst = netip.IPv6Unspecified()
		default:
			return Event{}, false
		}
	}
	r.Prefix = netip.PrefixFrom(dst.Unmap(), int(rt.Dst_len)).Masked()
	if !r.Prefix.IsValid() {
		return Event{}, false
	}
	if r.Hops == nil && !r.Blackhole && (r.NH == 0 || single.Link != 0) {
		single.Dead = rt.Flags&(unix.RTNH_F_DEAD|unix.RTNH_F_LINKDOWN) != 0
		r.Hops = hc.one(single)
	}
	if m.Header.Type == unix.RTM_DELROUTE {
		return Event{Kind: RouteDel, Route: r}, true
	}
	r.Append = rt.Family == unix.AF_INET6 && m.Header.Flags&unix.NLM_F_APPEND != 0
	return Event{Kind: RouteAdd, Route: r}, true
}

// parseMultipath reads RTA_MULTIPATH: rtnexthop records, each with its
// attributes (RTA_GATEWAY).
func parseMultipath(b []byte) []Hop {
	var hs []Hop
	for len(b) >= unix.SizeofRtNexthop {
		l := int(binary.NativeEndian.Uint16(b))
		if l < unix.SizeofRtNexthop || l > len(b) {
			break
		}
		flags, hops := b[2], b[3]
		h := Hop{Link: int(int32(binary.NativeEndian.Uint32(b[4:]))), Weight: int(hops) + 1,
			Dead: flags&(unix.RTNH_F_DEAD|unix.RTNH_F_LINKDOWN) != 0}
		for a := b[unix.SizeofRtNexthop:l]; len(a) >= 4; {
			al := int(binary.NativeEndian.Uint16(a))
			if al < 4 || al > len(a) {
				break
			}
			if binary.NativeEndian.Uint16(a[2:]) == unix.RTA_GATEWAY {
				h.Via, _ = netip.AddrFromSlice(a[4:al])
			}
			al = (al + 3) &^ 3
			if al > len(a) {
				break
			}
			a = a[al:]
		}
		hs = append(hs, h)
		if l = (l + 3) &^ 3; l > len(b) {
			break
		}
		b = b[l:]
	}
	return hs
}

func cstr(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// ptr is the start of a message's payload, which the kernel aligns (4 bytes).
func ptr(b []byte) unsafe.Pointer { return unsafe.Pointer(&b[0]) }

// DumpNeighbors returns the kernel's neighbours (RTM_GETNEIGH) and
// addresses (RTM_GETADDR), IPv4 and IPv6.
func (s *nlSource) DumpNeighbors() (ns []Neigh, as []Addr, err error) {
	err = s.in(func() error {
		err := dumpEach(unix.RTM_GETNEIGH, make([]byte, sizeofNdmsg), func(m *syscall.NetlinkMessage) {
			if e, ok := parse(m); ok && e.Kind == NeighSet {
				ns = append(ns, e.Neigh)
			}
		})
		if err != nil {
			return fmt.Errorf("netlink neighbour dump: %w", err)
		}
		err = dumpEach(unix.RTM_GETADDR, make([]byte, unix.SizeofIfAddrmsg), func(m *syscall.NetlinkMessage) {
			if e, ok := parse(m); ok && e.Kind == AddrSet {
				as = append(as, e.Addr)
			}
		})
		if err != nil {
			return fmt.Errorf("netlink address dump: %w", err)
		}
		return nil
	})
	return ns, as, err
}

// sizeofNdmsg is struct ndmsg: family, 3 bytes of padding, ifindex,
// state (u16), flags, type.
const sizeofNdmsg = 12

// ntfProxy is NTF_PROXY: a proxy ARP entry, not a neighbour.
const ntfProxy = 0x08

// parseNeigh reads RTM_NEWNEIGH and RTM_DELNEIGH of IPv4 and IPv6
// neighbours (not proxy entries, nor bridge FDB ones).
func parseNeigh(m *syscall.NetlinkMessage) (Event, bool) {
	d := m.Data
	if len(d) < sizeofNdmsg || (d[0] != unix.AF_INET && d[0] != unix.AF_INET6) || d[10]&ntfProxy != 0 {
		return Event{}, false
	}
	n := Neigh{Link: int(int32(binary.NativeEndian.Uint32(d[4:]))), State: binary.NativeEndian.Uint16(d[8:])}
	for a := d[sizeofNdmsg:]; len(a) >= 4; {
		al := int(binary.NativeEndian.Uint16(a))
		if al < 4 || al > len(a) {
			break
		}
		v := a[4:al]
		switch binary.NativeEndian.Uint16(a[2:]) & 0x3fff {
		case unix.NDA_DST:
			n.Addr, _ = netip.AddrFromSlice(v)
		case unix.NDA_LLADDR:
			if len(v) == 6 {
				copy(n.MAC[:], v)
				n.HasMAC = true
			}
		}
		a = a[min((al+3)&^3, len(a)):]
	}
	n.Addr = n.Addr.Unmap()
	if !n.Addr.IsValid() {
		return Event{}, false
	}
	if m.Header.Type == unix.RTM_DELNEIGH {
		return Event{Kind: NeighDel, Neigh: n}, true
	}
	return Event{Kind: NeighSet, Neigh: n}, true
}

// parseAddr reads RTM_NEWADDR and RTM_DELADDR of IPv4 and IPv6
// addresses: IFA_LOCAL (the address itself; IFA_ADDRESS is a
// point-to-point link's peer), else IFA_ADDRESS.
func parseAddr(m *syscall.NetlinkMessage) (Event, bool) {
	d := m.Data
	if len(d) < unix.SizeofIfAddrmsg || (d[0] != unix.AF_INET && d[0] != unix.AF_INET6) {
		return Event{}, false
	}
	bits := int(d[1])
	var local, addr netip.Addr
	for a := d[unix.SizeofIfAddrmsg:]; len(a) >= 4; {
		al := int(binary.NativeEndian.Uint16(a))
		if al < 4 || al > len(a) {
			break
		}
		v := a[4:al]
		switch binary.NativeEndian.Uint16(a[2:]) & 0x3fff {
		case unix.IFA_LOCAL:
			local, _ = netip.AddrFromSlice(v)
		case unix.IFA_ADDRESS:
			addr, _ = netip.AddrFromSlice(v)
		}
		a = a[min((al+3)&^3, len(a)):]
	}
	if local.IsValid() {
		addr = local
	}
	p := netip.PrefixFrom(addr.Unmap(), bits)
	if !p.IsValid() {
		return Event{}, false
	}
	e := Addr{Link: int(binary.NativeEndian.Uint32(d[4:])), Prefix: p}
	if m.Header.Type == unix.RTM_DELADDR {
		return Event{Kind: AddrDel, Addr: e}, true
	}
	return Event{Kind: AddrSet, Addr: e}, true
}
