package hdr

import (
	"encoding/binary"
	"net/netip"
)

// IPv4Addr returns the IPv4 address v (host byte order, as the FIB and
// the data plane's config keep it) as a netip.Addr.
func IPv4Addr(v uint32) netip.Addr {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	return netip.AddrFrom4(b)
}

// IPv4Mask returns the netmask of an n-bit IPv4 prefix (0 <= n <= 32) in
// host byte order: IPv4Mask(24) is 0xffffff00.
func IPv4Mask(n int) uint32 {
	if n == 0 {
		return 0
	}
	return ^uint32(0) << (32 - n)
}
