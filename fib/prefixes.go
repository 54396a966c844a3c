package fib

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/netip"

	"github.com/softnet/softnet/internal/readerr"
)

// ReadPrefixes reads one CIDR prefix per line, gzip-compressed or plain (it
// looks for the gzip magic number 1f 8b). Blank lines are skipped and '#'
// starts a comment, on its own line or after a prefix. It returns the IPv4
// and IPv6 prefixes in file order, masked. An error names the line number and
// the offending text.
func ReadPrefixes(r io.Reader) ([]netip.Prefix, error) {
	var out []netip.Prefix
	err := ReadPrefixesFunc(r, func(_ int, p netip.Prefix) error {
		out = append(out, p.Masked())
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ReadPrefixesFunc reads prefixes as ReadPrefixes does, but hands each to
// fn as written (not masked) with its line number; an error from fn stops
// the read and is returned as "fib: line N: " and its text.
func ReadPrefixesFunc(r io.Reader, fn func(line int, p netip.Prefix) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	zipped := false
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("fib: reading prefixes: bad gzip header: %w", err)
		}
		defer zr.Close()
		r, zipped = zr, true
	} else {
		r = br
	}
	// A read error (a truncated gzip stream) may come with the start of a
	// line the scanner then hands out: the error is what to report, not
	// that line (which is not a prefix).
	rd := &readerr.Reader{R: r}
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n := 1
	for ; sc.Scan(); n++ {
		if rd.Err != nil {
			break
		}
		line := sc.Bytes()
		if i := bytes.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		p, err := netip.ParsePrefix(string(line))
		if err != nil {
			if len(line) > 64 { // quote its start only (netip's error quotes all of it)
				return fmt.Errorf("fib: line %d: %q... (%d bytes) is not a CIDR prefix: want one prefix per line such as 192.0.2.0/24 or 2001:db8::/32", n, line[:64], len(line))
			}
			return fmt.Errorf("fib: line %d: %q is not a CIDR prefix: want one prefix per line such as 192.0.2.0/24 or 2001:db8::/32 (%v)", n, line, err)
		}
		if err := fn(n, p); err != nil {
			return fmt.Errorf("fib: line %d: %w", n, err)
		}
	}
	err := sc.Err()
	if err == nil {
		err = rd.Err
	}
	switch {
	case errors.Is(err, bufio.ErrTooLong):
		return fmt.Errorf("fib: line %d: a line longer than 1 MiB: not a prefix (give one CIDR prefix a line, plain or gzip)", n)
	case err != nil && zipped:
		return fmt.Errorf("fib: reading prefixes: bad gzip data after line %d: %w (the file is truncated or corrupt)", n-1, err)
	case err != nil:
		return fmt.Errorf("fib: reading prefixes: %w", err)
	}
	return nil
}

// NextHopOf assigns a deterministic next hop in 1..n to a prefix, for tests
// and benchmarks: 1 + FNV-1a(address bytes, then the length byte) % n, over
// the masked prefix (4 address bytes for IPv4, 16 for IPv6). n < 1 counts as 1;
// for a fib next hop n must not exceed MaxNextHop.
func NextHopOf(p netip.Prefix, n int) uint16 {
	const offset, prime = 2166136261, 16777619
	p = p.Masked()
	h := uint32(offset)
	if p.Addr().Is4() {
		for _, b := range p.Addr().As4() {
			h = (h ^ uint32(b)) * prime
		}
	} else {
		for _, b := range p.Addr().As16() {
			h = (h ^ uint32(b)) * prime
		}
	}
	h = (h ^ uint32(uint8(p.Bits()))) * prime
	if n < 1 {
		n = 1
	}
	return uint16(1 + h%uint32(n))
}

// LoadIPv4 adds every IPv4 prefix of ps to a new table with next hop
// NextHopOf(p, nextHops), skipping IPv6 ones. It is how tests, benchmarks and
// tools build a table from a prefix list.
func LoadIPv4(ps []netip.Prefix, nextHops int) (*Table, error) {
	t := NewTable()
	for _, p := range ps {
		if !p.Addr().Is4() {
			continue
		}
		if err := t.Add(p, NextHopOf(p, nextHops)); err != nil {
			return nil, err
		}
	}
	return t, nil
}
