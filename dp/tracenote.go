package dp

import (
	"fmt"

	"github.com/softnet/softnet/hdr"
)

// Words for trace notes (see NodeTrace.Note) and for dp/tracefmt. None of
// this runs on the data path.

// IfaceName is interface i's name in cfg, or "if<i>".
func IfaceName(cfg *Config, i int) string {
	if cfg != nil && i >= 0 && i < len(cfg.Ifaces) && cfg.Ifaces[i].Name != "" {
		return cfg.Ifaces[i].Name
	}
	return fmt.Sprintf("if%d", i)
}

// IP4String formats an IPv4 address held in a uint32.
func IP4String(a uint32) string {
	return fmt.Sprintf("%d.%d.%d.%d", byte(a>>24), byte(a>>16), byte(a>>8), byte(a))
}

var adjKindNames = [...]string{
	AdjNone: "no route", AdjForward: "forward", AdjIncomplete: "incomplete (next hop unresolved)",
	AdjGlean: "glean (connected, destination unresolved)", AdjLocal: "local", AdjBroadcast: "broadcast",
	AdjDrop: "blackhole", AdjUnreachable: "unreachable (next hop did not answer ARP)",
	AdjGroup: "ecmp group",
}

// AdjKindName says what an adjacency kind means.
func AdjKindName(k uint8) string {
	if int(k) < len(adjKindNames) {
		return adjKindNames[k]
	}
	return fmt.Sprintf("kind %d", k)
}

// ICMPName names an ICMP type and code.
func ICMPName(typ, code uint8) string {
	switch {
	case typ == hdr.ICMPv4TimeExceeded:
		return "time exceeded"
	case typ == hdr.ICMPv4DestUnreach:
		switch code {
		case hdr.ICMPv4NetUnreach:
			return "net unreachable"
		case hdr.ICMPv4HostUnreach:
			return "host unreachable"
		case hdr.ICMPv4ProtoUnreach:
			return "protocol unreachable"
		case hdr.ICMPv4PortUnreach:
			return "port unreachable"
		case hdr.ICMPv4FragNeeded:
			return "fragmentation needed"
		}
		return fmt.Sprintf("destination unreachable code %d", code)
	case typ == hdr.ICMPv4Echo:
		return "echo request"
	case typ == hdr.ICMPv4EchoReply:
		return "echo reply"
	}
	return fmt.Sprintf("type %d code %d", typ, code)
}
