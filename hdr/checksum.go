package hdr

import (
	"encoding/binary"
	"math/bits"
)

// The Internet checksum is the 16-bit ones' complement of the ones'
// complement sum of the data taken as big-endian 16-bit words (RFC 1071 §1).
//
// Sum works on 64-bit words: because 2^64-1 is a multiple of 2^16-1, the
// ones' complement sum of 64-bit words (end-around carry) folds to the same
// 16-bit value as the sum of 16-bit words (RFC 1071 §2(A), associativity and
// §2(C), "parallel summation"). Summing eight bytes per add with the carry
// chained through bits.Add64 is the "fast 64-bit loop" of RFC 1071 §4.

// Sum returns the ones' complement sum of b, added to initial. The result is
// folded to at most 0xFFFF (it is zero only if b and initial are all zero),
// so it can be passed as initial to another Sum or added to a pseudo-header
// sum without overflow. An odd-length b is padded with one zero byte
// (RFC 1071 §4.1), so when chaining, every slice but the last must have an
// even length.
func Sum(b []byte, initial uint32) uint32 {
	var acc, c uint64
	// 32 bytes per iteration: four adds with the carry kept in the chain.
	for len(b) >= 32 {
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b), c)
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b[8:]), c)
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b[16:]), c)
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b[24:]), c)
		b = b[32:]
	}
	for len(b) >= 8 {
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b), c)
		b = b[8:]
	}
	// End-around carry; if that overflows, acc is 0 and the carry adds 1.
	acc, c = bits.Add64(acc, c, 0)
	acc += c
	// Fold to 33 bits so the tail and initial below cannot overflow.
	acc = acc>>32 + acc&0xffffffff
	if len(b) >= 4 {
		acc += uint64(binary.BigEndian.Uint32(b))
		b = b[4:]
	}
	if len(b) >= 2 {
		acc += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		acc += uint64(b[0]) << 8
	}
	acc += uint64(initial)
	// acc < 2^35 here; four folds bring it to at most 0xFFFF.
	acc = acc>>32 + acc&0xffffffff
	acc = acc>>16 + acc&0xffff
	acc = acc>>16 + acc&0xffff
	acc = acc>>16 + acc&0xffff
	return uint32(acc)
}

// Fold folds a sum to 16 bits with end-around carry and complements it: the
// value to store in a checksum field (RFC 1071 §1 (3)). Over data that
// includes a correct checksum field, Fold(Sum(...)) is 0.
func Fold(sum uint32) uint16 {
	sum = sum>>16 + sum&0xffff // at most 0x1FFFE
	sum = sum>>16 + sum&0xffff // at most 0xFFFF
	return ^uint16(sum)
}

// Checksum returns Fold(Sum(b, initial)): the checksum of b with a partial
// sum (for example a pseudo-header sum) added.
func Checksum(b []byte, initial uint32) uint16 {
	return Fold(Sum(b, initial))
}

// PseudoSumIPv4 returns the sum of the IPv4 pseudo-header used by TCP
// (RFC 9293 §3.1) and UDP (RFC 768): source, destination, zero, protocol,
// and the upper-layer length. The result is below 2^19; pass it as initial.
func PseudoSumIPv4(src, dst uint32, proto uint8, length uint16) uint32 {
	return src>>16 + src&0xffff + dst>>16 + dst&0xffff + uint32(proto) + uint32(length)
}

// PseudoSumIPv6 returns the sum of the IPv6 pseudo-header (RFC 8200 §8.1):
// 16-byte source and destination, 32-bit upper-layer length, 24 zero bits
// and the next header. src and dst must be 16 bytes (Src() and Dst() of an
// IPv6 view).
func PseudoSumIPv6(src, dst []byte, proto uint8, length uint32) uint32 {
	return Sum(src[:16], Sum(dst[:16], length>>16+length&0xffff+uint32(proto)))
}

// Update16 returns the checksum after a 16-bit word covered by it changed
// from old to new, using RFC 1624 §3 eqn. 3: HC' = ~(~HC + ~m + m').
//
// Eqn. 3 is used rather than RFC 1141's HC' = HC + m + ~m' (or eqn. 2)
// because those can produce -0 (0xFFFF) where a full recomputation gives
// 0x0000 (the example of RFC 1624 §4). Adding with end-around carry never
// yields +0 from a non-zero term, so the sum inside is in the range a full
// recomputation produces and the result agrees with it.
func Update16(check, old, new uint16) uint16 {
	s := uint32(^check) + uint32(^old) + uint32(new) // at most 0x2FFFD
	s = s>>16 + s&0xffff                             // at most 0x10001
	s = s>>16 + s&0xffff                             // at most 0xFFFF
	return ^uint16(s)
}

// Update32 is Update16 for a 32-bit field (an IPv4 address, a TCP sequence
// number): both 16-bit halves are updated at once (RFC 1624 §3 eqn. 3).
func Update32(check uint16, old, new uint32) uint16 {
	s := uint32(^check) + (^old)>>16 + (^old)&0xffff + new>>16 + new&0xffff // at most 0x4FFFB
	s = s>>16 + s&0xffff                                                    // at most 0x10003
	s = s>>16 + s&0xffff                                                    // at most 0xFFFF
	return ^uint16(s)
}
