// Package netns creates and removes Linux network namespaces and veth pairs
// and runs commands inside namespaces, all through iproute2's ip(8).
//
// It exists for the lab (package lab), the veth benchmark and the
// end-to-end tests; it never touches the host's own interfaces or routes:
// every veth it makes is created directly inside namespaces it names.
//
// Do runs a function in a namespace on a thread of its own; if the
// thread cannot be moved back, the thread is discarded (never reused by
// the Go runtime) and Do's error says so.
//
// Hot path: no. Functions are safe for concurrent use (each runs its own
// processes). Needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN) and Linux.
package netns
