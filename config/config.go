package config

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/internal/rules"
	"github.com/softnet/softnet/pkt"
)

// Backend names a kind of port.
type Backend string

// The backends.
const (
	AFPacket Backend = "afpacket" // a Linux device through AF_PACKET (TPACKET_V2 receive ring)
	AFXDP    Backend = "afxdp"    // a Linux device through AF_XDP sockets (UMEM: the engine's arena)
	TAP      Backend = "tap"      // a Linux TAP device, created if missing
	PCAP     Backend = "pcap"     // replay a pcap file, write what is sent to one
	Mem      Backend = "mem"      // an in-memory queue port (tests, dry runs)
)

var backends = []Backend{AFPacket, AFXDP, TAP, PCAP, Mem}

// EmbeddedFullTable is the route file path that names the full Internet
// table embedded in the binary (softnet.FullTableGz).
const EmbeddedFullTable = "embedded:full-table"

// Poll modes (Config.PollMode; dp.PollMode's names).
const (
	PollInterrupt = "interrupt"
	PollAdaptive  = "adaptive"
	PollPolling   = "polling"

	// DefaultPollMode is poll_mode when the config does not say.
	DefaultPollMode = PollInterrupt
)

// PollModes are the values poll_mode takes.
var PollModes = []string{PollInterrupt, PollAdaptive, PollPolling}

// Limits on values.
const (
	// MinPollWindow and MaxPollWindow bound poll_window.
	MinPollWindow = time.Microsecond
	MaxPollWindow = time.Second

	MaxWorkers = 64
	MinMTU     = 68                                 // RFC 791: every host must handle 68-byte datagrams
	MaxMTU     = pkt.MaxFrame - hdr.EthernetLen - 8 // a buffer holds the frame with room for two VLAN tags
	// AFXDPMaxMTU is the largest MTU of an afxdp interface and its device:
	// its frames are received in 4096-byte UMEM chunks, after the kernel's
	// 256-byte XDP headroom, with room for two VLAN tags (3818).
	AFXDPMaxMTU = 4096 - 256 - hdr.EthernetLen - 8
	maxName     = 32                                         // interface names appear in logs and metrics
	nameChars   = "letters, digits, '-', '_' and '.'"        // allowed in interface names
	prefixHelp  = "write it as A.B.C.D/N, e.g. 192.0.2.1/24" // how to fix an address
)

// Config is a parsed and validated softnet config. Parse fills every
// field; defaults are applied (Workers, ICMP) except those that need the
// system (an interface's MAC and MTU, see package run).
type Config struct {
	File    string // the file it came from, as given to Load or Parse
	Workers int    // default 1
	// PollMode is what an idle worker does (dp.PollMode): "interrupt"
	// (the default: block after a few µs), "adaptive" (poll for
	// PollWindow after the last frame, then block) or "polling" (never
	// block: a busy CPU per worker). PollWindow is adaptive's window,
	// 0 for the default (dp.DefaultPollWindow, 500 µs).
	PollMode   string
	PollWindow time.Duration
	Interfaces []Interface
	Routes     []Route
	RouteFiles []RouteFile
	Neighbors  []Neighbor
	Bridges    []Bridge
	Blocklists []Blocklist
	ICMP       ICMP
	API        API
	// LinuxCP, if set, mirrors the routes of a Linux network namespace
	// into softnet (package linuxcp).
	LinuxCP *LinuxCP
	Filter  *Filter // nil: no filter
	// Captures are the always-on captures to rotating files.
	Captures []Capture

	pos map[string]Pos // field path -> position of its value
	// masked: by a blocklist's or filter table's Field, its file's lines
	// taken masked (Notes); set by LoadBlocklists and CheckSystem.
	masked map[string]string
}

// Interface is one entry of interfaces.
type Interface struct {
	Name    string
	Backend Backend
	Device  string // afpacket, afxdp, tap: the Linux device

	// pcap only. RX and TX are as written; resolve them with Config.Path.
	RX, TX string
	Loop   bool    // replay RX again and again
	Rate   float64 // packets per second to replay at; 0 = as fast as possible
	Limit  uint64  // stop replaying after this many packets; 0 = no limit

	MAC       [6]byte // zero: the default (see package run)
	MTU       int     // IPv4 MTU; 0: the default (the device's, or 1500)
	Addresses []netip.Prefix
	Down      bool // administratively down
	// StackDrop (afpacket only): a tc ingress program drops each frame
	// after softnet's sockets saw it, so the host's stack in the
	// device's namespace does not process it too (afpacket.Options).
	StackDrop bool
	// RouterAdvertisements: the router sends Router Advertisements (RFC
	// 4861 §6.2) on the interface, periodically and in answer to Router
	// Solicitations, with a Prefix Information option for each of its
	// IPv6 subnets (on-link; autonomous for a /64), so hosts on it can
	// autoconfigure (RFC 4862). Off by default.
	RouterAdvertisements bool

	// A VLAN sub-interface names its Parent (a port interface of the
	// config, by name) instead of a backend, and its 802.1Q VLAN; for
	// QinQ (802.1ad) also OuterVLAN and optionally TPID, the outer tag's
	// (0x88a8 by default; 0x8100 or 0x9100). It has its parent's MAC.
	Parent    string
	VLAN      int
	OuterVLAN int
	TPID      uint16

	// Bridge makes the interface the routed interface (BVI) of the bridge
	// of that name: an L3 interface with no port, reached through the
	// bridge's members.
	Bridge string

	Field string // "interfaces[i]", for error messages
}

// Bridge is one entry of bridges: a learning switch across member
// interfaces (ports or VLAN sub-interfaces without addresses).
type Bridge struct {
	Name       string
	Members    []string
	MaxMACs    int // per worker; 0: the default (4096)
	Ageing     int // seconds; 0: the default (300)
	FloodRate  int // flooded frames per second per worker; 0: default (10000)
	FloodBurst int // 0: default (1000)
	Field      string
}

// Blocklist is one entry of blocklists: a named list of IPv4 and IPv6
// addresses and prefixes in a file (plain or gzip, one a line, '#'
// comments) that the early-drop stage (dp/edrop) drops frames from (Match
// "src", the default) or to (Match "dst"), on the port interfaces named in
// Interfaces (none: every port).
type Blocklist struct {
	Name       string
	File       string // as written; resolve it with Config.Path
	Match      string // "src" or "dst" ("" as parsed: src)
	Interfaces []string
	Field      string
}

// setMasked notes what the load of the file of the list or table at
// field took masked ("": nothing).
func (c *Config) setMasked(field, note string) {
	if note == "" {
		delete(c.masked, field)
		return
	}
	if c.masked == nil {
		c.masked = map[string]string{}
	}
	c.masked[field] = note
}

// Notes are what the checks noticed that is not an error: lines of list
// files (blocklists, filter tables) with host bits set (10.1.2.3/8),
// taken masked (10.0.0.0/8), with their count and the first quoted.
// softnet check prints them and softnet run logs them. An entry typed in
// the config itself (a filter table's addresses) is refused instead.
func (c *Config) Notes() []string {
	var out []string
	for _, b := range c.Blocklists {
		if m := c.masked[b.Field]; m != "" {
			out = append(out, fmt.Sprintf("%s: blocklist %s: %s", b.Field, b.Name, m))
		}
	}
	if c.Filter != nil {
		for _, t := range c.Filter.Tables {
			if m := c.masked[t.Field]; m != "" {
				out = append(out, fmt.Sprintf("%s: filter table <%s>: %s", t.Field, t.Name, m))
			}
		}
	}
	return out
}

// IsVLAN reports whether ic is a VLAN sub-interface (it has a parent).
func (ic *Interface) IsVLAN() bool { return ic.Parent != "" }

// Route is one entry of routes: a prefix through a next hop, or a blackhole.
type Route struct {
	Prefix    netip.Prefix
	Via       netip.Addr // invalid for a blackhole
	Blackhole bool
	Field     string
}

// RouteFile is one entry of route_files: every IPv4 prefix in a file (one
// CIDR per line, '#' comments, optionally gzipped) through one next hop
// (Via, or Blackhole), and its IPv6 prefixes through Via6; without Via6
// the IPv6 prefixes are skipped (Table.Skipped).
type RouteFile struct {
	Path      string // as written: a file path or EmbeddedFullTable
	Via       netip.Addr
	Via6      netip.Addr // the IPv6 prefixes' next hop; invalid: they are skipped
	Blackhole bool
	Field     string
}

// Neighbor is one entry of neighbors: a static ARP entry.
type Neighbor struct {
	Interface string
	Address   netip.Addr
	MAC       [6]byte
	Field     string
}

// ICMP is the ICMP error rate limit (RFC 1812 §4.3.2.8), per worker.
type ICMP struct {
	Rate  int // errors per second; default 1000
	Burst int // bucket size; default 100
}

// API is where softnet run serves its control API and metrics.
type API struct {
	// Socket is the Unix socket of the control API: "" for the default
	// (DefaultSocket), "off" to serve none.
	Socket string
	// Group, if set, owns the socket, which is then mode 0660 instead of
	// 0600, so its members can use the CLI without root.
	Group string
	// Metrics is a TCP address (host:port) to serve Prometheus /metrics on
	// as well; "" for none (the socket serves /metrics too).
	Metrics string
}

// LinuxCP is the linux_cp section: which kernel routing tables softnet
// mirrors (package linuxcp).
type LinuxCP struct {
	// Namespace is the network namespace whose kernel tables are
	// mirrored (a name under /run/netns, as ip netns names it); "" for
	// softnet's own.
	Namespace string
	// Interfaces are the interfaces whose routes are mirrored (softnet
	// interfaces, each a kernel interface of the same name in
	// Namespace); empty: all of softnet's.
	Interfaces []string
	// Tables are the kernel routing tables mirrored, by number (main is
	// 254); empty: main.
	Tables []int
	// Protocols are the route protocols mirrored (RTPROT_* numbers);
	// empty: all.
	Protocols []int
	// RcvBuf is the netlink receive buffer in bytes; 0: linuxcp's
	// default (256 MiB).
	RcvBuf int
	// HostInterfaces are the softnet interfaces (VLAN sub-interfaces
	// included) that get a host interface: a TAP in Namespace with the
	// interface's MAC, MTU and addresses, through which the kernel and
	// its daemons speak on softnet's port (linuxcp.HostIf).
	HostInterfaces []HostInterface
	// PuntRate and PuntBurst are the host punt rate limit, packets per
	// second and burst per worker and per class (TCP, UDP, ICMP, other,
	// multicast); 0: the defaults (dp.DefaultHostRate, 10000, and
	// dp.DefaultHostBurst, 2000).
	PuntRate, PuntBurst int
	// ArpND says who answers ARP requests and Neighbor Solicitations for
	// the addresses of interfaces with a host interface: "softnet" (the
	// default, "" too: the kernel gets copies of the replies to its own
	// requests) or "linux" (the kernel behind the TAP answers; softnet
	// still learns from them and resolves its own next hops).
	ArpND string
}

// HostInterface is one of linux_cp's host_interfaces: softnet interface
// Interface, whose TAP is called Name in the namespace (Interface's name
// if empty). Field is its place in the file (linux_cp.host_interfaces[i]).
type HostInterface struct {
	Interface, Name string
	Field           string
}

// HostName is the TAP's name: Name, else the interface's.
func (h HostInterface) HostName() string {
	if h.Name != "" {
		return h.Name
	}
	return h.Interface
}

// DefaultSocket is the control API's socket when the config and the
// command line name none.
const DefaultSocket = "/run/softnet/softnet.sock"

// MaxFileSize bounds a config file (route tables go in route files).
const MaxFileSize = 16 << 20

// readFile reads a config file: a regular file of at most MaxFileSize
// bytes, so that a path such as /dev/zero or a FIFO given to reload
// cannot make the router read forever.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file (%v)", st.Mode().Type())
	}
	if st.Size() > MaxFileSize {
		return nil, fmt.Errorf("%d bytes: a config is at most %d MiB (put large route tables in route_files)", st.Size(), MaxFileSize>>20)
	}
	return io.ReadAll(io.LimitReader(f, MaxFileSize+1))
}

// Load reads and parses a config file.
func Load(path string) (*Config, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, Errors{{File: path, Msg: fmt.Sprintf("cannot read the config: %v", pathErr(err))}}
	}
	return Parse(path, data)
}

// errors strips the path os errors repeat.
func pathErr(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// Check is what `softnet check` does: Load, then CheckSystem,
// LoadRouteFiles and LoadBlocklists, reporting the errors of all of them
// together (the host checks run on what parsed, even when other parts did
// not). It returns the config and its route tables when there is no
// error.
func Check(path string) (*Config, []Table, error) {
	return check(context.Background(), path, true, nil)
}

// CheckContext is Check, given up when ctx ends: reading the route files
// (a full table takes a second or more) stops within a few milliseconds,
// and the error is then ctx's (context.Canceled or DeadlineExceeded), not
// an Errors. softnet run uses it so that a signal during start-up stops it
// at once.
func CheckContext(ctx context.Context, path string) (*Config, []Table, error) {
	return check(ctx, path, true, nil)
}

// CheckConfig is Check without parsing the blocklist files (their
// readability is checked): a reload reads them itself and parses only
// those that changed.
func CheckConfig(path string) (*Config, []Table, error) {
	return check(context.Background(), path, false, nil)
}

// CheckCached is CheckConfig, taking the route files that did not change
// from tc (see TableCache) instead of reading them again; nil: none.
func CheckCached(path string, tc *TableCache) (*Config, []Table, error) {
	return check(context.Background(), path, false, tc)
}

func check(ctx context.Context, path string, lists bool, tc *TableCache) (*Config, []Table, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, nil, Errors{{File: path, Msg: fmt.Sprintf("cannot read the config: %v", pathErr(err))}}
	}
	c, perr := parse(path, data)
	var all Errors
	if perr != nil {
		all = append(all, perr.(Errors)...)
	}
	var tables []Table
	if c != nil {
		if err := c.CheckSystem(); err != nil {
			all = append(all, err.(Errors)...)
		} else if perr == nil {
			tables, err = c.loadRouteFiles(ctx, tc)
			if ctx.Err() != nil {
				return nil, nil, ctx.Err()
			}
			if err != nil {
				all = append(all, err.(Errors)...)
			}
			if lists && ctx.Err() != nil { // between the route files and the lists
				return nil, nil, ctx.Err()
			}
			if lists {
				if _, err := c.LoadBlocklists(); err != nil {
					all = append(all, err.(Errors)...)
				}
			}
		}
	}
	if len(all) == 0 {
		return c, tables, nil
	}
	// Merge the checks' lists: drop their "more errors" summaries, sort
	// what is listed by position, and end with one summary of the rest.
	more := 0
	listed := all[:0]
	for _, e := range all {
		if e.More > 0 {
			more += e.More
		} else {
			listed = append(listed, e)
		}
	}
	sortErrors(listed)
	if len(listed) > MaxErrors {
		more += len(listed) - MaxErrors
		listed = listed[:MaxErrors]
	}
	if more > 0 {
		listed = append(listed, moreErrors(path, more))
	}
	return nil, nil, listed
}

// Parse parses and validates a config. file names it in error messages
// and anchors relative paths (see Path). The error, if any, is an Errors
// listing every problem found (up to MaxErrors) in file order.
func Parse(file string, data []byte) (*Config, error) {
	c, err := parse(file, data)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// parse is Parse, but it also returns what it could parse when there are
// errors (nil only when the YAML itself is broken).
func parse(file string, data []byte) (*Config, error) {
	p := &parser{errs: errs{file: file}, cfg: &Config{File: file, pos: map[string]Pos{}}, bad: map[string]bool{}}
	var doc, extra yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil && err != io.EOF {
		p.syntax(err, data)
		return nil, p.err()
	}
	if err := dec.Decode(&extra); err == nil {
		p.add(at(&extra), "", "a second YAML document (after ---): a config is one document, remove the ---")
	} else if err != io.EOF {
		p.syntax(err, data)
		return nil, p.err()
	}
	if doc.Kind == 0 || len(doc.Content) == 0 || doc.Content[0].Tag == "!!null" {
		p.add(Pos{}, "", "the config is empty: it needs at least an interfaces list (see examples/two-port-mem.yaml)")
		return nil, p.err()
	}
	p.top(doc.Content[0])
	p.validate()
	p.validateFilter()
	p.captures()
	sortErrors(p.found)
	return p.cfg, p.err()
}

// sortErrors puts errors in file order; errors without a line first.
func sortErrors(es Errors) {
	slices.SortStableFunc(es, func(a, b *Error) int {
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line - b.Pos.Line
		}
		return a.Pos.Col - b.Pos.Col
	})
}

// Path resolves a path written in the config: relative paths are relative
// to the config file's directory, so a config and its data files move
// together.
func (c *Config) Path(p string) string {
	if p == "" || filepath.IsAbs(p) || c.File == "" || p == EmbeddedFullTable {
		return p
	}
	return filepath.Join(filepath.Dir(c.File), p)
}

// Errorf returns an *Error about field (a path such as
// "interfaces[0].device") at its position in the file. Package run uses it
// to report problems found at start-up against the config's lines.
func (c *Config) Errorf(field, format string, args ...any) *Error {
	return &Error{File: c.File, Pos: c.pos[field], Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Interface returns the index of the interface named name, or -1.
func (c *Config) Interface(name string) int {
	for i := range c.Interfaces {
		if c.Interfaces[i].Name == name {
			return i
		}
	}
	return -1
}

// Summary is a one-line description: interfaces, routes (with the
// prefixes of tables, the loaded route files, if given), neighbours,
// workers.
func (c *Config) Summary(tables []Table) string {
	s := fmt.Sprintf("%d %s, %d %s", len(c.Interfaces), plural(len(c.Interfaces), "interface"),
		len(c.Routes), plural(len(c.Routes), "route"))
	if n := len(c.RouteFiles); n > 0 {
		s += fmt.Sprintf(", %d %s", n, plural(n, "route file"))
		if len(tables) == n {
			total := 0
			for _, t := range tables {
				total += len(t.Prefixes) + len(t.Prefixes6)
			}
			s += fmt.Sprintf(" (%d %s)", total, plural(total, "prefix"))
		}
	}
	if n := len(c.Neighbors); n > 0 {
		s += fmt.Sprintf(", %d %s", n, plural(n, "neighbor"))
	}
	return s + fmt.Sprintf(", %d %s", c.Workers, plural(c.Workers, "worker"))
}

func plural(n int, s string) string {
	switch {
	case n == 1:
		return s
	case strings.HasSuffix(s, "x"):
		return s + "es"
	}
	return s + "s"
}

type parser struct {
	errs
	cfg *Config
	bad map[string]bool // items that are not mappings: not validated further
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntax reports a YAML syntax error of data at the line where it is.
//
// yaml.v3's message does not say that line: "yaml: line N" is the line
// of the block the parser was in (its context mark, 0-based for parser
// errors), not where the problem is (its problem mark, which it does not
// expose): an indentation error on line 5 of a list that begins on line 3
// reads "line 2". So the line reported is the first one at which the
// file stops parsing with the same problem: the shortest run of leading
// lines that fails as the whole file does. (For a construct left open,
// such as an unclosed [, that is the last line read before the end
// showed it unclosed.) Files too long to re-parse line by line get
// yaml.v3's line.
func (p *parser) syntax(err error, data []byte) {
	msg := err.Error()
	m := yamlLine.FindStringSubmatch(msg)
	if m == nil {
		p.add(Pos{}, "", "YAML syntax: %s", strings.TrimPrefix(msg, "yaml: "))
		return
	}
	line, _ := strconv.Atoi(m[1])
	if l := problemLine(data, m[2]); l > 0 {
		line = l
	}
	p.add(Pos{Line: line}, "", "YAML syntax: %s", m[2])
}

// maxSyntaxScan is the longest file (in lines) problemLine scans.
const maxSyntaxScan = 5000

// problemLine returns the smallest n such that the first n lines of data
// fail to parse with problem (yaml.v3's message without "yaml: line N: "),
// 0 if none does or data is longer than maxSyntaxScan lines.
func problemLine(data []byte, problem string) int {
	lines := bytes.SplitAfter(data, []byte("\n"))
	if len(lines) > maxSyntaxScan {
		return 0
	}
	end := 0
	for n, l := range lines {
		end += len(l)
		var doc yaml.Node
		dec := yaml.NewDecoder(bytes.NewReader(data[:end]))
		var err error
		for err == nil {
			err = dec.Decode(&doc) // every document: a second one may hold the error
		}
		if err == io.EOF {
			continue
		}
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil && m[2] == problem {
			return n + 1
		}
	}
	return 0
}

func at(n *yaml.Node) Pos { return Pos{Line: n.Line, Col: n.Column} }

func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// fields walks a mapping node. Each key must be one of known and appear
// once; fn gets each value. It records every value's position under
// field.key.
func (p *parser) fields(n *yaml.Node, field, example string, known []string, fn func(key string, v *yaml.Node)) {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		p.add(at(n), field, "want a mapping (key: value lines), e.g. %s; got %s", example, describe(n))
		p.bad[field] = true
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], deref(n.Content[i+1])
		key := k.Value
		sub := join(field, key)
		if k.Kind != yaml.ScalarNode {
			p.add(at(k), field, "a key must be a plain word")
			continue
		}
		if !slices.Contains(known, key) {
			hint := ""
			if s := closest(key, known); s != "" {
				hint = fmt.Sprintf("did you mean %q? ", s)
			}
			p.add(at(k), field, "unknown field %q: %sknown fields are %s", key, hint, strings.Join(known, ", "))
			continue
		}
		if line, dup := seen[key]; dup {
			p.add(at(k), sub, "set twice (first at line %d): keep one", line)
			continue
		}
		seen[key] = k.Line
		p.cfg.pos[sub] = at(v)
		fn(key, v)
	}
}

// list walks a sequence node, recording each item's position.
func (p *parser) list(n *yaml.Node, field, example string, fn func(i int, field string, v *yaml.Node)) {
	n = deref(n)
	if n.Kind != yaml.SequenceNode {
		p.add(at(n), field, "want a list, e.g. %s; got %s", example, describe(n))
		return
	}
	for i, v := range n.Content {
		f := fmt.Sprintf("%s[%d]", field, i)
		v = deref(v)
		p.cfg.pos[f] = at(v)
		fn(i, f, v)
	}
}

func join(field, key string) string {
	if field == "" {
		return key
	}
	return field + "." + key
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

// scalar checks that n is a non-empty scalar and returns its text.
func (p *parser) scalar(n *yaml.Node, field, example string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.add(at(n), field, "want a value, e.g. %s; got %s", example, describe(n))
		return "", false
	}
	return n.Value, true
}

func (p *parser) str(n *yaml.Node, field, example string) string {
	s, _ := p.scalar(n, field, example)
	return s
}

func (p *parser) integer(n *yaml.Node, field, example string, lo, hi int64) int64 {
	s, ok := p.scalar(n, field, example)
	if !ok {
		return 0
	}
	v, err := strconv.ParseInt(s, 0, 64)
	if n.Tag != "!!int" || err != nil {
		p.add(at(n), field, "%q is not a whole number (write e.g. %s)", s, example)
		return 0
	}
	if v < lo || v > hi {
		p.add(at(n), field, "%d is out of range: use %d..%d", v, lo, hi)
		return 0
	}
	return v
}

func (p *parser) boolean(n *yaml.Node, field string) bool {
	s, ok := p.scalar(n, field, "true")
	if !ok {
		return false
	}
	if n.Tag != "!!bool" {
		p.add(at(n), field, "%q is not a boolean: write true or false", s)
		return false
	}
	return s == "true" || s == "True" || s == "TRUE"
}

func (p *parser) number(n *yaml.Node, field, example string) float64 {
	s, ok := p.scalar(n, field, example)
	if !ok {
		return 0
	}
	v, err := strconv.ParseFloat(s, 64)
	if (n.Tag != "!!int" && n.Tag != "!!float") || err != nil || v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		p.add(at(n), field, "%q is not a number >= 0 (write e.g. %s)", s, example)
		return 0
	}
	return v
}

func (p *parser) addr(n *yaml.Node, field string) netip.Addr {
	s, ok := p.scalar(n, field, "192.0.2.2")
	if !ok {
		return netip.Addr{}
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		p.add(at(n), field, "%q is not an IPv4 address (write it as A.B.C.D)", s)
		return netip.Addr{}
	}
	return a
}

// ifaceAddr reads an interface address and neighborAddr a neighbour's:
// IPv4, or IPv6 where rules.Family takes it (not IPv4-mapped, no zone).
// Anything else reads as prefix and addr say, with their messages.
func (p *parser) ifaceAddr(n *yaml.Node, field string) netip.Prefix {
	if q, err := netip.ParsePrefix(n.Value); n.Kind == yaml.ScalarNode && err == nil && q.Addr().Is6() && rules.Family(q.Addr()) == nil {
		return q
	}
	return p.prefix(n, field, false)
}

func (p *parser) neighborAddr(n *yaml.Node, field string) netip.Addr {
	if a, err := netip.ParseAddr(n.Value); n.Kind == yaml.ScalarNode && err == nil && a.Is6() && rules.Family(a) == nil {
		return a
	}
	return p.addr(n, field)
}

func (p *parser) prefix(n *yaml.Node, field string, canonical bool) netip.Prefix {
	s, ok := p.scalar(n, field, "192.0.2.0/24")
	if !ok {
		return netip.Prefix{}
	}
	q, err := netip.ParsePrefix(s)
	if err == nil && canonical { // a route's (an address keeps its host bits: see ifaceAddr)
		if err := rules.Mapped(s, q); err != nil {
			p.add(at(n), field, "%v", err)
			return netip.Prefix{}
		}
	}
	if err != nil || !q.Addr().Is4() {
		if a, err := netip.ParseAddr(s); err == nil && a.Is4() {
			p.add(at(n), field, "%q has no prefix length (%s)", s, prefixHelp)
		} else {
			p.add(at(n), field, "%q is not an IPv4 prefix (%s)", s, prefixHelp)
		}
		return netip.Prefix{}
	}
	if canonical {
		if err := rules.Canonical(s, q); err != nil {
			p.add(at(n), field, "%v", err)
			return netip.Prefix{}
		}
	}
	return q
}

func (p *parser) mac(n *yaml.Node, field string) [6]byte {
	var out [6]byte
	s, ok := p.scalar(n, field, "02:00:00:00:00:01")
	if !ok {
		return out
	}
	hw, err := net.ParseMAC(s)
	if err != nil || len(hw) != 6 {
		p.add(at(n), field, "%q is not a MAC address (write six hex bytes, e.g. 02:00:00:00:00:01)", s)
		return out
	}
	copy(out[:], hw)
	if err := rules.MAC(out); err != nil {
		p.add(at(n), field, "%v", err)
		return [6]byte{}
	}
	return out
}

var topFields = []string{"workers", "poll_mode", "poll_window", "interfaces", "routes", "route_files", "neighbors", "bridges", "blocklists", "icmp", "api", "linux_cp", "filter", "captures"}

func (p *parser) top(n *yaml.Node) {
	c := p.cfg
	c.Workers = 1
	c.PollMode = DefaultPollMode
	c.ICMP = ICMP{Rate: 1000, Burst: 100}
	has := false
	var window *yaml.Node
	p.fields(n, "", "interfaces: [...]", topFields, func(key string, v *yaml.Node) {
		switch key {
		case "workers":
			c.Workers = int(p.integer(v, key, "1", 1, MaxWorkers))
		case "poll_mode":
			if m, ok := p.scalar(v, key, PollInterrupt); ok {
				if !slices.Contains(PollModes, m) {
					p.add(at(v), key, "%q is not a poll mode: choose %s", m, strings.Join(PollModes, ", "))
				} else {
					c.PollMode = m
				}
			}
		case "poll_window":
			window = v
			if s, ok := p.scalar(v, key, "500us"); ok {
				d, err := time.ParseDuration(s)
				switch {
				case err != nil:
					p.add(at(v), key, "%q is not a duration: write e.g. 500us or 2ms", s)
				case d < MinPollWindow || d > MaxPollWindow:
					p.add(at(v), key, "%v is out of range: use %v..%v", d, MinPollWindow, MaxPollWindow)
				default:
					c.PollWindow = d
				}
			}
		case "interfaces":
			has = true
			p.list(v, key, "- {name: lan0, backend: afpacket, device: eth0}", func(_ int, f string, v *yaml.Node) {
				c.Interfaces = append(c.Interfaces, p.iface(v, f))
			})
		case "routes":
			p.list(v, key, "- {prefix: 198.18.0.0/15, via: 192.0.2.2}", func(_ int, f string, v *yaml.Node) {
				c.Routes = append(c.Routes, p.route(v, f))
			})
		case "route_files":
			p.list(v, key, "- {path: embedded:full-table, via: 192.0.2.2}", func(_ int, f string, v *yaml.Node) {
				c.RouteFiles = append(c.RouteFiles, p.routeFile(v, f))
			})
		case "neighbors":
			p.list(v, key, "- {interface: lan0, address: 10.0.2.2, mac: 02:bb:00:00:00:02}", func(_ int, f string, v *yaml.Node) {
				c.Neighbors = append(c.Neighbors, p.neighbor(v, f))
			})
		case "bridges":
			p.list(v, key, "- {name: br0, members: [lan0, lan1]}", func(_ int, f string, v *yaml.Node) {
				c.Bridges = append(c.Bridges, p.bridge(v, f))
			})
		case "filter":
			c.Filter = p.filter(v, key)
		case "blocklists":
			p.list(v, key, "- {name: flood, file: flood.txt.gz, match: src}", func(_ int, f string, v *yaml.Node) {
				c.Blocklists = append(c.Blocklists, p.blocklist(v, f))
			})
		case "captures":
			p.list(v, key, "- {name: wan, interface: wan0, path: wan.pcapng}", func(_ int, f string, v *yaml.Node) {
				c.Captures = append(c.Captures, p.capture(v, f))
			})
		case "icmp":
			p.fields(v, key, "{rate: 1000, burst: 100}", []string{"rate", "burst"}, func(k string, v *yaml.Node) {
				switch k {
				case "rate":
					c.ICMP.Rate = int(p.integer(v, join(key, k), "1000", 1, 1e9))
				case "burst":
					c.ICMP.Burst = int(p.integer(v, join(key, k), "100", 1, 1e9))
				}
			})
		case "linux_cp":
			c.LinuxCP = p.linuxCP(v, key)
		case "api":
			p.fields(v, key, "{socket: /run/softnet/softnet.sock, metrics: 127.0.0.1:9977}", []string{"socket", "group", "metrics"}, func(k string, v *yaml.Node) {
				f := join(key, k)
				switch k {
				case "socket":
					c.API.Socket = p.str(v, f, "/run/softnet/softnet.sock")
					if len(c.API.Socket) > 107 { // sun_path less its NUL (api.MaxSocketPath)
						p.add(at(v), f, "%q is %d bytes long: a Unix socket path holds at most 107: choose a shorter one", c.API.Socket, len(c.API.Socket))
					}
				case "group":
					c.API.Group = p.str(v, f, "softnet")
				case "metrics":
					c.API.Metrics = p.str(v, f, "127.0.0.1:9977")
					if c.API.Metrics != "" {
						if _, port, err := net.SplitHostPort(c.API.Metrics); err != nil || port == "" {
							p.add(at(v), f, "%q is not a TCP listen address: write host:port, e.g. 127.0.0.1:9977", c.API.Metrics)
							c.API.Metrics = ""
						}
					}
				}
			})
		}
	})
	if window != nil && c.PollMode != PollAdaptive {
		p.add(at(window), "poll_window", "applies to poll_mode adaptive, and poll_mode is %s: drop poll_window, or set poll_mode: adaptive", c.PollMode)
	}
	if !has && n.Kind == yaml.MappingNode {
		p.add(at(n), "interfaces", "missing: a router needs at least one interface (see examples/two-port-mem.yaml)")
	}
}

var ifaceFields = []string{"name", "backend", "device", "rx", "tx", "loop", "rate", "limit", "mac", "mtu", "addresses", "down", "stack_drop", "router_advertisements", "parent", "vlan", "outer_vlan", "tpid", "bridge"}

func (p *parser) iface(n *yaml.Node, field string) Interface {
	ic := Interface{Field: field}
	p.fields(n, field, "{name: lan0, backend: afpacket, device: eth0}", ifaceFields, func(key string, v *yaml.Node) {
		f := join(field, key)
		switch key {
		case "name":
			ic.Name = p.str(v, f, "lan0")
		case "backend":
			ic.Backend = Backend(p.str(v, f, "afpacket"))
		case "device":
			ic.Device = p.str(v, f, "eth0")
		case "rx":
			ic.RX = p.str(v, f, "in.pcap")
		case "tx":
			ic.TX = p.str(v, f, "out.pcap")
		case "loop":
			ic.Loop = p.boolean(v, f)
		case "rate":
			ic.Rate = p.number(v, f, "1000")
		case "limit":
			ic.Limit = uint64(p.integer(v, f, "1000", 0, 1<<62))
		case "mac":
			ic.MAC = p.mac(v, f)
		case "mtu":
			ic.MTU = int(p.integer(v, f, "1500", MinMTU, MaxMTU))
		case "addresses":
			p.list(v, f, "[192.0.2.1/24]", func(_ int, f string, v *yaml.Node) {
				ic.Addresses = append(ic.Addresses, p.ifaceAddr(v, f))
			})
		case "down":
			ic.Down = p.boolean(v, f)
		case "stack_drop":
			ic.StackDrop = p.boolean(v, f)
		case "router_advertisements":
			ic.RouterAdvertisements = p.boolean(v, f)
		case "parent":
			ic.Parent = p.str(v, f, "eth0")
		case "bridge":
			ic.Bridge = p.str(v, f, "br0")
		case "vlan":
			ic.VLAN = p.vid(v, f)
		case "outer_vlan":
			ic.OuterVLAN = p.vid(v, f)
		case "tpid":
			ic.TPID = uint16(p.integer(v, f, "0x88a8", 0, 0xffff))
			if _, ok := tpids[ic.TPID]; !ok && ic.TPID != 0 {
				p.add(at(v), f, "%#04x is not a QinQ outer TPID: use 0x88a8 (802.1ad, the default), 0x8100 or 0x9100", ic.TPID)
				ic.TPID = 0
			}
		}
	})
	return ic
}

func (p *parser) bridge(n *yaml.Node, field string) Bridge {
	b := Bridge{Field: field}
	p.fields(n, field, "{name: br0, members: [lan0, lan1]}", []string{"name", "members", "max_macs", "ageing", "flood_rate", "flood_burst"}, func(key string, v *yaml.Node) {
		f := join(field, key)
		switch key {
		case "name":
			b.Name = p.str(v, f, "br0")
		case "members":
			p.list(v, f, "[lan0, lan1]", func(_ int, f string, v *yaml.Node) {
				b.Members = append(b.Members, p.str(v, f, "lan0"))
			})
		case "max_macs":
			b.MaxMACs = int(p.integer(v, f, "4096", 1, 1<<20))
		case "ageing":
			b.Ageing = int(p.integer(v, f, "300", 1, 1e6))
		case "flood_rate":
			b.FloodRate = int(p.integer(v, f, "10000", 1, 1e9))
		case "flood_burst":
			b.FloodBurst = int(p.integer(v, f, "1000", 1, 1e9))
		}
	})
	return b
}

func (p *parser) blocklist(n *yaml.Node, field string) Blocklist {
	b := Blocklist{Field: field}
	p.fields(n, field, "{name: flood, file: flood.txt.gz, match: src}", []string{"name", "file", "match", "interfaces"}, func(key string, v *yaml.Node) {
		f := join(field, key)
		switch key {
		case "name":
			b.Name = p.str(v, f, "flood")
		case "file":
			b.File = p.str(v, f, "flood.txt.gz")
		case "match":
			b.Match = p.str(v, f, "src")
			if b.Match != "" && b.Match != "src" && b.Match != "dst" {
				p.add(at(v), f, "%q: write src (drop frames from the list's addresses, the default) or dst (frames to them)", b.Match)
				b.Match = ""
			}
		case "interfaces":
			p.list(v, f, "[wan0]", func(_ int, f string, v *yaml.Node) {
				b.Interfaces = append(b.Interfaces, p.str(v, f, "wan0"))
			})
		}
	})
	if b.Match == "" {
		b.Match = "src"
	}
	return b
}

// tpids are the outer TPIDs a QinQ sub-interface may use.
var tpids = map[uint16]bool{0x88a8: true, 0x8100: true, 0x9100: true}

// vid parses a VLAN ID: 1..4094 (IEEE 802.1Q: 0 is a priority tag, 4095
// reserved).
func (p *parser) vid(n *yaml.Node, field string) int {
	s, ok := p.scalar(n, field, "100")
	if !ok {
		return 0
	}
	v, err := strconv.ParseInt(s, 0, 64)
	if n.Tag != "!!int" || err != nil {
		p.add(at(n), field, "%q is not a VLAN ID: write a whole number 1..4094, e.g. 100", s)
		return 0
	}
	if v < 1 || v > 4094 {
		p.add(at(n), field, "%d is not a VLAN ID: use 1..4094 (0 means a priority tag and 4095 is reserved)", v)
		return 0
	}
	return int(v)
}

func (p *parser) route(n *yaml.Node, field string) Route {
	r := Route{Field: field}
	p.fields(n, field, "{prefix: 198.18.0.0/15, via: 192.0.2.2}", []string{"prefix", "via", "blackhole"}, func(key string, v *yaml.Node) {
		f := join(field, key)
		switch key {
		case "prefix":
			r.Prefix = p.routePrefix(v, f)
		case "via":
			r.Via = p.neighborAddr(v, f)
		case "blackhole":
			r.Blackhole = p.boolean(v, f)
		}
	})
	return r
}

// routePrefix reads a route's prefix: IPv4, or IPv6 where rules.Family
// takes it; no host bits either way.
func (p *parser) routePrefix(n *yaml.Node, field string) netip.Prefix {
	if q, err := netip.ParsePrefix(n.Value); n.Kind == yaml.ScalarNode && err == nil && q.Addr().Is6() && rules.Family(q.Addr()) == nil {
		if err := rules.Canonical(n.Value, q); err != nil {
			p.add(at(n), field, "%v", err)
			return netip.Prefix{}
		}
		return q
	}
	return p.prefix(n, field, true)
}

func (p *parser) routeFile(n *yaml.Node, field string) RouteFile {
	r := RouteFile{Field: field}
	p.fields(n, field, "{path: embedded:full-table, via: 192.0.2.2, via6: 2001:db8::2}", []string{"path", "via", "via6", "blackhole"}, func(key string, v *yaml.Node) {
		f := join(field, key)
		switch key {
		case "path":
			r.Path = p.str(v, f, "routes.txt.gz")
		case "via":
			if a, err := netip.ParseAddr(v.Value); v.Kind == yaml.ScalarNode && err == nil && a.Is6() {
				p.add(at(v), f, "%v is an IPv6 address: via is the next hop of the file's IPv4 prefixes; give the IPv6 prefixes' next hop as via6", a)
				return
			}
			r.Via = p.addr(v, f)
		case "via6":
			r.Via6 = p.neighborAddr(v, f)
		case "blackhole":
			r.Blackhole = p.boolean(v, f)
		}
	})
	return r
}

func (p *parser) neighbor(n *yaml.Node, field string) Neighbor {
	nb := Neighbor{Field: field}
	p.fields(n, field, "{interface: lan0, address: 10.0.2.2, mac: 02:bb:00:00:00:02}", []string{"interface", "address", "mac"}, func(key string, v *yaml.Node) {
		f := join(field, key)
		switch key {
		case "interface":
			nb.Interface = p.str(v, f, "lan0")
		case "address":
			nb.Address = p.neighborAddr(v, f)
		case "mac":
			nb.MAC = p.mac(v, f)
		}
	})
	return nb
}

// closest returns the known word within edit distance 2 of s, if any.
func closest(s string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := distance(s, k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
