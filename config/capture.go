package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/softnet/softnet/internal/pcapfilter"
)

// Capture is one entry of captures: an always-on capture that softnet
// run writes to rotating files, like a flight recorder.
type Capture struct {
	Name      string
	Interface string // "": every interface
	// Point is rx, tx or drop; "": rx and tx.
	Point   string
	Reason  string // drop only: one reason (node/reason or reason); "": all
	Filter  string // tcpdump's language; "": every packet
	Snaplen int    // bytes kept of each packet; 0: whole packets
	// Path is the file as written; resolve it with Config.Path. Without
	// MaxSize the capture writes Path itself; with it, Path.0, Path.1,
	// ... and keeps the newest MaxFiles.
	Path     string
	MaxSize  int64  // bytes a file may reach before the next one; 0: no rotation
	MaxFiles int    // files kept with MaxSize (default DefaultMaxFiles)
	Format   string // pcapng (default) or pcap
	Field    string
}

// Capture points and formats a capture may name.
var (
	CapturePoints  = []string{"rx", "tx", "drop"}
	CaptureFormats = []string{"pcapng", "pcap"}
)

// Bounds of a capture's rotation.
const (
	MinCaptureSize  = 4 << 10
	MaxCaptureFiles = 10000
	DefaultMaxFiles = 5
)

var captureFields = []string{"name", "interface", "point", "reason", "filter", "snaplen", "path", "max_size", "max_files", "format"}

func (p *parser) capture(n *yaml.Node, field string) Capture {
	c := Capture{Field: field, Format: "pcapng"}
	p.fields(n, field, "{name: wan, interface: wan0, filter: icmp, path: /var/log/softnet/wan.pcapng, max_size: 10MB, max_files: 5}", captureFields, func(key string, v *yaml.Node) {
		f := join(field, key)
		switch key {
		case "name":
			c.Name = p.str(v, f, "wan")
		case "interface":
			c.Interface = p.str(v, f, "wan0")
		case "point":
			if s, ok := p.scalar(v, f, "rx"); ok {
				if !contains(CapturePoints, s) {
					p.add(at(v), f, "%q is not a capture point: choose rx, tx or drop (leave it out for rx and tx)", s)
				} else {
					c.Point = s
				}
			}
		case "reason":
			c.Reason = p.str(v, f, "ip4-lookup/blackhole") // checked against the router (run, check)
		case "filter":
			if s, ok := p.scalar(v, f, "icmp"); ok {
				if _, err := pcapfilter.Compile(s); err != nil {
					pos := at(v)
					var se *pcapfilter.SyntaxError
					if errors.As(err, &se) && !strings.Contains(s, "\n") {
						// The column in the file: the value's, past a quote.
						pos.Col += se.Col - 1
						if v.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle) != 0 {
							pos.Col++
						}
					}
					p.add(pos, f, "%q: %v (write a tcpdump expression, see pcap-filter(7))", s, err)
				} else {
					c.Filter = s
				}
			}
		case "snaplen":
			c.Snaplen = int(p.integer(v, f, "128", 0, 65535))
		case "path":
			c.Path = p.str(v, f, "/var/log/softnet/wan.pcapng")
		case "max_size":
			if s, ok := p.scalar(v, f, "10MB"); ok {
				sz, err := ParseSize(s)
				switch {
				case err != nil:
					p.add(at(v), f, "%v", err)
				case sz < MinCaptureSize:
					p.add(at(v), f, "%s is too small: give at least %d bytes (4KiB), e.g. 10MB", s, MinCaptureSize)
				default:
					c.MaxSize = sz
				}
			}
		case "max_files":
			c.MaxFiles = int(p.integer(v, f, "5", 1, MaxCaptureFiles))
		case "format":
			if s, ok := p.scalar(v, f, "pcapng"); ok {
				if !contains(CaptureFormats, s) {
					p.add(at(v), f, "%q is not a capture file format: choose pcapng (the default) or pcap", s)
				} else {
					c.Format = s
				}
			}
		}
	})
	return c
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// ParseSize reads a size in bytes: a whole number, optionally followed by
// B, KB, MB, GB (powers of 1000) or KiB, MiB, GiB (powers of 1024); K, M
// and G are KiB, MiB and GiB.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	num, unit := t[:i], strings.TrimSpace(t[i:])
	mult := map[string]int64{"": 1, "B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9,
		"K": 1 << 10, "KIB": 1 << 10, "M": 1 << 20, "MIB": 1 << 20, "G": 1 << 30, "GIB": 1 << 30}[strings.ToUpper(unit)]
	n, err := strconv.ParseInt(num, 10, 64)
	if num == "" || err != nil || mult == 0 || n > (1<<50)/mult {
		return 0, fmt.Errorf("%q is not a size: write a whole number of bytes with an optional unit, e.g. 10MB, 512KiB or 1GB", s)
	}
	return n * mult, nil
}

// captures checks what needs the whole config: unique names and paths,
// known interfaces, and fields that go together.
func (p *parser) captures() {
	c := p.cfg
	names := map[string]string{}
	paths := map[string]string{}
	for i := range c.Captures {
		cp := &c.Captures[i]
		f := cp.Field
		if p.bad[f] {
			continue
		}
		switch {
		case cp.Name == "":
			if _, set := c.pos[f+".name"]; !set {
				p.add(c.pos[f], f+".name", "missing: every capture needs a name, e.g. name: wan")
			}
		case !validName(cp.Name):
			p.add(c.pos[f+".name"], f+".name", "%q is not a valid name: use 1..%d %s", cp.Name, maxName, nameChars)
		default:
			if first, dup := names[cp.Name]; dup {
				p.add(c.pos[f+".name"], f+".name", "%q is already the name of %s (line %d): names must be unique", cp.Name, first, c.pos[first+".name"].Line)
			} else {
				names[cp.Name] = f
			}
		}
		if _, set := c.pos[f+".path"]; !set {
			p.add(c.pos[f], f+".path", "missing: a capture needs a file to write, e.g. path: /var/log/softnet/%s.pcapng", orWord(cp.Name, "wan"))
		} else if cp.Path == "" {
			p.add(c.pos[f+".path"], f+".path", "empty: a capture needs a file to write, e.g. path: /var/log/softnet/%s.pcapng", orWord(cp.Name, "wan"))
		} else {
			abs := c.Path(cp.Path)
			if first, dup := paths[abs]; dup {
				p.add(c.pos[f+".path"], f+".path", "%q is already the file of %s (line %d): give each capture its own file", cp.Path, first, c.pos[first+".path"].Line)
			} else {
				paths[abs] = f
			}
		}
		if cp.Interface != "" && c.Interface(cp.Interface) < 0 {
			p.add(c.pos[f+".interface"], f+".interface", "no interface is named %q (interfaces: %s)", cp.Interface, c.nameList())
		}
		if _, set := c.pos[f+".reason"]; set && cp.Point != "drop" {
			p.add(c.pos[f+".reason"], f+".reason", "a drop reason needs point: drop: add it, or remove reason")
		} else if cp.Reason != "" && KnownReason != nil && !KnownReason(cp.Reason) {
			p.add(c.pos[f+".reason"], f+".reason", "no drop reason %q: give one that softnet show errors lists, as node/reason or reason (such as ip4-lookup/blackhole)", cp.Reason)
		}
		if _, set := c.pos[f+".max_files"]; set && cp.MaxSize == 0 {
			if _, sized := c.pos[f+".max_size"]; !sized {
				p.add(c.pos[f+".max_files"], f+".max_files", "rotation needs a size: add max_size (e.g. max_size: 10MB), or remove max_files")
			}
		}
		if cp.MaxSize > 0 && cp.MaxFiles == 0 {
			cp.MaxFiles = DefaultMaxFiles
		}
	}
}

// KnownReason says whether a drop reason names one of the router's
// (package control sets it: the reasons are those the data path's nodes
// registered); nil: reasons are not checked.
var KnownReason func(string) bool

func orWord(s, w string) string {
	if s == "" {
		return w
	}
	return s
}
