package config

import (
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/softnet/softnet/dp/filter/pf"
)

const filterBase = `interfaces:
  - {name: lan0, backend: mem, addresses: [10.0.1.1/24]}
  - {name: lan0.100, parent: lan0, vlan: 100, addresses: [10.0.100.1/24]}
`

// TestFilterSection: the filter section parses into rules, tables,
// limit and timeouts.
func TestFilterSection(t *testing.T) {
	c, err := Parse("r.yaml", []byte(filterBase+`filter:
  default: block
  limit: 1000
  timeouts: {udp: 30, tcp_established: 3600}
  tables:
    - {name: lan, addresses: [10.0.0.0/8, 2001:db8::/32]}
  rules:
    - pass out
    - "pass in on lan0.100 proto tcp from <lan> to any port {22, 80:90}"
`))
	if err != nil {
		t.Fatal(err)
	}
	f := c.Filter
	if f == nil || f.Default != pf.Block || f.Limit != 1000 || f.Timeouts.UDP != 30 || f.Timeouts.TCPEstablished != 3600 {
		t.Fatalf("%+v", f)
	}
	if len(f.Tables) != 1 || len(f.Tables[0].Addresses) != 2 || len(f.Rules) != 2 || f.Rules[1].Iface != "lan0.100" || f.Rules[1].Src.Table != "lan" {
		t.Fatalf("%+v", f)
	}
}

// TestFilterErrors: a bad rule is reported at the line and column of
// the word at fault; unknown interfaces and tables at their rule.
func TestFilterErrors(t *testing.T) {
	_, err := Parse("r.yaml", []byte(filterBase+`filter:
  default: deny
  rules:
    - pass in on lan0 proto tcp to any port 99999
    - "pass from <nope>"
    - pass in on wan9
    - pass in quick on lan0 inet proto udp from 2001:db8::1
`))
	if err == nil {
		t.Fatal("no error")
	}
	got := err.Error()
	for _, want := range []string{
		`r.yaml:5:12: filter.default: "deny": the default policy is pass or block`,
		`r.yaml:7:45: filter.rules[0]: "99999" is not a port`,
		`r.yaml:8:7: filter.rules[1]: <nope>: no such table`,
		`r.yaml:9:7: filter.rules[2]: on wan9: no interface "wan9"`,
		`r.yaml:10:49: filter.rules[3]: 2001:db8::1 is not of the rule's family`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
}

// TestFilterTableFiles: CheckSystem reads the tables' files, plain or
// gzip, and reports a bad line with the file's line.
func TestFilterTableFiles(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "ok.txt"), []byte("# bogons\n10.0.0.0/8\n2001:db8::/32\n"), 0o644)
	zf, _ := os.Create(filepath.Join(dir, "ok.txt.gz"))
	zw := gzip.NewWriter(zf)
	zw.Write([]byte("192.0.2.1\n"))
	zw.Close()
	zf.Close()
	os.WriteFile(filepath.Join(dir, "bad.txt"), []byte("10.0.0.0/8\nnot-an-address\n"), 0o644)
	cfg := filepath.Join(dir, "r.yaml")
	os.WriteFile(cfg, []byte(filterBase+`filter:
  tables:
    - {name: a, file: ok.txt}
    - {name: b, file: ok.txt.gz}
    - {name: c, file: bad.txt}
  rules:
    - block from <a>
`), 0o644)
	_, _, err := Check(cfg)
	if err == nil || !strings.Contains(err.Error(), "r.yaml:8:23: filter.tables[2].file:") || !strings.Contains(err.Error(), "bad.txt:2:") || strings.Count(err.Error(), "\n") != 0 {
		t.Fatalf("got %v", err)
	}
}
