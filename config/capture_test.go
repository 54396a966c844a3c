package config

import (
	"strings"
	"testing"
)

// capBase is base with a captures section from line 15.
const capBase = base + "captures:\n"

func TestParseCaptures(t *testing.T) {
	c, err := Parse("/etc/softnet/t.yaml", []byte(capBase+`  - name: wan
    interface: wan0
    point: rx
    filter: 'icmp or tcp port 80'
    snaplen: 128
    path: flight/wan.pcapng
    max_size: 10MB
  - {name: drops, point: drop, reason: blackhole, path: /var/log/drops.pcap, format: pcap, max_size: 64KiB, max_files: 2}
  - {name: all, path: all.pcapng}
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Captures) != 3 {
		t.Fatalf("%d captures", len(c.Captures))
	}
	w := c.Captures[0]
	if w.Name != "wan" || w.Interface != "wan0" || w.Point != "rx" || w.Filter != "icmp or tcp port 80" || w.Snaplen != 128 ||
		w.MaxSize != 10e6 || w.MaxFiles != DefaultMaxFiles || w.Format != "pcapng" {
		t.Errorf("wan = %+v", w)
	}
	if got := c.Path(w.Path); got != "/etc/softnet/flight/wan.pcapng" {
		t.Errorf("path resolves to %q", got)
	}
	d := c.Captures[1]
	if d.Point != "drop" || d.Reason != "blackhole" || d.Format != "pcap" || d.MaxSize != 64<<10 || d.MaxFiles != 2 {
		t.Errorf("drops = %+v", d)
	}
	a := c.Captures[2]
	if a.Interface != "" || a.Point != "" || a.MaxSize != 0 || a.MaxFiles != 0 || a.Format != "pcapng" {
		t.Errorf("all = %+v", a)
	}
}

func TestCaptureErrors(t *testing.T) {
	KnownReason = func(s string) bool { return s == "blackhole" }
	defer func() { KnownReason = nil }()
	for _, tc := range []struct{ yaml, want string }{
		{"  - {name: a, path: a.pcapng, filter: tcp port}\n",
			`t.yaml:16:47: captures[0].filter: "tcp port": expression: column 9:`},
		{"  - name: a\n    path: a.pcapng\n    filter: 'host 1.2.3.4 and ((('\n",
			"t.yaml:18:34: captures[0].filter: \"host 1.2.3.4 and (((\": expression: column 21"},
		{"  - {name: a, path: a.pcapng, interface: wan9}\n",
			`t.yaml:16:42: captures[0].interface: no interface is named "wan9" (interfaces: lan0, wan0)`},
		{"  - {name: a, path: a.pcapng, max_size: 10XB}\n",
			`t.yaml:16:41: captures[0].max_size: "10XB" is not a size: write a whole number of bytes with an optional unit, e.g. 10MB`},
		{"  - {name: a, path: a.pcapng, max_size: 100}\n",
			`t.yaml:16:41: captures[0].max_size: 100 is too small: give at least 4096 bytes`},
		{"  - {name: a, path: a.pcapng, max_files: 3}\n",
			`t.yaml:16:42: captures[0].max_files: rotation needs a size: add max_size`},
		{"  - {name: a, path: a.pcapng, max_size: 1MB, max_files: 0}\n",
			`t.yaml:16:57: captures[0].max_files: 0 is out of range: use 1..10000`},
		{"  - {name: a, path: a.pcapng, point: both}\n",
			`t.yaml:16:38: captures[0].point: "both" is not a capture point: choose rx, tx or drop`},
		{"  - {name: a, path: a.pcapng, reason: blackhole}\n",
			`t.yaml:16:39: captures[0].reason: a drop reason needs point: drop`},
		{"  - {name: a, path: a.pcapng, point: drop, reason: nonsense}\n",
			`t.yaml:16:52: captures[0].reason: no drop reason "nonsense"`},
		{"  - {name: a, path: a.pcapng, format: pcapx}\n",
			`t.yaml:16:39: captures[0].format: "pcapx" is not a capture file format: choose pcapng (the default) or pcap`},
		{"  - {name: a}\n",
			`t.yaml:16:5: captures[0].path: missing: a capture needs a file to write`},
		{"  - {path: a.pcapng}\n",
			`t.yaml:16:5: captures[0].name: missing: every capture needs a name`},
		{"  - {name: a, path: a.pcapng}\n  - {name: a, path: b.pcapng}\n",
			`t.yaml:17:12: captures[1].name: "a" is already the name of captures[0] (line 16): names must be unique`},
		{"  - {name: a, path: a.pcapng}\n  - {name: b, path: a.pcapng}\n",
			`t.yaml:17:21: captures[1].path: "a.pcapng" is already the file of captures[0] (line 16): give each capture its own file`},
		{"  - {name: a, path: a.pcapng, snaplen: 70000}\n",
			`t.yaml:16:40: captures[0].snaplen: 70000 is out of range: use 0..65535`},
		{"  - {name: a, path: a.pcapng, sizе: 1}\n", `unknown field`},
	} {
		_, err := Parse("t.yaml", []byte(capBase+tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q:\n got %v\nwant %s", tc.yaml, err, tc.want)
		}
	}
}

func TestParseSize(t *testing.T) {
	for s, want := range map[string]int64{"4096": 4096, "10MB": 10e6, "10 MB": 10e6, "512KiB": 512 << 10, "2M": 2 << 20, "1GB": 1e9, "1gib": 1 << 30, "7B": 7} {
		if got, err := ParseSize(s); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", "MB", "-1", "1.5MB", "10XB", "99999999999GB"} {
		if _, err := ParseSize(s); err == nil {
			t.Errorf("ParseSize(%q): no error", s)
		}
	}
}
