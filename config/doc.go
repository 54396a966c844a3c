// Package config reads softnet's YAML config, the file `softnet run -c`
// and `softnet check -c` take. Parsing is strict: an unknown field, a
// duplicate key or name, a value of the wrong type, a bad address, prefix
// or MAC, a next hop on no interface's subnet, a neighbour on an unknown
// interface — each is an error that names the file, the line and column,
// and the field, and says what to do:
//
//	examples/bad.yaml:7:14: interfaces[1].addresses[0]: "10.0.2.300/24" is not an IPv4 prefix (write it as A.B.C.D/N, e.g. 192.0.2.1/24)
//
// A YAML syntax error is reported at the line where the file stops
// parsing (yaml.v3's own "line N" is the block the parser was in, often
// lines earlier: see parser.syntax).
//
// Parse reports every error it finds (up to MaxErrors), in file order.
// It reads the file into a yaml.Node tree and walks it field by field
// rather than decoding into structs, so that every value keeps its
// position for the semantic checks that come after the structure.
// CheckSystem adds what needs the host (devices and their MTUs, files,
// the API's group); LoadRouteFiles reads the route files.
//
// Routes, route files and neighbours are checked by package
// internal/rules, which the control plane applies too (softnet run,
// reload, and the control API's route and neighbor add), so the same
// mistake gets the same message on every path: a next hop must be another
// host on a connected subnet (not one of the router's own addresses, nor a
// subnet's network or broadcast address); a route's prefix, in the config
// or a route file, must have no host bits set and must not be one of the
// router's own prefixes (an interface address's /32, a connected subnet, a
// subnet's network or broadcast /32: those belong to the interfaces; a
// more specific prefix is fine); a neighbour must be another host on one
// of its interface's subnets, with a unicast MAC that is not all zeros.
//
// # Format
//
//	workers: 1                    # worker goroutines, 1..64 (default 1)
//	poll_mode: interrupt          # what an idle worker does (dp.PollMode): interrupt (default: blocks
//	                              # after a few µs: least CPU, a wake-up per frame that finds it idle),
//	                              # adaptive (polls for poll_window after its last frame, then blocks),
//	                              # polling (never blocks: a CPU per worker, no wake-up; give it a core
//	                              # of its own); a change needs a restart
//	poll_window: 500us            # adaptive only: 1us..1s (default 500us)
//	interfaces:                   # at least one
//	  - name: wan0                # softnet's name: letters, digits, - _ . (unique)
//	    backend: afpacket         # afpacket | afxdp | tap | pcap | mem
//	    device: veth-r0           # afpacket, afxdp, tap: the Linux device (tap creates it)
//	    mac: 02:00:00:00:00:01    # optional; default: the device's MAC (afpacket, afxdp),
//	                              # else 02:xx:xx:xx:xx:xx derived from the name
//	    mtu: 1500                 # optional IPv4 MTU, 68..9258 (afxdp: ..3818); default: the device's (afpacket, afxdp), else 1500
//	    addresses: [192.0.2.1/24] # IPv4 or IPv6 address/prefix length; subnets must not overlap
//	    down: false               # optional: administratively down
//	    router_advertisements: false # optional: send IPv6 Router Advertisements (its IPv6 subnets as
//	                              # prefixes, autonomous for a /64) every 200 s and on solicitation; needs an IPv6 address
//	    stack_drop: false         # afpacket, optional: a tc ingress drop after softnet's sockets saw each
//	                              # frame, so the namespace's own stack skips it (Linux 6.6; no host addresses on the device)
//	  - name: cap0
//	    backend: pcap
//	    rx: in.pcap               # pcap: file to replay (optional)
//	    tx: out.pcap              # pcap: file to write what is sent (optional; one of rx, tx needed)
//	    loop: false               # pcap: replay rx forever
//	    rate: 0                   # pcap: packets per second, 0 = as fast as possible
//	    limit: 0                  # pcap: stop after this many packets, 0 = no limit
//	    addresses: [10.0.2.1/24]
//	  - name: wan0.100            # a VLAN sub-interface: a full interface on its parent's port
//	    parent: wan0              # a port interface of this config (not itself a VLAN)
//	    vlan: 100                 # 802.1Q VLAN ID, 1..4094, unique on the parent (per outer tag)
//	    outer_vlan: 10            # optional: QinQ (802.1ad), the outer VLAN ID
//	    tpid: 0x88a8              # optional, with outer_vlan: the outer TPID, 0x88a8 | 0x8100 | 0x9100
//	    mtu: 1496                 # optional; default and maximum: the parent's minus 4 (8 for QinQ)
//	    addresses: [10.100.0.1/24] # no backend, device or mac: it uses its parent's port and MAC
//	  - name: irb0                # a bridge's routed interface (BVI): no port of its own
//	    bridge: br0               # the bridge it is in (one per bridge)
//	    addresses: [10.5.0.1/24]  # mac, mtu, down as for any interface; mtu capped to the members' smallest
//	bridges:                      # learning switches (a MAC table per worker, looked up by all)
//	  - name: br0
//	    members: [lan1, wan0.200] # ports or VLAN sub-interfaces without addresses, one bridge each
//	    max_macs: 4096            # optional: learned MACs per worker (1..1048576)
//	    ageing: 300               # optional: seconds a MAC lives unseen
//	    flood_rate: 10000         # optional: flooded frames per second per worker
//	    flood_burst: 1000         # optional
//	routes:                       # not an interface's own prefix (see above); IPv4 or IPv6
//	  - {prefix: 198.18.0.0/15, via: 192.0.2.2}    # via: another host on a connected subnet
//	  - {prefix: 203.0.113.0/24, blackhole: true}
//	route_files:                  # a file of CIDR prefixes, one per line (plain or gzip; as routes: no host bits;
//	                              # at most 16777216 prefixes a file),
//	  - {path: embedded:full-table, via: 192.0.2.2, via6: 2001:db8::2}  # IPv4 prefixes via, IPv6 via6;
//	                              # embedded:full-table is the full table in the binary
//	neighbors:                    # static ARP entries
//	  - {interface: cap0, address: 10.0.2.2, mac: 02:bb:00:00:00:02}
//	blocklists:                   # the early-drop stage's lists (dp/edrop)
//	  - name: attackers           # letters, digits, - _ . (unique)
//	    file: attackers.txt.gz    # one IPv4/IPv6 address or prefix a line, '#' comments, plain or gzip
//	                              # (lines of at most 4096 bytes, at most 1 GiB of text decompressed)
//	    match: src                # src (default): drop frames from the list's addresses; dst: to them
//	    interfaces: [wan0]        # optional: port interfaces of this config (not VLANs); default every port
//	icmp: {rate: 1000, burst: 100} # ICMP errors per second and burst, per worker
//	api:                          # the control API of softnet run (docs/api.md)
//	  socket: /run/softnet/softnet.sock  # default; off: none (--api overrides); at most 107 bytes
//	  group: softnet              # optional: the socket is 0660 for this group (else 0600)
//	  metrics: 127.0.0.1:9977     # optional: Prometheus /metrics on TCP too (--metrics overrides)
//	filter:                       # optional: the stateful packet filter (dp/filter; rules: dp/filter/pf)
//	  default: block              # pass (default) | block: what no rule decides
//	  limit: 65536                # optional: states per worker (1..16777216)
//	  timeouts: {tcp_opening: 30, tcp_established: 86400, tcp_closing: 900, tcp_closed: 90, udp: 60, icmp: 20, other: 60}
//	                              # optional, seconds per state class (these are the defaults)
//	  tables:                     # named tables for rules' <name>: a file (plain or gzip, one
//	    - {name: bogons, file: bogons.txt}  # address or prefix a line, '#' comments) and/or addresses
//	    - {name: lan, addresses: [10.0.1.0/24, 2001:db8::/32]}  # softnet table add|del changes one until a reload
//	  rules:                      # one rule a line, pf.conf in spirit; the last match decides unless quick
//	                              # (a reload keeps the counters of the rules it leaves unchanged)
//	    - pass out                # a pass rule keeps state (TCP: flags S/SA) unless it says no state
//	    - pass in on lan0 proto {tcp, udp} from <lan> to any port {22, 8000:8080}
//	    - block in quick on wan0.100 inet6 from ! 2001:db8::/32
//
// A rule that does not parse is reported at the line and column of the
// word at fault (examples/bad.yaml:31:40: filter.rules[2]: "99999" is not
// a port: ...); a rule naming an interface or a table the config does not
// have is reported at its line; softnet check reads the tables' files.
//
//	captures:                     # always-on captures to rotating files (a flight recorder)
//	  - name: wan                 # unique; softnet show captures names it
//	    interface: wan0           # optional: a config interface; default every interface
//	    point: rx                 # optional: rx | tx | drop; default rx and tx (as softnet capture)
//	    reason: ip4-lookup/blackhole # optional, with point: drop: one reason (as show errors names it);
//	                              # blocked: the filter's blocks, a pflog (comments name the rule)
//	    filter: icmp or arp       # optional: tcpdump's language; an error points at its column
//	    snaplen: 128              # optional: bytes kept of each packet, 0..65535 (0: whole packets)
//	    path: /var/log/softnet/wan.pcapng # without max_size: this file; with it: wan.pcapng.0, .1, ...
//	                              # (not empty; its directory must exist: softnet check says so)
//	    max_size: 10MB            # optional: start the next file past this size (B, KB, MB, GB, KiB,
//	                              # MiB, GiB; at least 4KiB); the oldest beyond max_files is deleted
//	    max_files: 5              # optional, with max_size: files kept, 1..10000 (default 5)
//	    format: pcapng            # optional: pcapng (default) | pcap
//
// Captures start with softnet run; a reload adds, removes and changes them
// (an unchanged capture keeps writing its file); stopping softnet run
// (SIGINT, SIGTERM) ends them with their files complete.
//
// Check (softnet check) reads every blocklist file: a line that is not an
// address or prefix is an error at the entry's file line naming the list
// file's line; CheckConfig leaves that to a reload, which parses only the
// lists whose file changed (ReadBlocklist hashes it).
//
// Relative paths (rx, tx, route file, blocklist and capture paths) are relative to the directory
// of the config file, so a config and its data move together. IPv6
// interface addresses, neighbours and routes are taken
// (internal/rules.Family): a route's next hop is of its prefix's family
// (routes[i].via: ... is of the other address family, at its line).
// A route file's IPv4 prefixes go through via (or blackhole), its IPv6
// ones through via6 (an IPv6 next hop); without via6 they are skipped.
//
// Hot path: no. A Config is immutable after Parse; share it freely.
package config
