package filter

import (
	"testing"

	"github.com/softnet/softnet/dp/filter/pf"
)

// FuzzFlow: parse, the ICMP quote and the rules never panic on any
// bytes after the IP header check, and a parsed flow's key is the same
// from both directions.
func FuzzFlow(f *testing.F) {
	v4 := []byte{0x45, 0, 0, 40, 0, 0, 0, 0, 64, 6, 0, 0, 10, 0, 1, 2, 10, 0, 2, 2,
		0x9c, 0x40, 0, 80, 0, 0, 3, 0xe8, 0, 0, 0, 0, 0x60, 2, 0xff, 0xff, 0, 0, 0, 0, 3, 3, 7, 0}
	icmp := append([]byte{0x45, 0, 0, 56, 0, 0, 0, 0, 64, 1, 0, 0, 10, 0, 2, 2, 10, 0, 1, 2, 3, 3, 0, 0, 0, 0, 0, 0}, v4[:28]...)
	v6 := make([]byte, 48)
	v6[0], v6[6] = 0x60, 17
	f.Add(v4)
	f.Add(icmp)
	f.Add(v6)
	var rules []pf.Rule
	for _, s := range []string{"pass in proto tcp to any port 80", "block in quick from 10.0.0.0/8 to ! 10.0.2.0/24", "pass proto icmp icmp-type 3", "pass inet6 proto udp from any port 1:1000"} {
		r, err := pf.Parse(s)
		if err != nil {
			f.Fatal(err)
		}
		rules = append(rules, r)
	}
	rs, err := Compile(rules, pf.Block, Timeouts{}, func(string) (int, bool) { return 0, true }, nil, 1)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, ip []byte) {
		var fl, q Flow
		l4 := parse(ip, &fl)
		if fl.Short {
			return
		}
		if fl.ICMPErr {
			quoted(ip, l4, &q)
		}
		rs.eval(&fl, pf.In, 0)
		rs.eval(&fl, pf.Out, 1)
		g := fl
		g.Src, g.Dst, g.SPort, g.DPort = fl.Dst, fl.Src, fl.DPort, fl.SPort
		var a, b Key
		fl.key(&a)
		g.key(&b)
		if a != b {
			t.Fatalf("keys differ by direction: %v %v", a, b)
		}
		if fl.Proto == pf.ProtoTCP && !fl.Frag {
			s := &State{}
			tcpStart(s, 0, &fl.Seg)
			tcpTrack(s, 1, &fl.Seg)
			tcpTrack(s, 0, &fl.Seg)
		}
	})
}
