package pcapfile

import (
	"encoding/binary"
	"fmt"
	"os"
)

// Classic pcap constants (https://www.tcpdump.org/manpages/pcap-savefile.5.html).
const (
	magicMicro = 0xa1b2c3d4 // timestamps in seconds and microseconds
	magicNano  = 0xa1b23c4d // timestamps in seconds and nanoseconds
	magicNG    = 0x0a0d0d0a // a pcapng section header block: not supported

	linkEthernet = 1 // LINKTYPE_ETHERNET

	fileHeaderLen   = 24
	recordHeaderLen = 16

	// DefaultSnapLen is the snapshot length written when Options.SnapLen
	// is 0: 65535, what tcpdump used for years and every reader accepts.
	DefaultSnapLen = 65535
	// MaxSnapLen bounds SnapLen and the captured length of a record the
	// reader accepts (libpcap's own limit for Ethernet, 256 KiB); a larger
	// length means a corrupt file, not a big packet.
	MaxSnapLen = 262144
)

// rec locates one frame in a file's bytes.
type rec struct {
	off int // start of the frame data
	n   int // captured length
}

// Header checks that data begins with a classic pcap file header of
// Ethernet frames (what the pcap backend replays), as the backend does when
// it opens the file: softnet check reads a file's first bytes with it. name
// is used in errors only.
func Header(data []byte, name string) error {
	_, err := header(data, name)
	return err
}

// header checks data's file header and returns its byte order.
func header(data []byte, name string) (binary.ByteOrder, error) {
	if len(data) < 4 {
		return nil, fmt.Errorf("pcapfile: %s: not a pcap file (%d bytes, shorter than a pcap header)", name, len(data))
	}
	var bo binary.ByteOrder
	switch m := binary.LittleEndian.Uint32(data); m {
	case magicMicro, magicNano:
		bo = binary.LittleEndian
	default:
		switch binary.BigEndian.Uint32(data) {
		case magicMicro, magicNano:
			bo = binary.BigEndian
		case magicNG:
			return nil, fmt.Errorf("pcapfile: %s: not a pcap file (magic %x): it is pcapng, which is not supported; convert it with 'editcap -F pcap'", name, binary.BigEndian.Uint32(data))
		default:
			return nil, fmt.Errorf("pcapfile: %s: not a pcap file (magic %x)", name, binary.BigEndian.Uint32(data))
		}
	}
	if len(data) < fileHeaderLen {
		return nil, fmt.Errorf("pcapfile: %s: truncated file header (%d of %d bytes)", name, len(data), fileHeaderLen)
	}
	if lt := bo.Uint32(data[20:]); lt&0xffff != linkEthernet {
		// The upper 16 bits may carry FCS information (pcap-savefile(5)).
		return nil, fmt.Errorf("pcapfile: %s: link type %d is not Ethernet (1)", name, lt&0xffff)
	}
	return bo, nil
}

// index parses a whole classic pcap file and returns the location of every
// frame in it. name is used in errors only.
func index(data []byte, name string) ([]rec, error) {
	bo, err := header(data, name)
	if err != nil {
		return nil, err
	}
	var recs []rec
	for off := fileHeaderLen; off < len(data); {
		if len(data)-off < recordHeaderLen {
			return nil, fmt.Errorf("pcapfile: %s: truncated record at byte %d (header needs %d bytes, %d left)", name, off, recordHeaderLen, len(data)-off)
		}
		incl := bo.Uint32(data[off+8:])
		if incl > MaxSnapLen {
			return nil, fmt.Errorf("pcapfile: %s: corrupt record at byte %d: captured length %d is larger than %d", name, off, incl, MaxSnapLen)
		}
		if uint64(len(data)-off-recordHeaderLen) < uint64(incl) {
			return nil, fmt.Errorf("pcapfile: %s: truncated record at byte %d (%d bytes of frame, %d left)", name, off, incl, len(data)-off-recordHeaderLen)
		}
		recs = append(recs, rec{off: off + recordHeaderLen, n: int(incl)})
		off += recordHeaderLen + int(incl)
	}
	return recs, nil
}

// appendHeader appends a little-endian microsecond file header.
func appendHeader(dst []byte, snap int) []byte {
	le := binary.LittleEndian
	dst = le.AppendUint32(dst, magicMicro)
	dst = le.AppendUint16(dst, 2) // version 2.4
	dst = le.AppendUint16(dst, 4)
	dst = le.AppendUint32(dst, 0) // thiszone: UTC
	dst = le.AppendUint32(dst, 0) // sigfigs
	dst = le.AppendUint32(dst, uint32(snap))
	return le.AppendUint32(dst, linkEthernet)
}

// putRecordHeader fills a record header.
func putRecordHeader(h *[recordHeaderLen]byte, sec, usec uint32, incl, orig int) {
	le := binary.LittleEndian
	le.PutUint32(h[0:], sec)
	le.PutUint32(h[4:], usec)
	le.PutUint32(h[8:], uint32(incl))
	le.PutUint32(h[12:], uint32(orig))
}

// encode returns a whole file holding frames, with zero timestamps (so
// files written from the same frames are identical, as golden files need).
func encode(frames [][]byte) []byte {
	size := fileHeaderLen
	for _, f := range frames {
		size += recordHeaderLen + len(f)
	}
	b := appendHeader(make([]byte, 0, size), DefaultSnapLen)
	var h [recordHeaderLen]byte
	for _, f := range frames {
		putRecordHeader(&h, 0, 0, len(f), len(f))
		b = append(append(b, h[:]...), f...)
	}
	return b
}

// ReadFile returns every frame of a classic pcap file (Ethernet), as slices
// of one buffer holding the file. Frames keep their captured length.
func ReadFile(path string) (frames [][]byte, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("pcapfile: %w", err)
	}
	recs, err := index(data, path)
	if err != nil {
		return nil, err
	}
	frames = make([][]byte, len(recs))
	for i, r := range recs {
		frames[i] = data[r.off : r.off+r.n : r.off+r.n]
	}
	return frames, nil
}

// WriteFile writes frames to path as a little-endian microsecond pcap file
// with link type Ethernet and zero timestamps (deterministic output).
// Frames longer than DefaultSnapLen are refused.
func WriteFile(path string, frames [][]byte) error {
	for i, f := range frames {
		if len(f) > DefaultSnapLen {
			return fmt.Errorf("pcapfile: %s: frame %d has %d bytes, more than the snapshot length %d", path, i, len(f), DefaultSnapLen)
		}
	}
	if err := os.WriteFile(path, encode(frames), 0o644); err != nil {
		return fmt.Errorf("pcapfile: %w", err)
	}
	return nil
}
