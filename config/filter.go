package config

import (
	"errors"
	"net/netip"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/softnet/softnet/dp/edrop/blocklist"
	"github.com/softnet/softnet/dp/filter/pf"
)

// Filter is the filter section: the stateful packet filter (dp/filter).
// Rules are pf.Rules, one a line of the rules list, checked where they
// are written (FILE:LINE:COL of the word at fault).
type Filter struct {
	Default pf.Action // pass (default) or block
	Limit   int       // states per worker; 0: the default (65536)
	// Timeouts of the state classes in seconds; 0: pf's default.
	Timeouts FilterTimeouts
	Tables   []FilterTable
	Rules    []pf.Rule
	// RuleFields are the rules' fields ("filter.rules[i]"), for errors.
	RuleFields []string
	Field      string
}

// FilterTimeouts are the state classes' timeouts, in seconds.
type FilterTimeouts struct {
	TCPOpening, TCPEstablished, TCPClosing, TCPClosed, UDP, ICMP, Other int
}

// FilterTable is a named table of filter.tables: addresses and prefixes
// from File (plain or gzip, one a line, '#' comments; relative to the
// config's directory) and Addresses.
type FilterTable struct {
	Name      string
	File      string
	Addresses []netip.Prefix
	Field     string
	// badAddresses: some of its addresses were refused (reported), so an
	// empty Addresses is no second mistake.
	badAddresses bool
}

var filterFields = []string{"default", "limit", "timeouts", "tables", "rules"}
var timeoutFields = []string{"tcp_opening", "tcp_established", "tcp_closing", "tcp_closed", "udp", "icmp", "other"}

func (p *parser) filter(n *yaml.Node, field string) *Filter {
	f := &Filter{Field: field}
	p.fields(n, field, "{default: block, rules: [pass out]}", filterFields, func(key string, v *yaml.Node) {
		sub := join(field, key)
		switch key {
		case "default":
			switch s := p.str(v, sub, "block"); s {
			case "pass":
				f.Default = pf.Pass
			case "block":
				f.Default = pf.Block
			case "":
			default:
				p.add(at(v), sub, "%q: the default policy is pass or block", s)
			}
		case "limit":
			f.Limit = int(p.integer(v, sub, "65536", 1, 1<<24))
		case "timeouts":
			p.fields(v, sub, "{tcp_established: 86400, udp: 60}", timeoutFields, func(k string, v *yaml.Node) {
				s := int(p.integer(v, join(sub, k), "60", 1, 7*86400))
				t := &f.Timeouts
				*map[string]*int{"tcp_opening": &t.TCPOpening, "tcp_established": &t.TCPEstablished, "tcp_closing": &t.TCPClosing,
					"tcp_closed": &t.TCPClosed, "udp": &t.UDP, "icmp": &t.ICMP, "other": &t.Other}[k] = s
			})
		case "tables":
			p.list(v, sub, "- {name: bogons, file: bogons.txt}", func(_ int, tf string, v *yaml.Node) {
				t := FilterTable{Field: tf}
				p.fields(v, tf, "{name: bogons, file: bogons.txt}", []string{"name", "file", "addresses"}, func(k string, v *yaml.Node) {
					kf := join(tf, k)
					switch k {
					case "name":
						t.Name = p.str(v, kf, "bogons")
					case "file":
						t.File = p.str(v, kf, "bogons.txt")
					case "addresses":
						p.list(v, kf, "[10.0.0.0/8, 2001:db8::/32]", func(_ int, af string, v *yaml.Node) {
							s, ok := p.scalar(v, af, "10.0.0.0/8")
							if !ok {
								t.badAddresses = true
								return
							}
							e, err := blocklist.CheckEntry(s) // typed by hand: no host bits
							if err != nil {
								p.add(at(v), af, "%v", err)
								t.badAddresses = true
								return
							}
							t.Addresses = append(t.Addresses, e)
						})
					}
				})
				if t.Name == "" {
					p.add(at(v), tf+".name", "missing: a table needs a name (rules use it as <name>)")
				}
				f.Tables = append(f.Tables, t)
			})
		case "rules":
			p.list(v, sub, "- pass in on lan0 proto tcp to any port 22", func(_ int, rf string, v *yaml.Node) {
				s, ok := p.scalar(v, rf, "pass in on lan0 proto tcp to any port 22")
				if !ok {
					return
				}
				r, err := pf.Parse(s)
				if err != nil {
					var pe *pf.Error
					pos := at(v)
					msg := err.Error()
					if errors.As(err, &pe) {
						msg = pe.Msg
						if v.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
							pos.Col++
						}
						if !strings.Contains(s, "\n") {
							pos.Col += pe.Col
						}
					}
					p.add(pos, rf, "%s", msg)
					return
				}
				f.Rules = append(f.Rules, r)
				f.RuleFields = append(f.RuleFields, rf)
			})
		}
	})
	return f
}

// validateFilter checks what a rule names: interfaces and tables.
func (p *parser) validateFilter() {
	c := p.cfg
	f := c.Filter
	if f == nil {
		return
	}
	tables := map[string]bool{}
	for _, t := range f.Tables {
		if t.Name == "" {
			continue
		}
		if tables[t.Name] {
			p.add(c.pos[t.Field+".name"], t.Field+".name", "table %q defined twice: keep one", t.Name)
		}
		tables[t.Name] = true
		if t.File == "" && len(t.Addresses) == 0 && !t.badAddresses { // else its addresses' errors say it
			p.add(c.pos[t.Field], t.Field, "table %q has neither file nor addresses: give one", t.Name)
		}
	}
	for i, r := range f.Rules {
		rf := f.RuleFields[i]
		pos := c.pos[rf]
		if r.Iface != "" && c.Interface(r.Iface) < 0 {
			p.add(pos, rf, "on %s: no interface %q in this config (interfaces, VLAN sub-interfaces and bridge interfaces by name)", r.Iface, r.Iface)
		}
		for _, h := range []pf.Host{r.Src, r.Dst} {
			if h.Table != "" && !tables[h.Table] {
				p.add(pos, rf, "<%s>: no such table: define it under filter.tables", h.Table)
			}
		}
	}
}

// checkFilterTables reads the tables' files (CheckSystem).
func (c *Config) checkFilterTables(e *errs) {
	if c.Filter == nil {
		return
	}
	for _, t := range c.Filter.Tables {
		if t.File == "" {
			continue
		}
		l, err := blocklist.Load(c.Path(t.File))
		if err != nil {
			e.add(c.pos[t.Field+".file"], t.Field+".file", "%v (one address or prefix a line, plain or gzip; paths are relative to the config file's directory)", err)
			continue
		}
		c.setMasked(t.Field, l.MaskedNote())
	}
}
