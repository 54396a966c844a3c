// Package rules is the one set of checks on routes and neighbours that
// every way into the router applies: softnet check, softnet run and
// reload (package config, then package control) and the control API
// (package control, through the api handlers). Each check returns an
// error whose text says what is wrong and how to fix it, without naming
// the field or the command: callers put that in front (a config error its
// file:line:col and field, the control plane "route P:" or "neighbor A:"),
// so the same mistake reads the same on every path.
//
// The router's own routes (see Own) belong to its interfaces: a
// configured route to exactly one of those prefixes is refused. A route
// more specific than a connected subnet is fine, and so is a /32 route to
// a neighbour's address (it takes precedence over the neighbour's host
// route; deleting it gives the prefix back to the neighbour).
//
// Hot path: no. Functions are pure and safe for concurrent use.
package rules

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// Family checks the family of an interface address or a neighbour's
// address: IPv4, or IPv6 (not IPv4-mapped, no zone).
func Family(a netip.Addr) error {
	switch {
	case a.Is4():
		return nil
	case a.Is4In6():
		return fmt.Errorf("%v is an IPv4-mapped IPv6 address: write the IPv4 address itself (%v)", a, a.Unmap())
	case !a.Is6():
		return fmt.Errorf("no address: write an IPv4 address (A.B.C.D) or an IPv6 one (2001:db8::1)")
	case a.Zone() != "":
		return fmt.Errorf("%v has a zone: write the address without %%%s (its interface says where it is)", a, a.Zone())
	}
	return nil
}

// Iface is an interface as the rules see it: its name and its addresses
// (IPv4, and IPv6 when IPv6 is on) with their subnet lengths.
type Iface struct {
	Name  string
	Addrs []netip.Prefix
}

// broadcastOf is the last address of p's subnet.
func broadcastOf(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v |= uint32(1)<<(32-p.Bits()) - 1
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// special says whether a is the network or broadcast address of subnet
// p (RFC 3021: a /31 or /32 has neither).
func special(p netip.Prefix, a netip.Addr) string {
	if !p.IsValid() || !p.Addr().Is4() || p.Bits() > 30 || !p.Masked().Contains(a) {
		return ""
	}
	switch a {
	case p.Masked().Addr():
		return "network"
	case broadcastOf(p):
		return "broadcast"
	}
	return ""
}

// hostOnSubnet checks that a, which is to be another host on one of the
// router's subnets (what is a next hop or a neighbour), is neither one
// of the router's own addresses nor a subnet's network or broadcast
// address. what names the role in the message ("a next hop").
func hostOnSubnet(ifs []Iface, a netip.Addr, what string) error {
	for _, ifc := range ifs {
		for _, p := range ifc.Addrs {
			if p.IsValid() && p.Addr() == a {
				return fmt.Errorf("%v is %s's own address: %s must be another host on its subnet", a, ifc.Name, what)
			}
		}
	}
	for _, ifc := range ifs {
		for _, p := range ifc.Addrs {
			if s := special(p, a); s != "" {
				return fmt.Errorf("%v is the %s address of %s's subnet %v: %s must be another host on the subnet", a, s, ifc.Name, p.Masked(), what)
			}
		}
	}
	return nil
}

// IfaceFor returns the index of the interface whose subnet (shorter than
// a host route: /32, /128) holds a, or -1: the first match; subnets do
// not overlap.
func IfaceFor(ifs []Iface, a netip.Addr) int {
	for i, ifc := range ifs {
		for _, p := range ifc.Addrs {
			if p.IsValid() && p.Bits() < p.Addr().BitLen() && p.Masked().Contains(a) {
				return i
			}
		}
	}
	return -1
}

// SubnetList lists the interfaces' subnets ("lan0 10.0.1.0/24, ..."),
// for messages.
func SubnetList(ifs []Iface) string {
	var s []string
	for _, ifc := range ifs {
		for _, q := range ifc.Addrs {
			if q.IsValid() {
				s = append(s, ifc.Name+" "+q.Masked().String())
			}
		}
	}
	if len(s) == 0 {
		return "no interface has an address"
	}
	return strings.Join(s, ", ")
}

// ErrLinkLocalNextHop is a route's next hop in fe80::/10: a link-local
// address names a neighbour only with its interface, which a route does
// not give.
var ErrLinkLocalNextHop = errors.New("a link-local address (fe80::/10) is not supported as a static route's next hop: give the neighbour's global address, on the subnet of an interface")

// NextHop checks a route's next hop: an address on the subnet of an
// interface, of the route's family (an IPv6 route needs an IPv6 next
// hop), and another host there: not one of the router's own addresses,
// nor a subnet's network or broadcast address. It returns the index of
// the interface the next hop is on.
func NextHop(ifs []Iface, via netip.Addr) (int, error) {
	if via.Is6() && !via.Is4In6() && via.WithZone("").IsLinkLocalUnicast() {
		return -1, fmt.Errorf("next hop %v: %w", via, ErrLinkLocalNextHop)
	}
	if err := Family(via); err != nil {
		return -1, fmt.Errorf("next hop %w", err)
	}
	if err := hostOnSubnet(ifs, via, "a next hop"); err != nil {
		return -1, err
	}
	i := IfaceFor(ifs, via)
	if i < 0 {
		return -1, fmt.Errorf("%v is on no interface's subnet (%s): add an address on its subnet to an interface, or fix the next hop", via, SubnetList(ifs))
	}
	return i, nil
}

// Neighbor checks a static neighbour's address a on interface ifs[i]: on
// one of its subnets, and another host there.
func Neighbor(ifs []Iface, i int, a netip.Addr) error {
	if err := Family(a); err != nil {
		return err
	}
	if j := IfaceFor(ifs, a); j != i || i < 0 {
		var ps []string
		for _, p := range ifs[i].Addrs {
			if p.IsValid() {
				ps = append(ps, p.Masked().String())
			}
		}
		list := strings.Join(ps, ", ")
		if list == "" {
			list = "it has no address"
		}
		return fmt.Errorf("%v is not on a subnet of %s (%s): fix the address or the interface", a, ifs[i].Name, list)
	}
	return hostOnSubnet(ifs, a, "a neighbour")
}

// MAC checks a neighbour's MAC address: unicast and not all zeros.
func MAC(mac [6]byte) error {
	if mac[0]&1 != 0 || mac == [6]byte{} {
		return fmt.Errorf("%v is not a unicast MAC address: the first byte must be even and the address not all zeros (e.g. 02:00:00:00:00:01)", net.HardwareAddr(mac[:]))
	}
	return nil
}

// Mapped refuses p, written s, if it is an IPv4-mapped IPv6 prefix
// (::ffff:A.B.C.D/N): softnet routes IPv4 as IPv4, so the message gives the
// IPv4 prefix to write instead (N - 96 bits, host bits cleared), or, for a
// length below /96, how to write one.
func Mapped(s string, p netip.Prefix) error {
	if !p.Addr().Is4In6() {
		return nil
	}
	if p.Bits() >= 96 {
		return fmt.Errorf("%q is an IPv4-mapped IPv6 prefix: softnet routes IPv4 as IPv4: write %v", s, netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96).Masked())
	}
	return fmt.Errorf("%q is an IPv4-mapped IPv6 address with a /%d length: write an IPv4 prefix as A.B.C.D/N (such as %v/24), an IPv6 one as 2001:db8::/32", s, p.Bits(), p.Addr().Unmap())
}

// Canonical checks that a route's prefix has no host bits set (s is the
// prefix as written, for the message).
func Canonical(s string, p netip.Prefix) error {
	if p.Masked() != p {
		return fmt.Errorf("%q has host bits set: write %v", s, p.Masked())
	}
	return nil
}

// Own is the set of the router's own prefixes: for every interface
// address, its /32 (local), its connected subnet, and the subnet's
// network and broadcast /32s. A configured route may not have one of
// these prefixes (Check). Build it once (NewOwn) to check many routes.
type Own struct {
	m    map[uint64]string // key(prefix) -> why it is the router's
	lens uint64            // bit n: some own prefix is /n
	// m6 is the IPv6 own prefixes: each address's /128 and its
	// connected subnet (IPv6 has no broadcast address).
	m6 map[netip.Prefix]string
}

// key packs an IPv4 prefix into an integer (cheaper to hash than a
// netip.Prefix: a full table checks ~900,000 of them).
func key(p netip.Prefix) uint64 {
	b := p.Addr().As4()
	return uint64(b[0])<<32 | uint64(b[1])<<24 | uint64(b[2])<<16 | uint64(b[3])<<8 | uint64(p.Bits())
}

// NewOwn returns the own prefixes of ifs.
func NewOwn(ifs []Iface) *Own {
	o := &Own{m: map[uint64]string{}, m6: map[netip.Prefix]string{}}
	set := func(p netip.Prefix, why string) {
		if _, had := o.m[key(p)]; !had {
			o.m[key(p)] = why
			o.lens |= 1 << p.Bits()
		}
	}
	for _, ifc := range ifs {
		for _, p := range ifc.Addrs {
			if !p.IsValid() {
				continue
			}
			if !p.Addr().Is4() {
				for _, q := range []struct {
					p   netip.Prefix
					why string
				}{{netip.PrefixFrom(p.Addr(), 128), fmt.Sprintf("is %s's own address (local route)", ifc.Name)}, {p.Masked(), fmt.Sprintf("is %s's connected subnet", ifc.Name)}} {
					if _, had := o.m6[q.p]; !had {
						o.m6[q.p] = q.why
					}
				}
				continue
			}
			set(netip.PrefixFrom(p.Addr(), 32), fmt.Sprintf("is %s's own address (local route)", ifc.Name))
			if p.Bits() < 32 {
				set(p.Masked(), fmt.Sprintf("is %s's connected subnet", ifc.Name))
			}
			if p.Bits() <= 30 {
				set(netip.PrefixFrom(p.Masked().Addr(), 32), fmt.Sprintf("is the network address of %s's subnet %v", ifc.Name, p.Masked()))
				set(netip.PrefixFrom(broadcastOf(p), 32), fmt.Sprintf("is the broadcast address of %s's subnet %v", ifc.Name, p.Masked()))
			}
		}
	}
	return o
}

// Why says why p (masked) is one of the router's own prefixes ("is
// lan0's connected subnet"), or "" if it is not.
func (o *Own) Why(p netip.Prefix) string {
	if o != nil && p.Addr().Is6() {
		return o.m6[p]
	}
	if o == nil || !p.Addr().Is4() || p.Bits() < 0 || o.lens&(1<<p.Bits()) == 0 {
		return ""
	}
	return o.m[key(p)]
}

// Check refuses a configured route to exactly one of the router's own
// prefixes (p must be masked).
func (o *Own) Check(p netip.Prefix) error {
	why := o.Why(p)
	if why == "" {
		return nil
	}
	return fmt.Errorf("%v %s: that route belongs to the interface and a configured route cannot replace it; remove this route, route a more specific prefix, or change the interface's address", p, why)
}

// RoutePrefix is NewOwn(ifs).Check(p), for one route.
func RoutePrefix(ifs []Iface, p netip.Prefix) error { return NewOwn(ifs).Check(p) }
