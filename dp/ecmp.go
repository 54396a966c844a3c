package dp

import (
	"github.com/softnet/softnet/pkt"
	"github.com/softnet/softnet/rss"
)

// ecmpHash is the flow hash ECMP picks a group's bucket with: the same
// symmetric Toeplitz hash RSS spreads flows over workers with, so a flow
// (both of its directions) keeps one path as it keeps one worker.
// Immutable, shared by every worker.
var ecmpHash = rss.New(rss.SymmetricKey)

// PickECMP returns the adjacency of the member of ECMP group g (an
// AdjGroup adjacency of cfg) that carries the IP packet ip (its L3
// bytes): bucket hash mod GroupN of the group's buckets, the hash being
// rss.Hasher.IP's. A malformed packet hashes to 0 (the first bucket). An
// empty or inconsistent group gives 0, no route. Data path: no
// allocation, no lock.
func PickECMP(cfg *Config, g *Adj, ip []byte) uint16 {
	n := uint32(g.GroupN)
	if n == 0 || uint64(g.Group)+uint64(n) > uint64(len(cfg.ECMP)) {
		return 0
	}
	h, _ := ecmpHash.IP(ip)
	return cfg.ECMP[g.Group+h%n]
}

// ResolveECMP replaces, in nhs (the FIB's next hops of the packets of
// in, by position), every ECMP group by the member PickECMP chooses for
// that packet. ip4-lookup and ip6-lookup call it after their batch
// lookup when the snapshot has groups (len(cfg.ECMP) > 0), so a table
// without ECMP pays one length test per batch.
func ResolveECMP(cfg *Config, in *pkt.Batch, nhs []uint16) {
	adjs := cfg.Adj
	recs := pkt.Records()
	for i, x := range in.B[:len(nhs)] {
		nh := nhs[i]
		if int(nh) < len(adjs) && adjs[nh].Kind == AdjGroup {
			nhs[i] = PickECMP(cfg, &adjs[nh], recs.At(x).L3Bytes())
		}
	}
}
