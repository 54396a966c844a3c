package pf

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestParseRules(t *testing.T) {
	r, err := Parse("pass in on lan0 inet proto tcp from 10.0.0.0/8 to any port {22, 80, 8000:8080}")
	if err != nil {
		t.Fatal(err)
	}
	if r.Action != Pass || r.Dir != In || r.Iface != "lan0" || r.Family != 4 || len(r.Protos) != 1 || r.Protos[0] != ProtoTCP {
		t.Fatalf("head: %+v", r)
	}
	if len(r.Src.Prefixes) != 1 || r.Src.Prefixes[0] != netip.MustParsePrefix("10.0.0.0/8") || !r.Dst.Any {
		t.Fatalf("hosts: %+v %+v", r.Src, r.Dst)
	}
	if want := []PortRange{{22, 22}, {80, 80}, {8000, 8080}}; len(r.Dst.Ports) != 3 || r.Dst.Ports[2] != want[2] || r.Dst.Ports[0] != want[0] {
		t.Fatalf("ports %v", r.Dst.Ports)
	}
	if !r.KeepState || r.Flags != SYN || r.FlagsMask != SYN|ACK {
		t.Fatalf("a TCP pass rule keeps state with flags S/SA by default: %+v", r)
	}
	r, err = Parse("block in quick on ! wan0.100 from ! <bogons> to any")
	if err != nil {
		t.Fatal(err)
	}
	if r.Action != Block || !r.Quick || !r.IfaceNot || r.Iface != "wan0.100" || !r.Src.Not || r.Src.Table != "bogons" || r.KeepState {
		t.Fatalf("%+v", r)
	}
	r, err = Parse("pass proto udp to 2001:db8::1 port 53 no state")
	if err != nil || r.KeepState || r.Dst.Prefixes[0] != netip.MustParsePrefix("2001:db8::1/128") {
		t.Fatalf("%+v %v", r, err)
	}
	r, err = Parse("pass proto icmp icmp-type echoreq code 0")
	if err != nil || r.ICMPType != 8 || r.ICMPCode != 0 || r.Family != 4 {
		t.Fatalf("%+v %v", r, err)
	}
	r, err = Parse("pass proto tcp all flags any")
	if err != nil || r.FlagsMask != 0 {
		t.Fatalf("%+v %v", r, err)
	}
	r, err = Parse("block out proto tcp flags S/SAFR # comment")
	if err != nil || r.Dir != Out || r.Flags != SYN || r.FlagsMask != SYN|ACK|FIN|RST {
		t.Fatalf("%+v %v", r, err)
	}
}

// TestPortOps: pf's port comparisons are the inclusive ranges they mean;
// a table after ! or < is still a table, its name starting with a digit
// too.
func TestPortOps(t *testing.T) {
	for _, rule := range []string{"block in from <6to4> to any", "block in from ! <10nets> to any", "block in proto tcp from !<10nets> to any port <1024"} {
		r, err := Parse(rule)
		if err != nil || r.Src.Table == "" || !strings.HasPrefix(r.Src.Table, "6") && !strings.HasPrefix(r.Src.Table, "10") {
			t.Errorf("%q: %+v %v, want the table", rule, r.Src, err)
		}
	}
	for _, c := range []struct {
		ports string
		want  []PortRange
	}{
		{"< 1024", []PortRange{{0, 1023}}},
		{"<1024", []PortRange{{0, 1023}}},
		{"<= 1024", []PortRange{{0, 1024}}},
		{"> 1023", []PortRange{{1024, 65535}}},
		{">= 1024", []PortRange{{1024, 65535}}},
		{"!= 80", []PortRange{{0, 79}, {81, 65535}}},
		{"!= 0", []PortRange{{1, 65535}}},
		{"!= 65535", []PortRange{{0, 65534}}},
		{"< https", []PortRange{{0, 442}}},
		{"1000 >< 2000", []PortRange{{1001, 1999}}},
		{"1000><1002", []PortRange{{1001, 1001}}},
		{"1000 <> 2000", []PortRange{{0, 999}, {2001, 65535}}},
		{"0 <> 10", []PortRange{{11, 65535}}},
		{"1000:2000", []PortRange{{1000, 2000}}},
		{"{22, 8000:8080}", []PortRange{{22, 22}, {8000, 8080}}},
	} {
		r, err := Parse("pass in proto tcp from any port " + c.ports + " to ! <lan> port > 1023")
		if err != nil {
			t.Errorf("port %s: %v", c.ports, err)
			continue
		}
		if !slices.Equal(r.Src.Ports, c.want) || !slices.Equal(r.Dst.Ports, []PortRange{{1024, 65535}}) || r.Dst.Table != "lan" || !r.Dst.Not {
			t.Errorf("port %s: src ports %v, dst %+v; want %v and not <lan> port 1024:65535", c.ports, r.Src.Ports, r.Dst, c.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct{ rule, col, msg string }{
		{"allow in", "^", "starts with pass or block"},
		{"pass in on", "          ^", "interface name"},
		{"pass proto xyz", "           ^", "not a protocol"},
		{"pass from 10.0.0.1/8", "          ^", "host bits set"},
		{"pass inet from 2001:db8::1", "               ^", "not of the rule's family"},
		{"pass proto tcp to any port 99999", "                           ^", "not a port"},
		{"pass to any port 22", "^", "ports only apply to TCP and UDP"},
		{"pass proto tcp flags X/SA", "                     ^", "flags wants"},
		{"block proto tcp keep state", "                ^", "keep state on a block rule"},
		{"pass from {10.0.0.1, 10.0.0.2", "          ^", "no closing }"},
		{"pass to any from any", "            ^", "out of order"},
		{"pass icmp-type 8", "     ^", "needs proto icmp"},
		{"pass from <bad", "          ^", "no closing >"},
		{"pass proto tcp to any port < 0", "                           ^", "port < 0 matches no port"},
		{"pass proto tcp to any port > 65535", "                           ^", "port > 65535 matches no port"},
		{"pass proto tcp to any port 5 >< 6", "                             ^", "port 5 >< 6 matches no port"},
		{"pass proto tcp to any port 0 <> 65535", "                             ^", "port 0 <> 65535 matches no port"},
		{"pass proto tcp to any port 9 >< 2", "                             ^", "the second port is below the first"},
		{"pass proto tcp to any port >< 2", "                           ^", ">< goes between two ports"},
		{"pass proto tcp to any port {< 1024, 80}", "                            ^", "< inside a list"},
		{"pass proto tcp to any port 80 > 90", "                              ^", "> after a port"},
		{"pass proto tcp to any port {1, 2} >< 9", "                                  ^", ">< after a port"},
		{"pass proto tcp to any port < x", "                             ^", `"x" is not a port`},
		{"pass from < to any", "          ^", `"<" is not an address`},
	} {
		_, err := Parse(c.rule)
		var pe *Error
		if !errors.As(err, &pe) {
			t.Errorf("%q: want an *Error, got %v", c.rule, err)
			continue
		}
		if !strings.Contains(pe.Msg, c.msg) || pe.Col != len(c.col)-1 {
			t.Errorf("%q: got column %d %q, want column %d and %q", c.rule, pe.Col, pe.Msg, len(c.col)-1, c.msg)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"pass in on lan0 inet proto tcp from 10.0.0.0/8 to any port {22, 80, 8000:8080}",
		"block in quick on ! wan0 from ! <bogons> to any",
		"pass proto icmp icmp-type echoreq code 0",
		"pass inet6 proto ipv6-icmp icmp6-type 128",
		"block out proto tcp flags S/SAFR no state",
		"pass from {1.2.3.4, 2001:db8::/32} to !10.0.0.0/8",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || pe.Col < 0 || pe.Col > len(s) {
				t.Fatalf("%q: error %v has no column within the rule", s, err)
			}
			return
		}
		if r.Flags&^r.FlagsMask != 0 {
			t.Fatalf("%q: flags %x outside mask %x", s, r.Flags, r.FlagsMask)
		}
		for _, h := range []Host{r.Src, r.Dst} {
			for _, p := range h.Ports {
				if p.Lo > p.Hi {
					t.Fatalf("%q: range %v", s, p)
				}
			}
			for _, p := range h.Prefixes {
				if !p.IsValid() || p.Masked() != p {
					t.Fatalf("%q: prefix %v", s, p)
				}
			}
		}
		if r.Action == Block && r.KeepState {
			t.Fatalf("%q: block with keep state", s)
		}
		// A parsed rule parses again the same from its text.
		r2, err := Parse(r.Text)
		if err != nil || r2.Action != r.Action || r2.Iface != r.Iface || len(r2.Protos) != len(r.Protos) {
			t.Fatalf("%q: reparse %+v %v", s, r2, err)
		}
	})
}
