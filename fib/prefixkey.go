package fib

import "net/netip"

// PrefixKey is a prefix of either family as a compact, pointer-free map
// key (netip.Prefix holds a pointer, which a map of a million prefixes
// makes the garbage collector scan and its hash slower): the address in 16
// bytes (IPv4 mapped), the prefix length, then 4 for IPv4 or 6 for IPv6.
type PrefixKey [18]byte

// KeyOf is p's key. p is used as given (not masked).
func KeyOf(p netip.Prefix) PrefixKey {
	var k PrefixKey
	a := p.Addr().As16()
	copy(k[:16], a[:])
	k[16] = byte(p.Bits())
	k[17] = 6
	if p.Addr().Is4() {
		k[17] = 4
	}
	return k
}

// Prefix is the prefix k is the key of.
func (k PrefixKey) Prefix() netip.Prefix {
	if k[17] == 4 {
		return netip.PrefixFrom(netip.AddrFrom4([4]byte(k[12:16])), int(k[16]))
	}
	return netip.PrefixFrom(netip.AddrFrom16([16]byte(k[:16])), int(k[16]))
}
