package config

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const blBase = `interfaces:
  - {name: wan0, backend: mem, addresses: [10.0.1.1/24]}
  - {name: lan0, backend: mem, addresses: [10.0.2.1/24]}
  - {name: wan0.7, parent: wan0, vlan: 7, addresses: [10.0.7.1/24]}
blocklists:
`

// TestBlocklistsParse: the blocklists section parses into Config.Blocklists
// (match src by default), and each mistake is an error at its line.
func TestBlocklistsParse(t *testing.T) {
	c, err := Parse("t.yaml", []byte(blBase+`  - {name: flood, file: flood.txt.gz}
  - {name: out, file: /x/out.txt, match: dst, interfaces: [lan0]}
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Blocklists) != 2 || c.Blocklists[0].Match != "src" || c.Blocklists[0].Interfaces != nil ||
		c.Blocklists[1].Match != "dst" || c.Blocklists[1].Interfaces[0] != "lan0" || c.Path(c.Blocklists[0].File) != "flood.txt.gz" {
		t.Fatalf("blocklists %+v", c.Blocklists)
	}
	for _, tc := range []struct{ yaml, want string }{
		{"  - {name: a, file: f, match: both}\n", `t.yaml:6:31: blocklists[0].match: "both": write src (drop frames from the list's addresses, the default) or dst (frames to them)`},
		{"  - {file: f}\n", `t.yaml:6:5: blocklists[0].name: missing: every blocklist needs a name, e.g. name: flood`},
		{"  - {name: a}\n", `t.yaml:6:5: blocklists[0].file: missing: write the list's file (one address or prefix a line, plain or gzip), e.g. file: flood.txt.gz`},
		{"  - {name: a, file: f}\n  - {name: a, file: g}\n", `t.yaml:7:12: blocklists[1].name: "a" is already the name of blocklists[0] (line 6): names must be unique`},
		{"  - {name: a b, file: f}\n", `t.yaml:6:12: blocklists[0].name: "a b" is not a valid name`},
		{"  - {name: a, file: f, interfaces: [wan1]}\n", `t.yaml:6:37: blocklists[0].interfaces[0]: no interface is named "wan1" (interfaces: wan0, lan0, wan0.7)`},
		{"  - {name: a, file: f, interfaces: [wan0.7]}\n", `t.yaml:6:37: blocklists[0].interfaces[0]: wan0.7 is a VLAN sub-interface: early drop runs per port, name its parent wan0`},
		{"  - {name: a, file: f, interfaces: [lan0, lan0]}\n", `t.yaml:6:43: blocklists[0].interfaces[1]: lan0 is listed twice: keep one`},
		{"  - {name: a, file: f, interfaces: []}\n", `t.yaml:6:36: blocklists[0].interfaces: an empty list: name the ports to drop on`},
		{"  - {name: a, file: f, size: 3}\n", `t.yaml:6:24: blocklists[0]: unknown field "size": did you mean "file"? known fields are name, file, match, interfaces`},
	} {
		_, err := Parse("t.yaml", []byte(blBase+tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q:\n got %v\nwant %s", tc.yaml, err, tc.want)
		}
	}
}

// TestBlocklistsCheck: softnet check reads the list files (plain and
// gzip, relative to the config's directory): an unreadable file or a bad
// line in one is an error at the entry's file line that names the list
// file's line.
func TestBlocklistsCheck(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("192.0.2.0/24\n2001:db8::1\n"))
	zw.Close()
	write("good.txt.gz", gz.String())
	write("good.txt", "# hosts\n198.51.100.7\n")
	write("bad.txt", "192.0.2.1\n\n192.0.2.300\n")
	cfg := filepath.Join(dir, "r.yaml")
	write("r.yaml", blBase+"  - {name: a, file: good.txt.gz}\n  - {name: b, file: good.txt, match: dst}\n")
	c, _, err := Check(cfg)
	if err != nil {
		t.Fatal(err)
	}
	es, err := c.LoadBlocklists()
	if err != nil || len(es) != 2 || len(es[0].V4) != 1 || len(es[0].V6) != 1 || len(es[1].V4) != 1 {
		t.Fatalf("LoadBlocklists: %+v, %v", es, err)
	}
	for _, tc := range []struct{ yaml, want string }{
		{"  - {name: a, file: good.txt.gz}\n  - {name: b, file: bad.txt}\n",
			cfg + `:7:21: blocklists[1].file: ` + filepath.Join(dir, "bad.txt") + `:3: "192.0.2.300" is not an IPv4 or IPv6 address`},
		{"  - {name: a, file: good.txt.gz}\n  - {name: c, file: missing.txt}\n",
			cfg + `:7:21: blocklists[1].file: cannot read ` + filepath.Join(dir, "missing.txt") + `: no such file or directory`},
	} {
		write("r.yaml", blBase+tc.yaml)
		_, _, err = Check(cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("check:\n got %v\nwant %s", err, tc.want)
		}
	}
	// CheckConfig (what a reload runs first) leaves the parsing of the
	// lists to the reload, which parses only those that changed.
	write("r.yaml", blBase+"  - {name: b, file: bad.txt}\n")
	if _, _, err := CheckConfig(cfg); err != nil {
		t.Errorf("CheckConfig parsed the list: %v", err)
	}
	if _, _, err := Check(cfg); err == nil {
		t.Error("Check did not parse the list")
	}
}
