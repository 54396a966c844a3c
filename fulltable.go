// Package softnet is the root of the softnet module. It holds only data shared by
// the rest of the tree: the embedded full Internet routing table used by the
// benchmark and the tests (see testdata/README.md for its source and licence).
package softnet

import _ "embed"

// FullTableGz is testdata/bgp-prefixes.txt.gz: 1,062,046 prefixes (901,899 IPv4,
// 160,147 IPv6), one CIDR per line, gzipped. Parse it with fib.ReadPrefixes.
//
//go:embed testdata/bgp-prefixes.txt.gz
var FullTableGz []byte
