package blocklist

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"

	"github.com/softnet/softnet/internal/readerr"
	"github.com/softnet/softnet/internal/rules"
)

// MaxText bounds a list file's text, after gzip decompression: a gzip
// bomb (a few hundred KB that expand to gigabytes) is refused once it has
// given this much, instead of taking the router's memory. MaxLine bounds
// a line: an address or prefix with a comment is far shorter, and a
// binary or zero-filled file is refused at its first long line.
const (
	MaxText = 1 << 30
	MaxLine = 4096
)

// maxText is MaxText; tests lower it.
var maxText int64 = MaxText

// Parse reads a list file's text: one IPv4 or IPv6 address or prefix a
// line, '#' starting a comment, blank lines ignored; gzip-compressed text
// is recognised by its magic bytes. name prefixes errors (name:line: ...).
// It adds the entries to e. The text is read as a stream: at most MaxText
// bytes (decompressed) of lines of at most MaxLine bytes.
func Parse(name string, data []byte, e *Entries) error {
	return parse(name, bytes.NewReader(data), e)
}

func parse(name string, r io.Reader, e *Entries) error {
	br := bufio.NewReaderSize(r, 64<<10)
	zipped := false
	if m, _ := br.Peek(2); len(m) == 2 && m[0] == 0x1f && m[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("%s: bad gzip data: %v (give a plain text or gzip file)", name, err)
		}
		defer zr.Close()
		r, zipped = zr, true
	} else {
		r = br
	}
	lr := &io.LimitedReader{R: r, N: maxText + 1}
	rd := &readerr.Reader{R: lr}
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 0, MaxLine), MaxLine)
	ln := 1
	for ; sc.Scan(); ln++ {
		if lr.N == 0 || rd.Err != nil {
			break // the last line may be cut short: not an entry
		}
		line := sc.Text()
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
		// ::ffff:A.B.C.D/N of /96 or longer is the IPv4 prefix it maps
		// (taken as that); a shorter one maps no IPv4 prefix and, masked,
		// would be a wide IPv6 one (::/64): refused, as routes refuse it.
		if p.Addr().Is4In6() && p.Bits() < 96 {
			return fmt.Errorf("%s:%d: %v", name, ln, rules.Mapped(line, p))
		}
		if hostBits(p) {
			if e.Masked++; e.Masked == 1 {
				e.FirstMasked = fmt.Sprintf("%s:%d: %s as %v", name, ln, clip(line), norm(p))
			}
		}
		e.Add(p)
	}
	err := sc.Err()
	if err == nil {
		err = rd.Err
	}
	switch {
	case lr.N == 0:
		return fmt.Errorf("%s: more than %s of text (after gzip decompression): a list holds at most that; split it, or check that it is a list file", name, sizeText(maxText))
	case errors.Is(err, bufio.ErrTooLong):
		return fmt.Errorf("%s:%d: a line longer than %d bytes: not an address or prefix (give a text file with one address or prefix a line, plain or gzip)", name, ln, MaxLine)
	case err != nil && zipped:
		return fmt.Errorf("%s: bad gzip data: %v (give a plain text or gzip file)", name, err)
	case err != nil:
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

func sizeText(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// clip quotes s for an error, at most its first 64 bytes.
func clip(s string) string {
	if len(s) <= 64 {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("%q...", s[:64])
}

// ParseEntry parses one address (a host) or prefix.
func ParseEntry(s string) (netip.Prefix, error) {
	if strings.IndexByte(s, '/') >= 0 {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%s is not an IPv4 or IPv6 prefix (want e.g. 192.0.2.0/24 or 2001:db8::/32)", clip(s))
		}
		if p.Addr().Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("%s: zones are not allowed in a blocklist", clip(s))
		}
		return p, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%s is not an IPv4 or IPv6 address (want e.g. 192.0.2.1 or 2001:db8::1, or a prefix)", clip(s))
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// hostBits reports whether p has bits set past its length (an
// IPv4-mapped prefix's as the IPv4 prefix it stands for).
func hostBits(p netip.Prefix) bool {
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked() != p
}

// CheckEntry is ParseEntry for an entry typed by hand (softnet blocklist
// add/del, a filter table's add/del or its addresses in the config): a
// prefix with host bits set (10.1.2.3/8) is refused with the masked form
// to write, as a route's is, rather than taken as 10.0.0.0/8 unseen, and
// an IPv4-mapped one (::ffff:10.0.0.0/104) with the IPv4 prefix to write
// (rules.Mapped). A list file's lines are taken masked instead (Parse
// counts them), a mapped line of /96 or longer as its IPv4 prefix; one
// shorter than /96 is refused (FILE:LINE), as routes refuse it.
func CheckEntry(s string) (netip.Prefix, error) {
	p, err := ParseEntry(s)
	if err != nil {
		return p, err
	}
	// Typed by hand: the IPv4 form, as a route's (rules.Mapped).
	if err := rules.Mapped(s, p); err != nil {
		return netip.Prefix{}, err
	}
	if hostBits(p) {
		return netip.Prefix{}, fmt.Errorf("%s has host bits set: write %v (or the address alone, %v, for that host)", clip(s), norm(p), norm(netip.PrefixFrom(p.Addr(), p.Addr().BitLen())).Addr())
	}
	return p, nil
}

// Load reads and parses the list file at path (plain or gzip), as a
// stream (Parse's limits).
func Load(path string) (Entries, error) {
	var e Entries
	f, err := os.Open(path)
	if err != nil {
		return e, fmt.Errorf("blocklist file: %v", err)
	}
	defer f.Close()
	err = parse(path, f, &e)
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = fmt.Errorf("blocklist file: %v", pe)
	}
	return e, err
}
