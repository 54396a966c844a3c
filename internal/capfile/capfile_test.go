package capfile

import (
	"bytes"
	"strings"
	"testing"
)

// TestPcapngRuleComment: a packet the stateful filter blocked carries,
// in its pcapng comment, the rule that blocked it after its drop reason
// (pflog's idea); other packets' comments name no rule; MaxRecord bounds
// what each write adds, a long rule text included.
func TestPcapngRuleComment(t *testing.T) {
	long := "rule 12 (block in quick on wan0 proto udp from <" + strings.Repeat("x", 300) + "> to any port 9999)"
	pkts := []Packet{
		{Time: 1, Interface: "lan0", Point: "drop", Reason: "ip4-filter/blocked", Rule: "rule 2 (block in proto udp to port 9999)", Len: 60, Data: make([]byte, 60)},
		{Time: 2, Interface: "wan0", Point: "drop", Reason: "ip4-filter/blocked", Rule: "default policy block", Worker: 1, Len: 60, Data: make([]byte, 60)},
		{Time: 3, Interface: "lan0", Point: "drop", Reason: "ip4-lookup/blackhole", Len: 60, Data: make([]byte, 60)},
		{Time: 4, Interface: "wan0", Point: "drop", Reason: "ip6-filter/blocked", Rule: long, Len: 1514, Data: make([]byte, 1514)},
	}
	var buf bytes.Buffer
	w, err := New("pcapng", &buf, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range pkts {
		before := buf.Len()
		if err := w.WritePacket(&pkts[i]); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if got, max := int64(buf.Len()-before), MaxRecord(&pkts[i]); got > max {
			t.Errorf("packet %d added %d bytes, MaxRecord says at most %d", i, got, max)
		}
	}
	out := buf.String()
	for _, want := range []string{
		"lan0 drop ip4-filter/blocked worker 0, rule 2 (block in proto udp to port 9999)",
		"wan0 drop ip4-filter/blocked worker 1, default policy block",
		"wan0 drop ip6-filter/blocked worker 0, " + long,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no packet comment %q in the pcapng", want)
		}
	}
	if i := strings.Index(out, "lan0 drop ip4-lookup/blackhole worker 0"); i < 0 || strings.HasPrefix(out[i+len("lan0 drop ip4-lookup/blackhole worker 0"):], ",") {
		t.Errorf("the blackhole drop's comment: want %q and no rule", "lan0 drop ip4-lookup/blackhole worker 0")
	}
}
