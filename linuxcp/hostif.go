package linuxcp

import "net/netip"

// HostIf is one host interface to create (linux_cp's host_interfaces, as
// VPP's "lcp create"): a TAP in the mirrored namespace standing for a
// softnet interface, with its MAC, MTU and addresses, through which the
// kernel and its daemons speak on softnet's port.
type HostIf struct {
	// Name is the TAP's name in the namespace (the softnet interface's
	// unless the config gives another).
	Name string
	// Iface is the softnet interface's index (control's), which frames
	// read from the TAP are sent out of (HostIfs' send function).
	Iface int
	MAC   [6]byte
	MTU   int
	Addrs []netip.Prefix
}

// HostIfStats are one host interface's counters.
type HostIfStats struct {
	Name      string `json:"name"`
	Iface     int    `json:"iface"`
	Up        bool   `json:"up"`        // the TAP's carrier: softnet's port is up
	ToKernel  uint64 `json:"to_kernel"` // frames written to the TAP (punted by softnet)
	ToPort    uint64 `json:"to_port"`   // frames the kernel sent on the TAP, sent out of the port
	Dropped   uint64 `json:"dropped"`   // frames lost: a TAP write failed, or the port refused one
	LastError string `json:"last_error,omitempty"`
}
