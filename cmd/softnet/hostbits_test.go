package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestListHostBits: blocklist and filter-table entries with host bits set
// (10.1.2.3/8) were masked silently (blocking 10.0.0.0/8) where route add
// refuses them. Now an entry typed by hand (blocklist add/del, table
// add/del, a filter table's addresses in the config) is refused with the
// masked form to write; a list file is taken masked, and its load (blocklist
// load, softnet check, reload) says how many lines and quotes the first
// (FILE:LINE). Real binary.
func TestListHostBits(t *testing.T) {
	r := startRealRouter(t)
	run := func(args string) (string, error) {
		out, err := softnetCmd(args + " --api " + r.sock).CombinedOutput()
		return string(out), err
	}
	list := filepath.Join(r.dir, "bl.txt")
	if err := os.WriteFile(list, []byte("# a list\n192.0.2.0/24\n10.1.2.3/8\n2001:db8::1/32\n198.51.100.7\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := run("blocklist load bl " + list + " --interface wan0")
	if want := `blocklist bl: 2 entries with host bits set taken masked (the first: ` + list + `:3: "10.1.2.3/8" as 10.0.0.0/8)`; err != nil || !strings.Contains(out, "4 entries") || !strings.Contains(out, want) {
		t.Errorf("blocklist load: %v\n%s\nwant %s", err, out, want)
	}
	for _, tc := range []struct{ args, want string }{
		{"blocklist add bl 10.9.9.9/16", `blocklist bl: "10.9.9.9/16" has host bits set: write 10.9.0.0/16 (or the address alone, 10.9.9.9, for that host)`},
		{"blocklist del bl 10.1.2.3/8", `"10.1.2.3/8" has host bits set: write 10.0.0.0/8`},
		{"blocklist add bl 2001:db8::1/32", `"2001:db8::1/32" has host bits set: write 2001:db8::/32`},
	} {
		if out, err := run(tc.args); err == nil || !strings.Contains(out, tc.want) {
			t.Errorf("%s: %v\n%s\nwant %s", tc.args, err, out, tc.want)
		}
	}
	if out, err := run("blocklist add bl 10.9.0.0/16 10.9.9.9"); err != nil || !strings.Contains(out, "6 entries") {
		t.Errorf("blocklist add of masked entries: %v\n%s", err, out)
	}
	if out, err := run("blocklist del bl 10.0.0.0/8"); err != nil || !strings.Contains(out, "5 entries") {
		t.Errorf("blocklist del of the masked form: %v\n%s", err, out)
	}

	// A filter with a table from a file and one typed in the config:
	// check and reload take the file's line masked and say so; the
	// typed one is refused by check as by reload.
	cfgFile := filepath.Join(r.dir, "r.yaml")
	src, err := os.ReadFile(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	tbl := filepath.Join(r.dir, "tbl.txt")
	if err := os.WriteFile(tbl, []byte("10.0.1.0/24\n172.16.5.5/12\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	filter := "filter:\n  default: pass\n  tables:\n    - {name: ft, file: tbl.txt}\n    - {name: typed, addresses: [TYPED]}\n  rules:\n    - pass in from <ft>\n    - pass in from <typed>\n"
	bad := filepath.Join(r.dir, "bad.yaml")
	if err := os.WriteFile(bad, append(src, strings.Replace(filter, "TYPED", "10.0.3.3/24", 1)...), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := softnetCmd("check -c " + bad).CombinedOutput(); err == nil || !strings.Contains(string(out), `filter.tables[1].addresses[0]: "10.0.3.3/24" has host bits set: write 10.0.3.0/24`) {
		t.Errorf("check of a typed table entry with host bits: %v\n%s", err, out)
	}
	if out, err := run("reload -c " + bad); err == nil || !strings.Contains(out, `has host bits set: write 10.0.3.0/24`) {
		t.Errorf("reload of a typed table entry with host bits: %v\n%s", err, out)
	}
	if err := os.WriteFile(cfgFile, append(src, strings.Replace(filter, "TYPED", "10.0.3.0/24", 1)...), 0o644); err != nil {
		t.Fatal(err)
	}
	note := `filter table <ft>: 1 entry with host bits set taken masked (the first: ` + tbl + `:2: "172.16.5.5/12" as 172.16.0.0/12)`
	if out, err := softnetCmd("check -c " + cfgFile).CombinedOutput(); err != nil || !strings.Contains(string(out), "ok (") || !strings.Contains(string(out), "note: filter.tables[0]: "+note) {
		t.Errorf("check: %v\n%s\nwant note: %s", err, out, note)
	}
	if out, err := run("reload"); err != nil || !strings.Contains(out, note) {
		t.Errorf("reload: %v\n%s\nwant %s", err, out, note)
	}
	if out, err := run("table add ft 10.7.7.7/8"); err == nil || !strings.Contains(out, `table <ft>: "10.7.7.7/8" has host bits set: write 10.0.0.0/8`) {
		t.Errorf("table add with host bits: %v\n%s", err, out)
	}
	if out, err := run("table add ft 10.0.0.0/8"); err != nil {
		t.Errorf("table add: %v\n%s", err, out)
	}
	r.alive(t, "host bits")
}
