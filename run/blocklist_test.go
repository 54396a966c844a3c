package run

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/softnet/softnet/control"
)

// TestConfigBlocklists: the config's blocklists are loaded at start; a
// reload that changes no list parses none (an entry added at run time
// stays, the load time is the start's); a changed file is parsed and
// swapped in, its counters kept; a changed match is applied; a list the
// file drops is removed while one loaded through the API stays; a bad
// line rejects the whole reload at the config's line, nothing changed.
func TestConfigBlocklists(t *testing.T) {
	dir := t.TempDir()
	list := filepath.Join(dir, "bl.txt")
	write := func(path, s string) {
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(list, "10.0.1.66\n")
	write(filepath.Join(dir, "other.txt"), "192.0.2.1\n")
	base := fmt.Sprintf(twoPort, 1, "mem", "mem")
	cfg := writeConfig(t, dir, base+"blocklists:\n  - {name: bl, file: bl.txt, interfaces: [lan0]}\n  - {name: other, file: other.txt}\n")
	r, err := Start(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	ctl := r.Control()
	get := func(name string) control.BlocklistInfo {
		t.Helper()
		for _, b := range ctl.Blocklists() {
			if b.Name == name {
				return b
			}
		}
		t.Fatalf("no blocklist %s in %+v", name, ctl.Blocklists())
		return control.BlocklistInfo{}
	}
	if b := get("bl"); b.Entries != 1 || b.Match != "src" || !slices.Equal(b.Interfaces, []string{"lan0"}) || b.File != list {
		t.Fatalf("at start: %+v", b)
	}
	if _, err := ctl.BlocklistChange("bl", []string{"10.0.1.77"}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := ctl.LoadBlocklist(control.BlocklistConfig{Name: "api", File: list}); err != nil {
		t.Fatal(err)
	}
	res, err := r.Reload("")
	if err != nil {
		t.Fatal(err)
	}
	if b := get("bl"); b.Entries != 2 || !slices.Contains(res.Blocklists, "blocklist bl: unchanged") {
		t.Fatalf("reload of the same file parsed the list again: %+v, %q", b, res.Blocklists)
	}

	write(list, "10.0.1.66\n10.0.1.67\n10.0.1.68\n")
	write(cfg.File, base+"blocklists:\n  - {name: bl, file: bl.txt, interfaces: [lan0]}\n")
	if res, err = r.Reload(""); err != nil {
		t.Fatal(err)
	}
	if b := get("bl"); b.Entries != 3 || !strings.HasPrefix(strings.Join(res.Blocklists, "|"), "blocklist other: removed (not in the config)|blocklist bl: reloaded (3 entries") {
		t.Fatalf("changed file: %+v, %q", b, res.Blocklists)
	}
	for _, b := range ctl.Blocklists() {
		if b.Name == "other" {
			t.Error("blocklist other, no longer in the config, is still loaded")
		}
	}
	get("api") // loaded at run time, not the config's: kept

	write(cfg.File, base+"blocklists:\n  - {name: bl, file: bl.txt, match: dst, interfaces: [lan0]}\n")
	if res, err = r.Reload(""); err != nil || get("bl").Match != "dst" {
		t.Fatalf("match changed: %+v, %v", get("bl"), err)
	}

	write(list, "10.0.1.66\nnot-an-address\n")
	_, err = r.Reload("")
	if want := cfg.File + ":17:22: blocklists[0].file: " + list + `:2: "not-an-address" is not an IPv4 or IPv6 address`; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("bad line: %v, want %s", err, want)
	}
	if b := get("bl"); b.Entries != 3 {
		t.Errorf("a rejected reload changed the list: %+v", b)
	}
}
