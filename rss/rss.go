package rss

import "encoding/binary"

// Key is a 40-byte Toeplitz secret key, the size NDIS and most NICs use. It
// covers inputs of up to MaxInput bytes: the hash of input bit i uses key
// bits i..i+31, so 320 key bits serve 320-32 = 288 input bits.
type Key [40]byte

// MaxInput is the longest input the hash covers: IPv6 source and
// destination (16+16) and two ports (2+2).
const MaxInput = 36

// MicrosoftKey is the key of Microsoft's "Verifying the RSS Hash
// Calculation" page, the test vectors every implementation checks against.
// It is not symmetric: the two directions of a flow hash differently.
var MicrosoftKey = Key{
	0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2,
	0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
	0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4,
	0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
	0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
}

// SymmetricKey is 0x6d5a repeated 20 times (Woo and Park, "Scalable TCP
// Session Monitoring with Symmetric Receive-side Scaling", KAIST 2012). A
// key with a 16-bit period makes the hash depend only on the XOR of the
// input's 16-bit words, so swapping source and destination (addresses and
// ports) leaves it unchanged. See doc.go for the price.
var SymmetricKey = Key{
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
}

// Hasher computes Toeplitz hashes with one key. It holds, for each input
// byte position p and byte value v, the 32-bit contribution t[p][v] of
// that byte (36 × 256 × 4 bytes = 36 KiB), so a hash is one table load and
// XOR per input byte instead of a loop over 8 bits. It is immutable after
// New and safe for concurrent use; share one per key.
type Hasher struct {
	t [MaxInput][256]uint32
	// fold is set when every row equals row p%2, i.e. the key has a 16-bit
	// period (SymmetricKey). Then the hash of any input equals the hash
	// of the XOR of its 16-bit words placed at positions 0-1, so the
	// fixed-shape hashes XOR-fold first and do two loads instead of 12
	// or 36.
	fold bool
}

// New builds the tables for key k.
func New(k Key) *Hasher {
	h := new(Hasher)
	for p := range MaxInput {
		for b := range 8 {
			// Input bit 8p+b (MSB first) contributes the 32 key bits
			// starting at bit 8p+b. Contributions are linear (XOR), so
			// row p is built from its 8 single-bit entries.
			w := window(&k, 8*p+b)
			bit := 0x80 >> b
			for v := range 256 {
				if v&bit != 0 {
					h.t[p][v] ^= w
				}
			}
		}
	}
	h.fold = true
	for p := 2; p < MaxInput; p++ {
		if h.t[p] != h.t[p%2] {
			h.fold = false
			break
		}
	}
	return h
}

// window returns the 32 key bits starting at bit i (MSB-first bit order).
// i <= 288, so bits i..i+31 lie within the 320-bit key.
func window(k *Key, i int) uint32 {
	var x uint64 // 40 bits: key bytes i/8 .. i/8+4, zero past the end
	for j := range 5 {
		x <<= 8
		if n := i/8 + j; n < len(k) {
			x |= uint64(k[n])
		}
	}
	return uint32(x >> (8 - i%8))
}

// Sum returns the Toeplitz hash of in. Only the first MaxInput bytes are
// hashed (the key covers no more); it never panics. The fixed-shape
// methods below are faster for packet tuples.
func (h *Hasher) Sum(in []byte) uint32 {
	if len(in) > MaxInput {
		in = in[:MaxInput]
	}
	var r uint32
	for i, v := range in {
		r ^= h.t[i][v]
	}
	return r
}

// fold16 is the hash of the 16-bit word x at positions 0-1; with a
// 16-bit-periodic key it is the hash of any input whose words XOR to x.
func (h *Hasher) fold16(x uint16) uint32 {
	return h.t[0][uint8(x>>8)] ^ h.t[1][uint8(x)]
}

// four returns the contribution of the big-endian 32-bit word x at byte
// positions p..p+3. p is a constant at every call site, so after inlining
// the indexes are in range by type and carry no bounds checks.
func (h *Hasher) four(p int, x uint32) uint32 {
	return h.t[p][uint8(x>>24)] ^ h.t[p+1][uint8(x>>16)] ^ h.t[p+2][uint8(x>>8)] ^ h.t[p+3][uint8(x)]
}

// IPv4Addrs returns the RSS hash of an IPv4 2-tuple: the 8-byte input
// src | dst, as NDIS hashes IPv4 packets that are not TCP/UDP, or are
// fragments. Addresses are host-order values of the big-endian wire bytes
// (as hdr.IPv4.Src returns them).
func (h *Hasher) IPv4Addrs(src, dst uint32) uint32 {
	if h.fold {
		x := src ^ dst
		return h.fold16(uint16(x>>16) ^ uint16(x))
	}
	return h.four(0, src) ^ h.four(4, dst)
}

// IPv4 returns the RSS hash of an IPv4 TCP/UDP 4-tuple: the 12-byte input
// src | dst | sport | dport (NDIS_HASH_TCP_IPV4 order).
func (h *Hasher) IPv4(src, dst uint32, sport, dport uint16) uint32 {
	if h.fold {
		x := src ^ dst
		return h.fold16(uint16(x>>16) ^ uint16(x) ^ sport ^ dport)
	}
	return h.four(0, src) ^ h.four(4, dst) ^ h.four(8, uint32(sport)<<16|uint32(dport))
}

// IPv6Addrs returns the RSS hash of an IPv6 2-tuple: the 32-byte input
// src | dst.
func (h *Hasher) IPv6Addrs(src, dst *[16]byte) uint32 {
	s0 := binary.BigEndian.Uint64(src[:8])
	s1 := binary.BigEndian.Uint64(src[8:])
	d0 := binary.BigEndian.Uint64(dst[:8])
	d1 := binary.BigEndian.Uint64(dst[8:])
	if h.fold {
		return h.fold16(fold64(s0 ^ s1 ^ d0 ^ d1))
	}
	return h.addrs6(s0, s1, d0, d1)
}

// IPv6 returns the RSS hash of an IPv6 TCP/UDP 4-tuple: the 36-byte input
// src | dst | sport | dport.
func (h *Hasher) IPv6(src, dst *[16]byte, sport, dport uint16) uint32 {
	s0 := binary.BigEndian.Uint64(src[:8])
	s1 := binary.BigEndian.Uint64(src[8:])
	d0 := binary.BigEndian.Uint64(dst[:8])
	d1 := binary.BigEndian.Uint64(dst[8:])
	if h.fold {
		return h.fold16(fold64(s0^s1^d0^d1) ^ sport ^ dport)
	}
	return h.addrs6(s0, s1, d0, d1) ^ h.four(32, uint32(sport)<<16|uint32(dport))
}

// addrs6 is the unfolded hash of the 32 address bytes. The calls to four
// are spelled out: a helper taking p as an argument would not be inlined,
// and a non-constant p brings back the bounds checks.
func (h *Hasher) addrs6(s0, s1, d0, d1 uint64) uint32 {
	return h.four(0, uint32(s0>>32)) ^ h.four(4, uint32(s0)) ^
		h.four(8, uint32(s1>>32)) ^ h.four(12, uint32(s1)) ^
		h.four(16, uint32(d0>>32)) ^ h.four(20, uint32(d0)) ^
		h.four(24, uint32(d1>>32)) ^ h.four(28, uint32(d1))
}

// fold64 XORs the four 16-bit words of x.
func fold64(x uint64) uint16 {
	y := uint32(x>>32) ^ uint32(x)
	return uint16(y>>16) ^ uint16(y)
}
