package capfile

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Options say where and how a File writes.
type Options struct {
	Path   string
	Format string // pcapng or pcap
	Snap   int    // snap length in the headers (0: 65535)
	// MaxSize > 0: the capture goes to Path.0, Path.1, ... (numbers
	// going up, on from the highest already there); a file ends before
	// the packet that would take it past MaxSize (a packet larger than
	// MaxSize gets a file of its own), and of the files Path.N only the
	// newest MaxFiles are kept. MaxSize 0: the capture goes to Path.
	MaxSize  int64
	MaxFiles int
}

// File is a capture written to a file that rotates (Options). Not safe
// for concurrent use.
type File struct {
	o       Options
	f       *os.File
	bw      *bufio.Writer
	cw      *countWriter
	w       Writer
	seq     int // number of the current file (MaxSize > 0)
	packets int // in the current file
	name    string
	files   uint64 // files opened
}

type countWriter struct {
	f *os.File
	n int64
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.f.Write(b)
	c.n += int64(n)
	return n, err
}

// Create opens a capture file (the first of the rotation) and writes its
// header.
func Create(o Options) (*File, error) {
	if !slices.Contains(Formats, o.Format) {
		return nil, fmt.Errorf("format %q: give pcapng or pcap", o.Format)
	}
	if o.MaxSize > 0 && o.MaxFiles < 1 {
		o.MaxFiles = 1
	}
	f := &File{o: o}
	if o.MaxSize > 0 {
		nums, err := f.existing()
		if err != nil {
			return nil, err
		}
		if len(nums) > 0 {
			f.seq = nums[len(nums)-1] + 1
		}
	}
	if err := f.open(); err != nil {
		return nil, err
	}
	return f, nil
}

// existing is the numbers N of the files Path.N there now, in order.
func (f *File) existing() ([]int, error) {
	dir, base := filepath.Split(f.o.Path)
	if dir == "" {
		dir = "."
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("capture file %s: %v (create its directory)", f.o.Path, err)
	}
	var nums []int
	for _, e := range ents {
		s, ok := strings.CutPrefix(e.Name(), base+".")
		if !ok || e.IsDir() {
			continue
		}
		if n, err := strconv.Atoi(s); err == nil && n >= 0 && strconv.Itoa(n) == s {
			nums = append(nums, n)
		}
	}
	slices.Sort(nums)
	return nums, nil
}

func (f *File) open() error {
	name := f.o.Path
	if f.o.MaxSize > 0 {
		name = fmt.Sprintf("%s.%d", f.o.Path, f.seq)
	}
	fd, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("capture file: %v (check the directory exists and softnet may write there)", err)
	}
	f.f, f.name, f.packets = fd, name, 0
	f.cw = &countWriter{f: fd}
	f.bw = bufio.NewWriterSize(f.cw, 64<<10)
	f.w, _ = New(f.o.Format, f.bw, f.o.Snap)
	f.files++
	if err := f.w.Flush(); err != nil { // the header: a valid file from the start
		return err
	}
	if f.o.MaxSize > 0 {
		// Keep the newest MaxFiles, this one included.
		nums, err := f.existing()
		if err != nil {
			return err
		}
		for len(nums) > f.o.MaxFiles {
			_ = os.Remove(fmt.Sprintf("%s.%d", f.o.Path, nums[0]))
			nums = nums[1:]
		}
	}
	return nil
}

// size is the bytes in the current file, buffered ones included.
func (f *File) size() int64 { return f.cw.n + int64(f.bw.Buffered()) }

// WritePacket writes p, first starting the next file if p would take
// the current one past MaxSize.
func (f *File) WritePacket(p *Packet) error {
	if f.o.MaxSize > 0 && f.packets > 0 && f.size()+MaxRecord(p) > f.o.MaxSize {
		if err := f.closeFile(); err != nil {
			return err
		}
		f.seq++
		if err := f.open(); err != nil {
			return err
		}
	}
	f.packets++
	return f.w.WritePacket(p)
}

// Flush writes what is buffered to the file.
func (f *File) Flush() error { return f.w.Flush() }

// Name is the file being written now.
func (f *File) Name() string { return f.name }

// Files is how many files it has opened.
func (f *File) Files() uint64 { return f.files }

func (f *File) closeFile() error {
	err := f.w.Flush()
	if cerr := f.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Close flushes and closes the current file: it is complete.
func (f *File) Close() error { return f.closeFile() }
