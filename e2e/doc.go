// Package e2e holds softnet's end-to-end tests: the softnet binary, built
// once per test run, forwards real traffic between network namespaces
// (package lab) and is checked with real tools: ping, iperf3, trafgen and
// ip neigh. TestForwarding (ping, TTL 1, no route, MTU change, iperf3
// TCP) and TestInterfaceDeleted (a device deleted and re-created under a
// trafgen flood) run once per backend, in subtests named afpacket and
// afxdp; so does TestCLIVeth's softnet lab (ping, TTL 1, iperf3 TCP and
// UDP, a trafgen flood). TestIPv6 runs IPv6 with no static neighbour:
// ping -6 between the hosts and to the router's global and link-local
// addresses, the hosts and softnet resolving each other by Neighbor
// Discovery (the hosts' kernels record the router flag), traceroute -6
// (the router's Time Exceeded as hop 1), iperf3 -6 through it, and host
// B autoconfiguring from softnet's Router Advertisements; on each backend.
//
// The CLI tests run the binary as users do: TestCLIMem starts `softnet
// run` on the README's in-memory examples (operate-mem.yaml,
// vlan-bridge-mem.yaml) and runs every documented command against it,
// text and --json, checking each answer, SIGHUP and SIGTERM; TestCLIChurn
// mixes route, neighbor and vlan add/del, reload and show for a bounded
// time under traffic and checks that the final counters balance exactly;
// TestCLIVeth runs examples/veth-router.yaml between two namespaces whose
// veths keep their default offloads. TestCLIDocs fails when README.md
// documents a command that cliCovered does not list: a new documented
// command gets a line in the CLI tests in the same change.
//
// The tests need root; without it they skip. A missing tool fails the
// test with the Debian package to install (scripts/deps.sh installs them
// all). Every namespace is removed in t.Cleanup.
package e2e
