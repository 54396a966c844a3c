package dp

// Stage identifies a node of the packet graph. Its String is the stable
// kebab-case name used in counters, metrics and the CLI.
//
// The graph, with the next stages each one sorts packets to:
//
//	ethernet-input   -> l2-bridge, arp-input, ip4-input, drop
//	l2-bridge        -> interface-output, arp-input, ip4-input (BVI), drop
//	arp-input        -> interface-output (replies), drop (learning punted)
//	ip4-input        -> ip4-lookup, drop
//	ip4-lookup       -> ip4-rewrite, ip4-local, icmp4-error, drop
//	ip4-local        -> ip4-lookup (echo replies), icmp4-error, drop
//	icmp4-error      -> ip4-lookup, drop
//	ip4-rewrite      -> interface-output, ip4-arp, ip4-frag, icmp4-error, drop
//	ip4-arp          -> (control plane), drop
//	ip4-frag         -> interface-output, drop
//	interface-output -> (port), l2-bridge (BVI), drop
//	drop             -> (pool)
//
// The order of the constants is the order the worker runs pending stages
// in; edges that go backwards (ip4-local and icmp4-error to ip4-lookup, ip4-rewrite to
// icmp4-error) are served by another pass over the stages.
type Stage uint8

// Stages, in dispatch order.
const (
	StageEthernetInput Stage = iota
	StageBridge
	StageARPInput
	StageIP4Input
	StageIP4Lookup
	StageIP4Local
	StageICMP4Error
	StageIP4Rewrite
	StageIP4ARP
	StageIP4Frag
	StageInterfaceOutput
	StageDrop
	NumStages
)

var stageNames = [NumStages]string{
	"ethernet-input", "l2-bridge", "arp-input", "ip4-input", "ip4-lookup", "ip4-local",
	"icmp4-error", "ip4-rewrite", "ip4-arp", "ip4-frag", "interface-output", "drop",
}

func (s Stage) String() string {
	if s < NumStages {
		return stageNames[s]
	}
	return "unknown"
}
