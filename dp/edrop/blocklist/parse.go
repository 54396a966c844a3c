package blocklist

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
)

// Parse reads a list file's text: one IPv4 or IPv6 address or prefix a
// line, '#' starting a comment, blank lines ignored; gzip-compressed text
// is recognised by its magic bytes. name prefixes errors (name:line: ...).
// It adds the entries to e.
func Parse(name string, data []byte, e *Entries) error {
	if len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return fmt.Errorf("%s: bad gzip data: %v (give a plain text or gzip file)", name, err)
		}
		data, err = io.ReadAll(zr)
		if err != nil {
			return fmt.Errorf("%s: bad gzip data: %v (give a plain text or gzip file)", name, err)
		}
	}
	s := string(data) // one copy; lines are substrings of it
	for ln := 1; len(s) > 0; ln++ {
		line := s
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			line, s = s[:i], s[i+1:]
		} else {
			s = ""
		}
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		p, err := ParseEntry(line)
		if err != nil {
			return fmt.Errorf("%s:%d: %v", name, ln, err)
		}
		e.Add(p)
	}
	return nil
}

// ParseEntry parses one address (a host) or prefix.
func ParseEntry(s string) (netip.Prefix, error) {
	if strings.IndexByte(s, '/') >= 0 {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not an IPv4 or IPv6 prefix (want e.g. 192.0.2.0/24 or 2001:db8::/32)", s)
		}
		if p.Addr().Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("%q: zones are not allowed in a blocklist", s)
		}
		return p, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%q is not an IPv4 or IPv6 address (want e.g. 192.0.2.1 or 2001:db8::1, or a prefix)", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// Load reads and parses the list file at path (plain or gzip).
func Load(path string) (Entries, error) {
	var e Entries
	data, err := os.ReadFile(path)
	if err != nil {
		return e, fmt.Errorf("blocklist file: %v", err)
	}
	err = Parse(path, data, &e)
	return e, err
}
