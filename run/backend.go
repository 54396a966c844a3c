package run

import (
	"fmt"
	"hash/fnv"
	"sort"
	"strings"

	"github.com/softnet/softnet/config"
	"github.com/softnet/softnet/port"
)

// opened is a port and what the router needs from its backend.
type opened struct {
	port   port.Port
	queues int     // receive queues
	mac    [6]byte // the device's MAC; zero if the backend has none
	mtu    int     // the device's MTU; 0 if the backend has none
	stats  func() PortStats
	done   func() bool  // pcap: replay over; nil for others
	flush  func() error // nil: nothing to flush
	close  func() error
}

// PortStats is what a backend reports about its port's health.
type PortStats struct {
	Up          bool   // link up (always true for file and memory ports)
	LastError   string // most recent I/O error, "" if none
	KernelDrops uint64 // frames the kernel dropped before softnet saw them
	// Port counts, by name (e.g. "rx-oversize", "tx-busy"): frames the
	// port itself dropped or failed to send, and I/O errors. Only what the
	// backend has; zero counts are left out.
	PortDrops map[string]uint64
	// PortCounters are the port's other work, by name (e.g.
	// "rx-csum-finished"): frames it handled specially and passed on, not
	// drops. Zero counts are left out.
	PortCounters map[string]uint64
}

// portDrops builds PortStats.PortDrops from name/count pairs, leaving out
// zeros (nil when all are zero, so a healthy port costs nothing).
func portDrops(kv ...any) map[string]uint64 {
	var m map[string]uint64
	for i := 0; i+1 < len(kv); i += 2 {
		if n := kv[i+1].(uint64); n > 0 {
			if m == nil {
				m = map[string]uint64{}
			}
			m[kv[i].(string)] = n
		}
	}
	return m
}

// opener opens a port for an interface of the config; queues is the number
// of receive queues wanted (multi-queue backends honour it).
type opener func(c *config.Config, ic *config.Interface, queues int) (*opened, error)

// openers are the backends this build has, registered by backend_*.go.
var openers = map[config.Backend]opener{}

func register(b config.Backend, o opener) { openers[b] = o }

func available() string {
	var s []string
	for b := range openers {
		s = append(s, string(b))
	}
	sort.Strings(s)
	return strings.Join(s, ", ")
}

func open(c *config.Config, ic *config.Interface, queues int) (*opened, error) {
	o, ok := openers[ic.Backend]
	if !ok {
		return nil, fmt.Errorf("backend %s is not available in this build (available: %s)", ic.Backend, available())
	}
	return o(c, ic, queues)
}

// DefaultMAC is the MAC of an interface that has neither a configured MAC
// nor a device's: locally administered unicast (02:...), the rest taken
// from a hash of the name, so it is stable across runs.
func DefaultMAC(name string) [6]byte {
	h := fnv.New64a()
	h.Write([]byte(name))
	s := h.Sum64()
	return [6]byte{0x02, byte(s >> 32), byte(s >> 24), byte(s >> 16), byte(s >> 8), byte(s)}
}
