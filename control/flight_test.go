package control_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"

	"github.com/softnet/softnet/control"
)

// flightFiles is the numbers N of dir's files base.N, in order.
func flightFiles(t *testing.T, dir, base string) []int {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var nums []int
	for _, e := range ents {
		if s, ok := strings.CutPrefix(e.Name(), base+"."); ok {
			n, err := strconv.Atoi(s)
			if err != nil {
				t.Fatalf("unexpected file %s", e.Name())
			}
			nums = append(nums, n)
		}
	}
	slices.Sort(nums)
	return nums
}

// readCapture reads a pcapng or pcap file with gopacket's pcapgo and
// returns its packets' lengths.
func readCapture(t *testing.T, name, format string) []int {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var next func() ([]byte, error)
	if format == "pcap" {
		r, err := pcapgo.NewReader(f)
		if err != nil {
			t.Fatalf("%s: pcapgo: %v", name, err)
		}
		next = func() ([]byte, error) { d, _, err := r.ReadPacketData(); return d, err }
	} else {
		r, err := pcapgo.NewNgReader(f, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			t.Fatalf("%s: pcapgo: %v", name, err)
		}
		next = func() ([]byte, error) { d, _, err := r.ReadPacketData(); return d, err }
	}
	var lens []int
	for {
		d, err := next()
		if errors.Is(err, io.EOF) {
			return lens
		}
		if err != nil {
			t.Fatalf("%s: packet %d: %v", name, len(lens), err)
		}
		lens = append(lens, len(d))
	}
}

// TestFlightRotation: an always-on capture with a small max_size, given
// many packets, writes them to rotating files: only the newest max_files
// are kept, none bigger than max_size, each complete and readable by
// gopacket's pcapgo, with every packet of the last files; the status
// counts every packet written. Both formats.
func TestFlightRotation(t *testing.T) {
	for _, format := range []string{"pcapng", "pcap"} {
		t.Run(format, func(t *testing.T) {
			l := newLab(t, true, true)
			dir := t.TempDir()
			path := filepath.Join(dir, "rx."+format)
			const maxSize, maxFiles, n = 4096, 3, 300
			caps := []control.FlightCapture{{Name: "rx", Interface: "if0", Point: "rx", Filter: "udp",
				Path: path, MaxSize: maxSize, MaxFiles: maxFiles, Format: format}}
			fl := l.Router.Flight()
			if err := fl.Apply(caps); err != nil {
				t.Fatal(err)
			}
			defer fl.Stop()
			for i := range n {
				l.Send(0, udpFrom(remoteDst, uint16(1000+i)))
				if i%20 == 19 {
					l.Run()
				}
			}
			l.Run()
			var st []control.CaptureStatus
			for deadline := time.Now().Add(30 * time.Second); ; {
				st = fl.Status()
				if len(st) == 1 && st[0].Packets == n {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("status %+v: want %d packets written", st, n)
				}
				time.Sleep(10 * time.Millisecond)
			}
			if st[0].RingDrops != 0 || st[0].Error != "" || st[0].Files < maxFiles+1 {
				t.Errorf("status %+v: want no drops or error, more than %d files", st[0], maxFiles)
			}
			fl.Stop()
			if len(fl.Status()) != 0 {
				t.Errorf("captures still running after Stop: %+v", fl.Status())
			}
			nums := flightFiles(t, dir, filepath.Base(path))
			if len(nums) != maxFiles {
				t.Fatalf("files %v: want the newest %d", nums, maxFiles)
			}
			if want := int(st[0].Files) - 1; nums[maxFiles-1] != want {
				t.Errorf("newest file %d, want %d", nums[maxFiles-1], want)
			}
			total := 0
			for _, k := range nums {
				name := fmt.Sprintf("%s.%d", path, k)
				fi, err := os.Stat(name)
				if err != nil {
					t.Fatal(err)
				}
				if fi.Size() > maxSize {
					t.Errorf("%s: %d bytes, over max_size %d", name, fi.Size(), maxSize)
				}
				lens := readCapture(t, name, format)
				if len(lens) == 0 {
					t.Errorf("%s: no packets", name)
				}
				for _, ln := range lens {
					if ln != len(udpFrom(remoteDst, 1)) {
						t.Errorf("%s: a packet of %d bytes", name, ln)
					}
				}
				total += len(lens)
			}
			if total >= n || total < maxFiles {
				t.Errorf("%d packets in the kept files of %d", total, n)
			}
		})
	}
}

// TestFlightApply: a reload's Apply keeps an unchanged capture (same
// file, still counting), restarts a changed one, stops a removed one and
// refuses, changing nothing, a capture whose interface does not exist.
func TestFlightApply(t *testing.T) {
	l := newLab(t, true, true)
	dir := t.TempDir()
	a := control.FlightCapture{Name: "a", Interface: "if0", Point: "rx", Path: filepath.Join(dir, "a.pcapng"), Format: "pcapng"}
	b := control.FlightCapture{Name: "b", Point: "tx", Path: filepath.Join(dir, "b.pcap"), Format: "pcap"}
	fl := l.Router.Flight()
	defer fl.Stop()
	if err := fl.Apply([]control.FlightCapture{a, b}); err != nil {
		t.Fatal(err)
	}
	if l.Router.Captures() != 2 {
		t.Fatalf("%d captures installed, want 2", l.Router.Captures())
	}
	waitPackets := func(name string, want uint64) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); ; {
			for _, s := range fl.Status() {
				if s.Name == name && s.Packets >= want {
					return
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: status %+v, want %d packets", name, fl.Status(), want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	l.Send(0, udpFrom(remoteDst, 1))
	l.Run()
	waitPackets("a", 1)
	waitPackets("b", 1)
	// An unknown interface: refused, nothing changes.
	bad := control.FlightCapture{Name: "c", Interface: "nope", Path: filepath.Join(dir, "c.pcapng"), Format: "pcapng"}
	if err := fl.Apply([]control.FlightCapture{a, bad}); err == nil || !strings.Contains(err.Error(), `no interface "nope"`) {
		t.Fatalf("Apply with an unknown interface: %v", err)
	}
	if len(fl.Status()) != 2 || l.Router.Captures() != 2 {
		t.Fatalf("a refused Apply changed the captures: %+v", fl.Status())
	}
	// a unchanged, b removed, c added.
	c := control.FlightCapture{Name: "c", Point: "drop", Path: filepath.Join(dir, "c.pcapng"), Format: "pcapng"}
	if err := fl.Apply([]control.FlightCapture{a, c}); err != nil {
		t.Fatal(err)
	}
	l.Send(0, udpFrom(remoteDst, 2))
	l.Run()
	waitPackets("a", 2) // the same run: its count goes on
	st := fl.Status()
	if len(st) != 2 || st[0].Name != "a" || st[1].Name != "c" || l.Router.Captures() != 2 {
		t.Fatalf("status %+v, %d installed: want a and c", st, l.Router.Captures())
	}
	if got := readCapture(t, b.Path, "pcap"); len(got) != 1 {
		t.Errorf("b's file, closed on removal: %d packets, want 1", len(got))
	}
	fl.Stop()
	if got := readCapture(t, a.Path, "pcapng"); len(got) != 2 {
		t.Errorf("a's file kept across the Apply: %d packets, want 2", len(got))
	}
	if l.Router.Captures() != 0 {
		t.Errorf("%d captures installed after Stop", l.Router.Captures())
	}
}
