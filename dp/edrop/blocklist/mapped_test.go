package blocklist

import (
	"strings"
	"testing"
)

// TestMappedEntries: ::ffff:10.0.0.0/64 typed was "write ::/64" and a file
// took it as ::/64, a wide IPv6 prefix. Typed, a mapped entry is refused
// with the IPv4 prefix to write (rules.Mapped, as routes); in a file one
// of /96 or longer is still its IPv4 prefix, a shorter one refused with
// FILE:LINE.
func TestMappedEntries(t *testing.T) {
	for s, want := range map[string]string{
		"::ffff:10.0.0.0/64":  `"::ffff:10.0.0.0/64" is an IPv4-mapped IPv6 address with a /64 length: write an IPv4 prefix as A.B.C.D/N`,
		"::ffff:10.0.0.0/104": `"::ffff:10.0.0.0/104" is an IPv4-mapped IPv6 prefix: softnet routes IPv4 as IPv4: write 10.0.0.0/8`,
		"::ffff:10.1.2.3":     `write 10.1.2.3/32`,
	} {
		if _, err := CheckEntry(s); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckEntry(%q): %v, want %q", s, err, want)
		}
	}
	var e Entries
	if err := parse("l.txt", strings.NewReader("::ffff:10.0.0.0/104\n::ffff:192.0.2.1\n"), &e); err != nil || len(e.V4) != 2 || len(e.V6) != 0 {
		t.Errorf("file of mapped /104 and /128: %v, %d IPv4 %d IPv6; want 2 IPv4", err, len(e.V4), len(e.V6))
	}
	e = Entries{}
	err := parse("l.txt", strings.NewReader("10.0.0.0/8\n::ffff:10.0.0.0/64\n"), &e)
	if want := `l.txt:2: "::ffff:10.0.0.0/64" is an IPv4-mapped IPv6 address with a /64 length`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("file with ::ffff:10.0.0.0/64: %v, want %q", err, want)
	}
}
