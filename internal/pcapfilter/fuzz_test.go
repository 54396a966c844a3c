package pcapfilter

import (
	"encoding/binary"
	"testing"

	"golang.org/x/net/bpf"
)

// FuzzCompile: no expression makes Compile panic; an accepted one
// compiles to a program that validates, runs on the corpus without
// panicking, and gives the same verdicts in x/net/bpf's VM.
func FuzzCompile(f *testing.F) {
	for _, e := range atoms {
		f.Add(e)
	}
	for _, e := range tricky {
		f.Add(e)
	}
	for _, e := range refusedByBoth {
		f.Add(e)
	}
	var frames []frame
	for i, fr := range corpus() {
		if i%40 == 0 {
			frames = append(frames, fr)
		}
	}
	f.Fuzz(func(t *testing.T, expr string) {
		raw, err := Compile(expr)
		if err != nil {
			if _, ok := err.(*SyntaxError); !ok {
				t.Fatalf("Compile(%q): error %v is not a *SyntaxError", expr, err)
			}
			return
		}
		p, err := NewProgram(raw)
		if err != nil {
			t.Fatalf("Compile(%q) gave a program that does not validate: %v\n%s", expr, err, dump(raw))
		}
		vm := mustVM(t, raw)
		for _, fr := range frames {
			v := p.Run(fr.b, len(fr.b))
			if v != 0 && v != Accept {
				t.Fatalf("Compile(%q): the program returned %d", expr, v)
			}
			if vm != nil {
				w, err := vm.Run(fr.b)
				if err != nil || uint32(w) != v {
					t.Fatalf("Compile(%q) on %s: Run %d, x/net/bpf VM %d (%v)", expr, fr.name, v, w, err)
				}
			}
		}
	})
}

// FuzzRun: random programs (8 bytes an instruction: op, jt, jf, k) on
// random frames: Run never panics on a program Validate accepts, and
// agrees with x/net/bpf's VM wherever that VM runs the program.
func FuzzRun(f *testing.F) {
	for _, e := range []string{"tcp port 80", "vlan 100 and udp", "tcp[(tcp[12] >> 4) * 4] = 0x68", "ip[ip[0] & 0xf] = 0 or len > 100"} {
		raw, _ := Compile(e)
		var b []byte
		for _, r := range raw {
			b = binary.BigEndian.AppendUint16(b, r.Op)
			b = append(b, r.Jt, r.Jf)
			b = binary.BigEndian.AppendUint32(b, r.K)
		}
		for _, fr := range corpus()[:8] {
			f.Add(b, fr.b)
		}
	}
	f.Fuzz(func(t *testing.T, prog, pkt []byte) {
		var raw []bpf.RawInstruction
		for len(prog) >= 8 && len(raw) < 64 {
			raw = append(raw, bpf.RawInstruction{Op: binary.BigEndian.Uint16(prog), Jt: prog[2], Jf: prog[3], K: binary.BigEndian.Uint32(prog[4:])})
			prog = prog[8:]
		}
		p, err := NewProgram(raw)
		if err != nil {
			return
		}
		v := p.Run(pkt, len(pkt))
		ins, ok := bpf.Disassemble(raw)
		if !ok {
			return
		}
		for _, in := range ins {
			switch in := in.(type) {
			case bpf.NegateA, bpf.RawInstruction:
				return // not implemented by x/net/bpf's VM
			case bpf.LoadExtension:
				if in.Num != bpf.ExtLen {
					return
				}
			case bpf.LoadAbsolute:
				if in.Off >= 0xfffff000 {
					return // the kernel's ancillary data area
				}
			}
		}
		vm, err := bpf.NewVM(ins)
		if err != nil {
			return
		}
		w, err := vm.Run(pkt)
		if err != nil {
			return
		}
		if uint32(w) != v {
			t.Fatalf("Run = %d, x/net/bpf VM = %d on % x\n%s", v, w, pkt, dump(raw))
		}
	})
}
