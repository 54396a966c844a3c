package pcapfile

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/softnet/softnet/internal/testenv"
	"github.com/softnet/softnet/pkt"
)

// frame returns an Ethernet-looking frame of n bytes whose bytes encode i.
func frame(i, n int) []byte {
	f := make([]byte, n)
	for j := range f {
		f[j] = byte(i*7 + j)
	}
	if n >= 14 {
		f[12], f[13] = 0x08, 0x00
	}
	return f
}

func frames(count int) [][]byte {
	var fs [][]byte
	for i := range count {
		fs = append(fs, frame(i, 60+i%1400))
	}
	return fs
}

func sameFrames(t *testing.T, got, want [][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d frames, want %d", len(got), len(want))
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("frame %d differs: got %x, want %x", i, got[i], want[i])
		}
	}
}

func writeTemp(t *testing.T, name string, fs [][]byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := WriteFile(path, fs); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRoundTrip(t *testing.T) {
	for _, count := range []int{0, 1, 300} {
		want := frames(count)
		got, err := ReadFile(writeTemp(t, "a.pcap", want))
		if err != nil {
			t.Fatal(err)
		}
		sameFrames(t, got, want)
	}
}

// handFile builds a file byte by byte in the given order with the given
// magic, independently of the package's writer.
func handFile(bo binary.AppendByteOrder, magic uint32, link uint32, fs [][]byte) []byte {
	var b []byte
	b = bo.AppendUint32(b, magic)
	b = bo.AppendUint16(b, 2)
	b = bo.AppendUint16(b, 4)
	b = bo.AppendUint32(b, 0)
	b = bo.AppendUint32(b, 0)
	b = bo.AppendUint32(b, 65535)
	b = bo.AppendUint32(b, link)
	for i, f := range fs {
		b = bo.AppendUint32(b, uint32(1700000000+i))
		b = bo.AppendUint32(b, uint32(i*1000))
		b = bo.AppendUint32(b, uint32(len(f)))
		b = bo.AppendUint32(b, uint32(len(f)+4)) // orig_len may exceed incl_len
		b = append(b, f...)
	}
	return b
}

func TestByteOrdersAndMagics(t *testing.T) {
	want := frames(5)
	for _, tc := range []struct {
		name  string
		bo    binary.AppendByteOrder
		magic uint32
	}{
		{"little-micro", binary.LittleEndian, magicMicro},
		{"big-micro", binary.BigEndian, magicMicro},
		{"little-nano", binary.LittleEndian, magicNano},
		{"big-nano", binary.BigEndian, magicNano},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.pcap")
			if err := os.WriteFile(path, handFile(tc.bo, tc.magic, 1, want), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			sameFrames(t, got, want)
		})
	}
}

func TestBadFiles(t *testing.T) {
	good := handFile(binary.LittleEndian, magicMicro, 1, frames(3))
	// frames(3) are 60, 61, 62 bytes: records start at 24, 100, 177.
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "not a pcap file"},
		{"text", []byte("hello, world, this is not a capture"), "not a pcap file (magic 68656c6c)"},
		{"pcapng", append([]byte{0x0a, 0x0d, 0x0d, 0x0a}, make([]byte, 40)...), "pcapng"},
		{"short header", good[:20], "truncated file header"},
		{"linux sll", handFile(binary.LittleEndian, magicMicro, 113, frames(1)), "link type 113 is not Ethernet (1)"},
		{"raw ip big-endian", handFile(binary.BigEndian, magicNano, 101, nil), "link type 101 is not Ethernet (1)"},
		{"cut in record header", good[:100+8], "truncated record at byte 100"},
		{"cut in frame", good[:177+16+10], "truncated record at byte 177"},
		{"huge length", func() []byte {
			b := append([]byte(nil), good...)
			binary.LittleEndian.PutUint32(b[24+8:], 1<<30)
			return b
		}(), "corrupt record at byte 24"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bad.pcap")
			if err := os.WriteFile(path, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := ReadFile(path)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("ReadFile error %v, want one naming %s and saying %q", err, path, tc.want)
			}
			if _, err := Open(path, "", Options{}); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Open error %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := ReadFile(filepath.Join(t.TempDir(), "missing.pcap")); err == nil || !strings.Contains(err.Error(), "missing.pcap") {
		t.Fatalf("missing file: %v", err)
	}
}

// drain receives until Done or a poll brings nothing n times in a row.
func drain(p *Port, pool *pkt.Pool) [][]byte {
	var got [][]byte
	var v pkt.Batch
	for idle := 0; idle < 3 && !p.Done(); {
		if p.Recv(0, &v, pool) == 0 {
			idle++
		}
		for _, b := range v.B[:v.N] {
			got = append(got, append([]byte(nil), b.Bytes()...))
		}
		pool.PutBatch(&v)
	}
	return got
}

func TestReplay(t *testing.T) {
	want := frames(600) // more than two batches
	big := frame(9, pkt.MaxFrame+1)
	path := writeTemp(t, "in.pcap", append(append([][]byte{}, want[:10]...), append([][]byte{big}, want[10:]...)...))
	p, err := Open(path, "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	pool := pkt.NewPool(1024)
	var v pkt.Batch
	if p.Recv(1, &v, pool) != 0 {
		t.Fatal("queue 1 received frames: the file replays on queue 0 only")
	}
	got := drain(p, pool)
	sameFrames(t, got, want)
	if !p.Done() {
		t.Fatal("not Done after the whole file")
	}
	if p.Recv(0, &v, pool) != 0 {
		t.Fatal("Recv after Done returned frames")
	}
	s := p.Stats()
	if s.RxPackets != 600 || s.Skipped != 1 || pool.Free() != pool.Size() {
		t.Fatalf("stats %+v, pool %d/%d", s, pool.Free(), pool.Size())
	}
	var bytes uint64
	for _, f := range want {
		bytes += uint64(len(f))
	}
	if s.RxBytes != bytes {
		t.Fatalf("RxBytes %d, want %d", s.RxBytes, bytes)
	}
}

func TestLoopAndLimit(t *testing.T) {
	want := frames(100)
	path := writeTemp(t, "in.pcap", want)
	pool := pkt.NewPool(1024)

	// Loop with a limit: 1000 frames, the file ten times over, in order.
	p, err := Open(path, "", Options{Loop: true, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	got := drain(p, pool)
	if len(got) != 1000 || !p.Done() {
		t.Fatalf("got %d frames, done %v; want 1000, true", len(got), p.Done())
	}
	for i, f := range got {
		if !bytes.Equal(f, want[i%100]) {
			t.Fatalf("frame %d is not file frame %d", i, i%100)
		}
	}

	// Limit without loop: stops early.
	p, _ = Open(path, "", Options{Limit: 30})
	if got := drain(p, pool); len(got) != 30 || !p.Done() {
		t.Fatalf("limit 30: got %d frames", len(got))
	}
	// Limit larger than the file without loop: the whole file.
	p, _ = Open(path, "", Options{Limit: 1000})
	if got := drain(p, pool); len(got) != 100 || !p.Done() {
		t.Fatalf("limit 1000 without loop: got %d frames", len(got))
	}
	// Loop without limit: never done.
	p, _ = Open(path, "", Options{Loop: true})
	var v pkt.Batch
	total := 0
	for range 20 {
		total += p.Recv(0, &v, pool)
		pool.PutBatch(&v)
	}
	if total != 20*pkt.BatchSize || p.Done() {
		t.Fatalf("endless loop: %d frames, done %v", total, p.Done())
	}
	// A batch that is partly full gets only its room.
	v.N = pkt.BatchSize - 3
	if n := p.Recv(0, &v, pool); n != 3 || v.N != pkt.BatchSize {
		t.Fatalf("Recv into a batch with room 3 gave %d", n)
	}
	v.N -= 3
	pool.PutBatch(&v)
	// No receive file: nothing, and done.
	p, _ = Open("", "", Options{})
	if p.Recv(0, &v, pool) != 0 || !p.Done() {
		t.Fatal("port without a receive file received")
	}
	// A pool running dry stops Recv without losing frames.
	p, _ = Open(path, "", Options{})
	small := pkt.NewPool(7)
	if n := p.Recv(0, &v, small); n != 7 {
		t.Fatalf("pool of 7: got %d", n)
	}
	small.PutBatch(&v)
	if got := drain(p, small); len(got) != 93 || !bytes.Equal(got[0], want[7]) {
		t.Fatalf("after a dry pool: %d frames", len(got))
	}
}

// TestRate drives the rate limiter with the test's own clock (recvAt), so
// what it asserts does not depend on how fast or how loaded the machine
// is: at 1000 frames/s (a burst of 10 ms, 10 frames) one simulated second
// delivers 1000 frames whether polled every 100 µs or every 5 ms; an idle
// gap earns one burst, not the whole gap; and a second call at the same
// instant gets nothing. Then on the real clock it checks the bound that
// holds however late the polls come (never more than the rate over the
// elapsed time plus one burst). BenchmarkRate prints the rate achieved.
func TestRate(t *testing.T) {
	path := writeTemp(t, "in.pcap", frames(50))
	pool := pkt.NewPool(1024)
	var v pkt.Batch
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	for _, every := range []float64{0.1, 1, 5, 10} {
		p, err := Open(path, "", Options{Loop: true, Rate: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if n := p.recvAt(0, &v, pool, 0); n != 0 {
			t.Fatalf("at 0: %d frames before any time passed", n)
		}
		total, polls := 0, int(1000/every+0.5)
		for i := 1; i <= polls; i++ {
			total += p.recvAt(0, &v, pool, ms(float64(i)*every))
			pool.PutBatch(&v)
		}
		// Token sums in float64 may leave the last frame a hair short.
		if total < 999 || total > 1000 {
			t.Errorf("polled every %v ms for 1 s at 1000/s: %d frames, want 1000", every, total)
		}
		end := ms(float64(polls) * every)
		if n := p.recvAt(0, &v, pool, end+time.Second); n != 10 {
			t.Errorf("after an idle second: %d frames, want one burst (10)", n)
		}
		pool.PutBatch(&v)
		if n := p.recvAt(0, &v, pool, end+time.Second); n != 0 {
			t.Errorf("again at the same instant: %d frames, want 0", n)
		}
		if s := p.Stats(); s.RxPackets != uint64(total+10) {
			t.Errorf("RxPackets %d, want %d", s.RxPackets, total+10)
		}
	}

	// The real clock: Recv reads it, and never exceeds the rate.
	p, err := Open(path, "", Options{Loop: true, Rate: 1000})
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for deadline := time.Now().Add(10 * time.Second); total == 0 && time.Now().Before(deadline); {
		total += p.Recv(0, &v, pool)
		pool.PutBatch(&v)
		time.Sleep(100 * time.Microsecond)
	}
	elapsed := time.Since(p.start)
	// Tokens accrue from Open: the rate over the time since, plus one
	// burst (10) and rounding.
	if upper := int(1000*elapsed.Seconds()) + 10 + 2; total == 0 || total > upper {
		t.Fatalf("rate 1000/s for %v since Open delivered %d frames, want 1 to %d", elapsed, total, upper)
	}
}

// BenchmarkRate reports the rate a port limited to 100000 frames/s
// delivers on the real clock, polled back to back ("pps", and "pps/rate"
// near 1): the figure TestRate does not judge.
func BenchmarkRate(b *testing.B) {
	path := filepath.Join(b.TempDir(), "in.pcap")
	if err := WriteFile(path, frames(50)); err != nil {
		b.Fatal(err)
	}
	const rate = 100000
	p, err := Open(path, "", Options{Loop: true, Rate: rate})
	if err != nil {
		b.Fatal(err)
	}
	pool := pkt.NewPool(1024)
	var v pkt.Batch
	p.Recv(0, &v, pool) // spend the tokens accrued since Open
	pool.PutBatch(&v)
	start := time.Now()
	total := 0
	for b.Loop() {
		total += p.Recv(0, &v, pool)
		pool.PutBatch(&v)
	}
	pps := float64(total) / time.Since(start).Seconds()
	b.ReportMetric(pps, "pps")
	b.ReportMetric(pps/rate, "pps/rate")
}

func TestSend(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.pcap")
	p, err := Open("", out, Options{SnapLen: 100})
	if err != nil {
		t.Fatal(err)
	}
	pool := pkt.NewPool(1024)
	want := frames(700)
	var v pkt.Batch
	sent := 0
	for i, f := range want {
		b := pool.Get()
		copy(b.Reset(len(f)), f)
		v.Push(b)
		if v.N == pkt.BatchSize || i == len(want)-1 {
			// Alternate queues: records of both must come out whole.
			sent += p.Send(i%2, &v, pool)
			if v.N != 0 {
				t.Fatal("Send left buffers in the batch")
			}
		}
	}
	if sent != 700 || pool.Free() != pool.Size() {
		t.Fatalf("sent %d, pool %d/%d", sent, pool.Free(), pool.Size())
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	got, err := ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		want[i] = want[i][:min(len(want[i]), 100)]
	}
	sameFrames(t, got, want)
	// orig_len keeps the frame's length; timestamps are recent.
	data, _ := os.ReadFile(out)
	if snap := binary.LittleEndian.Uint32(data[16:]); snap != 100 {
		t.Fatalf("snaplen %d", snap)
	}
	off := fileHeaderLen + 3*recordHeaderLen + 60 + 61 + 62
	if orig := binary.LittleEndian.Uint32(data[off+12:]); orig != 63 {
		t.Fatalf("record 3 orig_len %d, want 63", orig)
	}
	off = fileHeaderLen
	for i := range 60 {
		off += recordHeaderLen + min(60+i, 100)
	}
	if incl, orig := binary.LittleEndian.Uint32(data[off+8:]), binary.LittleEndian.Uint32(data[off+12:]); incl != 100 || orig != 120 {
		t.Fatalf("record 60: incl %d orig %d, want 100 120", incl, orig)
	}
	if sec := int64(binary.LittleEndian.Uint32(data[fileHeaderLen:])); time.Since(time.Unix(sec, 0)) > time.Minute {
		t.Fatalf("timestamp %d is not the wall clock", sec)
	}
	s := p.Stats()
	if s.TxPackets != 700 || s.Errors != 0 {
		t.Fatalf("stats %+v", s)
	}

}

// TestSendTcpdump: tcpdump reads what the port wrote (skips without
// tcpdump, fails under CI=true, where scripts/deps.sh installs it).
func TestSendTcpdump(t *testing.T) {
	testenv.Tools(t, "tcpdump")
	out := filepath.Join(t.TempDir(), "out.pcap")
	p, err := Open("", out, Options{SnapLen: 100}) // as TestSend writes it
	if err != nil {
		t.Fatal(err)
	}
	pool := pkt.NewPool(1024)
	want := frames(700)
	var v pkt.Batch
	for i, f := range want {
		b := pool.Get()
		copy(b.Reset(len(f)), f)
		v.Push(b)
		if v.N == pkt.BatchSize || i == len(want)-1 {
			p.Send(i%2, &v, pool)
		}
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	outp, err := exec.Command("tcpdump", "-nn", "-r", out).CombinedOutput()
	if err != nil {
		t.Fatalf("tcpdump -r: %v\n%s", err, outp)
	}
	if lines := strings.Count(string(outp), "\n"); lines < 700 {
		t.Fatalf("tcpdump printed %d lines for 700 records", lines)
	}
}

func TestSink(t *testing.T) {
	p, err := Open("", "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	pool := pkt.NewPool(64)
	var v pkt.Batch
	for range 10 {
		b := pool.Get()
		b.Reset(64)
		v.Push(b)
	}
	if n := p.Send(3, &v, pool); n != 10 || v.N != 0 || pool.Free() != 64 {
		t.Fatalf("sink Send %d", n)
	}
	if s := p.Stats(); s.TxPackets != 10 || s.TxBytes != 640 {
		t.Fatalf("sink stats %+v", s)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open("", "", Options{Rate: -1}); err == nil {
		t.Fatal("negative rate accepted")
	}
	if _, err := Open("", "", Options{SnapLen: MaxSnapLen + 1}); err == nil {
		t.Fatal("huge snaplen accepted")
	}
	if _, err := Open("", filepath.Join(t.TempDir(), "no", "such", "dir.pcap"), Options{}); err == nil || !strings.Contains(err.Error(), "dir.pcap") {
		t.Fatalf("unwritable tx path: %v", err)
	}
}

func TestRecvNoAllocs(t *testing.T) {
	path := writeTemp(t, "in.pcap", frames(100))
	for _, o := range []Options{{Loop: true}, {Loop: true, Rate: 1e9}} {
		p, err := Open(path, "", o)
		if err != nil {
			t.Fatal(err)
		}
		pool := pkt.NewPool(512)
		var v pkt.Batch
		allocs := testing.AllocsPerRun(200, func() {
			p.Recv(0, &v, pool)
			pool.PutBatch(&v)
		})
		if allocs != 0 {
			t.Fatalf("Recv %+v: %v allocations per call", o, allocs)
		}
	}
}

func TestSendNoAllocs(t *testing.T) {
	p, err := Open("", filepath.Join(t.TempDir(), "out.pcap"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	pool := pkt.NewPool(512)
	var v pkt.Batch
	send := func() {
		for range 64 {
			b := pool.Get()
			b.Reset(1000)
			v.Push(b)
		}
		p.Send(0, &v, pool)
	}
	send() // warm-up: the queue's writer is made on first use
	if allocs := testing.AllocsPerRun(200, send); allocs != 0 {
		t.Fatalf("Send: %v allocations per batch", allocs)
	}
	if s := p.Stats(); s.TxPackets != 64*202 {
		t.Fatalf("TxPackets %d", s.TxPackets)
	}
}

func BenchmarkRecv(b *testing.B) {
	path := filepath.Join(b.TempDir(), "in.pcap")
	fs := make([][]byte, 1000)
	for i := range fs {
		fs[i] = frame(i, 64)
	}
	if err := WriteFile(path, fs); err != nil {
		b.Fatal(err)
	}
	p, _ := Open(path, "", Options{Loop: true})
	pool := pkt.NewPool(512)
	var v pkt.Batch
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n += p.Recv(0, &v, pool)
		pool.PutBatch(&v)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/pkt")
}

func BenchmarkSend(b *testing.B) {
	p, _ := Open("", filepath.Join(b.TempDir(), "out.pcap"), Options{})
	defer p.Close()
	pool := pkt.NewPool(512)
	var v pkt.Batch
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		for range pkt.BatchSize {
			bf := pool.Get()
			bf.Reset(64)
			v.Push(bf)
		}
		n += p.Send(0, &v, pool)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/pkt")
}

// TestConcurrentSend: workers sending on their own queues at once, and a
// reader of Stats, race on nothing, and every record comes out whole.
func TestConcurrentSend(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.pcap")
	p, err := Open("", out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	const workers, batches = 2, 200
	done := make(chan struct{})
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
				_ = p.Stats()
			}
		}
	}()
	for w := range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			pool := pkt.NewPool(512)
			var v pkt.Batch
			for i := range batches {
				for j := range pkt.BatchSize {
					f := frame(w*1000+j, 60+(i+j)%200)
					b := pool.Get()
					copy(b.Reset(len(f)), f)
					v.Push(b)
				}
				p.Send(w, &v, pool)
			}
		}()
	}
	for range workers {
		<-done
	}
	close(stop)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != workers*batches*pkt.BatchSize || p.Stats().TxPackets != uint64(len(got)) {
		t.Fatalf("%d records, stats %+v", len(got), p.Stats())
	}
	for i, f := range got {
		if f[12] != 0x08 || f[13] != 0 {
			t.Fatalf("record %d is not a whole frame", i)
		}
	}
}
