package pcapfilter

import (
	"bytes"
	"encoding/binary"
	"math/rand"
	"strings"
	"testing"

	"golang.org/x/net/bpf"
)

// classCorpus is the oracle's corpus and, for every tagged frame, the
// same frame with its outer TPID rewritten to each of 0x8100, 0x88a8
// and 0x9100 (the corpus has 0x8100 single tags and 0x88a8 outer tags).
func classCorpus() []frame {
	fs := corpus()
	n := len(fs)
	for _, fr := range fs[:n] {
		if len(fr.b) < 14 || tpidIndex(binary.BigEndian.Uint16(fr.b[12:])) < 0 {
			continue
		}
		for _, tp := range tpids {
			b := bytes.Clone(fr.b)
			binary.BigEndian.PutUint16(b[12:], tp)
			fs = append(fs, frame{fr.name + "-tpid", b, fr.truncated})
		}
	}
	return fs
}

// mutate randomizes every bit of f that class c does not fix (see
// classFacts) and, one time in four, cuts it: a frame Classify must
// still put in class c, else ok is false.
func mutate(rng *rand.Rand, f []byte, c uint8) (m []byte, ok bool) {
	ff := classFacts(int(c))
	m = bytes.Clone(f)
	for i := range m {
		unknown := uint8(0xff)
		if i < maxFact {
			unknown = ff.m[i]
		}
		m[i] = m[i]&^unknown | uint8(rng.Intn(256))&unknown
	}
	if rng.Intn(4) == 0 && len(m) > 0 {
		m = m[:rng.Intn(len(m))]
	}
	return m, Classify(m) == c
}

// TestNeverSound is the pre-classification's differential test: for
// each of the oracle's expressions (TestOracleTcpdump's, tcpdump not
// needed) and each corpus frame, and for mutants of the frame that keep
// its class (every byte its class does not fix randomized, some cut
// short), whenever Never says the program rejects the frame's class,
// Run rejects the frame, whatever its wire length. It also requires
// Never to say so for a good share of the rejected frames, and for
// "tcp port 22" on UDP (the taps scenario's filter and traffic).
func TestNeverSound(t *testing.T) {
	frames := classCorpus()
	exprs := oracleExprs()
	rng := rand.New(rand.NewSource(14))
	var rejected, skipped, checked int
	for _, expr := range exprs {
		raw, err := Compile(expr)
		if err != nil {
			continue
		}
		p, err := NewProgram(raw)
		if err != nil {
			t.Fatalf("%q: %v", expr, err)
		}
		for _, fr := range frames {
			c := Classify(fr.b)
			if int(c) >= NumClasses {
				t.Fatalf("Classify(%s) = %d, not below NumClasses %d", fr.name, c, NumClasses)
			}
			v := p.Run(fr.b, len(fr.b))
			if v == 0 {
				rejected++
			}
			if !p.Never(c) {
				continue
			}
			if v != 0 {
				t.Fatalf("%q on %s (% x): Never(class %d) but Run accepts\n%s", expr, fr.name, fr.b, c, dump(raw))
			}
			skipped++
			for range 2 {
				m, ok := mutate(rng, fr.b, c)
				if !ok {
					continue
				}
				checked++
				for _, wl := range []int{len(m), rng.Intn(2000)} {
					if p.Run(m, wl) != 0 {
						t.Fatalf("%q on a mutant of %s (% x, wire length %d): Never(class %d) but Run accepts\n%s", expr, fr.name, m, wl, c, dump(raw))
					}
				}
			}
		}
	}
	t.Logf("%d expressions, %d frames: %d rejections, %d of them known from the class alone; %d mutants checked", len(exprs), len(frames), rejected, skipped, checked)
	if skipped*2 < rejected {
		t.Errorf("Never knew %d of %d rejections, want at least half", skipped, rejected)
	}
	if checked < skipped {
		t.Errorf("only %d mutants kept their class, of %d tries", checked, 2*skipped)
	}

	// The taps scenario: UDP, untagged and behind one or two tags, and
	// the filter a VLAN sub-interface's capture compiles.
	for _, expr := range []string{"tcp port 22", "vlan and (tcp port 22)", "vlan and vlan and (tcp port 22)", "tcp", "icmp or arp"} {
		p := MustCompile(expr)
		n := 0
		for _, fr := range frames {
			name := strings.TrimSuffix(fr.name, "-tpid")
			if (name == "ipv4-udp" || name == "ipv6-udp") && p.Run(fr.b, len(fr.b)) == 0 {
				n++
				if !p.Never(Classify(fr.b)) {
					t.Errorf("%q on %s (% x): Run rejects, Never(%d) does not know", expr, fr.name, fr.b[:min(len(fr.b), 40)], Classify(fr.b))
				}
			}
		}
		if n == 0 {
			t.Errorf("%q: no UDP frame rejected", expr)
		}
	}
}

// TestClassify: frames of each layout, EtherType and protocol get the
// classes classFacts describes, and those facts hold of the frame.
func TestClassify(t *testing.T) {
	seen := map[uint8]bool{}
	for _, fr := range classCorpus() {
		c := Classify(fr.b)
		seen[c] = true
		ff := classFacts(int(c))
		for i := 0; i < maxFact; i++ {
			known := ^ff.m[i]
			if known == 0 {
				continue
			}
			if i >= len(fr.b) {
				t.Fatalf("%s (% x): class %d fixes byte %d beyond the frame", fr.name, fr.b, c, i)
			}
			if fr.b[i]&known != ff.v[i] {
				t.Fatalf("%s (% x): class %d says byte %d is %#x under mask %#x", fr.name, fr.b, c, i, ff.v[i], known)
			}
		}
	}
	if len(seen) < 60 {
		t.Errorf("the corpus falls in %d classes, want at least 60", len(seen))
	}
	if c := Classify(make([]byte, 13)); c != 0 {
		t.Errorf("a 13-byte frame: class %d, want 0", c)
	}
	if a := testing.AllocsPerRun(100, func() { Classify(frame14) }); a != 0 {
		t.Errorf("Classify allocates %v", a)
	}
}

var frame14 = make([]byte, 64)

// FuzzNever: random programs (as FuzzRun's) on random frames: when
// Never says the program rejects the frame's class, Run rejects it,
// with any wire length.
func FuzzNever(f *testing.F) {
	fs := classCorpus()
	for i, e := range append([]string{"tcp port 22", "vlan and (tcp port 22)", "udp[0:2] > tcp[2:2]", "ip[6:2] & 0x1fff = 0 and ip[9] = 17",
		"ip[ip[0] & 0xf] = 0 or len > 100", "ip6 proto 44", "vlan and vlan and icmp6", "arp or ip[9] - 17 = 0", "-ip[9] = 0xffffffef"}, atoms...) {
		raw, _ := Compile(e)
		var b []byte
		for _, r := range raw {
			b = binary.BigEndian.AppendUint16(b, r.Op)
			b = append(b, r.Jt, r.Jf)
			b = binary.BigEndian.AppendUint32(b, r.K)
		}
		f.Add(b, fs[(i*37)%len(fs)].b, uint16(i))
	}
	f.Fuzz(func(t *testing.T, prog, pkt []byte, wl uint16) {
		var raw []bpf.RawInstruction
		for len(prog) >= 8 && len(raw) < 256 {
			raw = append(raw, bpf.RawInstruction{Op: binary.BigEndian.Uint16(prog), Jt: prog[2], Jf: prog[3], K: binary.BigEndian.Uint32(prog[4:])})
			prog = prog[8:]
		}
		p, err := NewProgram(raw)
		if err != nil {
			return
		}
		if !p.Never(Classify(pkt)) {
			return
		}
		for _, w := range []int{len(pkt), int(wl)} {
			if v := p.Run(pkt, w); v != 0 {
				t.Fatalf("Never(class %d) but Run = %d on % x (wire length %d)\n%s", Classify(pkt), v, pkt, w, dump(raw))
			}
		}
	})
}

// TestIPv4Class: IPv4Class gives Classify's class for IPv4 frames,
// untagged and under one 0x8100 tag, of every protocol, first and
// later fragments.
func TestIPv4Class(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for _, tagged := range []bool{false, true} {
		for proto := range 256 {
			for _, later := range []bool{false, true} {
				f := make([]byte, 64)
				rng.Read(f)
				l3 := 14
				if tagged {
					f[12], f[13] = 0x81, 0
					l3 = 18
				}
				f[l3-2], f[l3-1] = 0x08, 0
				f[l3+9] = byte(proto)
				f[l3+6] &^= 0x1f
				f[l3+7] = 0
				if later {
					f[l3+7] = byte(1 + rng.Intn(255))
				}
				if c, g := IPv4Class(tagged, byte(proto), later), Classify(f); c != g {
					t.Fatalf("tagged %v, protocol %d, later fragment %v: IPv4Class %d, Classify %d", tagged, proto, later, c, g)
				}
			}
		}
	}
}
