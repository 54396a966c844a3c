package bench

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"

	"github.com/softnet/softnet/control"
)

// ScenarioEarlyDrop is a flood whose sources are all in a blocklist of
// EarlyDropEntries IPv4 hosts, dropped by early-drop on in0 (issue 13).
const ScenarioEarlyDrop = "early-drop"

// EarlyDropEntries is the early-drop scenario's blocklist size.
const EarlyDropEntries = 6_000_000

// EarlyDropHost is the i-th host of the scenario's blocklist: i times an
// odd constant, a permutation of the IPv4 space (distinct hosts spread
// over every /24, as a real list of attackers is).
func EarlyDropHost(i int) uint32 { return uint32(i+1) * 0x9E3779B1 }

// NewEarlyDrop builds ip4-forward's topology with a blocklist of n hosts
// (written to a temporary file and loaded as softnet blocklist load does)
// on in0, and a generator whose Templates frames each come from one of
// them, spread over the list.
func NewEarlyDrop(prefixes []netip.Prefix, n, size int) (*Forward, error) {
	dir, err := os.MkdirTemp("", "softnet-bench-edrop")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "flood.txt")
	buf := make([]byte, 0, 16*n)
	for i := range n {
		a := EarlyDropHost(i)
		for s := 24; s >= 0; s -= 8 {
			buf = strconv.AppendUint(buf, uint64(a>>s&0xff), 10)
			if s > 0 {
				buf = append(buf, '.')
			}
		}
		buf = append(buf, '\n')
	}
	if err := os.WriteFile(path, buf, 0o600); err != nil {
		return nil, err
	}
	buf = nil
	frames := Frames(prefixes, Templates, size)
	for i, f := range frames {
		binary.BigEndian.PutUint32(f[14+12:], EarlyDropHost(i*(n/len(frames))))
		binary.BigEndian.PutUint16(f[14+10:], 0) // the checksum is not checked before the drop; keep it valid anyway
		binary.BigEndian.PutUint16(f[14+10:], ipChecksum(f[14:34]))
	}
	f, err := NewForward(prefixes, frames, 1)
	if err != nil {
		return nil, err
	}
	info, err := f.Router.LoadBlocklist(control.BlocklistConfig{Name: "flood", File: path, Interfaces: []string{"in0"}})
	if err != nil {
		return nil, fmt.Errorf("early-drop: %v", err)
	}
	f.drops, f.blEntries, f.blLoadS = true, info.Entries, info.LoadS
	return f, nil
}

func ipChecksum(h []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(h); i += 2 {
		s += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}
