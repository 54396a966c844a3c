// Package capfile writes captured packets as pcapng or pcap, to any
// writer (softnet capture -w) or to a file that rotates by size and count
// (the config's always-on captures, package control's Flight).
//
// pcapng carries an interface description block per interface as it
// first appears (if_name, nanosecond time stamps) and an enhanced packet
// block per packet with its direction (epb_flags) and a comment naming
// the interface, the capture point, the drop reason and the worker, and
// for a packet the stateful filter blocked, the rule that blocked it
// ("lan0 drop ip4-filter/blocked worker 0, rule 2 (block in proto udp to
// port 9999)", pflog's idea); pcap
// has microsecond time stamps and Ethernet frames only.
//
// Hot path: no. The control plane writes what it drained from the
// workers' capture rings.
package capfile

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
)

// Packet is one captured packet.
type Packet struct {
	Time      int64 // UnixNano
	Interface string
	Point     string // rx, tx or drop
	Reason    string // drop: node/reason
	Rule      string // drop by the filter: "rule N (TEXT)" or "default policy block"
	Worker    int
	Len       int    // on the wire
	Data      []byte // the bytes kept (up to the snap length)
}

// Writer writes packets in one format. Flush writes what is buffered,
// and the file header if no packet came yet, so that the output is a
// valid (empty) capture.
type Writer interface {
	WritePacket(p *Packet) error
	Flush() error
}

// Formats names the formats New takes.
var Formats = []string{"pcapng", "pcap"}

// New returns a Writer of format ("pcapng" or "pcap") to w; snap is the
// snap length written in the headers (0: 65535).
func New(format string, w io.Writer, snap int) (Writer, error) {
	bw, ok := w.(*bufio.Writer)
	if !ok {
		bw = bufio.NewWriter(w)
	}
	switch format {
	case "pcapng":
		return &pcapng{w: bw, snap: snap, ids: map[string]uint32{}}, nil
	case "pcap":
		return &pcap{w: bw, snap: snap}, nil
	}
	return nil, fmt.Errorf("format %q: give pcapng or pcap", format)
}

// pcap writes a pcap file (microsecond time stamps, Ethernet).
type pcap struct {
	w       *bufio.Writer
	snap    int
	started bool
}

func (s *pcap) header() error {
	s.started = true
	h := make([]byte, 24)
	binary.LittleEndian.PutUint32(h[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], snapOr(s.snap))
	binary.LittleEndian.PutUint32(h[20:], 1) // LINKTYPE_ETHERNET
	_, err := s.w.Write(h)
	return err
}

func (s *pcap) WritePacket(p *Packet) error {
	if !s.started {
		if err := s.header(); err != nil {
			return err
		}
	}
	var h [16]byte
	binary.LittleEndian.PutUint32(h[0:], uint32(p.Time/1e9))
	binary.LittleEndian.PutUint32(h[4:], uint32(p.Time%1e9/1e3))
	binary.LittleEndian.PutUint32(h[8:], uint32(len(p.Data)))
	binary.LittleEndian.PutUint32(h[12:], uint32(p.Len))
	if _, err := s.w.Write(h[:]); err != nil {
		return err
	}
	_, err := s.w.Write(p.Data)
	return err
}

func (s *pcap) Flush() error {
	if !s.started {
		if err := s.header(); err != nil {
			return err
		}
	}
	return s.w.Flush()
}

func snapOr(snap int) uint32 {
	if snap <= 0 || snap > 65535 {
		return 65535
	}
	return uint32(snap)
}

// pcapng writes pcapng (see the package comment).
type pcapng struct {
	w       *bufio.Writer
	snap    int
	started bool
	ids     map[string]uint32
	buf     []byte
}

// option appends a pcapng option (code, length, value padded to 4).
func option(b []byte, code uint16, v []byte) []byte {
	b = binary.LittleEndian.AppendUint16(b, code)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(v)))
	b = append(b, v...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// block writes a pcapng block of type typ with body.
func (s *pcapng) block(typ uint32, body []byte) error {
	n := uint32(12 + len(body))
	var h [8]byte
	binary.LittleEndian.PutUint32(h[0:], typ)
	binary.LittleEndian.PutUint32(h[4:], n)
	if _, err := s.w.Write(h[:]); err != nil {
		return err
	}
	if _, err := s.w.Write(body); err != nil {
		return err
	}
	_, err := s.w.Write(h[4:8])
	return err
}

func (s *pcapng) start() error {
	if s.started {
		return nil
	}
	s.started = true
	body := binary.LittleEndian.AppendUint32(nil, 0x1A2B3C4D)
	body = binary.LittleEndian.AppendUint16(body, 1)
	body = binary.LittleEndian.AppendUint16(body, 0)
	body = binary.LittleEndian.AppendUint64(body, 0xffffffffffffffff) // section length unknown
	body = option(body, 4, []byte("softnet capture"))                 // shb_userappl
	body = option(body, 0, nil)
	return s.block(0x0A0D0D0A, body)
}

func (s *pcapng) WritePacket(p *Packet) error {
	if err := s.start(); err != nil {
		return err
	}
	id, ok := s.ids[p.Interface]
	if !ok {
		id = uint32(len(s.ids))
		s.ids[p.Interface] = id
		body := binary.LittleEndian.AppendUint16(nil, 1) // LINKTYPE_ETHERNET
		body = binary.LittleEndian.AppendUint16(body, 0)
		body = binary.LittleEndian.AppendUint32(body, snapOr(s.snap))
		body = option(body, 2, []byte(p.Interface)) // if_name
		body = option(body, 9, []byte{9})           // if_tsresol: nanoseconds
		body = option(body, 0, nil)
		if err := s.block(1, body); err != nil {
			return err
		}
	}
	body := binary.LittleEndian.AppendUint32(s.buf[:0], id)
	body = binary.LittleEndian.AppendUint32(body, uint32(uint64(p.Time)>>32))
	body = binary.LittleEndian.AppendUint32(body, uint32(p.Time))
	body = binary.LittleEndian.AppendUint32(body, uint32(len(p.Data)))
	body = binary.LittleEndian.AppendUint32(body, uint32(p.Len))
	body = append(body, p.Data...)
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	var flags uint32
	switch p.Point {
	case "rx", "drop":
		flags = 1 // inbound
	case "tx":
		flags = 2 // outbound
	}
	body = option(body, 2, binary.LittleEndian.AppendUint32(nil, flags)) // epb_flags
	comment := fmt.Sprintf("%s %s worker %d", p.Interface, p.Point, p.Worker)
	if p.Reason != "" {
		comment = fmt.Sprintf("%s drop %s worker %d", p.Interface, p.Reason, p.Worker)
		if p.Rule != "" {
			comment += ", " + p.Rule
		}
	}
	body = option(body, 1, []byte(comment)) // opt_comment
	body = option(body, 0, nil)
	s.buf = body
	return s.block(6, body)
}

func (s *pcapng) Flush() error {
	if err := s.start(); err != nil {
		return err
	}
	return s.w.Flush()
}

// MaxRecord is the most bytes WritePacket adds to a file for p, in
// either format (with an interface block that may come first).
func MaxRecord(p *Packet) int64 {
	return int64(len(p.Data)+len(p.Interface)+len(p.Reason)+len(p.Rule)) + 160
}
