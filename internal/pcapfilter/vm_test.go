package pcapfilter

import (
	"encoding/binary"
	"strings"
	"testing"

	"golang.org/x/net/bpf"
)

func asm(t testing.TB, ins ...bpf.Instruction) []bpf.RawInstruction {
	t.Helper()
	raw, err := bpf.Assemble(ins)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestRunOutOfBounds: a load past the captured bytes rejects the packet
// (returns 0) instead of reading zeros, for each load form, as the
// kernel does; in range, the same program accepts.
func TestRunOutOfBounds(t *testing.T) {
	frame := []byte{0, 1, 2, 3, 4, 5, 6, 7}
	cases := []struct {
		name string
		ins  []bpf.Instruction
	}{
		{"ld word abs", []bpf.Instruction{bpf.LoadAbsolute{Off: 5, Size: 4}}},
		{"ldh abs", []bpf.Instruction{bpf.LoadAbsolute{Off: 7, Size: 2}}},
		{"ldb abs", []bpf.Instruction{bpf.LoadAbsolute{Off: 8, Size: 1}}},
		{"ldb abs huge", []bpf.Instruction{bpf.LoadAbsolute{Off: 0xffffffff, Size: 1}}},
		{"ld ind", []bpf.Instruction{bpf.LoadConstant{Dst: bpf.RegX, Val: 3}, bpf.LoadIndirect{Off: 2, Size: 4}}},
		{"ld ind wraps", []bpf.Instruction{bpf.LoadConstant{Dst: bpf.RegX, Val: 0xffffffff}, bpf.LoadIndirect{Off: 2, Size: 1}}},
		{"msh", []bpf.Instruction{bpf.LoadMemShift{Off: 8}}},
		{"div by zero X", []bpf.Instruction{bpf.LoadConstant{Dst: bpf.RegX, Val: 0}, bpf.ALUOpX{Op: bpf.ALUOpDiv}}},
		{"mod by zero X", []bpf.Instruction{bpf.LoadConstant{Dst: bpf.RegX, Val: 0}, bpf.ALUOpX{Op: bpf.ALUOpMod}}},
	}
	for _, c := range cases {
		p, err := NewProgram(asm(t, append(c.ins, bpf.RetConstant{Val: 1})...))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if v := p.Run(frame, len(frame)); v != 0 {
			t.Errorf("%s: Run = %d, want 0 (rejected)", c.name, v)
		}
	}
	ok, _ := NewProgram(asm(t, bpf.LoadAbsolute{Off: 4, Size: 4}, bpf.RetA{}))
	if v := ok.Run(frame, len(frame)); v != 0x04050607 {
		t.Errorf("ld [4] = %#x, want 0x04050607", v)
	}
}

// TestRunWireLen: len, greater and less test the length on the wire, not
// the captured length.
func TestRunWireLen(t *testing.T) {
	p := MustCompile("greater 1000")
	frame := make([]byte, 64)
	if p.Run(frame, 64) != 0 {
		t.Error("greater 1000 accepts a 64-byte packet")
	}
	if p.Run(frame, 1500) != Accept {
		t.Error("greater 1000 rejects a 1500-byte packet captured to 64 bytes")
	}
}

// TestValidate refuses what the kernel refuses.
func TestValidate(t *testing.T) {
	bad := []struct {
		name string
		raw  []bpf.RawInstruction
		want string
	}{
		{"empty", nil, "empty"},
		{"no return", []bpf.RawInstruction{{Op: clsLD | szW | mIMM}}, "not a return"},
		{"jump past end", []bpf.RawInstruction{{Op: clsJMP | jmpJEQ, Jt: 1, Jf: 0}, {Op: clsRET}}, "past the end"},
		{"ja past end", []bpf.RawInstruction{{Op: clsJMP | jmpJA, K: 1}, {Op: clsRET}}, "past the end"},
		{"ja backwards", []bpf.RawInstruction{{Op: clsRET}, {Op: clsJMP | jmpJA, K: 0xffffffff}, {Op: clsRET}}, "past the end"},
		{"unknown opcode", []bpf.RawInstruction{{Op: 0xff}, {Op: clsRET}}, "unknown"},
		{"scratch out of range", []bpf.RawInstruction{{Op: clsST, K: 16}, {Op: clsRET}}, "scratch"},
		{"division by constant 0", []bpf.RawInstruction{{Op: clsALU | aluDIV, K: 0}, {Op: clsRET}}, "division"},
		{"too long", make([]bpf.RawInstruction, maxInsns+1), "limit"},
	}
	for _, c := range bad {
		err := Validate(c.raw)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Validate = %v, want an error containing %q", c.name, err, c.want)
		}
	}
	if err := Validate([]bpf.RawInstruction{{Op: clsJMP | jmpJEQ, Jt: 1, Jf: 0}, {Op: clsRET}, {Op: clsRET}}); err != nil {
		t.Errorf("a valid program: %v", err)
	}
}

// TestCompileErrors: errors name the column of the offending token and
// say what was expected.
func TestCompileErrors(t *testing.T) {
	cases := []struct{ expr, want string }{
		{"tcp port 80 or foo", `expression: column 16: expected a port number after "port", got "foo"`},
		{"host 10.0.0.1 or foo", `expression: column 18: "foo" is not an address: host names are not resolved`},
		{"port foo", `expression: column 6: expected a port number after "port", got "foo"`},
		{"tcp dst port foo", `expression: column 14: expected a port number after "port", got "foo"`},
		{"host 10.0.0.1 and (tcp", `expression: column 23: expected ")" to close the "(" at column 19, got the end of the expression`},
		{"ip[1:3] = 1", `expression: column 6: data size must be 1, 2 or 4 bytes, got 3`},
		{"vlan 5000", `expression: column 6: VLAN ID 5000 is greater than the maximum, 4095`},
		{"net 10.0.0.1/8", `expression: column 5: non-network bits set in "10.0.0.1"`},
		{"tcp host 10.0.0.1", `expression: column 1: "tcp" cannot qualify an IPv4 host or net`},
		{"tcp[1] / 0 = 1", `expression: column 8: division by zero`},
		{"tcp udp", `expression: column 5: expected "and", "or" or the end of the expression, got "udp"`},
		{"ip @", `expression: column 4: unexpected character '@'`},
	}
	for _, c := range cases {
		_, err := Compile(c.expr)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("Compile(%q) = %v, want an error starting %q", c.expr, err, c.want)
		}
	}
}

// TestRunAllocs: Run allocates nothing, for filters of every kind.
func TestRunAllocs(t *testing.T) {
	frames := corpus()
	for _, expr := range benchFilters {
		p := MustCompile(expr)
		allocs := testing.AllocsPerRun(100, func() {
			for _, f := range frames[:200] {
				p.Run(f.b, len(f.b))
			}
		})
		if allocs != 0 {
			t.Errorf("%q: %v allocations per run of 200 frames, want 0", expr, allocs)
		}
	}
}

var benchFilters = []string{
	"tcp port 80",
	"host 10.0.0.1 and not port 22",
	"vlan 100 and udp",
	"tcp[tcpflags] & (tcp-syn|tcp-ack) = tcp-syn",
	"ip6 net 2001:db8::/32 or arp",
	"not (port 53 or port 22 or port 80 or port 443)",
}

// BenchmarkRun: ns per packet for typical filters, on the corpus's
// whole frames in turn.
func BenchmarkRun(b *testing.B) {
	var frames []frame
	for _, f := range corpus() {
		if !f.truncated {
			frames = append(frames, f)
		}
	}
	for _, expr := range benchFilters {
		p := MustCompile(expr)
		b.Run(expr, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				f := frames[i%len(frames)].b
				p.Run(f, len(f))
				i++
			}
		})
	}
}

// BenchmarkCompile: what compiling a filter costs (control plane only).
func BenchmarkCompile(b *testing.B) {
	for b.Loop() {
		if _, err := Compile("tcp port 80 and host 10.0.0.1 or vlan 100 and udp"); err != nil {
			b.Fatal(err)
		}
	}
}

// TestLongJumps: an expression whose program spans more than 255
// instructions compiles (jumps go through "ja" trampolines), validates,
// and still matches what it should: the last port of the list too.
func TestLongJumps(t *testing.T) {
	raw, err := Compile(longExpr(40))
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) < 1000 {
		t.Fatalf("%d instructions: the test needs a program longer than 255 jumps reach", len(raw))
	}
	p, err := NewProgram(raw)
	if err != nil {
		t.Fatal(err)
	}
	// The corpus's first frame: untagged IPv4 (no options) TCP from
	// port 22: rewrite both ports.
	f := append([]byte(nil), corpus()[0].b...)
	if f[12] != 0x08 || f[14] != 0x45 || f[23] != 6 {
		t.Fatalf("the corpus's first frame is not untagged IPv4 TCP: % x", f[:34])
	}
	for i := 0; i <= 40; i++ {
		port := corpusPortsOr(i)
		binary.BigEndian.PutUint16(f[34:], 1)
		binary.BigEndian.PutUint16(f[36:], uint16(port))
		if got, want := p.Run(f, len(f)) != 0, i < 40; got != want {
			t.Errorf("TCP to port %d: matched %v, want %v", port, got, want)
		}
	}
}

func mustCompileRaw(t *testing.T, expr string) []bpf.RawInstruction {
	t.Helper()
	raw, err := Compile(expr)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
